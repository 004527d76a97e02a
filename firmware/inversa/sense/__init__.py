# Estimation: tilt, heart rate, calibration, sensor validity (see docs/SENSING.md).

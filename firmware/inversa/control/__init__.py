# The safety controller: hard limits, user profiles, alarms as data, motion,
# the session state machine and the fixed-rate loop.  See docs/SAFETY.md.

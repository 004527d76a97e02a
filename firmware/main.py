# Boot: load /board.json, build the board (outputs safe first), run the
# 100 Hz control loop.  A configuration error stops here with a message that
# says what to fix; the outputs stay in their safe state (motor off, brake on).
from inversa.app import run

run()

# Boot: load /board.json, build the board (outputs safe first), run the
# 100 Hz control loop.  A configuration error stops here with a message that
# says what to fix; the outputs stay in their safe state (motor off, brake on).
# Maintenance (the REPL for `inversa deploy` / `doctor`, no control loop):
# hold STOP while powering on, or send the host's maintenance command while
# the table is idle; the next reset runs normally again.
from inversa.app import run

run()

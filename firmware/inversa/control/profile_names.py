# Display names of the profile's contraindication flags (inversa.control.profile
# C_*), for the host's profile files and reports.  The board never imports
# this module: its strings would be interned names on a Pico that only a
# person at the host reads (issue 10, the qstr pools).  A flag added in
# profile.py gets its name here, at its bit position
# (tests/host/test_profile_names.py checks every flag has one).
#
# Usage (host):
#     from inversa.control.profile_names import CONTRA_NAMES
#     CONTRA_NAMES.index("glaucoma")    # 1: the bit of C_GLAUCOMA

CONTRA_NAMES = (  # by bit position
    "hypertension",
    "glaucoma",
    "heart-disease",
    "pregnancy",
    "osteoporosis",
    "recent-stroke-or-tia",
    "anticoagulants",
    "hiatal-hernia",
)

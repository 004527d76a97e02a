"""Why a port that sends bytes gives no handshake, when the bytes say so: a
board of another link protocol version sends well-formed frames the decoder
must refuse (``StreamDecoder.foreign_version``), and "no board answered"
would send the person looking for a wiring fault.

Usage::

    why = other_protocol(client.decoder)   # None, or what to do
"""

from __future__ import annotations

from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder


def other_protocol(d: StreamDecoder) -> str | None:
    """A plain sentence if the board speaks another protocol version, else None."""
    v = d.foreign_version
    if v is None:
        return None
    ours = M.PROTOCOL_VERSION
    if v > ours:
        fix = "update inversa on this PC to the release of the board's firmware"
    else:
        fix = "update the board: `inversa deploy` puts this firmware on it"
    return (
        f"the board speaks link protocol version {v}, these host tools speak {ours} "
        f"({d.version_errors} frames refused): {fix}"
    )

"""Host side of the link: decoding, ports, the client that talks to a board.

The wire format itself (framing, CRC, message layouts) is defined once in the
firmware package, :mod:`inversa.link`, and imported from there.
"""

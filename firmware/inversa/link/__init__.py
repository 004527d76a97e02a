# The link: how the board and the host talk.  One definition, imported by the
# firmware (board, simulator) and by the host tools alike.
#
#   crc.py       CRC-16/CCITT-FALSE (pinned by check value 0x29B1)
#   cobs.py      COBS byte stuffing, 0x00 delimits frames
#   frame.py     frame header, FrameWriter (build + send), FrameReader (receive)
#   messages.py  message types, payload layouts, command ids, limit ids
#   port.py      non-blocking ports: MemoryPort, UartPort
#   usb_port.py  UsbCdcPort (a module of its own: a USB board loads only it)
#   endpoint.py  LinkEndpoint: the firmware side, serviced once per period
#
# The wire format is described in docs/PROTOCOL.md.

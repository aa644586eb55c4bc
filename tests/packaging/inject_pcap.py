#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Send the Ethernet frames of a classic pcap file out of an interface.

usage: inject_pcap.py IFACE FILE...

Used by test_systemd_unit.sh inside a private network namespace: the frames
leave veth1 and arrive on its peer veth0, where the service captures. They
are addressed to MACs that are not veth0's, so they reach the capture only if
promiscuous mode works under the unit's sandbox. Frames are sent back to back
(the tracker runs on capture time, and a golden capture's story spans far
less than the window). Standard library only; needs CAP_NET_RAW.
"""
import socket
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit("%s: not a pcap file" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    linktype = struct.unpack(order + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, want 1 (Ethernet)" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        caplen, wirelen = struct.unpack(order + "II", data[off + 8 : off + 16])
        off += 16
        if caplen != wirelen or off + caplen > len(data):
            raise SystemExit("%s: truncated record at offset %d" % (path, off))
        yield data[off : off + caplen]
        off += caplen


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((sys.argv[1], 0))
    n = 0
    for path in sys.argv[2:]:
        for frame in frames(path):
            s.send(frame)
            n += 1
    s.close()
    print("sent %d frames" % n)


if __name__ == "__main__":
    main()

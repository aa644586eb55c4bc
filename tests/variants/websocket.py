# SPDX-License-Identifier: GPL-3.0-or-later
"""SIP over WebSocket (RFC 7118) variants of an Ethernet/IPv4/UDP SIP capture
(see README.md).

ws: each UDP conversation becomes one TCP connection from the first sender:
SYN, SYN-ACK, ACK, the HTTP/1.1 Upgrade (GET with Upgrade: websocket and
Sec-WebSocket-Protocol: sip, then 101 Switching Protocols) on the original
port, then every SIP message as WebSocket frames (RFC 6455): client frames
masked with a fresh key each, server frames not; some messages fragmented
over continuation frames with a ping or pong between the fragments, some
pings before a message, text and binary opcodes, 7- and 16-bit lengths;
every Via "SIP/2.0/UDP HOST[:PORT]" becomes "SIP/2.0/WS <hash>.invalid" as
RFC 7118 clients write it (requests and the responses that copy them
alike); each send cut into random segments (several frames in one, frames
over several), some swapped or repeated as in tcp-split; close frames and
FIN at the end.

ws-midstream: the same frames on connections whose start the capture
missed: no SYN, no handshake, the server port 5060 moved to 8088 (a default
--ws-ports entry), and each direction's first segment starting with the
tail of an earlier frame, so the decoder has to resynchronise on the first
frame that carries SIP (that first message is sent whole: the resync looks
for a SIP start line in a frame, and neither the first segment nor its
frames are reordered, since without a SYN the first segment seen is where
the stream starts).

Normalised: `transport` "ws" back to "udp"; for ws-midstream the server
port 8088 back to 5060 (no golden capture uses 8088); whether the source
is verified is left out on both sides, as for the TCP variants (a ws
connection with its handshake proves its source, one picked up
mid-connection does not). Standard library only.
"""

import base64
import hashlib
import os
import random
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transport as T  # noqa: E402

STATS = {}
REQUIRED_STATS = ("ws.handshakes", "ws.via_rewritten", "ws.masked_frames", "ws.fragmented", "ws.pings", "ws.binary",
                  "ws.frames_split", "ws-midstream.tails")

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
MID_PORT_FROM, MID_PORT_TO = 5060, 8088
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def _count(name, n=1):
    STATS[name] = STATS.get(name, 0) + n


def frame(payload, op=OP_TEXT, fin=True, key=None):
    """RFC 6455 §5.2: one frame, masked with key (4 bytes) when given."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    m = 0x80 if key else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if key:
        _count("ws.masked_frames")
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


_VIA = re.compile(rb"^(Via|v)([ \t]*:[ \t]*)SIP/2\.0/UDP([ \t]+)([^;,\r\n]+)", re.M | re.I)


def rfc7118_via(msg):
    """RFC 7118 §5: a WebSocket client's Via says SIP/2.0/WS with a random
    .invalid host; each sent-by is mapped to one such host, the same in the
    requests and in the responses that copy their Via."""
    def repl(m):
        host = hashlib.sha1(m.group(4).strip()).hexdigest()[:12].encode() + b".invalid"
        return m.group(1) + m.group(2) + b"SIP/2.0/WS" + m.group(3) + host
    out, n = _VIA.subn(repl, msg)
    _count("ws.via_rewritten", n)
    return out


def message_frames(msg, masked, rng, fragment=True):
    """A SIP message as frames: maybe a ping first, maybe fragmented with a control frame inside."""
    def key():
        return bytes(rng.getrandbits(8) for _ in range(4)) if masked else None

    out = b""
    if rng.random() < 0.2:
        out += frame(b"keepalive", OP_PING, key=key())
        _count("ws.pings")
    op = OP_BINARY if rng.random() < 0.2 else OP_TEXT
    if op == OP_BINARY:
        _count("ws.binary")
    if fragment and len(msg) > 40 and rng.random() < 0.35:
        cuts = sorted(rng.sample(range(1, len(msg)), rng.randint(1, 2)))
        pieces = [msg[a:b] for a, b in zip([0] + cuts, cuts + [len(msg)])]
        for i, piece in enumerate(pieces):
            out += frame(piece, op if i == 0 else OP_CONT, fin=i == len(pieces) - 1, key=key())
            if i < len(pieces) - 1 and rng.random() < 0.6:
                ctl = OP_PING if rng.random() < 0.5 else OP_PONG
                out += frame(b"", ctl, key=key())
                _count("ws.pings" if ctl == OP_PING else "ws.pongs")
        _count("ws.fragmented")
    else:
        out += frame(msg, op, key=key())
    return out


def handshake_http(host, port, rng):
    """RFC 6455 §4.1 / RFC 7118 §4: the client's GET and the server's 101."""
    nonce = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(16)))
    accept = base64.b64encode(hashlib.sha1(nonce + WS_GUID).digest())
    req = (b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: %s\r\nOrigin: https://phone.example.com\r\n"
           b"Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (host.encode(), port, nonce))
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: sip\r\n\r\n" % accept)
    return req, resp


def _moved(p, midstream):
    """The Udp4 with the server port moved (ws-midstream), else itself."""
    if not midstream:
        return p
    q = T.Udp4(p.eth, p.ip_src, p.ip_dst, p.sport, p.dport, p.payload, p.ttl)
    if q.dport == MID_PORT_FROM:
        q.dport = MID_PORT_TO
    return q


def _open(conn, p, ts, rng, midstream):
    """What starts a connection: handshakes, or (mid-stream) nothing at all."""
    if midstream:
        return []
    out = [(ts, f) for f in conn.handshake()]
    ip = ".".join(str(b) for b in p.ip_dst)
    req, resp = handshake_http(ip, p.dport, rng)
    server = conn.peer[conn.client]
    out += [(ts, f) for f in conn.send(conn.client, req, rng, True)]
    out += [(ts, f) for f in conn.send(server, resp, rng, True)]
    _count("ws.handshakes")
    return out


def _tail(rng, masked):
    """The end of a frame whose start the capture missed."""
    junk = frame(b"OPTIONS sip:probe@example.com SIP/2.0\r\nCSeq: 7 OPTIONS\r\n"
                 b"Content-Length: 0\r\n\r\n", OP_TEXT,
                 key=bytes(rng.getrandbits(8) for _ in range(4)) if masked else None)
    _count("ws-midstream.tails")
    return junk[rng.randint(3, len(junk) - 1):]


def _ws(frames, seed, midstream):
    rng = random.Random(seed)
    conns, order, started = {}, [], set()
    out = []
    for ts, lt, data in frames:
        p = T.parse_udp4(lt, data)
        if p is None:
            out.append((ts, data))
            continue
        key = frozenset([(p.ip_src, p.sport), (p.ip_dst, p.dport)])
        if key not in conns:
            first = _moved(p, midstream)
            conns[key] = (T._Conn(first, rng), (p.ip_src, p.sport))
            order.append(key)
            out.extend(_open(conns[key][0], first, ts, rng, midstream))
        conn, client = conns[key]
        sender = (p.ip_src, p.sport)
        masked = sender == client
        q = _moved(p, midstream)
        if not masked:
            q = T.Udp4(p.eth, p.ip_src, p.ip_dst, p.sport, p.dport, p.payload, p.ttl)
            if midstream and q.sport == MID_PORT_FROM:
                q.sport = MID_PORT_TO
        first = midstream and (key, sender) not in started
        # Mid-connection the decoder finds a message by the SIP start line in
        # its first frame: the first message seen is not fragmented.
        wire = message_frames(rfc7118_via(p.payload), masked, rng, not first)
        if first:
            # The first segment seen sets where the stream starts: it must
            # not come after a later one (there is no SYN to tell).
            started.add((key, sender))
            wire = _tail(rng, masked) + wire
        segs = conn.send((q.ip_src, q.sport), wire, rng, not first)
        if len(segs) > 1:
            _count("ws.frames_split")
        out.extend((ts, f) for f in segs)
    end = max((ts for ts, _lt, _d in frames), default=0)
    for key in order:
        conn, _client = conns[key]
        c, s = conn.client, conn.peer[conn.client]
        for sender, masked in ((c, True), (s, False)):
            k = bytes(rng.getrandbits(8) for _ in range(4)) if masked else None
            out.extend((end, f) for f in conn.send(sender, frame(b"\x03\xe8", OP_CLOSE, key=k),
                                                  rng, False))
        out.extend((end, f) for f in conn.close())
    return T.LINKTYPE_ETHERNET, out


def ws(frames, seed):
    return _ws(frames, seed, False)


def ws_midstream(frames, seed):
    return _ws(frames, seed, True)


TRANSFORMS = {
    "ws": ws,
    "ws-midstream": ws_midstream,
}


def _ws_back(record):
    """Over WebSocket the record says "ws"; the UDP original "udp"."""
    if record.get("transport") == "ws":
        record = dict(record, transport="udp")
    return T._without_verification(record)


_MID = re.compile(r":%d\b" % MID_PORT_TO)


def _mid_back(record):
    r = _ws_back(record)
    r = {k: _MID.sub(":%d" % MID_PORT_FROM, v) if isinstance(v, str) else v for k, v in r.items()}
    for k in ("server_port", "client_port"):
        if r.get(k) == MID_PORT_TO:
            r[k] = MID_PORT_FROM
    return r


NORMALISE = {
    "ws": _ws_back,
    "ws-midstream": _mid_back,
}

NORMALISE_EXPECTED = {
    "ws": T._without_verification,
    "ws-midstream": T._without_verification,
}

_SOURCE_CHANGED_WS = ("source-changed.pcap retries come from a new port only; over WebSocket, "
                      "as over TCP, a new port is a new connection, which source-changed "
                      "ignores by design")
EXEMPT = {
    ("ws", "source-changed"): _SOURCE_CHANGED_WS,
    ("ws-midstream", "source-changed"): _SOURCE_CHANGED_WS,
}

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed inputs for the fuzz targets in tests/fuzz/.

    make_seeds.py OUTDIR              seeds from our own material
    make_seeds.py --shared OUTDIR     extra campaign seeds from ../shared/corpora

The first form writes OUTDIR/<target>/<name> from sources the project owns:
the golden-capture scenarios of tests/fixtures/gen_fixtures.py (imported,
so frames and SIP payloads are exactly the committed captures'), digest
credentials in every algorithm/qop shape computed here with its
digest_response(), hand-written frames for decoder corners (IP fragments,
IPv6 extension headers, tunnels, TCP), HEP v2/v3 packets, configuration and
credentials files. The committed corpus (tests/fuzz/corpus) is this output
minimised with libFuzzer's -merge=1 (see README.md).

--shared reads the pcaps of ../shared/corpora and writes their frames and
SIP payloads for a fuzzing campaign. Those files keep their own licences
and are never committed: use the directory as an extra, throw-away corpus.

Deterministic; standard library only.
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fixtures"))
import gen_fixtures as gf  # noqa: E402

# Index of each link type in fuzz-linktypes.h.
LINK_INDEX = {1: 0, 113: 1, 276: 2, 101: 3, 0: 4, 108: 5, 12: 6, 14: 7, 228: 8, 229: 9}
HEP_SEL, PAYLOAD_SEL = 12, 14


def put(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def short(data):
    return hashlib.sha1(data).hexdigest()[:12]


# --------------------------------------------------------------------------
# Frames and pipeline records


def pipeline_records(frames, link_index, limit=None):
    """frames: [(ts_us, bytes)] -> the fuzz-pipeline record format."""
    out = bytearray()
    prev = frames[0][0] if frames else 0
    for ts, data in frames[:limit]:
        ms = max(0, (ts - prev) // 1000)
        delta = min(255, int(ms ** 0.5 + 0.5))
        prev = ts
        data = data[:0xFFFF]
        out += struct.pack("!BBH", link_index, delta, len(data)) + data
    return bytes(out)


def ipv4(src, dst, proto, payload, ipid=0x1234, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ipid, frag, 64, proto, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return hdr[:10] + struct.pack("!H", gf.csum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, nh, payload):
    import ipaddress
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, ipaddress.ip_address(src).packed,
                       ipaddress.ip_address(dst).packed) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, flags, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def ether(ip, etype=0x0800):
    return bytes.fromhex("00005e005310") + bytes.fromhex("00005e005301") + struct.pack("!H", etype) + ip


def decoder_corners(sip):
    """(name, linktype, frame) for paths the golden captures do not take."""
    c, s = "198.51.100.7", "192.0.2.10"
    dgram = udp(5060, 5060, sip)
    out = []
    # IPv4 fragments: first (MF), middle, last
    out.append(("ipv4-frag-first", 1, ether(ipv4(c, s, 17, dgram[:48], frag=0x2000))))
    out.append(("ipv4-frag-last", 1, ether(ipv4(c, s, 17, dgram[48:], frag=6))))
    # IPv6 hop-by-hop + destination options + fragment header
    hbh = struct.pack("!BB", 60, 0) + b"\x01\x04\0\0\0\0"
    dst = struct.pack("!BB", 44, 0) + b"\x01\x04\0\0\0\0"
    frag = struct.pack("!BBHI", 17, 0, 0x0001, 0xCAFE)
    out.append(("ipv6-ext-frag", 1, ether(ipv6("2001:db8::7", "2001:db8::10", 0, hbh + dst + frag + dgram[:64]), 0x86DD)))
    out.append(("ipv6-udp", 229, ipv6("2001:db8::7", "2001:db8::10", 17, dgram)))
    # IP-in-IP and IPv6-in-IPv4
    out.append(("ipip", 101, ipv4("203.0.113.1", "203.0.113.2", 4, ipv4(c, s, 17, dgram))))
    out.append(("6in4", 228, ipv4("203.0.113.1", "203.0.113.2", 41, ipv6("2001:db8::7", "2001:db8::10", 17, dgram))))
    # TCP: SYN, data, FIN
    out.append(("tcp-syn", 1, ether(ipv4(c, s, 6, tcp(40000, 5060, 1000, 0x02, b"")))))
    out.append(("tcp-data", 1, ether(ipv4(c, s, 6, tcp(40000, 5060, 1001, 0x18, sip)))))
    out.append(("tcp-fin", 1, ether(ipv4(c, s, 6, tcp(40000, 5060, 1001 + len(sip), 0x11, b"")))))
    # BSD loopback in both byte orders, OpenBSD LOOP, 802.1ad + 802.1Q
    out.append(("null-be", 0, struct.pack(">I", 2) + ipv4(c, s, 17, dgram)))
    out.append(("loop", 108, struct.pack(">I", 24) + ipv6("2001:db8::7", "2001:db8::10", 17, dgram)))
    out.append(("qinq", 1, bytes(12) + struct.pack("!HHHHH", 0x88A8, 1, 0x8100, 2, 0x0800) + ipv4(c, s, 17, dgram)))
    # VXLAN (UDP 4789) carrying Ethernet
    vx = struct.pack("!II", 0x08000000, 42 << 8) + ether(ipv4(c, s, 17, dgram))
    out.append(("vxlan", 1, ether(ipv4("203.0.113.1", "203.0.113.2", 17, udp(49152, 4789, vx)))))
    # HEP3 in UDP (port 9060)
    out.append(("hep-in-udp", 1, ether(ipv4("203.0.113.1", "203.0.113.2", 17, udp(49152, 9060, hep3(sip))))))
    return out


# --------------------------------------------------------------------------
# HEP (https://github.com/sipcapture/HEP, HEP3 chunk table)


def chunk(ctype, data, vendor=0):
    return struct.pack("!HHH", vendor, ctype, 6 + len(data)) + data


def hep3(sip, v6=False, proto=17, extra=b""):
    if v6:
        import ipaddress
        addrs = chunk(5, ipaddress.ip_address("2001:db8::7").packed) + chunk(6, ipaddress.ip_address("2001:db8::10").packed)
        fam = 10
    else:
        addrs = chunk(3, bytes([198, 51, 100, 7])) + chunk(4, bytes([192, 0, 2, 10]))
        fam = 2
    body = (chunk(1, bytes([fam])) + chunk(2, bytes([proto])) + addrs + chunk(7, struct.pack("!H", 5060))
            + chunk(8, struct.pack("!H", 5060)) + chunk(9, struct.pack("!I", gf.BASE_TIME))
            + chunk(10, struct.pack("!I", 250000)) + chunk(11, b"\x01") + chunk(12, struct.pack("!I", 2001))
            + extra + chunk(15, sip))
    return b"HEP3" + struct.pack("!H", 6 + len(body)) + body


def hep2(sip):
    hdr = struct.pack("!BBBBHH4s4sIIHH", 2, 28, 2, 17, 5060, 5060, bytes([198, 51, 100, 7]),
                      bytes([192, 0, 2, 10]), gf.BASE_TIME, 0, 2001, 0)
    return hdr + sip


# --------------------------------------------------------------------------
# SIP messages with digest credentials in every shape


def digest_messages():
    """REGISTER/INVITE requests and 401/407 responses covering algorithm,
    qop, -sess, auth-int, userhash, RFC 2069, several challenges and
    non-Digest schemes. Values are computed here, for our own test users."""
    user, realm, pw = "fuzz", "fuzz", "secret"
    uri = "sip:fuzz.example.test"
    nonce = "5f2a9c1b7d3e4f60"
    out = []

    def req(method, auth_hdr, auth, body=b"", ruri=uri):
        h = [("Via", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK" + short(auth.encode())),
             ("From", f"<sip:{user}@fuzz.example.test>;tag=1"), ("To", f"<sip:{user}@fuzz.example.test>"),
             ("Call-ID", "fuzz-" + short(auth.encode())), ("CSeq", f"2 {method}"), (auth_hdr, auth)]
        if body:
            h.append(("Content-Type", "application/sdp"))
        return gf.Msg(f"{method} {ruri} SIP/2.0", h, body).render()

    def H(alg, s):
        return gf.HASHES[alg.replace("-sess", "")](s.encode())

    body = gf.sdp("198.51.100.7", 1, 16384)
    for alg in ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"):
        for qop in (None, "auth", "auth-int"):
            if qop is None and alg.endswith("-sess"):
                continue
            method = "INVITE" if qop == "auth-int" else "REGISTER"
            b = body if qop == "auth-int" else b""
            cnonce, nc = "0a4f113b", "00000001"
            ha1 = H(alg, f"{user}:{realm}:{pw}")
            if alg.endswith("-sess"):
                ha1 = H(alg, f"{ha1}:{nonce}:{cnonce}")
            ha2 = H(alg, f"{method}:{uri}" + (f":{H(alg, b.decode())}" if qop == "auth-int" else ""))
            if qop:
                resp = H(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
                a = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                     f'response="{resp}", algorithm={alg}, qop={qop}, nc={nc}, cnonce="{cnonce}", opaque="00ff"')
            else:
                resp = H(alg, f"{ha1}:{nonce}:{ha2}")
                a = f'Digest username="{user}",realm="{realm}",nonce="{nonce}",uri="{uri}",response="{resp}",algorithm={alg}'
            hdr = "Proxy-Authorization" if method == "INVITE" else "Authorization"
            out.append((f"digest-{alg}-{qop or 'none'}", req(method, hdr, a, b)))
    # userhash (RFC 7616 §3.4.4)
    uh = H("SHA-256", f"{user}:{realm}")
    a = (f'Digest username="{uh}", realm="{realm}", uri="{uri}", algorithm=SHA-256, nonce="{nonce}", '
         f'nc=00000001, cnonce="0a4f113b", qop=auth, response="{"0" * 64}", userhash=true')
    out.append(("digest-userhash", req("REGISTER", "Authorization", a)))
    # uri differing from the Request-URI only by RFC 3261 §19.1.4 rules
    a = f'Digest username="{user}",realm="{realm}",nonce="{nonce}",uri="SIP:FUZZ.example.TEST;transport=udp",response="{"1" * 32}"'
    out.append(("digest-uri-case", req("REGISTER", "Authorization", a, ruri="sip:fuzz.example.test;Transport=UDP")))
    # empty values, unknown schemes, AKA, Basic, odd nc
    out.append(("digest-empty", req("REGISTER", "Authorization",
                                    'Digest username="fuzz",realm="fuzz",nonce="",uri="sip:fuzz.example.test",response=""')))
    out.append(("aka", req("REGISTER", "Authorization",
                           f'Digest username="fuzz@ims.test",realm="ims.test",nonce="{nonce}",uri="{uri}",response="",algorithm=AKAv1-MD5')))
    out.append(("basic", req("REGISTER", "Authorization", "Basic ZnV6ejpzZWNyZXQ=")))
    out.append(("nc-long", req("REGISTER", "Authorization",
                               f'Digest username="fuzz",realm="fuzz",nonce="{nonce}",uri="{uri}",qop=auth,nc=123456789,cnonce="x",response="{"2" * 32}"')))
    # responses: several challenges, stale, Proxy-Authenticate
    chals = [
        ("WWW-Authenticate", f'Digest realm="fuzz", nonce="{nonce}", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE, opaque="ab"'),
        ("WWW-Authenticate", f'Digest realm="fuzz", nonce="{nonce}", qop="auth", algorithm=MD5, userhash=true'),
        ("Proxy-Authenticate", f'Digest realm="fuzz", domain="sip:a sip:b", nonce="{nonce}", algorithm=SHA-512-256-sess'),
        ("WWW-Authenticate", 'NoOneKnowsThisScheme realm="fuzz", opaque="x"'),
    ]
    h = [("Via", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKchal;received=198.51.100.7;rport=5060"),
         ("From", "<sip:fuzz@fuzz.example.test>;tag=1"), ("To", "<sip:fuzz@fuzz.example.test>;tag=2"),
         ("Call-ID", "fuzz-chal"), ("CSeq", "1 REGISTER")] + chals + [("Server", "fuzz")]
    out.append(("challenges", gf.Msg("SIP/2.0 401 Unauthorized", h).render()))
    return out


# --------------------------------------------------------------------------


CONFIGS = {
    "full.conf": """# every key
[sipauthmon]
interface = eth0
filter = udp port 5060 or tcp port 5060
output = json
credentials = /etc/sipauthmon/credentials
threshold = 3
window = 300
duration = 0
count = 0
stats = yes
guess_threshold = 10
scan_threshold = 10
max_records_per_minute = 60
max_transactions = 65536
max_chains = 65536
max_clients = 65536
max_principals = 65536
max_nonces = 65536
max_sources = 65536
""",
    "read.conf": "read = /var/tmp/capture.pcap\noutput=text\nstats=off\n; comment\nthreshold=32\n",
    "bad-key.conf": "[sipauthmon]\ntreshold = 3\n",
    "bad-section.conf": "[other]\nthreshold = 3\n",
    "both-inputs.conf": "interface = eth0\nread = x.pcap\n",
    "range.conf": "threshold = 4294967296\nwindow = -1\nmax_nonces = 15\n",
    "indented.conf": "threshold = 3\n  window = 60\n",
    "crlf.conf": "threshold = 5\r\nwindow = 10\r\n",
    "empty.conf": "",
}

CREDENTIALS_EXTRA = {
    "mixed.txt": ("alice asterisk plain:pw\nbob * plain:with spaces\t# c\n"
                  "carol example.test md5:0123456789ABCDEF0123456789abcdef\n"
                  "dave example.test sha-256:" + "ab" * 32 + "\n"
                  "erin example.test sha-512-256:" + "cd" * 32 + "\n"),
    "dup.txt": "alice asterisk plain:a\nalice asterisk plain:b\n",
    "bad-type.txt": "alice asterisk sha1:0123\n",
    "bad-ha1.txt": "alice asterisk md5:xyz\n",
    "star-ha1.txt": "alice * md5:0123456789abcdef0123456789abcdef\n",
    "no-newline.txt": "alice asterisk plain:pw",
}


def own(outdir):
    n = 0
    payloads = {}
    for name, _, link, _ in gf.CAPTURES:
        cap, link, _ = gf.build(name)
        frames = gf.framed(cap, link)
        lt = gf.LINKTYPE[link]
        # every distinct SIP payload shape: keep the first of each (start line, header names)
        for _, _, _, _, payload in cap.sorted():
            text = payload.split(b"\r\n\r\n", 1)[0]
            lines = text.split(b"\r\n")
            key = (lines[0].split(b" ")[0], tuple(l.split(b":", 1)[0] for l in lines[1:]))
            payloads.setdefault(key, payload)
        # a few frames of every capture (all link variants), for the decoder
        for ts, data in frames[:3]:
            put(outdir, "fuzz-decode", f"{name}-{short(data)}", bytes([LINK_INDEX[lt]]) + data)
            n += 1
        # the first 48 frames of every capture as one pipeline input
        put(outdir, "fuzz-pipeline", name, pipeline_records(frames, LINK_INDEX[lt], 48))
        n += 1
    # whole scenarios that need more packets to reach their rule
    for name in ("credential-guessing", "account-scan", "wrong-password", "server-rejects-valid"):
        cap, link, _ = gf.build(name)
        frames = gf.framed(cap, link)
        put(outdir, "fuzz-pipeline", name + "-full", pipeline_records(frames, LINK_INDEX[gf.LINKTYPE[link]]))
    for data in payloads.values():
        put(outdir, "fuzz-sipmsg", "golden-" + short(data), data)
        n += 1
    msgs = digest_messages()
    for name, data in msgs:
        put(outdir, "fuzz-sipmsg", name, data)
    sip = msgs[1][1]
    for name, lt, data in decoder_corners(sip):
        put(outdir, "fuzz-decode", name, bytes([LINK_INDEX[lt]]) + data)
    # pipeline: HEP and bare payloads, a digest loop as payload records
    rec = b"".join(struct.pack("!BBH", HEP_SEL, 3, len(hep3(m))) + hep3(m) for _, m in msgs[:6])
    put(outdir, "fuzz-pipeline", "hep-records", rec)
    rec = b"".join(struct.pack("!BBH", PAYLOAD_SEL + (i % 2), 2 * i + 1, len(m)) + m for i, (_, m) in enumerate(msgs))
    put(outdir, "fuzz-pipeline", "payload-records", rec)
    for name, data in (("v3-ipv4", hep3(sip)), ("v3-ipv6-tcp", hep3(sip, v6=True, proto=6)),
                       ("v3-vendor-chunk", hep3(sip, extra=chunk(0x20, b"node1", vendor=0x0001))),
                       ("v3-correlation", hep3(sip, extra=chunk(17, b"call-id-1"))),
                       ("v3-not-sip", hep3(b"\x80\xc8\x00\x06rtcp", extra=b"")), ("v2", hep2(sip))):
        put(outdir, "fuzz-hep", name, data)
    # reassembly: one authenticated REGISTER (the message that gets fragmented)
    big = msgs[3][1]
    dgram = udp(5060, 5060, big)
    frags = [dgram[i:i + 256] for i in range(0, len(dgram), 256)]

    def frag_rec(i, data, more, v6=False, src=0, ident=7, delta=1):
        return struct.pack("!BBHBBH", more | (2 if v6 else 0) | src << 2, ident, i * 32, 17, delta,
                           len(data)) + data

    inorder = [frag_rec(i, f, i < len(frags) - 1) for i, f in enumerate(frags)]
    put(outdir, "fuzz-ipfrag", "in-order", b"".join(inorder))
    put(outdir, "fuzz-ipfrag", "reversed-v6", b"".join(
        frag_rec(i, f, i < len(frags) - 1, v6=True) for i, f in reversed(list(enumerate(frags)))))
    put(outdir, "fuzz-ipfrag", "duplicate-overlap", inorder[0] + inorder[0] + frag_rec(0, frags[1], 1)
        + b"".join(inorder[1:]))
    put(outdir, "fuzz-ipfrag", "interleaved", b"".join(
        frag_rec(i, f, i < len(frags) - 1, src=i % 2, ident=i % 3, delta=40) for i, f in enumerate(frags + frags)))

    def seg(data, flags=0, to_client=0, conn=0, seqoff=0, delta=1):
        return struct.pack("!BhBH", to_client | conn << 1 | flags, seqoff, delta, len(data)) + data

    reg, chal = msgs[3][1], msgs[-1][1]
    put(outdir, "fuzz-tcpstream", "syn-two-messages", seg(b"", 8) + seg(b"", 8, 1) + seg(reg + reg)
        + seg(chal, 0, 1) + seg(b"", 16))
    put(outdir, "fuzz-tcpstream", "split-midstream", seg(reg[100:]) + seg(reg[:50]) + seg(reg[50:300])
        + seg(reg[300:]) + seg(chal[:10], 0, 1) + seg(chal[10:], 0, 1))
    put(outdir, "fuzz-tcpstream", "ooo-retransmit", seg(b"", 8) + seg(reg[200:], seqoff=200) + seg(reg[:250])
        + seg(reg[:250], seqoff=-250) + seg(b"", 32))
    put(outdir, "fuzz-tcpstream", "body-and-conns", b"".join(seg(m, conn=i % 4, delta=3) for i, (_, m) in
                                                              enumerate(msgs[:8])))
    n += websocket_seeds(outdir, reg, chal)
    # SIP over WebSocket through the reassembler: the HTTP Upgrade, then frames
    key = b"\x11\x22\x33\x44"
    get = (b"GET / HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Protocol: sip\r\n\r\n")
    ok101 = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
    wsreg = ws_frame(reg[:90], fin=False, key=key) + ws_frame(b"", op=9, key=key) + ws_frame(reg[90:], op=0, key=key)
    put(outdir, "fuzz-tcpstream", "websocket-upgrade", seg(b"", 8) + seg(b"", 8, 1) + seg(get[:30])
        + seg(get[30:] + wsreg[:100]) + seg(ok101, 0, 1) + seg(wsreg[100:]) + seg(ws_frame(chal), 0, 1)
        + seg(b"", 16))
    n += 1
    for name, text in CONFIGS.items():
        put(outdir, "fuzz-config", name, text.encode())
    for fname in ("credentials.txt", "credentials-ha1.txt"):
        with open(os.path.join(SRCDIR, "tests", "fixtures", fname), "rb") as f:
            put(outdir, "fuzz-credentials", fname, f.read())
    for name, text in CREDENTIALS_EXTRA.items():
        put(outdir, "fuzz-credentials", name, text.encode())
    return n


# --------------------------------------------------------------------------
# SIP over WebSocket (fuzz-websocket: mode byte, then flags/len/bytes chunks)


def ws_frame(payload, op=1, fin=True, key=None, rsv=0, form=None):
    """RFC 6455 §5.2 frame; key: 4 bytes (masked) or None."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv << 4 | op
    m = 0x80 if key else 0
    if form is None and n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif form != 64 and n <= 0xFFFF:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if key:
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


def websocket_seeds(outdir, reg, chal):
    key = b"\x37\xfa\x21\x3d"

    def chunks(data, dirn=0, size=200, hole=False):
        out = b""
        for i in range(0, len(data), size):
            out += bytes([dirn | (2 if hole and i == 0 else 0), len(data[i:i + size])]) + data[i:i + size]
        return out

    third = len(reg) // 3
    frag = (ws_frame(reg[:third], fin=False, key=key) + ws_frame(b"hi", op=9, key=key)
            + ws_frame(reg[third:2 * third], op=0, fin=False, key=key, form=16)
            + ws_frame(b"", op=10, key=key) + ws_frame(reg[2 * third:], op=0, key=key))
    seeds = {
        "sync-fragmented": b"\x05" + chunks(frag, 0, 97) + chunks(ws_frame(chal, op=2, form=64), 1, 255),
        "resync-midstream": b"\x01" + chunks(ws_frame(chal, key=key)[40:] + ws_frame(reg, key=key), 0, 61)
        + chunks(ws_frame(chal)[17:] + ws_frame(chal), 1, 255),
        "unknown-roles": b"\x00" + chunks(ws_frame(reg, key=key) + ws_frame(chal), 0, 255),
        "bad-frames": b"\x05" + chunks(ws_frame(b"x" * 30) + ws_frame(chal, key=key), 0, 255)
        + chunks(ws_frame(b"x" * 30, rsv=4) + ws_frame(b"p", op=9, fin=False) + ws_frame(b"c" * 126, op=8)
                 + ws_frame(b"y", op=3) + ws_frame(b"z", op=0) + ws_frame(chal), 1, 255),
        "hole-and-tight-cap": b"\x0d" + chunks(frag, 0, 150) + chunks(frag, 0, 150, hole=True)
        + chunks(ws_frame(chal, fin=False), 1, 255),
        "http-upgrade": b"\x05GET /ws HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "http-101": b"\x05HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Protocol: sip\r\n\r\n",
    }
    for name, data in seeds.items():
        put(outdir, "fuzz-websocket", name, data)
    return len(seeds)


# --------------------------------------------------------------------------
# --shared: frames of the third-party pcaps (never committed)


def read_capture(path):
    """[(linktype, ts_us, frame)] from a pcap or pcapng file (EPB/SPB only)."""
    data = open(path, "rb").read()
    out = []
    if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        lt = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
        off = 24
        while off + 16 <= len(data):
            s, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
            off += 16
            out.append((lt, s * 1000000 + (frac // 1000 if nano else frac), data[off:off + incl]))
            off += incl
        return out
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        ifaces = []
        off = 0
        while off + 12 <= len(data):
            bt, bl = struct.unpack(e + "II", data[off:off + 8])
            if bl < 12:
                break
            body = data[off + 8:off + bl - 4]
            if bt == 0x0A0D0D0A:
                ifaces = []
            elif bt == 1:
                ifaces.append(struct.unpack(e + "H", body[:2])[0])
            elif bt == 6 and len(body) >= 20:
                iface, hi, lo, incl, _ = struct.unpack(e + "IIIII", body[:20])
                if iface < len(ifaces):
                    out.append((ifaces[iface], (hi << 32 | lo), body[20:20 + incl]))
            off += bl
    return out


def shared(outdir):
    corpora = os.environ.get("CORPORA", os.path.join(SRCDIR, "..", "shared", "corpora"))
    n = 0
    for root, _, files in os.walk(os.path.join(corpora, "pcaps")):
        for fn in sorted(files):
            pkts = [p for p in read_capture(os.path.join(root, fn)) if p[0] in LINK_INDEX]
            if not pkts:
                continue
            tag = fn.replace(".", "_")
            by_lt = {}
            for lt, ts, fr in pkts:
                by_lt.setdefault(lt, []).append((ts, fr))
                put(outdir, "fuzz-decode", f"{tag}-{short(fr)}", bytes([LINK_INDEX[lt]]) + fr)
                n += 1
            for lt, frames in by_lt.items():
                for i in range(0, len(frames), 64):
                    put(outdir, "fuzz-pipeline", f"{tag}-{lt}-{i}", pipeline_records(frames[i:i + 64], LINK_INDEX[lt]))
    for sub in ("rfc4475", "scanners"):
        d = os.path.join(corpora, sub)
        for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, fn), "rb") as f:
                put(outdir, "fuzz-sipmsg", f"{sub}-{fn}", f.read())
    return n


def main(argv):
    if len(argv) == 3 and argv[1] == "--shared":
        print(shared(argv[2]), "inputs written")
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    print(own(argv[1]), "inputs written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

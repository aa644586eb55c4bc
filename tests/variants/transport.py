# SPDX-License-Identifier: GPL-3.0-or-later
"""Transport variants of an Ethernet/IPv4/UDP SIP capture (see README.md).

Each transform keeps the SIP bytes and the timing of every message and
changes only how they travel: IPv4 fragments, IPv6 (with and without
fragment headers), an 802.1Q tag, TCP with split or coalesced segments.
Standard library only.
"""

import ipaddress
import random
import re
import struct

LINKTYPE_ETHERNET = 1
ETH_IPV4, ETH_IPV6, ETH_VLAN = 0x0800, 0x86DD, 0x8100
PROTO_TCP, PROTO_UDP, PROTO_FRAG = 6, 17, 44
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

FRAG_MTU = 576  # RFC 791's minimum reassembly size: authenticated requests exceed it

STATS = {}
REQUIRED_STATS = ("udp-frag.fragmented", "ipv6-frag.fragmented", "tcp-split.segments",
                  "tcp-split.out_of_order", "tcp-split.retransmitted",
                  "tcp-coalesced.coalesced_segments")


def _count(name, n=1):
    STATS[name] = STATS.get(name, 0) + n


# ------------------------------------------------------------------ parsing

class Udp4:
    """An Ethernet/IPv4/UDP frame, unfragmented."""

    def __init__(self, eth, ip_src, ip_dst, sport, dport, payload, ttl):
        self.eth = eth  # the 12 bytes of MAC addresses
        self.ip_src, self.ip_dst = ip_src, ip_dst
        self.sport, self.dport = sport, dport
        self.payload = payload
        self.ttl = ttl


def parse_udp4(linktype, data):
    """Udp4 or None (anything else is passed through untouched)."""
    if linktype != LINKTYPE_ETHERNET or len(data) < 14 + 20 + 8:
        return None
    (etype,) = struct.unpack_from("!H", data, 12)
    if etype != ETH_IPV4:
        return None
    ip = data[14:]
    vihl, _tos, total, _id, frag, ttl, proto = struct.unpack_from("!BBHHHBB", ip, 0)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or total > len(ip) or total < ihl + 8:
        return None
    if proto != PROTO_UDP or frag & 0x3FFF:
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", ip, ihl)
    if ulen < 8 or ihl + ulen > total:
        return None
    return Udp4(data[:12], ip[12:16], ip[16:20], sport, dport, bytes(ip[ihl + 8:ihl + ulen]), ttl)


def is_eligible(frames):
    """True when every frame is Ethernet and every IP frame IPv4/UDP unfragmented."""
    ok = False
    for _ts, lt, data in frames:
        if lt != LINKTYPE_ETHERNET:
            return False
        if len(data) >= 14 and struct.unpack_from("!H", data, 12)[0] in (ETH_IPV4, ETH_IPV6,
                                                                         ETH_VLAN, 0x88A8):
            if parse_udp4(lt, data) is None:
                return False
            ok = True
    return ok


# ------------------------------------------------------------------ building

def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_header(src, dst, proto, length, ident, frag, ttl):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident, frag, ttl, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:]


def ipv6_header(src, dst, nh, length, hlim):
    return struct.pack("!IHBB16s16s", 6 << 28, length, nh, hlim, src, dst)


def transport_checksum(src, dst, proto, segment):
    if len(src) == 4:
        pseudo = struct.pack("!4s4sBBH", src, dst, 0, proto, len(segment))
    else:
        pseudo = struct.pack("!16s16sIxxxB", src, dst, len(segment), proto)
    c = _csum(pseudo + segment)
    return c if c or proto != PROTO_UDP else 0xFFFF


def udp_segment(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = transport_checksum(src, dst, PROTO_UDP, seg)
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, 65535, 0, 0) + payload
    c = transport_checksum(src, dst, PROTO_TCP, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def eth(macs, etype, payload):
    return macs + struct.pack("!H", etype) + payload


def v6_of(addr4):
    """a.b.c.d -> 2001:db8::/96 with the IPv4 bytes as the low 32 bits."""
    return bytes.fromhex("20010db8000000000000000000000000")[:12] + addr4


def v6_text(addr4_text):
    return str(ipaddress.IPv6Address(v6_of(ipaddress.IPv4Address(addr4_text).packed)))


# ------------------------------------------------------------------ transforms

def _pieces(data, size):
    return [(off, data[off:off + size]) for off in range(0, len(data), size)]


def _reorder(frags):
    """Reverse the fragments and send the second of them twice."""
    out = list(reversed(frags))
    if len(out) > 1:
        out.insert(2, out[1])
    return out


def udp_frag(frames, seed):
    """IPv4 fragments of every datagram over FRAG_MTU bytes, reordered, one duplicated."""
    out, ident = [], 0x4000
    size = (FRAG_MTU - 20) // 8 * 8
    for ts, lt, data in frames:
        p = parse_udp4(lt, data)
        if p is None:
            out.append((ts, data))
            continue
        dgram = udp_segment(p.ip_src, p.ip_dst, p.sport, p.dport, p.payload)
        ident += 1
        if 20 + len(dgram) <= FRAG_MTU:
            ip = ipv4_header(p.ip_src, p.ip_dst, PROTO_UDP, len(dgram), ident, 0, p.ttl)
            out.append((ts, eth(p.eth, ETH_IPV4, ip + dgram)))
            continue
        frags = []
        pieces = _pieces(dgram, size)
        for i, (off, chunk) in enumerate(pieces):
            mf = 0x2000 if i + 1 < len(pieces) else 0
            ip = ipv4_header(p.ip_src, p.ip_dst, PROTO_UDP, len(chunk), ident, mf | off // 8,
                             p.ttl)
            frags.append(eth(p.eth, ETH_IPV4, ip + chunk))
        _count("udp-frag.fragmented")
        _count("udp-frag.fragments", len(frags))
        out.extend((ts, f) for f in _reorder(frags))
    return LINKTYPE_ETHERNET, out


def _ipv6(frames, fragment):
    out, ident = [], 0x10000
    size = (FRAG_MTU - 40 - 8) // 8 * 8
    name = "ipv6-frag" if fragment else "ipv6"
    for ts, lt, data in frames:
        p = parse_udp4(lt, data)
        if p is None:
            out.append((ts, data))
            continue
        src, dst = v6_of(p.ip_src), v6_of(p.ip_dst)
        dgram = udp_segment(src, dst, p.sport, p.dport, p.payload)
        ident += 1
        if not fragment or 40 + len(dgram) <= FRAG_MTU:
            out.append((ts, eth(p.eth, ETH_IPV6, ipv6_header(src, dst, PROTO_UDP, len(dgram),
                                                             p.ttl) + dgram)))
            _count(name + ".packets")
            continue
        frags = []
        pieces = _pieces(dgram, size)
        for i, (off, chunk) in enumerate(pieces):
            m = 1 if i + 1 < len(pieces) else 0
            fh = struct.pack("!BBHI", PROTO_UDP, 0, off | m, ident)  # RFC 8200 §4.5
            ip = ipv6_header(src, dst, PROTO_FRAG, 8 + len(chunk), p.ttl)
            frags.append(eth(p.eth, ETH_IPV6, ip + fh + chunk))
        _count(name + ".fragmented")
        out.extend((ts, f) for f in _reorder(frags))
    return LINKTYPE_ETHERNET, out


def ipv6(frames, seed):
    return _ipv6(frames, False)


def ipv6_frag(frames, seed):
    return _ipv6(frames, True)


def vlan(frames, seed):
    """An 802.1Q tag, VID 100, priority 0, before the original EtherType."""
    out = []
    for ts, lt, data in frames:
        if lt == LINKTYPE_ETHERNET and len(data) >= 14:
            data = data[:12] + struct.pack("!HH", ETH_VLAN, 100) + data[12:]
            _count("vlan.tagged")
        out.append((ts, data))
    return LINKTYPE_ETHERNET, out


class _Conn:
    """One TCP connection carrying a UDP conversation, opened by the first sender."""

    def __init__(self, p, rng):
        self.client = (p.ip_src, p.sport)
        self.macs = {(p.ip_src, p.sport): p.eth, (p.ip_dst, p.dport): p.eth[6:12] + p.eth[:6]}
        self.ttl = p.ttl
        # next sequence number per sender; random ISNs (some near the wrap)
        self.seq = {(p.ip_src, p.sport): rng.choice([rng.getrandbits(32), 0xFFFFFF00]),
                    (p.ip_dst, p.dport): rng.getrandbits(32)}
        self.peer = {(p.ip_src, p.sport): (p.ip_dst, p.dport),
                     (p.ip_dst, p.dport): (p.ip_src, p.sport)}

    def frame(self, sender, seq, flags, payload):
        (src, sport), (dst, dport) = sender, self.peer[sender]
        ack = self.seq[self.peer[sender]]
        seg = tcp_segment(src, dst, sport, dport, seq, ack, flags, payload)
        ip = ipv4_header(src, dst, PROTO_TCP, len(seg), 0, 0x4000, self.ttl)
        return eth(self.macs[sender], ETH_IPV4, ip + seg)

    def handshake(self):
        c, s = self.client, self.peer[self.client]
        self.seq[c] -= 1
        self.seq[s] -= 1
        syn = self.frame(c, self.seq[c], TCP_SYN, b"")
        self.seq[c] += 1
        synack = self.frame(s, self.seq[s], TCP_SYN | TCP_ACK, b"")
        self.seq[s] += 1
        ack = self.frame(c, self.seq[c], TCP_ACK, b"")
        return [syn, synack, ack]

    def send(self, sender, data, rng, split):
        """Segments carrying data: cut randomly, some swapped, some repeated."""
        base = self.seq[sender]
        if split:
            cuts, off = [], 0
            while off < len(data):
                n = min(len(data) - off, rng.randint(1, 400))
                cuts.append((off, n))
                off += n
        else:
            cuts = [(0, len(data))]
        segs = [self.frame(sender, base + off, TCP_ACK | TCP_PSH, data[off:off + n])
                for off, n in cuts]
        _count("tcp-split.segments" if split else "tcp-coalesced.segments", len(segs))
        if split and len(segs) > 1 and rng.random() < 0.3:
            i = rng.randrange(len(segs) - 1)
            segs[i], segs[i + 1] = segs[i + 1], segs[i]
            _count("tcp-split.out_of_order")
        if split and rng.random() < 0.3:
            i = rng.randrange(len(segs))
            segs.insert(min(len(segs), i + 2), segs[i])
            _count("tcp-split.retransmitted")
        self.seq[sender] = (base + len(data)) & 0xFFFFFFFF
        return segs

    def close(self):
        c, s = self.client, self.peer[self.client]
        fin1 = self.frame(c, self.seq[c], TCP_FIN | TCP_ACK, b"")
        self.seq[c] += 1
        fin2 = self.frame(s, self.seq[s], TCP_FIN | TCP_ACK, b"")
        self.seq[s] += 1
        return [fin1, fin2, self.frame(c, self.seq[c], TCP_ACK, b"")]


def _tcp(frames, seed, coalesce):
    rng = random.Random(seed)
    conns, order = {}, []
    msgs = []  # (index, ts, conn key, sender, Udp4, original frame)
    passthrough = []
    for idx, (ts, lt, data) in enumerate(frames):
        p = parse_udp4(lt, data)
        if p is None:
            passthrough.append((idx, ts, data))
            continue
        key = frozenset([(p.ip_src, p.sport), (p.ip_dst, p.dport)])
        if key not in conns:
            conns[key] = None
            order.append(key)
        msgs.append((idx, ts, key, (p.ip_src, p.sport), p, data))

    # Group into sends: (ts, key, sender, [messages]) in file order.
    sends = []
    for m in msgs:
        last = sends[-1] if sends else None
        if (coalesce and last and last["key"] == m[2] and last["sender"] == m[3]
                and len(last["msgs"]) < 4 and m[1] - last["msgs"][0][1] <= 2_000_000):
            last["msgs"].append(m)
            continue
        sends.append({"key": m[2], "sender": m[3], "msgs": [m]})

    out, ref = [], []
    events = [(s["msgs"][-1][0], "send", s) for s in sends] + \
             [(i, "raw", (ts, d)) for i, ts, d in passthrough]
    events.sort(key=lambda e: e[0])
    for _idx, kind, ev in events:
        if kind == "raw":
            out.append(ev)
            ref.append(ev)
            continue
        ts = ev["msgs"][-1][1]
        key = ev["key"]
        if conns[key] is None:
            conns[key] = _Conn(ev["msgs"][0][4], rng)
            out.extend((ts, f) for f in conns[key].handshake())
        data = b"".join(m[4].payload for m in ev["msgs"])
        if coalesce and len(ev["msgs"]) > 1:
            _count("tcp-coalesced.coalesced_segments")
            _count("tcp-coalesced.coalesced_messages", len(ev["msgs"]))
        out.extend((ts, f) for f in conns[key].send(ev["sender"], data, rng, not coalesce))
        ref.extend((ts, m[5]) for m in ev["msgs"])
    end = max((ts for ts, _lt, _d in frames), default=0)
    for key in order:
        if conns[key] is not None:
            out.extend((end, f) for f in conns[key].close())
    if coalesce:
        return LINKTYPE_ETHERNET, out, (LINKTYPE_ETHERNET, ref)
    return LINKTYPE_ETHERNET, out


def tcp_split(frames, seed):
    return _tcp(frames, seed, False)


def tcp_coalesced(frames, seed):
    return _tcp(frames, seed, True)


TRANSFORMS = {
    "udp-frag": udp_frag,
    "ipv6": ipv6,
    "ipv6-frag": ipv6_frag,
    "vlan": vlan,
    "tcp-split": tcp_split,
    "tcp-coalesced": tcp_coalesced,
}


# ------------------------------------------------------------------ normalisation

_V6 = re.compile(r"\[?(2001:db8::[0-9a-f]{1,4}:[0-9a-f]{1,4}|2001:db8::[0-9a-f]{1,4})\]?")


def _v6_back(text):
    def repl(m):
        addr = ipaddress.IPv6Address(m.group(1)).packed
        if addr[:12] != v6_of(b"\0\0\0\0")[:12]:
            return m.group(0)
        return str(ipaddress.IPv4Address(addr[12:]))
    return _V6.sub(repl, text)


def _map_strings(record, fn):
    return {k: fn(v) if isinstance(v, str) else v for k, v in record.items()}


_BAN_CODES = {"credential-guessing", "account-scan", "credential-compromise"}
_UNVERIFIED_REMEDY = re.compile(r"^The source is not verified and may be spoofed: .*? before "
                                r"blocking it\. ")


def _without_verification(record):
    """What does not depend on whether the source was proven (DESIGN.md
    verified sources): the UDP golden may name an unproven source (a spoofable
    scan), while every TCP variant completes its handshake and proves it."""
    r = dict(record)
    r.pop("source_verified", None)
    if r.get("diagnosis") in _BAN_CODES:
        r.pop("severity", None)
        r["evidence"] = re.sub(r" Source (not )?verified: .*$", "", r.get("evidence", ""))
        r["remedy"] = _UNVERIFIED_REMEDY.sub("", r.get("remedy", ""))
    return r


def _tcp_back(record):
    """Over TCP the record says "tcp"; the UDP original "udp". Anything else stays
    (and then fails the comparison). Every TCP variant opens its connections
    with a whole handshake: a record naming a source must say it is verified."""
    if record.get("transport") == "tcp":
        record = dict(record, transport="udp")
    if record.get("source_verified") is False:
        record = dict(record, tcp_handshake_not_verified=True)
    return _without_verification(record)


NORMALISE = {
    "ipv6": lambda r: _map_strings(r, _v6_back),
    "ipv6-frag": lambda r: _map_strings(r, _v6_back),
    "tcp-split": _tcp_back,
    "tcp-coalesced": _tcp_back,
}

# Applied to the expected records too (run.py): the UDP golden's verdict on
# its source is not the TCP variant's.
NORMALISE_EXPECTED = {
    "tcp-split": _without_verification,
    "tcp-coalesced": _without_verification,
}

# analysis/rules/source_changed.c: "Over TCP a new connection gets a new port
# by nature, so only the address counts there." The fixture's retries change
# only the client port, so over TCP they are plain refusals (wrong-password).
_SOURCE_CHANGED_TCP = ("source-changed.pcap retries come from a new port only; over TCP a new "
                       "port is a new connection, which source-changed ignores by design")
EXEMPT = {
    ("tcp-split", "source-changed"): _SOURCE_CHANGED_TCP,
    ("tcp-coalesced", "source-changed"): _SOURCE_CHANGED_TCP,
}

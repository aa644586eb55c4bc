#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tunnel and HEP variants of an Ethernet/IPv4/UDP SIP capture (see README.md).

As a module (loaded by run.py): TRANSFORMS that wrap every frame the way a
mirror port or a capture agent delivers it. The SIP bytes, addresses, ports
and times stay as they were, so the diagnoses must be exactly the golden ones.

| variant     | what the capture shows                                           |
|-------------|------------------------------------------------------------------|
| vxlan       | outer IPv4/UDP to 4789 (random source port per flow, as cloud     |
|             | traffic mirroring sends), VXLAN with the I flag, the whole frame |
| gre         | outer IPv4, GRE (RFC 2784, no options), the original IP datagram |
| gre-teb     | outer IPv4, GRE with key and sequence number, 0x6558, the frame  |
| erspan2     | outer IPv4, GRE with sequence number, ERSPAN type II, the frame  |
| erspan3     | outer IPv6, GRE with sequence number, ERSPAN type III with the   |
|             | platform sub-header (O flag), the frame                          |
| hep3        | each SIP message as a HEPv3 datagram from an agent (203.0.113.240)|
|             | to a collector port 9060, the original addresses, ports and time |
|             | in the chunks; the HEP frame leaves 0.25 s after the message, so |
|             | a decoder that used the frame time instead would show it         |
| hep2        | the same as HEPv2 (Kamailio layout, little-endian time)           |

Outer addresses are documentation addresses (203.0.113.240-251 of RFC 5737,
2001:db8:ffff::/48 of RFC 3849) that no golden capture uses.

As a script: the HEP listener end to end. Each golden capture short enough
to replay at once is sent as HEPv3, over UDP and over TCP, to
`sipauthmon --hep-listen 127.0.0.1:PORT -o json OPTIONS`, which is then
stopped with SIGTERM; its diagnoses must equal the golden ones (times
shifted back: the messages are sent with times just before now, since the
daemon expires state on the wall clock).

    tunnels.py --sipauthmon PATH [--only NAME]...

Exit 0 passed, 1 failed (a binary without --hep-listen fails). Standard library only.
"""

import argparse
import datetime
import importlib.util
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_tp = _load(os.path.join(HERE, "transport.py"), "variants_transport_for_tunnels")

LINKTYPE_ETHERNET = 1
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
GRE_PROTO_TEB, GRE_PROTO_ERSPAN2, GRE_PROTO_ERSPAN3 = 0x6558, 0x88BE, 0x22EB
GRE_K, GRE_S = 0x2000, 0x1000
PROTO_GRE, PROTO_UDP = 47, 17
VXLAN_PORT, HEP_PORT = 4789, 9060

MIRROR_MACS = bytes.fromhex("020000000002" "020000000001")
MIRROR_SRC4, MIRROR_DST4 = bytes([203, 0, 113, 250]), bytes([203, 0, 113, 251])
MIRROR_SRC6 = bytes.fromhex("20010db8ffff00000000000000000001")
MIRROR_DST6 = bytes.fromhex("20010db8ffff00000000000000000002")
AGENT4, COLLECTOR4 = bytes([203, 0, 113, 240]), bytes([203, 0, 113, 241])
HEP_DELAY_US = 250_000

STATS = {}
REQUIRED_STATS = ("vxlan.wrapped", "gre.wrapped", "gre-teb.wrapped", "erspan2.wrapped",
                  "erspan3.wrapped", "hep3.messages", "hep2.messages")


def _count(name, n=1):
    STATS[name] = STATS.get(name, 0) + n


def _ip_payload(lt, data):
    """(ethertype, bytes after the Ethernet header) of an untagged frame, or None."""
    if lt != LINKTYPE_ETHERNET or len(data) < 14:
        return None
    (etype,) = struct.unpack_from("!H", data, 12)
    return etype, data[14:]


def _outer4(proto, payload, ident):
    return _tp.eth(MIRROR_MACS, ETH_IPV4,
                   _tp.ipv4_header(MIRROR_SRC4, MIRROR_DST4, proto, len(payload), ident & 0xFFFF,
                                   0x4000, 64) + payload)


def _outer6(nh, payload):
    return _tp.eth(MIRROR_MACS, ETH_IPV6, _tp.ipv6_header(MIRROR_SRC6, MIRROR_DST6, nh,
                                                          len(payload), 64) + payload)


def _gre(flags, proto, inner, key=0x00000BEE, seq=0):
    """RFC 2784 header with the RFC 2890 key and sequence number when flagged."""
    h = struct.pack("!HH", flags, proto)
    if flags & GRE_K:
        h += struct.pack("!I", key)
    if flags & GRE_S:
        h += struct.pack("!I", seq & 0xFFFFFFFF)
    return h + inner


# ------------------------------------------------------------------ tunnels

def vxlan(frames, seed):
    """RFC 7348: outer UDP to 4789, source port from the inner flow (RFC 7348 §5)."""
    rng = random.Random(seed)
    ports, out = {}, []
    for i, (ts, lt, data) in enumerate(frames):
        if lt != LINKTYPE_ETHERNET:
            out.append((ts, data))
            continue
        flow = data[26:38] if len(data) >= 38 else b""
        sport = ports.setdefault(flow, rng.randrange(49152, 65536))
        vx = struct.pack("!BxxxI", 0x08, 5001 << 8) + data
        out.append((ts, _outer4(PROTO_UDP, _tp.udp_segment(MIRROR_SRC4, MIRROR_DST4, sport,
                                                             VXLAN_PORT, vx), i)))
        _count("vxlan.wrapped")
    return LINKTYPE_ETHERNET, out


def gre(frames, seed):
    """RFC 2784 GRE carrying the IP datagram (the tunnel drops the Ethernet header)."""
    out = []
    for i, (ts, lt, data) in enumerate(frames):
        p = _ip_payload(lt, data)
        if p is None or p[0] != ETH_IPV4:
            out.append((ts, data))
            continue
        out.append((ts, _outer4(PROTO_GRE, _gre(0, ETH_IPV4, p[1]), i)))
        _count("gre.wrapped")
    return LINKTYPE_ETHERNET, out


def gre_teb(frames, seed):
    """Transparent Ethernet bridging (gretap) with key and sequence number."""
    out = []
    for i, (ts, lt, data) in enumerate(frames):
        if lt != LINKTYPE_ETHERNET:
            out.append((ts, data))
            continue
        out.append((ts, _outer4(PROTO_GRE, _gre(GRE_K | GRE_S, GRE_PROTO_TEB, data, seq=i), i)))
        _count("gre-teb.wrapped")
    return LINKTYPE_ETHERNET, out


def erspan2(frames, seed):
    """draft-foschiano-erspan §4.1: Ver=1, VLAN 0, COS 0, En=3, session 42, index 7."""
    out = []
    for i, (ts, lt, data) in enumerate(frames):
        if lt != LINKTYPE_ETHERNET:
            out.append((ts, data))
            continue
        hdr = struct.pack("!HHI", 0x1000, (3 << 11) | 42, 7)
        out.append((ts, _outer4(PROTO_GRE, _gre(GRE_S, GRE_PROTO_ERSPAN2, hdr + data, seq=i),
                                i)))
        _count("erspan2.wrapped")
    return LINKTYPE_ETHERNET, out


def erspan3(frames, seed):
    """draft-foschiano-erspan §4.2 with the 8-byte platform sub-header, over IPv6."""
    out = []
    for i, (ts, lt, data) in enumerate(frames):
        if lt != LINKTYPE_ETHERNET:
            out.append((ts, data))
            continue
        # Ver=2 VLAN=0 | COS=0 BSO=0 T=0 session 42 | timestamp (100 µs units) |
        # SGT 0 | P=0 FT=0 HwID=5 | D=0 Gra=1 O=1 | sub-header (platform id 3)
        word3 = (0 << 16) | (0 << 15) | (0 << 10) | (5 << 4) | (0 << 3) | (1 << 1) | 1
        hdr = struct.pack("!HHII", 0x2000, 42, (ts // 100) & 0xFFFFFFFF, word3)
        sub = struct.pack("!II", 3 << 26, ts // 1_000_000 & 0xFFFFFFFF)
        out.append((ts, _outer6(PROTO_GRE, _gre(GRE_S, GRE_PROTO_ERSPAN3, hdr + sub + data,
                                                seq=i))))
        _count("erspan3.wrapped")
    return LINKTYPE_ETHERNET, out


# ---------------------------------------------------------------------- HEP

def hep3_packet(src, dst, sport, dport, proto, ts_us, payload, capture_id=2001):
    """HEPv3 (sipcapture HEP3 spec): "HEP3", total length, generic chunks."""
    def chunk(t, body):
        return struct.pack("!HHH", 0, t, 6 + len(body)) + body

    v6 = len(src) == 16
    body = chunk(1, bytes([10 if v6 else 2])) + chunk(2, bytes([proto]))
    body += chunk(5 if v6 else 3, src) + chunk(6 if v6 else 4, dst)
    body += chunk(7, struct.pack("!H", sport)) + chunk(8, struct.pack("!H", dport))
    body += chunk(9, struct.pack("!I", ts_us // 1_000_000))
    body += chunk(10, struct.pack("!I", ts_us % 1_000_000))
    body += chunk(11, b"\x01") + chunk(12, struct.pack("!I", capture_id))
    body += chunk(15, payload)
    return b"HEP3" + struct.pack("!H", 6 + len(body)) + body


def hep2_packet(src, dst, sport, dport, proto, ts_us, payload, capture_id=2001):
    """HEPv2 as Kamailio's siptrace sends it (header length 16, padded time header)."""
    return (struct.pack("!BBBBHH", 2, 16, 2, proto, sport, dport) + src + dst +
            struct.pack("<IIHH", ts_us // 1_000_000, ts_us % 1_000_000, capture_id, 0) +
            payload)


def _hep(frames, make, name):
    out, ident = [], 0
    for ts, lt, data in frames:
        p = _tp.parse_udp4(lt, data)
        if p is None:
            out.append((ts, data))
            continue
        hep = make(p.ip_src, p.ip_dst, p.sport, p.dport, PROTO_UDP, ts, p.payload)
        ident += 1
        dgram = _tp.udp_segment(AGENT4, COLLECTOR4, 9061, HEP_PORT, hep)
        ip = _tp.ipv4_header(AGENT4, COLLECTOR4, PROTO_UDP, len(dgram), ident, 0, 64)
        out.append((ts + HEP_DELAY_US, _tp.eth(MIRROR_MACS, ETH_IPV4, ip + dgram)))
        _count(name + ".messages")
    return LINKTYPE_ETHERNET, out


def hep3(frames, seed):
    return _hep(frames, hep3_packet, "hep3")


def hep2(frames, seed):
    return _hep(frames, hep2_packet, "hep2")


TRANSFORMS = {
    "vxlan": vxlan,
    "gre": gre,
    "gre-teb": gre_teb,
    "erspan2": erspan2,
    "erspan3": erspan3,
    "hep3": hep3,
    "hep2": hep2,
}


# ------------------------------------------------- HEP listener end to end

MAX_SPAN_US = 15_000_000  # replayable at once: shorter than any expiry (32 s TTL)
TIME_FIELDS = ("first_seen", "last_seen")


def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def _shift_time(text, shift_us):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    t -= datetime.timedelta(microseconds=shift_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _udp_backlog(port):
    """Bytes queued on the listener's UDP socket (/proc/net/udp rx_queue)."""
    try:
        with open("/proc/net/udp", encoding="ascii") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[1].endswith(":%04X" % port):
                    return int(parts[4].split(":")[1], 16)
    except OSError:
        pass
    return 0


def _send_udp(port, packets):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for p in packets:
        s.sendto(p, ("127.0.0.1", port))
        time.sleep(0.001)  # ordered and well under the socket buffer
    s.close()
    deadline = time.monotonic() + 10
    while _udp_backlog(port) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)


def _send_tcp(port, packets, rng):
    """One connection; the stream cut at random places; then bytes that are not
    HEP: the listener closes the connection after handing over every packet
    before them, which tells that everything was analysed."""
    stream = b"".join(packets)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    off = 0
    while off < len(stream):
        n = rng.randrange(1, 3000)
        s.sendall(stream[off:off + n])
        off += n
    s.sendall(b"NOT HEP\r\n")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()


def _wait_listening(proc, port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def run_listener(sipauthmon, test, frames, options, mode, golden):
    """Problems (empty = pass) of one golden test replayed as HEP in mode udp|tcp."""
    msgs = [(ts, _tp.parse_udp4(lt, data)) for ts, lt, data in frames]
    msgs = [(ts, p) for ts, p in msgs if p is not None]
    # Times just before now, whole seconds apart from the original (exact undo).
    shift_s = int(time.time() - msgs[-1][0] / 1e6) - 2
    shift = shift_s * 1_000_000
    packets = [hep3_packet(p.ip_src, p.ip_dst, p.sport, p.dport, PROTO_UDP, ts + shift,
                           p.payload) for ts, p in msgs]
    port = _free_port()
    cmd = [sipauthmon, "--hep-listen", f"127.0.0.1:{port}", "-o", "json"] + options
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    problems = []
    try:
        if not _wait_listening(proc, port):
            problems.append("not listening")
        elif mode == "udp":
            _send_udp(port, packets)
        else:
            _send_tcp(port, packets, random.Random(test["name"]))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        problems.append("did not stop on SIGTERM")
    want_rc = 1 if test["codes"] else 0
    if proc.returncode != want_rc:
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        problems.append(f"exit {proc.returncode}, golden {want_rc}" +
                        (f" ({first[0][:160]})" if first else ""))
    got = []
    for n, line in enumerate(out.decode("utf-8", "replace").splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError:
            problems.append(f"stdout line {n} is not JSON")
            continue
        for k in TIME_FIELDS:
            if isinstance(rec.get(k), str):
                rec[k] = _shift_time(rec[k], shift)
        got.append(rec)
    want = golden["read_expected"](test["name"])
    if got != want:
        codes = [r.get("diagnosis") for r in got]
        problems.append(f"{golden['describe'](got, want)} (diagnoses {codes or '-'})")
    return problems


def main(argv):
    ap = argparse.ArgumentParser(description="HEP listener end to end")
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--only", action="append", default=[], metavar="NAME")
    args = ap.parse_args(argv[1:])
    runner = _load(os.path.join(HERE, "run.py"), "variants_run_for_tunnels")
    gold = runner.golden
    golden = {"read_expected": runner.read_expected, "describe": gold.describe_difference}
    tests = gold.parse_testlist(gold.TESTLIST)
    if args.only:
        tests = [t for t in tests if t["name"] in args.only]
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="sipauthmon-hep-") as tmp:
        for t in tests:
            frames = runner.read_pcap(os.path.join(gold.CAPTURES, t["capture"]))
            if frames is None or not _tp.is_eligible(frames):
                continue
            span = frames[-1][0] - frames[0][0]
            if span > MAX_SPAN_US:
                skipped += 1
                continue
            options, _secrets = gold.materialize(t["options"], tempfile.mkdtemp(dir=tmp))
            for mode in ("udp", "tcp"):
                label = f"{t['name']}/hep-listen-{mode}"
                problems = run_listener(args.sipauthmon, t, frames, options, mode, golden)
                if problems:
                    failed += 1
                    print(f"FAIL {label}: " + "; ".join(problems))
                else:
                    passed += 1
                    print(f"PASS {label}")
                sys.stdout.flush()
    print(f"{passed} passed, {failed} failed ({skipped} tests longer than "
          f"{MAX_SPAN_US // 1_000_000} s not replayed)")
    if passed + failed == 0:
        print("FAIL no golden test replayed")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

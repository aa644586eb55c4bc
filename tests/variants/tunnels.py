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
| gre-frag    | the same, the outer datagram fragmented when over 576 bytes      |
| gre-teb     | outer IPv4, GRE with key and sequence number, 0x6558, the frame  |
| erspan2     | outer IPv4, GRE with sequence number, ERSPAN type II, the frame  |
| erspan3     | outer IPv6, GRE with sequence number, ERSPAN type III with the   |
|             | platform sub-header (O flag), the frame                          |
| hep3        | each SIP message as a HEPv3 datagram from an agent (203.0.113.240)|
|             | to a collector port 9060, the original addresses, ports and time |
|             | in the chunks; the HEP frame leaves 0.25 s after the message, so |
|             | a decoder that used the frame time instead would show it         |
| hep2        | the same as HEPv2 (Kamailio layout, little-endian time)           |

HEP inside captured UDP is decoded only with --hep-in-capture, and counts
only from an authenticated agent (--hep-allow AGENT4, OPTIONS below):
anyone could send such a datagram across a mirror port.

Outer addresses are documentation addresses (203.0.113.240-251 of RFC 5737,
2001:db8:ffff::/48 of RFC 3849) that no golden capture uses.

As a script: the HEP listener end to end. Each golden capture short enough
to replay is sent as HEPv3, over UDP and over TCP, to
`sipauthmon --hep-listen 127.0.0.1:PORT --hep-allow 127.0.0.1 -o json
--stats OPTIONS` (an authenticated agent: its records are verified as the
golden ones), which is then stopped with SIGTERM; its diagnoses must equal
the golden ones. The
daemon believes a HEP time only within PIPELINE_HEP_MAX_SKEW_US (5 s) of
the arrival, so the messages keep their spacing but are shifted to now and
paced: each leaves at most LEAD_S before its time (times shifted back
before comparing; none may be clamped, hep.clamped_ts = 0). For
KEY_TESTS the listener also runs with --hep-auth-key: packets carrying the
key give the golden records, packets without it or with another nothing
(hep.key_missing / hep.key_wrong count them); and with an allow-list that
leaves the sender out: nothing (hep_listener.denied). Replays run a few at
a time.

    tunnels.py --sipauthmon PATH [--only NAME]...

Exit 0 passed, 1 failed (a binary without --hep-listen fails). Standard library only.
"""

import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import math
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
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


def gre_frag(frames, seed):
    """GRE as above, the outer IPv4 datagram fragmented when over the MTU: a mirror
    tunnel whose big packets are fragmented and small ones not, so its fragments
    show the outer addresses and its whole packets the inner ones."""
    out = []
    size = (_tp.FRAG_MTU - 20) // 8 * 8
    for i, (ts, lt, data) in enumerate(frames):
        p = _ip_payload(lt, data)
        if p is None or p[0] != ETH_IPV4:
            out.append((ts, data))
            continue
        payload = _gre(0, ETH_IPV4, p[1])
        if 20 + len(payload) <= _tp.FRAG_MTU:
            out.append((ts, _outer4(PROTO_GRE, payload, i)))
            continue
        pieces = _tp._pieces(payload, size)
        for n, (off, chunk) in enumerate(pieces):
            mf = 0x2000 if n + 1 < len(pieces) else 0
            ip = _tp.ipv4_header(MIRROR_SRC4, MIRROR_DST4, PROTO_GRE, len(chunk),
                                 (0x5000 + i) & 0xFFFF, mf | off // 8, 64)
            out.append((ts, _tp.eth(MIRROR_MACS, ETH_IPV4, ip + chunk)))
        _count("gre-frag.fragmented")
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

def hep3_packet(src, dst, sport, dport, proto, ts_us, payload, capture_id=2001, auth_key=None):
    """HEPv3 (sipcapture HEP3 spec): "HEP3", total length, generic chunks;
    auth_key (bytes): chunk 14, the agent's shared key."""
    def chunk(t, body):
        return struct.pack("!HHH", 0, t, 6 + len(body)) + body

    v6 = len(src) == 16
    body = chunk(1, bytes([10 if v6 else 2])) + chunk(2, bytes([proto]))
    body += chunk(5 if v6 else 3, src) + chunk(6 if v6 else 4, dst)
    body += chunk(7, struct.pack("!H", sport)) + chunk(8, struct.pack("!H", dport))
    body += chunk(9, struct.pack("!I", ts_us // 1_000_000))
    body += chunk(10, struct.pack("!I", ts_us % 1_000_000))
    body += chunk(11, b"\x01") + chunk(12, struct.pack("!I", capture_id))
    if auth_key is not None:
        body += chunk(14, auth_key)
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
    "gre-frag": gre_frag,
    "gre-teb": gre_teb,
    "erspan2": erspan2,
    "erspan3": erspan3,
    "hep3": hep3,
    "hep2": hep2,
}

# HEP in captured UDP is off by default (DESIGN.md "Trusted inputs"); the
# agent is allow-listed, as a site would: its records are verified as the
# golden ones (unauthenticated HEP verifies nothing).
OPTIONS = {
    "hep3": ["--hep-in-capture", "--hep-allow", "203.0.113.240"],
    "hep2": ["--hep-in-capture", "--hep-allow", "203.0.113.240"],
}


# ------------------------------------------------- HEP listener end to end

MAX_SPAN_US = 15_000_000  # replayed: shorter than any expiry (32 s TTL)
TIME_FIELDS = ("first_seen", "last_seen")
LEAD_S = 4.5  # a packet leaves at most this long before its time (< the 5 s clamp:
#               never early by more; late by up to 9.5 s on a loaded machine)
KEY = b"tunnels-hep-key"
KEY_TESTS = ("wrong-password",)
WORKERS = 8

_ports_lock = threading.Lock()
_ports_taken = set()


def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now, and not handed
    to another replay running at the same time."""
    with _ports_lock:
        for _ in range(50):
            t = socket.socket()
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                if port in _ports_taken:
                    continue
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            finally:
                t.close()
                u.close()
            _ports_taken.add(port)
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


def _early(due_us):
    """How long before LEAD_S ahead of due_us (µs since the epoch) it is now."""
    return due_us / 1e6 - LEAD_S - time.time()


def _wait_due(due_us):
    """Sleep until LEAD_S before due_us."""
    wait = _early(due_us)
    if wait > 0:
        time.sleep(wait)


def _send_udp(port, packets):
    """packets: [(time µs, bytes)], each sent when its time is near."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for due, p in packets:
        _wait_due(due)
        s.sendto(p, ("127.0.0.1", port))
        time.sleep(0.001)  # ordered and well under the socket buffer
    s.close()
    deadline = time.monotonic() + 10
    while _udp_backlog(port) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)


def _send_tcp(port, packets, rng):
    """One connection; the stream cut at random places (also before a packet
    that is not due yet, so that the packets before it are not held back);
    then bytes that are not HEP: the
    listener closes the connection after handing over every packet before
    them, which tells that everything was analysed."""
    stream = b"".join(p for _, p in packets)
    starts, off = [], 0
    for due, p in packets:
        starts.append((off, due))
        off += len(p)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    off, k = 0, 0
    while off < len(stream):
        end = min(len(stream), off + rng.randrange(1, 3000))
        while k < len(starts) and starts[k][0] < end:
            if starts[k][0] > off and _early(starts[k][1]) > 0:
                end = starts[k][0]
                break
            _wait_due(starts[k][1])
            k += 1
        s.sendall(stream[off:end])
        off = end
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


def _stats(err):
    st = {}
    for line in err.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            st[parts[0]] = int(parts[1])
    return st


# mode -> (transport, daemon options, key in the packets, records expected,
#          the counter that must equal the number of packets)
_WITH_KEY = ["--hep-auth-key", KEY.decode()]
MODES = {
    "udp": ("udp", ["--hep-allow", "127.0.0.1"], None, True, "hep.authenticated"),
    "tcp": ("tcp", ["--hep-allow", "127.0.0.1"], None, True, "hep.authenticated"),
    "udp-key": ("udp", _WITH_KEY, KEY, True, "hep.authenticated"),
    "tcp-key": ("tcp", _WITH_KEY, KEY, True, "hep.authenticated"),
    "udp-no-key": ("udp", _WITH_KEY, None, False, "hep.key_missing"),
    "tcp-wrong-key": ("tcp", _WITH_KEY, b"not-" + KEY, False, "hep.key_wrong"),
    "udp-not-allowed": ("udp", ["--hep-allow", "127.0.0.2"], None, False,
                        "hep_listener.denied"),
}


def run_listener(sipauthmon, test, frames, options, mode, golden):
    """Problems (empty = pass) of one golden test replayed as HEP in a MODES mode."""
    transport, daemon_options, packet_key, records, counter = MODES[mode]
    msgs = [(ts, _tp.parse_udp4(lt, data)) for ts, lt, data in frames]
    msgs = [(ts, p) for ts, p in msgs if p is not None]
    port = _free_port()
    cmd = ([sipauthmon, "--hep-listen", f"127.0.0.1:{port}", "-o", "json", "--stats"] +
           daemon_options + options)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    problems = []
    shift = 0
    try:
        if not _wait_listening(proc, port):
            problems.append("not listening")
        else:
            # The first message 2-3 s ahead of now, whole seconds from the
            # original (exact undo); the rest keep their spacing.
            shift = (math.ceil(time.time() - msgs[0][0] / 1e6) + 2) * 1_000_000
            packets = [(ts + shift, hep3_packet(p.ip_src, p.ip_dst, p.sport, p.dport, PROTO_UDP,
                                                ts + shift, p.payload, auth_key=packet_key))
                       for ts, p in msgs]
            if transport == "udp":
                _send_udp(port, packets)
            else:
                _send_tcp(port, packets, random.Random(test["name"]))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        problems.append("did not stop on SIGTERM")
    want_rc = 1 if test["codes"] and records else 0
    if proc.returncode != want_rc:
        first = [l for l in err.decode("utf-8", "replace").splitlines()
                 if l.strip() and not l.split()[-1].isdigit()][:1]
        problems.append(f"exit {proc.returncode}, want {want_rc}" +
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
    want = golden["read_expected"](test["name"]) if records else []
    if got != want:
        codes = [r.get("diagnosis") for r in got]
        problems.append(f"{golden['describe'](got, want)} (diagnoses {codes or '-'})")
    st = _stats(err)
    # The readiness probe (_wait_listening) is one more connection refused.
    n = len(msgs) + (1 if counter == "hep_listener.denied" else 0)
    for name, want_n in ((counter, n), ("hep.clamped_ts", 0)):
        if st.get(name) != want_n:
            problems.append(f"{name} {st.get(name)}, want {want_n}")
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
        jobs = []
        for t in tests:
            if "--hep-in-capture" in t["options"]:
                continue  # a capture of HEP already: not wrapped again
            frames = runner.read_pcap(os.path.join(gold.CAPTURES, t["capture"]))
            if frames is None or not _tp.is_eligible(frames):
                continue
            span = frames[-1][0] - frames[0][0]
            if span > MAX_SPAN_US:
                skipped += 1
                continue
            options, _secrets = gold.materialize(t["options"], tempfile.mkdtemp(dir=tmp))
            modes = list(MODES) if t["name"] in KEY_TESTS else ["udp", "tcp"]
            jobs += [(t, frames, options, mode) for mode in modes]
        # The longest replays first, so that the pool ends together.
        jobs.sort(key=lambda j: j[1][0][0] - j[1][-1][0])
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(run_listener, args.sipauthmon, t, frames, options, mode,
                                   golden) for t, frames, options, mode in jobs]
            for (t, _f, _o, mode), fut in zip(jobs, futures):
                label = f"{t['name']}/hep-listen-{mode}"
                problems = fut.result()
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

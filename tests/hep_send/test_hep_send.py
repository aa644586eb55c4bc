#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""--hep-send end to end: what a HEP collector (HOMER's heplify-server)
receives from `sipauthmon -r CAPTURE --hep-send ADDR:PORT`.

    test_hep_send.py --sipauthmon PATH

A UDP receiver on loopback takes the datagrams; a HEPv3 decoder written
here from the specification (not parser/hep.c, which the unit test uses)
reads them. Checks:

  1. every record of the run arrives exactly once, in order, as a HEPv3
     packet of payload type 100 (chunk 11) whose payload (chunk 15) is the
     record's JSON line byte for byte, whose correlation id (chunk 17) is the
     record's call_id (no chunk 17 when the record has none), whose source
     and destination are the record's client and server, whose time is
     last_seen, whose capture id is --hep-id (2002 by default) and which
     carries hep_auth_key as chunk 14 when one is configured; --stats counts
     them (hep_send.packets) with no error; over IPv6 too, and with -o text
     (the payload is JSON whatever the output);
  2. nobody listening: the refusals (ICMP port unreachable) are counted in
     hep_send.errors, and the output and the exit status are those of a run
     without --hep-send;
  3. a destination that is not a numeric ADDR:PORT is refused at start with
     exit status 2, on the command line and in the configuration file.

tshark is not used: Wireshark 4.0 (Debian 12) has no HEP dissector. Prints
"N passed, N failed"; exit 0 or 1.
"""

import argparse
import ipaddress
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
CAPTURES = os.path.join(SRCDIR, "tests", "golden", "captures")
KEY = "hep-out-test-key"

# (capture, options): several records each; rate-limited ends with a summary
# that has no Call-ID and no parties; the IPv6 capture has IPv6 parties.
RUNS = [
    ("mixed-sample.pcap", []),
    ("compromise-other-source.pcap", ["--hep-auth-key", KEY, "--hep-id", "4242"]),
    ("rate-limited.pcap", ["--max-records-per-minute", "20"]),
    ("wrong-password-ipv6.pcap", []),
]



def hep3_decode(data):
    """HEPv3 as the sipcapture specification has it: {type: body} of the
    generic (vendor 0) chunks; raises ValueError when it is not well formed."""
    if data[:4] != b"HEP3" or len(data) < 6:
        raise ValueError("no HEP3 signature")
    total = struct.unpack("!H", data[4:6])[0]
    if total != len(data):
        raise ValueError("length %d, datagram %d" % (total, len(data)))
    chunks, off = {}, 6
    while off < total:
        if off + 6 > total:
            raise ValueError("chunk header cut at %d" % off)
        vendor, ctype, clen = struct.unpack("!HHH", data[off:off + 6])
        if clen < 6 or off + clen > total:
            raise ValueError("chunk %d length %d at %d" % (ctype, clen, off))
        if vendor == 0:
            if ctype in chunks:
                raise ValueError("chunk %d twice" % ctype)
            chunks[ctype] = data[off + 6:off + clen]
        off += clen
    return chunks


def u(body):
    return int.from_bytes(body, "big")


def rfc3339_ms(sec, usec):
    t = datetime.fromtimestamp(sec, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (usec // 1000)


class Receiver:
    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.addr = ("[%s]:%d" if family == socket.AF_INET6 else "%s:%d") % (host, self.port)

    def drain(self, quiet=0.3):
        got = []
        while True:
            r, _, _ = select.select([self.sock], [], [], quiet)
            if not r:
                return got
            got.append(self.sock.recv(70000))

    def close(self):
        self.sock.close()


def run(exe, args, timeout=60):
    return subprocess.run([exe] + args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout, env=dict(os.environ, LC_ALL="C"))


def stats_of(stderr):
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^([a-z0-9_.]+)\s+(\d+)$", stderr, re.M)}


def check_packet(c, where, chunks, line, rec, hep_id, key):
    c.check(u(chunks.get(11, b"")) == 100, "%s: payload type (chunk 11) is 100" % where,
            chunks.get(11))
    c.check(chunks.get(15) == line.encode("utf-8"), "%s: payload is the JSON line" % where,
            chunks.get(15, b"")[:200])
    if "call_id" in rec:
        c.check(chunks.get(17) == rec["call_id"].encode("utf-8"),
                "%s: correlation id (chunk 17) is the Call-ID" % where, chunks.get(17))
    else:
        c.check(17 not in chunks, "%s: no Call-ID, no chunk 17" % where, chunks.get(17))
    c.check(u(chunks.get(12, b"")) == hep_id, "%s: capture id (chunk 12) is %d" % (where, hep_id),
            chunks.get(12))
    c.check(chunks.get(14) == (key.encode() if key else None),
            "%s: auth key (chunk 14) %s" % (where, "is hep_auth_key" if key else "absent"),
            chunks.get(14))
    v6 = u(chunks.get(1, b"")) == 10
    src = chunks.get(5 if v6 else 3)
    dst = chunks.get(6 if v6 else 4)
    c.check(src is not None and dst is not None and u(chunks.get(1, b"")) in (2, 10),
            "%s: family and address chunks" % where, sorted(chunks))
    if src is None or dst is None:
        return
    sport, dport = u(chunks.get(7, b"")), u(chunks.get(8, b""))
    if "client_ip" in rec:
        c.check(ipaddress.ip_address(src) == ipaddress.ip_address(rec["client_ip"])
                and sport == rec["client_port"], "%s: source is the client" % where,
                (ipaddress.ip_address(src), sport, rec.get("client")))
        c.check(ipaddress.ip_address(dst) == ipaddress.ip_address(rec["server_ip"])
                and dport == rec["server_port"], "%s: destination is the server" % where,
                (ipaddress.ip_address(dst), dport, rec.get("server")))
        want_proto = 6 if rec.get("transport") in ("tcp", "ws") else 17
        c.check(u(chunks.get(2, b"")) == want_proto, "%s: IP protocol (chunk 2)" % where,
                chunks.get(2))
    else:
        c.check(not any(src) and not any(dst) and sport == 0 and dport == 0,
                "%s: no parties: zero addresses and ports" % where)
    if "last_seen" in rec:
        c.check(rfc3339_ms(u(chunks.get(9, b"")), u(chunks.get(10, b""))) == rec["last_seen"],
                "%s: time (chunks 9/10) is last_seen" % where,
                (u(chunks.get(9, b"")), u(chunks.get(10, b"")), rec["last_seen"]))


def part1(c, exe):
    for capture, opts in RUNS:
        v6 = "ipv6" in capture
        rx = Receiver(socket.AF_INET6, "::1") if v6 else Receiver()
        try:
            args = ["-r", os.path.join(CAPTURES, capture), "--hep-send", rx.addr, "-o", "json",
                    "--stats"] + opts
            r = run(exe, args)
            got = rx.drain()
        finally:
            rx.close()
        lines = [l for l in r.stdout.split("\n") if l]
        c.check(r.returncode == 1, "%s: exit status %d, want 1" % (capture, r.returncode),
                r.stderr[-300:])
        c.check(len(lines) >= (1 if v6 else 2), "%s: the records expected" % capture, len(lines))
        c.check(len(got) == len(lines), "%s: %d records, %d HEP packets" %
                (capture, len(lines), len(got)))
        hep_id = int(opts[opts.index("--hep-id") + 1]) if "--hep-id" in opts else 2002
        key = KEY if "--hep-auth-key" in opts else None
        for i, (data, line) in enumerate(zip(got, lines), 1):
            where = "%s packet %d" % (capture, i)
            try:
                chunks = hep3_decode(data)
            except ValueError as e:
                c.check(False, "%s is not HEPv3" % where, e)
                continue
            check_packet(c, where, chunks, line, json.loads(line), hep_id, key)
        st = stats_of(r.stderr)
        c.check(st.get("hep_send.packets") == len(lines) and st.get("hep_send.errors") == 0,
                "%s: --stats hep_send.packets %d, errors 0" % (capture, len(lines)),
                {k: v for k, v in st.items() if k.startswith("hep_send")})
        if v6:
            c.check(all(u(hep3_decode(d).get(1, b"")) == 10 for d in got),
                    "%s: IPv6 parties in IPv6 chunks" % capture)

    # -o text: the records are text on stdout, JSON in HEP.
    capture = os.path.join(CAPTURES, "mixed-sample.pcap")
    ref = [l for l in run(exe, ["-r", capture, "-o", "json"]).stdout.split("\n") if l]
    rx = Receiver()
    try:
        r = run(exe, ["-r", capture, "--hep-send", rx.addr, "-o", "text"])
        got = rx.drain()
    finally:
        rx.close()
    payloads = [hep3_decode(d).get(15, b"").decode("utf-8") for d in got]
    c.check(r.returncode == 1 and r.stdout.startswith("warning  wrong-password"),
            "-o text with --hep-send: text on stdout", r.stdout[:200])
    c.check(payloads == ref, "-o text: the HEP payloads are the JSON lines of -o json",
            (len(payloads), len(ref)))


def part2(c, exe):
    """Nothing listens on the port: ICMP port unreachable, ECONNREFUSED."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # the port is free now: datagrams to it are refused
    for capture, opts in RUNS[:3]:
        path = os.path.join(CAPTURES, capture)
        ref = run(exe, ["-r", path, "-o", "json"] + [o for o in opts if o != "--stats"])
        r = run(exe, ["-r", path, "-o", "json", "--stats", "--hep-send",
                      "127.0.0.1:%d" % port] + opts)
        st = stats_of(r.stderr)
        n = len([l for l in ref.stdout.split("\n") if l])
        c.check(r.stdout == ref.stdout, "%s: output unchanged when HEP is refused" % capture)
        c.check(r.returncode == ref.returncode == 1, "%s: exit status %d, without HEP %d" %
                (capture, r.returncode, ref.returncode))
        c.check(st.get("hep_send.errors", 0) >= 1 and st.get("hep_send.packets", 0) >= 1
                and st.get("hep_send.errors", 0) <= n,
                "%s: refusals counted (hep_send.errors)" % capture,
                {k: v for k, v in st.items() if k.startswith("hep_send")})
        c.check(not [l for l in r.stderr.splitlines() if l.startswith("sipauthmon:")],
                "%s: no message for a refused HEP packet" % capture, r.stderr[:300])


def part3(c, exe):
    capture = os.path.join(CAPTURES, "mixed-sample.pcap")
    for bad in ("localhost:9060", "127.0.0.1:0", "127.0.0.1", "::1:9060", "[::1]:70000",
                "192.0.2.1:90x"):
        r = run(exe, ["-r", capture, "-o", "json", "--hep-send", bad])
        c.check(r.returncode == 2 and r.stdout == "" and "--hep-send" in r.stderr,
                "--hep-send %s: refused at start with exit 2" % bad,
                (r.returncode, r.stderr.strip()))
    with tempfile.TemporaryDirectory(prefix="sipauthmon-hep-send-") as tmp:
        conf = os.path.join(tmp, "sipauthmon.conf")
        with open(conf, "w") as f:
            f.write("[sipauthmon]\nhep_id = 7\nhep_send = homer.example:9060\n")
        r = run(exe, ["-c", conf, "-r", capture, "-o", "json"])
        c.check(r.returncode == 2 and "sipauthmon.conf:3" in r.stderr and "hep_send" in r.stderr,
                "hep_send in the configuration: refused with file and line",
                (r.returncode, r.stderr.strip()))
        with open(conf, "w") as f:
            f.write("[sipauthmon]\nhep_id = 4294967296\n")
        r = run(exe, ["-c", conf, "-r", capture, "-o", "json"])
        c.check(r.returncode == 2 and "hep_id" in r.stderr, "hep_id out of range: refused",
                (r.returncode, r.stderr.strip()))
        # The configuration file's hep_send and hep_id are used (-r runs too).
        rx = Receiver()
        try:
            with open(conf, "w") as f:
                f.write("[sipauthmon]\nhep_id = 77\nhep_send = %s\n" % rx.addr)
            r = run(exe, ["-c", conf, "-r", capture, "-o", "json"])
            got = rx.drain()
        finally:
            rx.close()
        n = len([l for l in r.stdout.split("\n") if l])
        c.check(r.returncode == 1 and len(got) == n and n > 0
                and all(u(hep3_decode(d).get(12, b"")) == 77 for d in got),
                "hep_send and hep_id from the configuration file", (r.returncode, n, len(got)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sipauthmon", required=True)
    args = ap.parse_args()
    c = Checks()
    t0 = time.monotonic()
    part1(c, args.sipauthmon)
    part2(c, args.sipauthmon)
    part3(c, args.sipauthmon)
    print("(%.1f s)" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

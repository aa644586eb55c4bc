#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live capture: highest lossless tcpreplay rate of `sipauthmon -i` (issue 18).

    bench/live.py [--exe build-bench/daemon/sipauthmon] [--pcap bench/out/mix-100k.pcap]
                  [--packets N] [--runs 8] [--drain 1.5]

Two network namespaces of its own (live<pid>tx, live<pid>rx) joined by a veth
pair (live<pid>t / live<pid>r), deleted at the end. Each run: sipauthmon -i on
the rx side (default filter, -o json --stats --max-records-per-minute 0),
tcpreplay --topspeed or --pps R of the first N packets from the tx side, a
drain pause, then per-thread CPU from /proc/PID/task/*/stat and SIGINT.

A run is lossless when pcap_stats ps_drop (capture.kernel_drops), the ring
drops (ring.drops), the veth's rx drops and tcpreplay's failed packets are 0,
and packets.total equals the SIP-port packets sent. Next to it: whether the
records are those of `sipauthmon -r` on the same N packets (diagnosis, user,
realm and client of each; see ID_KEYS). Not part of "lossless": replaying
slower than the capture's own rate stretches its time, and time-driven
diagnoses (unanswered challenges, scan windows) then differ. CPU per
packet of the analysis thread (the main thread: tid == pid) and of the
capture thread are given so that a loaded machine's figures can be read.
"""
import argparse
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIP_PORTS = (5060, 5061, 5080)
TAG = f"live{os.getpid()}"
NS_TX, NS_RX = TAG + "tx", TAG + "rx"
IF_TX, IF_RX = TAG + "t", TAG + "r"
HZ = os.sysconf("SC_CLK_TCK")
# A record's identity. Its contents may differ: replaying a file slower than
# it was captured stretches its time, and an account-scan then gathers other
# accounts and names another server in its window (times differ anyway).
ID_KEYS = ("diagnosis", "user", "realm", "client_ip")


def sh(*argv, check=True):
    return subprocess.run(list(argv), check=check, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def netns_up():
    sh("ip", "netns", "add", NS_TX)
    sh("ip", "netns", "add", NS_RX)
    sh("ip", "link", "add", IF_TX, "netns", NS_TX, "type", "veth", "peer", "name", IF_RX,
       "netns", NS_RX)
    for ns, ifc in ((NS_TX, IF_TX), (NS_RX, IF_RX)):
        sh("ip", "-n", ns, "link", "set", ifc, "up")


def netns_down():
    for ns in (NS_TX, NS_RX):
        sh("ip", "netns", "del", ns, check=False)


def veth_drops():
    r = sh("ip", "-n", NS_RX, "-s", "-j", "link", "show", IF_RX, check=False)
    try:
        s = json.loads(r.stdout)[0]["stats64"]["rx"]
        return s.get("dropped", 0) + s.get("missed", 0) + s.get("over_errors", 0)
    except (ValueError, KeyError, IndexError):
        return 0


def sip_count(path):
    """UDP/TCP packets to or from a SIP port: what the default filter keeps."""
    n = 0
    with open(path, "rb") as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            d = f.read(struct.unpack("<IIII", h)[2])
            et = struct.unpack("!H", d[12:14])[0]
            if et == 0x0800:
                off, proto = 14 + (d[14] & 0x0F) * 4, d[23]
            elif et == 0x86DD:
                off, proto = 54, d[20]
            else:
                continue
            if proto in (6, 17):
                sp, dp = struct.unpack("!HH", d[off:off + 4])
                n += sp in SIP_PORTS or dp in SIP_PORTS


def records(text):
    """Records without their times, sorted: comparable between -r and -i."""
    out = []
    for line in text.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict):
            out.append(json.dumps([o.get(k) for k in ID_KEYS]))
    return sorted(out)


def parse_stats(text):
    st = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9_.]+)\s+(\d+)$", line.strip())
        if m:
            st[m.group(1)] = int(m.group(2))
    return st


def thread_cpu(pid):
    """{tid: cpu seconds} of every thread of pid."""
    res = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            res[int(tid)] = (int(fields[11]) + int(fields[12])) / HZ
        except (OSError, IndexError):
            pass
    return res


def tcpreplay(path, pps):
    argv = ["ip", "netns", "exec", NS_TX, "tcpreplay", "-i", IF_TX]
    argv += ["--topspeed"] if pps is None else [f"--pps={pps}"]
    text = (lambda r: r.stdout + r.stderr)(sh(*argv, path, check=False))
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", text)
    m2 = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", text)
    m3 = re.search(r"Failed packets:\s+(\d+)", text)
    if not m:
        raise RuntimeError("tcpreplay failed: " + text[-500:])
    return int(m.group(1)), float(m2.group(1)) if m2 else 0.0, int(m3.group(1)) if m3 else 0


def live_run(args, path, pps, expected, ref):
    v0 = veth_drops()
    argv = ["ip", "netns", "exec", NS_RX, args.exe, "-i", IF_RX, "-o", "json", "--stats", "-v",
            "--max-records-per-minute", "0", *args.extra]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    err, outb, ready = [], [], threading.Event()

    def rd_err():
        for line in p.stderr:
            err.append(line.decode(errors="replace"))
            if b"capturing on" in line:
                ready.set()

    def rd_out():
        outb.append(p.stdout.read())

    ts = [threading.Thread(target=rd_err), threading.Thread(target=rd_out)]
    for t in ts:
        t.start()
    try:
        if not ready.wait(20):
            raise RuntimeError("sipauthmon did not start: " + "".join(err)[-500:])
        time.sleep(0.2)
        c0 = thread_cpu(p.pid)
        sent, rate, failed = tcpreplay(path, pps)
        time.sleep(args.drain)
        c1 = thread_cpu(p.pid)
    finally:
        p.send_signal(signal.SIGINT)
        p.wait()
        for t in ts:
            t.join()
    st = parse_stats("".join(err))
    cpu = {tid: c1[tid] - c0.get(tid, 0.0) for tid in c1}
    ana = cpu.pop(p.pid, 0.0)
    cap = sum(cpu.values())
    got = records(outb[0].decode(errors="replace"))
    r = {"rate": "topspeed" if pps is None else pps, "sent": sent, "pps": rate, "failed": failed,
         "kdrops": st.get("capture.kernel_drops", -1), "ring": st.get("ring.drops", -1),
         "veth": veth_drops() - v0, "ring_hw": st.get("ring.high_water_bytes", -1), "total": st.get("packets.total", 0),
         "records": len(got), "same": got == ref, "ana_cpu": ana, "cap_cpu": cap}
    if got != ref and args.dump:
        for name, recs in (("live", got), ("ref", ref)):
            with open(f"{args.dump}.{name}.json", "w") as f:
                f.write("\n".join(recs) + "\n")
    r["lost"] = expected - r["total"]
    r["clean"] = (r["lost"] == 0 and r["kdrops"] == 0 and r["ring"] == 0 and r["veth"] == 0
                  and failed == 0)
    return r


def row(r, n):
    rate = r["rate"] if r["rate"] == "topspeed" else f"--pps {r['rate']}"
    ns = lambda s: f"{s / n * 1e9:.0f}" if n else "-"
    print(f"{rate:>12} {r['pps']:>9.0f} {r['sent']:>7} {r['total']:>7} {r['kdrops']:>7} "
          f"{r['ring']:>6} {r['veth']:>5} {r['lost']:>6} {r['records']:>5}/{r['same']!s:<5} "
          f"{ns(r['ana_cpu']):>7} {ns(r['cap_cpu']):>7}  {'yes' if r['clean'] else 'no'}",
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=os.path.join(HERE, "..", "build-bench", "daemon", "sipauthmon"))
    ap.add_argument("--pcap", default=os.path.join(HERE, "out", "mix-100k.pcap"))
    ap.add_argument("--packets", type=int, default=100_000, help="first N packets of --pcap")
    ap.add_argument("--runs", type=int, default=8, help="runs at most, topspeed included")
    ap.add_argument("--drain", type=float, default=1.5)
    ap.add_argument("--rates", default="", help="comma-separated --pps list instead of bisecting")
    ap.add_argument("--dump", default="", help="on a record mismatch write PREFIX.live/ref.json")
    ap.add_argument("--extra", default="", help="more sipauthmon arguments, space-separated")
    args = ap.parse_args()
    args.extra = args.extra.split()
    if os.geteuid() != 0:
        print("live: skipped (not root)")
        return 0
    sl = f"/tmp/{TAG}.pcap"
    sh("tcpdump", "-r", args.pcap, "-c", str(args.packets), "-w", sl)
    expected = sip_count(sl)
    # exit status 1: records were written
    ref = records(sh(args.exe, "-r", sl, "-o", "json", "--max-records-per-minute", "0",
                     check=False).stdout)
    print(f"== Live: {args.packets} packets of {os.path.basename(args.pcap)}, {expected} through "
          f"the default filter, {len(ref)} records from -r; {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'rate':>12} {'sent pps':>9} {'sent':>7} {'total':>7} {'k.drops':>7} {'ring':>6} "
          f"{'veth':>5} {'lost':>6} {'recs/same':>11} {'ana ns':>7} {'cap ns':>7}  lossless")
    netns_up()
    runs = []
    try:
        def do(pps):
            r = live_run(args, sl, pps, expected, ref)
            runs.append(r)
            row(r, r["total"])
            return r
        top = do(None)
        if args.rates:
            for p in args.rates.split(","):
                do(int(p))
        else:
            lo, hi = 0, int(top["pps"]) if not top["clean"] else 0
            if hi:
                probe = hi // 2
                while len(runs) < args.runs and hi - lo > max(2_000, 0.05 * hi):
                    r = do(probe)
                    lo, hi = (max(lo, probe), hi) if r["clean"] else (lo, min(hi, probe))
                    probe = (lo + hi) // 2
            print(f"  top lossless --pps: {'topspeed' if top['clean'] else lo or 'none found'}"
                  f"; first lossy: {hi or '-'}")
        print(f"  topspeed: {top['pps']:.0f} pps sent, lost {top['lost']} of {expected} "
              f"({100.0 * top['lost'] / expected:.1f} %), k.drops {top['kdrops']}, "
              f"ring {top['ring']}, ring high water {top['ring_hw']} bytes")
        print("  ana ns / cap ns: CPU ns per processed packet of the analysis (main) thread "
              "and of the capture thread")
    finally:
        netns_down()
        os.unlink(sl)
    return 0


if __name__ == "__main__":
    sys.exit(main())

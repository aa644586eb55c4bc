#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""sipauthmon benchmark runner: every figure of issue 6 in one run.

    bench/run.sh [--smoke] [--sizes 10k,100k,1M,2M] [--no-live] [--profile]
                 [--sipauthmon EXE --pcap-loop EXE] [--out DIR]

Builds build-bench (buildtype=release, b_ndebug=true) unless executables are
given, generates the workloads (bench/gen_workload.py) into bench/out/ when
missing, then prints:

 1. offline throughput per size: `sipauthmon -r FILE -o json --stats`
    (stdout to /dev/null) in packets/s and SIP messages/s, next to the plain
    libpcap read loop (bench/pcap_loop.c) and `tshark -r FILE -Y sip` (run on
    the sizes up to --tshark-max only; its rate is carried over to larger
    sizes and labelled "extrapolated"), as ratios, and likewise sipgrep
    (a regex on 401/407, no diagnosis) and `sngrep -N -q` when installed.
    Every offline tool is pinned to the same single CPU (taskset),
    wall-clock time of the whole process, best of --repeat runs, page cache
    warm.
 1b. start-up on a small file: `sipauthmon -r` on the 72-packet golden
    capture against `tcpdump -r` (and `tcpdump -n -r`), median wall and CPU
    time of --startup-runs interleaved runs, and peak RSS.
 2. peak RSS per size (ru_maxrss of the child from wait4() in
    bench/rusage_exec, the number /usr/bin/time -v prints as "Maximum
    resident set size") and its growth
    from the smallest to the largest size.
 3. live capture (root, network namespaces, tcpreplay; skipped with a message
    otherwise): a veth pair between two namespaces, `sipauthmon -i veth
    --stats` in one, `tcpreplay --topspeed` and fixed --pps rates from the
    other; kernel drops (pcap_stats), ring drops (when --stats reports them),
    packets lost before libpcap (veth rx drops), and the highest rate with
    nothing lost, bisected within --live-runs runs.
 4. live latency: a workload with a new failing principal every 500
    packets, replayed at --latency-pps; each JSON line is timestamped on
    arrival and compared with its last_seen, the capture timestamp of the
    packet that completed the pattern (kernel time of the same clock):
    p50/p99/max.
 5. targets of issues 6 and 18 next to each measured ratio.

--smoke: the 10k workload only, offline figures only (tshark, no sipgrep or
sngrep), start-up with 5 runs; must run and print, no judgement on the
figures (CI: meson test --suite bench).
--profile: also profile sipauthmon on the 100k workload (perf record with
the cpu-clock event, self time; valgrind callgrind, inclusive cost) and print
the top functions.

Standard library only. Benchmarks are not pass/fail tests: the exit status
is 0 whenever every measurement could be taken.
"""

import argparse
import calendar
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_workload.py")
GEN_DEPS = [GEN, os.path.join(SRC, "tests", "fixtures", "gen_fixtures.py")]
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "2M": 2_000_000}
SIP_PORTS = (5060, 5061, 5080)
NS_TX, NS_RX = "sam-bench-tx", "sam-bench-rx"
IF_TX, IF_RX = "sambtx0", "sambrx0"

# Issue 6 targets (2-core machine class).
TARGET_PPS = 1_000_000
TARGET_VS_PCAP = 0.30
TARGET_VS_TSHARK = 50.0
TARGET_LIVE_PPS = 100_000
TARGET_RSS_MIB = 64
TARGET_P99_MS = 100


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def out(line=""):
    print(line, flush=True)


def human(n):
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


# --------------------------------------------------------------------------
# Process running with rusage


class Result:
    def __init__(self, rc, wall, user, sys_, maxrss_kib, stdout=b"", stderr=b""):
        self.rc = rc
        self.wall = wall
        self.user = user
        self.sys = sys_
        self.maxrss_kib = maxrss_kib
        self.stdout = stdout
        self.stderr = stderr


# bench/rusage_exec (built next to pcap_loop): runs the command and writes its
# times and peak RSS. Python's own wait4() would report at least the runner's
# ~20 MiB, since the kernel keeps the peak RSS of the image a process
# replaces across execve() (rusage_exec.c says more). Set by main().
RUSAGE_EXEC = None


def run_measured(argv, stdout=subprocess.DEVNULL, capture_stdout=False, timeout=3600):
    """Run argv; wall time, CPU time and peak RSS of that very process (wait4,
    through rusage_exec when it is there)."""
    if RUSAGE_EXEC:
        fd, tmp = tempfile.mkstemp(prefix="sam-bench-rusage-")
        os.close(fd)
        try:
            r = _run_measured([RUSAGE_EXEC, tmp, *argv], stdout, capture_stdout, timeout)
            with open(tmp) as f:
                v = f.read().split()
        finally:
            os.unlink(tmp)
        if len(v) == 10 and v[0] == "status":
            r.rc, r.wall, r.user, r.sys, r.maxrss_kib = (int(v[1]), float(v[3]), float(v[5]),
                                                        float(v[7]), int(v[9]))
        return r
    return _run_measured(argv, stdout, capture_stdout, timeout)


def _run_measured(argv, stdout, capture_stdout, timeout):
    so = subprocess.PIPE if capture_stdout else stdout
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=so, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    chunks = {"out": b"", "err": b""}

    def drain(stream, key):
        chunks[key] = stream.read()

    th = [threading.Thread(target=drain, args=(p.stderr, "err"))]
    if capture_stdout:
        th.append(threading.Thread(target=drain, args=(p.stdout, "out")))
    for t in th:
        t.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    for t in th:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return Result(p.returncode, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss,
                  chunks["out"], chunks["err"])


def parse_stats(text):
    st = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9_.]+)\s+(\d+)$", line.strip())
        if m:
            st[m.group(1)] = int(m.group(2))
    return st


def ring_drops(st):
    """Ring drop counters, whatever the daemon names them."""
    keys = [k for k in st if "ring" in k and "drop" in k and "bytes" not in k]
    return sum(st[k] for k in keys) if keys else None, keys


# --------------------------------------------------------------------------
# Build and workloads


def build(builddir):
    if not os.path.exists(os.path.join(builddir, "build.ninja")):
        log(f"setting up {builddir} (release, b_ndebug=true)")
        subprocess.run(["meson", "setup", builddir, SRC, "--buildtype=release", "-Db_ndebug=true"],
                       check=True, stdout=subprocess.DEVNULL)
    exes = {"sipauthmon": os.path.join(builddir, "daemon", "sipauthmon"),
            "pcap_loop": os.path.join(builddir, "bench", "pcap_loop")}
    # Only these targets: the rest of the tree may be mid-edit elsewhere.
    r = subprocess.run(["ninja", "-C", builddir, "daemon/sipauthmon", "bench/pcap_loop",
                        "bench/rusage_exec"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        if all(os.path.exists(e) for e in exes.values()):
            log("warning: build failed, measuring the executables already built:\n"
                + r.stdout[-2000:])
        else:
            log(r.stdout[-4000:])
            raise SystemExit("build failed")
    opts = {}
    try:
        with open(os.path.join(builddir, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        pass
    return exes, f"buildtype={opts.get('buildtype', '?')} b_ndebug={opts.get('b_ndebug', '?')}"


def source_hash():
    h = hashlib.sha256()
    for p in GEN_DEPS:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def workload(outdir, name, n, extra=()):
    """bench/out/NAME.pcap, regenerated when the generator changed."""
    path = os.path.join(outdir, name + ".pcap")
    stamp = path + ".src"
    sh = source_hash() + " " + " ".join(extra)
    if os.path.exists(path) and os.path.exists(path + ".json") and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == sh.strip():
                with open(path + ".json") as f2:
                    return path, json.load(f2)
    log(f"generating {path} ({n} packets)...")
    t0 = time.monotonic()
    subprocess.run([sys.executable, GEN, "-n", str(n), "-o", path, *extra], check=True,
                   stdout=subprocess.DEVNULL)
    log(f"  done in {time.monotonic() - t0:.1f} s")
    with open(stamp, "w") as f:
        f.write(sh + "\n")
    with open(path + ".json") as f:
        return path, json.load(f)


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def sip_port_prefix(path, limit):
    """UDP packets to or from a SIP port among the first `limit` packets: what
    the default live filter lets through."""
    n = 0
    with open(path, "rb") as f:
        f.read(24)
        for _ in range(limit):
            h = f.read(16)
            if len(h) < 16:
                break
            cl = struct.unpack("<IIII", h)[2]
            d = f.read(cl)
            et = struct.unpack("!H", d[12:14])[0]
            if et == 0x0800:
                off = 14 + (d[14] & 0x0F) * 4
                proto = d[23]
            elif et == 0x86DD:
                off, proto = 54, d[20]
            else:
                continue
            if proto in (6, 17):
                sp, dp = struct.unpack("!HH", d[off:off + 4])
                if sp in SIP_PORTS or dp in SIP_PORTS:
                    n += 1
    return n


# --------------------------------------------------------------------------
# Offline


def taskset(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


def best(results):
    return min(results, key=lambda r: r.wall)


# Peers: what users reach for on the same file, pinned to the same CPU. Each
# runs on the sizes up to --tshark-max; beyond that its packets/s at the
# largest size it ran on is carried over (labelled "extrapolated").
PEERS = (
    # key, label, argv for a file
    ("tshark", "tshark -Y sip", lambda exe, p: [exe, "-r", p, "-Y", "sip"]),
    # a grep for the challenges, no diagnosis; every SIP port of the workload
    ("sipgrep", "sipgrep 401/407",
     lambda exe, p: [exe, "-C", "-m", "-P", "5060-5080", "-I", p, r"^SIP/2\.0 40[17] "]),
    ("sngrep", "sngrep -N -q", lambda exe, p: [exe, "-N", "-q", "-I", p]),
)


def peers_available(args):
    """(key, label, exe, argv_fn) of the peers installed and asked for."""
    found = []
    for key, label, argv in PEERS:
        if key == "tshark" and args.no_tshark:
            continue
        if key != "tshark" and (args.smoke or args.no_peers):
            continue  # bench-smoke stays fast; CI does not install them
        exe = shutil.which(key)
        if exe:
            found.append((key, label, exe, argv))
    return found


def offline(args, exes, files):
    rows = []
    peers = peers_available(args)
    pin = taskset(args.cpu)
    last = {}  # key -> (label, wall pps, cpu pps) of the largest size the peer ran on
    for label, path, meta in files:
        n = meta["packets"]
        warm(path)
        reps = args.repeat or (3 if n <= 100_000 else 2 if n <= 1_100_000 else 1)
        log(f"offline {label}: pcap_loop, sipauthmon x{reps}...")
        loops, tuned = [], []
        for _ in range(reps):
            for dest, extra in ((loops, []), (tuned, ["--buffer", str(1 << 20)])):
                lp = run_measured(pin + [exes["pcap_loop"], *extra, path], capture_stdout=True)
                m = re.match(rb"packets (\d+) ", lp.stdout)
                if lp.rc != 0 or not m or int(m.group(1)) != n:
                    raise SystemExit(f"pcap_loop failed ({lp.rc}): "
                                     f"{(lp.stdout + lp.stderr).decode(errors='replace')}")
                dest.append(lp)
        sam_runs = []
        for _ in range(reps):
            r = run_measured(pin + [exes["sipauthmon"], "-r", path, "-o", "json", "--stats", "-q"])
            st = parse_stats(r.stderr.decode(errors="replace"))
            if r.rc not in (0, 1) or st.get("packets.total") != n:
                raise SystemExit(f"sipauthmon analysed {st.get('packets.total')} of the {n} packets of"
                                 f" {path} (exit {r.rc}): {r.stderr.decode(errors='replace')[-1000:]}")
            sam_runs.append((r, st))
        st = sam_runs[0][1]
        if st.get("sip.messages") != meta["sip_messages"]:
            log(f"warning: {label}: sipauthmon parsed {st.get('sip.messages')} SIP messages,"
                f" the generator wrote {meta['sip_messages']}")
        row = {
            "label": label, "packets": n, "bytes": meta["file_bytes"],
            "sip_messages": st.get("sip.messages", 0), "diagnoses": st.get("diagnoses.emitted", 0),
            "sam_wall": min(r.wall for r, _ in sam_runs),
            "sam_cpu": min(r.user + r.sys for r, _ in sam_runs),
            "loop_wall": min(r.wall for r in loops), "loop_cpu": min(r.user + r.sys for r in loops),
            "tuned_wall": min(r.wall for r in tuned), "tuned_cpu": min(r.user + r.sys for r in tuned),
            "rss_kib": max(r.maxrss_kib for r, _ in sam_runs), "reps": reps,
            "peers": {},
        }
        for key, plabel, exe, argv in peers:
            if n <= SIZES[args.tshark_max]:
                log(f"offline {label}: {plabel}...")
                pr = run_measured(pin + argv(exe, path))
                if pr.rc == 0:
                    row["peers"][key] = {"wall": pr.wall, "cpu": pr.user + pr.sys, "from": None}
                    last[key] = (label, n / pr.wall, n / max(pr.user + pr.sys, 1e-9))
                else:
                    log(f"warning: {plabel} exited {pr.rc}: {pr.stderr.decode(errors='replace')[-300:]}")
            elif key in last:
                # not run at this size: the peer's packets/s at the largest
                # measured size is assumed to hold (extrapolated, labelled so)
                row["peers"][key] = {"wall": n / last[key][1], "cpu": n / last[key][2],
                                     "from": last[key][0]}
        rows.append(row)
    return rows, peers


def rates(r, basis, peer="tshark"):
    """packets/s of sipauthmon, the loop and a peer on a basis: wall or cpu."""
    n = r["packets"]
    sam = n / max(r["sam_" + basis], 1e-9)
    loop = n / max(r["loop_" + basis], 1e-9)
    p = r["peers"].get(peer)
    return sam, loop, (n / max(p[basis], 1e-9) if p else None)


def print_offline(rows, pinned, peers):
    out("== Offline throughput: sipauthmon -r FILE -o json --stats > /dev/null"
        + (f", every tool pinned to CPU {pinned}" if pinned is not None else ""))
    keys = [p[0] for p in peers]
    for basis, title in (("wall", "wall-clock time of the whole process (the target's basis)"),
                         ("cpu", "CPU time (user+sys) of the process: less sensitive to a busy machine")):
        out(f"-- per second of {title}")
        out(f"{'size':>6} {'packets':>9} {'SIP msgs':>9} {'diag':>5} | {'sipauthmon':>12} {'SIP msg/s':>10}"
            f" | {'pcap loop':>12} {'vs loop':>7} |" + "".join(f" {'x ' + k:>10}" for k in keys))
        for r in rows:
            sam, loop, _ = rates(r, basis)
            mps = r["sip_messages"] / max(r["sam_" + basis], 1e-9)
            cols = ""
            for k in keys:
                p = r["peers"].get(k)
                star = "*" if p and p["from"] else ""
                x = f"{sam * p[basis] / r['packets']:.1f}{star}" if p else "-"
                cols += f" {x:>10}"
            out(f"{r['label']:>6} {r['packets']:>9} {r['sip_messages']:>9} {r['diagnoses']:>5} | "
                f"{human(sam) + ' pps':>12} {human(mps):>10} | {human(loop) + ' pps':>12} "
                f"{100 * sam / loop:>6.1f}% |" + cols)
    if peers:
        out("-- peers on the same files, packets/s (wall-clock / CPU), sipauthmon's ratio is 'x PEER' above")
        for key, plabel, _, _ in peers:
            cells = []
            for r in rows:
                p = r["peers"].get(key)
                if p:
                    star = "*" if p["from"] else ""
                    cells.append(f"{r['label']} {human(r['packets'] / p['wall'])}{star} / "
                                 f"{human(r['packets'] / max(p['cpu'], 1e-9))}{star}")
            out(f"  {plabel:<16} " + ("; ".join(cells) if cells else "did not run"))
    ext = sorted({p["from"] for r in rows for p in r["peers"].values() if p["from"]})
    if ext:
        out(f"  * peer not run at this size: its packets/s at {ext[0]} is assumed to hold"
            " (extrapolated, not measured)")
    missing = [k for k, _, _ in PEERS if k not in keys]
    if missing:
        out(f"  not run: {', '.join(missing)} (not installed, --no-peers/--no-tshark, or a smoke run)")
    out("  pcap loop: the plain libpcap loop, stdio's default buffer (issue 18's basis); with the 1 MiB"
        " buffer sipauthmon -r reads through (tuned), per CPU-second: " + ", ".join(
            f"{r['label']} {human(r['packets'] / max(r['tuned_cpu'], 1e-9))} pps, sipauthmon at"
            f" {100 * r['tuned_cpu'] / max(r['sam_cpu'], 1e-9):.1f}% of it" for r in rows))
    out("  cpu% of sipauthmon (cpu/wall): " + ", ".join(
        f"{r['label']} {100 * r['sam_cpu'] / r['sam_wall']:.0f}%" for r in rows)
        + f"; best of {', '.join(str(r['reps']) for r in rows)} runs")
    out()
    out("== Peak RSS of sipauthmon -r (ru_maxrss from wait4(), what /usr/bin/time -v prints)")
    for r in rows:
        out(f"{r['label']:>6} {r['rss_kib'] / 1024:8.1f} MiB")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        ref = next((r for r in rows if r["packets"] >= 100_000), a)
        out(f"  growth {a['label']} -> {b['label']}: {(b['rss_kib'] - a['rss_kib']) / 1024:+.1f} MiB;"
            f" {ref['label']} -> {b['label']}: {(b['rss_kib'] - ref['rss_kib']) / 1024:+.1f} MiB"
            f" ({100 * (b['rss_kib'] - ref['rss_kib']) / ref['rss_kib']:+.0f}%)")
    out()


# --------------------------------------------------------------------------
# Start-up on a small file: a one-shot run against tcpdump -r

SMALL_CAPTURE = os.path.join(SRC, "tests", "golden", "captures", "mixed-sample.pcap")
TARGET_STARTUP_X = 3.0
TARGET_STARTUP_RSS_MIB = 16


def median(vals):
    v = sorted(vals)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def startup(args, exes):
    """The 72-packet golden capture, runs interleaved so that load hits all alike."""
    path = args.small or SMALL_CAPTURE
    n = args.startup_runs or (5 if args.smoke else 20)
    pin = taskset(args.cpu)
    tools = [("sipauthmon", [exes["sipauthmon"], "-r", path, "-o", "json"], (0, 1))]
    tcpdump = shutil.which("tcpdump")
    if tcpdump:
        tools.append(("tcpdump -r", [tcpdump, "-r", path], (0,)))
        tools.append(("tcpdump -n -r", [tcpdump, "-n", "-r", path], (0,)))
    res = {name: [] for name, _, _ in tools}
    log(f"start-up: {len(tools)} commands x{n} on {os.path.basename(path)}...")
    for _ in range(n):
        for name, argv, ok in tools:
            r = run_measured(pin + argv)
            if r.rc not in ok:
                raise SystemExit(f"start-up: {' '.join(argv)} exited {r.rc}")
            res[name].append((r.wall, r.user + r.sys, r.maxrss_kib))
    out(f"== Start-up on a small file: {os.path.relpath(path, SRC)} (one-shot -r, stdout to /dev/null),"
        f" {n} runs each, interleaved" + (f", pinned to CPU {args.cpu}" if args.cpu is not None else ""))
    out(f"{'command':>15} | {'median wall':>11} {'min wall':>9} | {'median cpu':>10} {'min cpu':>8}"
        f" | {'peak RSS':>9}")
    fig = {}
    for name, _, _ in tools:
        w = [x[0] for x in res[name]]
        c = [x[1] for x in res[name]]
        rss = max(x[2] for x in res[name]) / 1024
        fig[name] = {"wall": median(w), "cpu": median(c), "rss": rss}
        out(f"{name:>15} | {median(w) * 1e3:8.1f} ms {min(w) * 1e3:6.1f} ms | {median(c) * 1e3:7.1f} ms"
            f" {min(c) * 1e3:5.1f} ms | {rss:5.1f} MiB")
    if "tcpdump -r" in fig:
        s, t = fig["sipauthmon"], fig["tcpdump -r"]
        out(f"  sipauthmon / tcpdump -r: median wall {s['wall'] / t['wall']:.2f}x,"
            f" median cpu {s['cpu'] / max(t['cpu'], 1e-9):.2f}x (tcpdump -r resolves addresses, -n does not)")
    else:
        out("  tcpdump not installed: no comparison")
    out()
    return fig


# --------------------------------------------------------------------------
# Live: a veth pair between two namespaces


def sh(*argv, check=True, quiet=True):
    return subprocess.run(list(argv), check=check, text=True,
                          stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE)


def live_prereqs():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("ip", "tcpreplay"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    r = sh("ip", "netns", "add", NS_TX + "-probe", check=False)
    if r.returncode != 0:
        return "cannot create a network namespace: " + r.stderr.strip()
    sh("ip", "netns", "del", NS_TX + "-probe", check=False)
    return None


def netns_up():
    netns_down()
    sh("ip", "netns", "add", NS_TX)
    sh("ip", "netns", "add", NS_RX)
    sh("ip", "link", "add", IF_TX, "netns", NS_TX, "type", "veth", "peer", "name", IF_RX, "netns", NS_RX)
    for ns, ifc in ((NS_TX, IF_TX), (NS_RX, IF_RX)):
        sh("ip", "-n", ns, "link", "set", ifc, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_down():
    for ns in (NS_TX, NS_RX):
        sh("ip", "netns", "del", ns, check=False)


def veth_rx_dropped():
    r = sh("ip", "-n", NS_RX, "-s", "-j", "link", "show", IF_RX, check=False)
    try:
        s = json.loads(r.stdout)[0]["stats64"]["rx"]
        return s.get("dropped", 0) + s.get("missed", 0) + s.get("over_errors", 0)
    except (ValueError, KeyError, IndexError):
        return 0


def softnet_dropped():
    tot = 0
    try:
        with open("/proc/net/softnet_stat") as f:
            for line in f:
                tot += int(line.split()[1], 16)
    except OSError:
        pass
    return tot


class Daemon:
    """sipauthmon -i in the receiving namespace; stdout lines timestamped."""

    def __init__(self, exe, extra=()):
        argv = ["ip", "netns", "exec", NS_RX, exe, "-i", IF_RX, "-o", "json", "--stats", "-v", *extra]
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.lines = []  # (arrival time.time(), line)
        self.err = []
        self.ready = threading.Event()
        self.t_out = threading.Thread(target=self._read_out)
        self.t_err = threading.Thread(target=self._read_err)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        # Raw reads: a line is timestamped when the pipe hands it over, not
        # when some buffer fills.
        fd = self.p.stdout.fileno()
        pending = b""
        while True:
            chunk = os.read(fd, 65536)
            now = time.time()
            if not chunk:
                break
            pending += chunk
            *done, pending = pending.split(b"\n")
            self.lines.extend((now, ln) for ln in done)

    def _read_err(self):
        for line in self.p.stderr:
            s = line.decode(errors="replace")
            self.err.append(s)
            if "capturing on" in s:
                self.ready.set()

    def wait_ready(self):
        if not self.ready.wait(10):
            raise RuntimeError("sipauthmon did not start capturing: " + "".join(self.err)[-1000:])
        time.sleep(0.2)

    def stop(self):
        self.stop_time = time.time()
        self.p.send_signal(signal.SIGINT)
        try:
            _, status, ru = os.wait4(self.p.pid, 0)
        except ChildProcessError:
            ru = None
        self.t_out.join()
        self.t_err.join()
        self.maxrss_kib = ru.ru_maxrss if ru else 0
        return parse_stats("".join(self.err))


def tcpreplay(path, limit, pps=None):
    argv = ["ip", "netns", "exec", NS_TX, "tcpreplay", "-i", IF_TX, "-L", str(limit)]
    argv += ["--topspeed"] if pps is None else [f"--pps={pps}"]
    r = sh(*argv, path, check=False)
    text = r.stdout + r.stderr
    res = {"sent": 0, "seconds": 0.0, "pps": 0.0, "failed": 0}
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", text)
    if m:
        res["sent"], res["seconds"] = int(m.group(1)), float(m.group(3))
    m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", text)
    if m:
        res["pps"] = float(m.group(1))
    m = re.search(r"Failed packets:\s+(\d+)", text)
    if m:
        res["failed"] = int(m.group(1))
    if r.returncode != 0 or not res["sent"]:
        raise RuntimeError("tcpreplay failed: " + text[-1000:])
    return res


def live_run(exe, path, pps, limit, expect_cache, workers=1):
    if limit not in expect_cache:
        expect_cache[limit] = sip_port_prefix(path, limit)
    expected = expect_cache[limit]
    v0, s0 = veth_rx_dropped(), softnet_dropped()
    d = Daemon(exe, ["--workers", str(workers)])
    try:
        d.wait_ready()
        tr = tcpreplay(path, limit, pps)
        time.sleep(1.5)  # let the analyser drain the kernel buffer
    finally:
        st = d.stop()
    rd, rkeys = ring_drops(st)
    res = {
        "asked": "topspeed" if pps is None else pps, "sent": tr["sent"], "send_pps": tr["pps"],
        "tx_failed": tr["failed"], "expected": expected, "received": st.get("capture.received"),
        "kernel_drops": st.get("capture.kernel_drops"), "if_drops": st.get("capture.if_drops"),
        "ring_drops": rd, "ring_keys": rkeys, "processed": st.get("packets.total", 0),
        "veth_drops": veth_rx_dropped() - v0, "softnet_drops": softnet_dropped() - s0,
        "sip_pps": expected / tr["seconds"] if tr["seconds"] else 0.0, "rss_kib": d.maxrss_kib,
        "stats": {k: v for k, v in st.items() if k.startswith(("capture.", "ring.", "packets."))},
    }
    res["lost"] = max(0, expected - res["processed"])
    res["clean"] = (res["lost"] == 0 and not res["kernel_drops"] and not res["ring_drops"]
                    and not res["tx_failed"])
    return res


def print_live_row(r):
    rate = "topspeed" if r["asked"] == "topspeed" else f"--pps {human(r['asked'])}"
    ring = "n/a" if r["ring_drops"] is None else str(r["ring_drops"])
    out(f"{rate:>12} {human(r['send_pps']):>9} {human(r['sip_pps']):>9} {r['sent']:>8} {r['expected']:>8} "
        f"{r['processed']:>9} {str(r['kernel_drops']):>7} {ring:>6} {r['veth_drops']:>6} {r['lost']:>7}  "
        f"{'yes' if r['clean'] else 'no'}")


def live(args, exes, path, meta, workers=1, with_latency=True):
    why = live_prereqs()
    if why:
        out(f"== Live capture: skipped ({why})")
        out()
        return None
    out(f"== Live capture: tcpreplay -> veth ({NS_TX}/{IF_TX} -> {NS_RX}/{IF_RX}) -> "
        f"sipauthmon -i (default filter) --workers {workers}")
    out(f"   workload {os.path.basename(path)}; each run sends at most ~{args.live_seconds} s of "
        "packets (-L); the default filter keeps SIP ports only, so RTP is dropped in the kernel")
    out(f"{'rate':>12} {'sent pps':>9} {'SIP pps':>9} {'sent':>8} {'SIP sent':>8} {'processed':>9} "
        f"{'k.drops':>7} {'ring':>6} {'veth':>6} {'lost':>7}  zero-drop")
    cache = {}
    runs = []
    total = meta["packets"]

    def do(pps, limit=None):
        if limit is None:
            limit = min(total, max(20_000, int((pps or 400_000) * args.live_seconds)))
        r = live_run(exes["sipauthmon"], path, pps, limit, cache, workers)
        runs.append(r)
        print_live_row(r)
        return r

    netns_up()
    try:
        top = do(None)
        fixed = [p for p in args.live_rates if p < top["send_pps"] * 0.95]
        for p in fixed:
            do(p)
        # highest zero-drop rate: bisect between the best clean and the
        # lowest unclean send rate, within the run budget
        clean = [r["send_pps"] for r in runs if r["clean"]]
        dirty = [r["send_pps"] for r in runs if not r["clean"]]
        lo = max(clean) if clean else 0.0
        hi = min([d for d in dirty if d > lo], default=None)
        budget = args.live_runs - len(runs)
        probe = 10_000
        while not lo and budget > 0 and probe >= 1_000:
            # nothing clean yet: halve from 10k until a rate is clean
            r = do(probe)
            budget -= 1
            if r["clean"]:
                lo = r["send_pps"]
                hi = min([d["send_pps"] for d in runs if not d["clean"] and d["send_pps"] > lo],
                         default=None)
            probe //= 2
        while hi is not None and lo > 0 and budget > 0 and hi - lo > max(5_000, 0.05 * hi):
            mid = int((lo + hi) / 2)
            r = do(mid)
            budget -= 1
            if r["clean"]:
                lo = max(lo, r["send_pps"])
            else:
                hi = min(hi, r["send_pps"]) if r["send_pps"] > lo else mid
        best_clean = lo
        if top["clean"]:
            out(f"  highest zero-drop rate: topspeed itself, {human(top['send_pps'])} packets/s sent "
                f"({human(top['sip_pps'])} SIP packets/s through the filter)")
        elif best_clean:
            out(f"  highest zero-drop rate found: {human(best_clean)} packets/s sent"
                f" (first rate with losses: {human(hi) if hi else '?'}; {len(runs)} runs)")
        else:
            out("  no rate without losses was found")
        if runs[0]["ring_drops"] is None:
            out("  ring: this sipauthmon's --stats reports no ring counters (n/a)")
        out("  k.drops: pcap_stats ps_drop; veth: rx drops of the receiving veth (lost before"
            " libpcap: backlog full);")
        out("  lost: SIP-port packets sent minus packets.total of sipauthmon")
    finally:
        lat = None
        try:
            lat = latency(args, exes) if with_latency and not args.no_latency else None
        finally:
            netns_down()
    out()
    return {"runs": runs, "best_clean": best_clean, "topspeed": top, "latency": lat,
            "workers": workers}


def offline_workers(args, exes, files):
    """Wall-clock packets/s of -r with --workers N on every CPU (not pinned): what
    more threads buy on this machine. The output must equal --workers 1's."""
    label, path, meta = next(((lb, p, m) for lb, p, m in files if m["packets"] >= 1_000_000),
                             files[-1])
    n = meta["packets"]
    out(f"== Offline with --workers N ({label}, every CPU allowed, best of 2, wall clock)")
    out(f"{'workers':>8} {'wall s':>8} {'pps':>10} {'cpu s':>8} {'vs 1':>6}  same records")
    res, ref, base = {}, None, None
    for w in args.workers:
        best = None
        for _ in range(2):
            r = run_measured([exes["sipauthmon"], "-r", path, "-o", "json", "-q", "--workers", str(w),
                              "--max-records-per-minute", "0"], capture_stdout=True)
            if r.rc not in (0, 1):
                raise SystemExit(f"sipauthmon --workers {w} exited {r.rc}")
            if best is None or r.wall < best.wall:
                best = r
        if ref is None:
            ref, base = best.stdout, best.wall
        res[w] = n / best.wall
        out(f"{w:>8} {best.wall:>8.2f} {human(n / best.wall):>10} {best.user + best.sys:>8.2f}"
            f" {base / best.wall:>5.2f}x  {'yes' if best.stdout == ref else 'NO'}")
    out()
    return res


def latency(args, exes):
    path, meta = workload(args.out, "latency-200k", 200_000,
                          ("--profile", "latency", "--fail-every", "500"))
    d = Daemon(exes["sipauthmon"], ("--max-records-per-minute", "0"))
    try:
        d.wait_ready()
        tr = tcpreplay(path, meta["packets"], args.latency_pps)
        time.sleep(1.5)
    finally:
        d.stop()
    lat = []
    codes = {}
    detail = []
    at_exit = 0
    for arrival, line in d.lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        ls = rec.get("last_seen")
        if not ls:
            continue
        if arrival >= d.stop_time:
            at_exit += 1  # written by the end-of-run flush, not decided live
            continue
        t = calendar_utc(ls)  # RFC 3339 UTC with milliseconds
        lat.append((arrival - t) * 1000)
        codes[rec.get("diagnosis")] = codes.get(rec.get("diagnosis"), 0) + 1
        detail.append({"arrival": arrival, "last_seen": ls, "latency_ms": round(lat[-1], 3),
                       "diagnosis": rec.get("diagnosis"), "attempts": rec.get("attempts")})
    with open(os.path.join(args.out, "latency-records.json"), "w") as f:
        json.dump(detail, f, indent=0)
    out(f"== Live latency: deciding packet (kernel timestamp = last_seen) -> JSON line read from"
        f" stdout; {os.path.basename(path)} at --pps {human(args.latency_pps)}"
        f" (sent {human(tr['pps'])} pps)")
    if not lat:
        out("  no records arrived")
        return None
    lat.sort()
    res = {"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99), "max": lat[-1],
           "failing": meta["failing_principals"], "codes": codes}
    out(f"  records {len(lat)} (failing principals sent {meta['failing_principals']}),"
        f" p50 {res['p50']:.1f} ms, p99 {res['p99']:.1f} ms, max {res['max']:.1f} ms"
        " (last_seen has 1 ms resolution: figures are high by up to 1 ms)")
    out("  by code: " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items())))
    if at_exit:
        out(f"  ({at_exit} record(s) written at exit by the final flush are not counted)")
    return res


def calendar_utc(s):
    base = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
    m = re.match(r"\.(\d+)", s[19:])
    frac = int(m.group(1)) / 10 ** len(m.group(1)) if m else 0.0
    return base + frac


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


# --------------------------------------------------------------------------
# Profile


def profile(args, exes, path):
    out(f"== Profile of sipauthmon -r {os.path.basename(path)} -o json")
    cmd = [exes["sipauthmon"], "-r", path, "-o", "json", "-q"]
    if shutil.which("perf"):
        # cpu-clock: this machine's VMs expose no hardware counters. DWARF
        # unwinding, because neither the release build nor sofia-sip keeps
        # frame pointers.
        data = os.path.join(args.out, "perf.data")
        r = subprocess.run(["perf", "record", "--call-graph", "dwarf,16384", "-e", "cpu-clock",
                            "-F", "2999", "-o", data, "--", *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode in (0, 1) and os.path.exists(data):
            for children, title in ((False, "self"), (True, "inclusive (children)")):
                rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                                      "--children" if children else "--no-children",
                                      "--sort", "dso,symbol" if not children else "symbol",
                                      "-g", "none", "--percent-limit", "1.5"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                out(f"-- perf (cpu-clock samples), {title}, top 30 >= 1.5%:")
                lines = [ln.rstrip(" -") for ln in rep.stdout.splitlines()
                         if ln.strip() and not ln.startswith("#")]
                for line in lines[:30]:
                    out("   " + re.sub(r"\s+-\s+-\s*$", "", line.strip()))
        else:
            out("-- perf record failed: " + r.stderr.strip()[-300:])
    if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        cg = os.path.join(args.out, "callgrind.out")
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if os.path.exists(cg):
            for incl in (False, True):
                a = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if incl else 'no'}",
                                    "--threshold=99", cg],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                lines = [ln for ln in a.stdout.splitlines() if re.match(r"^\s*[\d,]+ \(", ln)]
                out(f"-- callgrind, {'inclusive' if incl else 'self'} (instructions), top 25:")
                for ln in lines[:26]:
                    out("   " + ln.strip())
    out()


# --------------------------------------------------------------------------
# Main


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs ({cpu}); "
            f"kernel {platform.release()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def verdict(ok):
    return "met" if ok else "NOT met"


def summary(rows, livres, startres):
    out("== Targets of issues 6 and 18 (this run; 'wall' is the target's basis, 'cpu' discounts a busy machine)")
    big = rows[-1]
    r1 = next((r for r in rows if r["packets"] >= 1_000_000), big)
    (sw, lw, tw), (sc, lc, tc) = rates(r1, "wall"), rates(r1, "cpu")
    out(f"  offline >= {human(TARGET_PPS)} pps on one core ({r1['label']}): wall {human(sw)} pps,"
        f" cpu {human(sc)} pps -> {verdict(sw >= TARGET_PPS)}")
    out(f"  offline >= {TARGET_VS_PCAP:.0%} of the libpcap loop: wall {sw / lw:.1%}, cpu {sc / lc:.1%}"
        f" -> {verdict(sw / lw >= TARGET_VS_PCAP)}")
    if tw:
        fr = r1["peers"]["tshark"]["from"]
        tag = f" (tshark extrapolated from {fr})" if fr else ""
        out(f"  offline >= {TARGET_VS_TSHARK:.0f}x tshark: wall {sw / tw:.1f}x, cpu {sc / tc:.1f}x{tag}"
            f" -> {verdict(sw / tw >= TARGET_VS_TSHARK)}")
    rss = big["rss_kib"] / 1024
    out(f"  peak RSS <= {TARGET_RSS_MIB} MiB at {big['label']}: {rss:.1f} MiB -> {verdict(rss <= TARGET_RSS_MIB)}")
    ref = next((r for r in rows if r["packets"] >= 100_000), None)
    if ref and ref is not big:
        g = (big["rss_kib"] - ref["rss_kib"]) / ref["rss_kib"]
        out(f"  RSS flat {ref['label']} -> {big['label']}: {g:+.0%} -> {verdict(abs(g) <= 0.10)}"
            " (flat taken as within 10%)")
    if startres and "tcpdump -r" in startres:
        s, t = startres["sipauthmon"], startres["tcpdump -r"]
        xw, xc = s["wall"] / t["wall"], s["cpu"] / max(t["cpu"], 1e-9)
        out(f"  small file within {TARGET_STARTUP_X:.0f}x of tcpdump -r: median wall {xw:.2f}x,"
            f" cpu {xc:.2f}x -> {verdict(xw <= TARGET_STARTUP_X)}")
    if startres:
        rss = startres["sipauthmon"]["rss"]
        out(f"  small file peak RSS <= {TARGET_STARTUP_RSS_MIB} MiB: {rss:.1f} MiB"
            f" -> {verdict(rss <= TARGET_STARTUP_RSS_MIB)}")
    for lr in livres or []:
        top = lr["topspeed"]
        ok = top["clean"] and top["send_pps"] >= TARGET_LIVE_PPS
        out(f"  live --workers {lr['workers']}: zero drops at tcpreplay's highest rate, >= "
            f"{human(TARGET_LIVE_PPS)} pps: topspeed {human(top['send_pps'])} pps "
            f"{'clean' if top['clean'] else 'with losses'}, highest clean rate found "
            f"{human(lr['best_clean'])} pps -> {verdict(ok)}")
        if lr.get("latency"):
            p99 = lr["latency"]["p99"]
            out(f"  latency p99 <= {TARGET_P99_MS} ms: {p99:.1f} ms -> {verdict(p99 <= TARGET_P99_MS)}")
    if not livres:
        out("  live and latency: not measured in this run")


def main(argv):
    ap = argparse.ArgumentParser(description="sipauthmon benchmark (bench/README.md)")
    ap.add_argument("--smoke", action="store_true", help="10k workload, offline figures only")
    ap.add_argument("--sizes", default="10k,100k,1M,2M")
    ap.add_argument("--sipauthmon", help="use this executable (no build)")
    ap.add_argument("--pcap-loop", help="use this pcap_loop executable (no build)")
    ap.add_argument("--rusage-exec", help="bench/rusage_exec (default: next to pcap_loop)")
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build-bench"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="workload cache (bench/out)")
    ap.add_argument("--repeat", type=int, default=0, help="offline runs per size (best is kept)")
    ap.add_argument("--cpu", type=int, default=-2,
                    help="CPU to pin offline runs to (default: the last one allowed; -1: no pinning)")
    ap.add_argument("--tshark-max", default="100k", choices=list(SIZES),
                    help="largest size tshark, sipgrep and sngrep run on (larger: extrapolated)")
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--no-peers", action="store_true", help="no sipgrep and sngrep")
    ap.add_argument("--no-startup", action="store_true", help="no small-file start-up figures")
    ap.add_argument("--small", help="capture for the start-up figures (default: the 72-packet"
                    " tests/golden/captures/mixed-sample.pcap)")
    ap.add_argument("--startup-runs", type=int, default=0, help="runs per command (20; smoke 5)")
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--live-size", default="1M", choices=list(SIZES))
    ap.add_argument("--live-seconds", type=float, default=4.0)
    ap.add_argument("--live-rates", default="50000,100000,200000")
    ap.add_argument("--live-runs", type=int, default=9, help="live runs at most (bisection budget)")
    ap.add_argument("--workers", default="1,2",
                    help="--workers values for the live runs and the offline scaling table")
    ap.add_argument("--latency-pps", type=int, default=50_000)
    ap.add_argument("--latency-only", action="store_true", help="only the live latency part")
    ap.add_argument("--profile", action="store_true", help="also run perf and callgrind on 100k")
    args = ap.parse_args(argv[1:])
    # meson test sets MALLOC_PERTURB_: glibc would then fill every block it
    # hands out, touching memory a normal run never touches (bench-smoke's
    # start-up figures doubled). Figures are taken without it.
    os.environ.pop("MALLOC_PERTURB_", None)
    allowed = sorted(os.sched_getaffinity(0))
    if args.cpu == -2:
        args.cpu = allowed[-1]
    elif args.cpu not in allowed:
        args.cpu = None
    args.live_rates = [int(x) for x in args.live_rates.split(",") if x]
    args.workers = [int(x) for x in args.workers.split(",") if x]
    sizes = ["10k"] if args.smoke else [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES:
            ap.error(f"unknown size {s} (one of {', '.join(SIZES)})")
    os.makedirs(args.out, exist_ok=True)

    global RUSAGE_EXEC
    if args.sipauthmon and args.pcap_loop:
        exes = {"sipauthmon": os.path.abspath(args.sipauthmon), "pcap_loop": os.path.abspath(args.pcap_loop)}
        bt = "given executables"
    else:
        exes, bt = build(args.build_dir)
    ru = args.rusage_exec or os.path.join(os.path.dirname(exes["pcap_loop"]), "rusage_exec")
    if os.access(ru, os.X_OK):
        RUSAGE_EXEC = ru
    else:
        log(f"warning: {ru} not built: peak RSS figures include the Python runner's own")
    ver = subprocess.run([exes["sipauthmon"], "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()

    files = [(s, *workload(args.out, f"mix-{s}", SIZES[s])) for s in sizes]
    out(f"sipauthmon benchmark — {ver} ({bt})")
    out(f"machine: {machine()}")
    m0 = files[0][2]
    out(f"workload: bench/gen_workload.py seed {m0['seed']}, {human(m0['rate_pps'])} pps capture rate;"
        f" packets: auth {m0['share'].get('auth', 0):.0%}, other SIP {m0['share'].get('other', 0):.0%},"
        f" RTP {m0['share'].get('rtp', 0):.0%}")
    out()
    rows, peers = offline(args, exes, files)
    print_offline(rows, args.cpu, peers)
    if not args.smoke and not args.latency_only and len(args.workers) > 1:
        offline_workers(args, exes, files)
    startres = None if args.no_startup or args.latency_only else startup(args, exes)

    livres = None
    if args.profile:
        p100 = workload(args.out, "mix-100k", SIZES["100k"])[0]
        profile(args, exes, p100)
    if args.latency_only:
        if live_prereqs():
            out(f"== Live latency: skipped ({live_prereqs()})")
            return 0
        netns_up()
        try:
            latency(args, exes)
        finally:
            netns_down()
        return 0
    if not args.smoke and not args.no_live:
        lpath, lmeta = workload(args.out, f"mix-{args.live_size}", SIZES[args.live_size])
        livres = []
        for i, w in enumerate(args.workers):
            lr = live(args, exes, lpath, lmeta, w, with_latency=i == 0)
            if lr:
                livres.append(lr)
        if livres and livres[0].get("latency") is None and not args.no_latency:
            out("== Live latency: no figures")
    if args.smoke:
        out("(smoke run: a 10k file is dominated by start-up costs; no target is judged)")
    else:
        summary(rows, livres, startres)
    out(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        netns_down() if os.geteuid() == 0 else None
        sys.exit(130)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""
The live service against a real systemd-journald, a NOTIFY_SOCKET this test
binds, and real frames on a veth pair in a network namespace it creates
(issue 4, DESIGN.md "Data flow"; recipe: shared/recipes/journald-in-tests.md).

  1. startup: READY=1, STATUS= at once and again every few seconds,
     WATCHDOG=1 at WATCHDOG_USEC/2; started as root it runs as an
     unprivileged user after opening the capture, also with INVOCATION_ID
     in its environment (anyone can set it), and holds no capability.
  2. traffic from a real sender (tcpreplay, else a raw socket) on the peer of
     the captured veth: one wrong-password journal entry whose SIP_* fields
     equal the JSON record of the same capture read with -r (times: recent).
  3. SIGUSR1: one journal entry "counters: ..." with SIPAUTHMON_* fields.
  4. SIGHUP with a good configuration (credentials added): RELOADING=1, then
     READY=1 with STATUS "reloaded"; with a bad drop-in: RELOADING=1, READY=1,
     STATUS and stderr name the drop-in and line, capture goes on.
  5. SIGTERM under load (a large capture replayed in a loop): STOPPING=1, exit
     0/1 within a second, every diagnosis counted is whole in the journal.
  6. CAP_NET_RAW is given up once capturing, by every thread: started as an
     unprivileged user with CAP_NET_RAW as an ambient capability (what the
     units do) and as root with --user root; neither is dumpable. The
     captured interface is deleted (resp. set down): the daemon writes what
     it diagnosed, says why on stderr and in STATUS, and exits with status 2
     for Restart= to open the capture again.
  7. --hep-listen alone: no capture; the same exchange sent as HEPv3 over
     UDP is diagnosed.
  8. -r (a capture file) is not dumpable either.

usage: test_service.py --sipauthmon PATH   (exit 0 pass, 1 fail, 77 skip)
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
JOURNALD = "/lib/systemd/systemd-journald"
JOURNALD_CONF = os.path.join(SRCDIR, "tests", "journal", "journald-test.conf")
CAPTURES = os.path.join(SRCDIR, "tests", "golden", "captures")
WRONG_PASSWORD = os.path.join(CAPTURES, "wrong-password.pcap")
# JSON keys without a SIP_* journal field (DESIGN.md "Output schema" against
# its journald list): PRIORITY, MESSAGE and MESSAGE_ID stand for the first
# three, SIP_CLIENT and SIP_SERVER hold the structured endpoints.
JSON_ONLY_KEYS = {"severity", "message", "message_id", "client_ip", "client_port", "server_ip",
                  "server_port"}
# Ethernet captures replayed in a loop for the stop-under-load case.
LOAD_CAPTURES = ["rate-limited.pcap", "mixed-sample.pcap", "credential-guessing.pcap",
                 "account-scan.pcap"]



CHECKS = Checks(show_passed=True)
check = CHECKS.check


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---- helpers ----------------------------------------------------------------------------------

class Notify:
    """An AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        # The daemon may have dropped to an unprivileged user by the time it writes.
        os.chmod(path, 0o777)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {key: value})
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            kv = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    kv[k] = v
            with self.lock:
                self.messages.append((time.monotonic(), kv))

    def since(self, t0=0.0):
        with self.lock:
            return [(t, kv) for t, kv in self.messages if t >= t0]

    def wait(self, pred, timeout, t0=0.0):
        """First message after t0 for which pred(kv) holds, or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, kv in self.since(t0):
                if pred(kv):
                    return t, kv
            time.sleep(0.05)
        return None

    def close(self):
        self.done = True
        self.thread.join(timeout=2)
        self.sock.close()


def read_pcap(path):
    """Frames of a classic pcap file (either byte order, µs or ns)."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + incl])
        off += incl
    return frames


RAW_SENDER = (
    "import socket,sys,time\n"
    "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
    "s.bind((sys.argv[1],0))\n"
    "data=sys.stdin.buffer.read()\n"
    "loops=int(sys.argv[2]); gap=float(sys.argv[3])\n"
    "while True:\n"
    "    off=0\n"
    "    while off<len(data):\n"
    "        n=int.from_bytes(data[off:off+4],'big'); off+=4\n"
    "        s.send(data[off:off+n]); off+=n\n"
    "        if gap: time.sleep(gap)\n"
    "    loops-=1\n"
    "    if loops==0: break\n"
)


class Net:
    def __init__(self, ns):
        self.ns = ns
        self.nsx = ["ip", "netns", "exec", ns]
        self.tcpreplay = shutil.which("tcpreplay")

    def sh(self, *cmd):
        r = run(self.nsx + list(cmd))
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))

    def veth(self, a, b):
        self.sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        self.sh("ip", "link", "set", a, "up")
        self.sh("ip", "link", "set", b, "up")

    def send(self, iface, pcaps, loops=1, background=False):
        """Replay the frames of pcaps out of iface (a real sender: tcpreplay)."""
        if self.tcpreplay:
            cmd = self.nsx + [self.tcpreplay, "-q", "-i", iface]
            cmd += ["--topspeed", "--preload-pcap", "--loop=%d" % loops] if background \
                else ["--pps=200"]
            cmd += pcaps
            if background:
                return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r = run(cmd, timeout=60)
            if r.returncode != 0:
                raise RuntimeError("tcpreplay: " + r.stderr.strip())
            return None
        blob = b"".join(len(f).to_bytes(4, "big") + f for p in pcaps for f in read_pcap(p))
        cmd = self.nsx + [sys.executable, "-c", RAW_SENDER, iface, str(loops),
                          "0" if background else "0.005"]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        p.stdin.write(blob)
        p.stdin.close()
        if background:
            return p
        p.wait(timeout=60)
        return None


def journal(jdir, pid=None):
    run(["journalctl", "--sync"])
    cmd = ["journalctl", "-D", jdir, "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=sipauthmon"]
    if pid:
        cmd.append("_PID=%d" % pid)
    r = run(cmd)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def wait_journal(jdir, pid, pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        hits = [e for e in journal(jdir, pid) if pred(e)]
        if hits:
            return hits
        time.sleep(0.3)
    return []


def escape_text(s):
    """What daemon/escape.c does to a (valid UTF-8) value (see tests/journal)."""
    unsafe = set(range(0x80, 0xA0)) | {0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0xFEFF}
    unsafe |= set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif o < 0x20 or o == 0x7F or o in unsafe:
            out.append("".join("\\x%02x" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def uid_of(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    except OSError:
        return None
    return None


CAP_NET_ADMIN, CAP_NET_RAW = 12, 13


def caps_of(pid):
    """{"CapEff": [mask per thread], ...} for every thread of pid."""
    caps = {}
    for task in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            lines = open(task).read().splitlines()
        except OSError:
            continue
        for line in lines:
            k, _, v = line.partition(":")
            if k.startswith("Cap"):
                caps.setdefault(k, []).append(int(v.strip(), 16))
    return caps


def check_no_capture_caps(pid, what, bounding):
    """CAP_NET_RAW and CAP_NET_ADMIN are in no set of any thread (nor in the
    bounding set when the process could drop it: root)."""
    caps = caps_of(pid)
    sets = ["CapEff", "CapPrm", "CapInh", "CapAmb"] + (["CapBnd"] if bounding else [])
    mask = (1 << CAP_NET_RAW) | (1 << CAP_NET_ADMIN)
    check(len(caps.get("CapEff", [])) >= 2 and all(k in caps for k in sets)
          and not any(m & mask for k in sets for m in caps[k]),
          "%s: CAP_NET_RAW/CAP_NET_ADMIN given up by every thread (%s)" % (what, "/".join(sets)),
          {k: ["%x" % m for m in v] for k, v in caps.items()})


def not_dumpable(pid, uid):
    """/proc/PID belongs to root when the process is not dumpable; as long
    as the process runs as another uid, that tells the two apart."""
    try:
        return os.stat("/proc/%d/status" % pid).st_uid == 0 and uid != 0
    except OSError:
        return False


def unprivileged_uid():
    """The uid the daemon drops to when started as root: its default user."""
    nobody = run(["id", "-u", "nobody"]).stdout.strip()
    return int(run(["id", "-u", "sipauthmon"]).stdout.strip() or nobody or "65534")


def stats_of(text):
    st = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9_.]+)\s+(\d+)$", line)
        if m:
            st[m.group(1)] = int(m.group(2))
    return st


# ---- the scenarios -----------------------------------------------------------------------------

def main_instance(exe, net, T, jdir):
    """Cases 1-5 on one daemon that drops privileges."""
    ref = run([exe, "-r", WRONG_PASSWORD, "-o", "json"])
    check(ref.returncode == 1, "reference -r wrong-password.pcap exits 1", ref.stderr)
    ref_rec = json.loads(ref.stdout.splitlines()[0]) if ref.stdout.strip() else {}
    nframes = len(read_pcap(WRONG_PASSWORD))

    conf = os.path.join(T, "sipauthmon.conf")
    dropins = conf + ".d"
    os.mkdir(dropins)
    os.chmod(dropins, 0o755)
    with open(conf, "w") as f:
        f.write("[sipauthmon]\nthreshold = 3\nwindow = 300\n")
    os.chmod(conf, 0o644)
    creds = os.path.join(T, "credentials")
    shutil.copy(os.path.join(SRCDIR, "tests", "fixtures", "credentials.txt"), creds)
    os.chmod(creds, 0o600)
    drop_uid = unprivileged_uid()
    os.chown(creds, drop_uid, -1)  # readable after the privilege drop, by it alone

    notify = Notify(os.path.join(T, "notify.sock"))
    # INVOCATION_ID proves nothing (anyone can set it): the drop happens all the same.
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="600000",
               INVOCATION_ID="0123456789abcdef0123456789abcdef")
    for k in ("JOURNAL_STREAM", "WATCHDOG_PID"):
        env.pop(k, None)
    err_path = os.path.join(T, "main.stderr")
    errf = open(err_path, "w")
    t_start = time.monotonic()
    p = subprocess.Popen(net.nsx + [exe, "-i", "svc0", "-o", "journal", "-c", conf, "--stats"],
                         stdout=subprocess.PIPE, stderr=errf, env=env)
    try:
        # 1. startup
        ready = notify.wait(lambda kv: kv.get("READY") == "1", 10)
        check(ready is not None, "READY=1 once the capture is open")
        if ready is None:
            return
        t_ready = ready[0]
        check("capturing on svc0" in ready[1].get("STATUS", ""),
              "READY=1 comes with STATUS=capturing on svc0", ready[1])
        check(uid_of(p.pid) == [drop_uid] * 4,
              "started as root with INVOCATION_ID set: runs as uid %d after opening" % drop_uid,
              uid_of(p.pid))
        check_no_capture_caps(p.pid, "started as root", bounding=True)
        check(not_dumpable(p.pid, drop_uid), "started as root: not dumpable")
        time.sleep(1.6)
        wd = [t for t, kv in notify.since(t_ready) if kv.get("WATCHDOG") == "1"]
        check(len(wd) >= 3, "WATCHDOG=1 every WATCHDOG_USEC/2 (%d in 1.6 s)" % len(wd))
        periodic = notify.wait(lambda kv: "STATUS" in kv and "READY" not in kv, 8, t_ready + 0.1)
        check(periodic is not None and "packets" in periodic[1]["STATUS"],
              "periodic STATUS= with counters", periodic)

        # 2. traffic from a real sender
        net.send("svc1", [WRONG_PASSWORD])
        hits = wait_journal(jdir, p.pid, lambda e: e.get("SIP_DIAGNOSIS") == "wrong-password", 10)
        check(len(hits) == 1, "one wrong-password journal entry from live capture", len(hits))
        if hits:
            e = hits[0]
            # JSON true/false is "yes"/"no" in the journal (SIP_SOURCE_VERIFIED).
            want = {"SIP_" + k.upper(): ({True: "yes", False: "no"}[v] if isinstance(v, bool)
                                         else escape_text(str(v)))
                    for k, v in ref_rec.items() if k not in JSON_ONLY_KEYS}
            check(len(want) >= 10, "the reference record has the SIP fields", sorted(want))
            for k, v in want.items():
                if k in ("SIP_FIRST_SEEN", "SIP_LAST_SEEN"):
                    ok = re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e.get(k, ""))
                    check(ok is not None, "%s is a live RFC 3339 time" % k, e.get(k))
                    if ok:
                        t = time.mktime(time.strptime(e[k][:19], "%Y-%m-%dT%H:%M:%S")) \
                            - time.timezone
                        check(abs(time.time() - t) < 120, "%s is recent" % k, e[k])
                    continue
                have = e.get(k)
                if k == "SIP_EVIDENCE" and have is not None:
                    # Live pacing differs from the capture's: compare durations by form.
                    have = re.sub(r"\d+ (ms|s)\b", r"N \1", have)
                    v = re.sub(r"\d+ (ms|s)\b", r"N \1", v)
                check(have == v, "journal %s equals the -r JSON record" % k,
                      "%r != %r" % (have, v))
            extra = [k for k in e if k.startswith("SIP_") and k not in want]
            check(not extra, "no SIP_* field beyond the JSON keys", extra)
            check(e.get("PRIORITY") == "4" and len(e.get("MESSAGE_ID", "")) == 32,
                  "PRIORITY and MESSAGE_ID set", e)
            check(e.get("MESSAGE_ID") == ref_rec.get("message_id"),
                  "journal MESSAGE_ID equals the JSON message_id",
                  (e.get("MESSAGE_ID"), ref_rec.get("message_id")))

        # 3. SIGUSR1
        os.kill(p.pid, signal.SIGUSR1)
        c = wait_journal(jdir, p.pid, lambda e: e.get("MESSAGE", "").startswith("counters:"), 5)
        check(len(c) == 1, "SIGUSR1 writes one counters entry to the journal", len(c))
        if c:
            check(int(c[0].get("SIPAUTHMON_PACKETS_TOTAL", "-1")) == nframes
                  and c[0].get("SIPAUTHMON_DIAGNOSES_EMITTED") == "1"
                  and "SIPAUTHMON_RING_DROPS" in c[0]
                  and "SIPAUTHMON_CAPTURE_KERNEL_DROPS" in c[0],
                  "counters entry: packets.total=%d, diagnoses.emitted=1, drops" % nframes,
                  {k: v for k, v in c[0].items() if k.startswith("SIPAUTHMON_")})
            check("packets.total=%d" % nframes in c[0].get("MESSAGE", ""),
                  "counters are in MESSAGE too")

        # 4a. reload with a good configuration (credentials added)
        with open(conf, "a") as f:
            f.write("credentials = %s\nguess_threshold = 12\nmax_principals = 2000\n" % creds)
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGHUP)
        rl = notify.wait(lambda kv: kv.get("RELOADING") == "1", 5, t0)
        check(rl is not None and "MONOTONIC_USEC" in rl[1], "SIGHUP: RELOADING=1 (+MONOTONIC_USEC)")
        rd = notify.wait(lambda kv: kv.get("READY") == "1", 5, rl[0] if rl else t0)
        check(rd is not None and "reloaded" in rd[1].get("STATUS", "")
              and "failed" not in rd[1].get("STATUS", ""),
              "good reload: READY=1, STATUS says reloaded", rd)
        check(rd is not None and "unchanged" not in rd[1].get("STATUS", ""),
              "thresholds and limits apply at once (nothing deferred to a restart)", rd)

        # 4b. reload with a bad drop-in: reported, old configuration kept
        bad = os.path.join(dropins, "50-bad.conf")
        with open(bad, "w") as f:
            f.write("# a typo\nwindow = 300\ntreshold = 3\n")
        os.chmod(bad, 0o644)
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGHUP)
        rl = notify.wait(lambda kv: kv.get("RELOADING") == "1", 5, t0)
        rd = notify.wait(lambda kv: kv.get("READY") == "1", 5, rl[0] if rl else t0)
        status = rd[1].get("STATUS", "") if rd else ""
        check(rl is not None and rd is not None and "reload failed" in status
              and "50-bad.conf:3" in status and "treshold" in status,
              "bad reload: RELOADING=1, READY=1, STATUS names the drop-in and line", status)
        errf.flush()
        err_now = open(err_path).read()
        check(sum(1 for l in err_now.splitlines() if "reload failed" in l) == 1
              and "50-bad.conf:3" in err_now, "bad reload: one clear line on stderr", err_now)
        check(p.poll() is None, "bad reload: still running")
        before = stats_of_status(status)
        net.send("svc1", [WRONG_PASSWORD])
        time.sleep(1.0)
        os.kill(p.pid, signal.SIGUSR1)
        c = wait_journal(jdir, p.pid, lambda e: e.get("MESSAGE", "").startswith("counters:")
                         and e.get("SIPAUTHMON_SERVICE_RELOAD_FAILURES") == "1", 5)
        check(bool(c) and int(c[-1].get("SIPAUTHMON_PACKETS_TOTAL", 0)) == 2 * nframes
              and c[-1].get("SIPAUTHMON_SERVICE_RELOADS") == "2",
              "capture goes on after the bad reload (2 reloads, 1 failed)",
              c[-1] if c else before)
        os.unlink(bad)

        # 5. SIGTERM under load
        loader = net.send("svc1", [os.path.join(CAPTURES, c) for c in LOAD_CAPTURES],
                          loops=0, background=True)
        time.sleep(2.0)
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        took = time.monotonic() - t0
        loader.kill()
        loader.wait()
        check(p.returncode in (0, 1) and took < 1.0,
              "SIGTERM under load: exit 0/1 within a second (%.2f s, rc %s)" % (took, p.returncode))
        check(notify.wait(lambda kv: kv.get("STOPPING") == "1", 1, t0) is not None,
              "STOPPING=1 on SIGTERM")
        errf.close()
        err = open(err_path).read()
        st = stats_of(err)
        check(st.get("packets.total", 0) > 10 * nframes,
              "the load reached the daemon (%s packets)" % st.get("packets.total"))
        diags = [e for e in journal(jdir, p.pid) if "SIP_DIAGNOSIS" in e]
        whole = all(e.get("MESSAGE") and len(e.get("MESSAGE_ID", "")) == 32
                    and e.get("PRIORITY") and e.get("SIP_DIAGNOSIS") for e in diags)
        check(len(diags) == st.get("diagnoses.emitted", -1) and whole,
              "every diagnosis counted is whole in the journal (%d entries, %s counted)"
              % (len(diags), st.get("diagnoses.emitted")))
        print("     under load: %s packets, ring drops %s, kernel drops %s, ring high water %s B"
              % (st.get("packets.total"), st.get("ring.drops"), st.get("capture.kernel_drops"),
                 st.get("ring.high_water_bytes")))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        notify.close()


def stats_of_status(status):
    m = re.search(r"(\d+) packets", status)
    return int(m.group(1)) if m else None


def lost_instance(exe, net, T, drop_uid):
    """Case 6. One daemon as the units start it (an unprivileged uid with
    CAP_NET_RAW as an ambient capability), whose interface is deleted after
    it diagnosed some traffic; one as root with --user root, whose interface
    goes down. Both give CAP_NET_RAW up once capturing and exit with status 2
    when the capture is lost: they cannot reopen it."""
    setpriv = shutil.which("setpriv")
    if not check(setpriv is not None, "setpriv (util-linux) is installed"):
        return
    cases = [
        ("svc2", "svc3", "ip link del", [setpriv, "--reuid=%d" % drop_uid, "--regid=%d" % drop_uid,
                                         "--clear-groups", "--inh-caps=+net_raw",
                                         "--ambient-caps=+net_raw", "--"], drop_uid),
        ("svc4", "svc5", "ip link set down", ["env"], 0),
    ]
    for iface, peer, how, prefix, uid in cases:
        notify = Notify(os.path.join(T, "notify-%s.sock" % iface))
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        for k in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC"):
            env.pop(k, None)
        user = [] if uid else ["--user", "root"]
        what = "as uid %d with ambient CAP_NET_RAW" % uid if uid else "as root, --user root"
        p = subprocess.Popen(net.nsx + prefix + [exe, "-i", iface, "-o", "json", "--stats"] + user,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            ready = notify.wait(lambda kv: kv.get("READY") == "1", 10)
            check(ready is not None, "%s: READY=1" % what)
            if not ready:
                continue
            check(uid_of(p.pid) == [uid] * 4, "%s: runs as uid %d" % (what, uid), uid_of(p.pid))
            check_no_capture_caps(p.pid, what, bounding=uid == 0)
            if uid:
                check(not_dumpable(p.pid, uid), "%s: not dumpable" % what)
            if how == "ip link del":
                net.send(peer, [WRONG_PASSWORD])
                time.sleep(0.5)
            t0 = time.monotonic()
            net.sh(*(how.split() + [iface] if how == "ip link del" else
                     ["ip", "link", "set", iface, "down"]))
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            took = time.monotonic() - t0
            if not check(p.poll() is not None, "%s: %s %s: the daemon exits" % (what, how, iface)):
                continue
            out, err = p.communicate(timeout=5)
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
            lines = [l for l in err.splitlines() if l.startswith("sipauthmon:")]
            check(p.returncode == 2 and took < 3,
                  "%s: %s %s: exit status 2 within 3 s (rc %s, %.1f s)"
                  % (what, how, iface, p.returncode, took))
            want = "disappeared" if how == "ip link del" else "went down"
            check(any(re.match(r"sipauthmon: capture on %s lost: %s: .*%s.*; exiting: a restart "
                               r"reopens it$" % (iface, iface, want), l) for l in lines),
                  "%s: stderr says the capture on %s was lost and why" % (what, iface), lines)
            lost = notify.wait(lambda kv: "lost" in kv.get("STATUS", ""), 1, t0)
            check(lost is not None and "capture on %s lost" % iface in lost[1]["STATUS"],
                  "%s: STATUS says the capture was lost" % what, lost)
            st = stats_of(err)
            check(st.get("capture.losses") == 1, "%s: --stats capture.losses 1" % what,
                  {k: v for k, v in st.items() if k.startswith("capture.")})
            if how == "ip link del":
                recs = [json.loads(l) for l in out.splitlines() if l.strip()]
                check([r.get("diagnosis") for r in recs] == ["wrong-password"],
                      "%s: what was diagnosed before the loss is written" % what, out[:300])
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
            notify.close()


def offline_not_dumpable(exe, uid):
    """Every mode is not dumpable from the start: -r - as an unprivileged
    user (no uid change that would reset the flag), waiting on its input."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return
    p = subprocess.Popen([setpriv, "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
                          exe, "-r", "-", "-o", "json"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not (uid_of(p.pid) == [uid] * 4
                                              and open("/proc/%d/comm" % p.pid).read().strip()
                                              == "sipauthmon"):
            time.sleep(0.02)
        time.sleep(0.1)
        check(not_dumpable(p.pid, uid), "-r - as uid %d: not dumpable" % uid)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def hep3(frame):
    """The UDP payload of an Ethernet/IPv4/UDP frame as a HEPv3 packet (the
    chunks Kamailio siptrace sends: family, protocol, addresses, ports, time,
    protocol type SIP, capture id, payload)."""
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    src, dst = ip[12:16], ip[16:20]
    sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
    payload = ip[ihl + 8:ihl + ulen]
    now = time.time()

    def chunk(t, data):
        return struct.pack("!HHH", 0, t, 6 + len(data)) + data
    body = (chunk(1, b"\x02") + chunk(2, b"\x11") + chunk(3, src) + chunk(4, dst)
            + chunk(7, struct.pack("!H", sport)) + chunk(8, struct.pack("!H", dport))
            + chunk(9, struct.pack("!I", int(now))) + chunk(10, struct.pack("!I", int(now % 1 * 1e6)))
            + chunk(11, b"\x01") + chunk(12, struct.pack("!I", 2001)) + chunk(15, payload))
    return b"HEP3" + struct.pack("!H", 6 + len(body)) + body


def hep_only_instance(exe, T):
    """--hep-listen alone (no capture): READY=1 with the bound port in STATUS,
    then the wrong-password exchange sent as HEPv3 over UDP is diagnosed."""
    notify = Notify(os.path.join(T, "notify3.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    for k in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC"):
        env.pop(k, None)
    p = subprocess.Popen([exe, "--hep-listen", "127.0.0.1:0", "-o", "json", "--stats"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        ready = notify.wait(lambda kv: kv.get("READY") == "1", 5)
        status = ready[1].get("STATUS", "") if ready else ""
        m = re.search(r"listening for HEP on 127\.0\.0\.1:(\d+)", status)
        check(m is not None and m.group(1) != "0",
              "--hep-listen alone: READY=1, STATUS names the bound port", status)
        if not m:
            return
        port = int(m.group(1))
        frames = read_pcap(WRONG_PASSWORD)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for f in frames:
                s.sendto(hep3(f), ("127.0.0.1", port))
                time.sleep(0.005)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        st = stats_of(err)
        recs = [json.loads(l) for l in out.splitlines() if l.strip()]
        check(p.returncode == 1 and [r.get("diagnosis") for r in recs] == ["wrong-password"],
              "HEP only: the exchange sent as HEPv3 is diagnosed (wrong-password, exit 1)",
              "rc=%s out=%r err=%r" % (p.returncode, out[:300], err[-300:]))
        check(st.get("hep_listener.packets") == len(frames) and st.get("hep.ok") == len(frames)
              and "capture.received" not in st and "ring.drops" not in st,
              "HEP only: hep_listener.packets = hep.ok = %d, no capture counters" % len(frames),
              {k: v for k, v in st.items() if k.startswith("hep")})
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        notify.close()


# ---- namespace set-up --------------------------------------------------------------------------

def inner(exe, T):
    """Runs in a private mount namespace: a private journald, then the cases."""
    jdir = os.path.join(T, "journal")
    os.makedirs(jdir)
    for cmd in (["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"],
                ["mount", "-t", "tmpfs", "tmpfs", "/run/log"],
                ["mkdir", "/run/log/journal"],
                ["mount", "--bind", jdir, "/run/log/journal"],
                ["mount", "--bind", JOURNALD_CONF, "/etc/systemd/journald.conf"]):
        r = run(cmd)
        if r.returncode != 0:
            print("set-up failed: %s: %s" % (" ".join(cmd), r.stderr.strip()), file=sys.stderr)
            return 1
    jd = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ns = "smsvc%d" % os.getpid()
    try:
        for _ in range(100):
            if os.path.exists("/run/systemd/journal/socket"):
                break
            time.sleep(0.05)
        else:
            print("private journald did not start", file=sys.stderr)
            return 1
        r = run(["ip", "netns", "add", ns])
        if r.returncode != 0:
            print("SKIP: ip netns add: " + r.stderr.strip())
            return 77
        net = Net(ns)
        net.sh("ip", "link", "set", "lo", "up")
        net.veth("svc0", "svc1")
        net.veth("svc2", "svc3")
        net.veth("svc4", "svc5")
        print("sender:", net.tcpreplay or "python raw socket (tcpreplay not installed)")
        if not net.tcpreplay and os.environ.get("CI") == "true":
            print("FAIL: tcpreplay (.ci/packages) is not installed under CI=true")
            return 1
        main_instance(exe, net, T, jdir)
        lost_instance(exe, net, T, unprivileged_uid())
        offline_not_dumpable(exe, unprivileged_uid())
        hep_only_instance(exe, T)
    finally:
        run(["ip", "netns", "delete", ns])
        jd.terminate()
        try:
            jd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            jd.kill()
    if CHECKS.failed:
        print("%d check(s) failed" % CHECKS.failed, file=sys.stderr)
        return 1
    print("service: all checks passed")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", default=os.environ.get("SIPAUTHMON"))
    ap.add_argument("--inner", metavar="TMPDIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.sipauthmon:
        print("usage: test_service.py --sipauthmon PATH", file=sys.stderr)
        return 1
    exe = os.path.abspath(args.sipauthmon)
    if args.inner:
        return inner(exe, args.inner)

    if not os.access(exe, os.X_OK):
        print("%s: not executable" % exe, file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        skip("needs root (network namespace, private mount namespace)")
    for tool in ("unshare", "journalctl", "ip"):
        if not shutil.which(tool):
            skip(tool + " missing")
    if not os.access(JOURNALD, os.X_OK):
        skip(JOURNALD + " missing")
    if not (os.path.isdir("/run/log") and os.path.isfile("/etc/systemd/journald.conf")):
        skip("/run/log or /etc/systemd/journald.conf missing (mount points)")
    if run(["unshare", "-m", "--propagation", "private", "true"]).returncode != 0:
        skip("unshare -m not permitted here")
    if not os.path.exists(WRONG_PASSWORD):
        skip(WRONG_PASSWORD + " missing")

    T = tempfile.mkdtemp(prefix="sipauthmon-service-")
    # The daemon drops to an unprivileged user: it must reach the notify socket.
    os.chmod(T, 0o755)
    try:
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__), "--sipauthmon", exe, "--inner", T])
        return r.returncode
    finally:
        shutil.rmtree(T, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

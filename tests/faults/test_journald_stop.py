#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""journald stopped in the middle of a run (issue 7, item 4).

    test_journald_stop.py --sipauthmon PATH

In a private mount namespace (as tests/journal/test-journal.sh does: tmpfs
over /run/systemd and /run/log, volatile storage bound onto a temporary
directory, tests/journal/journald-test.conf) a private systemd-journald
runs, and `sipauthmon -r - -o journal --max-records-per-minute 0` reads the
golden rate-limited capture (80 wrong-password records) from a pipe:

  1. the first half of the capture's packets is written; once the journal
     has stopped growing, journald is killed (SIGKILL);
  2. the second half is written and the pipe closed.

Checks: sipauthmon exits within 10 s of end of input (it never blocks on
the dead socket), with status 1 and not by a signal; no sanitizer report;
exactly one warning line about journald on stderr; every record is either
in the journal (before the kill) or on stderr as text (after it): journal +
stderr = the 80 records of a -o json reference run, each user once, and
both parts are non-empty.

Exit: 0 pass, 1 fail, 77 skip (not root, no unshare/journald).
Standard library only.
"""

import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(HERE))
CAPTURE = os.path.join(SRCDIR, "tests", "golden", "captures", "rate-limited.pcap")
CONF = os.path.join(SRCDIR, "tests", "journal", "journald-test.conf")
JOURNALD = "/lib/systemd/systemd-journald"
SANITIZER_RE = re.compile(rb"ERROR: \w*Sanitizer|runtime error: |SUMMARY: \w*Sanitizer")


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def pcap_split(data):
    """(header, [record bytes]) of a classic little-endian pcap."""
    hdr, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        recs.append(data[off:off + 16 + incl])
        off += 16 + incl
    return hdr, recs


def journal_users(jdir):
    r = subprocess.run(["journalctl", "-D", jdir, "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=sipauthmon"],
                       capture_output=True)
    out = []
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.strip():
            e = json.loads(line)
            if e.get("SIP_DIAGNOSIS"):
                out.append(e.get("SIP_USER"))
    return out


def inner(exe, tmp):
    """Runs in the private mount namespace."""
    jdir = os.path.join(tmp, "journal")
    os.makedirs(jdir)
    for cmd in (["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], ["mount", "-t", "tmpfs", "tmpfs", "/run/log"],
                ["mkdir", "/run/log/journal"], ["mount", "--bind", jdir, "/run/log/journal"],
                ["mount", "--bind", CONF, "/etc/systemd/journald.conf"]):
        subprocess.run(cmd, check=True)
    jlog = open(os.path.join(tmp, "journald.log"), "wb")
    jd = subprocess.Popen([JOURNALD], stdout=jlog, stderr=jlog)
    result = {}
    try:
        for _ in range(200):
            if os.path.exists("/run/systemd/journal/socket"):
                break
            time.sleep(0.05)
        else:
            raise SystemExit("private journald did not start")
        hdr, recs = pcap_split(open(CAPTURE, "rb").read())
        half = len(recs) // 2
        err = open(os.path.join(tmp, "stderr"), "wb")
        p = subprocess.Popen([exe, "-r", "-", "-o", "journal", "--max-records-per-minute", "0"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        p.stdin.write(hdr + b"".join(recs[:half]))
        p.stdin.flush()
        # wait until everything sent so far is in the journal
        last, stable_since = -1, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            n = len(journal_users(jdir))
            if n != last:
                last, stable_since = n, time.monotonic()
            elif n > 0 and time.monotonic() - stable_since > 0.7:
                break
            time.sleep(0.1)
        result["before_kill"] = last
        jd.send_signal(signal.SIGKILL)
        jd.wait()
        p.stdin.write(b"".join(recs[half:]))
        p.stdin.close()
        t0 = time.monotonic()
        try:
            out = p.stdout.read()
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "timeout"
            out = b""
        result.update(rc=rc, seconds=round(time.monotonic() - t0, 2), stdout=len(out))
        result["journal"] = journal_users(jdir)
    finally:
        if jd.poll() is None:
            jd.kill()
            jd.wait()
    with open(os.path.join(tmp, "result.json"), "w") as f:
        json.dump(result, f)
    return 0


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--inner", metavar="TMP")
    args = ap.parse_args(argv[1:])
    exe = os.path.abspath(args.sipauthmon)
    if args.inner:
        return inner(exe, args.inner)

    if os.geteuid() != 0:
        skip("needs root for a private mount namespace")
    for tool in ("unshare", "journalctl", "mount"):
        if not shutil.which(tool):
            skip(f"{tool} missing")
    if not os.access(JOURNALD, os.X_OK):
        skip(f"{JOURNALD} missing")
    if not (os.path.isdir("/run/log") and os.path.isfile("/etc/systemd/journald.conf")):
        skip("/run/log or /etc/systemd/journald.conf missing (mount points)")
    if subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True).returncode:
        skip("unshare -m not permitted here")
    if not os.path.exists(CAPTURE):
        skip(f"{CAPTURE} missing")

    ref = subprocess.run([exe, "-r", CAPTURE, "-o", "json", "--max-records-per-minute", "0"],
                         capture_output=True, timeout=60)
    want = sorted(json.loads(l)["user"] for l in ref.stdout.decode().splitlines() if l.strip())

    tmp = tempfile.mkdtemp(prefix="sipauthmon-jstop.")
    failures = []
    try:
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                            "--sipauthmon", exe, "--inner", tmp], capture_output=True, timeout=120)
        if r.returncode != 0:
            print(r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"), file=sys.stderr)
            print("FAIL: the namespace run failed", file=sys.stderr)
            return 1
        res = json.load(open(os.path.join(tmp, "result.json")))
        err = open(os.path.join(tmp, "stderr"), "rb").read()

        def check(cond, msg):
            if not cond:
                failures.append(msg)
                print("FAIL:", msg, file=sys.stderr)

        check(len(want) == 80, f"reference run gave {len(want)} records, want 80")
        check(res["rc"] == 1, f"exit status {res['rc']} (want 1; 'timeout' = blocked, negative = signal)")
        check(res["seconds"] < 10, f"took {res['seconds']} s after end of input")
        check(res["stdout"] == 0, "wrote to stdout")
        check(not SANITIZER_RE.search(err), "sanitizer report on stderr")
        lines = err.decode(errors="replace").splitlines()
        warn = [l for l in lines if "journald" in l]
        check(len(warn) == 1 and "warning" in warn[0], f"want exactly one journald warning, got {warn}")
        text_users = [m.group(1) for l in lines for m in [re.match(r"^warning  wrong-password  (\S+)@", l)] if m]
        in_journal = res["journal"]
        check(len(in_journal) == res["before_kill"], f"journal grew after the kill: {res['before_kill']} -> {len(in_journal)}")
        check(in_journal and text_users, f"journal {len(in_journal)} / stderr {len(text_users)}: both parts must be non-empty")
        check(sorted(in_journal + text_users) == want,
              f"journal ({len(in_journal)}) + stderr ({len(text_users)}) records != the {len(want)} of the reference")
        print(f"journald killed after {len(in_journal)} records; {len(text_users)} more on stderr; "
              f"exit {res['rc']} {res['seconds']} s after end of input; warning: {warn[:1]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

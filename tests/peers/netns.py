# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers the real-peer tests share (tests/peers/run.py, real_tools.py,
ws_peer.py): processes in network namespaces, their output, sipauthmon's
JSON records. Standard library only."""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path


class Fail(Exception):
    pass


def log(*a):
    print(*a, flush=True)


def run(cmd, check=True, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise Fail("%s: exit %d: %s" % (" ".join(str(c) for c in cmd), r.returncode,
                                        r.stderr.strip()))
    return r


def nsexec(ns, *cmd):
    return ["ip", "netns", "exec", ns] + [str(c) for c in cmd]


class Proc:
    """A background process whose stdout and stderr go to files (a full pipe
    can never block it). stdin is /dev/null unless a script is given: then
    a shell feeds it (linphonec reads its password from stdin)."""

    def __init__(self, name, cmd, workdir, env=None, stdin=None):
        self.name = name
        self.out_path = workdir / (name + ".out")
        self.err_path = workdir / (name + ".err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        # A new session: stop() can end the whole group (a shell feeding
        # stdin and the tool), nothing else.
        self.p = subprocess.Popen([str(c) for c in cmd],
                                  stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  stdout=self.out, stderr=self.err, env=env,
                                  start_new_session=True)

    def stderr(self, tail=3000):
        try:
            return self.err_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stdout(self, tail=None):
        try:
            t = self.out_path.read_text(errors="replace")
        except OSError:
            return ""
        return t[-tail:] if tail else t

    def wait_stderr(self, pattern, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.stderr(100000)):
                return
            if self.p.poll() is not None:
                raise Fail("%s exited with %d before %s; stderr:\n%s" % (
                    self.name, self.p.returncode, what, self.stderr()))
            time.sleep(0.05)
        raise Fail("%s: no %s within %d s; stderr:\n%s" % (self.name, what, timeout,
                                                          self.stderr()))

    def signal_group(self, sig):
        # Only while the leader is not reaped: its pid, and so the group id,
        # cannot belong to anybody else then.
        if self.p.returncode is None:
            try:
                os.killpg(self.p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.signal_group(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.p.wait()
        # Leftovers in the namespaces go in clean_up().
        for f in (self.out, self.err):
            if not f.closed:
                f.close()
        return self.p.returncode


class Report:
    """Counts and logs the checks of a peer driver."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            log("ok   %s" % what)
        else:
            self.failed += 1
            log("FAIL %s%s" % (what, ("\n     " + detail.replace("\n", "\n     "))
                               if detail else ""))
        return ok


def parse_args(keep_help):
    """The options every peer driver takes, and the checks before anything
    runs. Returns (args, sipauthmon path, CI?, None) or, when the driver must
    stop at once, (None, None, CI?, exit status)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", default=os.environ.get("SIPAUTHMON"))
    ap.add_argument("--keep", help=keep_help)
    args = ap.parse_args()
    ci = os.environ.get("CI") == "true"
    if not args.sipauthmon:
        log("FAIL no sipauthmon (--sipauthmon or SIPAUTHMON)\n0 passed, 1 failed")
        return None, None, ci, 1
    if os.geteuid() != 0:
        if ci:
            log("FAIL needs root (network namespaces), and CI=true\n0 passed, 1 failed")
            return None, None, ci, 1
        log("SKIP: needs root (network namespaces)")
        return None, None, ci, 77
    return args, str(Path(args.sipauthmon).resolve()), ci, None


def wait_listening(ns, proto, addr, port, timeout, owner):
    """Until ss shows a socket bound to addr:port in ns (udp or tcp listen)."""
    flag = "-lnu" if proto == "udp" else "-lnt"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = run(nsexec(ns, "ss", "-H", flag), check=False).stdout
        if re.search(r"\s%s:%d\s" % (re.escape(addr), port), out):
            return
        if owner.p.poll() is not None:
            raise Fail("%s exited with %d before listening on %s %s:%d; stderr:\n%s" % (
                owner.name, owner.p.returncode, proto, addr, port, owner.stderr()))
        time.sleep(0.05)
    raise Fail("%s: not listening on %s %s:%d within %d s; stderr:\n%s" % (
        owner.name, proto, addr, port, timeout, owner.stderr()))


def parse_records(text, source):
    recs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            recs.append(json.loads(line))
        except ValueError:
            raise Fail("%s: not a JSON line: %r" % (source, line[:200]))
    return recs


def client_ip(rec):
    return rec.get("client", "").rsplit(":", 1)[0].strip("[]")


def log_tails(procs):
    """After a failure: the end of what sipauthmon and Kamailio said."""
    for p in procs:
        if p.name.startswith(("sipauthmon", "kamailio")):
            log("---- %s stderr (tail):\n%s" % (p.name, p.stderr(1500)))


def clean_up(procs, namespaces, work):
    """Stop every process, kill what still runs in our own namespaces (this
    test started it all), delete them, and the work directory unless None."""
    for p in procs:
        try:
            p.stop(signal.SIGKILL if p.p.poll() is None else signal.SIGTERM, timeout=5)
        except Exception:  # cleanup goes on whatever happened
            pass
    for ns in namespaces:
        r = run(["ip", "netns", "pids", ns], check=False)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", ns], check=False)
    if work:
        shutil.rmtree(work, ignore_errors=True)

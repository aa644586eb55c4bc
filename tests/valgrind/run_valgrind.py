#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the tests that drive the sipauthmon binary with every sipauthmon
process under valgrind memcheck (issue 7, item 3).

    run_valgrind.py --sipauthmon PATH --batch PATH --log OUT.jsonl [--suite NAME]...
    run_valgrind.py --list

The C test executables (suites unit and fuzz) run under valgrind through
`meson test --wrapper` (see .ci/run). The Python-driven suites exec the
binary themselves and take its path with --sipauthmon, so they are given a
wrapper script instead:

    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
             --show-leak-kinds=definite --log-file=LOGDIR/vg.%p
             --suppressions=tests/valgrind/sipauthmon.supp  sipauthmon ARGS...

valgrind's own report goes to a file per process, not to stderr, so the
tests see sipauthmon's stderr unchanged. A suite passes when its driver
passes AND no valgrind log shows an error or a definite leak (every log is
checked: a process whose exit status a test ignores still counts). Errors in
a log fail the suite even when its driver skipped (exit 77), and a suite
that ran no sipauthmon process under valgrind fails.

Suites: cli (tests/cli/test_cli.py without
its live-capture part, which is timing-bound), journal (tests/journal/test-journal.sh),
flood (tests/flood/test_flood.py; flood-workers: the same with --workers 3), metrics (tests/metrics/test_metrics.py without its
live part), variants and fastpath (tests/variants/run.py,
tests/fastpath/run.py, through sipauthmon-batch under valgrind, --batch; fastpath
runs every TESTLIST line both ways, so the golden driver itself is not repeated
here). The suites run one per core at a time.
--suite restricts the list; --list prints the result names.

Each result is appended to OUT.jsonl as {"name", "result", "duration"} with
result OK / FAIL / SKIP, the format of meson's testlog.json, so that .ci/run
counts it in its closing line. Exit 0 when nothing failed.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
SUPP = os.path.join(HERE, "sipauthmon.supp")

SUITES = {
    # --no-live: the live-capture part races a sender against capture start-up
    # and times SIGINT handling, which valgrind's start-up (seconds) breaks;
    # it runs natively and under ASan in the other builds.
    "cli": [sys.executable, os.path.join(SRCDIR, "tests", "cli", "test_cli.py"), "--sipauthmon", "@EXE@",
            "--no-live"],
    "journal": [os.path.join(SRCDIR, "tests", "journal", "test-journal.sh"), "@EXE@"],
    "flood": [sys.executable, os.path.join(SRCDIR, "tests", "flood", "test_flood.py"), "--sipauthmon", "@EXE@"],
    # The same flood parsed on two threads (--workers 3): the rings, the
    # packed messages and the threads' start and end under memcheck.
    "flood-workers": [sys.executable, os.path.join(SRCDIR, "tests", "flood", "test_flood.py"),
                      "--sipauthmon", "@EXE@", "--workers", "3"],
    # --metrics-file on -r runs (the formatter, the atomic write, a failed
    # write); the live part times rewrites every 20 ms, which valgrind breaks.
    "metrics": [sys.executable, os.path.join(SRCDIR, "tests", "metrics", "test_metrics.py"), "--sipauthmon",
                "@EXE@", "--no-live"],
    # Every transport variant of every golden capture (IP and TCP reassembly,
    # IPv6, VLAN, tunnels, HEP), in one sipauthmon-batch process per core.
    "variants": [sys.executable, os.path.join(SRCDIR, "tests", "variants", "run.py"), "--sipauthmon", "@EXE@",
                 "--batch", "@BATCH@"],
    # --parser fast against --parser full on every TESTLIST line (with its
    # options, against tests/golden/expected: the golden suite's runs), their
    # variants and the public corpora (not the 10k-packet workload).
    "fastpath": [sys.executable, os.path.join(SRCDIR, "tests", "fastpath", "run.py"), "--sipauthmon", "@EXE@",
                 "--batch", "@BATCH@", "--no-workload"],
}
ERR_RE = re.compile(r"ERROR SUMMARY: ([1-9]\d*) errors")
LEAK_RE = re.compile(r"definitely lost: ([1-9][\d,]*) bytes")


def valgrind_args(logdir):
    args = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--track-origins=no", f"--log-file={logdir}/vg.%p"]
    if os.path.exists(SUPP):
        args.append(f"--suppressions={SUPP}")
    return args


def write_wrapper(path, exe, logdir):
    q = " ".join("'" + a.replace("'", "'\\''") + "'" for a in valgrind_args(logdir) + [exe])
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec {q} \"$@\"\n")
    os.chmod(path, 0o755)


def run_suite(name, exe, batch_exe):
    """(result, seconds, processes, [(log, text)] with errors, driver output)."""
    tmp = tempfile.mkdtemp(prefix=f"sipauthmon-vg-{name}.")
    logdir = os.path.join(tmp, "logs")
    os.makedirs(logdir)
    wrapper = os.path.join(tmp, "sipauthmon")
    write_wrapper(wrapper, exe, logdir)
    batch = os.path.join(tmp, "sipauthmon-batch")
    write_wrapper(batch, batch_exe, logdir)
    cmd = [a.replace("@EXE@", wrapper).replace("@BATCH@", batch) for a in SUITES[name]]
    # TEST_TIME_SCALE: tests that wait for the process to be ready wait longer.
    env = dict(os.environ, SRCDIR=SRCDIR, TEST_TIME_SCALE="10")
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=3600)
    dt = time.monotonic() - t0
    logs = sorted(glob.glob(os.path.join(logdir, "vg.*")))
    bad = []
    for lg in logs:
        with open(lg, errors="replace") as f:
            text = f.read()
        if ERR_RE.search(text) or LEAK_RE.search(text):
            bad.append((lg, text))
    # Errors found fail whatever the driver said, and a suite that ran no
    # sipauthmon under valgrind proved nothing: both fail. A driver that
    # skipped (77) with clean logs is a SKIP, which .ci/run then judges.
    if bad or not logs:
        result = "FAIL"
    elif r.returncode == 77:
        result = "SKIP"
    elif r.returncode == 0:
        result = "OK"
    else:
        result = "FAIL"
    shutil.rmtree(tmp, ignore_errors=True)
    return result, dt, len(logs), bad, (r.stdout + r.stderr).decode(errors="replace")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon")
    ap.add_argument("--batch")
    ap.add_argument("--log")
    ap.add_argument("--suite", action="append")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv[1:])
    if args.list:
        print("\n".join(f"valgrind/{name}" for name in args.suite or SUITES))
        return 0
    if not (args.sipauthmon and args.batch and args.log):
        ap.error("--sipauthmon, --batch and --log are needed")
    if not shutil.which("valgrind"):
        print("valgrind missing", file=sys.stderr)
        return 1
    exe, batch_exe = os.path.abspath(args.sipauthmon), os.path.abspath(args.batch)
    names = args.suite or list(SUITES)
    # The suites are independent: one per core at a time.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        outcomes = list(pool.map(lambda n: run_suite(n, exe, batch_exe), names))
    failed = 0
    for name, (result, dt, nlogs, bad, out) in zip(names, outcomes):
        print(f"valgrind/{name}: {result} ({nlogs} sipauthmon processes, {len(bad)} with errors, "
              f"{dt:.0f} s)")
        if result == "FAIL":
            failed += 1
            print(out[-3000:], file=sys.stderr)
            for lg, text in bad[:3]:
                print(f"--- {lg}\n{text[-4000:]}", file=sys.stderr)
        with open(args.log, "a") as f:
            f.write(json.dumps({"name": f"valgrind/{name}", "result": result, "duration": round(dt, 1)}) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

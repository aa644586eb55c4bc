#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ladder golden tests: the drawing of the failing exchange in text output.

    run.py --sipauthmon PATH [--update] [--only NAME]...

tests/golden/ladder/TESTLIST names tests of tests/golden/TESTLIST (their
capture and options are taken from there). For each this runs

    sipauthmon -r captures/CAPTURE -o text --ladder OPTIONS

and checks that
  * the ladders (each record's headline, then its ladder lines) equal
    ladder/NAME.txt; a code with no single exchange (account-scan ...) has
    its headline and no ladder;
  * every ladder line is plain ASCII, at most 99 columns, and the two bars
    stand in the same columns on every line;
  * no `response=` or `cnonce=` appears at all, nor any digest response,
    cnonce or long nonce value found in the capture, nor any password or
    HA1 of a credentials file the test passes;
  * `--no-ladder` output is byte for byte the `--ladder` output without
    the ladder lines, and so is the output without either option when
    stdout is not a terminal (a pipe here);
  * JSON output with --ladder is byte for byte JSON output without it.
Then once, on a pseudo-terminal: without an option the ladder is drawn,
with --no-ladder it is not.

--update rewrites ladder/NAME.txt from the actual output when every other
check passes. Prints one line per test and ends with "N passed, N failed".
Standard library only.
"""

import argparse
import concurrent.futures
import importlib.util
import os
import pty
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.dirname(HERE)
TIMEOUT = 60

_spec = importlib.util.spec_from_file_location("golden_run", os.path.join(GOLDEN, "run.py"))
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

LEFT_BAR = 13  # column of the client's bar (0-based)
RIGHT_BAR = 98  # column of the server's bar
NO_SECRET_KEYS = re.compile(r"(?i)(?<![a-z_-])(response|cnonce)\s*=")


def is_ladder_line(line):
    return (line.startswith("  ladder ") or re.match(r"  \+\d+\.\d{3} s +\|", line) is not None
            or line.startswith(" " * LEFT_BAR + "|"))


def ladders(text):
    """Each record's headline followed by its ladder lines."""
    out = []
    for line in text.split("\n"):
        if line and not line.startswith(" "):
            out.append(line)
        elif is_ladder_line(line):
            out.append(line)
    return "".join(line + "\n" for line in out)


def without_ladders(text):
    return "".join(line + "\n" for line in text.split("\n")[:-1] if not is_ladder_line(line))


def check_lines(text):
    problems = []
    for line in text.split("\n"):
        if not is_ladder_line(line):
            continue
        if not line.isascii():
            problems.append(f"non-ASCII ladder line: {line[:60]!r}")
        if len(line) > RIGHT_BAR + 1:
            problems.append(f"ladder line of {len(line)} columns: {line[:60]!r}")
        if not line.startswith("  ladder ") and (line[LEFT_BAR] != "|" or len(line) != RIGHT_BAR + 1
                                                 or line[RIGHT_BAR] != "|"):
            problems.append(f"bars out of place: {line[:60]!r}")
    return problems


def run(cmd):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def run_one(sipauthmon, t, update):
    capture = os.path.join(golden.CAPTURES, t["capture"])
    expected_path = os.path.join(HERE, t["name"] + ".txt")
    problems = []
    with tempfile.TemporaryDirectory(prefix="sipauthmon-ladder-") as tmpdir:
        options, cred_secrets = golden.materialize(t["options"], tmpdir)
        base = [sipauthmon, "-r", capture]
        rc, out, err = run(base + ["-o", "text", "--ladder"] + options)
        rc_n, out_n, _ = run(base + ["-o", "text", "--no-ladder"] + options)
        rc_d, out_d, _ = run(base + ["-o", "text"] + options)
        _, json_l, _ = run(base + ["-o", "json", "--ladder"] + options)
        _, json_d, _ = run(base + ["-o", "json"] + options)
    if rc != (1 if t["codes"] else 0) or rc_n != rc or rc_d != rc:
        problems.append(f"exit status {rc}/{rc_n}/{rc_d}: {err.strip()[:200]}")
    problems += check_lines(out)
    if NO_SECRET_KEYS.search(out + err):
        problems.append("a response= or cnonce= appears in the output")
    leaked = [s for s in golden.capture_secrets(capture) + sorted(cred_secrets)
              if s in out or s in err]
    if leaked:
        problems.append(f"{len(leaked)} secret value(s) from the capture or credentials appear")
    if out_n != without_ladders(out):
        problems.append("--no-ladder output is not the --ladder output without its ladders")
    if out_d != out_n:
        problems.append("output to a pipe without an option differs from --no-ladder output")
    if json_l != json_d:
        problems.append("JSON output changes with --ladder")
    got = ladders(out)
    if update:
        if problems:
            return False, golden.redact("not updating: " + "; ".join(problems), leaked)
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write(got)
        return True, f"updated {os.path.basename(expected_path)}"
    try:
        with open(expected_path, encoding="utf-8") as f:
            want = f.read()
    except OSError:
        problems.append(f"missing {os.path.basename(expected_path)} (review, then --update)")
    else:
        if got != want:
            gl, wl = got.split("\n"), want.split("\n")
            i = next((i for i, (a, b) in enumerate(zip(gl, wl)) if a != b), min(len(gl), len(wl)))
            problems.append(f"ladder differs at line {i + 1}: got "
                            f"{gl[i] if i < len(gl) else '(end)'!r}, expected "
                            f"{wl[i] if i < len(wl) else '(end)'!r}")
    return not problems, golden.redact("; ".join(problems), leaked)


def run_on_tty(sipauthmon, capture, extra):
    """stdout (and stderr) a pseudo-terminal, as an operator runs it."""
    master, slave = pty.openpty()
    env = dict(os.environ, NO_COLOR="1")
    try:
        p = subprocess.Popen([sipauthmon, "-r", capture, "-o", "text"] + extra,
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    p.wait(timeout=TIMEOUT)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def tty_default(sipauthmon):
    capture = os.path.join(golden.CAPTURES, "realm-mismatch.pcap")
    on = run_on_tty(sipauthmon, capture, [])
    off = run_on_tty(sipauthmon, capture, ["--no-ladder"])
    problems = []
    if "\n  ladder " not in on:
        problems.append("no ladder on a terminal by default")
    if "  ladder " in off or off != without_ladders(on):
        problems.append("--no-ladder on a terminal still draws, or changes the rest")
    return not problems, "; ".join(problems)


def parse_list(path, known):
    names = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line not in known or line in names:
                raise golden.UsageError(f"{path}:{lineno}: {line!r} is not a test of "
                                        "tests/golden/TESTLIST, or is listed twice")
            names.append(line)
    return names


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--update", action="store_true", help="rewrite ladder/NAME.txt")
    ap.add_argument("--only", action="append", default=[], metavar="NAME")
    args = ap.parse_args(argv[1:])
    try:
        all_tests = {t["name"]: t for t in golden.parse_testlist(golden.TESTLIST)}
        names = parse_list(os.path.join(HERE, "TESTLIST"), all_tests)
    except (OSError, golden.UsageError) as e:
        print(f"ladder/run.py: {e}", file=sys.stderr)
        return 2
    if args.only:
        names = [n for n in names if n in args.only]
    passed = failed = 0
    # Two at a time: each test is five short runs of the binary.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda n: (n, *run_one(args.sipauthmon, all_tests[n], args.update)), names)
        results = list(done)
    if not args.only:
        results.append(("tty-default", *tty_default(args.sipauthmon)))
    for name, ok, msg in results:
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {msg}" if msg else ""))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verdict over every pass of .ci/run: no lost test, no unexplained skip.

    judge.py [--ci] RUN [RUN...]

Each RUN is one of

  PASS:meson:TESTLOG:BUILDDIR:MULTIPLIER:SUITES
      a `meson test` run: TESTLOG its testlog .json; the tests it was to
      run are those `meson introspect --tests BUILDDIR` lists in SUITES (a
      comma list; empty for all), each with its timeout times MULTIPLIER
      (the run's --timeout-multiplier)
  PASS:jsonl:RESULTS:LIST
      RESULTS holds one {"name", "result", "duration"} object a line (the
      shape of testlog); LIST names one expected test a line

Every expected test must have exactly one result, and no result may name a
test that was not expected. OK and EXPECTEDFAIL pass. SKIP passes only when
.ci/allowed-skips names the pass and the test (with why); with --ci (CI=true)
any other SKIP fails, without it it is only counted (a developer's machine
may lack what CI installs). Anything else (FAIL, TIMEOUT, ERROR, INTERRUPT,
UNEXPECTEDPASS, a missing result) fails.

Prints each pass's counts and the tests closest to their timeouts (a test
should use at most a third of its own), then one closing line:
"meson: N passed, N failed, N skipped". Exit 1 when anything failed.
Standard library only.
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PASSING = {"OK", "EXPECTEDFAIL"}


def allowed_skips():
    """{(pass, test): reason} from .ci/allowed-skips."""
    allowed = {}
    with open(os.path.join(HERE, "allowed-skips"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # a meson test's name has spaces: "project:suite / name"
            m = re.match(r"(\S+)\s+(\S+ / \S+|\S+)\s+(\S.*)$", line)
            if not m:
                raise SystemExit(f"judge.py: .ci/allowed-skips: no reason given: {line}")
            allowed[(m.group(1), m.group(2))] = m.group(3)
    return allowed


def read_results(path):
    results = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    return results


def meson_expected(builddir, suites):
    """{test name: timeout in s} of the tests the pass ran."""
    out = subprocess.run(["meson", "introspect", "--tests", builddir], capture_output=True,
                         check=True, text=True).stdout
    tests = {}
    for t in json.loads(out):
        # introspect says suite "project:suite"; testlog names the test
        # "project:suite / name".
        full_suite = t["suite"][0]
        if suites and full_suite.split(":")[-1] not in suites:
            continue
        tests[f"{full_suite} / {t['name']}"] = t.get("timeout") or 30
    return tests


def judge_run(spec, allowed, ci, slow):
    parts = spec.split(":")
    mult = 1.0
    if len(parts) == 6 and parts[1] == "meson":
        name, _kind, results_path, builddir = parts[:4]
        mult = float(parts[4])
        want = meson_expected(builddir, [x for x in parts[5].split(",") if x])
    elif len(parts) == 4 and parts[1] == "jsonl":
        name, _kind, results_path, listing = parts
        with open(listing, encoding="utf-8") as f:
            want = {line.strip(): None for line in f if line.strip()}
    else:
        raise SystemExit(f"judge.py: bad RUN {spec!r}")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    problems = []
    try:
        results = read_results(results_path)
    except OSError as e:
        results = []
        problems.append(f"no results ({e.strerror}): the pass failed before its tests")
    seen = {}
    for r in results:
        test, result = r.get("name", "?"), r.get("result", "ERROR")
        if test in seen:
            problems.append(f"{test}: two results ({seen[test]}, {result})")
            counts["failed"] += 1
            continue
        seen[test] = result
        if test not in want:
            problems.append(f"{test}: {result}, but the pass did not list it")
            counts["failed"] += 1
        elif result in PASSING:
            counts["passed"] += 1
        elif result == "SKIP" and (name, test) in allowed:
            counts["skipped"] += 1
        elif result == "SKIP" and not ci:
            counts["skipped"] += 1
            problems.append(f"{test}: SKIP (would fail under CI=true: not in .ci/allowed-skips)")
        else:
            counts["failed"] += 1
            problems.append(f"{test}: {result}")
        if want.get(test) and r.get("duration") is not None:
            slow.append((r["duration"] / (want[test] * mult), r["duration"], want[test] * mult,
                         f"{name} {test}"))
    for test in want:
        if test not in seen:
            counts["failed"] += 1
            problems.append(f"{test}: no result (lost)")
    print(f"{name}: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped of {len(want)} listed")
    for p in problems:
        print(f"  {p}")
    return counts


def main(argv):
    ci = False
    if argv and argv[0] == "--ci":
        ci, argv = True, argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    allowed = allowed_skips()
    total = {"passed": 0, "failed": 0, "skipped": 0}
    slow = []
    for spec in argv:
        for k, v in judge_run(spec, allowed, ci, slow).items():
            total[k] += v
    slow.sort(reverse=True)
    print("closest to their timeouts (share, duration, timeout):")
    for share, dur, tmo, label in slow[:5]:
        flag = "  over a third" if share > 1 / 3 else ""
        print(f"  {share:5.1%} {dur:7.1f} s of {tmo:6.0f} s  {label}{flag}")
    print(f"meson: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Transport-variant golden tests: the same diagnoses whatever the transport.

    run.py --sipauthmon PATH [--only NAME]... [--variant VARIANT]... [--keep DIR]

For every tests/golden/TESTLIST line whose capture is Ethernet/IPv4/UDP
(transport.is_eligible), every transform of every module in this directory
(README.md: transport.py, tunnels.py ...) writes a variant capture, and
sipauthmon's JSON output for it, after the transform's NORMALISE, must equal
tests/golden/expected/NAME.jsonl record for record (or the output for the
transform's reference capture), with the golden exit status. EXEMPT entries
are reported as skipped with their reason.

Prints one line per (test, variant) and "N passed, N failed, N exempt";
exit 1 on any failure, 2 on usage errors. Standard library only.
"""

import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden")
TIMEOUT = 60


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


golden = load(os.path.join(GOLDEN, "run.py"), "golden_run")
transport = load(os.path.join(HERE, "transport.py"), "variants_transport")


def modules():
    """transport first, then every other module here that defines TRANSFORMS."""
    mods = [transport]
    for fn in sorted(os.listdir(HERE)):
        if not fn.endswith(".py") or fn in ("run.py", "transport.py"):
            continue
        mod = load(os.path.join(HERE, fn), "variants_" + fn[:-3])
        if hasattr(mod, "TRANSFORMS"):
            mods.append(mod)
    return mods


def read_pcap(path):
    """[(ts_us, linktype, data)] of a classic pcap, or None for anything else."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e, nano = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        e, nano = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        e, nano = "<", True
    elif magic == b"\xa1\xb2\x3c\x4d":
        e, nano = ">", True
    else:
        return None
    (linktype,) = struct.unpack_from(e + "I", data, 20)
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack_from(e + "IIII", data, off)
        off += 16
        if off + incl > len(data):
            break
        ts = sec * 1_000_000 + (frac // 1000 if nano else frac)
        frames.append((ts, linktype & 0xFFFF, data[off:off + incl]))
        off += incl
    return frames


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for ts, data in frames:
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
            f.write(data)


def run_sipauthmon(sipauthmon, capture, options):
    """(exit status, [records], problems)."""
    cmd = [sipauthmon, "-r", capture, "-o", "json"] + options
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                           check=False)
    except subprocess.TimeoutExpired:
        return None, [], [f"timed out after {TIMEOUT} s"]
    problems, records = [], []
    if r.returncode < 0 or r.returncode not in (0, 1):
        err = r.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        problems.append(f"exit {r.returncode}" + (f" ({err[0][:160]})" if err else ""))
    for n, line in enumerate(r.stdout.decode("utf-8", "replace").splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"stdout line {n} is not JSON")
            continue
        records.append(obj)
    return r.returncode, records, problems


def read_expected(name):
    path = os.path.join(GOLDEN, "expected", name + ".jsonl")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(got, want):
    if got == want:
        return None
    return golden.describe_difference(got, want)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--only", action="append", default=[], metavar="NAME")
    ap.add_argument("--variant", action="append", default=[], metavar="VARIANT")
    ap.add_argument("--keep", metavar="DIR", help="keep the variant captures here")
    args = ap.parse_args(argv[1:])
    if not os.access(args.sipauthmon, os.X_OK):
        print(f"run.py: {args.sipauthmon} is not an executable", file=sys.stderr)
        return 2
    try:
        tests = golden.parse_testlist(golden.TESTLIST)
    except (OSError, golden.UsageError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    if args.only:
        tests = [t for t in tests if t["name"] in args.only]

    transforms, normalise, exempt, mods = {}, {}, {}, modules()
    for mod in mods:
        for name, fn in mod.TRANSFORMS.items():
            if name in transforms:
                print(f"run.py: variant {name} defined twice", file=sys.stderr)
                return 2
            transforms[name] = fn
            normalise[name] = getattr(mod, "NORMALISE", {}).get(name, lambda r: r)
        exempt.update(getattr(mod, "EXEMPT", {}))
    if args.variant:
        unknown = set(args.variant) - set(transforms)
        if unknown:
            print(f"run.py: unknown variant(s) {sorted(unknown)}", file=sys.stderr)
            return 2
        transforms = {k: v for k, v in transforms.items() if k in args.variant}

    passed = failed = exempted = 0
    variants = {}  # (capture, variant) -> path, reference path or None
    eligible = 0
    with tempfile.TemporaryDirectory(prefix="sipauthmon-variants-") as tmp:
        outdir = args.keep or tmp
        os.makedirs(outdir, exist_ok=True)
        for t in tests:
            frames = read_pcap(os.path.join(golden.CAPTURES, t["capture"]))
            if frames is None or not transport.is_eligible(frames):
                continue
            eligible += 1
            want = read_expected(t["name"])
            want_rc = 1 if t["codes"] else 0
            options, _secrets = golden.materialize(t["options"], tempfile.mkdtemp(dir=tmp))
            for vname, fn in transforms.items():
                label = f"{t['name']}/{vname}"
                if (vname, t["name"]) in exempt:
                    exempted += 1
                    print(f"EXEMPT {label}: {exempt[(vname, t['name'])]}")
                    continue
                key = (t["capture"], vname)
                if key not in variants:
                    res = fn(frames, t["capture"])
                    base = os.path.join(outdir, f"{t['capture'][:-5]}.{vname}")
                    write_pcap(base + ".pcap", res[0], res[1])
                    ref = None
                    if len(res) == 3:
                        ref = base + ".reference.pcap"
                        write_pcap(ref, res[2][0], res[2][1])
                    variants[key] = (base + ".pcap", ref)
                path, ref = variants[key]
                problems = []
                rc, got, problems = run_sipauthmon(args.sipauthmon, path, options)
                reference = want
                if ref is not None:
                    ref_rc, reference, ref_problems = run_sipauthmon(args.sipauthmon, ref, options)
                    problems += [f"reference: {p}" for p in ref_problems]
                    if ref_rc != rc:
                        problems.append(f"exit {rc}, reference capture {ref_rc}")
                elif rc != want_rc:
                    problems.append(f"exit {rc}, golden {want_rc}")
                got = [normalise[vname](r) for r in got]
                diff = compare(got, reference)
                if diff:
                    codes = [r.get("diagnosis") for r in got]
                    problems.append(f"{diff} (diagnoses {codes or '-'})")
                if problems:
                    failed += 1
                    print(f"FAIL {label}: " + "; ".join(problems))
                else:
                    passed += 1
                    print(f"PASS {label}")
                sys.stdout.flush()

    # A transform that silently stopped transforming must not pass.
    for mod in mods:
        stats = getattr(mod, "STATS", {})
        if stats:
            print("stats: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
        if args.only or args.variant:
            continue
        for name in getattr(mod, "REQUIRED_STATS", ()):
            if not stats.get(name):
                failed += 1
                print(f"FAIL {mod.__name__}: counter {name} is 0: the transform did nothing")
    if eligible == 0:
        print("FAIL no eligible Ethernet/IPv4/UDP golden capture")
        failed += 1
    print(f"{passed} passed, {failed} failed, {exempted} exempt ({eligible} eligible tests)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

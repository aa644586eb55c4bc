#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Transport-variant golden tests: the same diagnoses whatever the transport.

    run.py --sipauthmon PATH [--batch PATH] [--captures DIR] [--only NAME]...
           [--variant VARIANT]...
    run.py --write DIR

For every tests/golden/TESTLIST line whose capture is Ethernet/IPv4/UDP
(transport.is_eligible), every transform of every module in this directory
(README.md: transport.py, tunnels.py ...) writes a variant capture, and
sipauthmon's JSON output for it, after the transform's NORMALISE (NORMALISE_EXPECTED on the expected side), must equal
tests/golden/expected/NAME.jsonl record for record (or the output for the
transform's reference capture), with the golden exit status. EXEMPT entries
are reported as skipped with their reason.

The variant captures are written once per build (meson's variant-captures
target: `run.py --write DIR`, into BUILDDIR/tests/variant-captures, where
they stay for tshark) and read with --captures; without one they are
written to a temporary directory first. With --batch (meson passes
sipauthmon-batch, tests/driver) every capture runs in a few processes on
every core; without it, one sipauthmon process each.

Prints one line per (test, variant) and "N passed, N failed, N exempt";
exit 1 on any failure, 2 on usage errors. Standard library only.
"""

import argparse
import importlib.util
import json
import os
import shutil
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
batch = load(os.path.join(os.path.dirname(HERE), "driver", "batch.py"), "driver_batch")


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


def parse_records(rc, stdout, stderr):
    """(exit status, [records], problems) of one run."""
    problems, records = [], []
    if rc is None or rc < 0 or rc not in (0, 1):
        err = stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        problems.append(f"exit {rc}" + (f" ({err[0][:160]})" if err else ""))
    for n, line in enumerate(stdout.decode("utf-8", "replace").splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"stdout line {n} is not JSON")
            continue
        records.append(obj)
    return rc, records, problems


def run_jobs(sipauthmon, batch_exe, jobs):
    """[(rc, stdout, stderr)] of `sipauthmon ARGS` for each ARGS in jobs: all
    in sipauthmon-batch processes on every core when batch_exe is given (the
    test suite), else one sipauthmon process each (by hand)."""
    if batch_exe:
        return batch.run_many(batch_exe, jobs, timeout=TIMEOUT * 10)
    out = []
    for args in jobs:
        try:
            r = subprocess.run([sipauthmon] + args, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=TIMEOUT, check=False)
            out.append((r.returncode, r.stdout, r.stderr))
        except subprocess.TimeoutExpired:
            out.append((None, b"", f"timed out after {TIMEOUT} s".encode()))
    return out


# ------------------------------------------------------------------ the captures

INDEX = "index.json"


def write_variants(outdir, tests=None, only_variants=None):
    """Write every variant capture of every eligible TESTLIST test into outdir,
    with outdir/index.json saying what is where. Returns the index.

    The index: {"tests": {NAME: eligible?}, "variants": [{"test", "variant",
    "path", "reference", "options"}] (paths relative to outdir, "exempt" with the
    reason instead of paths; options: the module's OPTIONS for the variant),
    "stats": {counter: n}, "required": [[module, counter]]}.
    A capture shared by several tests is transformed once."""
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)  # no capture of an earlier TESTLIST left behind
    os.makedirs(outdir)
    mods = modules()
    transforms, exempt, extra = {}, {}, {}
    for mod in mods:
        for name, fn in mod.TRANSFORMS.items():
            if name in transforms:
                raise golden.UsageError(f"variant {name} defined twice")
            transforms[name] = fn
        exempt.update(getattr(mod, "EXEMPT", {}))
        extra.update(getattr(mod, "OPTIONS", {}))
    if only_variants:
        transforms = {k: v for k, v in transforms.items() if k in only_variants}
    index = {"tests": {}, "variants": [], "stats": {}, "required": []}
    written = {}
    for t in tests if tests is not None else golden.parse_testlist(golden.TESTLIST):
        frames = read_pcap(os.path.join(golden.CAPTURES, t["capture"]))
        eligible = frames is not None and transport.is_eligible(frames)
        index["tests"][t["name"]] = eligible
        if not eligible:
            continue
        for vname, fn in transforms.items():
            entry = {"test": t["name"], "variant": vname}
            if (vname, t["name"]) in exempt:
                entry["exempt"] = exempt[(vname, t["name"])]
                index["variants"].append(entry)
                continue
            key = (t["capture"], vname)
            if key not in written:
                res = fn(frames, t["capture"])
                base = f"{t['capture'][:-5].replace('/', '_')}.{vname}"
                write_pcap(os.path.join(outdir, base + ".pcap"), res[0], res[1])
                ref = None
                if len(res) == 3:
                    ref = base + ".reference.pcap"
                    write_pcap(os.path.join(outdir, ref), res[2][0], res[2][1])
                written[key] = (base + ".pcap", ref)
            entry["path"], entry["reference"] = written[key]
            entry["options"] = list(extra.get(vname, []))
            index["variants"].append(entry)
    for mod in mods:
        index["stats"].update(getattr(mod, "STATS", {}))
        index["required"] += [[mod.__name__, n] for n in getattr(mod, "REQUIRED_STATS", ())]
    with open(os.path.join(outdir, INDEX), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    return index


def load_variants(captures_dir, tmp):
    """(directory, index): the captures built for this build (meson's
    variant-captures target) when captures_dir has them, else written now."""
    if captures_dir and os.path.exists(os.path.join(captures_dir, INDEX)):
        with open(os.path.join(captures_dir, INDEX), encoding="utf-8") as f:
            return captures_dir, json.load(f)
    outdir = captures_dir or os.path.join(tmp, "captures")
    return outdir, write_variants(outdir)


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
    ap.add_argument("--batch", default=os.environ.get("SIPAUTHMON_BATCH"),
                    help="sipauthmon-batch (tests/driver): run every capture in it")
    ap.add_argument("--captures", metavar="DIR",
                    help="the variant captures (written there first if DIR has no index)")
    ap.add_argument("--write", metavar="DIR", help="only write the variant captures to DIR")
    ap.add_argument("--only", action="append", default=[], metavar="NAME")
    ap.add_argument("--variant", action="append", default=[], metavar="VARIANT")
    args = ap.parse_args(argv[1:])
    if args.write:
        write_variants(args.write)
        return 0
    for exe in [args.sipauthmon] + ([args.batch] if args.batch else []):
        if not os.access(exe, os.X_OK):
            print(f"run.py: {exe} is not an executable", file=sys.stderr)
            return 2
    try:
        tests = {t["name"]: t for t in golden.parse_testlist(golden.TESTLIST)}
    except (OSError, golden.UsageError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    normalise, normalise_expected = {}, {}
    for mod in modules():
        for name in mod.TRANSFORMS:
            normalise[name] = getattr(mod, "NORMALISE", {}).get(name, lambda r: r)
            normalise_expected[name] = getattr(mod, "NORMALISE_EXPECTED", {}).get(name,
                                                                                 lambda r: r)
    unknown = set(args.variant) - set(normalise)
    if unknown:
        print(f"run.py: unknown variant(s) {sorted(unknown)}", file=sys.stderr)
        return 2

    passed = failed = exempted = 0
    with tempfile.TemporaryDirectory(prefix="sipauthmon-variants-") as tmp:
        capdir, index = load_variants(args.captures, tmp)
        entries = [e for e in index["variants"]
                   if (not args.only or e["test"] in args.only)
                   and (not args.variant or e["variant"] in args.variant)]
        # Every run at once: each variant, and each reference capture once.
        jobs, slot = [], {}
        for e in entries:
            if "exempt" in e:
                continue
            options, _secrets = golden.materialize(tests[e["test"]]["options"],
                                                   tempfile.mkdtemp(dir=tmp))
            for path in (e["path"], e["reference"]):
                if path and (path, e["test"]) not in slot:
                    slot[(path, e["test"])] = len(jobs)
                    jobs.append(["-r", os.path.join(capdir, path), "-o", "json"] + options +
                                e.get("options", []))
        results = run_jobs(args.sipauthmon, args.batch, jobs)

        for e in entries:
            t = tests[e["test"]]
            label = f"{e['test']}/{e['variant']}"
            if "exempt" in e:
                exempted += 1
                print(f"EXEMPT {label}: {e['exempt']}")
                continue
            want = read_expected(t["name"])
            want_rc = 1 if t["codes"] else 0
            rc, got, problems = parse_records(*results[slot[(e["path"], t["name"])]])
            reference = want
            if e["reference"] is not None:
                ref_rc, reference, ref_problems = parse_records(
                    *results[slot[(e["reference"], t["name"])]])
                problems += [f"reference: {p}" for p in ref_problems]
                if ref_rc != rc:
                    problems.append(f"exit {rc}, reference capture {ref_rc}")
            elif rc != want_rc:
                problems.append(f"exit {rc}, golden {want_rc}")
            got = [normalise[e["variant"]](r) for r in got]
            reference = [normalise_expected[e["variant"]](r) for r in reference]
            if e["reference"] is not None and [r.get("diagnosis") for r in got] != t["codes"]:
                # The reference is sipauthmon's own output on another
                # capture: it must still say what TESTLIST says.
                problems.append(f"diagnoses {[r.get('diagnosis') for r in got]}, "
                                f"TESTLIST {t['codes']}")
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

    # A transform that silently stopped transforming must not pass.
    if index["stats"]:
        print("stats: " + ", ".join(f"{k}={v}" for k, v in sorted(index["stats"].items())))
    if not args.only and not args.variant:
        for mod, name in index["required"]:
            if not index["stats"].get(name):
                failed += 1
                print(f"FAIL {mod}: counter {name} is 0: the transform did nothing")
    eligible = sum(1 for n, ok in index["tests"].items() if ok and (not args.only or n in args.only))
    if eligible == 0:
        print("FAIL no eligible Ethernet/IPv4/UDP golden capture")
        failed += 1
    print(f"{passed} passed, {failed} failed, {exempted} exempt ({eligible} eligible tests)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The JSON Schema of the output record against what sipauthmon writes.

    test_schema.py --sipauthmon PATH

contrib/schema/sipauthmon-record.schema.json describes one line of
`sipauthmon -o json` (DESIGN.md "Output schema"). This checks that

  1. it is a valid JSON Schema (draft 2020-12) whose properties are DESIGN.md's
     keys, in DESIGN.md's order, and whose diagnosis codes are those the
     rules declare (analysis/rules/*.c);
  2. every record of tests/golden/expected/*.jsonl validates, writes its keys
     in the schema's order, and carries the MESSAGE_ID of its code;
  3. so do the records sipauthmon writes now for a few captures (IPv4 and
     IPv6, account-scan with its accounts, a compromise, a rate-limit summary).

Validation uses python3-jsonschema (.ci/packages). When the interpreter
running this lacks it, the test runs again under /usr/bin/python3, where
Debian's package is. Without it anywhere the test skips (77), and fails under
CI=true. Prints "N passed, N failed"; exit 0, 1 on a failure, 77 skipped.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
SCHEMA = os.path.join(SRCDIR, "contrib", "schema", "sipauthmon-record.schema.json")
DESIGN = os.path.join(SRCDIR, "..", "shared", "DESIGN.md")
RULES_DIR = os.path.join(SRCDIR, "analysis", "rules")
CAPTURES = os.path.join(SRCDIR, "tests", "golden", "captures")
EXPECTED = os.path.join(SRCDIR, "tests", "golden", "expected")
SYSTEM_PYTHON = "/usr/bin/python3"

# (capture, options): the live runs of part 3.
LIVE = [
    ("mixed-sample.pcap", []),
    ("wrong-password-ipv6.pcap", []),
    ("account-scan.pcap", []),
    ("compromise-other-source.pcap", []),
    ("rate-limited.pcap", ["--max-records-per-minute", "20"]),
]

try:
    import jsonschema
except ImportError:
    jsonschema = None


def no_jsonschema():
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) \
            and os.access(SYSTEM_PYTHON, os.X_OK) and "SIPAUTHMON_SCHEMA_REEXEC" not in os.environ:
        os.environ["SIPAUTHMON_SCHEMA_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    if os.environ.get("CI") == "true":
        print("FAIL: python3-jsonschema is not installed under CI=true (.ci/packages)")
        print("0 passed, 1 failed")
        sys.exit(1)
    print("SKIP: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(77)



def design_keys():
    """The keys of DESIGN.md "Output schema", in its order."""
    text = open(DESIGN, encoding="utf-8").read()
    m = re.search(r"## Output schema\n(.*?)New\s+keys\s+may\s+be\s+added", text, re.S)
    if not m:
        return None
    keys = []
    for k in re.findall(r"`([a-z_]+)`", m.group(1)):
        if k not in keys:
            keys.append(k)
    return keys


def code_ids():
    """code -> MESSAGE_ID from the rule declarations, analysis/rules/*.c."""
    src = "".join(open(f, encoding="utf-8").read()
                  for f in sorted(glob.glob(os.path.join(RULES_DIR, "*.c"))))
    return dict(re.findall(r'\.name = "([a-z-]+)",\s*\.severity = \w+,\s*'
                           r'\.message_id = "([0-9a-f]{32})"', src))


def check_record(c, validator, order, ids, rec, where):
    errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
    c.check(not errors, "%s does not validate" % where,
            "; ".join("%s: %s" % ("/".join(map(str, e.path)) or "(record)", e.message[:160])
                      for e in errors[:3]))
    keys = list(rec)
    c.check(keys == [k for k in order if k in rec], "%s: keys out of the schema's order" % where,
            keys)
    code = rec.get("diagnosis")
    c.check(rec.get("message_id") == ids.get(code),
            "%s: message_id is not the MESSAGE_ID of %s" % (where, code), rec.get("message_id"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sipauthmon", required=True)
    args = ap.parse_args()
    if jsonschema is None:
        no_jsonschema()
    c = Checks(detail_max=400)

    # 1. the schema itself
    schema = json.load(open(SCHEMA, encoding="utf-8"))
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        c.check(True, "schema")
    except jsonschema.exceptions.SchemaError as e:
        c.check(False, "the schema is not a valid draft 2020-12 schema", e.message)
        return finish(c)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    order = list(schema["properties"])
    c.check(schema.get("additionalProperties") is False, "the schema allows unknown keys")
    if os.path.isfile(DESIGN):
        c.check(order == design_keys(), "schema properties differ from DESIGN.md's keys",
                "%s != %s" % (order, design_keys()))
    else:
        c.check(os.environ.get("CI") != "true", "DESIGN.md missing under CI=true", DESIGN)
        print("note: %s missing: the key list is not compared with it" % DESIGN)
    ids = code_ids()
    c.check(len(ids) >= 17, "codes of analysis/rules/", ids)
    c.check(set(schema["properties"]["diagnosis"]["enum"]) == set(ids),
            "the schema's diagnosis codes are not those of analysis/rules/",
            sorted(set(schema["properties"]["diagnosis"]["enum"]) ^ set(ids)))
    for k, p in schema["properties"].items():
        c.check(p.get("description"), "property %s has no description" % k)
    # The schema is strict: a misspelt or extra key fails, so do bad values.
    base = {"diagnosis": "wrong-password", "severity": "warning", "message_id": "0" * 32}
    for bad in ({"clientip": "192.0.2.1"}, {"client_port": "5060"}, {"client_ip": "300.1.1.1"},
                {"severity": "fatal"}, {"last_seen": "2026-01-01 10:00:00"},
                {"accounts": [{"user": "100", "exists": True}]}, {"message": "two\nlines"}):
        rec = dict(base, **bad)
        if "client_ip" in bad or "client_port" in bad:
            rec.update({"client": "192.0.2.1:5060"})
            rec.setdefault("client_ip", "192.0.2.1")
            rec.setdefault("client_port", 5060)
        c.check(not validator.is_valid(rec), "the schema accepts %r" % bad)

    # 2. the golden records
    n = 0
    for path in sorted(glob.glob(os.path.join(EXPECTED, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    n += 1
                    check_record(c, validator, order, ids, json.loads(line),
                                 "%s:%d" % (os.path.relpath(path, SRCDIR), i))
    c.check(n >= 100, "golden records validated", n)
    print("%d golden records checked" % n)

    # 3. what sipauthmon writes now
    seen = set()
    for capture, opts in LIVE:
        cmd = [args.sipauthmon, "-r", os.path.join(CAPTURES, capture), "-o", "json"] + opts
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=60)
        c.check(r.returncode == 1, "%s: exit %d, want 1" % (capture, r.returncode), r.stderr)
        recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        c.check(recs, "%s: no record" % capture)
        for i, rec in enumerate(recs, 1):
            check_record(c, validator, order, ids, rec, "%s record %d" % (capture, i))
            seen |= set(rec)
    # Every key of the schema was seen at least once in the runs above.
    c.check(seen == set(order), "keys never written by the live runs", sorted(set(order) - seen))
    return finish(c)


def finish(c):
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

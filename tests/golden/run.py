#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Golden tests: a capture, the options, the expected JSON lines.

    run.py --sipauthmon PATH [--update] [--only NAME]...

For every line of tests/golden/TESTLIST (NAME, CAPTURE, EXPECTED-CODES,
OPTIONS and optionally MUST-CONTAIN; see the file's header) this runs

    sipauthmon -r captures/CAPTURE -o json OPTIONS

and checks that
  * the exit status is 0 when no diagnosis is expected, 1 otherwise;
  * every stdout line is one JSON object;
  * the sequence of "diagnosis" values equals EXPECTED-CODES;
  * the objects equal those in expected/NAME.jsonl (parsed, key order
    irrelevant), and that file itself agrees with EXPECTED-CODES;
  * the MUST-CONTAIN substrings are present in (or, prefixed with "!",
    absent from) the output's remedy fields (or the field FIELD: names);
  * no digest `response` or `cnonce` value found in the capture, and no
    nonce longer than 8 characters (beyond an 8-character prefix), appears
    in stdout or stderr (DESIGN.md "Secrets"); nor does any password or HA1
    of a credentials file the test passes.

OPTIONS may name the fixture credentials files by placeholder:
@CREDENTIALS@ is tests/fixtures/credentials.txt and @CREDENTIALS_HA1@ is
tests/fixtures/credentials-ha1.txt. git keeps them 0644 and sipauthmon
refuses a credentials file others can read, so each is copied into a private
temporary directory, the copy made 0600, and its path substituted.

--update rewrites expected/NAME.jsonl from the actual output, but refuses
when the codes differ from EXPECTED-CODES or any other check fails. Without
--update a missing .jsonl is a failure. Prints one line per test and ends
with "N passed, N failed"; exit 1 if any test failed, 2 on usage errors.
Standard library only.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTLIST = os.path.join(HERE, "TESTLIST")
CAPTURES = os.path.join(HERE, "captures")
EXPECTED = os.path.join(HERE, "expected")
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
TIMEOUT = 60

# OPTIONS placeholders -> fixture credentials files (copied 0600 at run time)
PLACEHOLDERS = {
    "@CREDENTIALS@": os.path.join(FIXTURES, "credentials.txt"),
    "@CREDENTIALS_HA1@": os.path.join(FIXTURES, "credentials-ha1.txt"),
}
PLACEHOLDER = re.compile(r"@[A-Z0-9_]+@")

# Output keys a MUST-CONTAIN item may name as FIELD: (DESIGN.md "Output schema").
FIELDS = {
    "diagnosis", "severity", "message_id", "message", "user", "realm", "client", "client_ip",
    "client_port", "server", "server_ip", "server_port", "transport", "method", "call_id",
    "attempts", "first_seen", "last_seen", "user_agent", "server_agent", "algorithm", "evidence",
    "remedy", "source_verified",
}

CODES = {
    "challenge-missing", "header-mismatch", "no-credentials", "realm-mismatch",
    "algorithm-mismatch", "qop-mismatch", "uri-mismatch", "stale-nonce", "nonce-unknown",
    "source-changed", "credential-guessing", "account-scan", "server-rejects-valid",
    "wrong-password", "credential-compromise", "resolved", "rate-limited",
}


class UsageError(Exception):
    pass


def parse_testlist(path):
    tests = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) not in (4, 5) or not all(fields):
                raise UsageError(f"{path}:{lineno}: want NAME<TAB>CAPTURE<TAB>CODES<TAB>OPTIONS"
                                 "[<TAB>MUST-CONTAIN]")
            name, capture, codes, options = fields[:4]
            if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name in seen:
                raise UsageError(f"{path}:{lineno}: bad or duplicate test name {name!r}")
            seen.add(name)
            if not re.fullmatch(r"(real/)?[A-Za-z0-9_-][A-Za-z0-9._-]*", capture):
                raise UsageError(f"{path}:{lineno}: CAPTURE must be a file name in captures/ "
                                 "or captures/real/")
            code_list = [] if codes == "-" else codes.split(",")
            unknown = [c for c in code_list if c not in CODES]
            if unknown:
                raise UsageError(f"{path}:{lineno}: unknown diagnosis code(s) {unknown}")
            try:
                opts = [] if options == "-" else shlex.split(options)
            except ValueError as e:
                raise UsageError(f"{path}:{lineno}: bad OPTIONS: {e}") from None
            for opt in opts:
                for ph in PLACEHOLDER.findall(opt):
                    if ph not in PLACEHOLDERS:
                        raise UsageError(f"{path}:{lineno}: unknown placeholder {ph} in OPTIONS")
            try:
                must = parse_must_contain(fields[4] if len(fields) == 5 else "-")
            except ValueError as e:
                raise UsageError(f"{path}:{lineno}: bad MUST-CONTAIN: {e}") from None
            tests.append({"name": name, "capture": capture, "codes": code_list, "options": opts,
                          "must": must})
    return tests


def parse_must_contain(text):
    """'-' or ITEM|ITEM...; ITEM = [!][FIELD:]TEXT. Returns [(negate, field, text)]."""
    if text == "-":
        return []
    items = []
    for raw in text.split("|"):
        negate = raw.startswith("!")
        body = raw[1:] if negate else raw
        field = "remedy"
        head, sep, rest = body.partition(":")
        if sep and head in FIELDS:
            field, body = head, rest
        if not body.strip():
            raise ValueError(f"empty item {raw!r}")
        items.append((negate, field, body))
    return items


def check_must_contain(objs, must):
    """Case-insensitive substring checks on the concatenated FIELD values."""
    problems = []
    for negate, field, text in must:
        hay = "\n".join(str(o[field]) for o in objs if field in o).lower()
        found = text.lower() in hay
        if negate and found:
            problems.append(f"{field} must not contain {text!r}")
        elif not negate and not found:
            problems.append(f"{field} does not contain {text!r}")
    return problems


def credential_secrets(path):
    """The passwords (6 characters or more) and HA1s in a credentials file:
    sipauthmon must never print them."""
    secrets = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) != 3 or fields[0].startswith("#"):
                continue
            value = fields[2].partition(":")[2]
            if len(value) >= 6:
                secrets.add(value)
    return secrets


def materialize(options, tmpdir):
    """Substitute placeholders with private 0600 copies of the fixture files.
    Returns (argv, secrets of the files used)."""
    copies = {}
    secrets = set()
    out = []
    for opt in options:
        for ph in PLACEHOLDER.findall(opt):
            if ph not in copies:
                src = PLACEHOLDERS[ph]
                dst = os.path.join(tmpdir, os.path.basename(src))
                fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as w, open(src, "rb") as r:
                    shutil.copyfileobj(r, w)
                os.chmod(dst, 0o600)  # whatever the umask
                copies[ph] = dst
                secrets |= credential_secrets(src)
            opt = opt.replace(ph, copies[ph])
        out.append(opt)
    return out, secrets


# Digest parameters whose values must never reach any output. The capture is
# searched as bytes so every link type and format is covered the same way.
QUOTED = re.compile(rb'(?i)(?<![A-Za-z0-9_-])(response|cnonce|nonce)\s*=\s*"([^"\r\n]*)"')
TOKEN = re.compile(rb'(?i)(?<![A-Za-z0-9_-])(response|cnonce|nonce)\s*=\s*([^\s",;]+)')


def capture_secrets(path):
    """Strings that must not appear in sipauthmon's output for this capture:
    every response and cnonce value (6 characters or more, so that empty or
    trivial values cannot match by accident), and for every nonce longer than
    8 characters its first 16 characters (or all of it if shorter)."""
    with open(path, "rb") as f:
        data = f.read()
    secrets = set()
    for rx in (QUOTED, TOKEN):
        for key, value in rx.findall(data):
            value = value.decode("latin-1")
            key = key.lower()
            if key in (b"response", b"cnonce") and len(value) >= 6:
                secrets.add(value)
            elif key == b"nonce" and len(value) > 8:
                secrets.add(value[:16])
    return sorted(secrets)


def run_one(sipauthmon, t, update):
    """Returns (ok, message)."""
    capture = os.path.join(CAPTURES, t["capture"])
    if not os.path.isfile(capture):
        return False, f"capture {t['capture']} not found in {CAPTURES}"
    with tempfile.TemporaryDirectory(prefix="sipauthmon-golden-") as tmpdir:
        try:
            options, cred_secrets = materialize(t["options"], tmpdir)
        except OSError as e:
            return False, f"cannot copy a credentials file: {e}"
        cmd = [sipauthmon, "-r", capture, "-o", "json"] + options
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return False, f"timed out after {TIMEOUT} s: {shlex.join(cmd)}"
        except OSError as e:
            return False, f"cannot run {sipauthmon}: {e}"
    stdout = r.stdout.decode("utf-8", "replace")
    stderr = r.stderr.decode("utf-8", "replace")
    problems = []

    want_rc = 1 if t["codes"] else 0
    if r.returncode != want_rc:
        first = stderr.strip().splitlines()[:1]
        problems.append(f"exit status {r.returncode}, expected {want_rc}"
                        + (f" (stderr: {first[0][:200]})" if first else ""))

    objs = []
    lines = stdout.split("\n")
    if lines[-1] == "":
        lines.pop()  # the empty string after the final newline
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"stdout line {i + 1} is not JSON: {line[:120]!r}")
            continue
        if not isinstance(obj, dict):
            problems.append(f"stdout line {i + 1} is not a JSON object")
            continue
        objs.append(obj)
    codes = [o.get("diagnosis") for o in objs]
    codes_ok = codes == t["codes"]
    if not codes_ok:
        problems.append(f"diagnoses {codes or '-'}, expected {t['codes'] or '-'}")

    problems += check_must_contain(objs, t["must"])

    secrets = capture_secrets(capture)
    leaked = [s for s in secrets if s in stdout or s in stderr]
    if leaked:
        # never echo the secret itself
        problems.append(f"{len(leaked)} digest response/cnonce/nonce value(s) from the capture "
                        "appear in the output")
    cred_leaked = sorted(s for s in cred_secrets if s in stdout or s in stderr)
    if cred_leaked:
        problems.append(f"{len(cred_leaked)} password/HA1 value(s) from the credentials file "
                        "appear in the output")
        leaked += cred_leaked

    expected_path = os.path.join(EXPECTED, t["name"] + ".jsonl")
    if update:
        if problems:
            return False, redact("not updating: " + "; ".join(problems), leaked)
        os.makedirs(EXPECTED, exist_ok=True)
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))  # as emitted
        return True, f"updated {os.path.relpath(expected_path, HERE)}"

    if not os.path.isfile(expected_path):
        problems.append(f"missing expected/{t['name']}.jsonl (review the output, then --update)")
    else:
        want = []
        with open(expected_path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    want.append(json.loads(line))
                except ValueError:
                    problems.append(f"expected/{t['name']}.jsonl line {i} is not JSON")
        want_codes = [o.get("diagnosis") if isinstance(o, dict) else None for o in want]
        if want_codes != t["codes"]:
            problems.append(f"expected/{t['name']}.jsonl has diagnoses {want_codes or '-'}, "
                            f"TESTLIST says {t['codes'] or '-'}")
        elif codes_ok and objs != want:
            problems.append(describe_difference(objs, want))
    return not problems, redact("; ".join(problems), leaked)


def redact(msg, secrets):
    """Our own report quotes output: never let it repeat a leaked secret."""
    for s in secrets:
        msg = msg.replace(s, "<redacted>")
    return msg


def describe_difference(got, want):
    if len(got) != len(want):
        return f"{len(got)} output lines, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want), 1):
        if g != w:
            keys = sorted(k for k in set(g) | set(w) if g.get(k, None) != w.get(k, None)
                          or (k in g) != (k in w))
            parts = []
            for k in keys[:4]:
                parts.append(f"{k}: got {json.dumps(g.get(k))[:80]}, expected {json.dumps(w.get(k))[:80]}")
            return f"line {i} differs in {', '.join(keys)} ({'; '.join(parts)})"
    return "output differs"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sipauthmon", required=True, help="path to the sipauthmon binary")
    ap.add_argument("--update", action="store_true", help="rewrite expected/NAME.jsonl")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only this test (repeatable)")
    args = ap.parse_args(argv[1:])
    try:
        tests = parse_testlist(TESTLIST)
    except (OSError, UsageError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    if args.only:
        names = {t["name"] for t in tests}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print(f"run.py: no such test(s) in TESTLIST: {', '.join(unknown)}", file=sys.stderr)
            return 2
        tests = [t for t in tests if t["name"] in args.only]
    if not os.access(args.sipauthmon, os.X_OK):
        print(f"run.py: {args.sipauthmon} is not an executable", file=sys.stderr)
        return 2
    passed = failed = 0
    for t in tests:
        ok, msg = run_one(args.sipauthmon, t, args.update)
        if ok:
            passed += 1
            print(f"PASS {t['name']}" + (f" ({msg})" if msg else ""))
        else:
            failed += 1
            print(f"FAIL {t['name']}: {msg}")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

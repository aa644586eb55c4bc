#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""No secret leaves sipauthmon (DESIGN.md "Secrets", issue 7 item 5).

    test_secrets.py --sipauthmon PATH [--journal-helper tests/journal/test-journal.sh]

Every capture in tests/golden/captures runs through every output:

  * -o text --ladder and -o json, with -v (debug detail) and --stats, once with a
    0600 copy of tests/fixtures/credentials.txt and once with a copy of
    credentials-ha1.txt (so verification, and its messages, happen);
  * -o journal under a private journald (the journal test's helper, in a
    private mount namespace; root only), all captures into one journal,
    read back with `journalctl -o export` (every field, not just MESSAGE);
  * -o journal without journald (the stderr fallback).

The forbidden strings are every digest `response` and `cnonce` value found
in the capture bytes (regex over the raw file, so a value the parser never
extracted still counts), and every password and HA1 of the two credentials
files. A value shorter than 6 characters is not searched for (it would
match innocent text) and is counted in the summary. Matching ignores case.

Exit: 0 pass, 1 a leak or a run that failed, 77 nothing could run.
Standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(HERE))
CAPTURES = os.path.join(SRCDIR, "tests", "golden", "captures")
FIXTURES = os.path.join(SRCDIR, "tests", "fixtures")
JOURNAL_HELPER = os.path.join(SRCDIR, "tests", "journal", "test-journal.sh")
MIN_LEN = 6

# response="..." / cnonce=... in Authorization and Proxy-Authorization,
# quoted or not (svhelper and some phones send tokens), any case.
PARAM_RE = re.compile(rb'(?i)\b(response|cnonce)\s*=\s*(?:"([^"\r\n]*)"|([^\s,;"\r\n]+))')


def capture_secrets(path):
    with open(path, "rb") as f:
        data = f.read()
    found, short = set(), 0
    for m in PARAM_RE.finditer(data):
        v = (m.group(2) if m.group(2) is not None else m.group(3)) or b""
        if len(v) >= MIN_LEN:
            found.add(v.lower())
        elif v:
            short += 1
    return found, short


def credential_secrets(path):
    out = set()
    with open(path, "rb") as f:
        for line in f:
            line = line.split(b"#", 1)[0].strip()
            parts = line.split(None, 2)
            if len(parts) == 3 and b":" in parts[2]:
                v = parts[2].split(b":", 1)[1].strip()
                if len(v) >= MIN_LEN:
                    out.add(v.lower())
    return out


class Checker:
    def __init__(self):
        self.failures = 0
        self.runs = 0

    def fail(self, msg):
        self.failures += 1
        print("FAIL:", msg, file=sys.stderr)

    def scan(self, what, blob, secrets):
        low = blob.lower()
        for s in secrets:
            if s in low:
                # Name the place, never the value.
                i = low.index(s)
                self.fail(f"{what}: a secret value ({len(s)} bytes) appears at offset {i}")

    def run(self, argv, what, secrets, ok_codes=(0, 1)):
        self.runs += 1
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            self.fail(f"{what}: timed out")
            return None
        if r.returncode not in ok_codes:
            self.fail(f"{what}: exit {r.returncode}: {r.stderr[-400:].decode(errors='replace')}")
        self.scan(what + " stdout", r.stdout, secrets)
        self.scan(what + " stderr", r.stderr, secrets)
        return r


def journal_usable(helper):
    if os.geteuid() != 0:
        return "not root (a private journald needs a private mount namespace)"
    for tool in ("unshare", "journalctl"):
        if not shutil.which(tool):
            return f"{tool} missing"
    if not os.access("/lib/systemd/systemd-journald", os.X_OK):
        return "systemd-journald missing"
    if not os.access(helper, os.X_OK):
        return f"{helper} missing"
    if subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                      capture_output=True).returncode != 0:
        return "unshare -m not permitted"
    return None


INNER = r'''
import subprocess, sys
exe, out, creds = sys.argv[1], sys.argv[2], sys.argv[3]
rc = 0
for i, cap in enumerate(sys.argv[4:]):
    r = subprocess.run([exe, "-r", cap, "-o", "journal", "-v", "--stats", "--credentials", creds],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    open(f"{out}/{i}.out", "wb").write(r.stdout)
    open(f"{out}/{i}.err", "wb").write(r.stderr)
    open(f"{out}/{i}.rc", "w").write(str(r.returncode))
'''


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--journal-helper", default=JOURNAL_HELPER)
    args = ap.parse_args(argv[1:])
    exe = os.path.abspath(args.sipauthmon)

    caps = sorted(os.path.join(d, f) for d, _dirs, files in os.walk(CAPTURES) for f in files
                  if f.endswith((".pcap", ".pcapng")))
    if not caps:
        print("SKIP: no golden captures in", CAPTURES)
        return 77

    c = Checker()
    tmp = tempfile.mkdtemp(prefix="sipauthmon-secrets.")
    try:
        creds = {}
        cred_secrets = set()
        for name in ("credentials.txt", "credentials-ha1.txt"):
            dst = os.path.join(tmp, name)
            shutil.copyfile(os.path.join(FIXTURES, name), dst)
            os.chmod(dst, 0o600)
            creds[name] = dst
            cred_secrets |= credential_secrets(dst)
        if len(cred_secrets) < 20:
            c.fail(f"only {len(cred_secrets)} secrets read from the credentials files")

        per_cap = {}
        n_values = n_short = 0
        for cap in caps:
            vals, short = capture_secrets(cap)
            per_cap[cap] = vals | cred_secrets
            n_values += len(vals)
            n_short += short
        # The regex must find what is there: the wrong-password capture holds
        # four Authorization headers with qop=auth (response + cnonce each).
        wp = os.path.join(CAPTURES, "wrong-password.pcap")
        if os.path.exists(wp) and len(capture_secrets(wp)[0]) < 8:
            c.fail("the response/cnonce regex finds fewer than 8 values in wrong-password.pcap")

        for cap in caps:
            name = os.path.basename(cap)
            for out in ("text", "json"):
                for cname, cpath in creds.items():
                    ladder = ["--ladder"] if out == "text" else []  # the drawing too
                    c.run([exe, "-r", cap, "-o", out, "-v", "--stats", "--credentials", cpath]
                          + ladder,
                          f"{name} -o {out} ({cname})", per_cap[cap])
            # journal sink without journald: the text fallback on stderr
            r = c.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                       'mount -t tmpfs tmpfs /run/systemd && exec "$@"', "sh", exe, "-r", cap,
                       "-o", "journal", "-v", "--credentials", creds["credentials.txt"]]
                      if os.geteuid() == 0 and shutil.which("unshare") else
                      [exe, "-r", cap, "-o", "journal", "-v", "--credentials", creds["credentials.txt"]],
                      f"{name} -o journal (no journald)", per_cap[cap])

        why = journal_usable(args.journal_helper)
        if why:
            print(f"note: journal part not run: {why}")
        else:
            jdir = os.path.join(tmp, "jd")
            outs = os.path.join(tmp, "jout")
            os.makedirs(outs)
            r = subprocess.run(["unshare", "-m", "--propagation", "private", args.journal_helper,
                                "--with-journald", jdir, sys.executable, "-c", INNER, exe, outs,
                                creds["credentials.txt"]] + caps,
                               capture_output=True, timeout=600)
            if r.returncode != 0:
                c.fail(f"private journald run failed: {r.stderr[-400:].decode(errors='replace')}")
            all_secrets = set().union(*per_cap.values())
            emitted = 0
            for i, cap in enumerate(caps):
                name = os.path.basename(cap)
                try:
                    rc = open(os.path.join(outs, f"{i}.rc")).read()
                except OSError:
                    c.fail(f"{name} -o journal: did not run")
                    continue
                c.runs += 1
                if rc not in ("0", "1"):
                    c.fail(f"{name} -o journal: exit {rc}")
                emitted += rc == "1"
                for ext in ("out", "err"):
                    c.scan(f"{name} -o journal {ext}", open(os.path.join(outs, f"{i}.{ext}"), "rb").read(),
                           per_cap[cap])
                err = open(os.path.join(outs, f"{i}.err"), "rb").read()
                if b"journald is not available" in err:
                    c.fail(f"{name} -o journal: fell back to stderr although journald runs")
            j = subprocess.run(["journalctl", "-D", os.path.join(jdir, "journal"), "-o", "export",
                                "--no-pager"], capture_output=True, timeout=120)
            if j.returncode != 0:
                c.fail("journalctl -D failed: " + j.stderr.decode(errors="replace"))
            entries = j.stdout.count(b"SIP_DIAGNOSIS=")
            # Every run that exited 1 logged at least one record.
            if entries < emitted:
                c.fail(f"journal has {entries} sipauthmon records, {emitted} runs emitted some")
            c.scan("journal (export format, every field)", j.stdout, all_secrets)
            print(f"journal: {entries} records from {len(caps)} captures checked")

        print(f"secrets: {len(caps)} captures, {c.runs} runs, {n_values} response/cnonce values "
              f"(+{n_short} shorter than {MIN_LEN} not searched), {len(cred_secrets)} credential secrets")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if c.failures:
        print(f"{c.failures} failure(s)", file=sys.stderr)
        return 1
    print("no secret found in any output")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The configuration file as an operator meets it (sipauthmon.conf(5)).

--check-config: OK and exit 0 on the shipped default configuration and on a
good file with drop-ins and a credentials file; exit 2 and one
"FILE:LINE: what" line naming what is allowed for a bad value, an unknown
key, a bad drop-in, a bad cross-key setting, a credentials file with a bad
line and one that group or others may read; the capture named by -r is
never opened. Comments after a value are accepted and the value is the one
used (a '#' inside a value is kept). The keys parser, verbose, quiet and
ladder do what their options do, and the option wins over the key.

Usage: test_config.py --sipauthmon PATH --srcdir DIR   (standard library only)
Exit: 0 all passed, 1 a failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


class Env:
    def __init__(self, exe, srcdir, tmp):
        self.exe, self.srcdir, self.tmp = exe, Path(srcdir), Path(tmp)

    def write(self, name, text, mode=0o644):
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)
        return str(p)

    def run(self, args):
        env = {k: v for k, v in os.environ.items()
               if k not in ("INVOCATION_ID", "JOURNAL_STREAM")}
        r = subprocess.run([self.exe] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=30, env=env)
        return r.returncode, r.stdout, r.stderr

    def creds(self, name, mode=0o600, extra=""):
        text = (self.srcdir / "tests" / "fixtures" / "credentials.txt").read_text()
        return self.write(name, text + extra, mode)

    def capture(self):
        return str(self.srcdir / "tests" / "golden" / "captures" / "wrong-password.pcap")


def error_at(r, where, *words):
    """Exit 2, nothing on stdout, one stderr line starting with where + ': '."""
    rc, out, err = r
    lines = [l for l in err.splitlines() if l.strip()]
    return (rc == 2 and out == "" and len(lines) == 1 and lines[0].startswith(where + ": ")
            and all(w in lines[0] for w in words))


def test_good(e):
    r = e.run(["--check-config", "-c", str(e.srcdir / "systemd" / "sipauthmon.conf")])
    check("shipped default configuration: OK, exit 0", r[0] == 0 and r[1] == "OK\n"
          and r[2] == "", r)

    creds = e.creds("good/credentials")
    main = e.write("good/main.conf", "# site\n[sipauthmon]\ninterface = eth1  # mirror port\n"
                   "threshold = 4 # comment\nwindow = 600 ; also a comment\n"
                   "credentials = %s\n" % creds)
    e.write("good/main.conf.d/10-hep.conf", "[sipauthmon]\nhep_listen = 127.0.0.1:9060\n"
            "hep_auth_key = k#ey   # the '#' after k is part of the key\n")
    e.write("good/main.conf.d/20-parser.conf", "parser = full\nverbose = no\nladder = auto\n")
    e.write("good/main.conf.d/README", "not a drop-in: ignored\n")
    r = e.run(["--check-config", "-c", main])
    check("good file with drop-ins and credentials: OK, exit 0",
          r[0] == 0 and r[1] == "OK\n" and r[2] == "", r)
    # The capture is not opened: only the files are checked.
    r = e.run(["--check-config", "-c", main, "-r", str(e.tmp / "no-such.pcap")])
    check("--check-config -r MISSING: the capture is not opened", r[0] == 0 and r[1] == "OK\n", r)
    # An empty file is a valid configuration (every default); no input is needed.
    r = e.run(["--check-config", "-c", e.write("empty.conf", "")])
    check("empty file: OK", r[0] == 0 and r[1] == "OK\n", r)


def test_bad(e):
    p = e.write("bad-value.conf", "[sipauthmon]\n\nthreshold = 40  # too many\n")
    r = e.run(["--check-config", "-c", p])
    check("bad value: exit 2, FILE:LINE, the allowed range",
          error_at(r, p + ":3", "threshold", "'40'", "1-32"), r)

    p = e.write("unknown.conf", "threshold = 3\ntreshold = 4\n")
    r = e.run(["--check-config", "-c", p])
    check("unknown key: FILE:LINE, the nearest key, where the keys are listed",
          error_at(r, p + ":2", "unknown key 'treshold'", "did you mean 'threshold'",
                   "sipauthmon.conf(5)"), r)

    p = e.write("section.conf", "[sipauthmon]\nthreshold = 3\n[main]\nwindow = 9\n")
    r = e.run(["--check-config", "-c", p])
    check("unknown section: FILE:LINE, the one allowed",
          error_at(r, p + ":4", "'[main]'", "[sipauthmon]"), r)

    p = e.write("syntax.conf", "threshold 3\n")
    r = e.run(["--check-config", "-c", p])
    check("syntax error: FILE:LINE, the expected form", error_at(r, p + ":1", "key = value"), r)

    p = e.write("bool.conf", "stats = maybe\n")
    r = e.run(["--check-config", "-c", p])
    check("bad boolean: yes or no", error_at(r, p + ":1", "'maybe'", "yes or no"), r)

    main = e.write("dropin/main.conf", "threshold = 3\n")
    e.write("dropin/main.conf.d/10-ok.conf", "window = 60\n")
    bad = e.write("dropin/main.conf.d/20-bad.conf", "# site\noutput = syslog\n")
    r = e.run(["--check-config", "-c", main])
    check("bad drop-in: its FILE:LINE, the allowed values",
          error_at(r, bad + ":2", "'syslog'", "journal, text or json"), r)

    p = e.write("hep.conf", "# no key, no allow-list\n\nhep_listen = 192.0.2.1:9060\n")
    r = e.run(["--check-config", "-c", p])
    check("HEP listener nobody can vouch for: the FILE:LINE of hep_listen",
          error_at(r, p + ":3", "hep_auth_key", "hep_allow"), r)

    r = e.run(["--check-config", "-c", str(e.tmp / "nope.conf")])
    check("missing -c file: exit 2, named", r[0] == 2 and "nope.conf" in r[2], r)


def test_credentials(e):
    bad = e.creds("creds/bad", extra="zoe example.test sha1:0123\n")
    lineno = len(Path(bad).read_text().splitlines())
    p = e.write("creds/a.conf", "credentials = %s\n" % bad)
    r = e.run(["--check-config", "-c", p])
    check("credentials file with a bad line: its FILE:LINE",
          error_at(r, "%s:%d" % (bad, lineno), "unknown secret type", "plain, md5"), r)
    secrets = [l.split()[2].split(":", 1)[1] for l in Path(bad).read_text().splitlines()
               if l.strip() and not l.startswith("#")]
    check("... and no secret in the message", not any(s in r[2] for s in secrets if len(s) > 4))

    open_ = e.creds("creds/open", mode=0o644)
    p = e.write("creds/b.conf", "credentials = %s\n" % open_)
    r = e.run(["--check-config", "-c", p])
    check("credentials file readable by others: refused with the fix",
          r[0] == 2 and r[1] == "" and open_ in r[2] and "chmod 600" in r[2], r)

    # --credentials on the command line (as the units pass it) is checked too.
    r = e.run(["--check-config", "-c", e.write("creds/c.conf", ""), "--credentials", bad])
    check("--credentials with a bad line: its FILE:LINE",
          error_at(r, "%s:%d" % (bad, lineno), "unknown secret type"), r)


def run_json(e, conf, *extra):
    rc, out, err = e.run(["-c", conf, "-r", e.capture(), "--stats"] + list(extra))
    stats = dict(m.groups() for m in re.finditer(r"^\s*([a-z0-9_.]+)\s+(\d+)$", err, re.M))
    return rc, out, err, stats


def test_comments_and_keys(e):
    prom = e.tmp / "m#1.prom"
    conf = e.write("used.conf", "output = json  # JSON lines\nthreshold = 3 ; the default\n"
                   "metrics_file = %s  # a '#' inside a path is kept\n" % prom)
    rc, out, err, st = run_json(e, conf)
    recs = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("comment after a value: the value is used (JSON output, one diagnosis)",
          rc == 1 and [d.get("diagnosis") for d in recs] == ["wrong-password"], (rc, out, err))
    check("a '#' inside a value is kept (metrics file written at that path)", prom.exists(),
          sorted(os.listdir(e.tmp)))

    full = e.write("full.conf", "output = json\nparser = full   # every message via sofia-sip\n")
    rc, out, err, st = run_json(e, full)
    check("parser = full: every message through sofia-sip",
          rc == 1 and st.get("sip.full", "0") != "0" and st.get("sip.fast") == "0", st)
    rc, out, err, st = run_json(e, full, "--parser", "fast")
    check("--parser fast wins over parser = full",
          rc == 1 and st.get("sip.fast", "0") != "0" and st.get("sip.full") == "0", st)
    r = e.run(["--check-config", "-c", e.write("p.conf", "parser = fastest\n")])
    check("parser = fastest: refused, fast or full", error_at(r, e.tmp.as_posix() + "/p.conf:1",
                                                               "fast or full"), r)

    debug = "threshold 3, window 300 s"
    rc, out, err, st = run_json(e, e.write("v.conf", "output = json\nverbose = yes\n"))
    check("verbose = yes: debug detail on stderr", rc == 1 and debug in err, err)
    rc, out, err, st = run_json(e, e.write("q.conf", "output = json\nverbose = yes\n"
                                           "quiet = yes\n"))
    check("quiet = yes after verbose = yes: no debug detail", rc == 1 and debug not in err, err)
    rc, out, err, st = run_json(e, e.write("q2.conf", "output = json\nquiet = yes\n"), "-v")
    check("-v wins over quiet = yes", rc == 1 and debug in err, err)
    rc, out, err, st = run_json(e, e.write("n.conf", "output = json\n"))
    check("without verbose: no debug detail", rc == 1 and debug not in err, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", required=True)
    ap.add_argument("--srcdir", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sipauthmon-config-") as tmp:
        e = Env(a.sipauthmon, a.srcdir, tmp)
        for t in (test_good, test_bad, test_credentials, test_comments_and_keys):
            t(e)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""meson install into a DESTDIR, and what was installed.

  1. `meson install --destdir` puts every file in its standard place under
     the build's prefix: the binary in sbindir, the units in the directory
     systemd's pkg-config file names (with our prefix), the catalog, the
     default configuration and its drop-in directory, the man pages, the
     example drop-ins and the fail2ban filter and jail. Nothing escapes the
     DESTDIR, and nothing else is installed.
  2. The units: the [Service] sections of the two are the same but for
     ExecStart=; systemd-analyze verify is clean (on copies whose ExecStart=
     points into the DESTDIR, since the prefix is not installed here), also
     with each example drop-in appended; systemd-analyze security
     --offline=true rates each at 2.0 or lower, and the rating of the plain
     units is the one sipauthmon.conf(5) states.
  3. The man pages lint clean (mandoc -T lint).
  4. The default configuration documents every key the daemon knows
     (daemon/options.c), as does sipauthmon.conf(5); the defaults it states
     are the built-in ones (analysis/tracker.c, daemon/options.c); with every
     key uncommented the daemon accepts it and uses it (the credentials key
     makes a wrong password "confirmed"), and so it does the configuration
     examples of sipauthmon.conf(5).

usage: test_install.py --meson MESON --builddir DIR --sipauthmon EXE
exit 0 pass, 1 fail, 77 skip
"""
import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Checks  # noqa: E402

SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# contrib/prometheus, installed as examples (sipauthmon.conf(5), Prometheus).
PROMETHEUS_EXAMPLES = ("sipauthmon-alerts.yml", "sipauthmon-dashboard.json",
                       "sipauthmon.service.d/prometheus.conf", "sipauthmon.conf.d/metrics.conf",
                       "sysusers.d/sipauthmon-metrics.conf", "tmpfiles.d/sipauthmon-metrics.conf")


CHECKS = Checks()
check = CHECKS.check


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def build_options(meson, builddir):
    out = run([meson, "introspect", "--buildoptions", builddir])
    if out.returncode != 0:
        sys.exit("meson introspect failed: " + out.stderr)
    return {o["name"]: o["value"] for o in json.loads(out.stdout)}


def under(prefix, d):
    return d if os.path.isabs(d) else os.path.join(prefix, d)


def systemd_dir(var, prefix, fallback):
    """What systemd/meson.build does: systemd.pc with our prefix put in."""
    if shutil.which("pkg-config") and run(["pkg-config", "--exists", "systemd"]).returncode == 0:
        for define in ("prefix", "rootprefix"):
            out = run(["pkg-config", "--define-variable=%s=%s" % (define, prefix), "--variable=" + var, "systemd"])
            d = out.stdout.strip()
            if out.returncode == 0 and d.startswith(prefix + "/"):
                return d
    return os.path.join(prefix, "lib", "systemd", fallback)


def service_section(text):
    m = re.search(r"^\[Service\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    return [l for l in (m.group(1) if m else "").splitlines() if l and not l.startswith("#")]


def keys_of_options_c():
    src = open(os.path.join(SRCDIR, "daemon", "options.c"), encoding="utf-8").read()
    keys = set(re.findall(r'\{"([a-z_]+)",\s*SET_[A-Z_]+\}', src))
    keys |= set(re.findall(r'\[TUNE_[A-Z_]+\]\s*=\s*\{"([a-z_]+)"', src))
    keys |= set(re.findall(r'strcmp\(name,\s*"([a-z_]+)"\)', src))
    return keys


def builtin_defaults():
    """Defaults from the sources: the tracker's table, the option defaults."""
    tracker = open(os.path.join(SRCDIR, "analysis", "tracker.c"), encoding="utf-8").read()
    m = re.search(r"void tracker_config_default\(.*?\n\}", tracker, re.S)
    d = {}
    for k, v in re.findall(r"\.(\w+)\s*=\s*(\d+)\b", m.group(0) if m else ""):
        d[k] = v
    opts = open(os.path.join(SRCDIR, "daemon", "options.c"), encoding="utf-8").read()
    m = re.search(r"void options_init\(.*?\n\}", opts, re.S)
    for k, v in re.findall(r"\.(\w+)\s*=\s*(\d+)\b", m.group(0) if m else ""):
        d[{"window_s": "window"}.get(k, k)] = v
    return d


def check_tree(dest, opt, args):
    prefix = opt["prefix"]
    sysconf = under(prefix, opt["sysconfdir"])
    sbindir = under(prefix, opt["sbindir"])
    mandir = under(prefix, opt["mandir"])
    docdir = os.path.join(under(prefix, opt["datadir"]), "doc", "sipauthmon")
    unitdir = systemd_dir("systemdsystemunitdir", prefix, "system")
    catalogdir = systemd_dir("catalogdir", prefix, "catalog")
    man = os.path.exists(os.path.join(args.builddir, "man", "sipauthmon.8"))

    want = {
        os.path.join(sbindir, "sipauthmon"): 0o755,
        os.path.join(unitdir, "sipauthmon.service"): 0o644,
        os.path.join(unitdir, "sipauthmon@.service"): 0o644,
        os.path.join(catalogdir, "sipauthmon.catalog"): 0o644,
        os.path.join(sysconf, "sipauthmon", "sipauthmon.conf"): 0o644,
        os.path.join(docdir, "examples", "systemd", "credentials.conf"): 0o644,
        os.path.join(docdir, "examples", "systemd", "hep-listen.conf"): 0o644,
        os.path.join(docdir, "examples", "systemd", "hep-send.conf"): 0o644,
        os.path.join(docdir, "sipauthmon-record.schema.json"): 0o644,
        os.path.join(docdir, "examples", "fail2ban", "filter.d", "sipauthmon.conf"): 0o644,
        os.path.join(docdir, "examples", "fail2ban", "jail.d", "sipauthmon.conf"): 0o644,
        os.path.join(under(prefix, opt["datadir"]), "bash-completion", "completions", "sipauthmon"): 0o644,
    }
    for f in PROMETHEUS_EXAMPLES:
        want[os.path.join(docdir, "examples", "prometheus", f)] = 0o644
    if man:
        for page in ("man8/sipauthmon.8", "man5/sipauthmon.conf.5", "man5/sipauthmon-credentials.5"):
            want[os.path.join(mandir, page)] = 0o644
    else:
        print("note: man pages not built (scdoc missing): not checked")

    found = set()
    for root, dirs, files in os.walk(dest):
        for f in files:
            found.add("/" + os.path.relpath(os.path.join(root, f), dest))
    for path, mode in sorted(want.items()):
        full = dest + path
        if check(os.path.isfile(full), "not installed: " + path):
            st = os.stat(full)
            check(stat.S_IMODE(st.st_mode) == mode, "%s: mode %o, want %o" % (path, stat.S_IMODE(st.st_mode), mode))
    check(os.path.isdir(dest + os.path.join(sysconf, "sipauthmon", "sipauthmon.conf.d")),
          "the drop-in directory sipauthmon.conf.d is not installed")
    extra = sorted(found - set(want))
    check(not extra, "installed but not expected: %s" % extra)

    # The paths inside the installed files are those of the prefix.
    for u in ("sipauthmon.service", "sipauthmon@.service"):
        text = open(dest + os.path.join(unitdir, u)).read()
        check("ExecStart=%s/sipauthmon " % sbindir in text, "%s: ExecStart= is not %s/sipauthmon" % (u, sbindir))
        # A reload checks the configuration first: a broken edit leaves the daemon as it was.
        check("ExecReload=%s/sipauthmon --check-config " % sbindir in text,
              "%s: ExecReload= does not run %s/sipauthmon --check-config" % (u, sbindir))
        check("@" + "sbindir@" not in text and "@sysconfdir@" not in text, u + ": unsubstituted @var@")
    cred = open(dest + os.path.join(docdir, "examples", "systemd", "credentials.conf")).read()
    check("LoadCredential=credentials:%s/sipauthmon/credentials\n" % sysconf in cred,
          "credentials.conf does not load %s/sipauthmon/credentials" % sysconf)
    return {
        "unitdir": unitdir, "sbindir": sbindir, "sysconf": sysconf, "docdir": docdir,
        "mandir": mandir if man else None,
    }


def check_units(dest, where, tmp):
    units = {}
    for u in ("sipauthmon.service", "sipauthmon@.service"):
        units[u] = open(dest + os.path.join(where["unitdir"], u)).read()
    plain = service_section(units["sipauthmon.service"])
    inst = service_section(units["sipauthmon@.service"])
    check(len(plain) > 30, "suspiciously short [Service] section: %d lines" % len(plain))
    strip = lambda lines: [l for l in lines if not l.startswith("ExecStart=")]
    check(strip(plain) == strip(inst), "the [Service] sections differ beyond ExecStart=: %s" %
          sorted(set(strip(plain)) ^ set(strip(inst))))
    for key in ("Type=notify", "NotifyAccess=main", "DynamicUser=yes", "AmbientCapabilities=CAP_NET_RAW",
                "CapabilityBoundingSet=CAP_NET_RAW", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "IPAddressDeny=any",
                "LimitCORE=0"):
        check(key in inst, "sipauthmon@.service lacks " + key)
    check(any(l.startswith("WatchdogSec=") for l in inst), "no WatchdogSec=")
    check(any(re.match(r"ExecStart=\S+ --interface=%i ", l) for l in inst), "the instance is not the interface")

    sa = shutil.which("systemd-analyze")
    if not sa:
        print("note: systemd-analyze missing: verify and security not checked")
        return
    docs = open(os.path.join(SRCDIR, "man", "sipauthmon.conf.5.scd")).read()
    m = re.search(r"rates the units at (\d+\.\d)", re.sub(r"\s+", " ", docs))
    documented = m.group(1) if m else None
    check(documented is not None, "sipauthmon.conf(5) does not state the exposure rating")
    binary = dest + os.path.join(where["sbindir"], "sipauthmon")
    dropins = {
        "": "",
        "+credentials": open(dest + os.path.join(where["docdir"], "examples", "systemd", "credentials.conf")).read(),
        "+hep-listen": open(dest + os.path.join(where["docdir"], "examples", "systemd", "hep-listen.conf")).read(),
        "+hep-send": open(dest + os.path.join(where["docdir"], "examples", "systemd", "hep-send.conf")).read(),
        "+prometheus": open(dest + os.path.join(where["docdir"], "examples", "prometheus",
                                                "sipauthmon.service.d", "prometheus.conf")).read(),
    }
    scores = {}
    for u, text in units.items():
        for dname, dtext in dropins.items():
            name = u.replace("@.service", "@eth1.service")
            d = os.path.join(tmp, "units" + dname)
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, name)
            # The unit as installed, its binary found in the DESTDIR, and the
            # drop-in appended as systemd would read it after the unit.
            body = text.replace("ExecStart=%s/sipauthmon " % where["sbindir"], "ExecStart=%s " % binary)
            body = body.replace("ExecReload=%s/sipauthmon " % where["sbindir"], "ExecReload=%s " % binary)
            with open(path, "w") as f:
                f.write(body + "\n" + dtext)
            v = run([sa, "verify", "--man=no", path])
            check(v.returncode == 0 and not v.stdout.strip() and not v.stderr.strip(),
                  "systemd-analyze verify %s%s: rc %d\n%s%s" % (name, dname, v.returncode, v.stdout, v.stderr))
            s = run([sa, "security", "--offline=true", "--no-pager", path])
            m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", s.stdout)
            if check(m is not None, "systemd-analyze security %s%s: no rating\n%s%s" % (name, dname, s.stdout, s.stderr)):
                scores[name + dname] = m.group(1)
                check(float(m.group(1)) <= 2.0, "%s%s is rated %s, above 2.0" % (name, dname, m.group(1)))
                if not dname or dname == "+prometheus":
                    # The Prometheus drop-in is documented to leave the rating as it is.
                    check(m.group(1) == documented, "%s%s is rated %s; sipauthmon.conf(5) says %s" % (name, dname, m.group(1), documented))
    print("systemd-analyze security --offline=true: " + ", ".join("%s %s" % kv for kv in sorted(scores.items())))


def check_man(dest, where):
    if not where["mandir"]:
        return
    if not shutil.which("mandoc"):
        print("note: mandoc missing: man pages not linted")
        return
    for page in ("man8/sipauthmon.8", "man5/sipauthmon.conf.5", "man5/sipauthmon-credentials.5"):
        r = run(["mandoc", "-T", "lint", dest + os.path.join(where["mandir"], page)])
        check(r.returncode == 0 and not r.stdout.strip(), "mandoc -T lint %s:\n%s%s" % (page, r.stdout, r.stderr))


def parse_conf(text):
    """key -> value of the commented-out settings ("#key = value")."""
    keys = {}
    for line in text.splitlines():
        m = re.match(r"^#([a-z_]+) =(?: (.*))?$", line)
        if m:
            keys.setdefault(m.group(1), m.group(2) or "")
    return keys


def long_options_of_options_c():
    src = open(os.path.join(SRCDIR, "daemon", "options.c"), encoding="utf-8").read()
    m = re.search(r"struct option long_options\[\] = \{(.*?)\n\};", src, re.S)
    return set(re.findall(r'\{"([a-z-]+)",', m.group(1) if m else ""))


def check_option_keys(known, page):
    """Every long option is a key (--sip-ports: sip_ports, --no-ladder: ladder), or
    one of the options sipauthmon.conf(5) and the README name as having none."""
    opts = long_options_of_options_c()
    check(len(opts) >= 20, "only %d long options found in daemon/options.c" % len(opts))
    m = re.search(r"except\s+these\s+\w+,\s+which\s+make\s+no\s+sense\s+in\s+a\s+file:(.*?)\.\s", page, re.S)
    none_page = set(re.findall(r"\*--([a-z-]+)\*", m.group(1) if m else ""))
    readme = open(os.path.join(SRCDIR, "README.md"), encoding="utf-8").read()
    m = re.search(r"except\s+the\s+\w+\s+that\s+make\s+no\s+sense\s+in\s+a\s+file:(.*?)\.\s", readme, re.S)
    none_readme = set(re.findall(r"`--([a-z-]+)`", m.group(1) if m else ""))
    keyless = set()
    for o in opts:
        k = o.replace("-", "_")
        if k not in known and not (k.startswith("no_") and k[3:] in known):
            keyless.add(o)
    check(keyless == none_page, "options without a key %s, but sipauthmon.conf(5) names %s" %
          (sorted(keyless), sorted(none_page)))
    check(keyless == none_readme, "options without a key %s, but the README names %s" %
          (sorted(keyless), sorted(none_readme)))


def check_config(dest, where, args, tmp):
    conf_path = dest + os.path.join(where["sysconf"], "sipauthmon", "sipauthmon.conf")
    text = open(conf_path).read()
    documented = parse_conf(text)
    known = keys_of_options_c()
    check(len(known) >= 20, "only %d keys found in daemon/options.c" % len(known))
    check(set(documented) == known, "default configuration: keys missing %s, unknown %s" %
          (sorted(known - set(documented)), sorted(set(documented) - known)))
    page = open(os.path.join(SRCDIR, "man", "sipauthmon.conf.5.scd")).read()
    in_page = set(re.findall(r"^\*([a-z_]+)\* =", page, re.M))
    check(in_page == known, "sipauthmon.conf(5): keys missing %s, unknown %s" %
          (sorted(known - in_page), sorted(in_page - known)))
    check_option_keys(known, page)
    builtin = builtin_defaults()
    for k, v in documented.items():
        if k in builtin:
            check(v == builtin[k], "default configuration says %s = %s, the built-in default is %s" % (k, v, builtin[k]))
            m = re.search(r"^\*%s\* = .*?Default\s+\*(\d+)\*" % re.escape(k), page, re.M | re.S)
            check(m is not None and m.group(1) == builtin[k],
                  "sipauthmon.conf(5) gives %s the default %s, the built-in one is %s" % (k, m.group(1) if m else None, builtin[k]))
    check(len([k for k in documented if k in builtin]) >= 10, "too few defaults compared: %s" % sorted(builtin))

    # Every key uncommented: accepted and used. "read" would conflict with
    # "interface" (the command line's -r wins over both anyway); duration
    # and count have no default to show; the credentials are a private copy
    # of the golden fixtures' file.
    creds = os.path.join(tmp, "credentials")
    shutil.copy(os.path.join(SRCDIR, "tests", "fixtures", "credentials.txt"), creds)
    os.chmod(creds, 0o600)
    lines = []
    for line in text.splitlines():
        m = re.match(r"^#([a-z_]+) =(?: (.*))?$", line)
        if not m or m.group(1) in ("read", "duration", "count"):
            lines.append(line)
            continue
        k, v = m.group(1), m.group(2) or ""
        v = {"credentials": creds, "user": "nobody"}.get(k, v)
        lines.append("%s = %s" % (k, v))
    full = os.path.join(tmp, "full.conf")
    with open(full, "w") as f:
        f.write("\n".join(lines) + "\n")
    capture = os.path.join(SRCDIR, "tests", "golden", "captures", "wrong-password.pcap")
    r = run([args.sipauthmon, "-c", full, "-r", capture, "-o", "json"], stdin=subprocess.DEVNULL)
    check(r.returncode == 1, "every key uncommented: exit %d, want 1\n%s" % (r.returncode, r.stderr))
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    check([d.get("diagnosis") for d in recs] == ["wrong-password"], "every key uncommented: %r" % r.stdout)
    check(all("confirmed" in d.get("evidence", "") for d in recs), "the credentials key was not used: %r" % r.stdout)
    # As installed (all commented out), with the same capture.
    r = run([args.sipauthmon, "-c", conf_path, "-r", capture, "-o", "json"], stdin=subprocess.DEVNULL)
    check(r.returncode == 1 and "inferred" in r.stdout, "the installed configuration: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))

    # The configuration examples of sipauthmon.conf(5).
    blocks = re.findall(r"^```\n(# /etc/sipauthmon/sipauthmon\.conf[^\n]*\n.*?)^```", page, re.M | re.S)
    check(len(blocks) >= 2, "sipauthmon.conf(5) has %d configuration examples" % len(blocks))
    for i, b in enumerate(blocks):
        p = os.path.join(tmp, "example%d.conf" % i)
        with open(p, "w") as f:
            f.write(b)
        r = run([args.sipauthmon, "-c", p, "-r", capture, "-o", "json"], stdin=subprocess.DEVNULL)
        check(r.returncode in (0, 1), "example %d of sipauthmon.conf(5) is refused: %s\n%s" % (i, r.stderr, b))

    # The configuration drop-in of the Prometheus examples: a valid file,
    # naming node_exporter's textfile directory (the command line's
    # --metrics-file overrides its path here, so nothing is written there).
    prom = dest + os.path.join(where["docdir"], "examples", "prometheus", "sipauthmon.conf.d", "metrics.conf")
    text = open(prom).read()
    check("metrics_file = /var/lib/prometheus/node-exporter/sipauthmon.prom\n" in text,
          "metrics.conf does not name /var/lib/prometheus/node-exporter/sipauthmon.prom")
    out = os.path.join(tmp, "example.prom")
    r = run([args.sipauthmon, "-c", prom, "--metrics-file", out, "-r", capture, "-o", "json"], stdin=subprocess.DEVNULL)
    check(r.returncode == 1 and os.path.exists(out), "the Prometheus configuration drop-in is refused: %s" % r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meson", required=True)
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--sipauthmon", required=True)
    args = ap.parse_args()
    opt = build_options(args.meson, args.builddir)
    with tempfile.TemporaryDirectory(prefix="sipauthmon-install.") as tmp:
        dest = os.path.join(tmp, "dest")
        r = run([args.meson, "install", "-C", args.builddir, "--destdir", dest, "--no-rebuild", "--quiet"])
        if r.returncode != 0:
            print("FAIL: meson install --destdir failed:\n" + r.stdout + r.stderr, file=sys.stderr)
            return 1
        where = check_tree(dest, opt, args)
        check_units(dest, where, tmp)
        check_man(dest, where)
        check_config(dest, where, args, tmp)
    if CHECKS.failed:
        print("%d check(s) failed" % CHECKS.failed, file=sys.stderr)
        return 1
    print("install: tree, units, man pages and configuration OK (prefix %s)" % opt["prefix"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

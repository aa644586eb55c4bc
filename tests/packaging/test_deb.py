#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Debian package: built from a clean copy of the tree, checked by lintian.

  1. The tree as git sees it (tracked and untracked files, not ignored
     ones: no build directories, no .git) is copied to a temporary
     directory, and `dpkg-buildpackage -b -us -uc` builds it there
     (DEB_BUILD_OPTIONS=nocheck: the suite runs in the CI passes, not in
     the package build). The .deb lands in BUILDDIR/packaging-deb/ with a
     fingerprint of the tree it was built from; the systemd-unit test
     installs that .deb (`--build-only` builds it, or reuses it when the
     fingerprint matches, or with --newer-than BINARY when it was built
     after the build directory's binary: in the same `meson test` run,
     while others edit the tree).
  2. lintian (--pedantic) on the .changes and on the source package
     (dpkg-source -b on the same copy): any error (E:) fails the test;
     its whole output is printed and kept in packaging-deb/lintian.txt.
  3. The package's files: the binary (0755), both units, the journal
     catalog where systemd's dpkg trigger looks (its interest in
     /usr/lib/systemd/catalog runs journalctl --update-catalog), the
     configuration as the only conffile and its empty drop-in directory,
     the man pages, bash completion, the examples (fail2ban, Prometheus,
     systemd drop-ins) and the JSON Schema, uncompressed where the man
     page names it; nothing under /usr/local.
  4. Neither unit is enabled or started by the maintainer scripts.
  5. The paths agree: ExecStart= is /usr/sbin/sipauthmon, --help names
     /etc/sipauthmon/sipauthmon.conf, every file of the package the man
     pages name (/usr/share/doc/sipauthmon/..., /usr/lib/systemd/...) is
     in the package.
  6. Build-Depends names the package of every pkg-config dependency the
     meson configuration of the package build found.
  7. The packaged bash completion, run in bash with bash-completion,
     offers every long option of --help and the values of -o and --parser.

usage: test_deb.py --meson MESON --builddir DIR            (the test)
       test_deb.py --meson MESON --builddir DIR --build-only   (prints the .deb)
exit 0 pass, 1 fail, 77 skip
"""
import argparse
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def tree_files():
    """The files of the tree as git sees it, or every file but build output."""
    if os.path.isdir(os.path.join(SRCDIR, ".git")) and shutil.which("git"):
        r = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True)
        files = [f.decode() for f in r.stdout.split(b"\0") if f]
    else:
        files = []
        for root, dirs, names in os.walk(SRCDIR):
            rel = os.path.relpath(root, SRCDIR)
            dirs[:] = [d for d in dirs if not (rel == "." and (d.startswith("build") or d.startswith("obj-")))
                       and d != ".git" and d != "__pycache__"]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    # a tracked file deleted in the working tree is not part of it
    return sorted(f for f in files if os.path.lexists(os.path.join(SRCDIR, f)))


def fingerprint(files):
    h = hashlib.sha256()
    for f in files:
        p = os.path.join(SRCDIR, f)
        st = os.lstat(p)
        h.update(f.encode() + b"\0" + oct(stat.S_IMODE(st.st_mode)).encode() + b"\0")
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(p).encode())
        else:
            with open(p, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def build(out, newer_than=None):
    """The .deb for the tree as it is now, built in a copy (or the one in
    OUT when it was built from the same tree, or after the file NEWER_THAN
    was written). Returns its path."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = glob.glob(os.path.join(out, "sipauthmon_*.deb"))
        if newer_than and len(debs) == 1 and os.path.getmtime(debs[0]) >= os.path.getmtime(newer_than):
            print("reusing %s (newer than %s)" % (debs[0], newer_than), file=sys.stderr)
            return debs[0]
        files = tree_files()
        fp = fingerprint(files)
        stamp = os.path.join(out, "fingerprint")
        debs = glob.glob(os.path.join(out, "sipauthmon_*.deb"))
        if len(debs) == 1 and os.path.exists(stamp) and open(stamp).read().strip() == fp:
            print("reusing %s (built from this tree)" % debs[0], file=sys.stderr)
            return debs[0]
        for f in glob.glob(os.path.join(out, "*")):
            os.unlink(f)
        with tempfile.TemporaryDirectory(prefix="sipauthmon-deb.") as tmp:
            src = os.path.join(tmp, "sipauthmon")
            for f in files:
                d = os.path.join(src, f)
                os.makedirs(os.path.dirname(d), exist_ok=True)
                shutil.copy2(os.path.join(SRCDIR, f), d, follow_symlinks=False)
            env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%d" % (os.cpu_count() or 1))
            for k in ("SIPAUTHMON", "SRCDIR", "CORPORA", "SIPAUTHMON_BATCH", "MESON_TEST_ITERATION"):
                env.pop(k, None)
            with open(os.path.join(out, "build.log"), "w") as log:
                # the source package too, for lintian's checks of debian/
                # (before the build, which leaves its output in the tree)
                r = subprocess.run(["dpkg-source", "-Zgzip", "-z1", "-b", "sipauthmon"], cwd=tmp, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                if r.returncode == 0:
                    r = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src, env=env,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                sys.stderr.write(open(os.path.join(out, "build.log")).read()[-6000:])
                print("FAIL: dpkg-buildpackage -b -us -uc exited %d" % r.returncode, file=sys.stderr)
                sys.exit(1)
            for f in glob.glob(os.path.join(tmp, "*.*")):
                shutil.copy2(f, out)
            # what meson found in the package's own configuration (check 6)
            deps = run(["meson", "introspect", "--dependencies", glob.glob(os.path.join(src, "obj-*"))[0]])
            with open(os.path.join(out, "dependencies.json"), "w") as f:
                f.write(deps.stdout)
        with open(stamp, "w") as f:
            f.write(fp + "\n")
        debs = glob.glob(os.path.join(out, "sipauthmon_*.deb"))
        if len(debs) != 1:
            print("FAIL: dpkg-buildpackage made %r" % debs, file=sys.stderr)
            sys.exit(1)
        return debs[0]


def contents(deb):
    """{path: (mode, type)} of the data archive."""
    r = run(["dpkg-deb", "-c", deb], check=True)
    files = {}
    for line in r.stdout.splitlines():
        fields = line.split(None, 5)
        perm, path = fields[0], fields[5].split(" -> ")[0]
        path = path[1:] if path.startswith(".") else path
        files[path.rstrip("/") or "/"] = perm
    return files


def check_files(deb, files, unpacked):
    want = {
        "/usr/sbin/sipauthmon": "-rwxr-xr-x",
        "/lib/systemd/system/sipauthmon.service": "-rw-r--r--",
        "/lib/systemd/system/sipauthmon@.service": "-rw-r--r--",
        "/usr/lib/systemd/catalog/sipauthmon.catalog": "-rw-r--r--",
        "/etc/sipauthmon/sipauthmon.conf": "-rw-r--r--",
        "/etc/sipauthmon/sipauthmon.conf.d": "drwxr-xr-x",
        "/usr/share/man/man8/sipauthmon.8.gz": "-rw-r--r--",
        "/usr/share/man/man5/sipauthmon.conf.5.gz": "-rw-r--r--",
        "/usr/share/man/man5/sipauthmon-credentials.5.gz": "-rw-r--r--",
        "/usr/share/bash-completion/completions/sipauthmon": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/copyright": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/sipauthmon-record.schema.json": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/fail2ban/filter.d/sipauthmon.conf": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/fail2ban/jail.d/sipauthmon.conf": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/systemd/credentials.conf": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/systemd/hep-listen.conf": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/systemd/hep-send.conf": "-rw-r--r--",
        "/usr/share/doc/sipauthmon/examples/prometheus/sipauthmon-alerts.yml": "-rw-r--r--",
    }
    for path, perm in want.items():
        check(files.get(path) == perm, "%s: %s, want %s" % (path, files.get(path, "missing"), perm))
    check(not [f for f in files if f.startswith("/usr/local")], "files under /usr/local")
    other = [f for f in files if f.startswith("/etc/") and f not in want and not files[f].startswith("d")]
    check(not other, "other files in /etc: %s" % other)
    check(os.listdir(os.path.join(unpacked, "etc/sipauthmon/sipauthmon.conf.d")) == [],
          "sipauthmon.conf.d is not empty")
    # The catalog is where systemd's trigger looks.
    trig = "/var/lib/dpkg/info/systemd.triggers"
    if os.path.exists(trig):
        interests = re.findall(r"^interest(?:-noawait)?\s+(\S+)", open(trig).read(), re.M)
        check(any("/usr/lib/systemd/catalog/sipauthmon.catalog".startswith(i + "/") for i in interests),
              "systemd's dpkg triggers %r do not cover the catalog" % interests)
    else:
        print("note: systemd is not installed here: its catalog trigger not checked")


def check_control(deb):
    with tempfile.TemporaryDirectory(prefix="sipauthmon-ctrl.") as c:
        subprocess.run(["dpkg-deb", "-e", deb, c], check=True)
        conffiles = open(os.path.join(c, "conffiles")).read().split()
        check(conffiles == ["/etc/sipauthmon/sipauthmon.conf"], "conffiles %r" % conffiles)
        scripts = ""
        for s in ("preinst", "postinst", "prerm", "postrm"):
            if os.path.exists(os.path.join(c, s)):
                scripts += open(os.path.join(c, s)).read()
        postinst = open(os.path.join(c, "postinst")).read()
        check("systemctl --system daemon-reload" in postinst, "postinst does not reload systemd")
        # enable only where the administrator had enabled it before an upgrade
        lines = scripts.splitlines()
        for i, l in enumerate(lines):
            if re.search(r"deb-systemd-helper\s+enable", l):
                check(any("was-enabled" in x for x in lines[max(0, i - 3):i]), "a unit is enabled on install: " + l)
        check(re.search(r"deb-systemd-invoke\s+(\$_dh_action|start)", scripts) is None, "a unit is started on install")
        check(re.search(r"deb-systemd-invoke\s+try-restart\s+'?sipauthmon\.service", postinst) is not None,
              "postinst does not restart a running sipauthmon.service after an upgrade")


def check_paths(unpacked, files):
    units = {}
    for u in ("sipauthmon.service", "sipauthmon@.service"):
        units[u] = open(os.path.join(unpacked, "lib/systemd/system", u)).read()
        check(re.search(r"^ExecStart=/usr/sbin/sipauthmon ", units[u], re.M) is not None,
              "%s: ExecStart= is not /usr/sbin/sipauthmon" % u)
        check("/usr/local" not in units[u] and "@sbindir@" not in units[u], "%s names /usr/local or @var@" % u)
    h = run([os.path.join(unpacked, "usr/sbin/sipauthmon"), "--help"], stdin=subprocess.DEVNULL)
    check("default /etc/sipauthmon/sipauthmon.conf" in h.stdout,
          "--help of the packaged binary:\n" + h.stdout + h.stderr)
    cred = open(os.path.join(unpacked, "usr/share/doc/sipauthmon/examples/systemd/credentials.conf")).read()
    check("LoadCredential=credentials:/etc/sipauthmon/credentials" in cred, "credentials.conf: " + cred)
    # Every file of the package the man pages name is in it (units: the
    # man pages name /usr/lib/systemd/system, which is /lib/systemd/system
    # on a merged-/usr system; Debian 12 packages ship them in /lib).
    named = set()
    for page in glob.glob(os.path.join(SRCDIR, "man", "*.scd")):
        text = open(page).read().replace("\\_", "_").replace("\\*", "*")
        named |= {p.rstrip("_/.,") for p in re.findall(
            r"/usr/(?:share/doc/sipauthmon|lib/systemd|sbin|share/bash-completion)/[\w.@/-]*", text)}
    check(len(named) >= 5, "the man pages name only %s" % sorted(named))
    for p in sorted(named):
        alt = p.replace("/usr/lib/systemd/system/", "/lib/systemd/system/")
        check(p in files or alt in files, "the man pages name %s, which the package lacks" % p)


COMPLETE = r"""
source /usr/share/bash-completion/bash_completion
source "$1/usr/share/bash-completion/completions/sipauthmon"
comp() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
    _sipauthmon "${COMP_WORDS[0]}" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
    echo "${COMPREPLY[*]}"
}
B=$1/usr/sbin/sipauthmon
comp "$B" --
comp "$B" -o ""
comp "$B" --parser ""
comp "$B" --no-l
"""


def check_completion(unpacked):
    """The packaged completion in bash: every long option of --help, values."""
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        print("note: bash-completion missing: the completion not run")
        return
    r = run(["bash", "-c", COMPLETE, "bash", unpacked], stdin=subprocess.DEVNULL)
    lines = r.stdout.splitlines() + ["", "", "", ""]
    h = run([os.path.join(unpacked, "usr/sbin/sipauthmon"), "--help"], stdin=subprocess.DEVNULL).stdout
    longopts = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", h))
    check(len(longopts) > 20 and set(lines[0].split()) == longopts,
          "completion of --: %r, --help has %r" % (lines[0], sorted(longopts)))
    check(lines[1].split() == ["journal", "text", "json"], "completion of -o: %r" % lines[1])
    check(lines[2].split() == ["fast", "full"], "completion of --parser: %r" % lines[2])
    check(lines[3].split() == ["--no-ladder"], "completion of --no-l: %r (%s)" % (lines[3], r.stderr[-300:]))


def check_build_depends(out):
    control = open(os.path.join(SRCDIR, "debian", "control")).read()
    m = re.search(r"^Build-Depends:(.*?)(?=^\S)", control, re.M | re.S)
    bdeps = {re.split(r"[\s(]", d.strip())[0] for d in (m.group(1) if m else "").split(",") if d.strip()}
    deps = json.load(open(os.path.join(out, "dependencies.json")))
    seen = 0
    for d in deps:
        name = d.get("name")
        if not name or name in ("threads",) or d.get("type") not in (None, "pkgconfig", "dependency"):
            continue
        pc = run(["pkg-config", "--path", name])
        if pc.returncode != 0:
            continue  # not a pkg-config dependency
        owner = run(["dpkg", "-S", os.path.realpath(pc.stdout.strip())])
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", pc.stdout.strip()])
        pkg = owner.stdout.split(":")[0].strip()
        seen += 1
        provides = run(["dpkg-query", "-W", "-f", "${Provides}", pkg]).stdout
        names = {pkg} | {re.split(r"[\s(]", x.strip())[0] for x in provides.split(",") if x.strip()}
        # or a Build-Depends that pulls it in (libpcap-dev: libpcap0.8-dev)
        pulled = any(re.search(r"(^|[,|]\s*)%s(\s|,|\(|$)" % re.escape(pkg),
                               run(["dpkg-query", "-W", "-f", "${Depends}", b]).stdout) for b in bdeps)
        check(names & bdeps or pulled or name == "systemd",
              "meson uses %s (%s, package %s), missing from Build-Depends" % (name, pc.stdout.strip(), pkg))
    check(seen >= 6, "only %d pkg-config dependencies found in the package build" % seen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meson", required=True)
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--newer-than", help="with --build-only: reuse a .deb built after this file")
    args = ap.parse_args()
    for tool, pkg in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper")):
        if not shutil.which(tool):
            skip("%s missing (package %s)" % (tool, pkg))
    out = os.path.join(os.path.abspath(args.builddir), "packaging-deb")
    if args.build_only:
        print(build(out, args.newer_than))
        return 0
    if not shutil.which("lintian"):
        skip("lintian missing (package lintian)")
    opts = {o["name"]: o["value"] for o in json.loads(run(
        [args.meson, "introspect", "--buildoptions", args.builddir], check=True).stdout)}
    if opts.get("b_sanitize", "none") != "none" or opts.get("fuzz"):
        # The package does not depend on the build directory's options:
        # .ci/run builds and checks it in the plain pass only.
        skip("sanitized build (b_sanitize=%s): the package is built and checked in the plain pass"
             % opts.get("b_sanitize"))
    deb = build(out)
    changes = glob.glob(os.path.join(out, "sipauthmon_*.changes")) + glob.glob(os.path.join(out, "sipauthmon_*.dsc"))
    check(len(changes) == 2, "changes and dsc files: %r" % changes)
    lint = run(["lintian", "--pedantic", "--display-info", "--fail-on", "none"] + changes)
    text = lint.stdout + lint.stderr
    with open(os.path.join(out, "lintian.txt"), "w") as f:
        f.write(text)
    print("lintian --pedantic --display-info:\n" + (text or "(nothing)\n"), end="")
    check(lint.returncode == 0, "lintian exited %d" % lint.returncode)
    errors = [l for l in text.splitlines() if l.startswith("E: ")]
    check(not errors, "lintian errors:\n" + "\n".join(errors))
    files = contents(deb)
    with tempfile.TemporaryDirectory(prefix="sipauthmon-debx.") as unpacked:
        subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
        check_files(deb, files, unpacked)
        check_control(deb)
        check_paths(unpacked, files)
        check_completion(unpacked)
    check_build_depends(out)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("deb: %s builds, lintian has no errors, %d files as expected" % (os.path.basename(deb), len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

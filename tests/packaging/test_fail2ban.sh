#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# contrib/fail2ban against a real journal. A private systemd-journald (in a
# private mount namespace, volatile storage in a temporary directory, as in
# tests/journal/test-journal.sh) receives:
#
#   - real diagnoses: sipauthmon -o journal on the golden captures of
#     password guessers (203.0.113.66, svcrack's 10.97.0.14), two account
#     scanners (203.0.113.77, 203.0.113.78), and on captures with only other
#     codes (wrong-password, realm-mismatch, ... from 198.51.100.x and from
#     203.0.113.66 itself). They run in a control group of their own named
#     sipauthmon.service, from which journald sets _SYSTEMD_UNIT as it does
#     for the real unit (systemd is not PID 1 here);
#   - forged entries (logger --journald, outside that control group): the
#     same fields under another SYSLOG_IDENTIFIER; messages whose user part
#     carries a fake "from ADDR refused ..." - once whole, once cut short as
#     an over-long message would be; and a complete forgery of a verified
#     credential-guessing entry (SYSLOG_IDENTIFIER=sipauthmon,
#     SIP_SOURCE_VERIFIED=yes, even _SYSTEMD_UNIT=, which journald drops).
#
# fail2ban-regex then reads that journal:
#   1. with the filter as shipped (_SYSTEMD_UNIT=sipauthmon.service,
#      SIP_SOURCE_VERIFIED=yes, the three codes): exactly the verified
#      attacking sources of the table ATTACKS below, once per entry; nothing
#      forged, nothing unverified;
#   2. with every entry of SYSLOG_IDENTIFIER=sipauthmon: the expressions
#      alone must still keep the other codes, the forged tails and the cut
#      message out (every attack entry, verified or not, the genuine address
#      of the forged message that ends properly, and the complete forgery);
#   3. with the filter as shipped, on a journal holding only the complete
#      forgery: nothing.
#
# usage: test_fail2ban.sh SIPAUTHMON     (exit 0 pass, 1 fail, 77 skip;
#        under CI=true, a control group it cannot create fails the test)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$HERE/../.." && pwd)}
JOURNALD=/lib/systemd/systemd-journald
CONF=$SRCDIR/tests/journal/journald-test.conf
FILTER=$SRCDIR/contrib/fail2ban/filter.d/sipauthmon.conf
CAPS=$SRCDIR/tests/golden/captures

skip() {
        echo "SKIP: $*"
        exit 77
}
fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# ---- inner mode: run inside `unshare -m --propagation private` --------------

# --with-journald OUT SCRIPT: a private journald storing into OUT/journal
# while SCRIPT runs (sh), then stop it.
if [ "${1:-}" = --with-journald ]; then
        out=$2
        script=$3
        mkdir -p "$out/journal"
        mount -t tmpfs tmpfs /run/systemd
        mount -t tmpfs tmpfs /run/log
        mkdir /run/log/journal
        mount --bind "$out/journal" /run/log/journal
        mount --bind "$CONF" /etc/systemd/journald.conf
        "$JOURNALD" >"$out/journald.log" 2>&1 &
        jpid=$!
        trap 'kill $jpid 2>/dev/null || true; wait $jpid 2>/dev/null || true' EXIT
        i=0
        while [ ! -S /run/systemd/journal/socket ]; do
                i=$((i + 1))
                [ $i -le 100 ] || {
                        cat "$out/journald.log" >&2
                        exit 3
                }
                sleep 0.05
        done
        rc=0
        sh -eu "$script" >"$out/stdout" 2>"$out/stderr" </dev/null || rc=$?
        echo "$rc" >"$out/rc"
        journalctl --sync >/dev/null 2>&1 || true
        exit 0
fi

# ---- the test ---------------------------------------------------------------

SIPAUTHMON=${1:-${SIPAUTHMON:-}}
[ -n "$SIPAUTHMON" ] || fail "usage: $0 SIPAUTHMON"
[ -x "$SIPAUTHMON" ] || fail "$SIPAUTHMON is not executable"
[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
command -v unshare >/dev/null 2>&1 || skip "unshare missing"
command -v journalctl >/dev/null 2>&1 || skip "journalctl missing"
command -v logger >/dev/null 2>&1 || skip "logger (bsdutils) missing"
command -v python3 >/dev/null 2>&1 || skip "python3 missing"
command -v fail2ban-regex >/dev/null 2>&1 || skip "fail2ban-regex missing (package fail2ban)"
# fail2ban-regex reads the journal with the system python's systemd module.
head -1 "$(command -v fail2ban-regex)" | grep -q python3 || skip "fail2ban-regex is not a python3 script"
F2B_PY=$(head -1 "$(command -v fail2ban-regex)" | sed 's/^#! *//; s/ .*//')
"$F2B_PY" -c 'import systemd.journal' 2>/dev/null || skip "python3-systemd missing"
[ -x "$JOURNALD" ] || skip "$JOURNALD missing"
[ -d /run/log ] && [ -f /etc/systemd/journald.conf ] ||
        skip "/run/log or /etc/systemd/journald.conf missing (mount points)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m not permitted here"
[ -r "$FILTER" ] || fail "$FILTER missing"

# _SYSTEMD_UNIT=sipauthmon.service: journald derives it from the sender's
# control group (/proc/PID/cgroup), in the hierarchy systemd uses: the
# cgroup2 one when there is one (unified or hybrid), else name=systemd;
# hybrid hosts get both. A slice of this run's own keeps parallel runs
# apart: the unit is the first component after the slices.
no_cgroup() {
        [ "${CI:-}" = true ] &&
                fail "$* (needed for _SYSTEMD_UNIT=sipauthmon.service without systemd as PID 1)"
        skip "$*"
}
CGROOTS=
case $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) in
cgroup2fs) CGROOTS=/sys/fs/cgroup ;;
tmpfs)
        [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
                CGROOTS=/sys/fs/cgroup/unified
        [ "$(stat -f -c %T /sys/fs/cgroup/systemd 2>/dev/null)" = cgroupfs ] &&
                CGROOTS="$CGROOTS /sys/fs/cgroup/systemd"
        ;;
esac
[ -n "$CGROOTS" ] || no_cgroup "no cgroup2 nor name=systemd hierarchy under /sys/fs/cgroup"
SLICE=sipauthmon-f2btest$$.slice
cg_cleanup() {
        for r in $CGROOTS; do
                [ -d "$r/$SLICE" ] || continue
                rmdir "$r/$SLICE/sipauthmon.service" "$r/$SLICE" 2>/dev/null ||
                        echo "warning: $r/$SLICE is left behind" >&2
        done
}
T=$(mktemp -d "${TMPDIR:-/tmp}/sipauthmon-f2b.XXXXXX")
trap 'cg_cleanup; rm -rf "$T"' EXIT INT TERM
UNIT_PROCS=
for r in $CGROOTS; do
        d=$r/$SLICE/sipauthmon.service
        { mkdir -p "$d" && [ -w "$d/cgroup.procs" ]; } 2>"$T/cgerr" ||
                no_cgroup "cannot create the control group $d: $(cat "$T/cgerr")"
        UNIT_PROCS="$UNIT_PROCS${UNIT_PROCS:+:}$d/cgroup.procs"
done
UNIT_PIDS=$T/pids
export UNIT_PROCS UNIT_PIDS

GUESS="one source is guessing this account's password"
# in_unit.py SIPAUTHMON CAPS CAPTURE...: sipauthmon -r CAPS/CAPTURE.pcap -o
# journal for each, in the unit's control group(s); prints "CAPTURE STATUS".
# Each is reaped only after journald has read its /proc/PID/cgroup (a
# sender that is gone gets no _SYSTEMD_UNIT). The PIDs go to UNIT_PIDS:
# they tell the real entries (_PID) from the forged ones.
cat >"$T/in_unit.py" <<'PY'
import os, subprocess, sys
for procs in os.environ["UNIT_PROCS"].split(":"):
    with open(procs, "w") as f:
        f.write(str(os.getpid()))
exe, caps = sys.argv[1:3]
for c in sys.argv[3:]:
    p = subprocess.Popen([exe, "-r", os.path.join(caps, c + ".pcap"), "-o", "journal"])
    with open(os.environ["UNIT_PIDS"], "a") as f:
        f.write("%d\n" % p.pid)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    subprocess.run(["journalctl", "--sync"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(c, p.wait(), flush=True)
PY
# A verified credential-guessing entry of sipauthmon in every field the
# sender writes.
cat >"$T/forge.sh" <<EOF
printf '%s\n' "MESSAGE=REGISTER of 1001@asterisk from 198.51.100.210 refused 10 times: $GUESS" \\
        SYSLOG_IDENTIFIER=sipauthmon SIP_DIAGNOSIS=credential-guessing SIP_SOURCE_VERIFIED=yes \\
        SIP_CLIENT=198.51.100.210:5060 _SYSTEMD_UNIT=sipauthmon.service PRIORITY=3 | logger --journald
EOF
cat >"$T/run.sh" <<EOF
python3 "$T/in_unit.py" "$SIPAUTHMON" "$CAPS" credential-guessing account-scan account-scan-creds \\
        real/svcrack-success real/baresip-wrong compromise-other-source compromise-after-scan \\
        wrong-password mixed-sample healthy-register
# Same fields, another program: the journalmatch leaves it out.
printf '%s\n' "MESSAGE=REGISTER of 1001@asterisk from 198.51.100.200 refused 10 times: $GUESS" \\
        SIP_DIAGNOSIS=credential-guessing SYSLOG_IDENTIFIER=not-sipauthmon | logger --journald
# USER carries a forged tail; the real address follows.
printf '%s\n' "MESSAGE=REGISTER of x from 198.51.100.201 refused 10 times: $GUESS@realm from 203.0.113.99 refused 10 times: $GUESS" \\
        SIP_DIAGNOSIS=credential-guessing SYSLOG_IDENTIFIER=sipauthmon | logger --journald
# The same, cut short before the real ending.
printf '%s\n' "MESSAGE=REGISTER of x from 198.51.100.202 refused 10 times: $GUESS@realm from 203.0.113.98 refused 10 ti" \\
        SIP_DIAGNOSIS=credential-guessing SYSLOG_IDENTIFIER=sipauthmon | logger --journald
# A forged address in an account scan's message has nowhere to hide.
printf '%s\n' "MESSAGE=account scan from 198.51.100.203 x: 12 usernames tried within 1 s" \\
        SIP_DIAGNOSIS=account-scan SYSLOG_IDENTIFIER=sipauthmon | logger --journald
sh "$T/forge.sh"
EOF

unshare -m --propagation private "$0" --with-journald "$T/run" "$T/run.sh" ||
        fail "could not run under a private journald"
[ "$(cat "$T/run/rc")" = 0 ] || fail "the journal session failed: $(cat "$T/run/stderr")"
journalctl -D "$T/run/journal" -o json --no-pager >"$T/all.json" || fail "journalctl -D failed"
# A journal with the complete forgery alone.
unshare -m --propagation private "$0" --with-journald "$T/forged" "$T/forge.sh" ||
        fail "could not run under a private journald"
[ "$(cat "$T/forged/rc")" = 0 ] || fail "the forged session failed: $(cat "$T/forged/stderr")"
journalctl -D "$T/forged/journal" -o json --no-pager >"$T/forged.json" || fail "journalctl -D failed"
cg_cleanup

# As installed: beside the system's common.conf, which the filter includes.
mkdir -p "$T/fail2ban/filter.d"
cp /etc/fail2ban/filter.d/common.conf "$FILTER" "$T/fail2ban/filter.d/" ||
        skip "/etc/fail2ban/filter.d/common.conf missing"
FILTER=$T/fail2ban/filter.d/sipauthmon.conf
JOURNAL="systemd-journal[journalpath=$T/run/journal]"
# 1. the filter as shipped (its own journalmatch)
fail2ban-regex -o ip "$JOURNAL" "$FILTER" >"$T/ips.filter" 2>"$T/err.filter" ||
        fail "fail2ban-regex failed: $(cat "$T/err.filter")"
# 2. every entry of sipauthmon: the expressions alone must
#    keep the other codes out
fail2ban-regex -o ip -m "SYSLOG_IDENTIFIER=sipauthmon" "$JOURNAL" "$FILTER" >"$T/ips.all" 2>"$T/err.all" ||
        fail "fail2ban-regex -m failed: $(cat "$T/err.all")"
# 3. the complete forgery alone, with the filter as shipped
fail2ban-regex -o ip "systemd-journal[journalpath=$T/forged/journal]" "$FILTER" >"$T/ips.forged" 2>"$T/err.forged" ||
        fail "fail2ban-regex (forged) failed: $(cat "$T/err.forged")"
# the summary, for the log
fail2ban-regex "$JOURNAL" "$FILTER" >"$T/summary" 2>&1 || true

python3 - "$T" <<'PY'
import collections, json, sys

T = sys.argv[1]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


runs = dict(l.split() for l in open(T + "/run/stdout").read().splitlines() if l.strip())
for cap, want in (("credential-guessing", "1"), ("account-scan", "1"), ("account-scan-creds", "1"),
                  ("real/svcrack-success", "1"), ("real/baresip-wrong", "1"),
                  ("compromise-other-source", "1"), ("compromise-after-scan", "1"),
                  ("wrong-password", "1"), ("mixed-sample", "1"), ("healthy-register", "0")):
    check(runs.get(cap) == want, "sipauthmon -r %s.pcap exited %s, want %s" % (cap, runs.get(cap), want))

# The attack entries sipauthmon writes for these captures and whether it
# verified their source (SIP_SOURCE_VERIFIED): only verified ones may lead
# to a ban (DESIGN.md). "banned": the filter's expressions match the
# message (the other-source compromise names a source that may be the
# owner's phone: never). Adjust here when the verification changes.
#   capture                    code                     source          verified banned
ATTACKS = [
    ("credential-guessing",     "credential-guessing",   "203.0.113.66", True,  True),
    ("account-scan",            "account-scan",          "203.0.113.77", False, True),
    ("account-scan-creds",      "account-scan",          "203.0.113.78", True,  True),
    ("real/svcrack-success",    "credential-guessing",   "10.97.0.14",   True,  True),
    ("real/svcrack-success",    "credential-compromise", "10.97.0.14",   True,  True),
    ("compromise-other-source", "credential-guessing",   "203.0.113.66", True,  True),
    ("compromise-other-source", "credential-compromise", "203.0.113.91", True,  False),
    ("compromise-after-scan",   "account-scan",          "203.0.113.77", False, True),
    ("compromise-after-scan",   "credential-compromise", "203.0.113.77", False, True),
]
ATTACK_CODES = {"credential-guessing", "account-scan", "credential-compromise"}

entries = [json.loads(l) for l in open(T + "/all.json", encoding="utf-8") if l.strip()]
pids = set(open(T + "/pids").read().split())
check(len(pids) == len(runs), "%d sipauthmon runs, %d PIDs" % (len(runs), len(pids)))
real = [e for e in entries if e.get("_PID") in pids and "SIP_CLIENT" in e]
# (_COMM is no help: journald cannot tell the name of a sender that is gone.)
forged = [e for e in entries if e.get("_PID") not in pids
          and e.get("SYSLOG_IDENTIFIER") in ("sipauthmon", "not-sipauthmon")]
check(real and all(e.get("_SYSTEMD_UNIT") == "sipauthmon.service" for e in real),
      "sipauthmon's entries lack _SYSTEMD_UNIT=sipauthmon.service (the control group did not "
      "work): %r" % sorted({str(e.get("_SYSTEMD_UNIT")) for e in real}))
check(len(forged) == 5 and not any(e.get("_SYSTEMD_UNIT") == "sipauthmon.service" for e in forged),
      "logger entries: %d, want 5, none with _SYSTEMD_UNIT=sipauthmon.service" % len(forged))
codes = {}
for e in real:
    codes.setdefault(e.get("SIP_DIAGNOSIS"), set()).add(e["SIP_CLIENT"].rsplit(":", 1)[0])
# The journal really holds what the filter must tell apart.
got = collections.Counter((e.get("SIP_DIAGNOSIS"), e["SIP_CLIENT"].rsplit(":", 1)[0],
                           e.get("SIP_SOURCE_VERIFIED")) for e in real
                          if e.get("SIP_DIAGNOSIS") in ATTACK_CODES)
want = collections.Counter((code, ip, "yes" if v else "no") for _, code, ip, v, _ in ATTACKS)
check(got == want, "attack entries (code, source, SIP_SOURCE_VERIFIED) differ from ATTACKS:\n"
      "  only in the journal: %r\n  only in ATTACKS: %r"
      % (sorted((got - want).elements()), sorted((want - got).elements())))
# svcrack's last candidate was the password: a compromise (critical), no "resolved".
check("resolved" not in codes, "resolved after guessing: %r" % codes.get("resolved"))
# Critical when verified, one step lower when not.
crit = [e for e in real if e.get("SIP_DIAGNOSIS") == "credential-compromise"]
check(crit and all(e.get("PRIORITY") == ("2" if e.get("SIP_SOURCE_VERIFIED") == "yes" else "3")
                   for e in crit),
      "compromise PRIORITY: %r" % [(e.get("PRIORITY"), e.get("SIP_SOURCE_VERIFIED")) for e in crit])
# baresip with a wrong password: a phone, never banned.
check(codes.get("wrong-password", set()) >= {"10.97.0.17"}, "no wrong-password entry for baresip")
check("203.0.113.66" in codes.get("wrong-password", set()), "no wrong-password entry from the guesser")
check(len(codes.get("wrong-password", set())) >= 2 and "realm-mismatch" in codes,
      "the negative captures left too few entries: %r" % codes)
check(sum(1 for e in forged if e.get("SYSLOG_IDENTIFIER") == "not-sipauthmon") == 1,
      "the entry of another identifier is missing")
check(sum(1 for e in forged if "203.0.113.99 " in e.get("MESSAGE", "") or
          "203.0.113.98 " in e.get("MESSAGE", "")) == 2, "forged messages missing")
full = [e for e in forged if "198.51.100.210" in e.get("MESSAGE", "")]
check(len(full) == 1 and full[0].get("SYSLOG_IDENTIFIER") == "sipauthmon"
      and full[0].get("SIP_SOURCE_VERIFIED") == "yes", "the complete forgery is missing: %r" % full)
fe = [json.loads(l) for l in open(T + "/forged.json", encoding="utf-8") if l.strip()]
check(any("198.51.100.210" in e.get("MESSAGE", "") for e in fe), "the forgery's journal lacks it")

# 1. as shipped: the verified attack sources (once per entry), nothing else.
want_filter = sorted(ip for _, _, ip, v, banned in ATTACKS if v and banned)
# 2. the expressions alone: every attack entry whatever its verification,
#    the address that ends the forged message properly, and the forgery.
want_all = sorted([ip for _, _, ip, _, banned in ATTACKS if banned]
                  + ["203.0.113.99", "198.51.100.210"])
# 3. the forgery alone: nothing.
for name, want_ips in (("filter", want_filter), ("all", want_all), ("forged", [])):
    got_ips = sorted(l.strip() for l in open(T + "/ips." + name).read().splitlines() if l.strip())
    check(got_ips == want_ips, "fail2ban-regex (%s) found %r, want %r" % (name, got_ips, want_ips))
if failures:
    print(open(T + "/summary").read(), file=sys.stderr)
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("fail2ban: %d journal entries, banned exactly %s; the forgery: nothing"
      % (len(entries), ", ".join(want_filter)))
PY

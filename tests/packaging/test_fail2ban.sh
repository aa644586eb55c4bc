#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# contrib/fail2ban against a real journal. A private systemd-journald (in a
# private mount namespace, volatile storage in a temporary directory, as in
# tests/journal/test-journal.sh) receives:
#
#   - real diagnoses: sipauthmon -o journal on the golden captures of a
#     password guesser (203.0.113.66), two account scanners (203.0.113.77,
#     203.0.113.78), and on captures with only other codes (wrong-password,
#     realm-mismatch, ... from 198.51.100.x and from 203.0.113.66 itself);
#   - forged entries (logger --journald) that must not fool the filter: the
#     same fields under another SYSLOG_IDENTIFIER, and messages whose user
#     part carries a fake "from ADDR refused ..." - once whole, once cut
#     short as an over-long message would be.
#
# fail2ban-regex then reads that journal with the filter's own journalmatch,
# and again with every sipauthmon entry: both must find exactly the
# attacking sources, each once, and 203.0.113.99 from the forged message
# that ends properly, and nothing else.
#
# usage: test_fail2ban.sh SIPAUTHMON     (exit 0 pass, 1 fail, 77 skip)
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

T=$(mktemp -d "${TMPDIR:-/tmp}/sipauthmon-f2b.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

GUESS="one source is guessing this account's password"
cat >"$T/run.sh" <<EOF
for c in credential-guessing account-scan account-scan-creds \\
         real/svcrack-success real/baresip-wrong \\
         compromise-other-source compromise-after-scan \\
         wrong-password mixed-sample healthy-register; do
        rc=0
        "$SIPAUTHMON" -r "$CAPS/\$c.pcap" -o journal || rc=\$?
        echo "\$c \$rc"
done
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
EOF

unshare -m --propagation private "$0" --with-journald "$T/run" "$T/run.sh" ||
        fail "could not run under a private journald"
[ "$(cat "$T/run/rc")" = 0 ] || fail "the journal session failed: $(cat "$T/run/stderr")"
journalctl -D "$T/run/journal" -o json --no-pager >"$T/all.json" || fail "journalctl -D failed"

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
# 3. the summary, for the log
fail2ban-regex "$JOURNAL" "$FILTER" >"$T/summary" 2>&1 || true

python3 - "$T" <<'PY'
import json, sys

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

entries = [json.loads(l) for l in open(T + "/all.json", encoding="utf-8") if l.strip()]
codes = {}
for e in entries:
    if e.get("SYSLOG_IDENTIFIER") == "sipauthmon" and "SIP_CLIENT" in e:
        codes.setdefault(e.get("SIP_DIAGNOSIS"), set()).add(e["SIP_CLIENT"].rsplit(":", 1)[0])
# The journal really holds what the filter must tell apart.
check(codes.get("credential-guessing") == {"203.0.113.66", "10.97.0.14"}, "credential-guessing entries: %r" % codes.get("credential-guessing"))
# svcrack's last candidate was the password: a compromise (critical), no "resolved".
check(codes.get("credential-compromise") == {"10.97.0.14", "203.0.113.91", "203.0.113.77"},
      "credential-compromise entries: %r" % codes.get("credential-compromise"))
check("resolved" not in codes, "resolved after guessing: %r" % codes.get("resolved"))
crit = [e for e in entries if e.get("SIP_DIAGNOSIS") == "credential-compromise"]
check(crit and all(e.get("PRIORITY") == "2" for e in crit), "compromise PRIORITY: %r" % [e.get("PRIORITY") for e in crit])
# baresip with a wrong password: a phone, never banned.
check(codes.get("wrong-password", set()) >= {"10.97.0.17"}, "no wrong-password entry for baresip")
check(codes.get("account-scan") == {"203.0.113.77", "203.0.113.78"}, "account-scan entries: %r" % codes.get("account-scan"))
check("203.0.113.66" in codes.get("wrong-password", set()), "no wrong-password entry from the guesser")
check(len(codes.get("wrong-password", set())) >= 2 and "realm-mismatch" in codes,
      "the negative captures left too few entries: %r" % codes)
forged = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "not-sipauthmon"]
check(len(forged) == 1, "the entry of another identifier is missing")
check(sum(1 for e in entries if "203.0.113.99 " in e.get("MESSAGE", "") or
          "203.0.113.98 " in e.get("MESSAGE", "")) == 2, "forged messages missing")

# 10.97.0.14 twice: its guessing and its compromise; 10.97.0.17 (baresip)
# never. 203.0.113.66 guessed twice (two captures); 203.0.113.77 scanned twice
# and logged in once. 203.0.113.91 logged in to an account another source
# had guessed at: maybe the owner's phone, so its compromise record bans nobody.
want = sorted(["203.0.113.66", "203.0.113.66", "203.0.113.77", "203.0.113.77", "203.0.113.77",
               "203.0.113.78", "203.0.113.99", "10.97.0.14", "10.97.0.14"])
for name in ("filter", "all"):
    got = sorted(l.strip() for l in open(T + "/ips." + name).read().splitlines() if l.strip())
    check(got == want, "fail2ban-regex (%s) found %r, want %r" % (name, got, want))
if failures:
    print(open(T + "/summary").read(), file=sys.stderr)
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("fail2ban: %d journal entries, banned exactly %s" % (len(entries), ", ".join(want)))
PY

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The journal sink against a real systemd-journald (DESIGN.md "Output schema",
# recipe: shared/recipes/journald-in-tests.md). systemd is not PID 1 here, so
# a private journald runs in a private mount namespace with volatile storage
# bound onto a temporary directory; nothing reaches the host's journal.
#
#   1. `-o json` on the wrong-password capture gives the reference record.
#   2. `-o journal` under the private journald: exactly one entry, with
#      MESSAGE_ID from analysis/rules/, PRIORITY 4 and every SIP_* field
#      equal to the JSON key it mirrors (journal values are escape_text()ed,
#      so the reference is escaped the same way before comparing).
#   3. `-o journal` with an empty /run/systemd (no journald): exit 1, the
#      record as text on stderr, exactly one warning line.
#   4. The message catalog: `journalctl --update-catalog` on a temporary root
#      lists every MESSAGE_ID, and `journalctl -x` on the test journal shows
#      the catalog text, with @SIP_USER@/@SIP_REALM@ filled in.
#
# usage: test-journal.sh SIPAUTHMON     (exit 0 pass, 1 fail, 77 skip)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$HERE/../.." && pwd)}
JOURNALD=/lib/systemd/systemd-journald
CONF=$HERE/journald-test.conf

skip() {
        echo "SKIP: $*"
        exit 77
}
fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# ---- inner modes: run inside `unshare -m --propagation private` -------------

# --with-journald OUT CMD...: start a private journald whose storage is
# OUT/journal, run CMD (stdout, stderr and exit status into OUT), stop journald.
with_journald() {
        out=$1
        shift
        mkdir -p "$out/journal"
        mount -t tmpfs tmpfs /run/systemd # hide the host's /run/systemd
        mount -t tmpfs tmpfs /run/log
        mkdir /run/log/journal
        mount --bind "$out/journal" /run/log/journal # volatile storage lands in OUT
        mount --bind "$CONF" /etc/systemd/journald.conf
        "$JOURNALD" >"$out/journald.log" 2>&1 &
        jpid=$!
        trap 'kill $jpid 2>/dev/null || true; wait $jpid 2>/dev/null || true' EXIT
        i=0
        while [ ! -S /run/systemd/journal/socket ]; do
                i=$((i + 1))
                if [ $i -gt 100 ]; then
                        echo "private journald did not start:" >&2
                        cat "$out/journald.log" >&2
                        exit 3
                fi
                sleep 0.05
        done
        rc=0
        "$@" >"$out/stdout" 2>"$out/stderr" </dev/null || rc=$?
        echo "$rc" >"$out/rc"
        journalctl --sync >/dev/null 2>&1 || true
}

# --without-journald OUT CMD...: run CMD where /run/systemd is empty.
without_journald() {
        out=$1
        shift
        mkdir -p "$out"
        mount -t tmpfs tmpfs /run/systemd
        rc=0
        "$@" >"$out/stdout" 2>"$out/stderr" </dev/null || rc=$?
        echo "$rc" >"$out/rc"
}

# --explain CATALOG_ROOT JOURNAL_DIR: journalctl -x with a private catalog
# database (journalctl reads it only from /var/lib/systemd/catalog/database).
explain() {
        mount --bind "$1/var/lib/systemd" /var/lib/systemd
        journalctl -D "$2" -x -o short --no-pager SYSLOG_IDENTIFIER=sipauthmon
}

case "${1:-}" in
--with-journald)
        shift
        with_journald "$@"
        exit 0
        ;;
--without-journald)
        shift
        without_journald "$@"
        exit 0
        ;;
--explain)
        shift
        explain "$@"
        exit 0
        ;;
esac

# ---- the test ---------------------------------------------------------------

SIPAUTHMON=${1:-${SIPAUTHMON:-}}
[ -n "$SIPAUTHMON" ] || fail "usage: $0 SIPAUTHMON"
[ -x "$SIPAUTHMON" ] || fail "$SIPAUTHMON is not executable"
[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
command -v unshare >/dev/null 2>&1 || skip "unshare missing"
command -v journalctl >/dev/null 2>&1 || skip "journalctl missing"
command -v python3 >/dev/null 2>&1 || skip "python3 missing"
[ -x "$JOURNALD" ] || skip "$JOURNALD missing"
[ -d /run/log ] && [ -f /etc/systemd/journald.conf ] ||
        skip "/run/log or /etc/systemd/journald.conf missing (mount points)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m not permitted here"

CAPTURE=$SRCDIR/tests/golden/captures/wrong-password.pcap
[ -r "$CAPTURE" ] || skip "$CAPTURE not there"
CATALOG=$SRCDIR/systemd/sipauthmon.catalog
[ -r "$CATALOG" ] || fail "$CATALOG missing"

T=$(mktemp -d "${TMPDIR:-/tmp}/sipauthmon-journal.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

# 1. reference record
rc=0
"$SIPAUTHMON" -r "$CAPTURE" -o json >"$T/ref.json" 2>"$T/ref.err" </dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "-o json exited $rc (want 1): $(cat "$T/ref.err")"

# 2. under a private journald
unshare -m --propagation private "$0" --with-journald "$T/run" \
        "$SIPAUTHMON" -r "$CAPTURE" -o journal ||
        fail "could not run under a private journald"
journalctl -D "$T/run/journal" -o json --no-pager SYSLOG_IDENTIFIER=sipauthmon \
        >"$T/entries.json" || fail "journalctl -D failed"

# 3. without journald
unshare -m --propagation private "$0" --without-journald "$T/nojd" \
        "$SIPAUTHMON" -r "$CAPTURE" -o journal ||
        fail "could not run without journald"

# 4. catalog on a temporary root, then journalctl -x on the test journal
mkdir -p "$T/croot/usr/lib/systemd/catalog"
cp "$CATALOG" "$T/croot/usr/lib/systemd/catalog/"
journalctl --root="$T/croot" --update-catalog || fail "journalctl --update-catalog failed"
journalctl --root="$T/croot" --list-catalog --no-pager >"$T/catalog.list" ||
        fail "journalctl --list-catalog failed"
unshare -m --propagation private "$0" --explain "$T/croot" "$T/run/journal" \
        >"$T/explained" 2>"$T/explained.err" || fail "journalctl -x failed: $(cat "$T/explained.err")"

# 5. a critical record: svcrack's last candidate was the password
CRIT_CAPTURE=$SRCDIR/tests/golden/captures/real/svcrack-success.pcap
unshare -m --propagation private "$0" --with-journald "$T/crit" \
        "$SIPAUTHMON" -r "$CRIT_CAPTURE" -o journal ||
        fail "could not run the compromise capture under a private journald"
journalctl -D "$T/crit/journal" -o json --no-pager SYSLOG_IDENTIFIER=sipauthmon \
        >"$T/crit.json" || fail "journalctl -D failed"
unshare -m --propagation private "$0" --explain "$T/croot" "$T/crit/journal" \
        >"$T/crit.explained" 2>"$T/crit.err" || fail "journalctl -x failed: $(cat "$T/crit.err")"

python3 - "$T" "$SRCDIR/analysis/rules" <<'PY'
import glob, json, os, re, sys

T, rules_dir = sys.argv[1], sys.argv[2]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def escape_text(s):
    """What daemon/escape.c does to a (valid UTF-8) value."""
    unsafe = set(range(0x80, 0xa0)) | {0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0xFEFF}
    unsafe |= set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif o < 0x20 or o == 0x7F or o in unsafe:
            out.append("".join("\\x%02x" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


src = "".join(open(f, encoding="utf-8").read()
              for f in sorted(glob.glob(os.path.join(rules_dir, "*.c"))))
ids = dict(re.findall(r'\.name = "([a-z-]+)",\s*\.severity = \w+,\s*'
                      r'\.message_id = "([0-9a-f]{32})"', src))
want_id = ids.get("wrong-password")
check(want_id is not None, "wrong-password MESSAGE_ID not found in analysis/rules/")
all_ids = set(re.findall(r'"([0-9a-f]{32})"', src))
check(len(ids) == len(all_ids), "codes and MESSAGE_IDs of analysis/rules/: %r" % ids)

# 1. reference
ref_lines = [l for l in open(T + "/ref.json", encoding="utf-8").read().splitlines() if l.strip()]
check(len(ref_lines) == 1, "-o json gave %d lines, want 1" % len(ref_lines))
ref = json.loads(ref_lines[0]) if ref_lines else {}
check(ref.get("diagnosis") == "wrong-password", "reference diagnosis is %r" % ref.get("diagnosis"))
check(ref.get("severity") == "warning", "reference severity is %r" % ref.get("severity"))

# 2. the journal entry
rc = open(T + "/run/rc").read().strip()
check(rc == "1", "-o journal under journald exited %s, want 1" % rc)
check(open(T + "/run/stdout").read() == "", "-o journal wrote to stdout")
err = open(T + "/run/stderr", errors="replace").read()
check("journald is not available" not in err, "fell back although journald runs: " + err)
entries = [json.loads(l) for l in open(T + "/entries.json", encoding="utf-8").read().splitlines() if l.strip()]
check(len(entries) == 1, "%d journal entries, want exactly 1" % len(entries))
e = entries[0] if entries else {}
check(e.get("MESSAGE_ID") == want_id, "MESSAGE_ID %r, want %r" % (e.get("MESSAGE_ID"), want_id))
check(e.get("PRIORITY") == "4", "PRIORITY %r, want 4" % e.get("PRIORITY"))
check(e.get("SYSLOG_IDENTIFIER") == "sipauthmon", "SYSLOG_IDENTIFIER %r" % e.get("SYSLOG_IDENTIFIER"))
check(e.get("SIP_DIAGNOSIS") == "wrong-password", "SIP_DIAGNOSIS %r" % e.get("SIP_DIAGNOSIS"))
check(e.get("MESSAGE") == escape_text(ref.get("message", "wrong-password")),
      "MESSAGE %r does not match JSON message %r" % (e.get("MESSAGE"), ref.get("message")))
check("\n" not in str(e.get("MESSAGE", "")), "MESSAGE has more than one line")

# Keys of the JSON record that the journal has no SIP_* field for (DESIGN.md
# "Output schema" against its journald list): severity and message are
# PRIORITY and MESSAGE, message_id is MESSAGE_ID; the structured endpoints
# are in SIP_CLIENT/SIP_SERVER already.
JSON_ONLY = {"severity", "message", "message_id", "client_ip", "client_port", "server_ip",
             "server_port"}
check(ref.get("message_id") == e.get("MESSAGE_ID"),
      "JSON message_id %r is not the journal's MESSAGE_ID %r" % (ref.get("message_id"),
                                                                 e.get("MESSAGE_ID")))
want_sip = {}
for key, val in ref.items():
    if key in JSON_ONLY:
        continue
    if isinstance(val, bool):  # source_verified: true/false in JSON, yes/no in the journal
        val = "yes" if val else "no"
    want_sip["SIP_" + key.upper()] = escape_text(str(val))
have_sip = {k: v for k, v in e.items() if k.startswith("SIP_")}
for k, v in want_sip.items():
    check(k in have_sip, "journal lacks %s (JSON has %r)" % (k, v))
    if k in have_sip:
        check(have_sip[k] == v, "%s is %r, JSON says %r" % (k, have_sip[k], v))
for k in have_sip:
    check(k in want_sip, "journal has %s=%r that the JSON record lacks" % (k, have_sip[k]))
check(len(want_sip) >= 8, "suspiciously few fields compared: %s" % sorted(want_sip))
for k in ("SIP_USER", "SIP_REALM", "SIP_CLIENT", "SIP_SERVER", "SIP_ATTEMPTS", "SIP_FIRST_SEEN", "SIP_LAST_SEEN"):
    check(k in have_sip, "wrong-password entry without %s" % k)

# 3. without journald
rc = open(T + "/nojd/rc").read().strip()
check(rc == "1", "-o journal without journald exited %s, want 1" % rc)
check(open(T + "/nojd/stdout").read() == "", "fallback wrote to stdout")
err = open(T + "/nojd/stderr", encoding="utf-8", errors="replace").read()
lines = err.splitlines()
warn = [l for l in lines if "journald" in l]
check(len(warn) == 1 and warn[0].startswith("sipauthmon: warning: journald is not available"),
      "want exactly one warning line about journald, got %r" % warn)
check(sum(1 for l in lines if l.startswith("warning  wrong-password")) == 1,
      "the record is not on stderr as text:\n" + err)
if ref.get("message"):
    check(("  message    " + escape_text(ref["message"])[:60]) in err, "message line missing in fallback")
check("\x1b" not in err, "colour in the stderr fallback")

# 4. catalog
listed = {l.split()[0] for l in open(T + "/catalog.list").read().splitlines() if l.strip()}
check(listed == all_ids, "catalog ids differ from analysis/rules/: missing %s, extra %s"
      % (sorted(all_ids - listed), sorted(listed - all_ids)))
explained = open(T + "/explained", encoding="utf-8", errors="replace").read()
subject = "Subject: Wrong password for %s in realm %s" % (ref.get("user"), ref.get("realm"))
check(subject in explained, "journalctl -x does not show %r:\n%s" % (subject, explained))
check("Defined-By: sipauthmon" in explained, "journalctl -x lacks Defined-By")
check("@SIP_" not in explained, "journalctl -x left a @FIELD@ unsubstituted:\n" + explained)

# 5. credential-compromise: PRIORITY 2 (crit) and its catalog text
crit = [json.loads(l) for l in open(T + "/crit.json", encoding="utf-8").read().splitlines() if l.strip()]
check([c.get("SIP_DIAGNOSIS") for c in crit] == ["wrong-password", "credential-guessing",
                                                   "credential-compromise"],
      "compromise capture entries: %r" % [c.get("SIP_DIAGNOSIS") for c in crit])
comp = crit[-1] if crit else {}
check(comp.get("PRIORITY") == "2", "credential-compromise PRIORITY %r, want 2" % comp.get("PRIORITY"))
check(comp.get("MESSAGE_ID") == ids.get("credential-compromise"),
      "credential-compromise MESSAGE_ID %r" % comp.get("MESSAGE_ID"))
crit_explained = open(T + "/crit.explained", encoding="utf-8", errors="replace").read()
check("Subject: SIP password of alice compromised" in crit_explained and "toll" in crit_explained,
      "journalctl -x does not explain the compromise:\n" + crit_explained[-2000:])
if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("journal: entry, fields, fallback, catalog and a critical entry OK (%d SIP_* fields compared)"
      % len(want_sip))
PY

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""--metrics-file (DESIGN.md "Monitoring", sipauthmon(8) MONITORING).

  1. -r runs of several golden captures: the file passes `promtool check
     metrics`; sipauthmon_diagnoses_total by code equals the JSON records
     by code, every code present (zeros too); every metric equals the
     --stats counter it comes from.
  2. A failed write (-r): the records and the exit status are those of a
     run without --metrics-file; one error line; counted in --stats.
  3. Live (--hep-listen on loopback alone, no capture, no root needed), the
     period shortened with SIPAUTHMON_METRICS_INTERVAL_MS: the file exists
     at READY, all zeros; a reader looping on it while the daemon rewrites
     it every 20 ms never sees a partial file; the diagnosis of the HEP
     traffic sent appears while running; at exit the file holds the final
     counters and no temporary file is left. A directory that cannot be
     written: one error line for many failures, counted, the records
     unchanged.
  4. contrib/prometheus: `promtool check rules` and `promtool test rules`
     (tests/metrics/alerts-test.yml) on the alert rules; every metric, label
     and label value that the alert rules and the Grafana dashboard query
     exists in the files written above; sipauthmon(8) lists exactly the
     metrics written.

promtool comes from Debian's prometheus package (.ci/packages): missing, it
fails the test under CI=true and skips part 4 (exit 77) otherwise.

usage: test_metrics.py --sipauthmon PATH [--no-live]   (exit 0 pass, 1 fail, 77 skip)
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
CAPTURES = os.path.join(SRCDIR, "tests", "golden", "captures")
CONTRIB = os.path.join(SRCDIR, "contrib", "prometheus")
ENV_INTERVAL = "SIPAUTHMON_METRICS_INTERVAL_MS"
STAT_RE = re.compile(r"^\s*([a-z0-9_.]+)\s+(\d+)$")
SAMPLE_RE = re.compile(r'^([a-z_:][a-z0-9_:]*)(?:\{([a-z_]+)="((?:[^"\\\n]|\\.)*)"\})? (\d+)$')
LAST_FAMILY = "sipauthmon_metrics_write_failures_total"
# Every diagnosis code, from the rule declarations in analysis/rules/*.c.
RULES_DIR = os.path.join(SRCDIR, "analysis", "rules")
CODES = set(re.findall(r'\.name = "([a-z-]+)"', "".join(
    open(os.path.join(RULES_DIR, f)).read() for f in sorted(os.listdir(RULES_DIR))
    if f.endswith(".c"))))

# Golden captures and options (tests/golden/TESTLIST) that between them
# write most codes, 401 and 407 challenges, successes and the rate cap.
RUNS = [
    ("mixed-sample.pcap", []),
    ("header-mismatch.pcap", []),
    ("credential-guessing.pcap", []),
    ("compromise-other-source.pcap", []),
    ("compromise-after-scan.pcap", []),
    ("resolved.pcap", []),
    ("challenge-missing.pcap", []),
    ("rate-limited.pcap", ["--max-records-per-minute", "20"]),
    ("healthy-register.pcap", []),
]

# Metric -> the --stats counters it must equal (label value -> counter name).
SAME_AS_STATS = {
    "sipauthmon_records_rate_limited_total": {None: "tracker.rate_limited"},
    "sipauthmon_packets_total": {None: "packets.total"},
    "sipauthmon_sip_messages_total": {None: "sip.messages"},
    "sipauthmon_sip_parse_errors_total": {None: "sip.parse_errors"},
    "sipauthmon_websocket_messages_total": {None: "ws.messages"},
    "sipauthmon_websocket_bad_frames_total": {None: "ws.dropped.bad_frames"},
    "sipauthmon_challenges_total": {"407": "tracker.challenges_407"},
    "sipauthmon_auth_refusals_total": {None: "tracker.refusals"},
    "sipauthmon_auth_successes_total": {None: "tracker.auth_successes"},
    "sipauthmon_metrics_write_failures_total": {None: "metrics.write_failures"},
    "sipauthmon_table_entries": {t: "tracker." + t for t in
                                 ("transactions", "chains", "clients", "principals", "nonces", "sources")},
    "sipauthmon_evictions_total": {t: "tracker.evicted_" + t for t in
                                   ("transactions", "chains", "clients", "principals", "nonces", "sources")},
}

skipped = []


CHECKS = Checks(show_passed=True)
check = CHECKS.check


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stats_of(stderr):
    return {m.group(1): int(m.group(2)) for m in map(STAT_RE.match, stderr.splitlines()) if m}


def records(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.strip()]


class Metrics:
    """A metrics file read strictly: HELP, TYPE, then the family's samples."""

    def __init__(self, text):
        self.text = text
        self.types = {}    # family -> counter|gauge
        self.values = {}   # (family, label value or None) -> int
        self.labels = {}   # family -> label name or None
        self.errors = []
        family = None
        if not text.endswith("\n"):
            self.errors.append("no final newline")
        for line in text.splitlines():
            if line.startswith("# HELP "):
                family = line.split(" ", 3)[2]
                if len(line.split(" ", 3)) < 4:
                    self.errors.append("HELP without text: " + line)
            elif line.startswith("# TYPE "):
                _, _, name, typ = line.split(" ")
                if name != family or typ not in ("counter", "gauge") or name in self.types:
                    self.errors.append("bad TYPE line: " + line)
                self.types[name] = typ
            else:
                m = SAMPLE_RE.match(line)
                if not m or m.group(1) != family or family not in self.types:
                    self.errors.append("bad sample: " + line)
                    continue
                name, label, value, v = m.groups()
                self.labels.setdefault(name, label)
                if self.labels[name] != label:
                    self.errors.append("two label names in " + name)
                self.values[(name, value)] = int(v)

    def get(self, name, value=None):
        return self.values.get((name, value))

    def label_values(self, name):
        return {v for (n, v) in self.values if n == name and v is not None}


def run(exe, args, **kw):
    return subprocess.run([exe] + args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60, **kw)


def promtool_check_metrics(promtool, path, what):
    if not promtool:
        return
    with open(path, "rb") as f:
        r = subprocess.run([promtool, "check", "metrics"], stdin=f, capture_output=True, text=True)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "%s: promtool check metrics" % what, r.stdout + r.stderr)


# ---- 1, 2: capture files ------------------------------------------------------------------------

def offline(exe, tmp, promtool, seen):
    codes = None
    for cap, opts in RUNS:
        path = os.path.join(tmp, cap.replace(".pcap", ".prom"))
        r = run(exe, ["-r", os.path.join(CAPTURES, cap), "-o", "json", "--stats",
                      "--metrics-file", path] + opts)
        recs, st = records(r.stdout), stats_of(r.stderr)
        if not check(r.returncode in (0, 1) and os.path.exists(path),
                     "%s: -r with --metrics-file ran and wrote the file" % cap, r.stderr[-500:]):
            continue
        m = Metrics(open(path).read())
        seen.append(m)
        check(not m.errors, "%s: the text format read back strictly" % cap, m.errors[:5])
        promtool_check_metrics(promtool, path, cap)
        by_code = collections.Counter(rec["diagnosis"] for rec in recs)
        codes = m.label_values("sipauthmon_diagnoses_total")
        got = {c: m.get("sipauthmon_diagnoses_total", c) for c in codes}
        check(len(CODES) >= 17 and codes == CODES and got == {c: by_code.get(c, 0) for c in codes},
              "%s: sipauthmon_diagnoses_total by code = the JSON records (%s)" %
              (cap, dict(by_code) or "none"), got)
        check(all(m.get("sipauthmon_diagnoses_total", c) == st.get("diagnoses." + c.replace("-", "_"))
                  for c in codes), "%s: ... = --stats diagnoses.*" % cap)
        bad = []
        for name, want in SAME_AS_STATS.items():
            for label, counter in want.items():
                if m.get(name, label) != st.get(counter):
                    bad.append((name, label, m.get(name, label), counter, st.get(counter)))
        c401 = m.get("sipauthmon_challenges_total", "401")
        if c401 + m.get("sipauthmon_challenges_total", "407") != st.get("tracker.challenges"):
            bad.append(("challenges", c401, st.get("tracker.challenges")))
        check(not bad, "%s: every metric equals its --stats counter" % cap, bad)
    both = [m for m in seen if m.get("sipauthmon_challenges_total", "407")]
    check(both, "a run with 407 challenges (header-mismatch)")
    check(any(m.get("sipauthmon_records_rate_limited_total") for m in seen) and
          any(m.get("sipauthmon_diagnoses_total", "rate-limited") for m in seen),
          "the rate cap: records held back and the rate-limited summary counted")
    check(any(m.get("sipauthmon_auth_successes_total") for m in seen), "successes counted")

    # 2. A directory that does not exist: analysis and output as without the option.
    cap = os.path.join(CAPTURES, "mixed-sample.pcap")
    plain = run(exe, ["-r", cap, "-o", "json"])
    bad = run(exe, ["-r", cap, "-o", "json", "--stats", "--metrics-file",
                    os.path.join(tmp, "missing", "x.prom")])
    errs = [l for l in bad.stderr.splitlines() if "metrics file" in l]
    check(bad.returncode == plain.returncode == 1 and bad.stdout == plain.stdout,
          "-r, unwritable metrics file: same records and exit status", bad.stderr[-300:])
    check(len(errs) == 1 and "No such file or directory" in errs[0] and
          stats_of(bad.stderr).get("metrics.write_failures") == 1,
          "-r, unwritable metrics file: one error line, metrics.write_failures 1", errs)


# ---- 3: live ------------------------------------------------------------------------------------

class Notify:
    """The NOTIFY_SOCKET the daemon sends READY=1 and STATUS= to."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)  # the daemon may run as nobody by then
        self.path = path

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = self.sock.recv(65536).decode(errors="replace")
            except socket.timeout:
                break
            kv = dict(l.split("=", 1) for l in msg.split("\n") if "=" in l)
            if kv.get("READY") == "1":
                return kv.get("STATUS", "")
        return None

    def close(self):
        self.sock.close()


def start_live(exe, tmp, name, metrics_path, interval_ms):
    notify = Notify(os.path.join(tmp, name + ".sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env[ENV_INTERVAL] = str(interval_ms)
    for k in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC"):
        env.pop(k, None)
    p = subprocess.Popen([exe, "--hep-listen", "127.0.0.1:0", "-o", "json", "--stats",
                          "--metrics-file", metrics_path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    status = notify.wait_ready(10)
    notify.close()
    m = re.search(r"listening for HEP on 127\.0\.0\.1:(\d+)", status or "")
    return p, (int(m.group(1)) if m else None), status


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return out, err


class Reader(threading.Thread):
    """Reads the file in a loop; every read must be one whole file."""

    def __init__(self, path, lines):
        super().__init__(daemon=True)
        self.path, self.lines = path, lines
        self.reads, self.bad, self.versions = 0, [], set()
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                with open(self.path) as f:
                    st = os.fstat(f.fileno())
                    text = f.read()
            except FileNotFoundError:
                self.bad.append("the file vanished")
                continue
            self.reads += 1
            self.versions.add((st.st_ino, st.st_mtime_ns))
            body = text.splitlines()
            if (not text.endswith("\n") or len(body) != self.lines
                    or not body[-1].startswith(LAST_FAMILY + " ") or Metrics(text).errors):
                self.bad.append(text[-200:])


def live(exe, tmp, promtool, seen):
    run_mod = _load(os.path.join(SRCDIR, "tests", "variants", "run.py"), "metrics_variants_run")
    tunnels = _load(os.path.join(SRCDIR, "tests", "variants", "tunnels.py"), "metrics_tunnels")
    # The daemon may drop to nobody (started as root): a directory it can write.
    d = os.path.join(tmp, "live")
    os.mkdir(d)
    os.chmod(d, 0o777)
    path = os.path.join(d, "sipauthmon.prom")
    p, port, status = start_live(exe, tmp, "live", path, 20)
    try:
        if not check(port is not None and os.path.exists(path),
                     "live: READY=1, and the file is there at once", status):
            return
        first = Metrics(open(path).read())
        check(not first.errors and first.get("sipauthmon_hep_packets_total", "in") == 0 and
              sum(first.get("sipauthmon_diagnoses_total", c) or 0
                  for c in first.label_values("sipauthmon_diagnoses_total")) == 0,
              "live: at start, every series at zero", first.errors[:3])
        reader = Reader(path, len(first.text.splitlines()))
        reader.start()
        frames = [f for f in run_mod.read_pcap(os.path.join(CAPTURES, "wrong-password.pcap"))]
        sent = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ts, lt, data in frames:
                u = tunnels._tp.parse_udp4(lt, data)
                s.sendto(tunnels.hep3_packet(u.ip_src, u.ip_dst, u.sport, u.dport, 17,
                                             int(time.time() * 1e6), u.payload), ("127.0.0.1", port))
                sent += 1
                time.sleep(0.005)
        during = None
        end = time.monotonic() + 5
        while time.monotonic() < end:
            m = Metrics(open(path).read())
            if m.get("sipauthmon_diagnoses_total", "wrong-password") == 1 and \
                    m.get("sipauthmon_hep_packets_total", "in") == sent:
                during = m
                break
            time.sleep(0.02)
        time.sleep(0.3)  # a few more rewrites under the reader
        reader.done.set()
        reader.join()
        check(during is not None, "live: the diagnosis and the %d HEP packets appear while running" % sent)
        check(not reader.bad and reader.reads > 50,
              "live: %d reads during the rewrites, none of a partial file" % reader.reads, reader.bad[:2])
        check(len(reader.versions) >= 5, "live: rewritten periodically (%d versions seen)" % len(reader.versions))
    finally:
        out, err = stop(p)
    recs, st = records(out), stats_of(err)
    final = Metrics(open(path).read())
    seen.append(final)
    check(p.returncode == 1 and [r["diagnosis"] for r in recs] == ["wrong-password"],
          "live: stopped with SIGTERM, one wrong-password record, exit 1", err[-300:])
    check(final.get("sipauthmon_diagnoses_total", "wrong-password") == 1 and
          final.get("sipauthmon_hep_packets_total", "in") == st.get("hep_listener.packets") == sent and
          final.get("sipauthmon_metrics_write_failures_total") == st.get("metrics.write_failures") == 0,
          "live: at exit the file holds the final counters (= --stats)")
    check(os.listdir(d) == ["sipauthmon.prom"], "live: no temporary file left", os.listdir(d))
    promtool_check_metrics(promtool, path, "live")

    # A directory that is not there: many failures, one line, counted.
    p, port, status = start_live(exe, tmp, "fail", os.path.join(tmp, "missing", "x.prom"), 20)
    time.sleep(0.5)
    out, err = stop(p)
    lines = [l for l in err.splitlines() if "metrics file" in l]
    n = stats_of(err).get("metrics.write_failures", 0)
    check(p.returncode == 0 and port is not None and len(lines) == 1 and n >= 10,
          "live, unwritable metrics file: still running, %d failures counted, one error line" % n,
          "rc=%s %r" % (p.returncode, lines))


# ---- 4: contrib/prometheus ----------------------------------------------------------------------

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}


def expr_metrics(expr):
    """Metric names and (metric, label, op, value) matchers of a PromQL expression."""
    matchers = []
    for m in re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}', expr):
        for lm in re.finditer(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', m.group(2)):
            matchers.append((m.group(1),) + lm.groups())
    grouping = re.findall(r'\b(?:by|without|on|ignoring)\s*\(([^)]*)\)', expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r'\{[^}]*\}|\[[^\]]*\]', ' ', e)
    e = re.sub(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    e = re.sub(r'\$\w+', ' ', e)
    names = []
    for m in re.finditer(r'(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*', e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in KEYWORDS:
            continue  # a function, an aggregation or a keyword
        names.append(m.group(0))
    labels = [l.strip() for g in grouping for l in g.split(",") if l.strip()]
    return names, matchers, labels


def check_queries(what, exprs, known, extra_metrics=()):
    """known: family -> (label name or None, set of label values)."""
    problems = []
    for expr in exprs:
        names, matchers, labels = expr_metrics(expr)
        if not names:
            problems.append("no metric in %r" % expr)
        for n in names:
            if n not in known and n not in extra_metrics:
                problems.append("unknown metric %s in %r" % (n, expr))
        for metric, label, op, value in matchers:
            if metric in extra_metrics or label in ("instance", "job"):
                continue
            lname, values = known.get(metric, (None, set()))
            if label != lname:
                problems.append("%s has no label %s" % (metric, label))
            elif op == "=" and value not in values:
                problems.append("%s{%s=%r}: no such value" % (metric, label, value))
            elif op == "=~":
                for alt in value.split("|"):
                    if re.fullmatch(r"[\w-]+", alt) and alt not in values:
                        problems.append("%s{%s=~%r}: %r matches no value" % (metric, label, value, alt))
        for l in labels:
            if l not in ("instance", "job") and l not in {v[0] for k, v in known.items() if k in names}:
                problems.append("grouping by %s, which %s lacks" % (l, names))
    check(not problems, "%s: %d expressions query only metrics, labels and values that exist" %
          (what, len(exprs)), problems)


def dashboard_exprs(dash):
    exprs, templ = [], []

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("expr"), str):
                exprs.append(x["expr"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q or "")
        if m:
            templ.append(m.group(1))
        elif v.get("type") == "query":
            templ.append(q)
    return exprs, templ


def contrib(promtool, seen):
    known = {}
    for m in seen:
        for name, label in m.labels.items():
            known.setdefault(name, (label, set()))[1].update(m.label_values(name))
    rules = os.path.join(CONTRIB, "sipauthmon-alerts.yml")
    if promtool:
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        check(r.returncode == 0 and "SUCCESS: 4 rules found" in r.stdout,
              "contrib: promtool check rules sipauthmon-alerts.yml", r.stdout + r.stderr)
        r = subprocess.run([promtool, "test", "rules", os.path.join(HERE, "alerts-test.yml")],
                           capture_output=True, text=True)
        check(r.returncode == 0 and "SUCCESS" in r.stdout,
              "contrib: promtool test rules alerts-test.yml (each alert fires, and only then)",
              r.stdout + r.stderr)
    rule_exprs = re.findall(r"^\s+expr: (.*)$", open(rules).read(), re.M)
    rule_exprs = [e.replace('\\\\', '\\') for e in rule_exprs]
    check(len(rule_exprs) == 4, "contrib: 4 alert expressions found")
    # The staleness alert reads node_exporter's own metric of the file.
    check_queries("contrib alert rules", rule_exprs, known, extra_metrics=("node_textfile_mtime_seconds",))

    dash = json.load(open(os.path.join(CONTRIB, "sipauthmon-dashboard.json")))
    exprs, templ = dashboard_exprs(dash)
    check(len(exprs) >= 10 and all(t in known for t in templ),
          "contrib dashboard: %d panel queries, template queries on %s" % (len(exprs), templ))
    check_queries("contrib dashboard", exprs, known)
    used = {n for e in exprs for n in expr_metrics(e)[0]}
    check(used == set(known), "contrib dashboard: shows every metric",
          "not shown: %s" % sorted(set(known) - used))

    # sipauthmon(8) lists exactly the metrics written.
    page = open(os.path.join(SRCDIR, "man", "sipauthmon.8.scd")).read().replace("\\_", "_")
    listed = set(re.findall(r"\*(sipauthmon_[a-z_]+)\*", page))
    check(listed == set(known), "sipauthmon(8) lists the metrics written",
          "missing %s, unknown %s" % (sorted(set(known) - listed), sorted(listed - set(known))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", default=os.environ.get("SIPAUTHMON"))
    ap.add_argument("--no-live", action="store_true", help="skip the live daemon (valgrind)")
    args = ap.parse_args()
    exe = os.path.abspath(args.sipauthmon)
    promtool = shutil.which("promtool")
    if not promtool:
        if os.environ.get("CI") == "true":
            check(False, "promtool (package prometheus, .ci/packages) is installed under CI=true")
        else:
            skipped.append("promtool missing (package prometheus): its checks skipped")
    seen = []
    with tempfile.TemporaryDirectory(prefix="sipauthmon-metrics.") as tmp:
        os.chmod(tmp, 0o755)
        offline(exe, tmp, promtool, seen)
        if not args.no_live:
            live(exe, tmp, promtool, seen)
        if seen:
            contrib(promtool, seen)
    if CHECKS.failed:
        print("%d check(s) failed" % CHECKS.failed, file=sys.stderr)
        return 1
    for s in skipped:
        print("SKIP:", s)
    print("metrics: all checks passed")
    return 77 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())

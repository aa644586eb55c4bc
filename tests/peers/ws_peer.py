#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real WebSocket peer: sipauthmon against Kamailio's websocket module
and a WebSocket SIP phone (RFC 7118), live and from tcpdump's file.

Two network namespaces joined by a veth pair (the patterns of run.py;
names carry "wsp" and the pid, so this test never meets run.py or
real_tools.py running at the same time):

  wspsrv-PID  wsps-PID  10.97.17.1  Kamailio 5.6 on plain ws, tcp:…:8080
                                    (kamailio-ws.cfg.in: xhttp + websocket
                                    + nathelper, MD5 digest, qop=auth)
                                    sipauthmon -i wsps-PID, tcpdump -i wsps-PID
  wspcli-PID  wspc-PID  10.97.17.11…  one address per scenario: ws_uac.py
                                    (python3-websockets), masked text frames,
                                    Via SIP/2.0/WS x.invalid

Scenarios, at the same time: a healthy registration (401, the right
answer, 200) and a wrong password (four times 401, wrong answer, 401 again,
as a browser phone retries). Checked per client address, live (sipauthmon
-i … -o json --duration N in the server namespace; port 8080 is one of the
default --ws-ports) and from the capture (sipauthmon -r FILE -o json): the
healthy phone has no record, the wrong one exactly one wrong-password
record with user, realm, transport ws, client address, method and
algorithm; the live and file records agree. A sipauthmon that does not read
SIP over WebSocket fails here.

Usage: ws_peer.py --sipauthmon PATH [--keep DIR]   (or SIPAUTHMON in the env)
Exit: 0 passed, 1 failed, 77 skipped (not root, no ip netns, kamailio, its
websocket module or python3-websockets missing; under CI=true a missing
tool fails the test).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import (Fail, Proc, clean_up, client_ip, log, log_tails,  # noqa: E402
                   nsexec, parse_args, parse_records, run, wait_listening, Report)
from pathlib import Path

HERE = Path(__file__).resolve().parent
PID = os.getpid()
SRV_NS, CLI_NS = "wspsrv-%d" % PID, "wspcli-%d" % PID
SRV_IF, CLI_IF = "wsps-%d" % PID, "wspc-%d" % PID
SRV_IP, WS_PORT = "10.97.17.1", 8080
REALM = "example.test"
KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
DURATION = 10             # sipauthmon --duration: covers both scenarios (~2 s)
READY_TIMEOUT = 10
CLIENT_TIMEOUT = 20

# name: (client ip, user, mode, expected diagnosis or None for "no record")
# The password of every account is its name followed by "pw".
SCENARIOS = {
    "healthy-register-ws": ("10.97.17.11", "wendy", "healthy", None),
    "wrong-password-register-ws": ("10.97.17.12", "walter", "wrong", "wrong-password"),
}
WRONG_ATTEMPTS = 4        # ws_uac.py --attempts: each a REGISTER and a wrong answer
KEY_FIELDS = ("diagnosis", "user", "realm", "client_ip", "transport", "method", "algorithm")



def websockets_python():
    """A Python that imports websockets: this one, else Debian's (a python3
    from pyenv or a venv first in PATH does not see python3-websockets)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and run([py, "-c", "import websockets"], check=False).returncode == 0:
            return py
    return None


def setup_netns():
    run(["ip", "netns", "add", SRV_NS])
    run(["ip", "netns", "add", CLI_NS])
    run(["ip", "link", "add", SRV_IF, "netns", SRV_NS, "type", "veth", "peer", "name",
         CLI_IF, "netns", CLI_NS])
    run(["ip", "-n", SRV_NS, "addr", "add", SRV_IP + "/24", "dev", SRV_IF])
    for sc in SCENARIOS.values():
        run(["ip", "-n", CLI_NS, "addr", "add", sc[0] + "/24", "dev", CLI_IF])
    for ns in (SRV_NS, CLI_NS):
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(nsexec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
    run(["ip", "-n", SRV_NS, "link", "set", SRV_IF, "up"])
    run(["ip", "-n", CLI_NS, "link", "set", CLI_IF, "up"])


def start_kamailio(work):
    cfg = (HERE / "kamailio-ws.cfg.in").read_text()
    cfg = (cfg.replace("@SERVER_IP@", SRV_IP).replace("@WS_PORT@", str(WS_PORT))
           .replace("@SECRET@", "ws-peer-secret"))
    rundir = work / "kamailio-ws"
    rundir.mkdir()
    path = rundir / "kamailio.cfg"
    path.write_text(cfg)
    cmd = ["kamailio", "-DD", "-E", "-m", "32", "-M", "8", "-f", path, "-P",
           rundir / "kamailio.pid", "-Y", rundir]
    p = Proc("kamailio-ws", nsexec(SRV_NS, *cmd), work)
    wait_listening(SRV_NS, "tcp", SRV_IP, WS_PORT, READY_TIMEOUT, p)
    return p


def client_cmd(py, name):
    ip, user, mode, _ = SCENARIOS[name]
    return nsexec(CLI_NS, py, HERE / "ws_uac.py", "--server", SRV_IP, "--port", WS_PORT,
                  "--local", ip, "--user", user, "--password", user + "pw", "--mode", mode,
                  "--attempts", WRONG_ATTEMPTS)


def key(rec):
    return {k: (client_ip(rec) if k == "client_ip" else rec.get(k)) for k in KEY_FIELDS}


def compare(label, recs, report):
    by_ip = {}
    for r in recs:
        by_ip.setdefault(client_ip(r), []).append(r)
    for name, (ip, user, _mode, code) in SCENARIOS.items():
        got = by_ip.pop(ip, [])
        want = [] if code is None else [{
            "diagnosis": code, "user": user, "realm": REALM, "client_ip": ip,
            "transport": "ws", "method": "REGISTER", "algorithm": "MD5"}]
        report.check([key(r) for r in got] == want,
                     "%s %s: %s" % (label, name, code or "no record"),
                     "expected %s\ngot      %s" % (json.dumps(want),
                                                   "\n         ".join(json.dumps(r)
                                                                       for r in got)))
    report.check(not by_ip, "%s: no record for any other address" % label,
                 json.dumps(by_ip))


def agree(live, offline, report):
    """The same records live and from the file, but for the fields with
    timing in them (the evidence says "within N ms": two capture sockets
    may stamp one packet a little apart)."""
    def strip(recs):
        return [{k: v for k, v in r.items() if k not in ("first_seen", "last_seen", "evidence")}
                for r in recs]
    report.check(strip(live) == strip(offline), "live and file records agree",
                 "live %s\nfile %s" % (json.dumps(strip(live)), json.dumps(strip(offline))))


def check_capture(pcap, report):
    """tshark's reading of the capture: every REGISTER of each phone in a
    masked text frame (its Upgrade handshake dissected first), as many as
    the scenario sends (the traffic the verdicts are about is really there,
    and really SIP over WebSocket)."""
    r = run(["tshark", "-r", pcap, "-n", "-Y", 'sip.Method == "REGISTER"', "-T", "fields",
             "-e", "ip.src", "-e", "websocket.mask", "-e", "websocket.opcode"],
            check=False, timeout=60)
    rows = [ln.split("\t") for ln in r.stdout.splitlines() if ln.strip()]
    for name, (ip, _user, mode, _code) in SCENARIOS.items():
        want = 2 if mode == "healthy" else 2 * WRONG_ATTEMPTS
        got = [row for row in rows if row[0] == ip]
        report.check(len(got) == want and all(row[1:] == ["1", "1"] for row in got),
                     "capture %s: tshark sees %d REGISTERs in masked ws text frames" % (
                         name, want), "tshark rows %s; stderr %s" % (got, r.stderr[-500:]))


def missing_tools():
    tools = {"ip": "iproute2", "ss": "iproute2", "kamailio": "kamailio",
             "tcpdump": "tcpdump", "tshark": "tshark"}
    missing = sorted({"%s (%s)" % (t, pkg) for t, pkg in tools.items() if not shutil.which(t)})
    if not (KAMAILIO_MODULES / "websocket.so").exists():
        missing.append("websocket.so (kamailio-websocket-modules)")
    return missing


def run_traffic(work, exe, py, report, procs):
    """Kamailio, tcpdump, live sipauthmon and the phones (appended to procs):
    the capture file and the live records."""
    try:
        kam = start_kamailio(work)
        procs.append(kam)
        pcap = work / "ws-peer.pcap"
        td = Proc("tcpdump", nsexec(SRV_NS, "tcpdump", "-i", SRV_IF, "-n", "-s", "0",
                                    "-B", "16384", "--immediate-mode", "-U", "-Z", "root",
                                    "-w", pcap), work)
        procs.append(td)
        td.wait_stderr(r"listening on", READY_TIMEOUT, "'listening on'")
        live = Proc("sipauthmon-live", nsexec(SRV_NS, exe, "-i", SRV_IF, "-o", "json",
                                              "--duration", DURATION, "-v", "--stats"), work)
        procs.append(live)
        live.wait_stderr(r"capturing on", READY_TIMEOUT, "'capturing on' (capture active)")
        t_live = time.monotonic()

        clients = {n: Proc("client-" + n, client_cmd(py, n), work) for n in SCENARIOS}
        procs += clients.values()
        deadline = time.monotonic() + CLIENT_TIMEOUT
        for n, c in clients.items():
            try:
                c.p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.stop(signal.SIGKILL)
            rc = c.stop()
            report.check(rc == 0, "traffic %s: the server answered as planned" % n,
                         "exit %s\n%s%s\nkamailio:\n%s" % (rc, c.stdout()[-2500:],
                                                           c.stderr(), kam.stderr(2000)))
        spent = time.monotonic() - t_live
        log("note scenarios done in %.1f s" % spent)
        if spent > DURATION - 3:
            raise Fail("the scenarios took %.1f s, too close to --duration %d" % (spent,
                                                                                DURATION))
        try:
            live.p.wait(DURATION - spent + 15)
        except subprocess.TimeoutExpired:
            raise Fail("sipauthmon -i did not stop at --duration %d; stderr:\n%s" % (
                DURATION, live.stderr()))
        rc_live = live.stop()
        td.stop(signal.SIGINT)
        kam.stop()
        m = re.search(r"(\d+) packets? dropped by kernel", td.stderr())
        report.check(m is not None and int(m.group(1)) == 0, "tcpdump: no packet dropped",
                     m.group(0) if m else "no drop count:\n" + td.stderr())
        report.check(rc_live == 1, "live: exit status 1 (diagnoses)",
                     "exit %s; stderr:\n%s" % (rc_live, live.stderr()))
        return pcap, parse_records(live.stdout(), "live")
    except Fail:
        log_tails(procs)
        raise


def main():
    args, exe, ci, rc = parse_args("keep the capture and logs in this directory")
    if rc is not None:
        return rc
    missing = missing_tools()
    py = websockets_python()
    if py is None:
        missing.append("python websockets (python3-websockets)")
    if missing:
        if ci:
            log("FAIL not installed under CI=true: %s\n0 passed, 1 failed" % ", ".join(missing))
            return 1
        log("SKIP: not installed: %s" % ", ".join(missing))
        return 77
    probe = "wsp-probe-%d" % PID
    if run(["ip", "netns", "add", probe], check=False).returncode != 0:
        if ci:
            log("FAIL ip netns add does not work here, and CI=true\n0 passed, 1 failed")
            return 1
        log("SKIP: ip netns add does not work here")
        return 77
    run(["ip", "netns", "del", probe], check=False)

    # meson's timeout sends SIGTERM: unwind through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("ws-peer: terminated"))
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sipauthmon-wsp-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    report = Report()
    procs = []
    started = time.monotonic()
    try:
        setup_netns()
        pcap, live = run_traffic(work, exe, py, report, procs)
        compare("live", live, report)
        r = run([exe, "-r", pcap, "-o", "json", "--stats"], check=False, timeout=60)
        report.check(r.returncode == 1, "file: exit status 1 (diagnoses)",
                     "exit %d; stderr:\n%s" % (r.returncode, r.stderr[-2000:]))
        offline = parse_records(r.stdout, "file")
        check_capture(pcap, report)
        compare("file", offline, report)
        agree(live, offline, report)
        if args.keep:
            log("note capture and logs kept in %s" % work)
    except Fail as e:
        report.check(False, "setup/run: %s" % e)
    finally:
        clean_up(procs, (CLI_NS, SRV_NS), None if args.keep else work)
    log("note ws-peer took %.1f s" % (time.monotonic() - started))
    log("%d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())

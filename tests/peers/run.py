#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real peers: sipauthmon against a real Kamailio and real SIP clients.

Recipe: ../shared/recipes/real-sip-peers.md. Two network namespaces joined by
a veth pair:

  sipsrv  veth-s 10.99.0.1  Kamailio, MD5 challenges        (kamailio.cfg.in)
                 10.99.0.3  Kamailio, SHA-256-only challenges
                            sipauthmon -i veth-s, tcpdump -i veth-s,
                            sipauthmon --hep-listen 10.99.0.1:9060
  sipcli  veth-c 10.99.0.11…  one address per client scenario: sipp
                            (healthy MD5 register and call) and uac.py (the
                            SHA-256 and the misbehaving clients)

Every scenario runs at the same time from its own address, over UDP or TCP,
against 401 (REGISTER) or 407 (INVITE) challenges. Then three checks, each
comparing the diagnoses per client address with SCENARIOS (code, user,
realm, client address, transport, method, algorithm; never timing text):

  live  sipauthmon -i veth-s -o json --duration N, inside sipsrv
  file  tcpdump's capture of the same traffic, read with sipauthmon -r
  hep   Kamailio's siptrace mirror of the same traffic as HEPv3, received by
        sipauthmon --hep-listen (a binary without that option fails here)

Usage: run.py --sipauthmon PATH [--keep DIR]   (or SIPAUTHMON in the env)
Exit: 0 passed, 1 failed, 77 skipped (not root, no ip netns, kamailio or sipp).
"""

import argparse
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
                   nsexec, parse_records, run, wait_listening)
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRV_NS = "sipsrv-%d" % os.getpid()
CLI_NS = "sipcli-%d" % os.getpid()
MD5_SRV, SHA_SRV = "10.99.0.1", "10.99.0.3"
HEP_ADDR = (MD5_SRV, 9060)
REALM = "example.test"
NONCE_EXPIRE = 5          # kamailio.cfg.in modparam("auth", "nonce_expire")
STALE_WAIT = NONCE_EXPIRE + 1.5
DURATION = 25             # sipauthmon --duration: covers every scenario
READY_TIMEOUT = 10

# name: (client ip, tool, server, transport, method, user, mode, expected diagnosis)
# tool "sipp" plays the healthy MD5 clients; "uac" is uac.py. Expected None:
# healthy traffic, nothing may be reported for that client.
SCENARIOS = {
    "healthy-register-udp-md5": ("10.99.0.11", "sipp", MD5_SRV, "udp", "REGISTER", "alice",
                                 "healthy", None),
    "healthy-call-udp-md5": ("10.99.0.12", "sipp", MD5_SRV, "udp", "INVITE", "bob",
                             "healthy", None),
    "healthy-register-tcp-md5": ("10.99.0.13", "sipp", MD5_SRV, "tcp", "REGISTER", "carol",
                                 "healthy", None),
    "healthy-register-udp-sha256": ("10.99.0.14", "uac", SHA_SRV, "udp", "REGISTER", "kevin",
                                    "healthy", None),
    "healthy-call-tcp-sha256": ("10.99.0.15", "uac", SHA_SRV, "tcp", "INVITE", "laura",
                                "healthy", None),
    "wrong-password-register-udp-md5": ("10.99.0.21", "uac", MD5_SRV, "udp", "REGISTER",
                                        "dave", "wrong", "wrong-password"),
    "wrong-password-call-tcp-sha256": ("10.99.0.22", "uac", SHA_SRV, "tcp", "INVITE", "erin",
                                       "wrong", "wrong-password"),
    "wrong-password-call-udp-md5": ("10.99.0.29", "uac", MD5_SRV, "udp", "INVITE", "mike",
                                    "wrong", "wrong-password"),
    "wrong-password-register-tcp-sipp": ("10.99.0.30", "sipp", MD5_SRV, "tcp", "REGISTER",
                                         "oscar", "wrong", "wrong-password"),
    "realm-mismatch-register-tcp-md5": ("10.99.0.23", "uac", MD5_SRV, "tcp", "REGISTER",
                                        "frank", "realm", "realm-mismatch"),
    "realm-mismatch-call-udp-sha256": ("10.99.0.24", "uac", SHA_SRV, "udp", "INVITE", "nora",
                                       "realm", "realm-mismatch"),
    "algorithm-mismatch-register-udp": ("10.99.0.25", "uac", SHA_SRV, "udp", "REGISTER",
                                        "grace", "algorithm", "algorithm-mismatch"),
    "algorithm-mismatch-call-tcp": ("10.99.0.26", "uac", SHA_SRV, "tcp", "INVITE", "heidi",
                                    "algorithm", "algorithm-mismatch"),
    "stale-nonce-register-udp-md5": ("10.99.0.27", "uac", MD5_SRV, "udp", "REGISTER", "ivan",
                                     "stale", "stale-nonce"),
    "stale-nonce-call-tcp-sha256": ("10.99.0.28", "uac", SHA_SRV, "tcp", "INVITE", "judy",
                                    "stale", "stale-nonce"),
}

# Known wrong answers of sipauthmon on this real traffic, reported to the
# owner of the rule: scenario -> (the diagnosis sipauthmon gives instead,
# why). Such a scenario prints XFAIL instead of failing; once sipauthmon
# gives the expected answer it prints XPASS and fails, so the entry is
# removed. The expectation in SCENARIOS itself is never bent.
# Scenarios sipauthmon is known to get wrong, as name: (code it gives, reason).
# Empty: the four wrong-password loops that came out as qop-mismatch (Kamailio
# re-issues one nonce per second, answered each time with nc=1; sipp's digest
# uri differs from the Request-URI, which Kamailio accepts) are diagnosed right
# since the tracker restarts nc on a re-issued nonce and learns what a server
# accepts. An entry that starts passing fails the test (XPASS).
KNOWN_ISSUES = {}


def expected_fields(name):
    ip, _tool, srv, tp, method, user, mode, code = SCENARIOS[name]
    # The algorithm the client answered with: the server's, except for the
    # MD5 answer to the SHA-256-only challenge.
    alg = "MD5" if (srv == MD5_SRV or mode == "algorithm") else "SHA-256"
    return {"diagnosis": code, "user": user, "realm": REALM, "client_ip": ip,
            "transport": tp, "method": method, "algorithm": alg}


def wait_udp_port(ns, addr, port, timeout, owner):
    """A UDP listener is up when a datagram to it draws no ICMP port
    unreachable (ECONNREFUSED on a connected socket)."""
    probe = ("import socket,sys\n"
             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.connect((sys.argv[1],"
             "int(sys.argv[2])));s.settimeout(0.2)\n"
             "s.send(b'')\n"
             "try:\n s.recv(1)\nexcept ConnectionRefusedError:\n sys.exit(1)\n"
             "except socket.timeout:\n sys.exit(0)\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if owner.p.poll() is not None:
            raise Fail("%s exited with %d before listening on udp %s:%d; stderr:\n%s" % (
                owner.name, owner.p.returncode, addr, port, owner.stderr()))
        if run(nsexec(ns, sys.executable, "-c", probe, addr, port), check=False).returncode == 0:
            return
        time.sleep(0.05)
    raise Fail("%s: udp %s:%d not open within %d s; stderr:\n%s" % (
        owner.name, addr, port, timeout, owner.stderr()))


# --------------------------------------------------------------------------
# Comparing diagnoses


def known_wrong(exp, got_fields, code):
    """The known wrong answer: the known code is there, possibly next to the
    expected one (which one fires can depend on timing), and every other key
    field is right."""
    codes = [g["diagnosis"] for g in got_fields]
    rest = [dict(g, diagnosis=None) for g in got_fields]
    return (code in codes and set(codes) <= {code, exp["diagnosis"]}
            and all(r == dict(exp, diagnosis=None) for r in rest))


def compare(label, recs, report):
    """Each failing client exactly one record with the expected key fields;
    nothing for healthy clients, nothing for any other address."""
    by_ip = {}
    for r in recs:
        by_ip.setdefault(client_ip(r), []).append(r)
    ok = True
    for name in SCENARIOS:
        exp = expected_fields(name)
        got = by_ip.pop(exp["client_ip"], [])
        got_fields = [{"diagnosis": r.get("diagnosis"), "user": r.get("user"),
                       "realm": r.get("realm"), "client_ip": client_ip(r),
                       "transport": r.get("transport"), "method": r.get("method"),
                       "algorithm": r.get("algorithm")} for r in got]
        want = [exp] if exp["diagnosis"] else []
        good = got_fields == want
        known = KNOWN_ISSUES.get(name)
        if good and known:
            log("XPASS %s %s: now diagnosed right; remove it from KNOWN_ISSUES" % (label, name))
            ok = False
        elif good:
            log("ok    %s %s: %s" % (label, name, exp["diagnosis"] or "nothing"))
        elif known and known_wrong(exp, got_fields, known[0]):
            log("XFAIL %s %s: %s instead of %s (known: %s)" % (
                label, name, ", ".join(g["diagnosis"] for g in got_fields),
                exp["diagnosis"], known[1]))
        else:
            ok = False
            log("FAIL  %s %s:\n        expected %s\n        got      %s" % (
                label, name, json.dumps(want), json.dumps(got_fields)))
            for r in got:
                log("        record: %s" % json.dumps(r))
    for ip, rest in sorted(by_ip.items()):
        ok = False
        log("FAIL  %s: records for an address without a scenario (%s): %s" % (
            label, ip, json.dumps(rest)))
    report.append((label, ok))
    return ok


# --------------------------------------------------------------------------
# Setup and scenarios


def setup_netns():
    run(["ip", "netns", "add", SRV_NS])
    run(["ip", "netns", "add", CLI_NS])
    run(["ip", "link", "add", "veth-s", "netns", SRV_NS, "type", "veth", "peer", "name",
         "veth-c", "netns", CLI_NS])
    for ip in (MD5_SRV, SHA_SRV):
        run(["ip", "-n", SRV_NS, "addr", "add", ip + "/24", "dev", "veth-s"])
    run(["ip", "-n", CLI_NS, "addr", "add", "10.99.0.2/24", "dev", "veth-c"])
    for sc in SCENARIOS.values():
        run(["ip", "-n", CLI_NS, "addr", "add", sc[0] + "/24", "dev", "veth-c"])
    for ns in (SRV_NS, CLI_NS):
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(nsexec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
    run(["ip", "-n", SRV_NS, "link", "set", "veth-s", "up"])
    run(["ip", "-n", CLI_NS, "link", "set", "veth-c", "up"])


def start_kamailio(work, name, ip, sha256):
    cfg = (HERE / "kamailio.cfg.in").read_text()
    cfg = (cfg.replace("@SERVER_IP@", ip).replace("@SECRET@", "peers-%s-secret" % name)
           .replace("@HEP_ADDR@", "%s:%d" % HEP_ADDR))
    rundir = work / ("kamailio-" + name)
    rundir.mkdir()
    path = rundir / "kamailio.cfg"
    path.write_text(cfg)
    # -DD -E: foreground, log to stderr; -P/-Y absolute (kamailio chdirs to /).
    cmd = ["kamailio", "-DD", "-E", "-m", "32", "-M", "8", "-f", path, "-P",
           rundir / "kamailio.pid", "-Y", rundir, "-A", "WITH_HEP"]
    if sha256:
        cmd += ["-A", "WITH_SHA256"]
    p = Proc("kamailio-" + name, nsexec(SRV_NS, *cmd), work)
    wait_listening(SRV_NS, "udp", ip, 5060, READY_TIMEOUT, p)
    wait_listening(SRV_NS, "tcp", ip, 5060, READY_TIMEOUT, p)
    return p


def scenario_cmd(name, work):
    ip, tool, srv, tp, method, user, mode, _ = SCENARIOS[name]
    if tool == "sipp":
        xml = {"REGISTER": "reg_auth.xml", "INVITE": "call_auth.xml"}[method]
        pw = user + "pw"
        if mode == "wrong":
            xml, pw = "reg_wrong.xml", user + "pw-old"
        cmd = ["sipp", "%s:5060" % srv, "-i", ip, "-p", "5060", "-t",
               "u1" if tp == "udp" else "t1", "-m", "1", "-nostdin", "-sf", HERE / xml,
               "-s", user, "-au", user, "-ap", pw, "-timeout", "15s",
               "-timeout_error", "-trace_err", "-error_file", work / ("sipp-%s.errors" % name)]
    else:
        cmd = [sys.executable, HERE / "uac.py", "--server", srv, "--local", ip,
               "--transport", tp, "--method", method, "--user", user,
               "--password", user + "pw", "--mode", mode, "--stale-wait", STALE_WAIT]
    return nsexec(CLI_NS, *cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sipauthmon", default=os.environ.get("SIPAUTHMON"))
    ap.add_argument("--keep", help="keep captures and logs in this directory")
    args = ap.parse_args()
    if not args.sipauthmon:
        log("FAIL: no sipauthmon (--sipauthmon or SIPAUTHMON)")
        return 1
    exe = str(Path(args.sipauthmon).resolve())
    if os.geteuid() != 0:
        log("SKIP: needs root (network namespaces)")
        return 77
    for tool in ("ip", "kamailio", "sipp", "tcpdump", "ss"):
        if not shutil.which(tool):
            log("SKIP: %s is not installed (Debian packages: iproute2, kamailio, "
                "sip-tester, tcpdump)" % tool)
            return 77
    probe = "sipauthmon-peers-probe-%d" % os.getpid()
    if run(["ip", "netns", "add", probe], check=False).returncode != 0:
        log("SKIP: ip netns add does not work here")
        return 77
    run(["ip", "netns", "del", probe], check=False)

    # meson's timeout sends SIGTERM: unwind through the finally below, so the
    # namespaces and every process started here go away.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("peers: terminated"))
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sipauthmon-peers-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    procs = []
    report = []
    started = time.monotonic()
    try:
        setup_netns()
        kam = [start_kamailio(work, "md5", MD5_SRV, False),
               start_kamailio(work, "sha256", SHA_SRV, True)]
        procs += kam

        pcap = work / "peers.pcap"
        td = Proc("tcpdump", nsexec(SRV_NS, "tcpdump", "-i", "veth-s", "-n", "-s", "0",
                                    "-B", "16384", "--immediate-mode", "-U", "-Z", "root",
                                    "-w", pcap),
                  work)
        procs.append(td)
        td.wait_stderr(r"listening on", READY_TIMEOUT, "'listening on'")

        # -v: the "capturing on" debug line says the capture is active.
        live = Proc("sipauthmon-live", nsexec(SRV_NS, exe, "-i", "veth-s", "-o", "json",
                                              "--duration", DURATION, "-v", "--stats"), work)
        procs.append(live)
        live.wait_stderr(r"capturing on", READY_TIMEOUT, "'capturing on' (capture active)")
        t_live = time.monotonic()

        # Not a loopback address: the agent (Kamailio, in the same namespace)
        # must be named, or sipauthmon refuses to start.
        hep = Proc("sipauthmon-hep", nsexec(SRV_NS, exe, "--hep-listen",
                                            "%s:%d" % HEP_ADDR, "--hep-allow", "10.99.0.0/24",
                                            "-o", "json", "--duration", DURATION), work)
        procs.append(hep)
        wait_udp_port(SRV_NS, HEP_ADDR[0], HEP_ADDR[1], READY_TIMEOUT, hep)

        # All scenarios at once, each from its own address.
        clients = {n: Proc("client-" + n, scenario_cmd(n, work), work) for n in SCENARIOS}
        procs += clients.values()
        deadline = time.monotonic() + 60
        bad = []
        for n, c in clients.items():
            try:
                c.p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.stop(signal.SIGKILL)
                bad.append("%s did not finish within 60 s" % n)
                continue
            if c.p.returncode != 0:
                if SCENARIOS[n][1] == "sipp":  # its screen is noise; the errors file tells
                    errs = work / ("sipp-%s.errors" % n)
                    detail = errs.read_text(errors="replace")[-1500:] if errs.exists() else ""
                else:
                    detail = c.stdout()[-1500:]
                bad.append("%s exit %d:\n%s%s" % (n, c.p.returncode, detail, c.stderr()))
        if bad:
            raise Fail("the SIP traffic itself did not go as planned (not a sipauthmon "
                       "problem):\n" + "\n".join(bad) + "\nkamailio md5 stderr:\n" +
                       kam[0].stderr() + "\nkamailio sha256 stderr:\n" + kam[1].stderr())
        spent = time.monotonic() - t_live
        if spent > DURATION - 2:
            raise Fail("the scenarios took %.1f s, too close to --duration %d: raise "
                       "DURATION" % (spent, DURATION))
        log("scenarios done in %.1f s" % spent)

        # The live monitor stops by itself at --duration.
        try:
            live.p.wait(DURATION + 15)
        except subprocess.TimeoutExpired:
            raise Fail("sipauthmon -i did not stop at --duration %d; stderr:\n%s" % (
                DURATION, live.stderr()))
        rc_live = live.stop()
        try:
            hep.p.wait(DURATION + 15)
        except subprocess.TimeoutExpired:
            raise Fail("sipauthmon --hep-listen did not stop at --duration; stderr:\n"
                       + hep.stderr())
        rc_hep = hep.stop()
        td.stop(signal.SIGINT)
        for k in kam:
            k.stop()

        # A capture that lost packets would make the comparisons meaningless.
        m = re.search(r"(\d+) packets? dropped by kernel", td.stderr())
        if not m or int(m.group(1)) != 0:
            log("FAIL  tcpdump: %s" % (m.group(0) if m else "no drop count:\n" + td.stderr()))
            report.append(("tcpdump drops", False))
        drops = [ln.strip() for ln in live.stderr(100000).splitlines()
                 if re.match(r"\S*drop\S*\s+[1-9]", ln.strip())]
        if drops:
            log("note  live sipauthmon counted drops: %s" % "; ".join(drops))

        # 1. live
        if rc_live != 1:
            log("FAIL  live: exit status %d, expected 1 (diagnoses); stderr:\n%s" % (
                rc_live, live.stderr()))
            report.append(("live exit status", False))
        compare("live", parse_records(live.stdout(), "live"), report)

        # 2. the same traffic from the capture file
        r = run([exe, "-r", pcap, "-o", "json", "--stats"], check=False)
        if r.returncode != 1:
            log("FAIL  file: exit status %d, expected 1; stderr:\n%s" % (r.returncode,
                                                                        r.stderr[-2000:]))
            report.append(("file exit status", False))
        compare("file", parse_records(r.stdout, "file"), report)

        # 3. HEP
        if rc_hep != 1:
            log("FAIL  hep: exit status %d, expected 1; stderr:\n%s" % (rc_hep, hep.stderr()))
            report.append(("hep exit status", False))
        compare("hep", parse_records(hep.stdout(), "hep"), report)
        if args.keep:
            log("captures and logs kept in %s" % work)
    except Fail as e:
        log("FAIL: %s" % e)
        log_tails(procs)
        report.append(("setup", False))
    finally:
        clean_up(procs, (CLI_NS, SRV_NS), None if args.keep else work)
    failed = [label for label, ok in report if not ok]
    log("peers: %s in %.1f s" % ("FAIL (%s)" % ", ".join(failed) if failed else "ok",
                                 time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

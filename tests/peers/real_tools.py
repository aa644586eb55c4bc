#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real tools: sipauthmon against real SIP software from Debian 12.

The attackers (sipvicious: svcrack, svwar) and the phones (baresip,
linphonec, sipsak) run against a real Kamailio 5.6 in two network namespaces
joined by a veth pair (recipe ../shared/recipes/real-sip-peers.md; the
patterns are those of tests/peers/run.py):

  smrtsrv  smrt-s  10.98.0.1,2,5  Kamailio "auth": every user challenged
                   10.98.0.3,4    Kamailio "scan": unknown users get 404
                                  (svwar needs that difference)
                   10.98.0.6      Kamailio "short": nonces live 3 s (linphonec)
                   sipauthmon -i smrt-s, tcpdump -i smrt-s
  smrtcli  smrt-c  10.98.0.11…18  one client address per scenario

svcrack, svwar, sipsak and linphonec bind 0.0.0.0, so their source address
is the route's: each of them talks to its own server address, and a host
route to that address (`route replace SERVER/32 src CLIENT`) gives it its
own client address. baresip binds its own address. So every scenario runs at
the same time (about 11 s, linphonec's registration and refresh being the
longest), and the whole test takes about 20 s (33 s beside stress-ng --cpu 1).

The verdicts are checked per client address twice: live (sipauthmon -i
smrt-s -o json --duration N inside smrtsrv) and from tcpdump's capture of the
same traffic (sipauthmon -r FILE -o json). Timing text is never compared.

Usage: real_tools.py --sipauthmon PATH [--keep DIR]   (or SIPAUTHMON in the env)
Exit: 0 passed, 1 failed, 77 skipped (not root, only when CI is not "true";
under CI=true a missing tool or root fails the test).
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
REAL = HERE / "real"
SRV_NS = "smrtsrv-%d" % os.getpid()
CLI_NS = "smrtcli-%d" % os.getpid()
SRV_IF, CLI_IF = "smrt-s", "smrt-c"
REALM = "example.test"
# Three Kamailio instances: name: (addresses, unknown users get 404,
# nonce_expire). "short" serves linphonec alone: it refreshes its 6 s
# registration after about 5.4 s with the nonce of its last registration,
# older than 3 s, so Kamailio answers stale=true and linphonec recovers (no
# diagnosis). The others keep nonces 30 s, as a real server does, so no
# other scenario can meet a stale nonce however slow the machine.
KAMAILIOS = {
    "auth": (["10.98.0.1", "10.98.0.2", "10.98.0.5"], False, 30),
    "scan": (["10.98.0.3", "10.98.0.4"], True, 30),
    "short": (["10.98.0.6"], False, 3),
}
DURATION = 16             # sipauthmon --duration: covers every scenario (~11 s)
READY_TIMEOUT = 10
CLIENT_TIMEOUT = 25       # every scenario's own bound (each ends by itself sooner)

# The password list of svcrack: 30 wrong words, and for the "success"
# scenario the same list with the right password last.
WORDS = ["123456", "password", "12345678", "qwerty", "123456789", "12345", "1234",
         "111111", "1234567", "dragon", "123123", "baseball", "abc123", "football",
         "monkey", "letmein", "696969", "shadow", "master", "666666", "qwertyuiop",
         "123321", "mustang", "1234567890", "michael", "654321", "superman",
         "1qaz2wsx", "7777777", "121212"]
# svwar's list: three accounts that exist, then unknown names (404). The
# existing ones come first so that they are known when the 10th unknown name
# makes the account-scan record, whose evidence must list them.
EXISTING = ["alice", "bob", "carol"]
SCAN_NAMES = EXISTING + ["100", "101", "102", "200", "201", "admin", "test", "sip",
                         "voip", "office", "sales", "support"]

# name: (client ip, server ip, tool, user, expected codes in order, phone?)
# The codes are those sipauthmon gives for that client address, in the order
# of the records; [] means no record at all. A phone's address must never be
# named by an attack record (credential-guessing, account-scan,
# credential-compromise).
SCENARIOS = {
    # svcrack, 30 wrong passwords for alice
    "svcrack-fail": ("10.98.0.11", "10.98.0.1", "svcrack", "alice",
                     ["wrong-password", "credential-guessing"], False),
    # svcrack, 30 wrong passwords then bob's: critical, never "resolved"
    "svcrack-success": ("10.98.0.12", "10.98.0.2", "svcrack", "bob",
                        ["wrong-password", "credential-guessing",
                         "credential-compromise"], False),
    # svwar over 15 names against the instance that answers unknown users 404
    "svwar-register": ("10.98.0.13", "10.98.0.3", "svwar", None, ["account-scan"], False),
    "svwar-invite": ("10.98.0.14", "10.98.0.4", "svwar", None, ["account-scan"], False),
    # baresip with a wrong password: one burst of REGISTERs, then it backs off
    "baresip-wrong": ("10.98.0.15", "10.98.0.1", "baresip", "carol",
                      ["wrong-password"], True),
    # baresip with the right password: registers
    "baresip-ok": ("10.98.0.16", "10.98.0.1", "baresip", "dave", [], True),
    # linphonec with the right password: registers, refreshes, meets a stale
    # nonce once and recovers. (With a wrong password linphonec answers the
    # challenge once and stops: below --threshold, nothing to diagnose, so
    # that case would show nothing the healthy one does not.)
    "linphone-ok": ("10.98.0.17", "10.98.0.6", "linphonec", "erin", [], True),
    # sipsak as a monitoring probe: a new process per probe, 6 wrong, 1 right
    "sipsak-probe": ("10.98.0.18", "10.98.0.5", "sipsak", "frank",
                     ["wrong-password", "resolved"], True),
}
ATTACK_CODES = {"credential-guessing", "account-scan", "credential-compromise"}
SIPSAK_WRONG, SIPSAK_GAP = 6, 0.7
BARESIP_SECONDS = 6
LINPHONE_SECONDS = 8


# --------------------------------------------------------------------------
# Setup


def setup_netns():
    run(["ip", "netns", "add", SRV_NS])
    run(["ip", "netns", "add", CLI_NS])
    run(["ip", "link", "add", SRV_IF, "netns", SRV_NS, "type", "veth", "peer", "name",
         CLI_IF, "netns", CLI_NS])
    for ip in (ip for k in KAMAILIOS.values() for ip in k[0]):
        run(["ip", "-n", SRV_NS, "addr", "add", ip + "/24", "dev", SRV_IF])
    for sc in SCENARIOS.values():
        run(["ip", "-n", CLI_NS, "addr", "add", sc[0] + "/24", "dev", CLI_IF])
    for ns in (SRV_NS, CLI_NS):
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(nsexec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
    run(["ip", "-n", SRV_NS, "link", "set", SRV_IF, "up"])
    run(["ip", "-n", CLI_NS, "link", "set", CLI_IF, "up"])
    # linphonec wants a default route to exist. The server namespace routes
    # nowhere else (no forwarding), so nothing leaves the two namespaces.
    run(["ip", "-n", CLI_NS, "route", "add", "default", "via", KAMAILIOS["auth"][0][0]])
    # The tools that bind 0.0.0.0 get their scenario's address as the source
    # towards their own server address.
    for name, (cip, sip, tool, *_r) in SCENARIOS.items():
        if tool != "baresip":
            run(["ip", "-n", CLI_NS, "route", "replace", sip + "/32", "dev", CLI_IF,
                 "src", cip])


def start_kamailio(work, name):
    ips, user_404, nonce_expire = KAMAILIOS[name]
    cfg = (REAL / "kamailio.cfg.in").read_text()
    cfg = (cfg.replace("@LISTEN@", "\n".join("listen=udp:%s:5060" % ip for ip in ips))
           .replace("@SECRET@", "real-tools-%s-secret" % name)
           .replace("@NONCE_EXPIRE@", str(nonce_expire)))
    rundir = work / ("kamailio-" + name)
    rundir.mkdir()
    path = rundir / "kamailio.cfg"
    path.write_text(cfg)
    cmd = ["kamailio", "-DD", "-E", "-m", "32", "-M", "8", "-f", path, "-P",
           rundir / "kamailio.pid", "-Y", rundir]
    if user_404:
        cmd += ["-A", "WITH_USER_404"]
    p = Proc("kamailio-" + name, nsexec(SRV_NS, *cmd), work)
    for ip in ips:
        wait_listening(SRV_NS, "udp", ip, 5060, READY_TIMEOUT, p)
    return p


# --------------------------------------------------------------------------
# The tools


def sipvicious_cmd(name, work, localport):
    cip, sip, tool, user, *_ = SCENARIOS[name]
    # -x: the address put in Via/Contact; without it svcrack/svwar look up
    # the host name. -P: its own local port (both bind 0.0.0.0).
    common = ["-x", cip, "-P", localport]
    if tool == "svcrack":
        words = WORDS + (["bobpw"] if name == "svcrack-success" else [])
        wl = work / (name + ".words")
        wl.write_text("\n".join(words) + "\n")
        return ["svcrack", "-u", user, "-d", wl] + common + ["udp://%s:5060" % sip]
    names = work / (name + ".names")
    names.write_text("\n".join(SCAN_NAMES) + "\n")
    method = "REGISTER" if name == "svwar-register" else "INVITE"
    return ["svwar", "-m", method, "-d", names] + common + ["udp://%s:5060" % sip]


def baresip_dir(name, work):
    cip, sip, _tool, user, _codes, _phone = SCENARIOS[name]
    d = work / name
    d.mkdir()
    (d / "config").write_text(
        "sip_listen\t\t%s:5060\n"
        "net_interface\t\t%s\n"
        "module_path\t\t/usr/lib/baresip/modules\n"
        "module\t\t\tstdio.so\n"
        "module\t\t\tg711.so\n"
        "module\t\t\taubridge.so\n"
        "module_app\t\taccount.so\n"
        "module_app\t\tmenu.so\n"
        "audio_player\t\taubridge,nil\n"
        "audio_source\t\taubridge,nil\n"
        "audio_alert\t\taubridge,nil\n" % (cip, cip))
    pw = user + ("pw-old" if name == "baresip-wrong" else "pw")
    (d / "accounts").write_text("<sip:%s@%s;transport=udp>;auth_pass=%s;regint=60\n"
                                % (user, sip, pw))
    return d


def linphone_dir(name, work):
    cip, sip, _tool, user, _codes, _phone = SCENARIOS[name]
    d = work / name
    (d / ".local" / "share" / "linphone").mkdir(parents=True)
    (d / "linphonerc").write_text(
        "[sip]\nsip_port=5070\nsip_tcp_port=0\nsip_tls_port=0\nuse_ipv6=0\ndefault_proxy=0\n"
        "[net]\nfirewall_policy=0\n"
        "[sound]\nplayback_dev_id=\nringer_dev_id=\ncapture_dev_id=\n"
        "[proxy_0]\nreg_proxy=<sip:%s:5060;transport=udp>\n"
        "reg_identity=sip:%s@%s\nreg_expires=6\nreg_sendregister=1\n"
        "publish=0\n"
        "[auth_info_0]\nusername=%s\nrealm=%s\n"
        % (sip, user, REALM, user, REALM))
    return d


def sipsak_script(name):
    """Probes as a monitoring system sends them: a new sipsak process every
    SIPSAK_GAP s, SIPSAK_WRONG times with a wrong password, then once with
    the right one. -u: without it sipsak sends username="frank@"."""
    cip, sip, _tool, user, _codes, _phone = SCENARIOS[name]
    one = ("timeout 5 sipsak -U -C sip:%s@%s -x 60 -s sip:%s@%s -u %s -a %%s -H %s"
           % (user, cip, user, sip, user, cip))
    lines = ["set -u"]
    for i in range(SIPSAK_WRONG):
        lines.append((one % (user + "pw-old")) + "; echo \"probe %d: $?\"; sleep %s"
                     % (i, SIPSAK_GAP))
    lines.append((one % (user + "pw")) + "; echo \"probe ok: $?\"")
    return "\n".join(lines)


def start_clients(work):
    clients = {}
    port = 5061
    for name, (cip, sip, tool, user, _codes, _phone) in SCENARIOS.items():
        if tool in ("svcrack", "svwar"):
            cmd = sipvicious_cmd(name, work, port)
            port += 1
            clients[name] = Proc("client-" + name, nsexec(CLI_NS, "timeout", CLIENT_TIMEOUT,
                                                          *cmd), work)
        elif tool == "baresip":
            d = baresip_dir(name, work)
            clients[name] = Proc("client-" + name, nsexec(
                CLI_NS, "timeout", CLIENT_TIMEOUT, "baresip", "-f", d, "-t",
                BARESIP_SECONDS), work)
        elif tool == "linphonec":
            d = linphone_dir(name, work)
            env = dict(os.environ, HOME=str(d))
            # It asks for the password on stdin ("Password for erin on
            # example.test:"); the one in linphonerc is not used.
            script = ("(sleep 2; echo %spw; sleep %d; echo quit) | timeout %d linphonec "
                      "-c %s -d 0" % (user, LINPHONE_SECONDS, CLIENT_TIMEOUT,
                                      d / "linphonerc"))
            clients[name] = Proc("client-" + name, nsexec(CLI_NS, "sh", "-c", script),
                                 work, env=env)
        elif tool == "sipsak":
            clients[name] = Proc("client-" + name, nsexec(CLI_NS, "sh", "-c",
                                                          sipsak_script(name)), work)
    return clients


# --------------------------------------------------------------------------
# Checks


def settled(got):
    """A record that can lead to a ban is said again once its source has
    proven itself (sipauthmon(8) VERIFIED SOURCES): when the capture loses a
    challenge under load (the ASan pass), the first one comes out unverified
    and a later one verified. Keep the last word."""
    return [r for i, r in enumerate(got)
            if not (r.get("diagnosis") in ATTACK_CODES and r.get("source_verified") is False
                    and any(q.get("diagnosis") == r.get("diagnosis")
                            and client_ip(q) == client_ip(r)
                            and q.get("source_verified") is True for q in got[i + 1:]))]


def compare(label, recs, report):
    by_ip = {}
    for r in settled(recs):
        by_ip.setdefault(client_ip(r), []).append(r)
    phones = {sc[0] for sc in SCENARIOS.values() if sc[5]}
    for name, (cip, sip, tool, user, codes, _phone) in SCENARIOS.items():
        got = by_ip.pop(cip, [])
        got_codes = [r.get("diagnosis") for r in got]
        detail = "expected %s\ngot      %s" % (codes or "no record", got_codes or "no record")
        bad = []
        for r in got:
            if user and r.get("user") != user:
                bad.append("user %r, expected %r" % (r.get("user"), user))
            if r.get("server", "").rsplit(":", 1)[0] != sip:
                bad.append("server %r, expected %s" % (r.get("server"), sip))
            if r.get("diagnosis") != "account-scan" and r.get("realm") != REALM:
                bad.append("realm %r" % r.get("realm"))
            if r.get("diagnosis") == "account-scan":
                ev = r.get("evidence", "")
                unnamed = [u for u in EXISTING if not re.search(r"\b%s\b" % u, ev)]
                if unnamed:
                    bad.append("account-scan evidence does not name the existing "
                               "account(s) %s" % ", ".join(unnamed))
            if r.get("diagnosis") == "credential-compromise" and r.get("severity") != "critical":
                bad.append("credential-compromise with severity %r" % r.get("severity"))
        if bad:
            detail += "\n" + "\n".join(bad)
        if got_codes != codes or bad:
            detail += "".join("\nrecord: %s" % json.dumps(r)[:600] for r in got)
        report.check(got_codes == codes and not bad,
                     "%s %s (%s): %s" % (label, name, tool, ", ".join(codes) or "no record"),
                     "" if got_codes == codes and not bad else detail)
    report.check(not by_ip, "%s: no record for an address without a scenario" % label,
                 json.dumps(by_ip)[:2000])
    named = [(client_ip(r), r.get("diagnosis")) for r in recs
             if r.get("diagnosis") in ATTACK_CODES and client_ip(r) in phones]
    report.check(not named, "%s: no attack record names a phone's address" % label,
                 repr(named))


_FLOWS = {}


def sip_flow(pcap, cip):
    """(source, CSeq method, status, stale) of every SIP message to or from
    cip in the capture. One tshark pass reads them all."""
    if pcap not in _FLOWS:
        r = run(["tshark", "-r", pcap, "-Y", "sip", "-T", "fields", "-E", "separator=|",
                 "-e", "ip.src", "-e", "ip.dst", "-e", "sip.CSeq.method",
                 "-e", "sip.Status-Code", "-e", "sip.WWW-Authenticate"],
                check=False, timeout=60)
        if r.returncode != 0:
            raise Fail("tshark -r %s: exit %d: %s" % (pcap, r.returncode, r.stderr[-1000:]))
        _FLOWS[pcap] = [(line.split("|") + [""] * 5)[:5] for line in r.stdout.splitlines()]
    return [(src, method, status, "stale=true" in www.lower())
            for src, dst, method, status, www in _FLOWS[pcap] if cip in (src, dst)]


def check_traffic(name, c, report, pcap):
    """The SIP traffic went as planned (otherwise a verdict would mean
    nothing): each tool's own view of what happened, or the capture's."""
    cip, _sip, tool, _user, _codes, _phone = SCENARIOS[name]
    out, err = c.stdout(), c.stderr()
    rc = c.p.returncode
    if tool == "svcrack":
        if name == "svcrack-success":
            ok = re.search(r"\|\s*bob\s*\|\s*bobpw\s*\|", out) is not None
            what = "svcrack found bob's password"
        else:
            ok = rc == 0 and "pw" not in out
            what = "svcrack ran its list and found nothing"
    elif tool == "svwar":
        found = set(re.findall(r"\|\s*(\w+)\s*\|\s*reqauth", out))
        ok = found == set(EXISTING)
        what = "svwar found the 3 existing accounts (%s)" % ", ".join(sorted(found))
    elif tool == "baresip":
        flow = sip_flow(pcap, cip)
        ok200 = sum(1 for f in flow if f[1] == "REGISTER" and f[2] == "200")
        n401 = sum(1 for f in flow if f[1] == "REGISTER" and f[2] == "401")
        if name == "baresip-ok":
            ok = ok200 >= 1
            what = "baresip registered (%d accepted REGISTERs)" % ok200
        else:
            ok = ok200 == 0 and n401 >= 3
            what = "baresip refused (%d 401s, %d accepted)" % (n401, ok200)
    elif tool == "linphonec":
        flow = sip_flow(pcap, cip)
        ok200 = sum(1 for f in flow if f[1] == "REGISTER" and f[2] == "200")
        stale = sum(1 for f in flow if f[2] == "401" and f[3])
        ok = ok200 >= 2 and stale >= 1
        what = ("linphonec registered and refreshed through a stale nonce (%d accepted "
                "REGISTERs, %d stale challenges)" % (ok200, stale))
    else:
        codes = re.findall(r"probe (\S+): (\d+)", out)
        ok = (len(codes) == SIPSAK_WRONG + 1 and all(c != "0" for _p, c in codes[:-1])
              and codes[-1] == ("ok", "0"))
        what = "sipsak: %d probes refused, the last accepted (exit codes %s)" % (
            SIPSAK_WRONG, " ".join(c for _p, c in codes))
    report.check(ok, "traffic %s: %s" % (name, what),
                 "exit %s\nstdout:\n%s\nstderr:\n%s" % (rc, out[-1500:], err[-1500:]))


# --------------------------------------------------------------------------


def main():
    args, exe, ci, rc = parse_args("keep captures and logs in this directory")
    if rc is not None:
        return rc
    tools = {"ip": "iproute2", "ss": "iproute2", "kamailio": "kamailio",
             "tcpdump": "tcpdump", "svcrack": "sipvicious", "svwar": "sipvicious",
             "baresip": "baresip", "linphonec": "linphone-cli", "sipsak": "sipsak",
             "tshark": "tshark", "timeout": "coreutils"}
    missing = sorted({"%s (%s)" % (t, pkg) for t, pkg in tools.items() if not shutil.which(t)})
    if missing:
        if ci:
            log("FAIL not installed under CI=true: %s\n0 passed, 1 failed" % ", ".join(missing))
            return 1
        log("SKIP: not installed: %s" % ", ".join(missing))
        return 77

    signal.signal(signal.SIGTERM, lambda *_: sys.exit("real-tools: terminated"))
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sipauthmon-real-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    procs = []
    report = Report()
    started = time.monotonic()
    try:
        setup_netns()
        kam = [start_kamailio(work, name) for name in KAMAILIOS]
        procs += kam

        pcap = work / "real-tools.pcap"
        td = Proc("tcpdump", nsexec(SRV_NS, "tcpdump", "-i", SRV_IF, "-n", "-s", "0",
                                    "-B", "16384", "--immediate-mode", "-U", "-Z", "root",
                                    "-w", pcap), work)
        procs.append(td)
        td.wait_stderr(r"listening on", READY_TIMEOUT, "'listening on'")

        # Live with three analysis threads (--workers 3: two parse, one
        # correlates): svwar's scans and svcrack's guesses as from the file.
        live = Proc("sipauthmon-live", nsexec(SRV_NS, exe, "-i", SRV_IF, "-o", "json",
                                              "--duration", DURATION, "-v", "--stats",
                                              "--workers", "3"), work)
        procs.append(live)
        live.wait_stderr(r"capturing on", READY_TIMEOUT, "'capturing on' (capture active)")
        t_live = time.monotonic()

        clients = start_clients(work)
        procs += clients.values()
        deadline = time.monotonic() + CLIENT_TIMEOUT + 5
        for n, c in clients.items():
            try:
                c.p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.stop(signal.SIGKILL)
                report.check(False, "traffic %s: finished within %d s" % (n, CLIENT_TIMEOUT))
                continue
            c.stop()
        spent = time.monotonic() - t_live
        log("note scenarios done in %.1f s" % spent)
        if spent > DURATION - 3:
            raise Fail("the scenarios took %.1f s, too close to --duration %d" % (
                spent, DURATION))

        try:
            live.p.wait(DURATION - spent + 15)
        except subprocess.TimeoutExpired:
            raise Fail("sipauthmon -i did not stop at --duration %d; stderr:\n%s" % (
                DURATION, live.stderr()))
        rc_live = live.stop()
        td.stop(signal.SIGINT)
        for k in kam:
            k.stop()

        m = re.search(r"(\d+) packets? dropped by kernel", td.stderr())
        report.check(m is not None and int(m.group(1)) == 0, "tcpdump: no packet dropped",
                     m.group(0) if m else "no drop count:\n" + td.stderr())
        drops = [ln.strip() for ln in live.stderr(100000).splitlines()
                 if re.match(r"\S*drop\S*\s+[1-9]", ln.strip())]
        report.check(not drops, "live: sipauthmon counted no drop", "; ".join(drops))
        for n, c in clients.items():
            check_traffic(n, c, report, pcap)

        report.check(rc_live == 1, "live: exit status 1 (diagnoses)",
                     "exit %s; stderr:\n%s" % (rc_live, live.stderr()))
        compare("live", parse_records(live.stdout(), "live"), report)

        r = run([exe, "-r", pcap, "-o", "json", "--stats"], check=False, timeout=60)
        report.check(r.returncode == 1, "file: exit status 1 (diagnoses)",
                     "exit %d; stderr:\n%s" % (r.returncode, r.stderr[-2000:]))
        compare("file", parse_records(r.stdout, "file"), report)
        r2 = run([exe, "-r", pcap, "-o", "json", "--stats", "--workers", "3"], check=False,
                 timeout=60)
        report.check(r2.returncode == r.returncode and r2.stdout == r.stdout,
                     "file: --workers 3 writes the same records as one",
                     "exit %d; %d bytes against %d" % (r2.returncode, len(r2.stdout),
                                                       len(r.stdout)))
        spread = re.search(r"workers\.frames_min\s+(\d+)", r2.stderr)
        report.check(spread is not None and int(spread.group(1)) > 0,
                     "file: both parsing threads had frames (workers.frames_min > 0)",
                     spread.group(0) if spread else "no workers.frames_min")
        if args.keep:
            log("note captures and logs kept in %s" % work)
    except Fail as e:
        report.check(False, "setup/run: %s" % e)
        log_tails(procs)
    finally:
        clean_up(procs, (CLI_NS, SRV_NS), None if args.keep else work)
    log("note real-tools took %.1f s" % (time.monotonic() - started))
    log("%d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic benchmark workload: a capture of a realistic mirror-port mix.

    gen_workload.py -n PACKETS -o FILE.pcap [--rate PPS] [--seed S]
                    [--profile mix|latency] [--rtp-share F]

Writes a classic pcap (Ethernet, µs timestamps) and FILE.pcap.json, a summary
of what is in it (packets per class, SIP messages, episodes per kind). The
same arguments always give the same bytes: every token comes from the
counter-mode SHA-256 stream of tests/fixtures/gen_fixtures.py (Rng), and the
SIP messages, digest responses, phones and servers are that generator's own
builders (imported, not copied), so the wire shapes are those of the golden
captures.

The capture is built from *episodes*: a short exchange (a REGISTER cycle, a
call, a keepalive, a failing principal's retries, a scanner run), each fully
rendered when it starts, then merged by timestamp through a heap. Episodes
start at a pace that keeps the aggregate rate at --rate packets/s, so the
file is written streaming: at 2M packets only the episodes in flight (a few
thousand) are held in memory. Scheduling stops once PACKETS packets are
scheduled and the episodes in flight are completed, so the file holds
PACKETS plus at most one episode, and every failure pattern is whole.

Profile "mix" (the throughput workload), by packets:
  * ~70 % unrelated to authentication: OPTIONS keepalives both ways and
    their 200s; calls from an IP-authenticated trunk and the dialog part of
    authenticated calls (100 Trying, 180 Ringing / 183 Session Progress with
    SDP, 200 OK, ACK, re-INVITE, UPDATE, INFO, BYE); SUBSCRIBE/202/NOTIFY/
    200; MESSAGE/200; and --rtp-share (default 15 %) of RTP-sized UDP
    (172-byte G.711 frames between even ports 10000..32766). Capture files
    are analysed unfiltered by sipauthmon -r, so the RTP frames are decoded
    and counted as not-SIP; in live mode the default filter (SIP ports and IP
    fragments) drops them in the kernel, so a live run sees fewer packets
    than tcpreplay sends.
  * ~30 % authentication: healthy REGISTER and INVITE challenge/response
    cycles (401 and 407, MD5 and SHA-256, one typo then success, a stale
    nonce recovered from) and, about a third of them, failing principals of
    every failure kind of the golden set: wrong-password, realm-, algorithm-,
    qop- and uri-mismatch, stale-nonce, nonce-unknown, source-changed,
    challenge-missing, header-mismatch, no-credentials, credential-guessing
    (svcrack) and account-scan (svwar). Each failing principal is new (user
    f<N>), so each can lead to a diagnosis (then the global record cap of
    60/minute applies, as it would on a bad day).

Profile "latency": background traffic (the non-auth part and healthy
registrations) with one failing principal every --fail-every packets, kinds
taken in turn; used for the live latency measurement.

Retry gaps inside a failing exchange are what phones really do right after a
401 (15-25 ms); waits that are seconds long on real phones (no-credentials,
challenge-missing retries, call durations) are compressed so that whole
patterns fit in a file of a few seconds; bench/README.md says so.

Addresses are documentation ranges only (RFC 5737, RFC 3849) and MACs the
RFC 7042 documentation block. Standard library only.
"""

import argparse
import hashlib
import heapq
import json
import os
import struct
import sys

sys.dont_write_bytecode = True  # do not leave __pycache__ in tests/fixtures
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import gen_fixtures as gf  # noqa: E402

US = gf.US
T0 = gf.BASE_TIME * US
DOMAIN = gf.DOMAIN
SIP_PORTS = (5060, 5061, 5080)


def password_of(user, realm):
    """The (fictional) password of a generated user: a function of the name."""
    return "pw-" + hashlib.sha256(f"{user}:{realm}".encode()).hexdigest()[:12]


def wrong_password_of(user, realm):
    return password_of(user, realm)[:-1] + "X"


# --------------------------------------------------------------------------
# An episode quacks like gen_fixtures.Capture (rng, add) so that gf.Flow and
# the svcrack helpers write into it; each packet carries a class for the mix
# accounting: "auth" (part of an authentication exchange), "other" (SIP not
# about authentication) or "rtp".


class Episode:
    __slots__ = ("rng", "kind", "cls", "pkts")

    def __init__(self, rng, kind, cls):
        self.rng = rng
        self.kind = kind
        self.cls = cls
        self.pkts = []

    def add(self, ts_us, src, dst, payload):
        if isinstance(payload, gf.Msg):
            payload = payload.render()
        self.pkts.append((ts_us, len(self.pkts), src, dst, payload, self.cls))


def response(req, code, reason, agent, to_tag=None, body=b"", ctype="application/sdp", extra=()):
    """A response built by a phone or a trunk (the far end of a dialog)."""
    h = [("Via", v) for v in req.get_all("Via")]
    to = req.get("To")
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    h += [("From", req.get("From")), ("To", to), ("Call-ID", req.get("Call-ID")),
          ("CSeq", req.get("CSeq"))] + list(extra) + [agent]
    if body:
        h.append(("Content-Type", ctype))
    return gf.Msg(f"SIP/2.0 {code} {reason}", h, body)


class World:
    """Servers, address pools and counters shared by every episode."""

    NONAUTH = [  # (kind, weight by episode count)
        ("options", 120),
        ("trunk_call", 20),
        ("presence", 16),
        ("message", 16),
    ]
    HEALTHY = [
        ("register_ok", 32),
        ("register_sha256", 4),
        ("register_typo", 3),
        ("register_stale_recover", 4),
        ("call_auth", 16),
    ]
    FAILURES = [
        "wrong-password", "realm-mismatch", "algorithm-mismatch", "qop-mismatch", "uri-mismatch",
        "stale-nonce", "nonce-unknown", "source-changed", "challenge-missing", "header-mismatch",
        "no-credentials", "credential-guessing", "account-scan",
    ]
    FAIL_WEIGHT = 1  # per failure kind, by episode count

    def __init__(self, seed, rate, n_target, profile, rtp_share, fail_every):
        self.rng = gf.Rng(seed)
        r = self.rng
        self.rate = rate
        self.profile = profile
        self.rtp_share = rtp_share
        self.fail_every = fail_every
        self.next_fail_at = fail_every // 2
        self.fail_turn = 0
        # Calls last a quarter of the file's span, at most 3 s of capture time.
        self.talk_us = max(5_000, min(3 * US, n_target * US // rate // 4))
        self.pjsip = gf.Server(r, "pjsip", "192.0.2.10", "asterisk", nonce_expire=32)
        self.kam = gf.Server(r, "kamailio", "192.0.2.11", DOMAIN)
        self.fs = gf.Server(r, "freeswitch", "192.0.2.12", DOMAIN)
        self.kam_sha = gf.Server(r, "kamailio", "192.0.2.13", DOMAIN, algorithms=("SHA-256",))
        self.kam_both = gf.Server(r, "kamailio", "192.0.2.13", DOMAIN, algorithms=("SHA-256", "MD5"))
        self.kam2 = gf.Server(r, "kamailio", "192.0.2.14", DOMAIN)
        self.kam6 = gf.Server(r, "kamailio", "2001:db8::10", DOMAIN)
        self.chansip = gf.Server(r, "chansip", "192.0.2.15", "asterisk")
        self.registrars = [self.pjsip, self.kam, self.fs, self.kam6]
        self.n_fail = 0
        self.n_trunk = 0
        self.scanner = 0
        self.rtp_packets = 0
        self.kinds = {}
        self.kind_packets = {}
        w = [(k, x, "nonauth") for k, x in self.NONAUTH] + [(k, x, "healthy") for k, x in self.HEALTHY]
        if profile == "mix":
            w += [(k, self.FAIL_WEIGHT, "fail") for k in self.FAILURES]
        self.table = w
        self.total_w = sum(x for _, x, _ in w)

    # address pools -------------------------------------------------------
    def phone(self, n=None, v6_ok=True):
        """A phone: (kind, user, ip, port). 5 % IPv6; many phones share a
        NAT address with distinct ports."""
        r = self.rng
        n = r.between(0, 19999) if n is None else n
        kind = ("yealink", "zoiper", "polycom")[n % 3]
        user = str(100000 + n)
        if v6_ok and n % 20 == 7:
            return kind, user, f"2001:db8:1::{n:x}", 5060
        ip = f"198.51.100.{1 + n % 254}" if (n // 254) % 2 == 0 else f"203.0.113.{1 + n % 199}"
        port = 5060 if n < 508 else 1024 + (n * 7919) % 60000
        return kind, user, ip, port

    def client(self, n=None, v6_ok=True, user=None):
        kind, u, ip, port = self.phone(n, v6_ok)
        return gf.Client(self.rng, kind, user or u, ip, port=port, expires=3600)

    def registrar_for(self, c):
        if ":" in c.ip:
            return self.kam6
        return self.registrars[int(hashlib.md5(c.user.encode()).hexdigest()[:4], 16) % 3]

    # episode choice ------------------------------------------------------
    def choose(self, scheduled):
        r = self.rng
        if self.profile == "latency" and scheduled >= self.next_fail_at:
            self.next_fail_at += self.fail_every
            kind = self.FAILURES[self.fail_turn % len(self.FAILURES)]
            self.fail_turn += 1
            return kind, "fail"
        if self.rtp_packets < self.rtp_share * scheduled:
            # keep the RTP share of the packets scheduled so far
            return "rtp", "rtp"
        x = r.between(0, self.total_w - 1)
        for k, w, group in self.table:
            if x < w:
                return k, group
            x -= w
        raise AssertionError

    def episode(self, t0, scheduled):
        kind, group = self.choose(scheduled)
        cls = {"nonauth": "other", "rtp": "rtp"}.get(group, "auth")
        ep = Episode(self.rng, kind, cls)
        if group == "fail":
            self.n_fail += 1
            FAIL_BUILDERS[kind](self, ep, t0)
        else:
            getattr(self, "ep_" + kind)(ep, t0)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.kind_packets[kind] = self.kind_packets.get(kind, 0) + len(ep.pkts)
        if group == "rtp":
            self.rtp_packets += len(ep.pkts)
        ep.pkts.sort(key=lambda p: (p[0], p[1]))
        return ep

    # not about authentication -------------------------------------------
    def ep_options(self, ep, t0):
        c = self.client()
        srv = self.registrar_for(c)
        f = gf.Flow(ep, c, srv, t0)
        if srv.kind == "freeswitch":
            # FreeSWITCH NAT keepalive ping to the registered phone
            o = srv.options(c)
            ep.add(f.t, srv.ep, c.ep, o)
            f.wait_ms(3, 9)
            ep.add(f.t, c.ep, srv.ep, c.answer(o))
        else:
            o = f.send(c.options(gf.hostport(srv.ip, srv.port)))
            f.reply(srv.respond(o, f.src(), 200, "OK"))

    def ep_rtp(self, ep, t0):
        """A slice of a G.711 stream both ways: 20 ms packetisation."""
        r = self.rng
        c = self.client(v6_ok=False)
        srv = self.pjsip if r.between(0, 1) else self.fs
        a = (c.ip, 16384 + 2 * r.between(0, 8191))
        b = (srv.ip, 10000 + 2 * r.between(0, 4999))
        ssrc = (r.between(0, 0xFFFF) << 16 | r.between(0, 0xFFFF), r.between(0, 0xFFFFFFF))
        seq0, ts0 = r.between(0, 30000), r.between(0, 1 << 30)
        n = r.between(4, 14)
        payload = bytes(range(0x55, 0x55 + 160)) if r.between(0, 1) else b"\xff" * 160
        for i in range(n):
            for d, (src, dst) in enumerate(((a, b), (b, a))):
                hdr = struct.pack("!BBHII", 0x80, 0, (seq0 + i) & 0xFFFF, (ts0 + 160 * i) & 0xFFFFFFFF,
                                  ssrc[d])
                ep.add(t0 + i * 20_000 + d * r.between(100, 900), src, dst, hdr + payload)

    def dialog_rest(self, ep, f, d, inv, srv, far_agent, via_server=True):
        """After the (authenticated or trusted) INVITE: 100, 180 or 183,
        200 OK, ACK, a few in-dialog requests, BYE, 200 (RFC 3261 section
        13, RFC 3311 UPDATE, RFC 6086 INFO)."""
        r = self.rng
        c = f.c
        ep.cls = "other"
        f.reply(srv.respond(inv, f.src(), 100, "Trying", to_tag=False))
        tag = srv.to_tag(inv)
        contact = f"<sip:{d['ruri'][4:].split('@')[0]}@{gf.hostport(srv.ip, srv.port)};transport=udp>"
        answer_sdp = gf.sdp(srv.ip, 1768400000 + c.sess, 24000 + 2 * (c.sess % 500))
        if r.between(0, 1):
            f.reply(srv.respond(inv, f.src(), 180, "Ringing", to_tag=tag, extra=[("Contact", contact)]),
                    lo=20, hi=80)
        else:
            f.reply(srv.respond(inv, f.src(), 183, "Session Progress", to_tag=tag,
                                extra=[("Contact", contact)], body=answer_sdp), lo=20, hi=80)
        f.reply(srv.respond(inv, f.src(), 200, "OK", to_tag=tag, extra=[("Contact", contact)],
                            body=answer_sdp), lo=50, hi=300)
        d["remote_tag"], d["target"] = tag, contact[1:-1]
        f.wait_ms(8, 15)
        f.send(c.ack_2xx(d, inv))
        end = f.t + self.talk_us
        for _ in range(r.between(0, 3)):
            f.t += self.talk_us // 5
            m = r.between(0, 2)
            if m == 0:  # DTMF (RFC 6086 INFO, application/dtmf-relay)
                req = f.send(self.in_dialog(c, d, "INFO", b"Signal=5\r\nDuration=160\r\n",
                                            "application/dtmf-relay"))
                f.reply(srv.respond(req, f.src(), 200, "OK", to_tag=False))
            elif m == 1:  # session refresh (RFC 4028 via UPDATE)
                req = f.send(self.in_dialog(c, d, "UPDATE"))
                f.reply(srv.respond(req, f.src(), 200, "OK", to_tag=False))
            else:  # hold: re-INVITE with a=sendonly, 200 with SDP, ACK
                c.sess += 1
                body = gf.sdp(c.ip, c.sess, 16384 + 2 * (c.sess % 1000)).replace(b"a=sendrecv",
                                                                                    b"a=sendonly")
                req = f.send(self.in_dialog(c, d, "INVITE", body, "application/sdp"))
                f.reply(srv.respond(req, f.src(), 200, "OK", to_tag=False, body=answer_sdp))
                f.wait_ms(5, 10)
                f.send(self.in_dialog(c, d, "ACK", cseq_num=d["cseq"]))
        f.t = max(f.t, end)
        bye = f.send(c.bye(d))
        f.reply(srv.respond(bye, f.src(), 200, "OK", to_tag=False))

    @staticmethod
    def in_dialog(c, d, method, body=b"", ctype=None, cseq_num=None):
        if cseq_num is None:
            d["cseq"] += 1
            cseq_num = d["cseq"]
        branch = c.new_branch()
        h = [("Via", c.via(branch)), ("From", c.from_hdr(d["tag"])),
             ("To", f"{d['to']};tag={d['remote_tag']}"), ("Call-ID", d["call_id"]),
             ("CSeq", f"{cseq_num} {method}"), ("Max-Forwards", "70"), ("User-Agent", c.ua)]
        if method in ("INVITE", "UPDATE"):
            h.append(("Contact", c.contact().split(";methods=")[0]))
            h.append(("Session-Expires", "1800;refresher=uac"))
        if body:
            h.append(("Content-Type", ctype))
        m = gf.Msg(f"{method} {d['target']} SIP/2.0", h, body)
        m.branch = branch
        return m

    def ep_trunk_call(self, ep, t0):
        """A call from an IP-authenticated carrier trunk: no digest at all."""
        r = self.rng
        self.n_trunk += 1
        carrier = gf.Client(r, "polycom", f"+4930555{self.n_trunk % 100000:05d}",
                            f"203.0.113.{240 + self.n_trunk % 10}", port=5060)
        carrier.ua = "Carrier-SBC 9.2"
        srv = self.kam if r.between(0, 1) else self.fs
        f = gf.Flow(ep, carrier, srv, t0)
        d = carrier.new_dialog(str(100000 + r.between(0, 19999)))
        inv = f.send(carrier.invite(d))
        self.dialog_rest(ep, f, d, inv, srv, ("User-Agent", carrier.ua))

    def ep_presence(self, ep, t0):
        """SUBSCRIBE (dialog event) -> 202 -> NOTIFY -> 200 (RFC 6665)."""
        c = self.client()
        srv = self.registrar_for(c)
        f = gf.Flow(ep, c, srv, t0)
        branch = c.new_branch()
        tag = c.new_tag()
        watched = f"sip:{100000 + self.rng.between(0, 19999)}@{DOMAIN}"
        cid = c.new_call_id()
        h = [("Via", c.via(branch)), ("From", c.from_hdr(tag)), ("To", f"<{watched}>"), ("Call-ID", cid),
             ("CSeq", "1 SUBSCRIBE"), ("Contact", c.contact().split(";methods=")[0]),
             ("Max-Forwards", "70"), ("User-Agent", c.ua), ("Event", "dialog"),
             ("Accept", "application/dialog-info+xml"), ("Expires", "1800")]
        sub = gf.Msg(f"SUBSCRIBE {watched} SIP/2.0", h)
        sub.branch = branch
        f.send(sub)
        rtag = srv.to_tag(sub)
        f.reply(srv.respond(sub, f.src(), 202, "Accepted", to_tag=rtag,
                            extra=[("Expires", "1800")]))
        f.wait_ms(1, 5)
        body = (f'<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
                f'version="0" state="full" entity="{watched}"/>\r\n').encode()
        nbranch = "z9hG4bK" + self.rng.hex(12)
        h = [("Via", f"SIP/2.0/UDP {gf.hostport(srv.ip, srv.port)};branch={nbranch}"),
             ("From", f"<{watched}>;tag={rtag}"), ("To", f"{c.from_hdr(tag).split(';tag=')[0]};tag={tag}"),
             ("Call-ID", cid), ("CSeq", "1 NOTIFY"), ("Max-Forwards", "70"),
             ("Event", "dialog"), ("Subscription-State", "active;expires=1800"), srv.agent,
             ("Contact", f"<sip:{gf.hostport(srv.ip, srv.port)}>"),
             ("Content-Type", "application/dialog-info+xml")]
        notify = gf.Msg(f"NOTIFY {c.contact().split(';methods=')[0][1:-1]} SIP/2.0", h, body)
        ep.add(f.t, srv.ep, f.src(), notify)
        f.wait_ms(1, 4)
        f.send(response(notify, 200, "OK", ("User-Agent", c.ua)))

    def ep_message(self, ep, t0):
        """MESSAGE (RFC 3428) relayed by the server: request and 200."""
        c = self.client()
        srv = self.registrar_for(c)
        f = gf.Flow(ep, c, srv, t0)
        d = c.new_dialog(str(100000 + self.rng.between(0, 19999)))
        branch = c.new_branch()
        h = [("Via", c.via(branch)), ("From", c.from_hdr(d["tag"])), ("To", d["to"]),
             ("Call-ID", d["call_id"]), ("CSeq", "1 MESSAGE"), ("Max-Forwards", "70"),
             ("User-Agent", c.ua), ("Content-Type", "text/plain")]
        m = gf.Msg(f"MESSAGE {d['ruri']} SIP/2.0", h, b"running late, start without me")
        m.branch = branch
        f.send(m)
        f.reply(srv.respond(m, f.src(), 200, "OK"))

    # healthy authentication ---------------------------------------------
    def ep_register_ok(self, ep, t0, srv=None):
        c = self.client()
        srv = srv or self.registrar_for(c)
        f = gf.Flow(ep, c, srv, t0)
        _, ch = f.reg_challenge()
        f.wait_ms(15, 25)
        f.reg_ok(f.cred(ch[0], password_of(c.user, srv.realm)))

    def ep_register_sha256(self, ep, t0):
        self.ep_register_ok(ep, t0, srv=self.kam_both)

    def ep_register_typo(self, ep, t0):
        c = self.client(v6_ok=False)
        srv = self.pjsip
        f = gf.Flow(ep, c, srv, t0)
        _, ch = f.reg_challenge()
        f.wait_ms(15, 25)
        _, ch = f.reg_challenge(f.cred(ch[0], wrong_password_of(c.user, srv.realm)))
        f.wait_ms(300, 900)
        f.reg_ok(f.cred(ch[0], password_of(c.user, srv.realm)))

    def ep_register_stale_recover(self, ep, t0):
        c = self.client(v6_ok=False)
        srv = self.kam
        pw = password_of(c.user, srv.realm)
        f = gf.Flow(ep, c, srv, t0)
        # the refresh answers with the nonce of the previous registration
        # (not in this file): refused stale=true, recovered at once
        old = srv.challenges(t0 - 400 * US)[0]
        _, ch = f.reg_challenge(f.cred(old, pw), stale=True)
        f.wait_ms(15, 25)
        f.reg_ok(f.cred(ch[0], pw))

    def ep_call_auth(self, ep, t0):
        """INVITE -> 407 (or 401) -> ACK -> INVITE+credentials, then the dialog."""
        r = self.rng
        c = self.client()
        srv = self.registrar_for(c)
        f = gf.Flow(ep, c, srv, t0)
        d = c.new_dialog(str(100000 + r.between(0, 19999)))
        if r.between(0, 1):
            code, reason, chal_hdr, auth_hdr = 407, "Proxy Authentication Required", "Proxy-Authenticate", \
                "Proxy-Authorization"
        else:
            code, reason, chal_hdr, auth_hdr = 401, "Unauthorized", "WWW-Authenticate", "Authorization"
        inv = f.send(c.invite(d))
        f.wait_ms(2, 5)
        chals = srv.challenges(f.t)
        resp = srv.respond(inv, f.src(), code, reason, chals, chal_hdr)
        ep.add(f.t, srv.ep, f.src(), resp)
        f.wait_ms(10, 20)
        f.send(c.ack_non2xx(d, inv, resp))
        f.wait_ms(1, 3)
        inv2 = f.send(c.invite(d, f.cred(chals[0], password_of(c.user, srv.realm), "INVITE", d["ruri"]),
                               auth_hdr))
        self.dialog_rest(ep, f, d, inv2, srv, None)

    # failing principals ---------------------------------------------------
    def fail_client(self, kind=None, v6_ok=False):
        """A new principal: user f<N> on a phone address of the pool."""
        c = self.client(v6_ok=v6_ok, user=f"f{self.n_fail}")
        if kind:
            c = gf.Client(self.rng, kind, c.user, c.ip, port=c.port, expires=3600)
        return c


def fail_rechallenge(w, ep, t0, srv, cred_kw=None, refusals=4, stale=False, wrong=False, kind=None):
    """REGISTER -> 401, then `refusals` answers each refused with a new 401."""
    c = w.fail_client(kind)
    f = gf.Flow(ep, c, srv, t0)
    pw = (wrong_password_of if wrong else password_of)(c.user, srv.realm)
    _, ch = f.reg_challenge()
    first = ch[0]
    for _ in range(refusals):
        f.wait_ms(15, 25)
        kw = dict(cred_kw or {})
        chal = first if stale else ch[0]
        _, ch = f.reg_challenge(f.cred(chal, pw, **kw), stale=stale)


def fail_wrong_password(w, ep, t0):
    fail_rechallenge(w, ep, t0, w.pjsip, wrong=True)


def fail_realm(w, ep, t0):
    fail_rechallenge(w, ep, t0, w.kam, {"realm": "old.example"})


def fail_algorithm(w, ep, t0):
    fail_rechallenge(w, ep, t0, w.kam_sha, {"algorithm": "MD5"}, kind="polycom")


def fail_qop(w, ep, t0):
    fail_rechallenge(w, ep, t0, w.pjsip, {"style": "rfc2069"}, kind="polycom")


def fail_uri(w, ep, t0):
    fail_rechallenge(w, ep, t0, w.kam, {"uri": "sip:pbx.internal.example"}, kind="polycom")


def fail_stale(w, ep, t0):
    # the phone keeps answering with its first nonce; each refusal is stale=true
    fail_rechallenge(w, ep, t0, w.kam, stale=True, kind="zoiper")


def fail_nonce_unknown(w, ep, t0):
    c = w.fail_client("yealink")
    f = gf.Flow(ep, c, w.kam2, t0)
    pw = password_of(c.user, DOMAIN)
    _, ch = f.reg_challenge(server=w.kam2)
    for node in (w.kam, w.kam2, w.kam, w.kam2):
        f.wait_ms(16, 24)
        _, ch = f.reg_challenge(f.cred(ch[0], pw), server=node)


def fail_source_changed(w, ep, t0):
    c = w.fail_client("polycom")
    f = gf.Flow(ep, c, w.kam, t0)
    pw = password_of(c.user, DOMAIN)
    _, ch = f.reg_challenge(src_port=c.port)
    for i in range(4):
        f.wait_ms(20, 40)
        port = 40112 + 7 * i + w.rng.between(0, 6)
        _, ch = f.reg_challenge(f.cred(ch[0], pw), src_port=port)


def fail_challenge_missing(w, ep, t0):
    c = w.fail_client("yealink")
    f = gf.Flow(ep, c, w.kam, t0)
    for _ in range(4):
        f.reg_challenge(with_challenge=False)
        f.wait_ms(30, 60)


def fail_header_mismatch(w, ep, t0):
    c = w.fail_client("yealink")
    srv = w.fs
    f = gf.Flow(ep, c, srv, t0)
    pw = password_of(c.user, DOMAIN)
    d = c.new_dialog(str(100000 + w.rng.between(0, 19999)))
    auth = None
    for _ in range(5):
        inv = f.send(c.invite(d, auth, "Authorization"))
        f.wait_ms(2, 5)
        chals = srv.challenges(f.t)
        resp = srv.respond(inv, f.src(), 407, "Proxy Authentication Required", chals, "Proxy-Authenticate")
        ep.add(f.t, srv.ep, f.src(), resp)
        f.wait_ms(10, 20)
        f.send(c.ack_non2xx(d, inv, resp))
        f.wait_ms(1, 3)
        auth = f.cred(chals[0], pw, "INVITE", d["ruri"])


def fail_no_credentials(w, ep, t0):
    c = w.fail_client("zoiper")
    f = gf.Flow(ep, c, w.pjsip, t0)
    for _ in range(5):
        f.reg_challenge()
        f.wait_ms(30, 60)


def fail_guessing(w, ep, t0):
    # svcrack -u <ext> from a scanner address: 12 candidates, all refused
    w.scanner += 1
    src = (f"203.0.113.{200 + w.scanner % 40}", 5060 + w.scanner % 7)
    user = str(1000 + w.n_fail % 9000)
    gf.svcrack_run(ep, w.pjsip, src, user, [str(p) for p in range(1000, 1012)], t0)


def fail_account_scan(w, ep, t0):
    # svwar: one REGISTER per extension, never answering a challenge
    w.scanner += 1
    r = w.rng
    srv = w.chansip
    src = (f"203.0.113.{200 + w.scanner % 40}", 5070 + w.scanner % 7)
    base = 100 + 20 * (w.n_fail % 40)
    t = t0
    for ext in range(base, base + 14):
        req = gf.sv_request(r, src, srv.ip, str(ext), gf.sv_rand32(r), 1, gf.sv_tag(r, str(ext)), tool="svwar")
        ep.add(t, src, srv.ep, req)
        t += 1000 * r.between(1, 4)
        if ext % 3:
            resp = srv.respond(req, src, 401, "Unauthorized", srv.challenges(t))
        else:
            resp = srv.respond(req, src, 404, "Not found")
        ep.add(t, srv.ep, src, resp)
        t += 1000 * r.between(5, 9)


FAIL_BUILDERS = {
    "wrong-password": fail_wrong_password,
    "realm-mismatch": fail_realm,
    "algorithm-mismatch": fail_algorithm,
    "qop-mismatch": fail_qop,
    "uri-mismatch": fail_uri,
    "stale-nonce": fail_stale,
    "nonce-unknown": fail_nonce_unknown,
    "source-changed": fail_source_changed,
    "challenge-missing": fail_challenge_missing,
    "header-mismatch": fail_header_mismatch,
    "no-credentials": fail_no_credentials,
    "credential-guessing": fail_guessing,
    "account-scan": fail_account_scan,
}
assert sorted(FAIL_BUILDERS) == sorted(World.FAILURES)


# --------------------------------------------------------------------------
# Framing and the streaming pcap writer


def mac_of(ip):
    return bytes.fromhex("00005e0053") + bytes([hashlib.md5(ip.encode()).digest()[0] & 0xFE])  # unicast


class PcapWriter:
    def __init__(self, f):
        self.f = f
        self.ipid = 0
        self.macs = {}
        self.bytes = 0
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, gf.SNAPLEN, 1))

    def mac(self, ip):
        m = self.macs.get(ip)
        if m is None:
            if len(self.macs) > 100000:
                self.macs.clear()
            m = self.macs[ip] = mac_of(ip)
        return m

    def write(self, ts_us, src, dst, payload):
        self.ipid = (self.ipid + 1) & 0xFFFF
        etype, ip = gf.ip_datagram(src, dst, payload, self.ipid)
        data = self.mac(dst[0]) + self.mac(src[0]) + struct.pack("!H", etype) + ip
        self.f.write(struct.pack("<IIII", ts_us // US, ts_us % US, len(data), len(data)))
        self.f.write(data)
        self.bytes += 16 + len(data)


def generate(path, n_target, rate, seed, profile, rtp_share, fail_every):
    w = World(seed, rate, n_target, profile, rtp_share, fail_every)
    heap = []
    t_next = T0
    scheduled = emitted = 0
    seq = 0
    classes = {"auth": 0, "other": 0, "rtp": 0}
    sip_messages = 0
    last_ts = T0
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        out = PcapWriter(f)
        while True:
            # Start every episode due before the oldest pending packet.
            while scheduled < n_target and (not heap or t_next <= heap[0][0]):
                ep = w.episode(t_next, scheduled)
                pk = ep.pkts
                scheduled += len(pk)
                heapq.heappush(heap, (pk[0][0], seq, pk, 0))
                seq += 1
                t_next += len(pk) * US * w.rng.between(50, 150) // (100 * rate)
            if not heap:
                break
            ts, s, pk, i = heapq.heappop(heap)
            _, _, src, dst, payload, cls = pk[i]
            out.write(ts, src, dst, payload)
            last_ts = ts
            emitted += 1
            classes[cls] += 1
            if cls != "rtp":
                sip_messages += 1
            if i + 1 < len(pk):
                heapq.heappush(heap, (pk[i + 1][0], s, pk, i + 1))
            else:
                pk.clear()
    os.replace(tmp, path)
    summary = {
        "generator": "bench/gen_workload.py",
        "profile": profile,
        "seed": seed,
        "requested_packets": n_target,
        "packets": emitted,
        "sip_messages": sip_messages,
        "file_bytes": out.bytes + 24,
        "rate_pps": rate,
        "span_s": round((last_ts - T0) / US, 3),
        "classes": classes,
        "share": {k: round(v / emitted, 3) for k, v in classes.items()} if emitted else {},
        "failing_principals": w.n_fail,
        "episodes": dict(sorted(w.kinds.items())),
        "episode_packets": dict(sorted(w.kind_packets.items())),
    }
    with open(path + ".json", "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return summary


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--packets", type=int, required=True, help="packets to write (about)")
    ap.add_argument("-o", "--output", required=True, help="pcap file to write (+ .json summary)")
    ap.add_argument("--rate", type=int, default=100_000, help="packets/s in capture time (100000)")
    ap.add_argument("--seed", default="sipauthmon-bench-1")
    ap.add_argument("--profile", choices=("mix", "latency"), default="mix")
    ap.add_argument("--rtp-share", type=float, default=0.15, help="share of RTP packets (0.15)")
    ap.add_argument("--fail-every", type=int, default=1000,
                    help="latency profile: one failing principal every N packets (1000)")
    a = ap.parse_args(argv[1:])
    if a.packets < 1 or a.rate < 1 or not 0 <= a.rtp_share < 1 or a.fail_every < 10:
        ap.error("out of range")
    s = generate(a.output, a.packets, a.rate, a.seed, a.profile, a.rtp_share, a.fail_every)
    print(json.dumps(s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small scripted SIP UAC for the real-peer test (tests/peers/run.py).

sipp 3.6 answers MD5 challenges only and always answers them correctly; the
failure stories need a client that misbehaves on purpose, over UDP or TCP,
against 401 (REGISTER) or 407 (INVITE) challenges, MD5 or SHA-256:

  healthy     answer the challenge right; expect 2xx (an INVITE is ACKed and
              hung up with BYE)
  wrong       answer every challenge with a wrong password (--attempts times)
  realm       answer every challenge computed for another realm (--answer-realm)
  algorithm   answer every challenge with --answer-algorithm (e.g. MD5 to a
              SHA-256-only challenge)
  stale       authenticate once (2xx), wait --stale-wait seconds (past the
              server's nonce_expire), then keep replaying that first nonce
              --attempts times although every answer draws stale=true: a
              client that caches nonces and ignores stale=true (RFC 7616 §3.3)

Digest per RFC 7616 §3.4.1 (qop=auth): HA1 = H(user:realm:password),
HA2 = H(method:uri), response = H(HA1:nonce:nc:cnonce:qop:HA2).

It prints one line per response received (status, and stale=true when the
challenge says so) and exits 0 when the server behaved as the mode expects,
1 otherwise. The digest response and cnonce are never printed.
"""

import argparse
import hashlib
import os
import re
import socket
import sys
import time

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
T1 = 0.5  # RFC 3261 §17.1.1.1


def digest(alg, text):
    return HASHES[alg](text.encode()).hexdigest()


def parse_challenge(value):
    """Parameters of one Digest challenge (RFC 7616 §3.3); keys lowercased."""
    m = re.match(r"\s*Digest\s+(.*)", value, re.I | re.S)
    if not m:
        return None
    params = {}
    for k, v in re.findall(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)', m.group(1)):
        params[k.lower()] = v[1:-1] if v.startswith('"') else v
    return params


class Message:
    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                k, v = self.headers[-1]
                self.headers[-1] = (k, v + " " + line.strip())
            elif ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))
        parts = self.first.split(" ", 2)
        self.status = int(parts[1]) if parts[0].startswith("SIP/") and len(parts) > 1 else 0

    def get(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


class Transport:
    """UDP from LOCAL:5060, or one persistent TCP connection per scenario
    (what a phone registered over TCP does)."""

    def __init__(self, kind, local, server, port):
        self.kind = kind
        self.peer = (server, port)
        if kind == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((local, 5060))
            self.sock.connect(self.peer)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.bind((local, 0))
            self.sock.settimeout(5)
            self.sock.connect(self.peer)
            self.buf = b""
        self.local_port = self.sock.getsockname()[1]

    def send(self, data):
        if self.kind == "udp":
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def recv(self, timeout):
        """One SIP message or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            if self.kind == "udp":
                return Message(self.sock.recv(65535))
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)",
                                  self.buf[:end + 2], re.I)
                    total = end + 4 + (int(m.group(1)) if m else 0)
                    if len(self.buf) >= total:
                        raw, self.buf = self.buf[:total], self.buf[total:]
                        return Message(raw)
                chunk = self.sock.recv(65535)
                if not chunk:
                    raise ConnectionError("server closed the TCP connection")
                self.buf += chunk
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


class Uac:
    def __init__(self, a):
        self.a = a
        self.t = Transport(a.transport, a.local, a.server, a.port)
        self.tp = a.transport.upper()
        self.cseq = 0
        self.new_call()
        self.log = []

    def new_call(self):
        self.call_id = os.urandom(8).hex() + "@" + self.a.local
        self.tag = os.urandom(4).hex()

    def ruri(self):
        if self.a.method == "REGISTER":
            return "sip:example.test"
        return "sip:echo@example.test"

    def build(self, method, branch, cseq, auth=None, to_tag=None, extra=""):
        a = self.a
        to = "<sip:%s@example.test>" % (a.user if method == "REGISTER" else "echo")
        if to_tag:
            to += ";tag=" + to_tag
        lines = [
            "%s %s SIP/2.0" % (method, self.ruri()),
            "Via: SIP/2.0/%s %s:%d;rport;branch=%s" % (self.tp, a.local, self.t.local_port, branch),
            "Max-Forwards: 70",
            "From: <sip:%s@example.test>;tag=%s" % (a.user, self.tag),
            "To: " + to,
            "Call-ID: " + self.call_id,
            "CSeq: %d %s" % (cseq, method),
            "Contact: <sip:%s@%s:%d;transport=%s>" % (a.user, a.local, self.t.local_port,
                                                      a.transport),
            "User-Agent: peers-uac/1 (%s)" % a.mode,
        ]
        if method == "REGISTER":
            lines.append("Expires: 120")
        if auth:
            lines.append(auth)
        if extra:
            lines.append(extra)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def transaction(self, method, auth=None):
        """Send a request (retransmitted over UDP, RFC 3261 §17.1) and return
        its final response, ACKing a non-2xx INVITE response."""
        self.cseq += 1
        branch = "z9hG4bK" + os.urandom(6).hex()
        req = self.build(method, branch, self.cseq, auth)
        self.t.send(req)
        interval, deadline = T1, time.monotonic() + 10
        while time.monotonic() < deadline:
            m = self.t.recv(interval)
            if m is None:
                if self.a.transport == "udp":
                    self.t.send(req)
                    interval = min(interval * 2, 4)
                continue
            if m.status == 0 or not (m.get("cseq") or "").startswith("%d " % self.cseq):
                continue  # a late retransmission of an earlier answer
            if m.status < 200:
                continue
            ch = m.get("www-authenticate") or m.get("proxy-authenticate")
            params = parse_challenge(ch) if ch else None
            stale = (params or {}).get("stale", "").lower() == "true"
            self.log.append("%d%s" % (m.status, " stale" if stale else ""))
            print("%s %s cseq %d -> %d%s" % (self.a.user, method, self.cseq, m.status,
                                             " stale=true" if stale else ""), flush=True)
            if method == "INVITE" and m.status >= 300:
                self.ack(branch, m)
            return m
        raise TimeoutError("no final response to %s CSeq %d" % (method, self.cseq))

    def ack(self, branch, resp, cseq=None):
        """ACK: same branch for a non-2xx (RFC 3261 §17.1.1.3), a new one for 2xx."""
        to_tag = None
        mt = re.search(r";\s*tag=([^;>\s]+)", resp.get("to") or "")
        if mt:
            to_tag = mt.group(1)
        c = self.cseq if cseq is None else cseq
        self.t.send(self.build("ACK", branch, c, to_tag=to_tag))
        return to_tag

    @staticmethod
    def challenge(resp):
        """(status, parameters) of the Digest challenge in a 401/407."""
        header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        ch = parse_challenge(resp.get(header) or "")
        if ch is None:
            raise RuntimeError("%d without a Digest challenge" % resp.status)
        return resp.status, ch

    def authorization(self, challenge, realm=None, password=None, algorithm=None, nonce=None,
                      nc=1):
        a = self.a
        status, ch = challenge
        realm = realm or ch.get("realm", "")
        alg = algorithm or ch.get("algorithm", "MD5")
        if alg not in HASHES:
            raise RuntimeError("unsupported algorithm " + alg)
        nonce = nonce or ch["nonce"]
        uri = self.ruri()
        cnonce = os.urandom(8).hex()
        ncs = "%08x" % nc
        ha1 = digest(alg, "%s:%s:%s" % (a.user, realm, password or a.password))
        ha2 = digest(alg, "%s:%s" % (a.method, uri))
        if "qop" in ch:
            resp_v = digest(alg, "%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2))
            qop = ", qop=auth, nc=%s, cnonce=\"%s\"" % (ncs, cnonce)
        else:
            resp_v = digest(alg, "%s:%s:%s" % (ha1, nonce, ha2))
            qop = ""
        name = "Authorization" if status == 401 else "Proxy-Authorization"
        return ("%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                "response=\"%s\", algorithm=%s%s" % (name, a.user, realm, nonce, uri, resp_v,
                                                     alg, qop)), nonce

    def hangup(self, resp):
        """ACK the 2xx of an INVITE (new branch, RFC 3261 §13.2.2.4) and BYE."""
        to_tag = self.ack("z9hG4bK" + os.urandom(6).hex(), resp)
        self.cseq += 1
        branch = "z9hG4bK" + os.urandom(6).hex()
        self.t.send(self.build("BYE", branch, self.cseq, to_tag=to_tag))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = self.t.recv(T1)
            if m and m.status >= 200 and (m.get("cseq") or "").endswith("BYE"):
                return m.status
        raise TimeoutError("no answer to BYE")

    def authenticate_ok(self):
        """Request, challenge, right answer, 2xx. Returns the challenge answered."""
        m = self.transaction(self.a.method)
        if m.status not in (401, 407):
            raise RuntimeError("expected a challenge, got %d" % m.status)
        ch = self.challenge(m)
        auth, _ = self.authorization(ch)
        m = self.transaction(self.a.method, auth)
        if m.status // 100 != 2:
            raise RuntimeError("right credentials refused with %d" % m.status)
        if self.a.method == "INVITE":
            self.hangup(m)
        return ch

    def run(self):
        a = self.a
        if a.mode == "healthy":
            self.authenticate_ok()
            return True
        if a.mode == "stale":
            first = self.authenticate_ok()
            time.sleep(a.stale_wait)  # the nonce must expire on the server's clock
            if a.method == "INVITE":
                self.new_call()  # the next call, with the cached nonce
            refused_stale = 0
            # The cached nonce goes out unprompted (a refresh, or the next call),
            # and again in every retry: the fresh nonces of the stale=true
            # challenges are ignored.
            for nc in range(2, a.attempts + 2):
                auth, _ = self.authorization(first, nc=nc)
                m = self.transaction(a.method, auth)
                if m.status in (401, 407) and self.log[-1].endswith("stale"):
                    refused_stale += 1
            return refused_stale == a.attempts
        # wrong / realm / algorithm: answer every challenge, always refused
        m = self.transaction(a.method)
        refused = 0
        for _ in range(a.attempts):
            if m.status not in (401, 407):
                return False
            kw = {}
            if a.mode == "wrong":
                kw["password"] = a.password + "-old"
            elif a.mode == "realm":
                kw["realm"] = a.answer_realm
            elif a.mode == "algorithm":
                kw["algorithm"] = a.answer_algorithm
            auth, _ = self.authorization(self.challenge(m), **kw)
            m = self.transaction(a.method, auth)
            if m.status in (401, 407):
                refused += 1
        return refused == a.attempts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=5060)
    p.add_argument("--local", required=True)
    p.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    p.add_argument("--method", choices=("REGISTER", "INVITE"), default="REGISTER")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--mode", choices=("healthy", "wrong", "realm", "algorithm", "stale"),
                   required=True)
    p.add_argument("--attempts", type=int, default=4)
    p.add_argument("--answer-realm", default="other.test")
    p.add_argument("--answer-algorithm", default="MD5")
    p.add_argument("--stale-wait", type=float, default=6.5)
    a = p.parse_args()
    try:
        uac = Uac(a)
        ok = uac.run()
        uac.t.close()
    except (OSError, RuntimeError, TimeoutError, ConnectionError, KeyError) as e:
        print("uac %s %s: %s" % (a.user, a.mode, e), file=sys.stderr)
        return 1
    if not ok:
        print("uac %s %s: the server did not answer as expected: %s" % (
            a.user, a.mode, " ".join(uac.log)), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

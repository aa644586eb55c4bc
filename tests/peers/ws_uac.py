#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A WebSocket SIP phone for tests/peers/ws_peer.py: REGISTER over ws
(RFC 7118) the way browser phones such as JsSIP do, on python3-websockets
(Debian 12: websockets 10.4).

On the wire: an HTTP/1.1 Upgrade with `Sec-WebSocket-Protocol: sip`, then
one SIP message per text frame, masked by the library (client frames); Via
`SIP/2.0/WS <random>.invalid`, Contact `sip:<random>@<random>.invalid;
transport=ws`; one Call-ID for the registration with CSeq rising; MD5
digest with qop=auth, nc counted per nonce (hashlib).

  --mode healthy  REGISTER, 401, the right answer, 200
  --mode wrong    ATTEMPTS times: REGISTER, 401, an answer made with a
                  wrong password, 401 again; the phone gives up and retries
                  after a pause, as a browser phone re-registers

Exit 0 when the server answered as the mode expects, 1 otherwise (the
transcript is on stdout)."""

import argparse
import asyncio
import hashlib
import re
import secrets
import sys

import websockets

REALM = "example.test"


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def parse_challenge(value):
    """WWW-Authenticate: Digest k=v, k="v" -> dict (lowercase keys)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError("not a Digest challenge: %r" % value)
    out, i = {}, 0
    while i < len(rest):
        while i < len(rest) and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = rest.index('"', i + 1)
            out[key] = rest[i + 1:end]
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            out[key] = rest[i:end].strip()
            i = end
    return out


def parse_response(text):
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0":
        raise ValueError("not a SIP response: %r" % head[0])
    hdrs = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    return int(parts[1]), hdrs


class Phone:
    def __init__(self, ws, user, password):
        self.ws = ws
        self.user = user
        self.password = password
        host = secrets.token_hex(6) + ".invalid"  # one per connection, as JsSIP
        self.via_host = host
        self.contact = "<sip:%s@%s;transport=ws>" % (secrets.token_hex(4), host)
        self.instance = "urn:uuid:%s-%s-4%s-a%s-%s" % (
            secrets.token_hex(4), secrets.token_hex(2), secrets.token_hex(2)[1:],
            secrets.token_hex(2)[1:], secrets.token_hex(6))
        self.call_id = secrets.token_hex(11)
        self.from_tag = secrets.token_hex(5)
        self.cseq = 0
        self.nonce, self.nc = None, 0

    def authorization(self, ch, password):
        if ch.get("nonce") != self.nonce:
            self.nonce, self.nc = ch.get("nonce"), 0
        self.nc += 1
        uri = "sip:" + REALM
        nc = "%08x" % self.nc
        cnonce = secrets.token_hex(8)
        ha1 = md5("%s:%s:%s" % (self.user, ch["realm"], password))
        ha2 = md5("REGISTER:" + uri)
        qop = "auth" if "auth" in ch.get("qop", "").split(",") else None
        if qop:
            resp = md5(":".join((ha1, self.nonce, nc, cnonce, qop, ha2)))
        else:
            resp = md5(":".join((ha1, self.nonce, ha2)))
        v = ('Digest algorithm=MD5, username="%s", realm="%s", nonce="%s", uri="%s", '
             'response="%s"' % (self.user, ch["realm"], self.nonce, uri, resp))
        if "opaque" in ch:
            v += ', opaque="%s"' % ch["opaque"]
        if qop:
            v += ", qop=%s, cnonce=\"%s\", nc=%s" % (qop, cnonce, nc)
        return v

    async def register(self, auth=None):
        self.cseq += 1
        lines = [
            "REGISTER sip:%s SIP/2.0" % REALM,
            "Via: SIP/2.0/WS %s;branch=z9hG4bK%s" % (self.via_host, secrets.token_hex(5)),
            "Max-Forwards: 69",
            "To: <sip:%s@%s>" % (self.user, REALM),
            'From: "%s" <sip:%s@%s>;tag=%s' % (self.user, self.user, REALM, self.from_tag),
            "Call-ID: %s" % self.call_id,
            "CSeq: %d REGISTER" % self.cseq,
        ]
        if auth:
            lines.append("Authorization: " + auth)
        lines += [
            'Contact: %s;+sip.ice;+sip.instance="<%s>";expires=600' % (self.contact,
                                                                        self.instance),
            "Expires: 600",
            "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY",
            "Supported: path,gruu",
            "User-Agent: sipauthmon-ws-peer (websockets %s)" % websockets.__version__,
            "Content-Length: 0",
        ]
        msg = "\r\n".join(lines) + "\r\n\r\n"
        # The transcript never shows the digest response or cnonce.
        shown = re.sub(r'(response|cnonce)="[^"]*"', r'\1="…"', msg)
        print(">>> " + shown.replace("\r\n", "\n>>> ").rstrip("> \n"), flush=True)
        await self.ws.send(msg)  # a str: one text frame, as a browser sends
        while True:
            text = await asyncio.wait_for(self.ws.recv(), 5)
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            print("<<< " + text.replace("\r\n", "\n<<< ").rstrip("< \n"), flush=True)
            code, hdrs = parse_response(text)
            if hdrs.get("cseq", [""])[0].split()[0] != str(self.cseq) or code < 200:
                continue
            return code, hdrs

    async def attempt(self, password):
        """REGISTER, and answer a 401 once: the final status."""
        code, hdrs = await self.register()
        if code != 401:
            return code
        ch = parse_challenge(hdrs["www-authenticate"][0])
        code, _ = await self.register(self.authorization(ch, password))
        return code


async def main_async(a):
    uri = "ws://%s:%d" % (a.server, a.port)
    async with websockets.connect(uri, subprotocols=["sip"],
                                  origin="http://phone.example.test",
                                  local_addr=(a.local, 0), open_timeout=5,
                                  ping_interval=None) as ws:
        if ws.subprotocol != "sip":
            print("server did not accept subprotocol sip: %r" % ws.subprotocol)
            return 1
        phone = Phone(ws, a.user, a.password)
        if a.mode == "healthy":
            code = await phone.attempt(a.password)
            print("result: %d" % code)
            return 0 if code == 200 else 1
        for i in range(a.attempts):
            if i:
                await asyncio.sleep(a.pause)
            code = await phone.attempt(a.password + "-old")
            print("result of attempt %d: %d" % (i + 1, code))
            if code != 401:
                return 1
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--local", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--mode", choices=("healthy", "wrong"), default="healthy")
    ap.add_argument("--attempts", type=int, default=4)
    ap.add_argument("--pause", type=float, default=0.3)
    a = ap.parse_args()
    return asyncio.run(main_async(a))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scanner flood with a genuine wrong-password loop inside it (issue 7,
item 6). Deterministic: the same bytes every run.

    gen_flood.py OUT.pcap      write the capture, print a summary line

Built with tests/fixtures/gen_fixtures.py (imported: the same SIP shapes,
real digests) against one PJSIP server, within FLOOD_S seconds:

  * spray: SPRAY_SOURCES sources (IPv4 203.0.113.0/24 and 198.51.100.128/25,
    the rest IPv6 2001:db8:f::/48), each sending SPRAY_PER_SOURCE REGISTERs for
    different usernames on new Call-IDs, one of them with a made-up
    Authorization; every REGISTER gets a fresh 401 challenge. Below every
    rule's threshold on its own: pure pressure on every table.
  * scanners: SCANNERS svwar-style sources, each trying SCAN_USERS usernames
    (-> account-scan per source);
  * guesser: one svcrack-style source trying GUESSES passwords for "1001"
    (-> credential-guessing);
  * oversize: OVERSIZE requests near the 64 KB UDP limit (a huge header),
    and some with 2 KB usernames and Call-IDs;
  * heidi: the golden wrong-password loop (4 refusals of a real MD5 digest
    made from a wrong password) starting in the middle of the flood.

Addresses are documentation ranges only; nothing is ever sent.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import gen_fixtures as gf  # noqa: E402

FLOOD_S = 1.5
SPRAY_SOURCES = 1500
SPRAY_PER_SOURCE = 3
SCANNERS = 4
SCAN_USERS = 40
GUESSES = 24
OVERSIZE = 12
LONG_NAMES = 6
HEIDI_AT_S = 0.6


def spray_ip(i):
    if i < 254:
        return f"203.0.113.{i + 1}"
    if i < 254 + 100:
        return f"198.51.100.{128 + i - 254}"
    return f"2001:db8:f::{i:x}"


def build():
    cap = gf.Capture("flood", "flood-v1")
    rng = cap.rng
    srv = gf.pjsip(cap)
    t0 = gf.T(100)
    span = int(FLOOD_S * gf.US)
    events = []  # (t_us, kind, args)

    # spray: requests spread evenly over the flood
    n_spray = SPRAY_SOURCES * SPRAY_PER_SOURCE
    for k in range(n_spray):
        src_i, j = k % SPRAY_SOURCES, k // SPRAY_SOURCES
        t = t0 + k * span // n_spray
        events.append((t, "spray", (spray_ip(src_i), j)))
    for s in range(SCANNERS):
        for u in range(SCAN_USERS):
            t = t0 + (u * SCANNERS + s) * span // (SCANNERS * SCAN_USERS) + 137
            events.append((t, "scan", (f"203.0.113.{200 + s}", u)))
    for k in range(OVERSIZE):
        events.append((t0 + k * span // OVERSIZE + 311, "oversize", (spray_ip(k * 7), k)))
    for k in range(LONG_NAMES):
        events.append((t0 + k * span // LONG_NAMES + 523, "longname", (spray_ip(k * 11 + 3), k)))
    events.sort(key=lambda e: (e[0], e[1]))

    def exchange(t, src, req, chal=True):
        if ":" in src[0]:  # svhelper writes no brackets: give IPv6 sent-by its RFC 3261 form
            for h in req.headers:
                if h[0] == "Via":
                    h[1] = h[1].replace(f"{src[0]}:{src[1]}", gf.hostport(src[0], src[1]), 1)
        cap.add(t, src, srv.ep, req)
        t += 1000 * rng.between(1, 3)
        if chal:
            cap.add(t, srv.ep, src, srv.respond(req, src, 401, "Unauthorized", srv.challenges(t)))
        return t

    for t, kind, args in events:
        if kind == "spray":
            ip, j = args
            src = (ip, 5060 + j)
            user = f"u{rng.hex(6)}"
            auth = None
            if j == SPRAY_PER_SOURCE - 1:
                auth = (f'Digest username="{user}",realm="asterisk",nonce="{rng.hex(16)}",'
                        f'uri="sip:{srv.ip}",response="{rng.hex(32)}"')
            req = gf.sv_request(rng, src, srv.ip, user, gf.sv_rand32(rng), 1, gf.sv_tag(rng, user),
                                auth=auth, tool="svwar")
            exchange(t, src, req)
        elif kind == "scan":
            ip, u = args
            src = (ip, 5060)
            ext = str(100 + u)
            req = gf.sv_request(rng, src, srv.ip, ext, gf.sv_rand32(rng), 1, gf.sv_tag(rng, ext),
                                tool="svwar")
            exchange(t, src, req)
        elif kind == "oversize":
            ip, k = args
            src = (ip, 5070)
            req = gf.sv_request(rng, src, srv.ip, f"big{k}", gf.sv_rand32(rng), 1, gf.sv_tag(rng, "big"))
            fill = 65000 - len(req.render()) - 12
            req.headers.insert(2, ["X-Flood", ("A" * 72 + " ") * (fill // 73)])
            exchange(t, src, req, chal=k % 2 == 0)
        elif kind == "longname":
            ip, k = args
            src = (ip, 5071)
            user = "L" * 2048 + str(k)
            req = gf.sv_request(rng, src, srv.ip, user, "C" * 2048 + gf.sv_rand32(rng), 1, gf.sv_tag(rng, "long"))
            exchange(t, src, req)

    # the guesser: svcrack on 1001 across the flood
    gf.svcrack_run(cap, srv, ("203.0.113.210", 5060), "1001", [str(p) for p in range(5000, 5000 + GUESSES)],
                   t0 + 1000, gap_us=span // GUESSES)
    # heidi, in the middle
    gf.wrong_password_flow(cap, client_ip="198.51.100.31", t0=t0 + int(HEIDI_AT_S * gf.US), srv=srv)
    return cap


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cap = build()
    frames = gf.framed(cap, "ether")
    gf.write_pcap(argv[1], "ether", frames)
    chal = sum(1 for p in cap.pkts if p[4].startswith(b"SIP/2.0 401"))
    big = max(len(p[4]) for p in cap.pkts)
    print(f"{len(frames)} frames, {chal} challenges in {FLOOD_S} s "
          f"({chal / FLOOD_S:.0f}/s), largest datagram {big} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/sipscan.c, the fast path in front of sofia-sip.
 *
 * The one property that matters: when sipscan_scan() accepts a message, every
 * field it fills equals what sipmsg_parse() fills for the same bytes
 * (and sofia accepts the message too) — the challenges and credentials
 * too, field for field, with their counts, *_dropped and auth_errors.
 * Checked on
 *   1. hand-written edge cases (compact forms, case, folding, quotes,
 *      duplicate and missing headers, several Via values, truncation,
 *      binary junk, authentication headers in every spelling: several
 *      challenges on one line, both Authorization and
 *      Proxy-Authorization, non-Digest schemes, values sofia refuses, more
 *      than SIPMSG_MAX_AUTH of them), each with the verdict the scanner
 *      must give;
 *   2. every SIP payload of the golden captures (tests/golden/captures,
 *      $SRCDIR) and of the public corpora (argv[1]/pcaps, read with
 *      libpcap, never copied), plus any pcap named after argv[1] (e.g. the
 *      bench workload, for an acceptance rate on realistic traffic);
 *   3. the RFC 4475 torture messages (argv[1]/rfc4475, read in place);
 *   4. for each message of 2 and 3: every prefix (cut at every length) and
 *      a fixed set of one-byte mutations, compared the same way whenever the
 *      scanner accepts them — the scanner's grammar must be a subset of
 *      sofia's, not merely agree on well-formed input.
 * sipscan_ignorable() is checked to pick only what sofia reads as a 1xx
 * response or an ACK request.
 *
 * Prints the acceptance rate per source. Exit status: 0 pass, 1 fail,
 * 77 skip (only when neither the corpora nor the golden captures exist).
 *
 * Secrets: a failure message never shows a credential's response or
 * cnonce (only that they differ), and dumped messages have the values of
 * every response= and cnonce= parameter masked.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "sipmsg.h"
#include "sipscan.h"
#include "check.h"
#include "pcapread.h"

static SipParser *parser;
static SipScanner *scanner;

static bool streq(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/*
 * Length of a secret parameter's value starting at data[i] when a
 * "response" or "cnonce" parameter name (any case) ends just before it
 * with "=" (optional SP/HTAB around it): a quoted string or a token up to
 * ',', CR or LF. 0 when there is none.
 */
static size_t secret_at(const uint8_t *data, size_t len, size_t i)
{
        static const char *const names[] = {"response", "cnonce"};
        size_t eq = i, v;

        while (eq > 0 && (data[eq - 1] == ' ' || data[eq - 1] == '\t'))
                eq--;
        if (eq == 0 || data[eq - 1] != '=')
                return 0;
        eq--;
        while (eq > 0 && (data[eq - 1] == ' ' || data[eq - 1] == '\t'))
                eq--;
        if (i < len && (data[i] == ' ' || data[i] == '\t'))
                return 0; /* the value starts after the whitespace */
        bool named = false;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
                size_t n = strlen(names[k]);
                named |= eq >= n && strncasecmp((const char *)data + eq - n, names[k], n) == 0;
        }
        if (!named || i >= len)
                return 0;
        if (data[i] == '"') {
                for (v = i + 1; v < len && data[v] != '"' && data[v] != '\r' && data[v] != '\n';
                     v++)
                        if (data[v] == '\\' && v + 1 < len)
                                v++;
                return (v < len && data[v] == '"' ? v + 1 : v) - i;
        }
        for (v = i; v < len && data[v] != ',' && data[v] != '\r' && data[v] != '\n'; v++)
                ;
        return v - i;
}

static void dump(const char *what, const uint8_t *data, size_t len)
{
        fprintf(stderr, "  in %s (%zu bytes; response/cnonce masked): \"", what, len);
        for (size_t i = 0; i < len && i < 600; i++) {
                size_t secret = secret_at(data, len, i);
                if (secret) {
                        fputs("<secret>", stderr);
                        i += secret - 1;
                        continue;
                }
                uint8_t ch = data[i];
                if (ch == '\r')
                        fputs("\\r", stderr);
                else if (ch == '\n')
                        fputs("\\n\n   ", stderr);
                else if (ch < 0x20 || ch >= 0x7f)
                        fprintf(stderr, "\\x%02x", ch);
                else
                        fputc(ch, stderr);
        }
        fputs("\"\n", stderr);
}

#define SX(what, i, x)                                                                             \
        if (!streq(f->x, s->x)) {                                                                  \
                snprintf(why, whylen, "%s[%zu]." #x ": fast \"%s\", full \"%s\"", what, i,         \
                         f->x ? f->x : "(null)", s->x ? s->x : "(null)");                          \
                return false;                                                                      \
        }
/* A secret: whether it differs, never its value. */
#define SECRET(what, i, x)                                                                         \
        if (!streq(f->x, s->x)) {                                                                  \
                snprintf(why, whylen, "%s[%zu]." #x " differs (secret: not shown; %s, %s)", what,  \
                         i, f->x ? "set" : "null", s->x ? "set" : "null");                         \
                return false;                                                                      \
        }
#define UX(what, i, x)                                                                             \
        if ((unsigned long long)f->x != (unsigned long long)s->x) {                                \
                snprintf(why, whylen, "%s[%zu]." #x ": fast %llu, full %llu", what, i,             \
                         (unsigned long long)f->x, (unsigned long long)s->x);                      \
                return false;                                                                      \
        }

static bool same_challenge(size_t i, const SipChallenge *f, const SipChallenge *s, char *why,
                           size_t whylen)
{
        UX("challenges", i, proxy);
        UX("challenges", i, digest);
        SX("challenges", i, scheme);
        SX("challenges", i, realm);
        SX("challenges", i, nonce);
        SX("challenges", i, opaque);
        SX("challenges", i, algorithm);
        UX("challenges", i, alg);
        UX("challenges", i, qop_mask);
        UX("challenges", i, stale);
        UX("challenges", i, userhash);
        return true;
}

static bool same_credentials(size_t i, const SipCredentials *f, const SipCredentials *s, char *why,
                             size_t whylen)
{
        UX("credentials", i, proxy);
        UX("credentials", i, digest);
        SX("credentials", i, scheme);
        SX("credentials", i, username);
        SX("credentials", i, realm);
        SX("credentials", i, nonce);
        SX("credentials", i, uri);
        SX("credentials", i, algorithm);
        UX("credentials", i, alg);
        SX("credentials", i, qop);
        UX("credentials", i, qop_mask);
        SX("credentials", i, nc);
        UX("credentials", i, nc_value);
        UX("credentials", i, nc_valid);
        SECRET("credentials", i, cnonce);
        SECRET("credentials", i, response);
        SX("credentials", i, opaque);
        UX("credentials", i, userhash);
        return true;
}
#undef SX
#undef SECRET
#undef UX

/* Field by field, scanner vs sofia. Returns whether they agree. */
static bool same_fields(const SipMsg *f, const SipMsg *s, char *why, size_t whylen)
{
#define S(x)                                                                                       \
        if (!streq(f->x, s->x)) {                                                                  \
                snprintf(why, whylen, #x ": fast \"%s\", full \"%s\"", f->x ? f->x : "(null)",     \
                         s->x ? s->x : "(null)");                                                  \
                return false;                                                                      \
        }
#define U(x)                                                                                       \
        if ((unsigned long long)f->x != (unsigned long long)s->x) {                                \
                snprintf(why, whylen, #x ": fast %llu, full %llu", (unsigned long long)f->x,       \
                         (unsigned long long)s->x);                                                \
                return false;                                                                      \
        }
        U(is_request);
        S(method);
        U(status);
        S(reason);
        S(request_uri);
        S(call_id);
        U(cseq);
        S(cseq_method);
        S(from_user);
        S(from_host);
        S(from_tag);
        S(to_user);
        S(to_host);
        S(to_tag);
        S(via_host);
        U(via_port);
        S(via_transport);
        S(via_branch);
        S(user_agent);
        S(server);
        U(n_challenges);
        U(n_credentials);
        U(auth_errors);
        U(challenges_dropped);
        U(credentials_dropped);
        U(body_len);
        U(msg_len);
        for (size_t i = 0; i < f->n_challenges && i < SIPMSG_MAX_AUTH; i++)
                if (!same_challenge(i, &f->challenges[i], &s->challenges[i], why, whylen))
                        return false;
        for (size_t i = 0; i < f->n_credentials && i < SIPMSG_MAX_AUTH; i++)
                if (!same_credentials(i, &f->credentials[i], &s->credentials[i], why, whylen))
                        return false;
#undef S
#undef U
        if (f->body_len && (!f->body || !s->body || memcmp(f->body, s->body, f->body_len) != 0)) {
                snprintf(why, whylen, "body bytes differ");
                return false;
        }
        return true;
}

typedef struct {
        unsigned messages, ok, auth, unsure, ignorable; /* auth: taken, with auth headers */
        unsigned compared; /* prefixes and mutations accepted and compared */
} Tally;

/*
 * The property: scan, and when it accepts, sofia must accept with the same
 * fields. Also: ignorable only for what sofia reads as 1xx / ACK.
 */
static SipScanVerdict compare(const char *what, const uint8_t *data, size_t len, Tally *t,
                              bool quiet)
{
        SipMsg fast = {0}, full = {0};
        SipScanVerdict sv = sipscan_scan(scanner, data, len, &fast);
        bool ignorable = sipscan_ignorable(data, len);
        char why[512] = "";

        /* Prefixes and mutations the scanner refuses need no sofia parse
         * (keeps the test fast under the sanitizers). */
        if (quiet && sv != SIP_SCAN_OK && !ignorable)
                return sv;
        SipParseVerdict pv = sipmsg_parse(parser, data, len, &full);

        if (sv == SIP_SCAN_OK) {
                bool same = pv == SIP_PARSE_OK && same_fields(&fast, &full, why, sizeof why);
                if (pv != SIP_PARSE_OK)
                        snprintf(why, sizeof why, "sofia says %s", sipmsg_verdict_name(pv));
                CHECK(same, "%s: scanner accepted, %s", what, why);
                if (!same)
                        dump(what, data, len);
                if (t)
                        t->compared++;
        }
        if (ignorable && pv == SIP_PARSE_OK) {
                bool ign = full.is_request ? strcasecmp(full.method, "ACK") == 0
                                           : full.status >= 100 && full.status < 200;
                CHECK(ign, "%s: ignorable, but sofia reads %s %u", what,
                      full.method ? full.method : "-", full.status);
        }
        sipmsg_clear(&full);
        sipmsg_clear(&fast);
        return sv;
}

/* ------------------------------------------------------------------------ */
/* Part 1: hand-written cases */

static SipScanVerdict scan_str(const char *s, SipMsg *m)
{
        return sipscan_scan(scanner, (const uint8_t *)s, strlen(s), m);
}

#define VIA          "Via: SIP/2.0/UDP 192.0.2.10:5062;rport;branch=z9hG4bK776asdhds\r\n"
#define FROM         "From: \"Alice\" <sip:alice@pbx.example>;tag=1928301774\r\n"
#define TO           "To: <sip:bob@pbx.example>\r\n"
#define CALLID       "Call-ID: a84b4c76e66710@pc33.example\r\n"
#define OPTIONS_HEAD "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA FROM TO CALLID "CSeq: 7 OPTIONS\r\n"

#define R401                                                                                       \
        "SIP/2.0 401 Unauthorized\r\n" VIA FROM "To: <sip:bob@pbx.example>;tag=x\r\n" CALLID       \
        "CSeq: 1 REGISTER\r\n"
#define REG "REGISTER sip:pbx.example SIP/2.0\r\n" VIA FROM TO CALLID "CSeq: 2 REGISTER\r\n"
#define AUTHZ                                                                                      \
        "Authorization: Digest username=\"alice\", realm=\"pbx.example\", nonce=\"5f2a9c\", "      \
        "uri=\"sip:pbx.example\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, "  \
        "cnonce=\"0a4f113b\", opaque=\"5ccc\", qop=auth, nc=00000001\r\n"
#define W3                                                                                         \
        "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\nWWW-Authenticate: Digest "           \
        "realm=\"b\", nonce=\"2\", Digest realm=\"b2\", nonce=\"3\"\r\n"                           \
        "WWW-Authenticate: Basic realm=\"c\"\r\n"
#define W9 W3 W3 W3
#define A3 AUTHZ AUTHZ "Authorization: Digest username=\"bob\"\r\n"
#define A9 A3 A3 A3
#define U11                                                                                        \
        "Authorization: Digest username=\"u\"\r\nAuthorization: Digest username=\"u\"\r\n"         \
        "Authorization: Digest username=\"u\"\r\nAuthorization: Digest username=\"u\"\r\n"         \
        "Authorization: Digest username=\"u\"\r\nAuthorization: Digest username=\"u\"\r\n"         \
        "Authorization: Digest username=\"u\"\r\nAuthorization: Digest username=\"u\"\r\n"         \
        "Authorization: Digest username=\"u\"\r\nAuthorization: Digest username=\"u\"\r\n"         \
        "Authorization: Digest username=\"u\"\r\n"

typedef struct {
        const char *name;
        const char *msg;
        SipScanVerdict want;
} Case;

static const Case cases[] = {
    {"plain OPTIONS", OPTIONS_HEAD "Content-Length: 0\r\n\r\n", SIP_SCAN_OK},
    {"no Content-Length, body to the end", OPTIONS_HEAD "\r\nv=0\r\n", SIP_SCAN_OK},
    {"compact forms",
     "NOTIFY sip:alice@192.0.2.10:5062 SIP/2.0\r\n"
     "v: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKnashds8\r\n"
     "f: <sip:pbx@pbx.example>;tag=abc\r\nt: sip:alice@pbx.example;tag=def\r\n"
     "i: 12345@pbx\r\nCSeq: 2 NOTIFY\r\nl: 4\r\n\r\nbody",
     SIP_SCAN_OK},
    {"odd-case names",
     "BYE sip:alice@192.0.2.10 SIP/2.0\r\nvIA: SIP/2.0/udp 192.0.2.1\r\nFROM: "
     "<sip:a@b>;tag=1\r\nto: <sip:c@d>;Tag=2\r\ncall-id: x\r\ncseq: 3 BYE\r\n"
     "user-agent:  Yealink SIP-T46S 66.86.0.15  \r\nCONTENT-LENGTH: 0\r\n\r\n",
     SIP_SCAN_OK},
    {"display names: token run, quoted with escapes and '<' inside",
     "MESSAGE sip:bob@pbx.example SIP/2.0\r\n" VIA
     "From: Alice  Smith <sip:alice@pbx.example;transport=udp>;tag=9\r\n"
     "To: \"Bob \\\"the <builder>\\\"\" <sip:bob@pbx.example>\r\n" CALLID "CSeq: 1 MESSAGE\r\n\r\n",
     SIP_SCAN_OK},
    {"several Via values on one line and more Via lines",
     "INFO sip:bob@pbx.example SIP/2.0\r\n"
     "Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKtop , SIP/2.0/TCP 192.0.2.7:5070;branch=x\r\n"
     "Via: SIP/2.0/UDP 192.0.2.9;received=192.0.2.99;rport=5062\r\n" FROM TO CALLID
     "CSeq: 4 INFO\r\nServer: kamailio (5.6.4 (x86_64/linux))\r\n\r\n",
     SIP_SCAN_OK},
    {"response with reason and Server",
     "SIP/2.0 200 OK\r\n" VIA FROM "To: <sip:bob@pbx.example>;tag=as1\r\n" CALLID
     "CSeq: 7 OPTIONS\r\nServer: Asterisk PBX 18.0\r\nContent-Length: 0\r\n\r\n",
     SIP_SCAN_OK},
    {"RFC 4475 §3.1.1.8: trailing octets after Content-Length",
     OPTIONS_HEAD "Content-Length: 3\r\n\r\nabcTRAILING", SIP_SCAN_OK},
    {"WS transport kept as sent",
     "OPTIONS sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/WSS "
     "df7jal23ls0d.invalid;branch=z9hG4bKx\r\n" FROM TO CALLID "CSeq: 7 OPTIONS\r\n\r\n",
     SIP_SCAN_OK},
    {"Authorization",
     "REGISTER sip:pbx.example SIP/2.0\r\n" VIA FROM TO CALLID
     "CSeq: 2 REGISTER\r\nAuthorization: Digest username=\"alice\"\r\n\r\n",
     SIP_SCAN_OK},
    {"proxy-authorization, lower case", OPTIONS_HEAD "proxy-authorization: Digest x=1\r\n\r\n",
     SIP_SCAN_OK},
    {"WWW-Authenticate, odd case",
     "SIP/2.0 401 Unauthorized\r\n" VIA FROM TO CALLID
     "CSeq: 1 REGISTER\r\nwww-AUTHENTICATE: Digest realm=\"x\"\r\n\r\n",
     SIP_SCAN_OK},
    {"Proxy-Authenticate",
     "SIP/2.0 407 Proxy Authentication Required\r\n" VIA FROM TO CALLID
     "CSeq: 1 INVITE\r\nPROXY-AUTHENTICATE: Digest realm=\"x\"\r\n\r\n",
     SIP_SCAN_OK},
    /* Auth headers: each value goes to sofia's parser for its class. */
    {"several challenges on one line (RFC 8760; split_scheme)",
     R401 "WWW-Authenticate: Digest realm=\"pbx.example\", nonce=\"n1\", algorithm=SHA-256, "
          "qop=\"auth,auth-int\", stale=TRUE, Digest realm=\"pbx.example\", nonce=\"n1\", "
          "algorithm=MD5, qop=\"auth\", userhash=true, Basic realm=\"x\", Newscheme\r\n"
          "Content-Length: 0\r\n\r\n",
     SIP_SCAN_OK},
    {"challenges on two lines and in both headers, in another order",
     R401 "Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"p1\", opaque=\"o\", "
          "algorithm=SHA-512-256-sess, qop=\"auth-int,foo\"\r\n"
          "WWW-Authenticate: Digest realm=\"a\", nonce=\"w1\"\r\n"
          "www-authenticate: Bearer realm=\"b\", error=\"invalid_token\"\r\n"
          "WWW-Authenticate: Digest realm=\"c\", nonce=\"w3\", algorithm=AKAv1-MD5\r\n\r\n",
     SIP_SCAN_OK},
    {"Authorization and Proxy-Authorization",
     REG "Proxy-Authorization: Digest username=\"bob\", realm=\"proxy\", nonce=\"p1\", "
         "uri=\"sip:pbx.example\", response=\"00112233445566778899aabbccddeeff\", "
         "algorithm=MD5-sess, cnonce=\"c0ffee\", qop=auth-int, nc=0000000A\r\n" AUTHZ
         "Content-Length: 0\r\n\r\n",
     SIP_SCAN_OK},
    {"odd-case auth names next to compact forms",
     "REGISTER sip:pbx.example SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKc\r\n"
     "f: <sip:alice@pbx.example>;tag=1\r\nt: <sip:alice@pbx.example>\r\ni: cid@h\r\n"
     "CSEQ: 3 REGISTER\r\naUTHORIZATION: Digest username=\"alice\", realm=\"pbx.example\", "
     "nonce=\"n\", uri=\"sip:pbx.example\", response=\"ab\"\r\n"
     "PROXY-authorization:\tDigest\tusername=\"x\" ,realm=\"y\"  \r\nl: 0\r\n\r\n",
     SIP_SCAN_OK},
    {"non-Digest credentials",
     REG "Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
         "Proxy-Authorization: Bearer realm=\"x\", token=abc\r\n\r\n",
     SIP_SCAN_OK},
    {"odd digest values: nc too long, not hex, empty, userhash, escaped quotes",
     REG "Authorization: Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", "
         "response=\"r\", nc=000000001, userhash=\"TRUE\", qop=AUTH\r\n"
         "Authorization: Digest username=\"c\", nc=zz, qop=\"auth\"\r\n"
         "Authorization: Digest username=\"d\", nc=, algorithm=\"sha-256\"\r\n\r\n",
     SIP_SCAN_OK},
    {"auth values sofia refuses count as auth_errors",
     REG "Authorization: Digest\r\nAuthorization:\r\nWWW-Authenticate: Digest realm=\"x\r\n"
         "Proxy-Authorization: Digest username=\"a\", \"b\"\r\n" AUTHZ "\r\n",
     SIP_SCAN_OK},
    {"`Authorization: Digest ,` has no params (sofia quirk)",
     REG "Authorization: Digest ,\r\n"
         "Proxy-Authorization: Digest  \r\n\r\n",
     SIP_SCAN_OK},
    {"more than SIPMSG_MAX_AUTH auth headers: dropped are counted",
     R401 W9 W9 "Proxy-Authenticate: Digest realm=\"p\", nonce=\"1\"\r\n\r\n", SIP_SCAN_OK},
    {"more than SIPMSG_MAX_AUTH credentials", REG A9 AUTHZ "\r\n", SIP_SCAN_OK},
    {"more auth lines than the scanner keeps goes to sofia", REG U11 U11 U11 "\r\n",
     SIP_SCAN_UNSURE},
    {"auth header in a malformed message still goes to sofia",
     REG "Authorization: Digest username=\"a\"\r\n folded=1\r\n\r\n", SIP_SCAN_UNSURE},
    {"401 without challenge is taken (challenge-missing)",
     "SIP/2.0 401 Unauthorized\r\n" VIA FROM TO CALLID "CSeq: 1 REGISTER\r\n\r\n", SIP_SCAN_OK},
    {"folded header", OPTIONS_HEAD "Subject: a\r\n  folded\r\n\r\n", SIP_SCAN_UNSURE},
    {"folded Via",
     "OPTIONS sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/UDP\r\n 192.0.2.1\r\n" FROM TO CALLID
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"bare LF line ends", "OPTIONS sip:pbx.example SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1\n\n",
     SIP_SCAN_UNSURE},
    {"duplicate Call-ID", OPTIONS_HEAD "Call-ID: second\r\n\r\n", SIP_SCAN_UNSURE},
    {"duplicate CSeq", OPTIONS_HEAD "CSeq: 8 OPTIONS\r\n\r\n", SIP_SCAN_UNSURE},
    {"duplicate tag parameter",
     "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA "From: <sip:a@b>;tag=1;tag=2\r\n" TO CALLID
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"missing Call-ID", "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA FROM TO "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"missing Via", "OPTIONS sip:pbx.example SIP/2.0\r\n" FROM TO CALLID "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"missing To is fine",
     "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA FROM CALLID "CSeq: 1 OPTIONS\r\n\r\n", SIP_SCAN_OK},
    {"escaped user part goes to sofia",
     "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA "From: <sip:%61lice@pbx.example>;tag=1\r\n" TO CALLID
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"quoted parameter goes to sofia",
     "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA "From: <sip:a@b>;x=\"y\";tag=1\r\n" TO CALLID
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"tel: URI goes to sofia",
     "OPTIONS sip:pbx.example SIP/2.0\r\n" VIA "From: <tel:+15551234>;tag=1\r\n" TO CALLID
     "CSeq: 1 OPTIONS\r\n\r\n",
     SIP_SCAN_UNSURE},
    {"truncated in the headers", OPTIONS_HEAD "Content-Le", SIP_SCAN_UNSURE},
    {"truncated body", OPTIONS_HEAD "Content-Length: 10\r\n\r\nabc", SIP_SCAN_UNSURE},
    {"Content-Length not a number", OPTIONS_HEAD "Content-Length: 1x\r\n\r\nabc", SIP_SCAN_UNSURE},
    {"line without a colon", OPTIONS_HEAD "Garbage line\r\n\r\n", SIP_SCAN_UNSURE},
    {"space before the colon", OPTIONS_HEAD "Subject : x\r\n\r\n", SIP_SCAN_UNSURE},
    {"NUL in a header", OPTIONS_HEAD "Subject: a\0b\r\n\r\n", SIP_SCAN_UNSURE},
    {"leading CRLF goes to sofia", "\r\n" OPTIONS_HEAD "\r\n", SIP_SCAN_UNSURE},
    {"binary junk", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", SIP_SCAN_UNSURE},
    {"HTTP is not SIP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", SIP_SCAN_UNSURE},
    {"empty", "", SIP_SCAN_UNSURE},
};

/* The case whose name starts with prefix, scanned. */
static SipScanVerdict scan_case(const char *prefix, SipMsg *m)
{
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (strncmp(cases[i].name, prefix, strlen(prefix)) == 0)
                        return scan_str(cases[i].msg, m);
        CHECK(false, "no case \"%s\"", prefix);
        return SIP_SCAN__MAX;
}

static void test_cases(void)
{
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const Case *c = &cases[i];
                /* the NUL case is a literal with an embedded NUL: measure by hand */
                size_t len = strlen(c->msg);
                if (strstr(c->name, "NUL in"))
                        len += 1 + strlen(c->msg + len + 1);
                SipMsg m = {0};
                SipScanVerdict v = sipscan_scan(scanner, (const uint8_t *)c->msg, len, &m);
                CHECK(v == c->want, "%s: verdict %s, want %s", c->name, sipscan_verdict_name(v),
                      sipscan_verdict_name(c->want));
                compare(c->name, (const uint8_t *)c->msg, len, NULL, false);
                for (size_t n = 0; n < len; n++)
                        compare(c->name, (const uint8_t *)c->msg, n, NULL, true);
        }

        /* Spot checks of values, beyond "same as sofia". */
        SipMsg m = {0};
        CHECK(scan_str(cases[2].msg, &m) == SIP_SCAN_OK, "compact");
        CHECK(streq(m.via_host, "[2001:db8::1]") && m.via_port == 5060 &&
                  streq(m.via_transport, "TCP") && streq(m.from_tag, "abc") &&
                  streq(m.to_tag, "def") && streq(m.call_id, "12345@pbx") && m.body_len == 4 &&
                  m.msg_len == strlen(cases[2].msg),
              "compact values");
        CHECK(scan_str(cases[3].msg, &m) == SIP_SCAN_OK, "odd case");
        CHECK(streq(m.via_transport, "UDP") && m.via_port == 0 && streq(m.to_tag, "2") &&
                  streq(m.user_agent, "Yealink SIP-T46S 66.86.0.15"),
              "odd-case values: transport %s ua \"%s\"", m.via_transport, m.user_agent);
        CHECK(scan_str(cases[5].msg, &m) == SIP_SCAN_OK, "multi via");
        CHECK(streq(m.via_host, "proxy.example") && streq(m.via_branch, "z9hG4bKtop"),
              "top Via value");
        CHECK(scan_str(cases[7].msg, &m) == SIP_SCAN_OK, "trailing");
        CHECK(m.body_len == 3 && m.msg_len == strlen(cases[7].msg) - strlen("TRAILING"),
              "trailing octets are not the message: msg_len %zu", m.msg_len);
        CHECK(m.priv_ == NULL, "no sofia message held");

        /* Auth headers, beyond "same as sofia". */
        m = (SipMsg){0};
        CHECK(scan_case("several challenges on one line", &m) == SIP_SCAN_OK, "split");
        CHECK(m.n_challenges == 4 && m.challenges[0].digest &&
                  m.challenges[0].alg == DIGEST_ALG_SHA256 && m.challenges[0].stale &&
                  m.challenges[0].qop_mask == (QOP_AUTH | QOP_AUTH_INT) &&
                  m.challenges[1].alg == DIGEST_ALG_MD5 && m.challenges[1].userhash &&
                  !m.challenges[1].stale && streq(m.challenges[2].scheme, "Basic") &&
                  !m.challenges[2].digest && streq(m.challenges[2].realm, "x") &&
                  streq(m.challenges[3].scheme, "Newscheme") && m.auth_errors == 0,
              "split challenges: %zu", m.n_challenges);
        CHECK(scan_case("challenges on two lines", &m) == SIP_SCAN_OK, "two lines");
        CHECK(m.n_challenges == 4 && !m.challenges[0].proxy && streq(m.challenges[0].nonce, "w1") &&
                  streq(m.challenges[1].scheme, "Bearer") &&
                  m.challenges[2].alg == DIGEST_ALG_OTHER &&
                  streq(m.challenges[2].algorithm, "AKAv1-MD5") && m.challenges[3].proxy &&
                  m.challenges[3].alg == DIGEST_ALG_SHA512_256_SESS &&
                  m.challenges[3].qop_mask == (QOP_AUTH_INT | QOP_OTHER),
              "WWW-Authenticate before Proxy-Authenticate, message order within");
        CHECK(scan_case("Authorization and Proxy-Authorization", &m) == SIP_SCAN_OK, "both");
        CHECK(m.n_credentials == 2 && !m.credentials[0].proxy &&
                  streq(m.credentials[0].username, "alice") && m.credentials[0].nc_valid &&
                  m.credentials[0].nc_value == 1 && m.credentials[0].qop_mask == QOP_AUTH &&
                  m.credentials[1].proxy && m.credentials[1].alg == DIGEST_ALG_MD5_SESS &&
                  m.credentials[1].qop_mask == QOP_AUTH_INT && m.credentials[1].nc_value == 10,
              "credentials in fill() order");
        CHECK(scan_case("odd digest values", &m) == SIP_SCAN_OK, "odd values");
        CHECK(m.n_credentials == 3 && !m.credentials[0].nc_valid && m.credentials[0].userhash &&
                  streq(m.credentials[0].username, "a\"b") && !m.credentials[1].nc_valid &&
                  !m.credentials[2].nc_valid && m.credentials[2].alg == DIGEST_ALG_SHA256,
              "odd digest values");
        CHECK(scan_case("non-Digest credentials", &m) == SIP_SCAN_OK, "non-Digest");
        CHECK(m.n_credentials == 2 && !m.credentials[0].digest &&
                  m.credentials[0].alg == DIGEST_ALG_OTHER && m.credentials[0].response == NULL &&
                  streq(m.credentials[1].scheme, "Bearer"),
              "non-Digest credentials");
        CHECK(scan_case("auth values sofia refuses", &m) == SIP_SCAN_OK, "refused");
        CHECK(m.auth_errors >= 2 && m.n_credentials >= 1, "refused auth values: %u errors",
              m.auth_errors);
        CHECK(scan_case("`Authorization: Digest ,`", &m) == SIP_SCAN_OK, "quirk");
        CHECK(m.n_credentials + m.auth_errors == 2 && m.credentials[0].username == NULL,
              "Digest , : %zu credentials, %u errors", m.n_credentials, m.auth_errors);
        CHECK(scan_case("more than SIPMSG_MAX_AUTH auth headers", &m) == SIP_SCAN_OK, "dropped");
        CHECK(m.n_challenges == SIPMSG_MAX_AUTH && m.challenges_dropped == 25 - SIPMSG_MAX_AUTH,
              "challenges %zu dropped %u", m.n_challenges, m.challenges_dropped);
        CHECK(scan_case("more than SIPMSG_MAX_AUTH credentials", &m) == SIP_SCAN_OK, "dropped");
        CHECK(m.n_credentials == SIPMSG_MAX_AUTH && m.credentials_dropped == 2,
              "credentials %zu dropped %u", m.n_credentials, m.credentials_dropped);
        /* The next scan of a message without auth headers leaves none behind. */
        CHECK(scan_str(cases[0].msg, &m) == SIP_SCAN_OK && m.n_challenges == 0 &&
                  m.n_credentials == 0 && m.auth_errors == 0 && m.challenges_dropped == 0 &&
                  m.credentials_dropped == 0,
              "auth fields reset");

        /* Auth headers that outgrow the scanner's arena spill to malloc()
         * (freed by the next scan; the sanitizer build checks both). */
        static char big[40000];
        size_t bl = (size_t)snprintf(big, sizeof big, "%s", REG);
        for (int i = 0; i < 4; i++) {
                bl += (size_t)snprintf(big + bl, sizeof big - bl,
                                       "Authorization: Digest realm=\"r%d\", username=\"", i);
                memset(big + bl, 'a' + i, 6000);
                bl += 6000;
                bl += (size_t)snprintf(big + bl, sizeof big - bl, "\", nonce=\"n\"\r\n");
        }
        bl += (size_t)snprintf(big + bl, sizeof big - bl, "\r\n");
        compare("auth headers larger than the arena", (const uint8_t *)big, bl, NULL, false);
        CHECK(sipscan_scan(scanner, (const uint8_t *)big, bl, &m) == SIP_SCAN_OK &&
                  m.n_credentials == 4 && strlen(m.credentials[3].username) == 6000 &&
                  m.credentials[3].username[0] == 'd',
              "large auth headers");

        /* Secrets are masked in dumps. */
        static const char sec[] = "x, response=\"ab\\\"c\", CNonce = tok, nonce=\"n\"";
        const uint8_t *sb = (const uint8_t *)sec;
        const char *r = strstr(sec, "\"ab"), *cn = strstr(sec, "tok"), *nn = strstr(sec, "\"n\"");
        CHECK(secret_at(sb, strlen(sec), (size_t)(r - sec)) == 7 &&
                  secret_at(sb, strlen(sec), (size_t)(cn - sec)) == 3 &&
                  secret_at(sb, strlen(sec), (size_t)(nn - sec)) == 0,
              "secret_at");

        /* *out untouched on refusal */
        SipMsg keep = {.call_id = "sentinel", .cseq = 99};
        CHECK(scan_str("SIP/2.0 200 OK\r\nVia: x\r\n\r\n", &keep) == SIP_SCAN_UNSURE &&
                  streq(keep.call_id, "sentinel") && keep.cseq == 99,
              "out untouched on UNSURE");

        /* sipscan_ignorable: the start line only */
        static const struct {
                const char *s;
                bool want;
        } ign[] = {
            {"SIP/2.0 100 Trying\r\n", true},
            {"SIP/2.0 183 Session Progress\r\n", true},
            {"SIP/2.0 180\r\n", true},
            {"SIP/2.0 200 OK\r\n", false},
            {"SIP/2.0 1000 x\r\n", false},
            {"SIP/2.0 10 x\r\n", false},
            {"ACK sip:bob@pbx.example SIP/2.0\r\n", true},
            {"ack sip:bob@pbx.example SIP/2.0\r\n", true},
            {"ACKX sip:bob@pbx.example SIP/2.0\r\n", false},
            {"INVITE sip:bob@pbx.example SIP/2.0\r\n", false},
            {"\r\nSIP/2.0 100 Trying\r\n", false},
            {"SIP/2.0 1", false},
        };
        for (size_t i = 0; i < sizeof ign / sizeof ign[0]; i++)
                CHECK(sipscan_ignorable((const uint8_t *)ign[i].s, strlen(ign[i].s)) == ign[i].want,
                      "ignorable(\"%s\") != %d", ign[i].s, ign[i].want);
        CHECK(!sipscan_ignorable(NULL, 0), "NULL");
}

/* ------------------------------------------------------------------------ */
/* Parts 2-4: captures, RFC 4475, prefixes and mutations */

#ifndef SIPSCAN_MUTATIONS
#define SIPSCAN_MUTATIONS 24
#endif

static bool deep = true; /* prefixes and mutations too (not for the large extra captures) */

static void one_message(const char *what, const uint8_t *data, size_t len, Tally *t)
{
        static uint8_t buf[70000];
        static const uint8_t interesting[] = {' ', '\t', '\r', '\n', ':',  ';', ',', '<',
                                              '>', '"',  '@',  '%',  '\0', '=', '[', ']',
                                              '?', '\\', '/',  'A',  'a',  '0', '9', 0xff};
        SipScanVerdict v = compare(what, data, len, t, false);

        t->messages++;
        if (v == SIP_SCAN_OK) {
                SipMsg m = {0};
                t->ok++;
                if (sipscan_scan(scanner, data, len, &m) == SIP_SCAN_OK &&
                    m.n_challenges + m.n_credentials + m.auth_errors + m.challenges_dropped +
                            m.credentials_dropped >
                        0)
                        t->auth++;
        } else {
                t->unsure++;
        }
        if (sipscan_ignorable(data, len))
                t->ignorable++;
        if (!deep || len > sizeof buf)
                return;

        /* Every prefix: no crash, and agreement whenever accepted. */
        for (size_t n = 0; n < len; n++)
                compare(what, data, n, t, true);

        /* One- to three-byte mutations, deterministic (more with -DSIPSCAN_MUTATIONS=N
         * for a long manual run). */
        for (int k = 0; k < SIPSCAN_MUTATIONS && len > 0; k++) {
                memcpy(buf, data, len);
                for (int j = 0; j <= k % 3; j++) {
                        size_t at = check_rand() % len;
                        buf[at] = interesting[check_rand() % sizeof interesting];
                }
                compare(what, buf, len, t, true);
        }
}

static bool is_pcap_name(const char *n)
{
        size_t l = strlen(n);
        return (l > 5 && strcmp(n + l - 5, ".pcap") == 0) ||
               (l > 7 && strcmp(n + l - 7, ".pcapng") == 0);
}

typedef struct {
        const char *path;
        Tally *t;
} PcapWalk;

static void one_frame(int linktype, const uint8_t *data, size_t caplen, void *ud)
{
        PcapWalk *w = ud;
        DecodedPacket pkt;

        if (decode_packet(linktype, data, caplen, &pkt) != DECODE_OK || pkt.payload_len == 0)
                return;
        if (!sipmsg_looks_like_sip(pkt.payload, pkt.payload_len))
                return;
        one_message(w->path, pkt.payload, pkt.payload_len, w->t);
}

static void one_pcap(const char *path, Tally *t)
{
        PcapWalk w = {path, t};
        char err[PCAP_ERRBUF_SIZE];
        int lt;

        CHECK(pcap_each(path, one_frame, &w, &lt, err, sizeof err) >= 0, "%s: %s", path, err);
}

/* Every pcap under dir (recursively). */
static void walk(const char *dir, Tally *t, unsigned *files)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d))) {
                char path[4096];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                if (e->d_type == DT_DIR) {
                        walk(path, t, files);
                } else if (is_pcap_name(e->d_name)) {
                        one_pcap(path, t);
                        (*files)++;
                }
        }
        closedir(d);
}

static void report(const char *name, const Tally *t, unsigned files)
{
        printf("%s: %u files, %u SIP payloads: scanner took %u (%.1f%%), %u of them with auth "
               "headers (%.1f%%), -> sofia %u (%.1f%%); ignorable by start line %u; "
               "%u prefixes/mutations compared\n",
               name, files, t->messages, t->ok, t->messages ? 100.0 * t->ok / t->messages : 0.0,
               t->auth, t->messages ? 100.0 * t->auth / t->messages : 0.0, t->unsure,
               t->messages ? 100.0 * t->unsure / t->messages : 0.0, t->ignorable, t->compared);
}

static bool read_file(const char *path, uint8_t **data, size_t *len)
{
        FILE *f = fopen(path, "rbe");
        long n;

        if (!f)
                return false;
        if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
                fclose(f);
                return false;
        }
        *data = malloc((size_t)n + 1);
        *len = *data ? fread(*data, 1, (size_t)n, f) : 0;
        fclose(f);
        return *data != NULL;
}

static bool test_rfc4475(const char *corpora)
{
        char path[4096];
        DIR *d;
        struct dirent *e;
        Tally t = {0};
        unsigned files = 0;

        snprintf(path, sizeof path, "%s/rfc4475", corpora);
        d = opendir(path);
        if (!d) {
                printf("SKIP rfc4475: %s: %s\n", path, strerror(errno));
                return false;
        }
        while ((e = readdir(d))) {
                size_t l = strlen(e->d_name);
                uint8_t *data;
                size_t len;
                if (l < 5 || strcmp(e->d_name + l - 4, ".dat") != 0)
                        continue;
                snprintf(path, sizeof path, "%s/rfc4475/%s", corpora, e->d_name);
                if (!read_file(path, &data, &len)) {
                        CHECK(false, "%s: cannot read", path);
                        continue;
                }
                one_message(e->d_name, data, len, &t);
                files++;
                free(data);
        }
        closedir(d);
        report("rfc4475", &t, files);
        CHECK(files >= 50, "only %u RFC 4475 files", files);
        return true;
}

int main(int argc, char **argv)
{
        const char *srcdir = getenv("SRCDIR");
        bool ran = false;

        parser = sipmsg_parser_new();
        scanner = sipscan_new();
        if (!parser || !scanner) {
                fprintf(stderr, "FAIL: out of memory\n");
                return 1;
        }
        test_cases();

        if (srcdir) {
                char path[4096];
                Tally t = {0};
                unsigned files = 0;
                snprintf(path, sizeof path, "%s/tests/golden/captures", srcdir);
                walk(path, &t, &files);
                report("golden", &t, files);
                CHECK(files >= 20 && t.ok > 0, "golden captures: %u files, %u taken", files, t.ok);
                ran = files > 0;
        } else {
                printf("SKIP golden: SRCDIR not set\n");
        }
        if (argc > 1) {
                char path[4096];
                Tally t = {0};
                unsigned files = 0;
                snprintf(path, sizeof path, "%s/pcaps", argv[1]);
                walk(path, &t, &files);
                report("corpora", &t, files);
                ran |= files > 0;
                ran |= test_rfc4475(argv[1]);
        } else {
                printf("SKIP corpora: no corpora directory given\n");
        }
        /* Extra captures named on the command line (e.g. bench/out/mix-10k.pcap). */
        deep = false;
        for (int i = 2; i < argc; i++) {
                Tally t = {0};
                one_pcap(argv[i], &t);
                report(argv[i], &t, 1);
        }

        parser = sipmsg_parser_free(parser);
        scanner = sipscan_free(scanner);
        if (check_exit("sipscan"))
                return 1;
        return ran ? 0 : 77;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP parsing and digest extraction (parser/sipmsg.c over libsofia-sip-ua)
 * and everything done with what it extracts: digest_verify() of every
 * credential against a fixed password and against fixed HA1s in each
 * algorithm (analysis/digest.c), and the RFC 3261 §19.1.4 URI comparison
 * of the credential's uri with the Request-URI (parser/sipmsg.c).
 *
 * The same datagram through the fast path's scanner (parser/sipscan.h),
 * compared with the full parse; and the input as one auth header value:
 * when the fast path reads it without sofia-sip (the plain shape,
 * parser/sipauth_plain.c), sofia's msg_auth_d() must take it with
 * the same scheme and items.
 *
 * Input: one datagram. When the parser says the message used fewer bytes
 * than given, the rest is parsed as a second message, as the pipeline does
 * with a TCP segment holding two messages.
 *
 * Invariants checked: a verdict in range; on OK the strings are readable
 * and NUL-terminated, the counts within SIPMSG_MAX_AUTH, msg_len and the
 * body inside the input; on anything else the SipMsg is zeroed (sipmsg.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "digest.h"
#include "fuzz.h"
#include "sipauth.h"
#include "sipmsg.h"
#include "sipscan.h"

static SipParser *parser;
static SipScanner *scanner;
static DigestHasher *hasher;
static SipAuthArena *arena;

static void touch_str(const char *s)
{
        if (s)
                fuzz_touch((const uint8_t *)s, strlen(s) + 1);
}

static bool all_zero(const void *p, size_t n)
{
        const uint8_t *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/* HA1 = MD5/SHA-256/SHA-512-256("fuzz:fuzz:secret"), computed at start-up so
 * the HA1 branch of digest_verify() runs with a well-formed secret. */
static char ha1[3][DIGEST_HEX_MAX];
static const DigestAlg ha1_algs[3] = {DIGEST_ALG_MD5, DIGEST_ALG_SHA256, DIGEST_ALG_SHA512_256};

static void init(void)
{
        parser = sipmsg_parser_new();
        scanner = sipscan_new();
        hasher = digest_hasher_new();
        arena = sipauth_arena_new();
        FUZZ_ASSERT(parser && scanner && hasher && arena);
        for (size_t i = 0; i < 3; i++)
                if (digest_ha1(hasher, ha1_algs[i], "fuzz", "fuzz", "secret", ha1[i]) < 0)
                        ha1[i][0] = '\0';
}

static void check_msg(const SipMsg *m, const uint8_t *data, size_t len)
{
        FUZZ_ASSERT(m->msg_len > 0 && m->msg_len <= len);
        FUZZ_ASSERT(m->n_challenges <= SIPMSG_MAX_AUTH);
        FUZZ_ASSERT(m->n_credentials <= SIPMSG_MAX_AUTH);
        if (m->body_len) {
                FUZZ_ASSERT(m->body != NULL);
                fuzz_touch(m->body, m->body_len);
        }
        (void)data;
        touch_str(m->method);
        touch_str(m->reason);
        touch_str(m->request_uri);
        touch_str(m->call_id);
        touch_str(m->cseq_method);
        touch_str(m->from_user);
        touch_str(m->from_host);
        touch_str(m->from_tag);
        touch_str(m->to_user);
        touch_str(m->to_host);
        touch_str(m->to_tag);
        touch_str(m->via_host);
        touch_str(m->via_transport);
        touch_str(m->via_branch);
        touch_str(m->user_agent);
        touch_str(m->server);
        if (m->is_request)
                FUZZ_ASSERT(m->method != NULL);
        for (size_t i = 0; i < m->n_challenges; i++) {
                const SipChallenge *c = &m->challenges[i];
                FUZZ_ASSERT((unsigned)c->alg < DIGEST_ALG__MAX);
                touch_str(c->scheme);
                touch_str(c->realm);
                touch_str(c->nonce);
                touch_str(c->opaque);
                touch_str(c->algorithm);
                (void)sipauth_alg_name(c->alg);
        }
}

/* RFC 7616 §3.4 / RFC 3261 §22.4: what the tracker and credstore do with a response. */
static void verify_all(const SipMsg *m)
{
        for (size_t i = 0; i < m->n_credentials; i++) {
                const SipCredentials *c = &m->credentials[i];
                FUZZ_ASSERT((unsigned)c->alg < DIGEST_ALG__MAX);
                touch_str(c->scheme);
                touch_str(c->username);
                touch_str(c->realm);
                touch_str(c->nonce);
                touch_str(c->uri);
                touch_str(c->algorithm);
                touch_str(c->qop);
                touch_str(c->nc);
                touch_str(c->cnonce);
                touch_str(c->response);
                touch_str(c->opaque);

                const char *method = m->is_request ? m->method : m->cseq_method;
                DigestSecret plain = {.kind = DIGEST_SECRET_PLAIN, .value = "secret"};
                DigestVerdict v = digest_verify(hasher, c, method, m->body, m->body_len, &plain);
                FUZZ_ASSERT((unsigned)v < VERIFY__MAX && v != VERIFY_NO_SECRET);
                (void)digest_verdict_name(v);
                /* userhash=true needs the account's real name. */
                DigestSecret named = {
                    .kind = DIGEST_SECRET_PLAIN, .value = "secret", .user = "fuzz"};
                v = digest_verify(hasher, c, method, m->body, m->body_len, &named);
                FUZZ_ASSERT((unsigned)v < VERIFY__MAX);
                for (size_t a = 0; a < 3; a++) {
                        if (!ha1[a][0])
                                continue;
                        DigestSecret h = {
                            .kind = DIGEST_SECRET_HA1, .ha1_alg = ha1_algs[a], .value = ha1[a]};
                        v = digest_verify(hasher, c, method, m->body, m->body_len, &h);
                        FUZZ_ASSERT((unsigned)v < VERIFY__MAX);
                }
                /* RFC 3261 §19.1.4 comparison, both ways: it must be symmetric. */
                if (c->uri && m->request_uri) {
                        bool ab = sipuri_equivalent(c->uri, m->request_uri);
                        bool ba = sipuri_equivalent(m->request_uri, c->uri);
                        FUZZ_ASSERT(ab == ba);
                }
                if (c->uri)
                        FUZZ_ASSERT(sipuri_equivalent(c->uri, c->uri));
        }
}

static bool same_str(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* Every field of every challenge and credentials entry: the fast path takes
 * the digest values with its own matcher over sofia's parameter array
 * (parser/sipauth.c digest_match), the full parse with sofia's
 * auth_digest_*_get(). */
static void same_auth(const SipMsg *f, const SipMsg *s)
{
        for (size_t i = 0; i < f->n_challenges; i++) {
                const SipChallenge *a = &f->challenges[i], *b = &s->challenges[i];
                FUZZ_ASSERT(a->proxy == b->proxy && a->digest == b->digest &&
                            same_str(a->scheme, b->scheme) && same_str(a->realm, b->realm) &&
                            same_str(a->nonce, b->nonce) && same_str(a->opaque, b->opaque) &&
                            same_str(a->algorithm, b->algorithm) && a->alg == b->alg &&
                            a->qop_mask == b->qop_mask && a->stale == b->stale &&
                            a->userhash == b->userhash);
        }
        for (size_t i = 0; i < f->n_credentials; i++) {
                const SipCredentials *a = &f->credentials[i], *b = &s->credentials[i];
                FUZZ_ASSERT(a->proxy == b->proxy && a->digest == b->digest &&
                            same_str(a->scheme, b->scheme) && same_str(a->username, b->username) &&
                            same_str(a->realm, b->realm) && same_str(a->nonce, b->nonce) &&
                            same_str(a->uri, b->uri) && same_str(a->algorithm, b->algorithm) &&
                            a->alg == b->alg && same_str(a->qop, b->qop) &&
                            a->qop_mask == b->qop_mask && same_str(a->nc, b->nc) &&
                            a->nc_value == b->nc_value && a->nc_valid == b->nc_valid &&
                            same_str(a->cnonce, b->cnonce) && same_str(a->response, b->response) &&
                            same_str(a->opaque, b->opaque) && a->userhash == b->userhash);
        }
}

/*
 * The fast path (parser/sipscan.h): when the scanner takes a message, sofia
 * must take it too, with the same counts and the same challenges and
 * credentials field by field; and the scanned strings (auth headers parsed
 * into the scanner's arena) go through the same checks and digest
 * verification.
 */
static void scan_one(const uint8_t *data, size_t len)
{
        SipMsg fast, full;
        memset(&fast, 0, sizeof fast);
        memset(&full, 0, sizeof full);
        if (sipscan_scan(scanner, data, len, &fast) != SIP_SCAN_OK)
                return;
        FUZZ_ASSERT(fast.priv_ == NULL);
        check_msg(&fast, data, len);
        verify_all(&fast);
        FUZZ_ASSERT(sipmsg_parse(parser, data, len, &full) == SIP_PARSE_OK);
        FUZZ_ASSERT(fast.msg_len == full.msg_len && fast.cseq == full.cseq &&
                    fast.n_challenges == full.n_challenges &&
                    fast.n_credentials == full.n_credentials &&
                    fast.auth_errors == full.auth_errors &&
                    fast.challenges_dropped == full.challenges_dropped &&
                    fast.credentials_dropped == full.credentials_dropped);
        same_auth(&fast, &full);
        sipmsg_clear(&full);
}

/* The plain reading of an auth value against msg_auth_d() (Authorization's class). */
static void plain_one(const uint8_t *data, size_t len)
{
        const char *scheme;
        char const *const *items;

        sipauth_arena_reset(arena);
        if (!sipauth_plain_items(arena, data, len, &scheme, &items))
                return;
        su_home_t *home = su_home_new(sizeof(su_home_t));
        FUZZ_ASSERT(home != NULL);
        msg_header_t *h = msg_header_alloc(home, sip_authorization_class, (isize_t)len + 1);
        FUZZ_ASSERT(h != NULL);
        char *b = MSG_HEADER_DATA(h);
        memcpy(b, data, len);
        b[len] = '\0';
        FUZZ_ASSERT(sip_authorization_class->hc_parse(home, h, b, (isize_t)len) >= 0);
        const msg_auth_t *au = (const msg_auth_t *)h;
        FUZZ_ASSERT(same_str(scheme, au->au_scheme) && au->au_params);
        size_t k = 0;
        for (; items[k] && au->au_params[k]; k++)
                FUZZ_ASSERT(same_str(items[k], au->au_params[k]));
        FUZZ_ASSERT(!items[k] && !au->au_params[k]);
        su_home_unref(home);
}

static void parse_one(const uint8_t *data, size_t len, int depth)
{
        SipMsg m;
        memset(&m, 0, sizeof m);
        (void)sipmsg_looks_like_sip(data, len);
        SipParseVerdict v = sipmsg_parse(parser, data, len, &m);
        FUZZ_ASSERT((unsigned)v < SIP_PARSE__MAX);
        (void)sipmsg_verdict_name(v);
        if (v != SIP_PARSE_OK) {
                FUZZ_ASSERT(all_zero(&m, sizeof m));
                return;
        }
        check_msg(&m, data, len);
        verify_all(&m);
        size_t used = m.msg_len;
        sipmsg_clear(&m);
        if (depth == 0 && used < len)
                parse_one(data + used, len - used, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!parser)
                init();
        parse_one(data, size, 0);
        scan_one(data, size);
        plain_one(data, size);
        /* The URI comparison on its own: the input split at its first NUL. */
        const uint8_t *nul = memchr(data, '\0', size);
        if (nul && memchr(nul + 1, '\0', size - (size_t)(nul + 1 - data))) {
                const char *a = (const char *)data;
                const char *b = (const char *)nul + 1;
                FUZZ_ASSERT(sipuri_equivalent(a, b) == sipuri_equivalent(b, a));
        }
        return 0;
}

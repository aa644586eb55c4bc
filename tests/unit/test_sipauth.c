/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fast path's digest parameter matcher (parser/sipauth.c digest_match)
 * against sofia-sip's auth_digest_challenge_get() / auth_digest_response_get(),
 * the reference that --parser full uses: every auth header value below, and
 * many mutations of them, goes through sipauth_add_value() twice, once per
 * way, and every field of every challenge and credentials entry must be
 * equal. Failures name the value and the field, never a cnonce or response.
 *
 * The fast path also reads values of the plain shape itself, without
 * sofia-sip's msg_auth_d() (parser/sipauth_plain.c): for every value
 * it takes, the scheme and the items must be msg_auth_d()'s au_scheme and
 * au_params, string for string, for the header class of the value.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "check.h"
#include "sipauth.h"
#include "sipmsg.h"

static const char *const challenges[] = {
    "Digest realm=\"asterisk\",nonce=\"1768471200/109cb1fc\",opaque=\"4988a6b1\","
    "algorithm=md5,qop=\"auth\"",
    "Digest  realm=\"example.test\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth,auth-int\", "
    "stale=TRUE",
    "digest REALM=\"a\\\"b\",Nonce=x,OPAQUE=\"\",Algorithm=\"MD5-sess\",QOP=auth",
    "Digest realm=\"first\",realm=\"second\",nonce=\"n1\",nonce=n2",
    "Digest realm = \"spaced\", nonce =\"n\", opaque= \"o\"",
    "Digest realm=\"unterminated, nonce=\"n\"",
    "Digest realm=\"x\"y\",nonce=\"\\",
    "Digest realmx=\"no\",xrealm=\"no\",nonce=\"yes\",nc=1,username=u",
    "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, Digest realm=\"r\", nonce=\"m\", "
    "algorithm=MD5",
    "Basic realm=\"basic\"",
    "Digest realm=\"r\", userhash=true, charset=UTF-8",
    "Digest",
    "Digest ,",
    "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
};

/* Values of the plain shape and next to it: white space, empty items, bare tokens. */
static const char *const plain[] = {
    "Digest realm=\"asterisk\", nonce=\"5f2a\", algorithm=MD5, qop=\"auth\"",
    "Digest\trealm=\"r\" ,nonce=\"n\"\t, opaque=\"\",stale=FALSE",
    "Digest realm=\"r\",, nonce=\"n\"",
    "Digest realm=\"r\", nonce=\"n\",",
    "Digest realm=\"r\", stale, nonce=\"n\"",
    "Digest realm=r/s, nonce=a:b@c, uri=sip:x@y;z",
    "Digest realm=\"a b, c=d\", nonce=\"n\" ",
    "Digest username=\"u\",realm=\"r\",nonce=\"n\",uri=\"sip:r\",response=\"0\",cnonce=\"c\","
    "nc=00000001,qop=auth,algorithm=SHA-256,userhash=false",
    "Digest a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17",
};

static const char *const credentials[] = {
    "Digest username=\"alice\",realm=\"asterisk\",nonce=\"1768471200/109cb1fc\","
    "uri=\"sip:example.test\",response=\"0123456789abcdef0123456789abcdef\",algorithm=MD5,"
    "cnonce=\"c0ffee\",qop=auth,nc=00000001,opaque=\"4988a6b1\"",
    "Digest USERNAME=\"Bob\", Realm=\"r\", NONCE=\"n\", URI=\"sip:b@r\", RESPONSE=\"x\", "
    "QOP=\"auth\", NC=0000000A, CNONCE=\"y\"",
    "Digest username=\"a\\\\b\\\"c\",realm=r,nonce=n,uri=sip:x,response=\"\"",
    "Digest username=\"first\",username=\"second\",uri=\"u1\",uri=\"u2\"",
    "Digest username = \"spaced\", uri =sip:x",
    "Digest username=\"u\", userhash=true, algorithm=SHA-512-256",
    "Digest username=\"u\", nc=123456789, nc=1",
    "Digest usernames=\"no\", username=\"yes\", responsex=1, response=2",
    "Digest response=\"unterminated",
    "Digest username=\"x\", Digest username=\"y\", realm=\"r\"",
    "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "Digest",
    "Digest ,",
    "Digest username=\"\\",
};

static bool str_eq(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

#define SAME_STR(field, what, i)                                                                   \
        CHECK(str_eq(a->field, b->field), "%s %zu: " #field " differs", what, i)
#define SAME(field, what, i) CHECK(a->field == b->field, "%s %zu: " #field " differs", what, i)

static void same_challenge(const SipChallenge *a, const SipChallenge *b, size_t i)
{
        SAME(proxy, "challenge", i);
        SAME(digest, "challenge", i);
        SAME_STR(scheme, "challenge", i);
        SAME_STR(realm, "challenge", i);
        SAME_STR(nonce, "challenge", i);
        SAME_STR(opaque, "challenge", i);
        SAME_STR(algorithm, "challenge", i);
        SAME(alg, "challenge", i);
        SAME(qop_mask, "challenge", i);
        SAME(stale, "challenge", i);
        SAME(userhash, "challenge", i);
}

static void same_credentials(const SipCredentials *a, const SipCredentials *b, size_t i)
{
        SAME(proxy, "credentials", i);
        SAME(digest, "credentials", i);
        SAME_STR(scheme, "credentials", i);
        SAME_STR(username, "credentials", i);
        SAME_STR(realm, "credentials", i);
        SAME_STR(nonce, "credentials", i);
        SAME_STR(uri, "credentials", i);
        SAME_STR(algorithm, "credentials", i);
        SAME(alg, "credentials", i);
        SAME_STR(qop, "credentials", i);
        SAME(qop_mask, "credentials", i);
        SAME_STR(nc, "credentials", i);
        SAME(nc_value, "credentials", i);
        SAME(nc_valid, "credentials", i);
        SAME_STR(cnonce, "credentials", i);
        SAME_STR(response, "credentials", i);
        SAME_STR(opaque, "credentials", i);
        SAME(userhash, "credentials", i);
}

static SipAuthArena *fast, *ref;
static SipMsg mf, mr;
static size_t plain_taken;

/* The plain reading of the value against msg_auth_d() through kind's class. */
static void compare_items(SipAuthKind kind, const uint8_t *v, size_t len, size_t i)
{
        static msg_hclass_t *const classes[SIPAUTH__MAX] = {
            [SIPAUTH_WWW_AUTHENTICATE] = sip_www_authenticate_class,
            [SIPAUTH_PROXY_AUTHENTICATE] = sip_proxy_authenticate_class,
            [SIPAUTH_AUTHORIZATION] = sip_authorization_class,
            [SIPAUTH_PROXY_AUTHORIZATION] = sip_proxy_authorization_class,
        };
        const char *scheme;
        char const *const *items;

        sipauth_arena_reset(fast);
        if (!sipauth_plain_items(fast, v, len, &scheme, &items))
                return;
        plain_taken++;
        su_home_t *home = su_home_new(sizeof(su_home_t));
        CHECK(home != NULL, "home");
        if (!home)
                return;
        msg_header_t *h = msg_header_alloc(home, classes[kind], (isize_t)len + 1);
        CHECK(h != NULL, "header");
        if (h) {
                char *b = MSG_HEADER_DATA(h);
                memcpy(b, v, len);
                b[len] = '\0';
                bool ok = classes[kind]->hc_parse(home, h, b, (isize_t)len) >= 0;
                CHECK(ok, "value %zu: sofia refuses a value read as plain", i);
                const msg_auth_t *au = (const msg_auth_t *)h;
                if (ok) {
                        CHECK(str_eq(scheme, au->au_scheme), "value %zu: scheme differs", i);
                        size_t k = 0;
                        for (; items[k] && au->au_params && au->au_params[k]; k++)
                                CHECK(str_eq(items[k], au->au_params[k]),
                                      "value %zu: item %zu differs", i, k);
                        CHECK(k > 0 && !items[k] && !au->au_params[k],
                              "value %zu: item counts differ", i);
                }
        }
        su_home_unref(home);
}

/* One value both ways; kind as in SipAuthKind. */
static void compare(SipAuthKind kind, const uint8_t *v, size_t len, size_t i)
{
        sipauth_arena_reset(fast);
        sipauth_arena_reset(ref);
        memset(&mf, 0, sizeof mf);
        memset(&mr, 0, sizeof mr);
        SipAuthResult rf = sipauth_add_value(fast, &mf, kind, v, len);
        SipAuthResult rr = sipauth_add_value(ref, &mr, kind, v, len);
        CHECK(rf == rr, "value %zu: result %d against %d", i, (int)rf, (int)rr);
        CHECK(mf.n_challenges == mr.n_challenges && mf.n_credentials == mr.n_credentials &&
                  mf.auth_errors == mr.auth_errors &&
                  mf.challenges_dropped == mr.challenges_dropped &&
                  mf.credentials_dropped == mr.credentials_dropped,
              "value %zu: counts differ", i);
        for (size_t k = 0; k < mf.n_challenges && k < mr.n_challenges; k++)
                same_challenge(&mf.challenges[k], &mr.challenges[k], i);
        for (size_t k = 0; k < mf.n_credentials && k < mr.n_credentials; k++)
                same_credentials(&mf.credentials[k], &mr.credentials[k], i);
        compare_items(kind, v, len, i);
}

/* Bytes that move parameter boundaries, quotes, escapes and name case. */
static const char mutation_bytes[] = "\",=\\ \tAaZz0\r\n;/:@";

static void mutate(char *buf, size_t *len, size_t cap)
{
        size_t n = *len;
        switch (check_rand() % 4) {
        case 0: /* overwrite */
                if (n)
                        buf[check_rand() % n] =
                            mutation_bytes[check_rand() % (sizeof mutation_bytes - 1)];
                break;
        case 1: /* flip the case of a letter */
                if (n)
                        buf[check_rand() % n] ^= 0x20;
                break;
        case 2: /* delete */
                if (n) {
                        size_t at = check_rand() % n;
                        memmove(buf + at, buf + at + 1, n - at - 1);
                        *len = n - 1;
                }
                break;
        default: /* insert */
                if (n + 1 < cap) {
                        size_t at = check_rand() % (n + 1);
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = mutation_bytes[check_rand() % (sizeof mutation_bytes - 1)];
                        *len = n + 1;
                }
        }
}

static void run_set(const char *const *vals, size_t n, SipAuthKind k1, SipAuthKind k2,
                    size_t *index)
{
        char buf[512];

        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(vals[i]);
                compare(k1, (const uint8_t *)vals[i], len, (*index)++);
                compare(k2, (const uint8_t *)vals[i], len, (*index)++);
                for (unsigned r = 0; r < 1500; r++) {
                        size_t l = len < sizeof buf ? len : sizeof buf - 1;
                        memcpy(buf, vals[i], l);
                        for (unsigned m = 1 + check_rand() % 4; m; m--)
                                mutate(buf, &l, sizeof buf);
                        compare(r & 1 ? k2 : k1, (const uint8_t *)buf, l, (*index)++);
                }
        }
}

int main(void)
{
        size_t index = 0;

        fast = sipauth_arena_new();
        ref = sipauth_arena_new();
        CHECK(fast && ref, "arenas");
        if (!fast || !ref)
                return check_exit("sipauth");
        sipauth_arena_use_sofia(ref, true);
        run_set(challenges, sizeof challenges / sizeof challenges[0], SIPAUTH_WWW_AUTHENTICATE,
                SIPAUTH_PROXY_AUTHENTICATE, &index);
        run_set(credentials, sizeof credentials / sizeof credentials[0], SIPAUTH_AUTHORIZATION,
                SIPAUTH_PROXY_AUTHORIZATION, &index);
        run_set(plain, sizeof plain / sizeof plain[0], SIPAUTH_WWW_AUTHENTICATE,
                SIPAUTH_AUTHORIZATION, &index);

        /* The matcher must really be the one under test: a value both take. */
        const char *v = "Digest username=\"u\",realm=\"r\",nonce=\"n\",uri=\"sip:x\"";
        compare(SIPAUTH_AUTHORIZATION, (const uint8_t *)v, strlen(v), index++);
        CHECK(mf.n_credentials == 1 && str_eq(mf.credentials[0].username, "u") &&
                  str_eq(mf.credentials[0].uri, "sip:x"),
              "the matcher read the plain credentials");
        /* ... and the plain reading really ran (an eighth of the values) */
        CHECK(plain_taken > index / 10, "plain reading: %zu of %zu values", plain_taken, index);
        printf("sipauth: %zu values compared, %zu of them read as plain\n", index, plain_taken);
        sipauth_arena_free(fast);
        sipauth_arena_free(ref);
        return check_exit("sipauth");
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for analysis/digest.c.
 *
 * Part 1: every vector of ../shared/corpora/digest/digest_vectors.json
 * (argv[1] is the corpora directory). Independently authored by RFC 2617,
 * RFC 7616, sofia-sip, reSIProcate, sipsorcery, JsSIP and John the Ripper;
 * the file's licence notes forbid nothing, but it is read in place rather
 * than copied. Each vector's expected_response is verified with the plain
 * password and with its HA1 stored as a secret of the vector's algorithm.
 * Which vectors must verify is decided from the file's own fields:
 *
 *   - verified_by_independent_recompute true, algorithm_for_hash the
 *     standard hash of the vector's algorithm, expected_response hex:
 *     must verify (VERIFY_OK);
 *   - verified_by_independent_recompute false: the published response is
 *     wrong (RFC 2069 example) and must not verify, while the recomputed
 *     computed_response must;
 *   - algorithm_for_hash "SHA-512-truncated-nonFIPS": RFC 7616 §3.9.2 as
 *     published was computed with SHA-512 cut to 256 bits (Errata 4897);
 *     a FIPS SHA-512/256 verifier must refuse it (the errata vector is the
 *     positive twin);
 *   - expected_response not hex ("n/a"): an HA1-only vector; its HA1 and
 *     the file's recomputed response are checked.
 *
 * The set of vectors that must not verify is then compared with the two the
 * file's "errata" list describes, so that a change in the file cannot turn
 * every vector into a silently skipped one.
 *
 * Part 2: variants the file lacks (MD5-sess, SHA-512-256-sess, -sess with
 * auth-int and without qop, userhash with MD5 and SHA-256), and the
 * UNSUPPORTED cases. Their expected values were computed with Python 3
 * hashlib (hashlib.md5 / sha256 / new("sha512_256")) following RFC 7616
 * §3.4.1-3.4.4, e.g. for MD5-sess, qop=auth:
 *   ha1 = md5("alice:example.test:s3cret:pw")
 *   ha1 = md5(f"{ha1}:nonce-8f2a:c-0a4f113b")
 *   ha2 = md5("INVITE:sip:bob@example.test")
 *   md5(f"{ha1}:nonce-8f2a:00000001:c-0a4f113b:auth:{ha2}")
 *
 * Response and cnonce values are never printed, only vector ids and
 * verdicts. Exit: 0 pass, 1 fail, 77 when the vector file is absent (part
 * 2 still runs and a failure there is still a failure).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "credentials.h"
#include "digest.h"
#include "check.h"

#define CHECK_VERDICT(got, want, what)                                                             \
        CHECK((got) == (want), "%s: verdict %s, want %s", (what), digest_verdict_name(got),        \
              digest_verdict_name(want))

static DigestHasher *hasher;

static bool streq(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool jbool(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

static bool jhas(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null);
}

static bool is_hex(const char *s, size_t want)
{
        if (!s || strlen(s) != want)
                return false;
        for (; *s; s++)
                if (!isxdigit((unsigned char)*s))
                        return false;
        return true;
}

static unsigned qop_mask_of(const char *qop)
{
        if (!qop)
                return 0;
        if (strcmp(qop, "auth") == 0)
                return QOP_AUTH;
        if (strcmp(qop, "auth-int") == 0)
                return QOP_AUTH_INT;
        return QOP_OTHER;
}

/* Secret type names of the credentials file, per base algorithm. */
static const char *ha1_type(DigestAlg base)
{
        switch (base) {
        case DIGEST_ALG_MD5:
                return "md5";
        case DIGEST_ALG_SHA256:
                return "sha-256";
        case DIGEST_ALG_SHA512_256:
                return "sha-512-256";
        default:
                return "?";
        }
}

/* Another base algorithm than a, for "HA1 of the wrong algorithm". */
static DigestAlg other_base(DigestAlg a)
{
        return digest_alg_base(a) == DIGEST_ALG_MD5 ? DIGEST_ALG_SHA256 : DIGEST_ALG_MD5;
}

/* ------------------------------------------------------------------------ */
/* Part 1: the vector file */

typedef struct {
        const char *id;
        const char *real_user;
        const char *password;
        const char *method;
        const char *body;
        size_t body_len;
        DigestAlg alg;
} Vec;

/* Verify through a CredStore built from a one-line text: the file path. */
static DigestVerdict verify_via_store(const char *line, const SipCredentials *cr, const Vec *v)
{
        CredStore *s = NULL;
        char err[256];
        int r = credstore_parse(line, strlen(line), &s, err, sizeof err);

        CHECK(r == 0, "%s: store '%s' refused: %s", v->id, "(line)", err);
        if (r < 0)
                return VERIFY__MAX;
        DigestVerdict d = credstore_verify(s, cr, v->method, (const uint8_t *)v->body, v->body_len);
        credstore_free(s);
        return d;
}

static bool has_blank(const char *s)
{
        return strpbrk(s, " \t") != NULL;
}

/* A positive vector: every way of holding its secret verifies. */
static void check_positive(json_object *o, const Vec *v, SipCredentials *cr)
{
        DigestAlg base = digest_alg_base(v->alg);
        DigestSecret plain = {.kind = DIGEST_SECRET_PLAIN,
                              .value = v->password,
                              .user = cr->userhash ? v->real_user : NULL};
        const char *computed_ha1 = jstr(o, "computed_HA1");
        const char *computed_ha2 = jstr(o, "computed_HA2");
        char ha1[DIGEST_HEX_MAX], ha1s[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX];
        char what[160];

        DigestVerdict d =
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &plain);
        printf("  %-44s %-12s plain    -> %s\n", v->id, sipauth_alg_name(v->alg),
               digest_verdict_name(d));
        snprintf(what, sizeof what, "%s plain", v->id);
        CHECK_VERDICT(d, VERIFY_OK, what);

        /* Intermediate values against the file's independent recompute. */
        CHECK(digest_ha1(hasher, base, v->real_user, cr->realm, v->password, ha1) == 0, "%s",
              v->id);
        if (digest_alg_is_sess(v->alg)) {
                CHECK(digest_ha1_sess(hasher, base, ha1, cr->nonce, cr->cnonce, ha1s) == 0, "%s",
                      v->id);
                CHECK(streq(ha1s, computed_ha1), "%s: HA1-sess differs", v->id);
        } else {
                CHECK(streq(ha1, computed_ha1), "%s: HA1 differs", v->id);
        }
        CHECK(digest_ha2(hasher, base, v->method, cr->uri, cr->qop_mask, (const uint8_t *)v->body,
                         v->body_len, ha2) == 0,
              "%s", v->id);
        CHECK(streq(ha2, computed_ha2), "%s: HA2 differs", v->id);

        /* The HA1 (of the base hash, also for -sess) as a stored secret. */
        DigestSecret hs = {
            .kind = DIGEST_SECRET_HA1, .ha1_alg = base, .value = ha1, .user = plain.user};
        d = digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &hs);
        printf("  %-44s %-12s %-8s -> %s\n", v->id, "", ha1_type(base), digest_verdict_name(d));
        snprintf(what, sizeof what, "%s %s:HA1", v->id, ha1_type(base));
        CHECK_VERDICT(d, VERIFY_OK, what);

        /* The same through the credentials-file parser, when the username
         * can be written in the file (no whitespace). */
        if (!has_blank(v->real_user) && !has_blank(cr->realm)) {
                char line[1024];
                snprintf(line, sizeof line, "%s %s %s:%s\n", v->real_user, cr->realm,
                         ha1_type(base), ha1);
                snprintf(what, sizeof what, "%s store %s:", v->id, ha1_type(base));
                CHECK_VERDICT(verify_via_store(line, cr, v), VERIFY_OK, what);
                if (!has_blank(v->password)) {
                        snprintf(line, sizeof line, "# vector\n%s * plain:%s\n", v->real_user,
                                 v->password);
                        snprintf(what, sizeof what, "%s store plain", v->id);
                        CHECK_VERDICT(verify_via_store(line, cr, v), VERIFY_OK, what);
                }
        }

        /* An HA1 of another algorithm cannot answer this response. */
        char other[DIGEST_HEX_MAX];
        CHECK(digest_ha1(hasher, other_base(v->alg), v->real_user, cr->realm, v->password, other) ==
                  0,
              "%s", v->id);
        DigestSecret hx = {.kind = DIGEST_SECRET_HA1,
                           .ha1_alg = other_base(v->alg),
                           .value = other,
                           .user = plain.user};
        snprintf(what, sizeof what, "%s HA1 of another algorithm", v->id);
        CHECK_VERDICT(
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &hx),
            VERIFY_UNSUPPORTED, what);

        /* A wrong password. */
        char wrong[256];
        snprintf(wrong, sizeof wrong, "%sx", v->password);
        DigestSecret ws = plain;
        ws.value = wrong;
        snprintf(what, sizeof what, "%s wrong password", v->id);
        CHECK_VERDICT(
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &ws),
            VERIFY_MISMATCH, what);

        /* Uppercase hex on the wire still verifies; one changed digit does not. */
        char resp[DIGEST_HEX_MAX];
        const char *orig = cr->response;
        snprintf(resp, sizeof resp, "%s", orig);
        for (char *p = resp; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        cr->response = resp;
        snprintf(what, sizeof what, "%s uppercase response", v->id);
        CHECK_VERDICT(
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &plain),
            VERIFY_OK, what);
        resp[5] = resp[5] == '0' ? '1' : '0';
        snprintf(what, sizeof what, "%s one digit changed", v->id);
        CHECK_VERDICT(
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &plain),
            VERIFY_MISMATCH, what);
        cr->response = orig;

        /* auth-int: the body is part of the digest. */
        if (cr->qop_mask == QOP_AUTH_INT) {
                static const char other_body[] = "v=0\r\n";
                snprintf(what, sizeof what, "%s auth-int other body", v->id);
                CHECK_VERDICT(digest_verify(hasher, cr, v->method, (const uint8_t *)other_body,
                                            strlen(other_body), &plain),
                              VERIFY_MISMATCH, what);
        }

        /* userhash: the hash on the wire must name the secret's user. */
        if (cr->userhash) {
                DigestSecret nouser = plain;
                nouser.user = NULL;
                snprintf(what, sizeof what, "%s userhash without user", v->id);
                CHECK_VERDICT(digest_verify(hasher, cr, v->method, (const uint8_t *)v->body,
                                            v->body_len, &nouser),
                              VERIFY_UNSUPPORTED, what);
                DigestSecret otheruser = plain;
                otheruser.user = "Mufasa";
                snprintf(what, sizeof what, "%s userhash of another user", v->id);
                CHECK_VERDICT(digest_verify(hasher, cr, v->method, (const uint8_t *)v->body,
                                            v->body_len, &otheruser),
                              VERIFY_MISMATCH, what);
        }
}

/* A vector whose published response is known to be wrong. */
static void check_negative(json_object *o, const Vec *v, SipCredentials *cr, bool fips_mismatch)
{
        DigestAlg base = digest_alg_base(v->alg);
        DigestSecret plain = {.kind = DIGEST_SECRET_PLAIN,
                              .value = v->password,
                              .user = cr->userhash ? v->real_user : NULL};
        const char *computed_ha1 = jstr(o, "computed_HA1");
        const char *computed = jstr(o, "computed_response");
        char what[160];

        DigestVerdict d =
            digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &plain);
        printf("  %-44s %-12s plain    -> %s (known bad: must not verify)\n", v->id,
               sipauth_alg_name(v->alg), digest_verdict_name(d));
        snprintf(what, sizeof what, "%s published response", v->id);
        CHECK_VERDICT(d, VERIFY_MISMATCH, what);

        /* The file's computed_HA1 stored as a secret of the vector's type. */
        if (is_hex(computed_ha1, digest_alg_hex_len(base))) {
                DigestSecret hs = {.kind = DIGEST_SECRET_HA1,
                                   .ha1_alg = base,
                                   .value = computed_ha1,
                                   .user = plain.user};
                d = digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len,
                                  &hs);
                printf("  %-44s %-12s %-8s -> %s (known bad: must not verify)\n", v->id, "",
                       ha1_type(base), digest_verdict_name(d));
                snprintf(what, sizeof what, "%s published response via HA1", v->id);
                CHECK_VERDICT(d, VERIFY_MISMATCH, what);
        }

        if (fips_mismatch) {
                /* Truncated SHA-512 is not SHA-512/256: our HA1 must differ
                 * from the published one. */
                char ha1[DIGEST_HEX_MAX];
                CHECK(digest_ha1(hasher, base, v->real_user, cr->realm, v->password, ha1) == 0,
                      "%s", v->id);
                CHECK(!streq(ha1, computed_ha1), "%s: HA1 equals truncated SHA-512", v->id);
                /* Even under the FIPS userhash, the published response
                 * fails on the response itself. */
                if (cr->userhash) {
                        char uh[DIGEST_HEX_MAX];
                        const char *orig_user = cr->username;
                        CHECK(digest_userhash(hasher, base, v->real_user, cr->realm, uh) == 0, "%s",
                              v->id);
                        cr->username = uh;
                        d = digest_verify(hasher, cr, v->method, (const uint8_t *)v->body,
                                          v->body_len, &plain);
                        printf("  %-44s %-12s plain    -> %s (FIPS userhash, published "
                               "response)\n",
                               v->id, "", digest_verdict_name(d));
                        snprintf(what, sizeof what, "%s FIPS userhash", v->id);
                        CHECK_VERDICT(d, VERIFY_MISMATCH, what);
                        cr->username = orig_user;
                }
                return;
        }

        /* RFC 2069: the independently recomputed response does verify. */
        const char *orig = cr->response;
        cr->response = computed;
        d = digest_verify(hasher, cr, v->method, (const uint8_t *)v->body, v->body_len, &plain);
        printf("  %-44s %-12s plain    -> %s (recomputed response)\n", v->id, "",
               digest_verdict_name(d));
        snprintf(what, sizeof what, "%s recomputed response", v->id);
        CHECK_VERDICT(d, VERIFY_OK, what);
        cr->response = orig;
}

/* reSIProcate's HA1-only vector: HA1 for all three hashes (from its notes). */
static void check_ha1_only(json_object *o, const Vec *v, SipCredentials *cr)
{
        const char *notes = jstr(o, "notes");
        char ha1[DIGEST_HEX_MAX];
        static const struct {
                DigestAlg alg;
                const char *label;
        } algs[] = {{DIGEST_ALG_MD5, "MD5 "},
                    {DIGEST_ALG_SHA256, "SHA-256 "},
                    {DIGEST_ALG_SHA512_256, "SHA-512-256 "}};

        CHECK(digest_ha1(hasher, v->alg, v->real_user, cr->realm, v->password, ha1) == 0, "%s",
              v->id);
        CHECK(streq(ha1, jstr(o, "computed_HA1")), "%s: HA1 differs", v->id);
        /* The notes list "MD5 <hex>, SHA-256 <hex>, SHA-512-256 <hex>". */
        for (size_t i = 0; notes && i < sizeof algs / sizeof algs[0]; i++) {
                const char *at = strstr(notes, algs[i].label);
                /* "SHA-256 " also occurs inside "SHA-512-256 ": skip that one. */
                while (at && at > notes && at[-1] == '-')
                        at = strstr(at + 1, algs[i].label);
                CHECK(at != NULL, "%s: no %s HA1 in notes", v->id, algs[i].label);
                if (!at)
                        continue;
                at += strlen(algs[i].label);
                size_t n = digest_alg_hex_len(algs[i].alg);
                CHECK(digest_ha1(hasher, algs[i].alg, v->real_user, cr->realm, v->password, ha1) ==
                          0,
                      "%s", v->id);
                CHECK(strncmp(ha1, at, n) == 0, "%s: %sHA1 differs", v->id, algs[i].label);
        }
        /* The file's own recomputed response over its placeholder inputs. */
        DigestSecret plain = {.kind = DIGEST_SECRET_PLAIN, .value = v->password};
        cr->response = jstr(o, "computed_response");
        DigestVerdict d = digest_verify(hasher, cr, v->method, NULL, 0, &plain);
        printf("  %-44s %-12s plain    -> %s (HA1-only vector, recomputed response)\n", v->id,
               sipauth_alg_name(v->alg), digest_verdict_name(d));
        CHECK_VERDICT(d, VERIFY_OK, v->id);
}

static int run_vectors(const char *corpora)
{
        char path[4096];
        unsigned n_pos = 0, n_neg = 0, n_ha1only = 0;
        char negatives[512] = "";

        snprintf(path, sizeof path, "%s/digest/digest_vectors.json", corpora);
        FILE *f = fopen(path, "re");
        if (!f) {
                printf("SKIP part 1: %s: %s\n", path, strerror(errno));
                return 77;
        }
        fclose(f);
        json_object *root = json_object_from_file(path);
        CHECK(root != NULL, "%s: not JSON", path);
        if (!root)
                return 1;
        json_object *vecs;
        CHECK(json_object_object_get_ex(root, "vectors", &vecs) &&
                  json_object_is_type(vecs, json_type_array),
              "no vectors array");
        size_t n = json_object_array_length(vecs);
        CHECK(n >= 40, "only %zu vectors", n);

        printf("Part 1: %zu vectors from %s\n", n, path);
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(vecs, i);
                Vec v = {
                    .id = jstr(o, "id"),
                    .real_user = jstr(o, "username"),
                    .password = jstr(o, "password"),
                    .method = jstr(o, "method"),
                    .body = jstr(o, "body"),
                    .alg = sipauth_alg_from_string(jstr(o, "algorithm")),
                };
                if (!v.id || !v.real_user || !v.password || !v.method) {
                        CHECK(false, "vector %zu lacks id/username/password/method", i);
                        continue;
                }
                v.body_len = v.body ? strlen(v.body) : 0;
                DigestAlg base = digest_alg_base(v.alg);
                CHECK(base != DIGEST_ALG_OTHER, "%s: algorithm %s", v.id, jstr(o, "algorithm"));

                SipCredentials cr = {
                    .digest = true,
                    .scheme = "Digest",
                    .username = v.real_user,
                    .realm = jstr(o, "realm"),
                    .nonce = jstr(o, "nonce"),
                    .uri = jstr(o, "uri"),
                    .algorithm = jstr(o, "algorithm"),
                    .alg = v.alg,
                    .qop = jstr(o, "qop"),
                    .qop_mask = qop_mask_of(jstr(o, "qop")),
                    .nc = jstr(o, "nc"),
                    .cnonce = jstr(o, "cnonce"),
                    .response = jstr(o, "expected_response"),
                    .opaque = jstr(o, "opaque"),
                    .userhash = jbool(o, "userhash"),
                };
                if (cr.userhash) {
                        /* On the wire the username is H(user:realm). */
                        char uh[DIGEST_HEX_MAX];
                        cr.username = jstr(o, "expected_username_hash");
                        CHECK(digest_userhash(hasher, base, v.real_user, cr.realm, uh) == 0, "%s",
                              v.id);
                        if (streq(jstr(o, "algorithm_for_hash"), sipauth_alg_name(base)))
                                CHECK(streq(uh, cr.username), "%s: userhash differs", v.id);
                        else
                                CHECK(!streq(uh, cr.username),
                                      "%s: FIPS userhash equals the truncated one", v.id);
                }
                CHECK(!jhas(o, "qop") || cr.qop_mask == QOP_AUTH || cr.qop_mask == QOP_AUTH_INT,
                      "%s: qop", v.id);

                const char *for_hash = jstr(o, "algorithm_for_hash");
                bool standard = streq(for_hash, sipauth_alg_name(base));
                bool recomputed = jbool(o, "verified_by_independent_recompute");
                bool hexresp = is_hex(cr.response, digest_alg_hex_len(base));

                if (!hexresp) {
                        n_ha1only++;
                        check_ha1_only(o, &v, &cr);
                } else if (recomputed && standard) {
                        n_pos++;
                        check_positive(o, &v, &cr);
                } else {
                        n_neg++;
                        check_negative(o, &v, &cr, !standard);
                        size_t used = strlen(negatives);
                        snprintf(negatives + used, sizeof negatives - used, "%s%s", used ? " " : "",
                                 v.id);
                }
        }
        printf("Part 1: %u must verify, %u must not, %u HA1-only\n", n_pos, n_neg, n_ha1only);
        /* The two errata of the file's "errata" list, nothing more. */
        CHECK(streq(negatives, "rfc2069-example-KNOWN-BAD rfc7616-3.9.2-SHA-512-256-as-published"),
              "negative vectors: %s", negatives);
        CHECK(n_pos + 3 == n, "%u positives of %zu", n_pos, n);
        json_object_put(root);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Part 2: hand-computed variants and UNSUPPORTED cases */

#define BODY                                                                                       \
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"              \
        "m=audio 4000 RTP/AVP 0\r\n"

typedef struct {
        const char *name;
        DigestAlg alg;
        const char *qop;
        const char *response;
} HandCase;

/* user alice, realm example.test, password "s3cret:pw", INVITE
 * sip:bob@example.test, nonce nonce-8f2a, nc 00000001, cnonce c-0a4f113b,
 * body BODY for auth-int (Python hashlib, see the top of the file). */
static const HandCase hand_cases[] = {
    {"MD5-sess auth", DIGEST_ALG_MD5_SESS, "auth", "cf2cf6783b3c39b866a3965dc70a7a38"},
    {"MD5-sess auth-int", DIGEST_ALG_MD5_SESS, "auth-int", "2b9d01e175186b5b2d563fbbfe4b2f6b"},
    {"MD5-sess no qop", DIGEST_ALG_MD5_SESS, NULL, "a27842bb5f723dd6e3b5507fa75d7d81"},
    {"SHA-256-sess auth-int", DIGEST_ALG_SHA256_SESS, "auth-int",
     "d5600fc20ec2bd8a105c6df40eb6943089ce67c780a0e79fc0fe439fc448048a"},
    {"SHA-512-256-sess auth", DIGEST_ALG_SHA512_256_SESS, "auth",
     "852f1f1f01b7056e03e5812c1083609abeda7d036babe8648aeb2f43042e470d"},
    {"SHA-512-256-sess auth-int", DIGEST_ALG_SHA512_256_SESS, "auth-int",
     "bc3a0499faab0c3dae0c96f82503e70bdff468b625bbe7ab4e8ad4c642a22a1e"},
};

static SipCredentials hand_cred(const HandCase *c)
{
        return (SipCredentials){
            .digest = true,
            .scheme = "Digest",
            .username = "alice",
            .realm = "example.test",
            .nonce = "nonce-8f2a",
            .uri = "sip:bob@example.test",
            .alg = c->alg,
            .qop = c->qop,
            .qop_mask = qop_mask_of(c->qop),
            .nc = c->qop ? "00000001" : NULL,
            .cnonce = "c-0a4f113b",
            .response = c->response,
        };
}

static void run_hand_cases(void)
{
        const DigestSecret pw = {.kind = DIGEST_SECRET_PLAIN, .value = "s3cret:pw"};
        const DigestSecret bad = {.kind = DIGEST_SECRET_PLAIN, .value = "s3cret:pW"};
        char what[160];

        printf("Part 2: hand-computed variants\n");
        for (size_t i = 0; i < sizeof hand_cases / sizeof hand_cases[0]; i++) {
                const HandCase *c = &hand_cases[i];
                SipCredentials cr = hand_cred(c);
                DigestVerdict d =
                    digest_verify(hasher, &cr, "INVITE", (const uint8_t *)BODY, strlen(BODY), &pw);
                printf("  %-44s -> %s\n", c->name, digest_verdict_name(d));
                CHECK_VERDICT(d, VERIFY_OK, c->name);
                snprintf(what, sizeof what, "%s wrong password", c->name);
                CHECK_VERDICT(
                    digest_verify(hasher, &cr, "INVITE", (const uint8_t *)BODY, strlen(BODY), &bad),
                    VERIFY_MISMATCH, what);
                /* The base HA1 stored as a secret answers the -sess variant. */
                char ha1[DIGEST_HEX_MAX];
                CHECK(digest_ha1(hasher, c->alg, "alice", "example.test", "s3cret:pw", ha1) == 0,
                      "%s", c->name);
                DigestSecret hs = {
                    .kind = DIGEST_SECRET_HA1, .ha1_alg = digest_alg_base(c->alg), .value = ha1};
                snprintf(what, sizeof what, "%s via HA1", c->name);
                CHECK_VERDICT(
                    digest_verify(hasher, &cr, "INVITE", (const uint8_t *)BODY, strlen(BODY), &hs),
                    VERIFY_OK, what);
                /* Another method changes HA2. */
                snprintf(what, sizeof what, "%s other method", c->name);
                CHECK_VERDICT(
                    digest_verify(hasher, &cr, "BYE", (const uint8_t *)BODY, strlen(BODY), &pw),
                    VERIFY_MISMATCH, what);
                /* -sess without cnonce cannot be computed. */
                cr.cnonce = NULL;
                snprintf(what, sizeof what, "%s without cnonce", c->name);
                CHECK_VERDICT(
                    digest_verify(hasher, &cr, "INVITE", (const uint8_t *)BODY, strlen(BODY), &pw),
                    VERIFY_UNSUPPORTED, what);
        }

        /* userhash=true with MD5 and SHA-256, REGISTER sip:example.test, nc
         * 00000002: userhash md5("alice:example.test") and
         * sha256("alice:example.test"), responses as above. */
        static const struct {
                DigestAlg alg;
                const char *userhash;
                const char *response;
        } uh[] = {
            {DIGEST_ALG_MD5, "e52c0758b5b884e4a9f7495fad0e14b2",
             "59979f4b4d0a6f00677852ed7f89f9ef"},
            {DIGEST_ALG_SHA256, "6b0970ed38946a15ad0a66d2bd15594f732409d35ec92a1a8518e6ed0bb70d83",
             "14febc5d2fbdff7352f48a971e725d390fcf4c6c064be29e256a176a80394150"},
        };
        for (size_t i = 0; i < sizeof uh / sizeof uh[0]; i++) {
                char hex[DIGEST_HEX_MAX];
                CHECK(digest_userhash(hasher, uh[i].alg, "alice", "example.test", hex) == 0, "uh");
                CHECK(streq(hex, uh[i].userhash), "userhash %s", sipauth_alg_name(uh[i].alg));
                SipCredentials cr = {
                    .digest = true,
                    .username = uh[i].userhash,
                    .realm = "example.test",
                    .nonce = "nonce-8f2a",
                    .uri = "sip:example.test",
                    .alg = uh[i].alg,
                    .qop = "auth",
                    .qop_mask = QOP_AUTH,
                    .nc = "00000002",
                    .cnonce = "c-0a4f113b",
                    .response = uh[i].response,
                    .userhash = true,
                };
                DigestSecret s = {
                    .kind = DIGEST_SECRET_PLAIN, .value = "s3cret:pw", .user = "alice"};
                DigestVerdict d = digest_verify(hasher, &cr, "REGISTER", NULL, 0, &s);
                snprintf(what, sizeof what, "userhash %s", sipauth_alg_name(uh[i].alg));
                printf("  %-44s -> %s\n", what, digest_verdict_name(d));
                CHECK_VERDICT(d, VERIFY_OK, what);
                s.user = "bob";
                CHECK_VERDICT(digest_verify(hasher, &cr, "REGISTER", NULL, 0, &s), VERIFY_MISMATCH,
                              "userhash of bob");

                /* The store finds alice by her hash, exact realm before "*". */
                static const char text[] = "alice * plain:wrong-one\n"
                                           "alice example.test plain:s3cret:pw\n"
                                           "bob example.test plain:s3cret:pw\n";
                CredStore *st = NULL;
                char err[256];
                CHECK(credstore_parse(text, strlen(text), &st, err, sizeof err) == 0, "%s", err);
                const CredEntry *e =
                    credstore_find_userhash(st, uh[i].userhash, "example.test", uh[i].alg);
                CHECK(e && credentry_line(e) == 2, "userhash lookup line %u", credentry_line(e));
                CHECK_VERDICT(credstore_verify(st, &cr, "REGISTER", NULL, 0), VERIFY_OK,
                              "store userhash");
                /* In another realm only the "*" entry matches its userhash. */
                e = credstore_find_userhash(st, uh[i].userhash, "other.test", uh[i].alg);
                CHECK(e == NULL, "userhash of example.test must not match in other.test");
                credstore_free(st);
        }

        /* sofia-test1-REGISTER-MISMATCH: the Proxy-Authorization in the
         * sofia-sip test carries this response, which does not match the
         * password (the vector's notes); the vector itself holds the right one. */
        SipCredentials s1 = {
            .digest = true,
            .username = "test1",
            .realm = "nokia-proxy",
            .nonce = "GjbLsrozHC6Lx95C57vGlw==",
            .uri = "sip:10.21.32.63",
            .alg = DIGEST_ALG_MD5,
            .response = "e86db25d96713482e35378504caaba6b",
        };
        const DigestSecret t1 = {.kind = DIGEST_SECRET_PLAIN, .value = "test1"};
        CHECK_VERDICT(digest_verify(hasher, &s1, "REGISTER", NULL, 0, &t1), VERIFY_MISMATCH,
                      "sofia test1 header response");
        s1.response = "db41913e8964dde69a1519739f35a302";
        CHECK_VERDICT(digest_verify(hasher, &s1, "REGISTER", NULL, 0, &t1), VERIFY_OK,
                      "sofia test1 recomputed response");

        /* UNSUPPORTED: what cannot be verified is never called a mismatch. */
        SipCredentials base = s1;
        SipCredentials c;
        printf("Part 2: cases that cannot be verified\n");

        c = base;
        c.alg = DIGEST_ALG_OTHER;
        c.algorithm = "AKAv1-MD5";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "AKAv1-MD5");
        c = base;
        c.digest = false;
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "not Digest");
        const char **fields[] = {&c.username, &c.realm, &c.nonce, &c.uri, &c.response};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
                c = base;
                *fields[i] = NULL;
                CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1),
                              VERIFY_UNSUPPORTED, "missing field");
        }
        c = base;
        CHECK_VERDICT(digest_verify(hasher, &c, NULL, NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "no method");
        c = base;
        c.nonce = "";
        c.response = "";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "empty nonce and response (first attempt)");
        c = base;
        c.qop = "auth";
        c.qop_mask = QOP_AUTH;
        c.cnonce = "abc";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "qop without nc");
        c.nc = "00000001";
        c.cnonce = NULL;
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "qop without cnonce");
        c.cnonce = "abc";
        c.qop = "auth-conf";
        c.qop_mask = QOP_OTHER;
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_UNSUPPORTED,
                      "qop auth-conf");
        c = base;
        const DigestSecret badha1 = {
            .kind = DIGEST_SECRET_HA1, .ha1_alg = DIGEST_ALG_MD5, .value = "not-hex"};
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &badha1), VERIFY_UNSUPPORTED,
                      "malformed HA1 secret");
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, NULL), VERIFY_UNSUPPORTED,
                      "no secret");
        c.response = "db41913e8964dde69a1519739f35a30";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_MISMATCH,
                      "response one digit short");
        c.response = "db41913e8964dde69a1519739f35a302db41913e8964dde69a1519739f35a302";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_MISMATCH,
                      "MD5 answered with a SHA-256-long response");
        c.response = "db41913e8964dde69a1519739f35a30g";
        CHECK_VERDICT(digest_verify(hasher, &c, "REGISTER", NULL, 0, &t1), VERIFY_MISMATCH,
                      "response not hex");

        /* The building blocks refuse what they cannot compute. */
        char out[DIGEST_HEX_MAX];
        CHECK(digest_hash_hex(hasher, DIGEST_ALG_OTHER, "x", 1, out) == -ENOTSUP && !out[0],
              "hash OTHER");
        CHECK(digest_ha2(hasher, DIGEST_ALG_MD5, "A", "b", QOP_OTHER, NULL, 0, out) == -ENOTSUP,
              "ha2 qop other");
        CHECK(digest_ha1(hasher, DIGEST_ALG_MD5, NULL, "r", "p", out) == -EINVAL, "ha1 NULL");
        CHECK(digest_hash_hex(hasher, DIGEST_ALG_MD5, "", 0, out) == 0 &&
                  streq(out, "d41d8cd98f00b204e9800998ecf8427e"),
              "md5 of nothing: %s", out);
        CHECK(digest_hash_hex(hasher, DIGEST_ALG_SHA512_256_SESS, "abc", 3, out) == 0 &&
                  streq(out, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"),
              "FIPS 180-4 SHA-512/256(\"abc\"): %s", out);
        CHECK(digest_alg_hex_len(DIGEST_ALG_OTHER) == 0, "hex len");
        CHECK(!digest_alg_is_sess(DIGEST_ALG_SHA256) && digest_alg_is_sess(DIGEST_ALG_MD5_SESS),
              "is_sess");
        CHECK(digest_hasher_free(NULL) == NULL, "free NULL");
}

int main(int argc, char **argv)
{
        int part1;

        hasher = digest_hasher_new();
        if (!hasher) {
                fprintf(stderr, "FAIL: digest_hasher_new\n");
                return 1;
        }
        part1 = argc > 1 ? run_vectors(argv[1]) : 77;
        if (argc <= 1)
                printf("SKIP part 1: no corpora directory given\n");
        run_hand_cases();
        hasher = digest_hasher_free(hasher);

        if (check_exit("digest"))
                return 1;
        return part1 == 77 ? 77 : 0;
}

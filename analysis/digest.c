/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Digest computation over OpenSSL EVP. Inputs are hashed piece by piece
 * ("user", ":", "realm", ...) so that no concatenation buffer ever holds a
 * password; the fixed-size hex buffers that hold HA1 values are wiped with
 * OPENSSL_cleanse() before return.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "digest.h"

enum { MD_MD5, MD_SHA256, MD_SHA512_256, MD__MAX };

/* OpenSSL fetch names; "SHA512-256" is FIPS 180-4 SHA-512/256. */
static const char *const md_fetch_names[MD__MAX] = {"MD5", "SHA256", "SHA512-256"};

struct DigestHasher {
        EVP_MD *md[MD__MAX]; /* NULL when this OpenSSL build lacks it */
        EVP_MD_CTX *ctx;     /* reused for every hash */
};

DigestHasher *digest_hasher_new(void)
{
        DigestHasher *h = calloc(1, sizeof *h);

        if (!h)
                return NULL;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx) {
                free(h);
                return NULL;
        }
        for (size_t i = 0; i < MD__MAX; i++)
                h->md[i] = EVP_MD_fetch(NULL, md_fetch_names[i], NULL);
        /* A missing algorithm is reported per verification, not as an
         * error here; do not leave the fetch failure on the error queue. */
        ERR_clear_error();
        return h;
}

DigestHasher *digest_hasher_free(DigestHasher *h)
{
        if (!h)
                return NULL;
        EVP_MD_CTX_free(h->ctx);
        for (size_t i = 0; i < MD__MAX; i++)
                EVP_MD_free(h->md[i]);
        free(h);
        return NULL;
}

DigestAlg digest_alg_base(DigestAlg a)
{
        switch (a) {
        case DIGEST_ALG_MD5:
        case DIGEST_ALG_MD5_SESS:
                return DIGEST_ALG_MD5;
        case DIGEST_ALG_SHA256:
        case DIGEST_ALG_SHA256_SESS:
                return DIGEST_ALG_SHA256;
        case DIGEST_ALG_SHA512_256:
        case DIGEST_ALG_SHA512_256_SESS:
                return DIGEST_ALG_SHA512_256;
        default:
                return DIGEST_ALG_OTHER;
        }
}

bool digest_alg_is_sess(DigestAlg a)
{
        return a == DIGEST_ALG_MD5_SESS || a == DIGEST_ALG_SHA256_SESS ||
               a == DIGEST_ALG_SHA512_256_SESS;
}

size_t digest_alg_hex_len(DigestAlg a)
{
        switch (digest_alg_base(a)) {
        case DIGEST_ALG_MD5:
                return 32;
        case DIGEST_ALG_SHA256:
        case DIGEST_ALG_SHA512_256:
                return 64;
        default:
                return 0;
        }
}

static const EVP_MD *md_for(const DigestHasher *h, DigestAlg a)
{
        switch (digest_alg_base(a)) {
        case DIGEST_ALG_MD5:
                return h->md[MD_MD5];
        case DIGEST_ALG_SHA256:
                return h->md[MD_SHA256];
        case DIGEST_ALG_SHA512_256:
                return h->md[MD_SHA512_256];
        default:
                return NULL;
        }
}

typedef struct {
        const void *p;
        size_t n;
} Part;

#define PART_STR(s) ((Part){(s), strlen(s)})
#define PART_COLON  ((Part){":", 1})

/* H(parts[0] || parts[1] || ...) as lowercase hex. */
static int hash_parts(DigestHasher *h, DigestAlg alg, const Part *parts, size_t n,
                      char out[DIGEST_HEX_MAX])
{
        static const char hexdigits[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        const EVP_MD *type;
        int r = -EIO;

        out[0] = '\0';
        type = md_for(h, alg);
        if (!type)
                return -ENOTSUP;
        if (EVP_DigestInit_ex2(h->ctx, type, NULL) != 1)
                goto out;
        for (size_t i = 0; i < n; i++)
                if (parts[i].n > 0 && EVP_DigestUpdate(h->ctx, parts[i].p, parts[i].n) != 1)
                        goto out;
        if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1)
                goto out;
        if (mdlen == 0 || mdlen > DIGEST_MAX_SIZE)
                goto out;
        for (unsigned int i = 0; i < mdlen; i++) {
                out[2 * i] = hexdigits[md[i] >> 4];
                out[2 * i + 1] = hexdigits[md[i] & 0x0f];
        }
        out[2 * mdlen] = '\0';
        r = 0;
out:
        OPENSSL_cleanse(md, sizeof md);
        if (r < 0) {
                ERR_clear_error();
                out[0] = '\0';
        }
        return r;
}

/* Drop the context's state, which may derive from a password. */
static void hasher_wipe(DigestHasher *h)
{
        EVP_MD_CTX_reset(h->ctx);
}

int digest_hash_hex(DigestHasher *h, DigestAlg alg, const void *data, size_t len,
                    char out[DIGEST_HEX_MAX])
{
        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || (!data && len > 0))
                return -EINVAL;
        Part p = {data, len};
        return hash_parts(h, alg, &p, 1, out);
}

/* RFC 7616 §3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd. */
int digest_ha1(DigestHasher *h, DigestAlg alg, const char *user, const char *realm,
               const char *password, char out[DIGEST_HEX_MAX])
{
        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || !user || !realm || !password)
                return -EINVAL;
        Part p[] = {PART_STR(user), PART_COLON, PART_STR(realm), PART_COLON, PART_STR(password)};
        int r = hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
        hasher_wipe(h);
        return r;
}

/* RFC 7616 §3.4.2 / RFC 2617 §3.2.2.2: A1 for -sess = H(...) ":" nonce ":" cnonce. */
int digest_ha1_sess(DigestHasher *h, DigestAlg alg, const char *ha1, const char *nonce,
                    const char *cnonce, char out[DIGEST_HEX_MAX])
{
        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || !ha1 || !nonce || !cnonce)
                return -EINVAL;
        Part p[] = {PART_STR(ha1), PART_COLON, PART_STR(nonce), PART_COLON, PART_STR(cnonce)};
        int r = hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
        hasher_wipe(h);
        return r;
}

/* RFC 7616 §3.4.3: A2 = Method ":" request-uri [":" H(entity-body)]. */
int digest_ha2(DigestHasher *h, DigestAlg alg, const char *method, const char *uri,
               unsigned qop_mask, const uint8_t *body, size_t body_len, char out[DIGEST_HEX_MAX])
{
        char body_hash[DIGEST_HEX_MAX];
        int r;

        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || !method || !uri || (!body && body_len > 0))
                return -EINVAL;
        if (qop_mask == 0 || qop_mask == QOP_AUTH) {
                Part p[] = {PART_STR(method), PART_COLON, PART_STR(uri)};
                return hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
        }
        if (qop_mask != QOP_AUTH_INT)
                return -ENOTSUP;
        Part b = {body, body_len};
        r = hash_parts(h, alg, &b, 1, body_hash);
        if (r < 0)
                return r;
        Part p[] = {PART_STR(method), PART_COLON, PART_STR(uri), PART_COLON, PART_STR(body_hash)};
        return hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
}

/*
 * RFC 7616 §3.4.1: response = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":"
 * H(A2)), KD(s, d) = H(s ":" d); RFC 2069 §2.1.2 (no qop): KD(H(A1),
 * nonce ":" H(A2)).
 */
int digest_response(DigestHasher *h, DigestAlg alg, const char *ha1, const char *nonce,
                    const char *nc, const char *cnonce, const char *qop, const char *ha2,
                    char out[DIGEST_HEX_MAX])
{
        int r;

        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || !ha1 || !nonce || !ha2)
                return -EINVAL;
        if (!qop) {
                Part p[] = {PART_STR(ha1), PART_COLON, PART_STR(nonce), PART_COLON, PART_STR(ha2)};
                r = hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
        } else {
                if (!nc || !cnonce)
                        return -EINVAL;
                Part p[] = {PART_STR(ha1), PART_COLON, PART_STR(nonce),  PART_COLON,
                            PART_STR(nc),  PART_COLON, PART_STR(cnonce), PART_COLON,
                            PART_STR(qop), PART_COLON, PART_STR(ha2)};
                r = hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
        }
        hasher_wipe(h);
        return r;
}

/* RFC 7616 §3.4.4: username = H(unq(username) ":" unq(realm)). */
int digest_userhash(DigestHasher *h, DigestAlg alg, const char *user, const char *realm,
                    char out[DIGEST_HEX_MAX])
{
        if (!out)
                return -EINVAL;
        out[0] = '\0';
        if (!h || !user || !realm)
                return -EINVAL;
        Part p[] = {PART_STR(user), PART_COLON, PART_STR(realm)};
        return hash_parts(h, alg, p, sizeof p / sizeof p[0], out);
}

static int hex_lower(char c)
{
        if (c >= '0' && c <= '9')
                return c;
        if (c >= 'a' && c <= 'f')
                return c;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 'a';
        return -1;
}

/*
 * Copy hex of exactly want digits into out, lowercased. False when s is
 * longer, shorter or not hex. The length is not secret; the loop over the
 * digits does not stop early on a bad digit.
 */
static bool copy_hex(const char *s, size_t want, char out[DIGEST_HEX_MAX])
{
        bool ok = true;
        size_t i;

        out[0] = '\0';
        if (want == 0 || want >= DIGEST_HEX_MAX)
                return false;
        for (i = 0; i < want; i++) {
                if (s[i] == '\0')
                        return false;
                int c = hex_lower(s[i]);
                ok &= c >= 0;
                out[i] = c >= 0 ? (char)c : '0';
        }
        if (s[want] != '\0')
                return false;
        out[want] = '\0';
        return ok;
}

/* Lowercased, length-checked, constant-time comparison of two hex strings. */
static bool hex_equal(const char *computed, const char *sent, size_t hexlen)
{
        char buf[DIGEST_HEX_MAX];
        bool eq;

        if (!copy_hex(sent, hexlen, buf))
                return false;
        eq = CRYPTO_memcmp(buf, computed, hexlen) == 0;
        OPENSSL_cleanse(buf, sizeof buf);
        return eq;
}

/* RFC 7616 §3.4 / RFC 3261 §22.4: recompute the request-digest and compare. */
DigestVerdict digest_verify(DigestHasher *h, const SipCredentials *cred, const char *method,
                            const uint8_t *body, size_t body_len, const DigestSecret *secret)
{
        char ha1[DIGEST_HEX_MAX], ha1s[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX];
        char want[DIGEST_HEX_MAX];
        DigestVerdict v = VERIFY_UNSUPPORTED;
        const char *user;
        const char *qop;
        DigestAlg base;
        size_t hexlen;

        ha1[0] = ha1s[0] = ha2[0] = want[0] = '\0';
        if (!h || !cred || !secret || !secret->value || !method)
                return VERIFY_UNSUPPORTED;
        if (!cred->digest)
                return VERIFY_UNSUPPORTED;
        base = digest_alg_base(cred->alg);
        hexlen = digest_alg_hex_len(base);
        if (base == DIGEST_ALG_OTHER || hexlen == 0 || !md_for(h, base))
                return VERIFY_UNSUPPORTED;
        /* An empty nonce/response is a client's first, credential-less
         * attempt (doubango, some IMS stacks): nothing to verify. */
        if (!cred->username || !cred->realm || !cred->nonce || !cred->uri || !cred->response ||
            !cred->nonce[0] || !cred->response[0])
                return VERIFY_UNSUPPORTED;
        if (body_len > 0 && !body)
                return VERIFY_UNSUPPORTED;

        qop = cred->qop;
        if (qop) {
                if (cred->qop_mask != QOP_AUTH && cred->qop_mask != QOP_AUTH_INT)
                        return VERIFY_UNSUPPORTED;
                if (!cred->nc || !cred->cnonce)
                        return VERIFY_UNSUPPORTED;
        }
        if (digest_alg_is_sess(cred->alg) && !cred->cnonce)
                return VERIFY_UNSUPPORTED;

        /* RFC 7616 §3.4.4: with userhash the username on the wire is
         * H(user:realm); the real name comes with the secret. */
        user = cred->username;
        if (cred->userhash) {
                if (!secret->user)
                        return VERIFY_UNSUPPORTED;
                if (digest_userhash(h, base, secret->user, cred->realm, want) < 0)
                        goto out;
                if (!hex_equal(want, cred->username, hexlen)) {
                        v = VERIFY_MISMATCH;
                        goto out;
                }
                user = secret->user;
        }

        if (secret->kind == DIGEST_SECRET_PLAIN) {
                if (digest_ha1(h, base, user, cred->realm, secret->value, ha1) < 0)
                        goto out;
        } else if (secret->kind == DIGEST_SECRET_HA1) {
                /* An HA1 is bound to one hash: it cannot answer another. */
                if (digest_alg_base(secret->ha1_alg) != base ||
                    !copy_hex(secret->value, hexlen, ha1))
                        goto out;
        } else {
                goto out;
        }

        if (digest_alg_is_sess(cred->alg)) {
                if (digest_ha1_sess(h, base, ha1, cred->nonce, cred->cnonce, ha1s) < 0)
                        goto out;
                memcpy(ha1, ha1s, sizeof ha1);
        }
        if (digest_ha2(h, base, method, cred->uri, qop ? cred->qop_mask : 0, body, body_len, ha2) <
            0)
                goto out;
        if (digest_response(h, base, ha1, cred->nonce, cred->nc, cred->cnonce, qop, ha2, want) < 0)
                goto out;
        v = hex_equal(want, cred->response, hexlen) ? VERIFY_OK : VERIFY_MISMATCH;
out:
        OPENSSL_cleanse(ha1, sizeof ha1);
        OPENSSL_cleanse(ha1s, sizeof ha1s);
        OPENSSL_cleanse(want, sizeof want);
        hasher_wipe(h);
        return v;
}

const char *digest_verdict_name(DigestVerdict v)
{
        switch (v) {
        case VERIFY_OK:
                return "ok";
        case VERIFY_MISMATCH:
                return "mismatch";
        case VERIFY_UNSUPPORTED:
                return "unsupported";
        case VERIFY_NO_SECRET:
                return "no-secret";
        default:
                return "?";
        }
}

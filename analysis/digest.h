/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP/SIP digest computation and verification (RFC 2617 §3.2.2, RFC 7616
 * §3.4, RFC 3261 §22.4, RFC 8760) over OpenSSL EVP.
 *
 *   HA1      = H(username ":" realm ":" password)
 *   HA1-sess = H(HA1 ":" nonce ":" cnonce)                    (*-sess)
 *   HA2      = H(method ":" uri)                               (qop absent, auth)
 *            = H(method ":" uri ":" H(body))                   (auth-int)
 *   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *            = H(HA1 ":" nonce ":" HA2)                        (qop absent, RFC 2069)
 *   userhash = H(username ":" realm)                           (RFC 7616 §3.4.4)
 *
 * Every hash is written as lowercase hex. H is MD5, SHA-256 or SHA-512/256
 * (FIPS 180-4; not SHA-512 truncated, see RFC 7616 Errata 4897).
 *
 * A DigestHasher holds the fetched algorithms and one reusable context, so a
 * verification makes no heap allocation of its own. It is not thread-safe:
 * one per thread. No I/O, no globals; buffers that held secret-derived
 * bytes are wiped before return.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipmsg.h"

/* Largest digest (SHA-256, SHA-512/256), in bytes; hex buffers need 2x + 1. */
#define DIGEST_MAX_SIZE 32
#define DIGEST_HEX_MAX  (2 * DIGEST_MAX_SIZE + 1)

typedef enum {
        VERIFY_OK = 0,      /* the response matches the secret */
        VERIFY_MISMATCH,    /* it does not: wrong password, or the userhash names another user */
        VERIFY_UNSUPPORTED, /* cannot tell: unknown algorithm or qop, missing fields, or
                               an HA1 stored for another algorithm than the response uses */
        VERIFY_NO_SECRET,   /* credstore: no entry for this user and realm */
        VERIFY__MAX
} DigestVerdict;

typedef enum {
        DIGEST_SECRET_PLAIN = 0, /* value is the password */
        DIGEST_SECRET_HA1,       /* value is H(user:realm:password) as hex, for ha1_alg */
} DigestSecretKind;

typedef struct {
        DigestSecretKind kind;
        DigestAlg ha1_alg; /* HA1 only: DIGEST_ALG_MD5, _SHA256 or _SHA512_256 */
        const char *value; /* NUL-terminated password or HA1 hex */
        /* The account's real username. Needed with userhash=true, where the
         * response carries H(user:realm) instead; the hash is then checked
         * against it. NULL otherwise: the response's username is used. */
        const char *user;
} DigestSecret;

typedef struct DigestHasher DigestHasher;

/* NULL on allocation failure. An algorithm the OpenSSL build lacks (MD5
 * under a FIPS-only configuration) verifies as VERIFY_UNSUPPORTED. */
DigestHasher *digest_hasher_new(void);
DigestHasher *digest_hasher_free(DigestHasher *h);

/* MD5_SESS -> MD5, SHA256_SESS -> SHA256, ...; OTHER stays OTHER. */
DigestAlg digest_alg_base(DigestAlg a);
bool digest_alg_is_sess(DigestAlg a);
/* Hex digits of one hash of this algorithm: 32 or 64; 0 for OTHER. */
size_t digest_alg_hex_len(DigestAlg a);

/*
 * The building blocks. Each writes NUL-terminated lowercase hex into out
 * (DIGEST_HEX_MAX bytes) and returns 0, or a negative errno: -EINVAL for a
 * NULL argument, -ENOTSUP for an algorithm that cannot be computed here
 * (DIGEST_ALG_OTHER, or missing from the OpenSSL build), -EIO when OpenSSL
 * fails. On failure out holds an empty string. A -sess alg given to
 * digest_hash_hex, digest_ha1, digest_ha2, digest_userhash or
 * digest_response means its base hash.
 */
int digest_hash_hex(DigestHasher *h, DigestAlg alg, const void *data, size_t len,
                    char out[DIGEST_HEX_MAX]);
int digest_ha1(DigestHasher *h, DigestAlg alg, const char *user, const char *realm,
               const char *password, char out[DIGEST_HEX_MAX]);
/* RFC 7616 §3.4.2: H(ha1 ":" nonce ":" cnonce); ha1 is hex of the base hash. */
int digest_ha1_sess(DigestHasher *h, DigestAlg alg, const char *ha1, const char *nonce,
                    const char *cnonce, char out[DIGEST_HEX_MAX]);
/* qop_mask: 0 or QOP_AUTH -> H(method:uri); QOP_AUTH_INT -> with H(body);
 * anything else -> -ENOTSUP. body may be NULL when body_len is 0. */
int digest_ha2(DigestHasher *h, DigestAlg alg, const char *method, const char *uri,
               unsigned qop_mask, const uint8_t *body, size_t body_len, char out[DIGEST_HEX_MAX]);
/* qop NULL: RFC 2069 form H(ha1:nonce:ha2), nc and cnonce ignored. Otherwise
 * nc, cnonce and qop are hashed exactly as given (nc is the raw string). */
int digest_response(DigestHasher *h, DigestAlg alg, const char *ha1, const char *nonce,
                    const char *nc, const char *cnonce, const char *qop, const char *ha2,
                    char out[DIGEST_HEX_MAX]);
/* RFC 7616 §3.4.4: H(user ":" realm). */
int digest_userhash(DigestHasher *h, DigestAlg alg, const char *user, const char *realm,
                    char out[DIGEST_HEX_MAX]);

/*
 * Recompute cred's response from the secret and compare it, in constant
 * time and ignoring hex case, with the one sent. method is the request
 * method; body/body_len the message body (used for qop=auth-int only; NULL
 * and 0 mean an empty body). The realm and nonce are those of the
 * response. Returns VERIFY_OK, VERIFY_MISMATCH or VERIFY_UNSUPPORTED (not
 * Digest, algorithm OTHER, a qop other than auth/auth-int, a missing
 * username/realm/nonce/uri/response/method, nc or cnonce missing with qop,
 * cnonce missing with -sess, an HA1 secret whose algorithm differs from the
 * response's base algorithm, userhash=true without secret->user). A response
 * that is not hex of the right length is VERIFY_MISMATCH.
 */
DigestVerdict digest_verify(DigestHasher *h, const SipCredentials *cred, const char *method,
                            const uint8_t *body, size_t body_len, const DigestSecret *secret);

/* "ok", "mismatch", "unsupported", "no-secret". */
const char *digest_verdict_name(DigestVerdict v);

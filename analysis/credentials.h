/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The credentials store: secrets used to verify digest responses (see
 * sipauthmon-credentials(5)). One entry per line:
 *
 *   USER REALM SECRET        # SECRET = plain:PASSWORD | md5:HA1 |
 *                            #          sha-256:HA1 | sha-512-256:HA1
 *
 * REALM "*" matches any realm (plain: secrets only: an HA1 is bound to its
 * realm). The parser takes a text buffer; reading the file and checking its
 * mode is the daemon's job (daemon/credentials_file.h), with the mode rule
 * here so that it can be tested. No I/O, no globals.
 *
 * A store keeps its own copy of the text and wipes it when freed. It owns a
 * DigestHasher, so verification and userhash lookups need a non-const store
 * and one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "sipmsg.h"

#define CRED_MAX_BYTES   (16u * 1024 * 1024) /* whole file */
#define CRED_MAX_LINE    4096u               /* bytes of one line, without the newline */
#define CRED_MAX_ENTRIES 100000u

typedef struct CredStore CredStore;
typedef struct CredEntry CredEntry;

/*
 * Parse len bytes of text (need not be NUL-terminated). Returns 0 and sets
 * *out, or a negative errno and leaves *out untouched: -EINVAL for a
 * malformed line, a duplicate or too many entries, -EFBIG when len exceeds
 * CRED_MAX_BYTES, -ENOMEM. On failure err (if errlen > 0) gets one line
 * naming the line number, e.g. "line 7: unknown secret type 'sha1'". An
 * empty text (or only comments) gives an empty store.
 */
int credstore_parse(const char *text, size_t len, CredStore **out, char *err, size_t errlen);
CredStore *credstore_free(CredStore *s); /* wipes the secrets */

size_t credstore_count(const CredStore *s);

/*
 * The file-mode rule: 0 when st describes a regular file that neither group
 * nor others may access (mode & 0077 == 0); -EPERM otherwise (-EINVAL when not
 * a regular file), with err naming `name`, its mode and the fix
 * ("chmod 600 NAME"). name is printed as given: escape it first.
 */
int credstore_check_stat(const struct stat *st, const char *name, char *err, size_t errlen);

/* The entry for user in realm: an exact realm first, then realm "*". */
const CredEntry *credstore_find(const CredStore *s, const char *user, const char *realm);

/*
 * For userhash=true (RFC 7616 §3.4.4): the entry whose H(user:realm), with
 * alg's hash, equals userhash_hex (any hex case); realm is the response's
 * realm, and an exact-realm entry wins over a "*" one. The first lookup
 * per hash algorithm hashes every entry once into a sorted index (about
 * 20 ms for 100000 entries); later ones cost a binary search plus one hash
 * per "*" entry.
 */
const CredEntry *credstore_find_userhash(CredStore *s, const char *userhash_hex, const char *realm,
                                         DigestAlg alg);

const char *credentry_user(const CredEntry *e);
const char *credentry_realm(const CredEntry *e); /* "*" for any realm */
unsigned credentry_line(const CredEntry *e);     /* 1-based line in the text */
/* "plain", "md5", "sha-256" or "sha-512-256": never the secret itself. */
const char *credentry_secret_type(const CredEntry *e);

/* Verify cred against this entry's secret (see digest_verify()). */
DigestVerdict credstore_verify_entry(CredStore *s, const CredEntry *e, const SipCredentials *cred,
                                     const char *method, const uint8_t *body, size_t body_len);

/*
 * Look the response's user up (by userhash when cred->userhash) in its
 * realm and verify it: VERIFY_NO_SECRET when no entry fits, VERIFY_UNSUPPORTED
 * when it is not a Digest response this module can compute (AKAv1-MD5, ...),
 * else as digest_verify().
 */
DigestVerdict credstore_verify(CredStore *s, const SipCredentials *cred, const char *method,
                               const uint8_t *body, size_t body_len);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keys of the tracker's tables, built field by field, and their hashes.
 *
 * Every key starts with the world of the message (Tracker.world): traffic
 * that unauthenticated HEP reports lives apart from what the wire showed.
 * A message needs up to six lookups in tables far larger than the cache;
 * hashing every key first and prefetching (bucket, then slot) lets their
 * misses overlap instead of being waited for one after the other (HKey).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lru.h"
#include "../parser/endpoint.h"
#include "../parser/sipmsg.h"

#define KEY_MAX  200
#define KEY_NONE UINT16_MAX /* an HKey that holds no key yet */

typedef struct {
        uint8_t buf[KEY_MAX];
        uint16_t len;
} Key;

/* A key with its hash for one table, computed once. */
typedef struct {
        Key k;
        uint64_t h;
} HKey;

static inline void key_init(Key *k, uint8_t world)
{
        k->buf[0] = world;
        k->len = 1;
}

static inline void key_add(Key *k, const void *data, size_t n)
{
        size_t room = KEY_MAX - k->len;

        if (n + 1 > room)
                n = room > 0 ? room - 1 : 0;
        memcpy(k->buf + k->len, data, n);
        k->len = (uint16_t)(k->len + n);
        if (k->len < KEY_MAX)
                k->buf[k->len++] = 0; /* field separator */
}

static inline void key_add_str(Key *k, const char *s)
{
        key_add(k, s ? s : "", s ? strlen(s) : 0);
}

static inline void key_add_addr(Key *k, const Endpoint *e)
{
        key_add(k, &e->family, 1);
        key_add(k, e->addr, e->family == 6 ? 16 : 4);
}

static inline bool key_same(const Key *a, const Key *b)
{
        return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* ---- one builder per table -------------------------------------------- */

/* RFC 3261 §17.1.3: branch + CSeq method; ACK to a non-2xx joins the INVITE.
 * RFC 2543 peers (no magic cookie) fall back to Call-ID + CSeq + From tag. */
static inline void txn_key(Key *k, uint8_t world, const SipMsg *m)
{
        const char *method = m->cseq_method;

        if (method && strcasecmp(method, "ACK") == 0)
                method = "INVITE";
        key_init(k, world);
        if (m->via_branch && strncmp(m->via_branch, "z9hG4bK", 7) == 0) {
                key_add_str(k, m->via_branch);
        } else {
                char digits[10];
                size_t n = 0;
                uint32_t v = m->cseq;
                /* Decimal, as "%u" wrote it: the key must not depend on how it is built. */
                do {
                        digits[sizeof digits - ++n] = (char)('0' + v % 10);
                        v /= 10;
                } while (v && n < sizeof digits);
                key_add_str(k, m->call_id);
                key_add(k, digits + sizeof digits - n, n);
                key_add_str(k, m->from_tag);
        }
        key_add_str(k, method);
}

static inline void chain_key(Key *k, uint8_t world, const SipMsg *m)
{
        key_init(k, world);
        key_add_str(k, m->call_id);
        key_add_str(k, m->from_tag);
}

/* A challenge is the server's: a phone registered with two servers (two
 * accounts, or a primary and a backup) gets challenges from both at once, and
 * answering one with the other's realm in mind would be a false anomaly that
 * the server is then "seen" to accept. Addresses without ports, as for nonces. */
static inline void client_key(Key *k, uint8_t world, const char *from_user, const Endpoint *client,
                              const Endpoint *server)
{
        key_init(k, world);
        key_add_str(k, from_user);
        key_add_addr(k, client);
        key_add_addr(k, server);
}

/* A nonce is the server's: nodes of a cluster that share a secret can mint
 * the same string (Kamailio does within one second), each for its own
 * algorithm, so the key includes the issuing server's address. */
static inline void nonce_key(Key *k, uint8_t world, const Endpoint *server, const char *nonce)
{
        key_init(k, world);
        key_add_addr(k, server);
        key_add_str(k, nonce);
}

static inline void principal_key(Key *k, uint8_t world, const char *user, const char *realm,
                                 const Endpoint *addr)
{
        key_init(k, world);
        key_add_str(k, user);
        key_add_str(k, realm);
        key_add_addr(k, addr);
}

/* Key of a per-address table (servers, sources): the address without its port. */
static inline void addr_key(Key *k, uint8_t world, const Endpoint *e)
{
        key_init(k, world);
        key_add_addr(k, e);
}

/* ---- hashes and lookups ----------------------------------------------- */

static inline void hkey_hash(HKey *hk, const LruMap *m)
{
        hk->h = lru_key_hash(m, hk->k.buf, hk->k.len);
        lru_prefetch(m, hk->h);
}

/* hk now holds a key built for the same table; rehash only if it changed. */
static inline void hkey_update(HKey *hk, const Key *k, const LruMap *m)
{
        if (key_same(k, &hk->k))
                return;
        hk->k = *k;
        hk->h = lru_key_hash(m, k->buf, k->len);
}

/* The hash of k for m: the hint's when it holds the same key. */
static inline uint64_t hint_hash(const HKey *hint, const Key *k, const LruMap *m)
{
        if (key_same(k, &hint->k))
                return hint->h;
        return lru_key_hash(m, k->buf, k->len);
}

static inline void *table_find(LruMap *m, const Key *k, int64_t now)
{
        return lru_find(m, k->buf, k->len, now);
}

/* Find or create (zeroed); NULL only on allocation failure. */
static inline void *table_get(LruMap *m, const Key *k, int64_t now, bool *created)
{
        return lru_get(m, k->buf, k->len, now, created);
}

static inline void *table_find_h(LruMap *m, const HKey *hk, int64_t now)
{
        return lru_find_h(m, hk->h, hk->k.buf, hk->k.len, now);
}

static inline void *table_get_h(LruMap *m, const HKey *hk, int64_t now, bool *created)
{
        return lru_get_h(m, hk->h, hk->k.buf, hk->k.len, now, created);
}

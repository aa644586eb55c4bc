/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bounded hash table with least-recently-used order. Entries embed LruNode
 * as their first member and are owned by the table: when it is full, inserting
 * evicts the least recently used entry, and expiry frees from the old end.
 * The hash is keyed (seeded) so that chosen keys cannot force long chains.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct LruNode {
        struct LruNode *hnext;       /* bucket chain */
        struct LruNode *prev, *next; /* LRU list; head.next = most recent */
        uint64_t hash;
        int64_t last_us; /* last touch, packet time */
} LruNode;

typedef void (*LruFreeFn)(LruNode *n, void *userdata);
/* Optional: true when an entry near the old end deserves to be passed over for eviction. */
typedef bool (*LruKeepFn)(const LruNode *n);

/* How many entries from the old end eviction looks at for one not to keep. */
#define LRU_VICTIM_SCAN 8

typedef struct {
        LruNode **buckets;
        size_t nbuckets; /* power of two */
        size_t count;
        size_t max;
        LruNode head; /* sentinel of the LRU list */
        uint64_t seed;
        uint64_t evictions;
        uint64_t expirations;
        LruFreeFn free_fn;
        LruKeepFn keep_fn;
        void *userdata;
} LruMap;

/* max >= 1. Returns false on allocation failure. */
bool lru_init(LruMap *m, size_t max, uint64_t seed, LruFreeFn free_fn, void *userdata);
void lru_done(LruMap *m);

/* Keyed hash of a byte string; combine several fields with lru_hash_more. */
uint64_t lru_hash(const LruMap *m, const void *data, size_t n);
uint64_t lru_hash_more(uint64_t h, const void *data, size_t n);

/*
 * Find an entry: eq(node, key) decides equality among nodes of the same hash.
 * A found entry is moved to the recent end and stamped with now_us.
 */
LruNode *lru_find(LruMap *m, uint64_t hash, bool (*eq)(const LruNode *n, const void *key),
                  const void *key, int64_t now_us);

/*
 * Insert a node the caller allocated (not yet in the table); evicts the least
 * recently used entry first when the table is full.
 */
void lru_insert(LruMap *m, LruNode *n, uint64_t hash, int64_t now_us);

/* Remove a node and free it through free_fn. */
void lru_remove(LruMap *m, LruNode *n);

/* Change the limit; when lowered, evicts down to it at once (counted as evictions). */
void lru_set_max(LruMap *m, size_t max);

/* Free every entry not touched since before cutoff_us. */
void lru_expire(LruMap *m, int64_t cutoff_us);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bounded hash table with least-recently-used order. The table owns its
 * entries: they live in a pool of fixed-size slots (allocated in chunks,
 * optionally all committed up front; past the first 2 MiB the chunks come
 * from blocks marked for transparent huge pages) and the key is stored in
 * the slot just in front of the entry, so a lookup touches one bucket line
 * and one slot.
 * When the table is full, inserting reuses the least recently used entry's
 * slot; expiry frees from the old end. The hash is keyed (seeded) so that
 * chosen keys cannot force long probe sequences.
 *
 *   buckets (open addressing)   links (8 bytes/slot)   slots (pool, in chunks)
 *   [hash lo | slot+1] ------>  [prev|next] LRU  <-->  [hash|last_us|keylen|key...|entry]
 *
 * The LRU links live in their own compact array rather than in the slots:
 * moving an entry to the recent end on a hit then touches a few words of
 * an array that stays in cache, not the cold slots of its neighbours, and
 * the order stays exact (eviction and expiry are those of a true LRU).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called when an entry leaves the table (removed, evicted, expired, freed). */
typedef void (*LruFreeFn)(void *entry, void *userdata);
/* Optional: true when an entry near the old end deserves to be passed over for eviction. */
typedef bool (*LruKeepFn)(const void *entry);

/* How many entries from the old end eviction looks at for one not to keep. */
#define LRU_VICTIM_SCAN 8
/* Hard ceiling on a table's limit. */
#define LRU_MAX_LIMIT ((size_t)1 << 28)
/* preallocate commits a pool only up to this size; a larger one (limits far
 * above the defaults) grows as it fills, so that a large limit cannot make
 * start-up or a reload touch gigabytes. */
#define LRU_PREALLOC_MAX ((size_t)64 << 20)

typedef struct {
        size_t max;        /* limit, >= 1 */
        size_t entry_size; /* bytes of the caller's entry */
        /* Bytes at the start of a new entry that an insert zeroes (0: the
         * whole entry). The rest keeps what the slot's previous entry left
         * there (or malloc's): the caller writes it before reading it. */
        size_t zero_size;
        /* Bytes at the start of an entry an insert usually writes (0: the
         * whole entry): what is prefetched of the slot the next insert will
         * reuse. A large entry whose tail is written only when needed then
         * costs an insert the cache lines of its head alone. */
        size_t hot_size;
        size_t key_inline; /* key bytes stored in the slot; longer keys go out of line */
        uint64_t seed;     /* keys the hash */
        bool preallocate;  /* commit (allocate and touch) the whole pool up front */
        LruFreeFn free_fn; /* optional */
        LruKeepFn keep_fn; /* optional */
        void *userdata;    /* for free_fn */
} LruParams;

typedef struct {
        uint32_t hlo;  /* low 32 bits of the hash: home bucket and tag */
        uint32_t slot; /* slot index + 1; 0 = empty */
} LruBucket;

typedef struct {
        uint32_t prev, next; /* towards older / newer; LRU_NIL at the ends */
} LruLink;

#define LRU_NIL UINT32_MAX

typedef struct {
        /* pool */
        uint8_t **chunks;
        size_t nchunks;       /* chunks allocated */
        unsigned chunk_shift; /* slots per chunk = 1 << chunk_shift */
        size_t slot_size, entry_off, key_inline, entry_size;
        /* each <= entry_size (LruParams) */
        size_t zero_size, hot_size;
        size_t cap;         /* slots the pool may hold (>= max) */
        size_t used;        /* slots ever handed out: [0, used) */
        uint32_t free_list; /* recycled slots, linked through links[].next */
        LruLink *links;     /* cap entries */
        uint32_t newest, oldest;
        /* index */
        LruBucket *buckets;
        size_t nbuckets; /* power of two, >= 2 * cap */
        /* state */
        size_t count;
        size_t max;
        uint64_t seed;
        uint64_t evictions;
        uint64_t expirations;
        uint64_t long_keys; /* keys that did not fit in the slot (stored out of line) */
        bool preallocate;
        LruFreeFn free_fn;
        LruKeepFn keep_fn;
        void *userdata;
} LruMap;

/* Returns false on allocation failure (the map is then empty but safe to lru_done). */
bool lru_init(LruMap *m, const LruParams *p);
void lru_done(LruMap *m);

/* Keyed hash of a byte string (one 64x64->128 multiply per 8 bytes). */
uint64_t lru_hash(uint64_t seed, const void *data, size_t n);

/* Find an entry by key; a found entry becomes the most recent and is stamped with now_us. */
void *lru_find(LruMap *m, const void *key, size_t keylen, int64_t now_us);

/*
 * The same operations with the key's hash computed once by the caller
 * (lru_key_hash), so that a message that needs several lookups can start
 * every cache miss first and wait for them together:
 *
 *   h1 = lru_key_hash(a, k1, n1); h2 = lru_key_hash(b, k2, n2);
 *   lru_prefetch(a, h1); lru_prefetch(b, h2);            bucket lines
 *   lru_prefetch_slot(a, h1); lru_prefetch_slot(b, h2);  candidate slots
 *   e1 = lru_get_h(a, h1, k1, n1, ...); e2 = lru_find_h(b, h2, k2, n2, ...);
 *
 * Prefetching is only a hint: it changes no state and no result.
 */
uint64_t lru_key_hash(const LruMap *m, const void *key, size_t keylen);
void lru_prefetch(const LruMap *m, uint64_t hash);
/* Reads the home bucket (wait for lru_prefetch first) and prefetches the slot
 * of the first entry whose tag matches; with none, the slot an insert would reuse. */
void lru_prefetch_slot(const LruMap *m, uint64_t hash);
void *lru_find_h(LruMap *m, uint64_t hash, const void *key, size_t keylen, int64_t now_us);
void *lru_get_h(LruMap *m, uint64_t hash, const void *key, size_t keylen, int64_t now_us,
                bool *created);

/*
 * Find or insert: a new entry is zeroed (its first zero_size bytes, see
 * LruParams). When the table is full the least recently used entry (passing
 * over up to LRU_VICTIM_SCAN that keep_fn wants kept) is evicted and its slot
 * reused. NULL only on allocation failure.
 */
void *lru_get(LruMap *m, const void *key, size_t keylen, int64_t now_us, bool *created);

/* Remove an entry of this table (free_fn is called). */
void lru_remove(LruMap *m, void *entry);

/*
 * Change the limit; when lowered, evicts down to it at once (counted as
 * evictions). The pool is rebuilt to the new size (entries keep their order);
 * if that allocation fails the limit still applies, and a raised limit is
 * capped at what the pool holds: false then. Pointers to entries do not
 * survive this call.
 */
bool lru_set_max(LruMap *m, size_t max);

/* Free every entry not touched since before cutoff_us. */
void lru_expire(LruMap *m, int64_t cutoff_us);

/* Walk from the most recent entry to older ones; NULL at the end. */
void *lru_newest(const LruMap *m);
void *lru_older(const LruMap *m, const void *entry);
/* Packet time of an entry's last touch. */
int64_t lru_last_us(const LruMap *m, const void *entry);

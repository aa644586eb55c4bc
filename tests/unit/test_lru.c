/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bounded table: LRU order, eviction with keep_fn, expiry, limits, pool reuse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "check.h"

typedef struct {
        int id;
        bool keep;
        char *owned; /* freed by free_fn */
} Ent;

static int freed;

static void ent_free(void *e, void *userdata)
{
        (void)userdata;
        free(((Ent *)e)->owned);
        freed++;
}

static bool ent_keep(const void *e)
{
        return ((const Ent *)e)->keep;
}

static void init(LruMap *m, size_t max, bool prealloc, bool keep)
{
        LruParams p = {.max = max,
                       .entry_size = sizeof(Ent),
                       .key_inline = 16,
                       .seed = 42,
                       .preallocate = prealloc,
                       .free_fn = ent_free,
                       .keep_fn = keep ? ent_keep : NULL};
        freed = 0;
        if (!lru_init(m, &p)) {
                fprintf(stderr, "lru_init failed\n");
                exit(1);
        }
}

static Ent *put(LruMap *m, int id, int64_t now)
{
        char key[32];
        bool created;
        Ent *e;

        snprintf(key, sizeof key, "k%d", id);
        e = lru_get(m, key, strlen(key), now, &created);
        if (e && created) {
                CHECK(e->id == 0 && !e->keep && !e->owned, "new entry %d is zeroed", id);
                e->id = id;
                e->owned = malloc(8);
        }
        return e;
}

static Ent *find(LruMap *m, int id, int64_t now)
{
        char key[32];

        snprintf(key, sizeof key, "k%d", id);
        return lru_find(m, key, strlen(key), now);
}

/* Order from newest to oldest, as ids, into out; returns how many. */
static size_t order(const LruMap *m, int *out, size_t n)
{
        size_t i = 0;

        for (Ent *e = lru_newest(m); e && i < n; e = lru_older(m, e))
                out[i++] = e->id;
        return i;
}

static void test_lru_order(bool prealloc)
{
        LruMap m;
        int ids[8];

        init(&m, 4, prealloc, false);
        for (int i = 1; i <= 4; i++)
                put(&m, i, i);
        CHECK(find(&m, 1, 10) && find(&m, 1, 10)->id == 1, "1 found");
        /* order now: 1 4 3 2; inserting 5 evicts 2, the least recently used */
        put(&m, 5, 11);
        CHECK(!find(&m, 2, 12), "2 evicted");
        CHECK(m.evictions == 1 && m.count == 4 && freed == 1, "one eviction counted, freed: %d",
              freed);
        CHECK(order(&m, ids, 8) == 4 && ids[0] == 5 && ids[1] == 1 && ids[2] == 4 && ids[3] == 3,
              "order 5 1 4 3: %d %d %d %d", ids[0], ids[1], ids[2], ids[3]);
        /* a hit stamps the entry and makes it the most recent */
        find(&m, 3, 20);
        CHECK(lru_last_us(&m, find(&m, 3, 15)) == 20, "last_us does not go back");
        CHECK(order(&m, ids, 8) == 4 && ids[0] == 3 && ids[3] == 4, "3 newest, 4 oldest");
        put(&m, 6, 21);
        CHECK(!find(&m, 4, 22) && find(&m, 3, 22) && find(&m, 1, 22), "4 evicted next");
        lru_done(&m);
        CHECK(freed == 6, "done frees all: %d", freed);
}

static void test_keep(void)
{
        LruMap m;

        init(&m, 10, false, true);
        for (int i = 1; i <= 10; i++)
                put(&m, i, i)->keep = i <= 3;
        /* oldest three are to keep: the next insert evicts 4 instead */
        put(&m, 11, 20);
        CHECK(!find(&m, 4, 21), "4 evicted past the kept ones");
        CHECK(find(&m, 1, 21) && find(&m, 2, 21) && find(&m, 3, 21), "kept survive");
        lru_done(&m);

        /* when every candidate of the bounded scan is to keep, the oldest goes anyway */
        init(&m, LRU_VICTIM_SCAN + 2, false, true);
        for (int i = 1; i <= LRU_VICTIM_SCAN + 2; i++)
                put(&m, i, i)->keep = true;
        put(&m, 100, 50);
        CHECK(!find(&m, 1, 51) && find(&m, 2, 51), "scan bounded: the oldest is evicted");
        CHECK(m.evictions == 1, "counted");
        lru_done(&m);
}

static void test_expire(void)
{
        LruMap m;

        init(&m, 100, false, false);
        for (int i = 1; i <= 10; i++)
                put(&m, i, i * 100);
        find(&m, 2, 2000); /* touched late: survives */
        lru_expire(&m, 500);
        CHECK(m.count == 7 && m.expirations == 3, "expired 1,3,4: count %zu", m.count);
        CHECK(!find(&m, 1, 2001) && !find(&m, 3, 2001) && !find(&m, 4, 2001), "gone");
        lru_expire(&m, 1999);
        CHECK(m.count == 1 && find(&m, 2, 2002), "only the touched one stays: %zu", m.count);
        CHECK(freed == 9 && m.expirations == 9, "expiry frees: %d", freed);
        /* freed slots are reused: no growth beyond the limit */
        for (int i = 200; i < 400; i++)
                put(&m, i, 3000 + i);
        CHECK(m.count == 100 && m.used == 100, "pool reused: count %zu used %zu", m.count, m.used);
        lru_done(&m);
}

static void test_set_max(bool prealloc)
{
        LruMap m;
        int ids[8];

        init(&m, 50, prealloc, false);
        for (int i = 1; i <= 50; i++)
                put(&m, i, i);
        find(&m, 10, 100);
        CHECK(lru_set_max(&m, 5), "lowering succeeds");
        CHECK(m.count == 5 && m.evictions == 45 && freed == 45, "lowered: %zu left, %llu evicted",
              m.count, (unsigned long long)m.evictions);
        CHECK(order(&m, ids, 8) == 5 && ids[0] == 10 && ids[1] == 50 && ids[4] == 47,
              "order kept after rebuild: %d %d .. %d", ids[0], ids[1], ids[4]);
        CHECK(find(&m, 48, 101) && find(&m, 48, 101)->id == 48, "entries found after rebuild");
        put(&m, 60, 102);
        CHECK(m.count == 5 && !find(&m, 47, 103), "limit holds after shrink");
        CHECK(lru_set_max(&m, 1000) && m.max == 1000, "raising succeeds: max %zu", m.max);
        for (int i = 1000; i < 1900; i++)
                put(&m, i, i);
        CHECK(m.count == 905 && m.evictions == 46, "grown: %zu", m.count);
        lru_done(&m);
}

/* preallocate commits a pool only up to LRU_PREALLOC_MAX; a larger one grows as it fills. */
static void test_prealloc_budget(void)
{
        LruMap m;
        size_t big;

        init(&m, 1000, true, false);
        CHECK(m.nchunks > 0 && (m.nchunks << m.chunk_shift) >= 1000,
              "small pool committed at start: %zu chunks", m.nchunks);
        lru_done(&m);
        init(&m, 16, false, false);
        big = LRU_PREALLOC_MAX / m.slot_size + 1; /* one slot over the budget */
        lru_done(&m);
        init(&m, big, true, false);
        CHECK(m.nchunks == 0, "pool over the budget not committed: %zu chunks", m.nchunks);
        put(&m, 1, 1);
        CHECK(m.nchunks == 1 && find(&m, 1, 2), "it grows as it fills");
        lru_done(&m);
}

static void test_long_keys(void)
{
        LruMap m;
        char key[300];
        bool created;

        init(&m, 3, false, false);
        for (int i = 0; i < 5; i++) {
                memset(key, 'a' + i, sizeof key);
                Ent *e = lru_get(&m, key, 200 - i, i, &created);
                CHECK(e && created, "long key %d inserted", i);
                e->id = i;
        }
        memset(key, 'a' + 4, sizeof key);
        CHECK(lru_find(&m, key, 196, 9) && ((Ent *)lru_find(&m, key, 196, 9))->id == 4,
              "long key found");
        CHECK(!lru_find(&m, key, 195, 9), "length is part of the key");
        CHECK(m.long_keys == 5, "stored out of line");
        lru_done(&m);
}

/* Many keys, random removals and expiry against a shadow model. */
static void test_stress(void)
{
        enum { N = 3000, MAX = 700 };
        LruMap m;
        static int64_t last[N];
        size_t live = 0;

        init(&m, MAX, false, false);
        srand(7);
        for (int64_t t = 1; t < 200000; t++) {
                int id = rand() % N;
                if (rand() % 3) {
                        Ent *e = find(&m, id, t);
                        CHECK(!e || e->id == id, "found the right entry");
                        if (e)
                                last[id] = t;
                } else {
                        put(&m, id, t);
                        last[id] = t;
                }
                if (t % 5000 == 0)
                        lru_expire(&m, t - 3000);
        }
        for (int i = 0; i < N; i++) {
                Ent *e = find(&m, i, 300000);
                live += e != NULL;
                CHECK(!e || last[i] >= 200000 - 5000 - 3000, "expired entry %d still there", i);
        }
        CHECK(live == m.count && m.count <= MAX, "count consistent: %zu %zu", live, m.count);
        lru_done(&m);
}

/*
 * The hashed API (lru_key_hash, lru_prefetch, lru_prefetch_slot, lru_find_h,
 * lru_get_h) against the plain one: two tables with the same seed get the same
 * random operations, one through each API, the hashed one with prefetches of
 * present, absent and evicted keys in between. Every result, the LRU order,
 * the counters and the keep preference must stay identical.
 */
static void same_state(const LruMap *a, const LruMap *b, int64_t t)
{
        int ia[64], ib[64];
        size_t na = order(a, ia, 64), nb = order(b, ib, 64);

        CHECK(a->count == b->count && a->evictions == b->evictions &&
                  a->expirations == b->expirations,
              "t=%lld: counters %zu/%zu %llu/%llu %llu/%llu", (long long)t, a->count, b->count,
              (unsigned long long)a->evictions, (unsigned long long)b->evictions,
              (unsigned long long)a->expirations, (unsigned long long)b->expirations);
        CHECK(na == nb && memcmp(ia, ib, na * sizeof *ia) == 0, "t=%lld: same LRU order",
              (long long)t);
}

static void test_hashed_api(bool keep)
{
        enum { N = 200, MAX = 48 };
        LruMap a, b;
        LruParams p = {.max = MAX,
                       .entry_size = sizeof(Ent),
                       .key_inline = 8, /* some keys out of line */
                       .seed = 99,
                       .keep_fn = keep ? ent_keep : NULL};

        if (!lru_init(&a, &p) || !lru_init(&b, &p)) {
                fprintf(stderr, "lru_init failed\n");
                exit(1);
        }
        CHECK(lru_key_hash(&a, "abc", 3) == lru_hash(99, "abc", 3),
              "lru_key_hash is the seeded hash");
        srand(11);
        for (int64_t t = 1; t < 20000; t++) {
                char key[32], other[32];
                int id = rand() % N, op = rand() % 8;
                size_t n, on;
                uint64_t h;
                Ent *ea, *eb;
                bool ca = false, cb = false;

                n = (size_t)snprintf(key, sizeof key, id % 5 ? "k%d" : "long-key-%d-xxxxxxxx", id);
                on = (size_t)snprintf(other, sizeof other, "k%d", rand() % N);
                h = lru_key_hash(&b, key, n);
                /* hints for this key and an unrelated one: they must change nothing */
                lru_prefetch(&b, h);
                lru_prefetch(&b, lru_key_hash(&b, other, on));
                lru_prefetch_slot(&b, h);
                lru_prefetch_slot(&b, lru_key_hash(&b, other, on));
                if (op < 3) {
                        ea = lru_find(&a, key, n, t);
                        eb = lru_find_h(&b, h, key, n, t);
                } else if (op < 7) {
                        ea = lru_get(&a, key, n, t, &ca);
                        eb = lru_get_h(&b, h, key, n, t, &cb);
                        CHECK(ea && eb && ca == cb, "t=%lld: get %d created %d/%d", (long long)t,
                              id, ca, cb);
                        if (ea && eb && ca) {
                                CHECK(eb->id == 0 && !eb->keep && !eb->owned,
                                      "t=%lld: new entry zeroed", (long long)t);
                                ea->id = eb->id = id;
                                ea->keep = eb->keep = id % 3 == 0;
                        }
                } else {
                        ea = lru_find(&a, key, n, t);
                        eb = lru_find_h(&b, h, key, n, t);
                        if (ea && eb) {
                                lru_remove(&a, ea);
                                lru_remove(&b, eb);
                        }
                        ea = eb = NULL;
                }
                CHECK((ea == NULL) == (eb == NULL), "t=%lld: %d found in both or neither",
                      (long long)t, id);
                CHECK(!ea || !eb || (ea->id == id && eb->id == id), "t=%lld: right entry %d",
                      (long long)t, id);
                if (t % 1000 == 0) {
                        lru_expire(&a, t - 400);
                        lru_expire(&b, t - 400);
                }
                if (t % 97 == 0 || t < 200)
                        same_state(&a, &b, t);
        }
        same_state(&a, &b, 20000);
        CHECK(a.evictions > 1000, "the table was kept full: %llu evictions",
              (unsigned long long)a.evictions);
        /* The hash is trusted: one that is not the key's finds nothing. */
        {
                const Ent *e = lru_newest(&b);
                char key[32];
                size_t n;

                CHECK(e != NULL, "not empty");
                if (e) {
                        n = (size_t)snprintf(key, sizeof key,
                                             e->id % 5 ? "k%d" : "long-key-%d-xxxxxxxx", e->id);
                        CHECK(lru_find_h(&b, lru_key_hash(&b, key, n), key, n, 30000) == e,
                              "newest found by its hash");
                        CHECK(!lru_find_h(&b, lru_key_hash(&b, key, n) ^ 1, key, n, 30000),
                              "not found under another hash");
                }
        }
        lru_done(&a);
        lru_done(&b);
}

/*
 * Large entries (a pool of several huge-page blocks) with zero_size and
 * hot_size: a new entry is zeroed up to zero_size only, however often its
 * slot is reused; chunks carved from blocks never overlap (every byte of
 * every entry keeps what was written); a rebuild keeps them; lru_done frees
 * blocks and chunks alike (ASan and valgrind check that).
 */
enum { BIG_ENTRY = 3000, BIG_ZERO = 16, BIG_MAX = 2500 };

static void big_fill(uint8_t *e, int id)
{
        memcpy(e + BIG_ZERO, &id, sizeof id);
        memset(e + BIG_ZERO + sizeof id, id & 0xff, BIG_ENTRY - BIG_ZERO - sizeof id);
}

static bool big_intact(const uint8_t *e, int id)
{
        int got;

        memcpy(&got, e + BIG_ZERO, sizeof got);
        if (got != id)
                return false;
        for (size_t i = BIG_ZERO + sizeof id; i < BIG_ENTRY; i++)
                if (e[i] != (uint8_t)(id & 0xff))
                        return false;
        return true;
}

static size_t big_check(LruMap *m, int from, int to, int64_t now)
{
        size_t bad = 0;
        char key[32];

        for (int id = from; id < to; id++) {
                snprintf(key, sizeof key, "b%d", id);
                uint8_t *e = lru_find(m, key, strlen(key), now);
                bad += !e || !big_intact(e, id);
        }
        return bad;
}

static void test_big_entries(bool prealloc)
{
        LruParams p = {.max = BIG_MAX,
                       .entry_size = BIG_ENTRY,
                       .zero_size = BIG_ZERO,
                       .hot_size = 256,
                       .key_inline = 16,
                       .seed = 9,
                       .preallocate = prealloc};
        size_t not_zero = 0;
        char key[32];
        LruMap m;

        CHECK(lru_init(&m, &p), "big table");
        for (int id = 0; id < 2 * BIG_MAX; id++) {
                bool created;
                uint8_t *e;
                snprintf(key, sizeof key, "b%d", id);
                e = lru_get(&m, key, strlen(key), id, &created);
                CHECK(e && created, "big entry %d inserted", id);
                for (size_t i = 0; e && i < BIG_ZERO; i++)
                        not_zero += e[i] != 0;
                if (e) {
                        memset(e, 0xa5, BIG_ZERO); /* the next user of the slot must see zeros */
                        big_fill(e, id);
                }
        }
        CHECK(not_zero == 0, "new entries zeroed up to zero_size: %zu bytes were not", not_zero);
        CHECK(m.count == BIG_MAX && m.evictions == BIG_MAX, "big table full: %zu", m.count);
        CHECK(m.cap * m.slot_size > 3 * ((size_t)2 << 20), "the pool spans several blocks");
        CHECK(big_check(&m, BIG_MAX, 2 * BIG_MAX, 1 << 20) == 0, "every byte of every entry kept");
        CHECK(lru_set_max(&m, BIG_MAX / 2), "lowered");
        CHECK(big_check(&m, BIG_MAX + BIG_MAX / 2, 2 * BIG_MAX, 1 << 21) == 0,
              "kept by the rebuild");
        CHECK(lru_set_max(&m, BIG_MAX * 2), "raised");
        CHECK(big_check(&m, BIG_MAX + BIG_MAX / 2, 2 * BIG_MAX, 1 << 22) == 0, "kept when raised");
        lru_done(&m);
}

static void test_hash(void)
{
        const char *a = "z9hG4bK-abcdef0123456789";

        CHECK(lru_hash(1, a, strlen(a)) == lru_hash(1, a, strlen(a)), "deterministic");
        CHECK(lru_hash(1, a, strlen(a)) != lru_hash(2, a, strlen(a)), "keyed by the seed");
        CHECK(lru_hash(1, a, 8) != lru_hash(1, a, 9), "length matters");
        CHECK(lru_hash(1, "", 0) != lru_hash(1, "\0", 1), "empty differs from NUL");
}

int main(void)
{
        test_lru_order(false);
        test_lru_order(true);
        test_keep();
        test_expire();
        test_set_max(false);
        test_set_max(true);
        test_prealloc_budget();
        test_long_keys();
        test_stress();
        test_hash();
        test_hashed_api(false);
        test_hashed_api(true);
        test_big_entries(false);
        test_big_entries(true);
        return check_exit("lru");
}

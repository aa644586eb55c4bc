/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bounded table: LRU order, eviction with keep_fn, expiry, limits, pool reuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fprintf(stderr, "\n");                                                     \
                        failures++;                                                                \
                }                                                                                  \
        } while (0)

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
        if (failures) {
                fprintf(stderr, "lru: %d failures\n", failures);
                return 1;
        }
        printf("lru: all checks passed\n");
        return 0;
}

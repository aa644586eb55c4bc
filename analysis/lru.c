/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "lru.h"

#include <stdlib.h>
#include <string.h>

bool lru_init(LruMap *m, size_t max, uint64_t seed, LruFreeFn free_fn, void *userdata)
{
        size_t nb = 16;

        memset(m, 0, sizeof *m);
        if (max == 0)
                max = 1;
        /* Load factor <= 1 at capacity. */
        while (nb < max && nb < ((size_t)1 << 28))
                nb <<= 1;
        m->buckets = calloc(nb, sizeof *m->buckets);
        if (!m->buckets)
                return false;
        m->nbuckets = nb;
        m->max = max;
        m->seed = seed;
        m->free_fn = free_fn;
        m->userdata = userdata;
        m->head.next = m->head.prev = &m->head;
        return true;
}

void lru_done(LruMap *m)
{
        if (!m->buckets)
                return;
        while (m->head.prev != &m->head)
                lru_remove(m, m->head.prev);
        free(m->buckets);
        m->buckets = NULL;
}

/* 64-bit multiply-xorshift mixing over 8-byte words, seeded; the seed comes
 * from the caller (the daemon draws it from getrandom(), tests fix it). */
static uint64_t mix(uint64_t h)
{
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93ull;
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93ull;
        h ^= h >> 32;
        return h;
}

uint64_t lru_hash_more(uint64_t h, const void *data, size_t n)
{
        const uint8_t *p = data;

        while (n >= 8) {
                uint64_t w;
                memcpy(&w, p, 8);
                h = mix(h ^ w) + 0x9e3779b97f4a7c15ull;
                p += 8;
                n -= 8;
        }
        uint64_t tail = 0;
        memcpy(&tail, p, n);
        h = mix(h ^ tail ^ ((uint64_t)n << 56));
        return h;
}

uint64_t lru_hash(const LruMap *m, const void *data, size_t n)
{
        return lru_hash_more(m->seed, data, n);
}

static void list_unlink(LruNode *n)
{
        n->prev->next = n->next;
        n->next->prev = n->prev;
}

static void list_push_front(LruMap *m, LruNode *n)
{
        n->next = m->head.next;
        n->prev = &m->head;
        m->head.next->prev = n;
        m->head.next = n;
}

LruNode *lru_find(LruMap *m, uint64_t hash, bool (*eq)(const LruNode *n, const void *key),
                  const void *key, int64_t now_us)
{
        for (LruNode *n = m->buckets[hash & (m->nbuckets - 1)]; n; n = n->hnext) {
                if (n->hash != hash || !eq(n, key))
                        continue;
                list_unlink(n);
                list_push_front(m, n);
                if (now_us > n->last_us)
                        n->last_us = now_us;
                return n;
        }
        return NULL;
}

void lru_remove(LruMap *m, LruNode *n)
{
        LruNode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

        while (*pp && *pp != n)
                pp = &(*pp)->hnext;
        if (*pp)
                *pp = n->hnext;
        list_unlink(n);
        m->count--;
        if (m->free_fn)
                m->free_fn(n, m->userdata);
}

void lru_insert(LruMap *m, LruNode *n, uint64_t hash, int64_t now_us)
{
        size_t b;

        if (m->count >= m->max && m->head.prev != &m->head) {
                /* Least recently used, unless it is worth keeping and a cheaper
                 * victim is close by: a flood of one-off entries must not push out
                 * the few that show a pattern. Bounded scan, so O(1). */
                LruNode *victim = m->head.prev;
                if (m->keep_fn) {
                        LruNode *c = m->head.prev;
                        for (unsigned i = 0; i < LRU_VICTIM_SCAN && c != &m->head; i++, c = c->prev)
                                if (!m->keep_fn(c)) {
                                        victim = c;
                                        break;
                                }
                }
                lru_remove(m, victim);
                m->evictions++;
        }
        b = hash & (m->nbuckets - 1);
        n->hash = hash;
        n->last_us = now_us;
        n->hnext = m->buckets[b];
        m->buckets[b] = n;
        list_push_front(m, n);
        m->count++;
}

void lru_set_max(LruMap *m, size_t max)
{
        m->max = max ? max : 1;
        while (m->count > m->max && m->head.prev != &m->head) {
                lru_remove(m, m->head.prev);
                m->evictions++;
        }
}

void lru_expire(LruMap *m, int64_t cutoff_us)
{
        while (m->head.prev != &m->head && m->head.prev->last_us < cutoff_us) {
                lru_remove(m, m->head.prev);
                m->expirations++;
        }
}

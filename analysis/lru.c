/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "lru.h"
#include "../parser/hash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* In front of every entry in its slot; the key follows (inline or a pointer). */
typedef struct {
        uint64_t hash;
        int64_t last_us; /* last touch, packet time */
        uint32_t idx;    /* own slot index */
        uint16_t keylen;
        uint8_t live;
        uint8_t pad;
} SlotHdr;

#define CHUNK_BYTES (64 * 1024)
/* Past the first BLOCK_BYTES of a pool, chunks are carved from blocks of
 * about BLOCK_BYTES aligned on BLOCK_BYTES and marked for transparent huge
 * pages (where the kernel offers them, madvise mode included): a full table
 * is read at random, and with 4 KiB pages nearly every access to it also
 * misses the TLB. A small table keeps chunk-sized allocations, so a short
 * capture's RSS stays what it touches. */
#define BLOCK_BYTES ((size_t)2 << 20)
#define KEY_LEN_MAX UINT16_MAX
#define ALIGN_UP(x) (((x) + 7) & ~(size_t)7)

/* ---- hash ------------------------------------------------------------- */

/* One keyed hash for the project (parser/hash.h). */
uint64_t lru_hash(uint64_t seed, const void *data, size_t n)
{
        return hash_bytes(seed, data, n);
}

/* ---- slots ------------------------------------------------------------ */

static inline SlotHdr *slot_at(const LruMap *m, uint32_t i)
{
        return (SlotHdr *)(m->chunks[i >> m->chunk_shift] +
                           (size_t)(i & ((1u << m->chunk_shift) - 1)) * m->slot_size);
}

static inline void *slot_entry(const LruMap *m, SlotHdr *s)
{
        return (uint8_t *)s + m->entry_off;
}

static inline SlotHdr *entry_slot(const LruMap *m, const void *e)
{
        return (SlotHdr *)((uint8_t *)(uintptr_t)e - m->entry_off);
}

static inline uint8_t *key_area(SlotHdr *s)
{
        return (uint8_t *)(s + 1);
}

static inline const uint8_t *slot_key(const LruMap *m, SlotHdr *s)
{
        uint8_t *ext;

        if (s->keylen <= m->key_inline)
                return key_area(s);
        memcpy(&ext, key_area(s), sizeof ext);
        return ext;
}

static void slot_release_key(const LruMap *m, SlotHdr *s)
{
        if (s->keylen > m->key_inline) {
                uint8_t *ext;
                memcpy(&ext, key_area(s), sizeof ext);
                free(ext);
        }
        s->keylen = 0;
}

static size_t chunks_for(const LruMap *m, size_t cap)
{
        size_t per = (size_t)1 << m->chunk_shift;
        return (cap + per - 1) / per;
}

/* Chunks per block: a block holds at least BLOCK_BYTES. */
static size_t block_chunks(size_t chunk_bytes)
{
        return (BLOCK_BYTES + chunk_bytes - 1) / chunk_bytes;
}

/* Whether chunk c is an allocation of its own: one of the first block's
 * worth of chunks, or the first chunk of a block (pool_free frees those). */
static bool chunk_owns(size_t c, size_t per)
{
        return c < per || (c - per) % per == 0;
}

static uint8_t *block_alloc(size_t bytes)
{
        void *mem;

        if (bytes < BLOCK_BYTES)
                return malloc(bytes);
        if (posix_memalign(&mem, BLOCK_BYTES, bytes) != 0)
                return NULL;
#ifdef MADV_HUGEPAGE
        (void)madvise(mem, bytes & ~(BLOCK_BYTES - 1), MADV_HUGEPAGE); /* only a hint */
#endif
        return mem;
}

/* Make sure slot i has memory. */
static bool ensure_chunk(LruMap *m, uint32_t i)
{
        size_t c = i >> m->chunk_shift, bytes = m->slot_size << m->chunk_shift;
        size_t per = block_chunks(bytes), left = chunks_for(m, m->cap) - c;
        uint8_t *mem;

        if (c < m->nchunks)
                return true;
        /* Chunks are allocated in order, so c == m->nchunks. */
        if (!chunk_owns(c, per))
                mem = m->chunks[c - 1] + bytes; /* in the block of the chunk before */
        else if (c < per)
                mem = malloc(bytes);
        else
                mem = block_alloc((left < per ? left : per) * bytes);
        if (!mem)
                return false;
        if (m->preallocate)
                memset(mem, 0, bytes);
        m->chunks[m->nchunks++] = mem;
        return true;
}

/* ---- index (linear probing, backward-shift deletion) ------------------ */

static void bucket_put(LruBucket *b, size_t nb, uint64_t hash, uint32_t idx)
{
        size_t mask = nb - 1, i = (size_t)hash & mask;

        while (b[i].slot)
                i = (i + 1) & mask;
        b[i].hlo = (uint32_t)hash;
        b[i].slot = idx + 1;
}

static void bucket_del(LruMap *m, uint64_t hash, uint32_t idx)
{
        size_t mask = m->nbuckets - 1, i = (size_t)hash & mask;
        LruBucket *b = m->buckets;

        while (b[i].slot && b[i].slot != idx + 1)
                i = (i + 1) & mask;
        if (!b[i].slot)
                return; /* not indexed: cannot happen */
        /* Shift later members of the run back over the hole when their home allows. */
        for (size_t j = (i + 1) & mask; b[j].slot; j = (j + 1) & mask) {
                size_t home = b[j].hlo & mask;
                /* Move j to i unless home lies cyclically in (i, j]. */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        b[i] = b[j];
                        i = j;
                }
        }
        b[i].slot = 0;
        b[i].hlo = 0;
}

static size_t buckets_for(size_t cap)
{
        size_t nb = 16;

        while (nb < 2 * cap)
                nb <<= 1;
        return nb;
}

/* ---- LRU links -------------------------------------------------------- */

static inline void link_unlink(LruMap *m, uint32_t i)
{
        LruLink *l = &m->links[i];

        if (l->prev != LRU_NIL)
                m->links[l->prev].next = l->next;
        else
                m->oldest = l->next;
        if (l->next != LRU_NIL)
                m->links[l->next].prev = l->prev;
        else
                m->newest = l->prev;
}

static inline void link_push_newest(LruMap *m, uint32_t i)
{
        m->links[i].prev = m->newest;
        m->links[i].next = LRU_NIL;
        if (m->newest != LRU_NIL)
                m->links[m->newest].next = i;
        else
                m->oldest = i;
        m->newest = i;
}

/* ---- setup ------------------------------------------------------------ */

static void pool_free(uint8_t **chunks, size_t nchunks, size_t chunk_bytes)
{
        size_t per = block_chunks(chunk_bytes);

        for (size_t i = 0; i < nchunks; i++)
                if (chunk_owns(i, per))
                        free(chunks[i]);
        free(chunks);
}

/* Allocate an empty pool of cap slots into m (chunks, links, buckets). */
static bool pool_alloc(LruMap *m, size_t cap)
{
        size_t nb = buckets_for(cap);

        m->chunks = calloc(chunks_for(m, cap), sizeof *m->chunks);
        m->links = malloc(cap * sizeof *m->links);
        m->buckets = calloc(nb, sizeof *m->buckets);
        m->nchunks = 0;
        m->cap = cap;
        m->nbuckets = nb;
        m->used = 0;
        m->free_list = LRU_NIL;
        m->newest = m->oldest = LRU_NIL;
        m->count = 0;
        if (!m->chunks || !m->links || !m->buckets)
                return false;
        if (m->preallocate && cap * m->slot_size <= LRU_PREALLOC_MAX) {
                /* Commit everything now: RSS stays flat however the tables fill. */
                memset(m->links, 0xff, cap * sizeof *m->links);
                memset(m->buckets, 0, nb * sizeof *m->buckets);
                for (size_t c = 0; c < chunks_for(m, cap); c++)
                        if (!ensure_chunk(m, (uint32_t)(c << m->chunk_shift)))
                                return false;
        }
        return true;
}

static void pool_release(LruMap *m)
{
        pool_free(m->chunks, m->nchunks, m->slot_size << m->chunk_shift);
        free(m->links);
        free(m->buckets);
        m->chunks = NULL;
        m->links = NULL;
        m->buckets = NULL;
        m->nchunks = 0;
}

static size_t clamp_max(size_t max)
{
        if (max == 0)
                return 1;
        return max > LRU_MAX_LIMIT ? LRU_MAX_LIMIT : max;
}

bool lru_init(LruMap *m, const LruParams *p)
{
        size_t hdr = sizeof(SlotHdr), ki = p->key_inline, per = 1;
        unsigned shift = 0;

        memset(m, 0, sizeof *m);
        if (ki < sizeof(uint8_t *))
                ki = sizeof(uint8_t *); /* room for the out-of-line pointer */
        m->key_inline = ki;
        m->entry_size = p->entry_size;
        m->zero_size = p->zero_size && p->zero_size < p->entry_size ? p->zero_size : p->entry_size;
        m->hot_size = p->hot_size && p->hot_size < p->entry_size ? p->hot_size : p->entry_size;
        m->entry_off = ALIGN_UP(hdr + ki);
        m->slot_size = ALIGN_UP(m->entry_off + p->entry_size);
        while (per * 2 * m->slot_size <= CHUNK_BYTES) {
                per *= 2;
                shift++;
        }
        m->chunk_shift = shift;
        m->max = clamp_max(p->max);
        m->seed = p->seed;
        m->preallocate = p->preallocate;
        m->free_fn = p->free_fn;
        m->keep_fn = p->keep_fn;
        m->userdata = p->userdata;
        if (!pool_alloc(m, m->max)) {
                pool_release(m);
                return false;
        }
        return true;
}

/* Take an entry out of list, index and pool bookkeeping; the slot stays allocated. */
static void detach(LruMap *m, SlotHdr *s)
{
        link_unlink(m, s->idx);
        bucket_del(m, s->hash, s->idx);
        m->count--;
        if (m->free_fn)
                m->free_fn(slot_entry(m, s), m->userdata);
        slot_release_key(m, s);
        s->live = 0;
}

static void free_slot(LruMap *m, SlotHdr *s)
{
        detach(m, s);
        m->links[s->idx].next = m->free_list;
        m->free_list = s->idx;
}

void lru_done(LruMap *m)
{
        /* The whole pool goes: walk the slots in memory order (the LRU order
         * would touch them at random) and release only what they own. */
        for (size_t i = 0; m->links && i < m->used; i++) {
                SlotHdr *s = slot_at(m, (uint32_t)i);
                if (!s->live)
                        continue;
                if (m->free_fn)
                        m->free_fn(slot_entry(m, s), m->userdata);
                slot_release_key(m, s);
                s->live = 0;
        }
        m->count = 0;
        m->newest = m->oldest = LRU_NIL;
        pool_release(m);
}

/* ---- operations ------------------------------------------------------- */

static SlotHdr *lookup(LruMap *m, uint64_t h, const void *key, size_t keylen)
{
        size_t mask = m->nbuckets - 1, i = (size_t)h & mask;
        uint32_t hlo = (uint32_t)h;

        for (; m->buckets[i].slot; i = (i + 1) & mask) {
                SlotHdr *s;
                if (m->buckets[i].hlo != hlo)
                        continue;
                s = slot_at(m, m->buckets[i].slot - 1);
                if (s->hash == h && s->keylen == keylen && memcmp(slot_key(m, s), key, keylen) == 0)
                        return s;
        }
        return NULL;
}

static void touch(LruMap *m, SlotHdr *s, int64_t now_us)
{
        if (m->newest != s->idx) {
                link_unlink(m, s->idx);
                link_push_newest(m, s->idx);
        }
        if (now_us > s->last_us)
                s->last_us = now_us;
}

void *lru_find_h(LruMap *m, uint64_t h, const void *key, size_t keylen, int64_t now_us)
{
        SlotHdr *s;

        if (keylen > KEY_LEN_MAX)
                return NULL;
        s = lookup(m, h, key, keylen);
        if (!s)
                return NULL;
        touch(m, s, now_us);
        return slot_entry(m, s);
}

void *lru_find(LruMap *m, const void *key, size_t keylen, int64_t now_us)
{
        return lru_find_h(m, lru_hash(m->seed, key, keylen), key, keylen, now_us);
}

uint64_t lru_key_hash(const LruMap *m, const void *key, size_t keylen)
{
        return lru_hash(m->seed, key, keylen);
}

#if defined(__GNUC__)
#define PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#else
#define PREFETCH_W(p) ((void)(p))
#endif

/* The lines of a slot a lookup reads first: the header and key, and the
 * start of the entry. */
static inline void prefetch_slot_head(const LruMap *m, const SlotHdr *s)
{
        PREFETCH_W(s);
        PREFETCH_W((const uint8_t *)s + m->entry_off);
}

void lru_prefetch(const LruMap *m, uint64_t h)
{
        PREFETCH_W(&m->buckets[(size_t)h & (m->nbuckets - 1)]);
}

void lru_prefetch_slot(const LruMap *m, uint64_t h)
{
        size_t mask = m->nbuckets - 1, i = (size_t)h & mask;
        uint32_t hlo = (uint32_t)h;

        for (; m->buckets[i].slot; i = (i + 1) & mask)
                if (m->buckets[i].hlo == hlo) {
                        prefetch_slot_head(m, slot_at(m, m->buckets[i].slot - 1));
                        return;
                }
        /* Not there: an insert into a full table reuses the oldest slot (already
         * prefetched by the insert before) and deletes its bucket. */
        if (m->count >= m->max && m->oldest != LRU_NIL) {
                const SlotHdr *v = slot_at(m, m->oldest);
                prefetch_slot_head(m, v);
                PREFETCH_W(&m->buckets[(size_t)v->hash & mask]);
        }
}

/* The entry to evict: the oldest, unless keep_fn wants it and one close by does not.
 * A flood of one-off entries must not push out the few that show a pattern. Bounded
 * scan, so O(1). */
static SlotHdr *pick_victim(LruMap *m)
{
        uint32_t i = m->oldest;

        if (m->keep_fn) {
                uint32_t c = m->oldest;
                for (unsigned n = 0; n < LRU_VICTIM_SCAN && c != LRU_NIL;
                     n++, c = m->links[c].next) {
                        SlotHdr *s = slot_at(m, c);
                        if (!m->keep_fn(slot_entry(m, s))) {
                                i = c;
                                break;
                        }
                }
        }
        return slot_at(m, i);
}

void *lru_get(LruMap *m, const void *key, size_t keylen, int64_t now_us, bool *created)
{
        return lru_get_h(m, lru_hash(m->seed, key, keylen), key, keylen, now_us, created);
}

void *lru_get_h(LruMap *m, uint64_t h, const void *key, size_t keylen, int64_t now_us,
                bool *created)
{
        uint32_t idx;
        SlotHdr *s;
        uint8_t *ext = NULL;

        if (created)
                *created = false;
        if (keylen > KEY_LEN_MAX)
                return NULL;
        s = lookup(m, h, key, keylen);
        if (s) {
                touch(m, s, now_us);
                return slot_entry(m, s);
        }
        if (keylen > m->key_inline) {
                ext = malloc(keylen);
                if (!ext)
                        return NULL;
                memcpy(ext, key, keylen);
                m->long_keys++;
        }
        if (m->count >= m->max && m->oldest != LRU_NIL) {
                /* Full: the victim's slot is reused in place. */
                s = pick_victim(m);
                detach(m, s);
                m->evictions++;
                idx = s->idx;
                /* The next insert will most likely reuse the next oldest slot:
                 * start its miss now, a message ahead (its head: the rest is
                 * written only when needed). */
                if (m->oldest != LRU_NIL) {
                        const uint8_t *v = (const uint8_t *)slot_at(m, m->oldest);
                        for (size_t o = 0; o < m->entry_off + m->hot_size; o += 64)
                                PREFETCH_W(v + o);
                }
        } else if (m->free_list != LRU_NIL) {
                idx = m->free_list;
                m->free_list = m->links[idx].next;
                s = slot_at(m, idx);
        } else if (m->used < m->cap && ensure_chunk(m, (uint32_t)m->used)) {
                idx = (uint32_t)m->used++;
                s = slot_at(m, idx);
        } else {
                free(ext);
                return NULL;
        }
        s->hash = h;
        s->last_us = now_us;
        s->idx = idx;
        s->keylen = (uint16_t)keylen;
        s->live = 1;
        if (ext)
                memcpy(key_area(s), &ext, sizeof ext);
        else
                memcpy(key_area(s), key, keylen);
        memset(slot_entry(m, s), 0, m->zero_size);
        bucket_put(m->buckets, m->nbuckets, h, idx);
        link_push_newest(m, idx);
        m->count++;
        if (created)
                *created = true;
        return slot_entry(m, s);
}

void lru_remove(LruMap *m, void *entry)
{
        free_slot(m, entry_slot(m, entry));
}

/* Move every live entry into a fresh pool of cap slots, oldest first so the
 * order is kept. On allocation failure the old pool stays. */
static bool rebuild(LruMap *m, size_t cap)
{
        LruMap old = *m;
        uint32_t i;

        if (!pool_alloc(m, cap)) {
                pool_release(m);
                *m = old;
                return false;
        }
        for (i = old.oldest; i != LRU_NIL; i = old.links[i].next) {
                SlotHdr *from = slot_at(&old, i), *to;
                uint32_t idx = (uint32_t)m->used;
                if (!ensure_chunk(m, idx)) {
                        pool_release(m);
                        *m = old;
                        return false;
                }
                m->used++;
                to = slot_at(m, idx);
                memcpy(to, from, m->slot_size);
                to->idx = idx;
                bucket_put(m->buckets, m->nbuckets, to->hash, idx);
                link_push_newest(m, idx);
                m->count++;
        }
        /* The slots moved with their out-of-line keys; only the old memory goes. */
        pool_free(old.chunks, old.nchunks, old.slot_size << old.chunk_shift);
        free(old.links);
        free(old.buckets);
        return true;
}

bool lru_set_max(LruMap *m, size_t max)
{
        max = clamp_max(max);
        while (m->count > max && m->oldest != LRU_NIL) {
                free_slot(m, slot_at(m, m->oldest));
                m->evictions++;
        }
        if (max != m->cap && rebuild(m, max)) {
                m->max = max;
                return true;
        }
        m->max = max < m->cap ? max : m->cap;
        return m->max == max;
}

void lru_expire(LruMap *m, int64_t cutoff_us)
{
        while (m->oldest != LRU_NIL) {
                SlotHdr *s = slot_at(m, m->oldest);
                if (s->last_us >= cutoff_us)
                        break;
                free_slot(m, s);
                m->expirations++;
        }
}

void *lru_newest(const LruMap *m)
{
        return m->newest == LRU_NIL ? NULL : slot_entry(m, slot_at(m, m->newest));
}

void *lru_older(const LruMap *m, const void *entry)
{
        uint32_t p = m->links[entry_slot(m, entry)->idx].prev;

        return p == LRU_NIL ? NULL : slot_entry(m, slot_at(m, p));
}

int64_t lru_last_us(const LruMap *m, const void *entry)
{
        return entry_slot(m, entry)->last_us;
}

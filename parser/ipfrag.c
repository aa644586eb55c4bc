/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IP fragment reassembly. Layout:
 *
 *   slots[max_datagrams]   one incomplete datagram each; free list, hash
 *                          chains (by key) and an age list (by first
 *                          fragment: oldest at the head) thread through it
 *   ranges[max_datagrams * max_frags]   the [start, end) byte ranges held
 *   sources[max_datagrams] buffer bytes per source address (a datagram has
 *                          one source, so never more sources than slots)
 *
 * All of it is allocated once in ipfrag_new(). A datagram's payload buffer
 * grows on demand up to the highest offset seen and is kept for the slot's
 * next datagram when small (KEEP_BUF), so the common path (a SIP request in
 * two or three fragments) does not allocate once warm.
 *
 * Byte caps count buffer capacity, not fragment bytes: one fragment at
 * offset 65000 costs 65 KB of memory, and that is what an attacker spends.
 * Buffers kept for reuse are charged again when used; while idle they are
 * bounded by max_datagrams * KEEP_BUF.
 */
#include "ipfrag.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

#define NONE         (-1)
#define MAX_DATAGRAM 65535u /* IPv4 total length / IPv6 payload length are 16 bits */
#define KEEP_BUF     4096u  /* buffers up to this size are reused by the next datagram */
#define MIN_BUF      2048u

typedef struct {
        uint8_t family, proto;
        uint8_t pad[2]; /* always zero: keys are compared with memcmp */
        uint32_t id;
        uint8_t src[16], dst[16];
} FragKey;

typedef struct {
        uint32_t start, end;
} Range;

typedef struct {
        FragKey key;
        int32_t hnext;      /* hash chain */
        int32_t prev, next; /* age list, or free list (next) */
        int32_t source;     /* index into sources */
        int64_t first_ts;
        uint8_t *buf;
        uint32_t cap;     /* bytes allocated in buf */
        uint32_t charged; /* bytes of it charged to the caps (0 while kept for reuse) */
        uint32_t total;   /* datagram length once the last fragment arrived */
        uint32_t held;    /* payload bytes received (no overlaps, so coverage) */
        uint16_t nfrag;
        bool have_total;
        bool used;
} Slot;

typedef struct {
        uint8_t family;
        uint8_t addr[16];
        int32_t hnext; /* hash chain, or free list */
        uint32_t refs; /* datagrams of this source */
        uint64_t bytes;
} Source;

struct IpFrag {
        IpFragConfig cfg;
        Slot *slots;
        Range *ranges;
        Source *sources;
        int32_t *hash;     /* slot chains, nbuckets */
        int32_t *src_hash; /* source chains, nbuckets */
        uint32_t nbuckets; /* power of two */
        int32_t free_slot, free_source;
        int32_t oldest, newest;
        int32_t done; /* completed slot whose buffer the caller holds */
        IpFragStats stats;
};

IpFrag *ipfrag_new(const IpFragConfig *cfg)
{
        IpFrag *f = calloc(1, sizeof *f);

        if (!f)
                return NULL;
        if (cfg)
                f->cfg = *cfg;
        if (f->cfg.timeout_us <= 0)
                f->cfg.timeout_us = 30 * 1000000ll;
        if (f->cfg.max_datagrams == 0)
                f->cfg.max_datagrams = 1024;
        if (f->cfg.max_datagrams > (1u << 20))
                f->cfg.max_datagrams = 1u << 20;
        if (f->cfg.max_frags == 0)
                f->cfg.max_frags = 64;
        if (f->cfg.max_frags > 8192) /* 65535 / 8: more cannot be distinct */
                f->cfg.max_frags = 8192;
        if (f->cfg.max_bytes_per_source == 0)
                f->cfg.max_bytes_per_source = 1u << 20;
        if (f->cfg.max_bytes == 0)
                f->cfg.max_bytes = 16u << 20;

        f->nbuckets = 16;
        while (f->nbuckets < f->cfg.max_datagrams)
                f->nbuckets <<= 1;
        f->slots = calloc(f->cfg.max_datagrams, sizeof *f->slots);
        f->ranges = calloc((size_t)f->cfg.max_datagrams * f->cfg.max_frags, sizeof *f->ranges);
        f->sources = calloc(f->cfg.max_datagrams, sizeof *f->sources);
        f->hash = malloc(f->nbuckets * sizeof *f->hash);
        f->src_hash = malloc(f->nbuckets * sizeof *f->src_hash);
        if (!f->slots || !f->ranges || !f->sources || !f->hash || !f->src_hash)
                return ipfrag_free(f);
        for (uint32_t i = 0; i < f->nbuckets; i++)
                f->hash[i] = f->src_hash[i] = NONE;
        for (uint32_t i = 0; i < f->cfg.max_datagrams; i++) {
                f->slots[i].next = i + 1 < f->cfg.max_datagrams ? (int32_t)i + 1 : NONE;
                f->sources[i].hnext = i + 1 < f->cfg.max_datagrams ? (int32_t)i + 1 : NONE;
        }
        f->free_slot = 0;
        f->free_source = 0;
        f->oldest = f->newest = NONE;
        f->done = NONE;
        return f;
}

IpFrag *ipfrag_free(IpFrag *f)
{
        if (!f)
                return NULL;
        if (f->slots)
                for (uint32_t i = 0; i < f->cfg.max_datagrams; i++)
                        free(f->slots[i].buf);
        free(f->slots);
        free(f->ranges);
        free(f->sources);
        free(f->hash);
        free(f->src_hash);
        free(f);
        return NULL;
}

static uint32_t key_bucket(const IpFrag *f, const FragKey *k)
{
        return (uint32_t)hash_bytes(f->cfg.hash_seed, k, sizeof *k) & (f->nbuckets - 1);
}

static uint32_t source_bucket(const IpFrag *f, uint8_t family, const uint8_t addr[16])
{
        uint8_t b[17];

        b[0] = family;
        memcpy(b + 1, addr, 16);
        return (uint32_t)hash_bytes(f->cfg.hash_seed ^ 0x5a5a5a5a, b, sizeof b) & (f->nbuckets - 1);
}

static int32_t source_get(IpFrag *f, uint8_t family, const uint8_t addr[16])
{
        uint32_t b = source_bucket(f, family, addr);
        int32_t i;

        for (i = f->src_hash[b]; i != NONE; i = f->sources[i].hnext)
                if (f->sources[i].family == family && memcmp(f->sources[i].addr, addr, 16) == 0)
                        return i;
        /* Never exhausted: at most one source per slot, and a slot is free. */
        i = f->free_source;
        if (i == NONE)
                return NONE;
        f->free_source = f->sources[i].hnext;
        f->sources[i] = (Source){.family = family, .hnext = f->src_hash[b]};
        memcpy(f->sources[i].addr, addr, 16);
        f->src_hash[b] = i;
        return i;
}

static void source_put(IpFrag *f, int32_t i)
{
        Source *s = &f->sources[i];
        int32_t *pp;

        if (--s->refs > 0)
                return;
        for (pp = &f->src_hash[source_bucket(f, s->family, s->addr)]; *pp != NONE;
             pp = &f->sources[*pp].hnext)
                if (*pp == i) {
                        *pp = s->hnext;
                        break;
                }
        s->hnext = f->free_source;
        f->free_source = i;
}

/* Unlink a slot from its hash chain and the age list (it stays "used"). */
static void slot_unlink(IpFrag *f, int32_t i)
{
        Slot *s = &f->slots[i];
        int32_t *pp;

        for (pp = &f->hash[key_bucket(f, &s->key)]; *pp != NONE; pp = &f->slots[*pp].hnext)
                if (*pp == i) {
                        *pp = s->hnext;
                        break;
                }
        if (s->prev != NONE)
                f->slots[s->prev].next = s->next;
        else
                f->oldest = s->next;
        if (s->next != NONE)
                f->slots[s->next].prev = s->prev;
        else
                f->newest = s->prev;
        s->prev = s->next = s->hnext = NONE;
}

/* Return an unlinked slot to the free list, releasing its byte accounting. */
static void slot_release(IpFrag *f, int32_t i)
{
        Slot *s = &f->slots[i];

        f->stats.bytes -= s->charged;
        f->sources[s->source].bytes -= s->charged;
        s->charged = 0;
        source_put(f, s->source);
        if (s->cap > KEEP_BUF) {
                free(s->buf);
                s->buf = NULL;
                s->cap = 0;
        }
        /* A kept buffer is charged again when the next datagram uses it. */
        s->used = false;
        s->next = f->free_slot;
        f->free_slot = i;
        f->stats.datagrams--;
}

static void slot_drop(IpFrag *f, int32_t i)
{
        slot_unlink(f, i);
        slot_release(f, i);
}

static int32_t slot_find(const IpFrag *f, const FragKey *k)
{
        for (int32_t i = f->hash[key_bucket(f, k)]; i != NONE; i = f->slots[i].hnext)
                if (memcmp(&f->slots[i].key, k, sizeof *k) == 0)
                        return i;
        return NONE;
}

static int32_t slot_new(IpFrag *f, const FragKey *k, int64_t ts_us)
{
        int32_t i, src;
        Slot *s;
        uint32_t b;

        if (f->free_slot == NONE) {
                if (f->oldest == NONE)
                        return NONE; /* the one slot holds the buffer handed back */
                /* Table full: the oldest incomplete datagram is the least likely to finish. */
                f->stats.evicted++;
                slot_drop(f, f->oldest);
        }
        i = f->free_slot;
        s = &f->slots[i];
        src = source_get(f, k->family, k->src);
        if (src == NONE)
                return NONE; /* cannot happen: sources <= slots */
        f->free_slot = s->next;
        f->sources[src].refs++;

        s->key = *k;
        s->source = src;
        s->first_ts = ts_us;
        s->total = s->held = 0;
        s->nfrag = 0;
        s->have_total = false;
        s->used = true;
        b = key_bucket(f, k);
        s->hnext = f->hash[b];
        f->hash[b] = i;
        s->next = NONE;
        s->prev = f->newest;
        if (f->newest != NONE)
                f->slots[f->newest].next = i;
        else
                f->oldest = i;
        f->newest = i;
        s->charged = 0;
        f->stats.datagrams++;
        return i;
}

/*
 * Make room for delta more buffer bytes for slot i: evict other datagrams of
 * the same source (oldest first) over the per-source cap, then the oldest of
 * all over the global cap. False when even that is not enough.
 */
static bool make_room(IpFrag *f, int32_t i, uint64_t delta)
{
        Slot *s = &f->slots[i];
        Source *src = &f->sources[s->source];

        if (src->bytes + delta > f->cfg.max_bytes_per_source) {
                for (int32_t j = f->oldest;
                     j != NONE && src->bytes + delta > f->cfg.max_bytes_per_source;) {
                        int32_t next = f->slots[j].next;

                        if (j != i && f->slots[j].source == s->source) {
                                f->stats.source_cap++;
                                slot_drop(f, j);
                        }
                        j = next;
                }
                if (src->bytes + delta > f->cfg.max_bytes_per_source) {
                        f->stats.source_cap++;
                        return false;
                }
        }
        while (f->stats.bytes + delta > f->cfg.max_bytes) {
                int32_t j = f->oldest;

                if (j == i)
                        j = f->slots[j].next;
                if (j == NONE)
                        break;
                f->stats.evicted++;
                slot_drop(f, j);
        }
        if (f->stats.bytes + delta > f->cfg.max_bytes) {
                f->stats.evicted++;
                return false;
        }
        return true;
}

static bool slot_reserve(IpFrag *f, int32_t i, uint32_t end)
{
        Slot *s = &f->slots[i];
        uint32_t want = s->cap ? s->cap : MIN_BUF;

        if (end <= s->charged)
                return true;
        while (want < end)
                want = want > MAX_DATAGRAM / 2 ? MAX_DATAGRAM : want * 2;
        if (!make_room(f, i, want - s->charged))
                return false;
        if (want > s->cap) {
                uint8_t *nb = realloc(s->buf, want);

                if (!nb) {
                        f->stats.nomem++;
                        return false;
                }
                s->buf = nb;
                s->cap = want;
        }
        f->stats.bytes += want - s->charged;
        f->sources[s->source].bytes += want - s->charged;
        s->charged = want;
        return true;
}

/* The buffer handed back last time goes back to the pool. */
static void release_done(IpFrag *f, int32_t done)
{
        if (done != NONE)
                slot_release(f, done);
}

static IpFragVerdict drop(IpFrag *f, int32_t i, uint64_t *counter)
{
        (*counter)++;
        if (i != NONE)
                slot_drop(f, i);
        return IPFRAG_DROPPED;
}

/*
 * The fragment [off, end) against what its datagram i holds already: a
 * length that conflicts with the last fragment's, an overlap (RFC 5722) or
 * one fragment too many drop the datagram; an exact duplicate is ignored.
 * True, with *v, when the fragment stops here.
 */
static bool conflicts(IpFrag *f, int32_t i, const DecodedPacket *pkt, uint32_t off, uint32_t end,
                      IpFragVerdict *v)
{
        Slot *s = &f->slots[i];
        const Range *r = &f->ranges[(size_t)i * f->cfg.max_frags];
        bool last = !pkt->ip_more_fragments;

        *v = IPFRAG_PENDING;
        if (last) {
                if (s->have_total && s->total != end) {
                        *v = drop(f, i, &f->stats.invalid);
                        return true;
                }
                for (uint16_t j = 0; j < s->nfrag; j++)
                        if (r[j].end > end) {
                                *v = drop(f, i, &f->stats.invalid);
                                return true;
                        }
        } else if (s->have_total && end > s->total) {
                *v = drop(f, i, &f->stats.invalid);
                return true;
        }
        for (uint16_t j = 0; j < s->nfrag; j++) {
                if (r[j].start >= end || off >= r[j].end)
                        continue;
                if (r[j].start == off && r[j].end == end &&
                    memcmp(s->buf + off, pkt->payload, end - off) == 0) {
                        /* A retransmitted or twice-captured fragment: harmless. */
                        f->stats.duplicates++;
                        return true;
                }
                *v = drop(f, i, &f->stats.overlaps);
                return true;
        }
        if (s->nfrag >= f->cfg.max_frags) {
                *v = drop(f, i, &f->stats.too_many_frags);
                return true;
        }
        return false;
}

/* Keep the fragment [off, end) in datagram i; hand the datagram back once whole. */
static IpFragVerdict store(IpFrag *f, int32_t i, const DecodedPacket *pkt, uint32_t off,
                           uint32_t end, const uint8_t **data, size_t *len)
{
        Slot *s = &f->slots[i];
        Range *r = &f->ranges[(size_t)i * f->cfg.max_frags];

        if (!slot_reserve(f, i, end)) {
                /* counted by make_room() / slot_reserve() */
                slot_drop(f, i);
                return IPFRAG_DROPPED;
        }
        memcpy(s->buf + off, pkt->payload, end - off);
        r[s->nfrag++] = (Range){off, end};
        s->held += end - off;
        if (!pkt->ip_more_fragments) {
                s->total = end;
                s->have_total = true;
        }
        if (!s->have_total || s->held != s->total)
                return IPFRAG_PENDING;
        /* No overlaps were accepted, so held == total means no holes. */
        f->stats.reassembled++;
        slot_unlink(f, i);
        f->done = i;
        *data = s->buf;
        *len = s->total;
        return IPFRAG_COMPLETE;
}

/*
 * RFC 791 §3.2 (reassembly), RFC 8200 §4.5 (fragment header; a non-last
 * fragment's length must be a multiple of 8), RFC 5722 (overlapping
 * fragments: discard the datagram).
 */
IpFragVerdict ipfrag_feed(IpFrag *f, const DecodedPacket *pkt, int64_t ts_us, const uint8_t **data,
                          size_t *len)
{
        /* pkt may point into the buffer handed back last time: release it last. */
        int32_t prev_done = f->done;
        IpFragVerdict v;
        FragKey k = {0};
        uint32_t off = pkt->ip_frag_offset, n, end;
        int32_t i;

        f->done = NONE;
        if (prev_done != NONE) {
                uintptr_t b = (uintptr_t)f->slots[prev_done].buf, q = (uintptr_t)pkt->payload;

                if (q < b || q >= b + f->slots[prev_done].cap) {
                        release_done(f, prev_done);
                        prev_done = NONE;
                }
        }
        f->stats.fragments++;
        n = pkt->payload_len > MAX_DATAGRAM ? MAX_DATAGRAM + 1 : (uint32_t)pkt->payload_len;
        end = off + n;

        k.family = pkt->src.family;
        k.proto = pkt->ip_proto;
        k.id = pkt->ip_id;
        memcpy(k.src, pkt->src.addr, 16);
        memcpy(k.dst, pkt->dst.addr, 16);
        i = slot_find(f, &k);

        if (n == 0 || (pkt->ip_more_fragments && n % 8 != 0))
                v = drop(f, NONE, &f->stats.invalid);
        else if (end > MAX_DATAGRAM)
                v = drop(f, i, &f->stats.too_big);
        else if (i == NONE && (i = slot_new(f, &k, ts_us)) == NONE)
                v = drop(f, NONE, &f->stats.evicted);
        else if (!conflicts(f, i, pkt, off, end, &v))
                v = store(f, i, pkt, off, end, data, len);
        release_done(f, prev_done);
        return v;
}

void ipfrag_expire(IpFrag *f, int64_t now_us)
{
        release_done(f, f->done);
        f->done = NONE;
        while (f->oldest != NONE && now_us - f->slots[f->oldest].first_ts >= f->cfg.timeout_us) {
                f->stats.timeouts++;
                slot_drop(f, f->oldest);
        }
}

void ipfrag_get_stats(const IpFrag *f, IpFragStats *out)
{
        *out = f->stats;
        /* The buffer handed back last is still held but no longer a datagram in flight. */
        if (f->done != NONE)
                out->datagrams--;
}

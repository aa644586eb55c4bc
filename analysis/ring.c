/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SPSC byte ring. Frames are stored contiguously, each behind a 16-byte
 * header and padded to 16 bytes; a frame that does not fit before the end of
 * the buffer is preceded by a wrap marker and starts again at offset 0.
 * head and tail are byte counts that only grow (64 bits: no wrap in practice);
 * their difference is the bytes in use.
 *
 *   producer                          consumer
 *   copy frame at head                load head (acquire)
 *   store head += need (release)      read frame at tail
 *   fence seq_cst                     store tail += need (release)
 *   load tail: == old head -> wake    empty? fence seq_cst, load head again
 *
 * The two fences order "publish, then look at the other side" on both sides,
 * so either the producer sees that the consumer had caught up (and wakes it)
 * or the consumer sees the new frame before it goes to sleep.
 */
#include "ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HDR_SIZE    16u
#define ALIGN       16u
#define WRAP_MARKER UINT32_MAX
#define CACHE_LINE  64

typedef struct {
        uint32_t len; /* frame bytes, or WRAP_MARKER */
        uint32_t tag;
        int64_t ts_us;
} RecordHeader;

_Static_assert(sizeof(RecordHeader) == HDR_SIZE, "record header is 16 bytes");

struct Ring {
        uint8_t *buf;
        size_t size; /* power of two */
        size_t mask;

        /* Written by the producer only. */
        alignas(CACHE_LINE) _Atomic uint64_t head;
        _Atomic uint64_t pushed, pushed_bytes, dropped, dropped_bytes, too_big, high_water;
        /* The consumer's tail as the producer last read it: it is read again
         * only when it leaves too little room, not at every frame (the line
         * it lives in is the consumer's, written at every pop). */
        uint64_t tail_seen;
        unsigned since_seen; /* frames pushed since tail_seen was read */

        /* Written by the consumer only. */
        alignas(CACHE_LINE) _Atomic uint64_t tail;
        _Atomic uint64_t popped;
        uint64_t head_seen;   /* the producer's head as the consumer last read it */
        uint64_t peeked_need; /* bytes the frame ring_peek() returned occupies */

        /* The producer's reservation (ring_reserve): where its header goes. */
        alignas(CACHE_LINE) uint64_t res_head;
        size_t res_max;
};

static size_t round_size(size_t size)
{
        size_t s = RING_SIZE_MIN;

        while (s < size && s < RING_SIZE_MAX)
                s <<= 1;
        return s;
}

Ring *ring_new(size_t size)
{
        Ring *r =
            aligned_alloc(CACHE_LINE, (sizeof(Ring) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);

        if (!r)
                return NULL;
        memset(r, 0, sizeof(*r));
        r->size = round_size(size);
        r->mask = r->size - 1;
        /* Pages of its own, touched only as frames reach them and returned
         * whole on free: a ring from malloc's heap would be filled at once
         * under MALLOC_PERTURB_, and malloc hands a freed large block back
         * from the heap to the next ring (its mmap threshold rises). */
        r->buf = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r->buf == MAP_FAILED) {
                free(r);
                return NULL;
        }
        return r;
}

Ring *ring_free(Ring *r)
{
        if (!r)
                return NULL;
        munmap(r->buf, r->size);
        free(r);
        return NULL;
}

static size_t need_for(size_t len)
{
        return (HDR_SIZE + len + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

/*
 * The producer's view of the tail: read again every TAIL_EVERY frames (so
 * that high_water, counted from it, is high by at most that many frames)
 * and whenever it leaves too little room.
 */
#define TAIL_EVERY 64u

static uint64_t fresh_tail(Ring *r)
{
        if (++r->since_seen >= TAIL_EVERY) {
                r->since_seen = 0;
                r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        }
        return r->tail_seen;
}

/* Only the owning thread writes these counters: a load and a store suffice. */
static void bump(_Atomic uint64_t *c, uint64_t by)
{
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                              memory_order_relaxed);
}

bool ring_push(Ring *r, int64_t ts_us, uint32_t tag, const uint8_t *data, size_t len,
               bool *was_empty)
{
        const uint64_t head0 = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = fresh_tail(r);
        uint64_t head = head0, used;
        size_t need, off, till_end, total;
        RecordHeader h;

        if (was_empty)
                *was_empty = false;
        if (len > r->size / 4) {
                bump(&r->too_big, 1);
                bump(&r->dropped, 1);
                bump(&r->dropped_bytes, len);
                return false;
        }
        need = need_for(len);
        off = (size_t)(head & r->mask);
        till_end = r->size - off;
        total = need <= till_end ? need : till_end + need;
        if (r->size - (size_t)(head - tail) < total)
                tail = r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->size - (size_t)(head - tail) < total) {
                bump(&r->dropped, 1);
                bump(&r->dropped_bytes, len);
                return false;
        }
        if (need > till_end) {
                /* till_end is a multiple of 16, so a header always fits. */
                h = (RecordHeader){.len = WRAP_MARKER};
                memcpy(r->buf + off, &h, sizeof(h));
                head += till_end;
                off = 0;
        }
        h = (RecordHeader){.len = (uint32_t)len, .tag = tag, .ts_us = ts_us};
        memcpy(r->buf + off, &h, sizeof(h));
        if (len)
                memcpy(r->buf + off + HDR_SIZE, data, len);
        head += need;
        atomic_store_explicit(&r->head, head, memory_order_release);

        bump(&r->pushed, 1);
        bump(&r->pushed_bytes, len);
        used = head - tail;
        if (used > atomic_load_explicit(&r->high_water, memory_order_relaxed))
                atomic_store_explicit(&r->high_water, used, memory_order_relaxed);

        if (was_empty) {
                atomic_thread_fence(memory_order_seq_cst);
                *was_empty = atomic_load_explicit(&r->tail, memory_order_relaxed) == head0;
        }
        return true;
}

/* Room for len bytes, by the tail last seen, read again only when short. */
static bool room_seen(Ring *r, size_t len)
{
        const uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t need = need_for(len), till_end = r->size - (size_t)(head & r->mask);
        size_t total = need <= till_end ? need : till_end + need;

        if (r->size - (size_t)(head - r->tail_seen) >= total)
                return true;
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        return r->size - (size_t)(head - r->tail_seen) >= total;
}

uint8_t *ring_reserve(Ring *r, size_t max_len)
{
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t off = (size_t)(head & r->mask), till_end = r->size - off, need;
        RecordHeader h = {.len = WRAP_MARKER};

        if (max_len > r->size / 4 || !room_seen(r, max_len))
                return NULL;
        need = need_for(max_len);
        if (need > till_end) {
                /* Beyond the published head: the consumer reads it only after commit. */
                memcpy(r->buf + off, &h, sizeof(h));
                head += till_end;
                off = 0;
        }
        r->res_head = head;
        r->res_max = max_len;
        return r->buf + off + HDR_SIZE;
}

void ring_commit(Ring *r, int64_t ts_us, uint32_t tag, size_t len)
{
        uint64_t head = r->res_head;
        uint64_t tail = fresh_tail(r);
        RecordHeader h = {.len = (uint32_t)len, .tag = tag, .ts_us = ts_us};

        if (len > r->res_max)
                len = h.len = (uint32_t)r->res_max; /* a caller's bug; never past the room */
        memcpy(r->buf + (size_t)(head & r->mask), &h, sizeof(h));
        head += need_for(len);
        atomic_store_explicit(&r->head, head, memory_order_release);
        r->res_max = 0;
        bump(&r->pushed, 1);
        bump(&r->pushed_bytes, len);
        if (head - tail > atomic_load_explicit(&r->high_water, memory_order_relaxed))
                atomic_store_explicit(&r->high_water, head - tail, memory_order_relaxed);
}

bool ring_has_room(const Ring *r, size_t len)
{
        const uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        const uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t need, till_end;

        if (len > r->size / 4)
                return true; /* never fits: ring_push() drops it at once */
        need = need_for(len);
        till_end = r->size - (size_t)(head & r->mask);
        return r->size - (size_t)(head - tail) >= (need <= till_end ? need : till_end + need);
}

bool ring_peek(Ring *r, RingRecord *out)
{
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t head = r->head_seen;
        RecordHeader h;
        size_t off;

        if (head == tail)
                head = r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (head == tail) {
                /* Pairs with the producer's fence: see the comment at the top. */
                atomic_thread_fence(memory_order_seq_cst);
                head = r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
                if (head == tail)
                        return false;
        }
        off = (size_t)(tail & r->mask);
        memcpy(&h, r->buf + off, sizeof(h));
        if (h.len == WRAP_MARKER) {
                tail += r->size - off;
                atomic_store_explicit(&r->tail, tail, memory_order_release);
                off = 0;
                memcpy(&h, r->buf, sizeof(h));
        }
        r->peeked_need = need_for(h.len);
        *out = (RingRecord){
            .ts_us = h.ts_us, .tag = h.tag, .data = r->buf + off + HDR_SIZE, .len = h.len};
        return true;
}

void ring_pop(Ring *r)
{
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

        if (!r->peeked_need)
                return;
        atomic_store_explicit(&r->tail, tail + r->peeked_need, memory_order_release);
        r->peeked_need = 0;
        bump(&r->popped, 1);
}

size_t ring_used(const Ring *r)
{
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

        return head >= tail ? (size_t)(head - tail) : 0;
}

size_t ring_size(const Ring *r)
{
        return r->size;
}

void ring_get_stats(const Ring *r, RingStats *out)
{
        *out = (RingStats){
            .pushed = atomic_load_explicit(&r->pushed, memory_order_relaxed),
            .pushed_bytes = atomic_load_explicit(&r->pushed_bytes, memory_order_relaxed),
            .dropped = atomic_load_explicit(&r->dropped, memory_order_relaxed),
            .dropped_bytes = atomic_load_explicit(&r->dropped_bytes, memory_order_relaxed),
            .too_big = atomic_load_explicit(&r->too_big, memory_order_relaxed),
            .popped = atomic_load_explicit(&r->popped, memory_order_relaxed),
            .high_water = atomic_load_explicit(&r->high_water, memory_order_relaxed),
        };
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounded single-producer/single-consumer byte ring (DESIGN.md "Data flow"):
 * the capture thread copies each frame in, the analysis thread reads it out
 * in place. The producer never blocks and never allocates: when a frame does
 * not fit it is dropped and counted. Lock-free with C11 atomics.
 *
 * Waking: ring_push() reports when the ring was empty before the frame, so
 * that the producer signals the consumer (an eventfd) once per empty ->
 * non-empty transition, not once per packet. The consumer must drain until
 * ring_peek() returns false before it sleeps again; the fences in ring.c make
 * that pair free of lost wake-ups.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Ring Ring;

#define RING_SIZE_DEFAULT (16u * 1024u * 1024u)
#define RING_SIZE_MIN     (64u * 1024u)
#define RING_SIZE_MAX     (1024u * 1024u * 1024u)

typedef struct {
        int64_t ts_us;
        uint32_t tag;        /* the producer's label (the link type of the capture) */
        const uint8_t *data; /* valid until ring_pop() */
        size_t len;
} RingRecord;

typedef struct {
        uint64_t pushed; /* frames copied in */
        uint64_t pushed_bytes;
        uint64_t dropped; /* frames refused because the ring was full */
        uint64_t dropped_bytes;
        uint64_t too_big; /* frames larger than a quarter of the ring (also dropped) */
        uint64_t popped;
        uint64_t high_water; /* most bytes in use at once (high by 64 frames at most) */
} RingStats;

/* size: bytes, rounded up to a power of two within RING_SIZE_MIN..RING_SIZE_MAX. */
Ring *ring_new(size_t size);
Ring *ring_free(Ring *r);

/*
 * Producer. Copies the frame; false when it was dropped (counted).
 * *was_empty (may be NULL) tells whether the consumer may be waiting for a
 * wake-up: true when the ring held nothing before this frame.
 */
bool ring_push(Ring *r, int64_t ts_us, uint32_t tag, const uint8_t *data, size_t len,
               bool *was_empty);

/*
 * Producer, without a copy: room for a frame of up to max_len bytes, to be
 * written in place; NULL when it does not fit now (nothing is counted: the
 * caller waits or gives up). ring_commit() publishes the first len <= max_len
 * bytes written there. Nothing else may be pushed in between.
 */
uint8_t *ring_reserve(Ring *r, size_t max_len);
void ring_commit(Ring *r, int64_t ts_us, uint32_t tag, size_t len);

/* Producer: whether a frame of len bytes would fit now (room only grows meanwhile). */
bool ring_has_room(const Ring *r, size_t len);

/* Consumer: the oldest frame, in place; false when the ring is empty. */
bool ring_peek(Ring *r, RingRecord *out);
/* Consumer: release the frame ring_peek() returned. */
void ring_pop(Ring *r);

/* Bytes in use now (either side; approximate while the other side runs). */
size_t ring_used(const Ring *r);
size_t ring_size(const Ring *r);

/* Either side; counters of the other side may lag by a frame. */
void ring_get_stats(const Ring *r, RingStats *out);

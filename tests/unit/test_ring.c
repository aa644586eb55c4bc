/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SPSC ring (daemon/ring.c): order and contents across wrap-around, a
 * full ring drops and counts instead of blocking, oversized frames, and a
 * two-thread run where the consumer sleeps on an eventfd woken only on the
 * empty -> non-empty transition (no frame may be lost or stuck).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ring.h"
#include "check.h"

/* Frame i: length 1 + (i * 7919) % max_len, bytes derived from i. */
static size_t frame(uint64_t i, uint8_t *buf, size_t max_len)
{
        size_t len = 1 + (size_t)((i * 7919u) % max_len);

        for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)(i * 31u + k);
        return len;
}

static bool frame_ok(uint64_t i, const RingRecord *rec, size_t max_len)
{
        uint8_t want[4096];
        size_t len = frame(i, want, max_len);

        return rec->len == len && rec->ts_us == (int64_t)i && rec->tag == (uint32_t)(i & 0xff) &&
               memcmp(rec->data, want, len) == 0;
}

static void test_single_thread(void)
{
        Ring *r = ring_new(1); /* rounded up to RING_SIZE_MIN */
        uint8_t buf[4096];
        RingRecord rec;
        RingStats st;
        uint64_t next_in = 0, next_out = 0;
        bool empty;

        CHECK(r && ring_size(r) == RING_SIZE_MIN, "size %zu", r ? ring_size(r) : 0);
        CHECK(!ring_peek(r, &rec), "new ring is empty");

        /* Many laps: every frame comes out whole and in order. */
        for (int round = 0; round < 2000; round++) {
                for (int k = 0; k < 7; k++, next_in++) {
                        size_t len = frame(next_in, buf, 3000);

                        CHECK(ring_push(r, (int64_t)next_in, (uint32_t)(next_in & 0xff), buf, len,
                                        &empty),
                              "push %llu", (unsigned long long)next_in);
                        CHECK(empty == (next_in == next_out), "was_empty at %llu",
                              (unsigned long long)next_in);
                }
                for (int k = 0; k < 7; k++, next_out++) {
                        CHECK(ring_peek(r, &rec), "peek %llu", (unsigned long long)next_out);
                        CHECK(frame_ok(next_out, &rec, 3000), "frame %llu intact",
                              (unsigned long long)next_out);
                        ring_pop(r);
                }
        }
        CHECK(!ring_peek(r, &rec), "drained");

        /* Full: the producer is refused at once, counted, and nothing is damaged. */
        next_in = next_out = 0;
        while (ring_has_room(r, 1000)) {
                CHECK(ring_push(r, (int64_t)next_in, (uint32_t)(next_in & 0xff), buf,
                                frame(next_in, buf, 1000), NULL),
                      "push while room");
                next_in++;
                if (next_in > 100000)
                        break;
        }
        {
                size_t len = 1000;

                memset(buf, 0xAB, len);
                /* A frame that needs the most room must be refused when there is none. */
                if (!ring_has_room(r, len))
                        CHECK(!ring_push(r, -1, 0, buf, len, NULL), "full ring refuses");
        }
        ring_get_stats(r, &st);
        CHECK(st.dropped >= 1 && st.dropped_bytes >= 1000, "drop counted: %llu",
              (unsigned long long)st.dropped);
        CHECK(st.high_water > RING_SIZE_MIN / 2, "high water %llu",
              (unsigned long long)st.high_water);
        for (; ring_peek(r, &rec); next_out++) {
                CHECK(frame_ok(next_out, &rec, 1000), "frame %llu intact after overflow",
                      (unsigned long long)next_out);
                ring_pop(r);
        }
        CHECK(next_out == next_in, "all %llu frames out, got %llu", (unsigned long long)next_in,
              (unsigned long long)next_out);

        /* Larger than a quarter of the ring: dropped, counted as too big. */
        {
                uint8_t *big = calloc(1, RING_SIZE_MIN / 4 + 1);

                CHECK(!ring_push(r, 0, 0, big, RING_SIZE_MIN / 4 + 1, NULL), "too big refused");
                ring_get_stats(r, &st);
                CHECK(st.too_big == 1, "too_big %llu", (unsigned long long)st.too_big);
                CHECK(ring_push(r, 0, 0, big, 0, NULL), "an empty frame is fine");
                CHECK(ring_peek(r, &rec) && rec.len == 0, "empty frame out");
                ring_pop(r);
                free(big);
        }
        ring_pop(r); /* without a peek: no effect */
        CHECK(ring_used(r) == 0, "used %zu", ring_used(r));
        ring_free(r);
}

/* ---- two threads ---------------------------------------------------------------- */

#define THREAD_FRAMES 1500000u

typedef struct {
        Ring *r;
        int efd;
        atomic_bool done;
        uint64_t sent, dropped;
} Shared;

static void *producer(void *arg)
{
        Shared *s = arg;
        uint8_t buf[4096];
        uint64_t one = 1;

        for (uint64_t i = 0; i < THREAD_FRAMES; i++) {
                size_t len = frame(i, buf, 600);
                bool empty = false;

                if (!ring_push(s->r, (int64_t)i, (uint32_t)(i & 0xff), buf, len, &empty)) {
                        s->dropped++;
                        continue;
                }
                s->sent++;
                if (empty && write(s->efd, &one, sizeof(one)) < 0)
                        abort();
                /* Let the consumer catch up now and then: the ring must go empty
                 * often, which is where a wake-up can be lost. */
                if ((i & 127) == 0)
                        sched_yield();
                /* and pause now and then, so that the run outlasts the consumer's sleeps */
                if ((i & 16383) == 0)
                        usleep(1000);
        }
        atomic_store(&s->done, true);
        if (write(s->efd, &one, sizeof(one)) < 0)
                abort();
        return NULL;
}

static void test_two_threads(void)
{
        Shared s = {.r = ring_new(RING_SIZE_MIN), .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
        uint64_t got = 0, last = 0, sleeps = 0, lost = 0, v;
        bool in_order = true, intact = true, first = true;
        pthread_t t;
        RingRecord rec;
        RingStats st;

        pthread_create(&t, NULL, producer, &s);
        for (;;) {
                struct pollfd pfd = {.fd = s.efd, .events = POLLIN};
                bool done = atomic_load(&s.done);

                /* Drain until empty, then sleep: a lost wake-up hangs here (timeout). */
                while (ring_peek(s.r, &rec)) {
                        uint64_t i = (uint64_t)rec.ts_us;

                        if (!first && i <= last)
                                in_order = false;
                        if (!frame_ok(i, &rec, 600))
                                intact = false;
                        first = false;
                        last = i;
                        got++;
                        ring_pop(s.r);
                }
                if (done)
                        break;
                if (poll(&pfd, 1, 50) == 0 && ring_peek(s.r, &rec)) {
                        /* Asleep with frames waiting. The producer may be between its
                         * push and its write (or descheduled there, as under valgrind):
                         * give it a second more. Still nothing: the wake-up was lost. */
                        if (poll(&pfd, 1, 1000) == 0)
                                lost++;
                        continue;
                }
                if (read(s.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                        break;
                sleeps++;
        }
        pthread_join(t, NULL);
        while (ring_peek(s.r, &rec)) {
                got++;
                ring_pop(s.r);
        }
        ring_get_stats(s.r, &st);
        CHECK(lost == 0, "%llu lost wake-ups", (unsigned long long)lost);
        CHECK(in_order && intact, "frames in order (%d) and intact (%d)", in_order, intact);
        CHECK(got == s.sent && got + s.dropped == THREAD_FRAMES, "sent %llu dropped %llu got %llu",
              (unsigned long long)s.sent, (unsigned long long)s.dropped, (unsigned long long)got);
        CHECK(st.dropped == s.dropped && st.pushed == s.sent, "counters agree");
        printf("two threads: %u frames, %llu dropped, %llu consumer wake-ups\n", THREAD_FRAMES,
               (unsigned long long)s.dropped, (unsigned long long)sleeps);
        close(s.efd);
        ring_free(s.r);
}

int main(void)
{
        test_single_thread();
        test_two_threads();
        return check_exit("ring");
}

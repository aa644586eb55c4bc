/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --workers N (pipeline_internal.h): N fronts on threads of their own, one
 * tracker on the caller's thread, fed in capture order.
 *
 *   caller: frame ──decode, IP reassembly, shard by address pair──▶
 *           the datagram into worker k's job ring
 *   worker k: front (TCP reassembly, SIP parse) ──▶ k's message ring
 *   caller: for seq = 0, 1, ...: the messages of job seq from the worker
 *           it went to ──▶ tracker_feed() ──▶ records (caller's thread)
 *
 * Each job (a datagram, or an expiry or flush every front takes) has a number
 * in capture order, and order[] says which worker has it. A worker finishes
 * its jobs in order and says how far it got (done); the caller takes the
 * messages of job seq, and goes on to seq + 1 once done says job seq is
 * complete. So the tracker sees the messages exactly in the order one front
 * would have produced them: every correlation, and every pattern across
 * flows (scans, guessing, nonces answered from elsewhere), is that of one
 * thread; only the parsing runs in parallel.
 *
 * The shard is the unordered pair of IP addresses (ports aside): both
 * directions of a flow and every segment of a TCP connection reach the same
 * front, whose stream reassembly state is its own.
 *
 * Both rings are bounded (analysis/ring.h). A full job ring makes the
 * caller feed the tracker and wait; a full message ring makes the worker
 * wait for the caller. Waiting is on a futex (Event) after a short spin.
 */
#include "pipeline_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "../parser/hash.h"

#define JOB_RING_BYTES (4u << 20)
#define MSG_RING_BYTES (2u << 20)
#define ORDER_CAP      65536u    /* jobs between the caller's dispatch and its feed */
#define ORDER_ALL      0xffu     /* order[]: a job every worker takes */
#define SPIN           256       /* checks before a wait sleeps */
#define WAKE_BATCH     256       /* jobs pushed before a sleeping worker is woken */
#define POLL_EVERY     32        /* frames dispatched between looks at what is done */
#define WAIT_NS        50000000L /* a sleep ends after this at the latest (a safety net) */
#define WAIT_TRIES     20        /* sleeps before event_wait() returns to its caller */

_Static_assert(PIPELINE_WORKERS_MAX < ORDER_ALL, "worker index fits order[]");

/* ---- waiting ---------------------------------------------------------- */

/*
 * An event count: a waiter registers, reads the count, checks its condition
 * once more and sleeps only if the count has not moved; a notifier changes
 * the condition, then bumps the count and wakes, but only when someone is
 * registered. The fences order "change, then look at the other side" on
 * both sides, so no wake-up is lost.
 */
typedef struct {
        _Atomic uint32_t count;
        _Atomic uint32_t waiters;
} Event;

static void event_notify(Event *e)
{
        atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&e->waiters, memory_order_relaxed))
                return;
        atomic_fetch_add(&e->count, 1);
        syscall(SYS_futex, &e->count, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

typedef bool (*CondFn)(void *arg);

/*
 * Returns when cond(arg) holds, however often it is woken before (each
 * sleep ends after WAIT_NS at the latest, a safety net; after WAIT_TRIES of
 * them it returns anyway and the caller looks again). cond must hold once
 * the thread is to stop.
 */
static void event_wait(Event *e, CondFn cond, void *arg)
{
        const struct timespec limit = {.tv_nsec = WAIT_NS};

        for (int i = 0; i < SPIN; i++) {
                if (cond(arg))
                        return;
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
        }
        atomic_fetch_add(&e->waiters, 1);
        atomic_thread_fence(memory_order_seq_cst); /* registered, then look: see event_notify */
        for (int i = 0; i < WAIT_TRIES; i++) {
                uint32_t key = atomic_load(&e->count);

                if (cond(arg))
                        break;
                syscall(SYS_futex, &e->count, FUTEX_WAIT_PRIVATE, key, &limit, NULL, 0);
        }
        atomic_fetch_sub(&e->waiters, 1);
}

/* ---- the workers ------------------------------------------------------ */

/* JOB_DATAGRAM: a datagram the caller decoded (and maybe reassembled), a
 * DecodedPacket then its payload. */
typedef enum { JOB_DATAGRAM = 0, JOB_EXPIRE, JOB_FLUSH } JobKind;

typedef struct {
        uint64_t seq;
        uint32_t kind; /* JobKind */
        uint32_t pad;
} JobHdr;

/* In front of each message copy; 16 bytes aligned, like the SipMsg after it. */
typedef struct {
        uint64_t seq;
        PacketMeta meta;
} MsgHdr;

#define MSG_HDR ((sizeof(MsgHdr) + 15) & ~(size_t)15)

typedef struct Worker Worker;

/* What one side writes often sits in cache lines of its own: a line both
 * write would move between the cores at every frame. */
struct Workers {
        Tracker *tracker;
        Front *own; /* the caller's: IP reassembly for every front (fragment()) */
        unsigned n;
        Worker *w;
        atomic_bool stop;
        alignas(64) Event progress;    /* worker -> caller: a job done, or a message ring full */
        alignas(64) uint64_t next_seq; /* the next job's number (the caller's, from here on) */
        uint64_t fed_seq;              /* the job whose messages go to the tracker next */
        unsigned all_next;             /* ORDER_ALL job: the workers already fed */
        uint64_t hash_seed;            /* the shard hash (chosen addresses must not pile up) */
        uint64_t waits;                /* the caller slept (--stats workers.waits) */
        SipMsg msg;                    /* the message being fed, unpacked */
        uint8_t order[ORDER_CAP];
};

struct Worker {
        Workers *ws;
        pthread_t thread;
        bool started;
        Ring *jobs, *msgs;
        /* the worker's own */
        alignas(64) Front front;
        uint64_t seq;     /* the job in hand */
        uint64_t too_big; /* messages beyond a quarter of the ring: dropped */
        /* the caller's own */
        alignas(64) uint64_t frames; /* frames dispatched to it */
        unsigned unwoken;            /* jobs pushed since its last wake */
        /* between the two */
        alignas(64) Event jobs_ev;         /* caller -> worker: a job pushed */
        alignas(64) Event room_ev;         /* caller -> worker: messages taken */
        alignas(64) _Atomic uint64_t done; /* jobs finished: the next seq it will take */
};

static bool stopping(Workers *ws)
{
        return atomic_load_explicit(&ws->stop, memory_order_relaxed);
}

/* Room for need bytes in a ring (or the end). */
typedef struct {
        Workers *ws;
        Ring *ring;
        size_t need;
} Room;

/*
 * A full ring is waited on until it is half empty, not until one record
 * fits: the other side then wakes the waiter once per half ring, not once
 * per record (a wake is a system call, dearer than the record).
 */
static bool has_room(void *arg)
{
        Room *r = arg;

        return (ring_has_room(r->ring, r->need) && ring_used(r->ring) <= ring_size(r->ring) / 2) ||
               stopping(r->ws);
}

/* Worker: a message for the tracker, copied whole into the message ring. */
static void deliver(void *userdata, const PacketMeta *meta, const SipMsg *msg)
{
        Worker *w = userdata;
        size_t need = MSG_HDR + sipmsg_pack_size(msg);
        MsgHdr h = {.seq = w->seq, .meta = *meta};
        uint8_t *buf;

        if (need > ring_size(w->msgs) / 4) {
                w->too_big++; /* cannot happen within the reassembly limits */
                return;
        }
        while (!(buf = ring_reserve(w->msgs, need))) {
                Room room = {w->ws, w->msgs, need};

                if (stopping(w->ws))
                        return;
                event_notify(&w->ws->progress); /* the caller may wait for this job */
                event_wait(&w->room_ev, has_room, &room);
        }
        memcpy(buf, &h, sizeof h);
        if (!sipmsg_pack(msg, buf + MSG_HDR, need - MSG_HDR)) {
                w->too_big++; /* need is its size: cannot happen; nothing committed */
                return;
        }
        ring_commit(w->msgs, 0, 0, need);
}

static void datagram_job(Worker *w, const uint8_t *data, size_t len, int64_t ts_us)
{
        DecodedPacket pkt;

        if (len < sizeof pkt)
                return; /* cannot happen: the caller wrote it */
        memcpy(&pkt, data, sizeof pkt);
        pkt.payload = data + sizeof pkt;
        pkt.payload_len = len - sizeof pkt;
        front_decoded(&w->front, &pkt, ts_us);
}

static bool has_job(void *arg)
{
        Worker *w = arg;

        return ring_used(w->jobs) > 0 || stopping(w->ws);
}

static void *worker_main(void *arg)
{
        Worker *w = arg;
        RingRecord r;
        JobHdr h;

        while (!stopping(w->ws)) {
                if (!ring_peek(w->jobs, &r)) {
                        event_wait(&w->jobs_ev, has_job, w);
                        continue;
                }
                memcpy(&h, r.data, sizeof h);
                w->seq = h.seq;
                if (h.kind == JOB_DATAGRAM)
                        datagram_job(w, r.data + sizeof h, r.len - sizeof h, r.ts_us);
                else if (h.kind == JOB_EXPIRE)
                        front_expire(&w->front, r.ts_us);
                else
                        front_flush(&w->front, r.ts_us);
                ring_pop(w->jobs);
                atomic_store_explicit(&w->done, h.seq + 1, memory_order_release);
                event_notify(&w->ws->progress);
        }
        return NULL;
}

/* ---- the caller's side ------------------------------------------------ */

/*
 * A worker waiting for room in its message ring waits until the ring is
 * half empty (has_room): it is woken when a pop gets there, not at every
 * pop. Same fence-then-look as event_notify(); the ring's fill level is
 * read only when someone waits.
 */
static void room_notify(Worker *w)
{
        Event *e = &w->room_ev;

        atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&e->waiters, memory_order_relaxed) ||
            ring_used(w->msgs) > ring_size(w->msgs) / 2)
                return;
        atomic_fetch_add(&e->count, 1);
        syscall(SYS_futex, &e->count, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Feed the tracker the messages of job seq that worker w has written;
 * true once the job is complete and all of them are fed. */
static bool feed(Workers *ws, Worker *w, uint64_t seq)
{
        /* Read done first: every message of a job it covers is in the ring. */
        uint64_t done = atomic_load_explicit(&w->done, memory_order_acquire);
        RingRecord r;
        MsgHdr h;

        while (ring_peek(w->msgs, &r)) {
                memcpy(&h, r.data, sizeof h);
                if (h.seq != seq)
                        break;
                /* Its strings stay in the ring, where they were written, until the pop. */
                sipmsg_unpack(r.data + MSG_HDR, &ws->msg);
                tracker_feed(ws->tracker, &h.meta, &ws->msg);
                ring_pop(w->msgs);
                room_notify(w);
        }
        return done > seq;
}

typedef struct {
        Worker *w;
        uint64_t seq;
} JobWait;

static bool job_moved(void *arg)
{
        JobWait *j = arg;

        return atomic_load_explicit(&j->w->done, memory_order_acquire) > j->seq ||
               ring_used(j->w->msgs) > 0;
}

/* Wake the workers that have jobs they were not woken for: before the
 * caller waits for one of them, and every WAKE_BATCH jobs (a wake is a
 * system call when the worker sleeps: once per job would cost more than
 * the job). */
static void wake_all(Workers *ws)
{
        for (unsigned i = 0; i < ws->n; i++)
                if (ws->w[i].unwoken) {
                        ws->w[i].unwoken = 0;
                        event_notify(&ws->w[i].jobs_ev);
                }
}

static void caller_wait(Workers *ws, CondFn cond, void *arg)
{
        wake_all(ws);
        ws->waits++;
        event_wait(&ws->progress, cond, arg);
}

/* Feed what the workers have finished, in order; with wait, everything. */
static void drain(Workers *ws, bool wait)
{
        while (ws->fed_seq < ws->next_seq) {
                uint64_t seq = ws->fed_seq;
                unsigned k = ws->order[seq % ORDER_CAP];
                Worker *w = &ws->w[k == ORDER_ALL ? ws->all_next : k];
                JobWait j = {w, seq};

                if (!feed(ws, w, seq)) {
                        if (!wait)
                                return;
                        caller_wait(ws, job_moved, &j);
                        continue;
                }
                if (k == ORDER_ALL && ++ws->all_next < ws->n)
                        continue; /* the next worker's part of the same job */
                ws->all_next = 0;
                ws->fed_seq++;
        }
}

/* The job the tracker needs next, on the worker that has it. */
static JobWait next_job(Workers *ws)
{
        unsigned k = ws->order[ws->fed_seq % ORDER_CAP];

        return (JobWait){&ws->w[k == ORDER_ALL ? ws->all_next : k], ws->fed_seq};
}

typedef struct {
        Room room;
        JobWait next;
} RoomOrNext;

static bool room_or_next(void *arg)
{
        RoomOrNext *c = arg;

        return has_room(&c->room) || job_moved(&c->next);
}

/* Hand a job to worker k (ORDER_ALL: every worker), waiting for room. */
static void dispatch(Workers *ws, unsigned k, JobKind kind, int64_t ts_us, const void *pre,
                     size_t pre_len, const uint8_t *data, size_t len)
{
        JobHdr h = {.seq = ws->next_seq, .kind = kind};

        len += pre_len;
        unsigned first = k == ORDER_ALL ? 0 : k, last = k == ORDER_ALL ? ws->n - 1 : k;

        if (ws->next_seq - ws->fed_seq >= ORDER_CAP)
                drain(ws, true); /* ORDER_CAP jobs in flight: rare, and brief */
        for (unsigned i = first; i <= last; i++) {
                Worker *w = &ws->w[i];
                Room room = {ws, w->jobs, sizeof h + len};
                uint8_t *buf;

                while (!(buf = ring_reserve(w->jobs, sizeof h + len))) {
                        drain(ws, false);
                        if (!ring_has_room(w->jobs, sizeof h + len)) {
                                /* Worker i may itself wait for the job the
                                 * tracker needs next, on another worker. */
                                RoomOrNext c = {room, next_job(ws)};

                                caller_wait(ws, room_or_next, &c);
                        }
                }
                memcpy(buf, &h, sizeof h);
                if (pre_len)
                        memcpy(buf + sizeof h, pre, pre_len);
                if (len > pre_len)
                        memcpy(buf + sizeof h + pre_len, data, len - pre_len);
                ring_commit(w->jobs, ts_us, 0, sizeof h + len);
                if (++w->unwoken >= WAKE_BATCH || k == ORDER_ALL) {
                        w->unwoken = 0;
                        event_notify(&w->jobs_ev);
                }
        }
        ws->order[ws->next_seq % ORDER_CAP] = (uint8_t)k;
        ws->next_seq++;
}

/* Both directions of a flow to one worker: the unordered pair of addresses. */
static unsigned shard(const Workers *ws, const DecodedPacket *pkt)
{
        uint64_t a = hash_bytes(ws->hash_seed, pkt->src.addr, sizeof pkt->src.addr);
        uint64_t b = hash_bytes(ws->hash_seed, pkt->dst.addr, sizeof pkt->dst.addr);

        return (unsigned)(((a ^ b) >> 32) * ws->n >> 32);
}

/*
 * Each frame is decoded once, here, where its shard must be known anyway;
 * the front gets the datagram (JOB_DATAGRAM: a DecodedPacket and its
 * payload), counted as a front would count the frame. IP fragments are
 * reassembled here too, on the caller's front, and the datagram goes to
 * the front of its own addresses: a tunnel whose outer datagram is
 * sometimes fragmented shows the outer pair in its fragments and the inner
 * pair in its whole packets, so sharding fragments as they come would
 * split one inner flow (and its TCP stream) over two fronts.
 */
void workers_frame(Workers *ws, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen)
{
        Front *f = ws->own;
        DecodedPacket pkt;
        DecodeVerdict v;
        unsigned k;

        f->stats.packets++;
        f->stats.bytes += caplen;
        v = decode_packet(linktype, data, caplen, &pkt);
        f->stats.decode[v]++;
        if (v == DECODE_E_FRAGMENT && front_reassemble(f, &pkt, ts_us))
                v = DECODE_OK;
        if (v != DECODE_OK)
                return; /* counted, nothing to parse */
        if (pkt.payload_len > JOB_RING_BYTES / 4 - sizeof(JobHdr) - sizeof pkt)
                return; /* beyond any IP datagram */
        k = shard(ws, &pkt);
        ws->w[k].frames++;
        dispatch(ws, k, JOB_DATAGRAM, ts_us, &pkt, sizeof pkt, pkt.payload, pkt.payload_len);
        /* Looking at the workers reads lines they write: not at every frame. */
        if ((ws->next_seq & (POLL_EVERY - 1)) == 0)
                drain(ws, false);
}

void workers_sync(Workers *ws)
{
        drain(ws, true);
}

void workers_expire(Workers *ws, int64_t now_us)
{
        dispatch(ws, ORDER_ALL, JOB_EXPIRE, now_us, NULL, 0, NULL, 0);
        drain(ws, true);
}

void workers_flush(Workers *ws, int64_t last_ts_us)
{
        dispatch(ws, ORDER_ALL, JOB_FLUSH, last_ts_us, NULL, 0, NULL, 0);
        drain(ws, true);
}

void workers_get_stats(Workers *ws, PipelineStats *out)
{
        uint64_t lo = UINT64_MAX, hi = 0;

        for (unsigned i = 0; i < ws->n; i++) {
                PipelineStats s;

                front_get_stats(&ws->w[i].front, &s);
                pipeline_stats_add(out, &s);
                lo = ws->w[i].frames < lo ? ws->w[i].frames : lo;
                hi = ws->w[i].frames > hi ? ws->w[i].frames : hi;
                out->workers_too_big += ws->w[i].too_big;
        }
        out->workers = ws->n + 1; /* the analysis threads: the caller's too */
        out->workers_frames_min = lo;
        out->workers_frames_max = hi;
        out->workers_waits = ws->waits;
}

/* ---- setup ------------------------------------------------------------ */

Workers *workers_free(Workers *ws)
{
        if (!ws)
                return NULL;
        atomic_store(&ws->stop, true);
        for (unsigned i = 0; i < ws->n; i++) {
                Worker *w = &ws->w[i];

                event_notify(&w->jobs_ev);
                event_notify(&w->room_ev);
                if (w->started)
                        pthread_join(w->thread, NULL);
                front_done(&w->front);
                ring_free(w->jobs);
                ring_free(w->msgs);
        }
        free(ws->w);
        free(ws);
        return NULL;
}

Workers *workers_new(const PipelineConfig *cfg, unsigned n, Tracker *t, Front *own)
{
        Workers *ws = aligned_alloc(64, sizeof(Workers) + 63 - (sizeof(Workers) + 63) % 64);
        sigset_t all, old;
        bool ok = true;

        if (!ws)
                return NULL;
        memset(ws, 0, sizeof *ws);
        if (n > PIPELINE_WORKERS_MAX)
                n = PIPELINE_WORKERS_MAX;
        ws->tracker = t;
        ws->own = own;
        ws->hash_seed = cfg->tracker.hash_seed ^ 0x2545f4914f6cdd1dull;
        ws->w = aligned_alloc(64, n * sizeof *ws->w); /* sizeof is a multiple of 64 */
        if (ws->w)
                memset(ws->w, 0, n * sizeof *ws->w);
        if (!ws->w)
                return workers_free(ws);
        ws->n = n;
        for (unsigned i = 0; i < n; i++) {
                Worker *w = &ws->w[i];

                w->ws = ws;
                w->jobs = ring_new(JOB_RING_BYTES);
                w->msgs = ring_new(MSG_RING_BYTES);
                if (!w->jobs || !w->msgs || !front_init(&w->front, cfg, n, deliver, w))
                        return workers_free(ws);
        }
        /* The threads take no signal: they are the caller's (the event loop's). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (unsigned i = 0; i < n && ok; i++) {
                ok = pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i]) == 0;
                ws->w[i].started = ok;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return ok ? ws : workers_free(ws);
}

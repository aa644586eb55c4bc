/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The correlation engine (DESIGN.md "Correlation"): transactions keyed by
 * top Via branch + CSeq method, attempt chains keyed by Call-ID + From tag,
 * principals keyed by (user, realm, client IP). Every retry is checked
 * against the challenge it answers; refusals accumulate per principal and the
 * rules (analysis/rules/) turn a repeated pattern into one Diagnosis.
 *
 * Time is an input: every call takes the packet timestamp. No I/O, no
 * globals, no clock reads (but through TrackerConfig.clock_us, the live
 * daemon's record cap).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diagnosis.h"
#include "../parser/decode.h"
#include "../parser/sipmsg.h"

typedef struct Tracker Tracker;
struct CredStore; /* analysis/credentials.h */

typedef struct {
        unsigned threshold;      /* refusals before a diagnosis (default 3) */
        int64_t window_us;       /* sliding window and suppression (default 300 s) */
        size_t max_transactions; /* hard limits; the least recently used entry is evicted */
        size_t max_chains;
        size_t max_principals;
        size_t max_nonces;
        size_t max_clients;         /* (From user, client address) challenge memory */
        int64_t transaction_ttl_us; /* transactions older than this expire (default 64*T1 = 32 s) */
        size_t max_sources;         /* per-source counters (account-scan) */
        unsigned guess_threshold;   /* distinct failing responses: credential-guessing (10) */
        unsigned scan_threshold;    /* distinct failing usernames per source: account-scan (10) */
        unsigned max_records_per_minute; /* global cap; 0 = no cap (default 60) */
        struct CredStore *credentials;   /* not owned; NULL = no verification */
        uint64_t hash_seed;              /* keys the table hash; the daemon draws it at random */
        /* Commit every table's memory (sized by the limits above) when the tracker is built
         * or reconfigured, so that RSS stays flat however full the tables get. Off by default:
         * tests build many small trackers. */
        bool preallocate;
        /* The clock of the record cap (µs, monotonic), for live input: forged HEP
         * timestamps must not move it. NULL: packet time (capture files, tests). */
        int64_t (*clock_us)(void);
} TrackerConfig;

#define TRACKER_THRESHOLD_MAX 32

void tracker_config_default(TrackerConfig *cfg);

typedef struct {
        uint64_t requests;
        uint64_t responses;
        uint64_t retransmissions;
        uint64_t unmatched_responses;
        uint64_t challenges;     /* usable 401 and 407 challenges */
        uint64_t challenges_407; /* of which 407 (Proxy-Authenticate) */
        uint64_t refusals;
        uint64_t successes;      /* 2xx final responses matched to their request */
        uint64_t auth_successes; /* of which to a request that carried credentials */
        uint64_t diagnoses;
        uint64_t suppressed;
        uint64_t rate_limited; /* records held back by the global cap */
        uint64_t verified_ok;
        uint64_t verified_bad;
        uint64_t verify_unsupported;
        /* current table sizes */
        uint64_t transactions;
        uint64_t chains;
        uint64_t clients;
        uint64_t principals;
        uint64_t nonces;
        uint64_t sources;
        /* entries evicted because a table was full */
        uint64_t evicted_transactions;
        uint64_t evicted_chains;
        uint64_t evicted_clients;
        uint64_t evicted_principals;
        uint64_t evicted_nonces;
        uint64_t evicted_sources;
        uint64_t evicted_guessed; /* accounts under guessing forgotten within the window */
        uint64_t long_keys;       /* keys too long for their slot, stored apart (one malloc each) */
        uint64_t source_users_capped; /* a source's username list found no free slot (bounded) */
} TrackerStats;

/* Called once per diagnosis record. The record is only valid during the call. */
typedef void (*DiagnosisFn)(const Diagnosis *d, void *userdata);

/*
 * How far the source address of a message can be believed (DESIGN.md's
 * "verified source", sipauthmon(8) VERIFIED SOURCES). A captured UDP
 * datagram's source is whatever its sender wrote: ORIGIN_WIRE, proven only
 * later when the source answers a nonce the server sent to it alone.
 */
typedef enum {
        ORIGIN_WIRE = 0,  /* captured datagram: the source may be spoofed */
        ORIGIN_HANDSHAKE, /* a TCP stream whose three-way handshake was seen */
        ORIGIN_HEP_AUTH,  /* HEP from an authenticated agent (auth key or allow-list) */
        ORIGIN_HEP_UNAUTH /* HEP nobody vouches for (--hep-in-capture without checks) */
} Origin;

/* Metadata of the packet a message arrived in. */
typedef struct {
        int64_t ts_us;
        Endpoint src, dst;
        Transport transport;
        Origin origin;
} PacketMeta;

Tracker *tracker_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata);
Tracker *tracker_free(Tracker *t);

/* Feed one parsed SIP message. */
void tracker_feed(Tracker *t, const PacketMeta *meta, const SipMsg *msg);

/* Expire state older than its lifetime relative to now_us (packet time). */
void tracker_expire(Tracker *t, int64_t now_us);

/* End of input: emit what is pending (the rate-limit summary). */
void tracker_flush(Tracker *t, int64_t now_us);

/*
 * Apply a new configuration (a reload): thresholds, window, caps and the
 * credential store take effect at once; a smaller table limit evicts the
 * least recently used entries down to it (counted). The hash seed stays.
 * False when a table could not get the memory for a raised limit: it keeps
 * the size it had (everything else is applied).
 */
bool tracker_reconfigure(Tracker *t, const TrackerConfig *cfg);

void tracker_get_stats(const Tracker *t, TrackerStats *out);

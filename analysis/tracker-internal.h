/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the tracker (tracker.h): the state its files share. One concern per
 * file, all behind this header:
 *
 *   tracker.c       the public entry: construction, feed, expiry, limits, stats
 *   keys.h          table keys and their hashes
 *   transactions.c  requests and responses meet in transactions; dispatch
 *   challenges.c    the latest challenge per chain and client, the nonces issued
 *   principals.c    refusals per principal, the window, classification,
 *                   what a server tolerates, successes
 *   compromise.c    accounts under guessing, and the success that follows
 *   sources.c       per-source username counters (account-scan)
 *   records.c       the output gate: filling records, the rate cap, delivery
 *
 * Every table is bounded (LRU eviction, counted) and expires by packet time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "attempt.h"
#include "keys.h"
#include "lru.h"
#include "rules.h"
#include "tracker.h"

#define SERVERS_MAX 4096 /* servers whose tolerated anomalies are learned */

/* Remembered per chain and per client: the latest challenge (who sent it is in there).
 * A new Holder is zeroed up to its challenges (HOLDER_ZERO) and written with
 * challenge_set_store: the challenges past latest.n are never written nor
 * read, so an insert touches the slot up to HOLDER_HOT (one challenge). */
typedef struct {
        bool creds_seen; /* this chain/client has answered some challenge before */
        ChallengeSet latest;
} Holder;

#define HOLDER_ZERO offsetof(Holder, latest.ch)
#define HOLDER_HOT  offsetof(Holder, latest.ch[1])

typedef struct {
        NonceInfo info;
} Nonce;

/*
 * How a message proved its source address (DESIGN.md verified sources,
 * sipauthmon(8) VERIFIED SOURCES). A UDP datagram's source is whatever its
 * sender wrote; the server's own replies are taken as genuine (they leave
 * the server's port, which the mirror copies). So a source is proven when it
 * answered a nonce the server sent to that address and port alone (only a
 * host that received the challenge knows it), spoke over a TCP connection
 * whose three-way handshake was seen, or was reported over a connection by
 * an authenticated HEP agent.
 */
typedef enum {
        PROOF_NONE = 0,
        PROOF_NONCE,
        PROOF_HANDSHAKE,
        PROOF_HEP,
} Proof;

/* Proven attempts of a record, by how. */
typedef struct {
        unsigned total, proven, nonce, handshake, hep;
} ProofCount;

/*
 * A request waiting for its final response. A new one is zeroed up to
 * TXN_ZERO (the flags, times, from_user, det.ex and det.offer); txn_open
 * copies the request's strings into det (the bytes past each NUL are never
 * read) and empties det.realm; det.cred is written only when the request
 * carries credentials and read only when has_creds. So an insert touches
 * the slot up to TXN_HOT (prefetched, LruParams.hot_size), and det.cred's
 * lines only for a request with credentials.
 */
typedef struct {
        Endpoint src, dst;
        Transport transport;
        bool final_seen;
        bool has_creds;
        bool nocreds_after_challenge;
        bool answered_latest;
        bool have_ref;
        bool ref_proxy;
        bool nonce_known;
        uint8_t proof;      /* Proof: how the request proved its source */
        uint8_t origin;     /* Origin of the request (PacketMeta) */
        uint8_t verify;     /* DigestVerdict; VERIFY_NO_SECRET without a credentials file */
        uint32_t resp_hash; /* fingerprint of the response, to count distinct guesses */
        uint32_t anomalies;
        uint32_t delay_ms, nonce_age_ms;
        Endpoint challenged_client;
        char from_user[USER_MAX];
        AttemptDetails det; /* the request's, and the challenge it answers */
} Txn;

#define TXN_ZERO offsetof(Txn, det.method)
#define TXN_HOT  offsetof(Txn, det.cred)

typedef struct {
        int64_t ts_us;
        uint32_t delay_ms, nonce_age_ms;
        uint32_t
            mask; /* anomalies (1u << DiagCode), incl. stale, no-credentials, challenge-missing */
        uint32_t resp_hash;
        uint32_t req_hash; /* Call-ID and CSeq number of the refused request */
        uint32_t tag_hash; /* its From tag */
        uint16_t status;
        bool answered_latest;
        bool stale;
        bool nonce_age_known;
        bool moved; /* came from another address/port than the challenged request */
        uint8_t verify;
        uint8_t proof; /* Proof of the refused request's source */
} AttemptRec;

/* A new Principal is zeroed up to its ring (PRINCIPAL_ZERO): only the
 * ring_n entries before ring_head are ever read, each written first. An
 * insert touches the slot up to the first entry (PRINCIPAL_HOT). */
typedef struct {
        /* user and realm: the principal's key; the rest: its latest refused
         * attempt (principal_take_details) */
        AttemptDetails det;
        Endpoint addr;
        unsigned ring_head, ring_n;
        unsigned streak_total;
        int64_t streak_first_us; /* first refusal since the last success */
        int64_t last_emit_us[DIAG__MAX];
        bool emitted[DIAG__MAX];
        bool emitted_verified[DIAG__MAX]; /* that record named a verified source */
        /* where the latest refused attempt went, for the record */
        char call_id[160];
        char server_agent[SMALL_STR];
        Endpoint client, server;
        Endpoint moved_from, moved_to; /* an example of a retry from elsewhere */
        Transport transport;
        bool proxy, pjsip_shape;
        AttemptRec ring[TRACKER_THRESHOLD_MAX]; /* refused attempts, oldest overwritten */
} Principal;

#define PRINCIPAL_ZERO offsetof(Principal, ring)
#define PRINCIPAL_HOT  offsetof(Principal, ring[1])

typedef struct {
        uint32_t tolerated; /* anomalies this server accepts (Rule.tolerated) */
} ServerInfo;

/* Per client address: which usernames failed from it (account-scan). */
#define SOURCE_USERS 64

typedef struct {
        uint64_t user_hash;
        int64_t fail_us;
        int64_t first_fail_us; /* its first failure from this source */
        bool definite;         /* refused with credentials, or 403/404 */
        bool pending;          /* challenged without credentials: fails if never answered */
        bool answered;         /* credentials were sent for it */
        bool succeeded;        /* it authenticated: not part of a scan */
        bool proven;           /* a failure for it came from the proven source */
        bool scanned;          /* named in an account-scan record of this source */
        char name[24];
} SourceUser;

typedef struct Source Source;
struct Source {
        Endpoint addr;
        unsigned cap_users;
        unsigned n_users;
        unsigned next; /* replacement cursor once full */
        /* 16 bits of each user's user_hash, in the same order, in the slot
         * next to its key: a lookup scans these (the first few are in the line
         * a lookup reads anyway) and reads only a SourceUser whose tag matches. */
        uint16_t tags[SOURCE_USERS];
        SourceUser *users; /* grows on demand up to SOURCE_USERS: most sources have one */
        int64_t last_emit_us;
        bool emitted;
        bool scan_verified;    /* the account-scan record named a verified source */
        unsigned scan_users;   /* usernames in the account-scan record */
        int64_t ban_minute_us; /* budget of records that can lead to a ban (record_deliver) */
        unsigned ban_count;
        int64_t compromise_emit_us; /* a credential-compromise was said for it */
        unsigned failures;
        char user_agent[SMALL_STR];
        char method[METHOD_MAX];
        char realm[REALM_MAX];
        char server_agent[SMALL_STR];
        Endpoint client, server;
        Transport transport;
        bool pjsip_shape;
};

/* Username slots over all sources: bounded at start (SOURCE_USER_SLOTS per
 * source on average), so a flood of sources that each try many names cannot
 * grow memory past what the limits promise; a source that finds no slot
 * reuses its own (counted, tracker.source_users_capped). */
#define SOURCE_USER_SLOTS 4

/*
 * Accounts reported for credential-guessing, remembered for the window so
 * that a later success for the account, from the guessing source or any
 * other, is a credential-compromise. A small table: guessing records are
 * rare (one per account and source per window); a full table forgets the
 * oldest, counted as evicted_guessed while still in the window.
 */
#define GUESSED_MAX 64

typedef struct {
        uint64_t user_hash, realm_hash;
        Endpoint guesser;
        int64_t first_us, reported_us;
        unsigned attempts;
        bool verified;              /* a guessing record for it named a verified source */
        int64_t compromise_emit_us; /* a compromise was said for this entry */
} Guessed;

/* A name counts as scanned before a login from the scanner when it failed
 * this long before the challenge the login answers (its own 401 is no scan). */
#define SCAN_LOGIN_GAP_US 2000000

/* Loop answers (loop_answers) a window must hold before guessing is said:
 * three candidates under one request number. */
#define GUESS_LOOP_MIN 3

/* A challenge without credentials counts toward a scan once it has gone this
 * long unanswered: a real client answers within milliseconds. */
#define SCAN_PENDING_US 2000000

/* Records that can lead to a ban (verified credential-guessing, account-scan,
 * credential-compromise) have their own budget per source and minute,
 * outside the global cap: a flood of cheap records cannot hold a real
 * attacker's back (issue 13), and one source cannot flood the journal. */
#define BAN_RECORDS_PER_SOURCE 10

struct Tracker {
        TrackerConfig cfg;
        DiagnosisFn fn;
        void *userdata;
        LruMap txns, chains, clients, nonces, principals, sources, servers;
        /* Keys of the principal and source the message being handled will
         * probably look up, hashed and prefetched early (len KEY_NONE: none). */
        HKey hint_principal, hint_source;
        Guessed guessed[GUESSED_MAX];
        size_t source_user_slots; /* allocated over all sources (source_free) */
        uint32_t tolerable;       /* anomalies a server can be seen to accept (rules_tolerable) */
        /* The world of the message being handled, the first byte of every key:
         * 1 for what unauthenticated HEP reports (ORIGIN_HEP_UNAUTH), else 0.
         * Anyone can send such HEP, so it must not touch what the wire showed:
         * claim a transaction before the real reply, replace a client's latest
         * challenge, or fill a principal's window with unproven refusals. */
        uint8_t world;
        TrackerStats st;
        /* global cap on records per minute of packet time */
        int64_t rate_minute_us;
        unsigned rate_count;
        unsigned rate_held;
        unsigned rate_held_by_code[DIAG__MAX];
        int64_t rate_first_held_us, rate_last_held_us;
};

/* A final response to a transaction, as refusals and successes see it. */
typedef struct {
        const PacketMeta *meta;
        const SipMsg *m;
        const ChallengeSet *cs; /* its challenges (maybe none usable); NULL unless 401/407 */
        bool pjsip_shape;       /* a challenge with opaque and qop (Asterisk PJSIP) */
} Reply;

/* ---- small helpers ---------------------------------------------------- */

static inline void copy_str(char *dst, size_t n, const char *src)
{
        size_t len;

        if (!src)
                src = "";
        len = strnlen(src, n - 1);
        memcpy(dst, src, len);
        dst[len] = '\0';
}

/* Fingerprints of realms, nonces, responses and usernames, compared for
 * equality only. Keyed like the tables: the strings are the sender's, and a
 * chosen collision would merge two usernames or two guesses. */
static inline uint64_t str_hash(const Tracker *t, const char *s)
{
        return s ? lru_hash(t->cfg.hash_seed ^ 0x5eedULL, s, strlen(s)) : 0;
}

static inline bool is_method(const char *m, const char *name)
{
        return m && strcasecmp(m, name) == 0;
}

static inline uint32_t ms_between(int64_t from_us, int64_t to_us)
{
        int64_t d = (to_us - from_us) / 1000;

        if (d < 0)
                return 0;
        return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* ---- transactions.c --------------------------------------------------- */

void txn_request(Tracker *t, const PacketMeta *meta, const SipMsg *m);
void txn_response(Tracker *t, const PacketMeta *meta, const SipMsg *m);

/* ---- challenges.c ----------------------------------------------------- */

/* An empty nonce is an IMS-style initial request naming the user, not an answer. */
bool cred_usable(const SipCredentials *c);
const ChallengeSet *challenge_pick_ref(const Holder *chain, const Holder *client);
const SipCredentials *challenge_pick_cred(const Tracker *t, const SipMsg *m,
                                          const ChallengeSet *ref);
const ChallengeInfo *challenge_pick_ch(const ChallengeSet *ref, const SipCredentials *c);
/* What cs offers: its algorithms, and the first challenge's qop. */
void challenge_offer(const ChallengeSet *cs, OfferDetails *o);
void challenge_collect(const Tracker *t, const SipMsg *m, bool proxy, ChallengeSet *cs,
                       bool *pjsip_shape);
/* *dst = *src, but for the challenges past src->n (never read). */
void challenge_set_store(ChallengeSet *dst, const ChallengeSet *src);
/* A nonce answered with an nc: remember the highest, per client (RFC 7616 §3.4). */
void nonce_note_nc(NonceInfo *n, const SipCredentials *cred, const Endpoint *src, int64_t now);

/* The keys a challenge is recorded under, hashed and prefetched before the
 * transaction lookup; the client key assumes the response goes back to where
 * the request came from (challenge_record checks). */
#define PREP_NONCES 4

typedef struct {
        HKey chain, client;
        HKey nonce[PREP_NONCES]; /* for m->challenges[0..PREP_NONCES) that qualify */
        bool nonce_ok[PREP_NONCES];
} ChallengeKeys;

void challenge_keys(Tracker *t, const PacketMeta *meta, const SipMsg *m, bool proxy,
                    ChallengeKeys *ck);
void challenge_keys_prefetch(Tracker *t, const ChallengeKeys *ck);
void challenge_record(Tracker *t, const PacketMeta *meta, const SipMsg *m, const char *from_user,
                      const Endpoint *client, ChallengeSet *cs, ChallengeKeys *ck);

/* ---- principals.c ----------------------------------------------------- */

bool principal_keep(const void *e);
/* Hash and prefetch the principal key a response will look up (principal_get
 * then reuses the hash). */
void principal_hint(Tracker *t, const char *user, const char *realm, const Endpoint *addr);
/* A refused attempt: into the principal's window, which may make a record. */
void principal_refusal(Tracker *t, const Reply *r, const Txn *x, uint32_t mask, bool stale);
/* A 2xx: learn what the server tolerates, then a compromise, or the end of a streak. */
void principal_success(Tracker *t, const Reply *r, const Txn *x);

/* ---- compromise.c ----------------------------------------------------- */

void guessed_remember(Tracker *t, const Principal *p, unsigned attempts, int64_t first_us,
                      int64_t now_us, bool verified);

/* The account a login went to, as the tables know it (each may be NULL). */
typedef struct {
        const Principal *p;
        Source *so;
        const SourceUser *su;
} LoginAccount;

/* Whether the login x is a credential-compromise (then said, once per window). */
bool compromise_check(Tracker *t, const Reply *r, const Txn *x, const LoginAccount *acct);

/* ---- sources.c -------------------------------------------------------- */

bool source_keep(const void *e);
void source_free(void *e, void *userdata);
/* Hash and prefetch the source key of src (source_get then reuses the hash). */
void source_hint(Tracker *t, const Endpoint *src);
Source *source_get(Tracker *t, const Endpoint *src, int64_t now, bool create);
SourceUser *source_user(Tracker *t, Source *so, const char *user, bool create);
void source_mark(Tracker *t, const Endpoint *src, const char *user, bool answered, bool succeeded,
                 int64_t now);
/* A username failed from x's source: definite, or a challenge not (yet) answered. */
void source_fail(Tracker *t, const Reply *r, const Txn *x, bool definite);
/* Whether a 403/404 to x counts toward an account scan. */
bool scan_probe(const Txn *x, const SipMsg *m);
void scan_recent_sources(Tracker *t, int64_t now_us, bool final);

/* ---- records.c -------------------------------------------------------- */

bool ban_code(DiagCode c);
/* The cap's minute is over: summarise what it held back. */
void rate_roll(Tracker *t, int64_t now_us);
void rate_summary(Tracker *t, int64_t now_us);
/* An empty record of code: severity from its rule, the attempts and times. */
void record_init(Diagnosis *d, DiagCode code, unsigned attempts, int64_t first_us, int64_t last_us);
/* The attempt's user, realm, method and User-Agent. */
void record_attempt(Diagnosis *d, const AttemptDetails *att);
/* Who spoke to whom, and how. */
void record_parties(Diagnosis *d, const Endpoint *client, const Endpoint *server,
                    Transport transport, const char *server_agent);
/* The parts of a record every principal-based diagnosis shares. */
void record_principal(Diagnosis *d, const Principal *p, DiagCode code);
void proof_count(ProofCount *pc, Proof proof);
/* The record's verdict on its source; what: the unit counted; why_not: what
 * an unverified record lacked. */
void record_source(Diagnosis *d, bool verified, const ProofCount *pc, const char *what,
                   const char *why_not);
/* Evidence and remedy from the code's rule. */
void record_words(Diagnosis *d, const Streak *s);
/* The exchange of the attempt det for the ladder; challenged: where its
 * challenge went, named when the attempt moved. */
void record_exchange(Diagnosis *d, const AttemptDetails *det, const Endpoint *challenged);
/* src: the source a ban would hit (NULL for records that name none). */
void record_deliver(Tracker *t, const Diagnosis *d, int64_t packet_us, const Endpoint *src);

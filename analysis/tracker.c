/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Correlation (DESIGN.md): requests and responses meet in transactions
 * (RFC 3261 §17.1.3: top Via branch + CSeq method); the latest challenge a
 * client received is remembered per attempt chain (Call-ID + From tag) and
 * per client (From user + client address + server address, for clients that
 * start a new Call-ID per retry; a phone with accounts on two servers keeps
 * one memory per server); every nonce a server issued is remembered with its algorithm and
 * last nc. A retry with credentials is checked against the challenge it
 * answers when it is seen; when the server refuses it, the attempt and its
 * anomalies go to the principal (user, realm, client address), whose
 * sliding window decides when a diagnosis is due.
 *
 * Every table is bounded (LRU eviction, counted) and expires by packet time.
 */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "credentials.h"
#include "digest.h"
#include "lru.h"
#include "rules.h"

#define KEY_MAX     200
#define SERVERS_MAX 4096 /* servers whose tolerated anomalies are learned */
#define USER_MAX    64
#define METHOD_MAX  16
#define ALG_MAX     24

typedef struct {
        uint8_t buf[KEY_MAX];
        uint16_t len;
} Key;

/*
 * A key with its hash for one table, computed once. A message needs up to
 * six lookups in tables far larger than the cache; hashing every key first
 * and prefetching (bucket, then slot) lets their misses overlap instead of
 * being waited for one after the other.
 */
typedef struct {
        Key k;
        uint64_t h;
} HKey;

/* Remembered per chain and per client: the latest challenge (who sent it is in there). */
typedef struct {
        ChallengeSet latest;
        bool creds_seen; /* this chain/client has answered some challenge before */
} Holder;

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

typedef struct {
        Endpoint src, dst;
        Transport transport;
        bool final_seen;
        bool has_creds;
        bool nocreds_after_challenge;
        bool answered_latest;
        bool nc_stuck;
        bool have_ref;
        bool ref_proxy;
        bool nonce_known;
        uint8_t proof;      /* Proof: how the request proved its source */
        uint8_t origin;     /* Origin of the request (PacketMeta) */
        uint8_t verify;     /* DigestVerdict; VERIFY_NO_SECRET without a credentials file */
        uint32_t resp_hash; /* fingerprint of the response, to count distinct guesses */
        uint32_t anomalies;
        uint32_t delay_ms, nonce_age_ms;
        unsigned offered_qop, cred_qop;
        Endpoint challenged_client;
        char method[METHOD_MAX];
        char user[USER_MAX];
        char from_user[USER_MAX];
        char realm[REALM_MAX];
        char cred_realm[REALM_MAX];
        char cred_alg[ALG_MAX];
        char offered_algs[48];
        char cred_uri[SMALL_STR];
        char ruri[SMALL_STR];
        char nonce_prefix[9];
        char user_agent[SMALL_STR];
} Txn;

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

typedef struct {
        char user[USER_MAX];
        char realm[REALM_MAX];
        Endpoint addr;
        AttemptRec ring[TRACKER_THRESHOLD_MAX];
        unsigned ring_head, ring_n;
        unsigned streak_total;
        int64_t streak_first_us; /* first refusal since the last success */
        int64_t last_emit_us[DIAG__MAX];
        bool emitted[DIAG__MAX];
        bool emitted_verified[DIAG__MAX]; /* that record named a verified source */
        /* details of the latest refused attempt, for the record */
        char method[METHOD_MAX];
        char call_id[160];
        char user_agent[SMALL_STR];
        char server_agent[SMALL_STR];
        Endpoint client, server;
        Endpoint moved_from, moved_to; /* an example of a retry from elsewhere */
        Transport transport;
        char cred_realm[REALM_MAX];
        char cred_alg[ALG_MAX];
        char offered_algs[48];
        char cred_uri[SMALL_STR];
        char ruri[SMALL_STR];
        char nonce_prefix[9];
        unsigned offered_qop, cred_qop;
        bool nc_stuck, proxy, pjsip_shape;
} Principal;

typedef struct {
        uint32_t tolerated; /* anomalies this server accepts (LEARNABLE) */
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
        SourceUser *users; /* grows on demand up to SOURCE_USERS: most sources have one */
        unsigned cap_users;
        unsigned n_users;
        unsigned next; /* replacement cursor once full */
        int64_t last_emit_us;
        bool emitted;
        bool scan_verified;    /* the account-scan record named a verified source */
        unsigned scan_users;   /* usernames in the account-scan record */
        int64_t ban_minute_us; /* budget of records that can lead to a ban (deliver) */
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

static void free_source(void *e, void *userdata)
{
        Source *so = e;
        size_t *slots = userdata;

        *slots -= so->cap_users;
        free(so->users);
}

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
        size_t source_user_slots; /* allocated over all sources (free_source) */
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

/* ---- small helpers ---------------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *src)
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
static uint64_t str_hash(const Tracker *t, const char *s)
{
        return s ? lru_hash(t->cfg.hash_seed ^ 0x5eedULL, s, strlen(s)) : 0;
}

/* Every key starts with the world of the message (Tracker.world): traffic
 * that unauthenticated HEP reports lives apart from what the wire showed. */
static void key_init(Key *k, const Tracker *t)
{
        k->buf[0] = t->world;
        k->len = 1;
}

static void key_add(Key *k, const void *data, size_t n)
{
        size_t room = KEY_MAX - k->len;

        if (n + 1 > room)
                n = room > 0 ? room - 1 : 0;
        memcpy(k->buf + k->len, data, n);
        k->len = (uint16_t)(k->len + n);
        if (k->len < KEY_MAX)
                k->buf[k->len++] = 0; /* field separator */
}

static void key_add_str(Key *k, const char *s)
{
        key_add(k, s ? s : "", s ? strlen(s) : 0);
}

static void key_add_addr(Key *k, const Endpoint *e)
{
        key_add(k, &e->family, 1);
        key_add(k, e->addr, e->family == 6 ? 16 : 4);
}

static void clamp_config(TrackerConfig *c);

static void *table_find(LruMap *m, const Key *k, int64_t now)
{
        return lru_find(m, k->buf, k->len, now);
}

/* Find or create (zeroed); NULL only on allocation failure. */
static void *table_get(LruMap *m, const Key *k, int64_t now, bool *created)
{
        return lru_get(m, k->buf, k->len, now, created);
}

static void hkey_hash(HKey *hk, const LruMap *m)
{
        hk->h = lru_key_hash(m, hk->k.buf, hk->k.len);
        lru_prefetch(m, hk->h);
}

static bool key_same(const Key *a, const Key *b)
{
        return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* hk now holds a key built for the same table; rehash only if it changed. */
static void hkey_update(HKey *hk, const Key *k, const LruMap *m)
{
        if (key_same(k, &hk->k))
                return;
        hk->k = *k;
        hk->h = lru_key_hash(m, k->buf, k->len);
}

#define KEY_NONE UINT16_MAX

/* The hash of k for m: the hint's when it holds the same key. */
static uint64_t hint_hash(const HKey *hint, const Key *k, const LruMap *m)
{
        if (key_same(k, &hint->k))
                return hint->h;
        return lru_key_hash(m, k->buf, k->len);
}

static void *table_find_h(LruMap *m, const HKey *hk, int64_t now)
{
        return lru_find_h(m, hk->h, hk->k.buf, hk->k.len, now);
}

static void *table_get_h(LruMap *m, const HKey *hk, int64_t now, bool *created)
{
        return lru_get_h(m, hk->h, hk->k.buf, hk->k.len, now, created);
}

static bool is_method(const char *m, const char *name)
{
        return m && strcasecmp(m, name) == 0;
}

/* ---- construction ----------------------------------------------------- */

/* Key bytes kept in the slot, per table; longer keys are stored out of line.
 * A Via branch is 20-40 bytes, a Call-ID and From tag together 40-80, a nonce 30-50. */
#define KEY_INLINE_TXN       56
#define KEY_INLINE_CHAIN     88
#define KEY_INLINE_CLIENT    56
#define KEY_INLINE_NONCE     64
#define KEY_INLINE_PRINCIPAL 64
#define KEY_INLINE_ADDR      24 /* family + address: 19 bytes at most */

static bool principal_keep(const void *e);
static bool source_keep(const void *e);

/* Every table has its own seed (hash_seed ^ salt), as before. */
static bool table_init(LruMap *m, const TrackerConfig *cfg, size_t max, size_t entry_size,
                       size_t key_inline, uint64_t salt, LruKeepFn keep_fn, LruFreeFn free_fn)
{
        LruParams p = {
            .max = max,
            .entry_size = entry_size,
            .key_inline = key_inline,
            .seed = cfg->hash_seed ^ salt,
            .preallocate = cfg->preallocate,
            .keep_fn = keep_fn,
            .free_fn = free_fn,
        };

        return lru_init(m, &p);
}

/* Under eviction pressure, entries that already show a pattern outlive one-offs. */
static bool principal_keep(const void *e)
{
        return ((const Principal *)e)->ring_n >= 2;
}

static bool source_keep(const void *e)
{
        return ((const Source *)e)->n_users >= 2;
}

void tracker_config_default(TrackerConfig *cfg)
{
        *cfg = (TrackerConfig){
            .threshold = 3,
            .window_us = 300 * 1000000LL,
            .max_transactions = 16384,
            .max_chains = 16384,
            .max_clients = 16384,
            .max_principals = 4096,
            .max_nonces = 32768,
            .transaction_ttl_us = 32 * 1000000LL,
            .max_sources = 16384,
            .guess_threshold = 10,
            .scan_threshold = 10,
            .max_records_per_minute = 60,
            .hash_seed = 0x2545f4914f6cdd1dULL,
        };
}

Tracker *tracker_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata)
{
        Tracker *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        if (cfg)
                t->cfg = *cfg;
        else
                tracker_config_default(&t->cfg);
        clamp_config(&t->cfg);
        t->fn = fn;
        t->userdata = userdata;
        t->hint_principal.k.len = KEY_NONE;
        t->hint_source.k.len = KEY_NONE;
        if (!table_init(&t->txns, &t->cfg, t->cfg.max_transactions, sizeof(Txn), KEY_INLINE_TXN, 0,
                        NULL, NULL) ||
            !table_init(&t->chains, &t->cfg, t->cfg.max_chains, sizeof(Holder), KEY_INLINE_CHAIN, 1,
                        NULL, NULL) ||
            !table_init(&t->clients, &t->cfg, t->cfg.max_clients, sizeof(Holder), KEY_INLINE_CLIENT,
                        2, NULL, NULL) ||
            !table_init(&t->nonces, &t->cfg, t->cfg.max_nonces, sizeof(Nonce), KEY_INLINE_NONCE, 3,
                        NULL, NULL) ||
            !table_init(&t->principals, &t->cfg, t->cfg.max_principals, sizeof(Principal),
                        KEY_INLINE_PRINCIPAL, 4, principal_keep, NULL) ||
            !table_init(&t->sources, &t->cfg, t->cfg.max_sources, sizeof(Source), KEY_INLINE_ADDR,
                        5, source_keep, free_source) ||
            !table_init(&t->servers, &t->cfg, SERVERS_MAX, sizeof(ServerInfo), KEY_INLINE_ADDR, 6,
                        NULL, NULL))
                return tracker_free(t);
        t->sources.userdata = &t->source_user_slots; /* for free_source */
        return t;
}

Tracker *tracker_free(Tracker *t)
{
        if (!t)
                return NULL;
        lru_done(&t->txns);
        lru_done(&t->chains);
        lru_done(&t->clients);
        lru_done(&t->nonces);
        lru_done(&t->principals);
        lru_done(&t->sources);
        lru_done(&t->servers);
        free(t);
        return NULL;
}

/* ---- keys ------------------------------------------------------------- */

/* RFC 3261 §17.1.3: branch + CSeq method; ACK to a non-2xx joins the INVITE.
 * RFC 2543 peers (no magic cookie) fall back to Call-ID + CSeq + From tag. */
static void txn_key(const Tracker *t, Key *k, const SipMsg *m)
{
        const char *method = m->cseq_method;

        if (is_method(method, "ACK"))
                method = "INVITE";
        key_init(k, t);
        if (m->via_branch && strncmp(m->via_branch, "z9hG4bK", 7) == 0) {
                key_add_str(k, m->via_branch);
        } else {
                char digits[10];
                size_t n = 0;
                uint32_t v = m->cseq;
                /* Decimal, as "%u" wrote it: the key must not depend on how it is built. */
                do {
                        digits[sizeof digits - ++n] = (char)('0' + v % 10);
                        v /= 10;
                } while (v && n < sizeof digits);
                key_add_str(k, m->call_id);
                key_add(k, digits + sizeof digits - n, n);
                key_add_str(k, m->from_tag);
        }
        key_add_str(k, method);
}

static void chain_key(const Tracker *t, Key *k, const SipMsg *m)
{
        key_init(k, t);
        key_add_str(k, m->call_id);
        key_add_str(k, m->from_tag);
}

/* A challenge is the server's: a phone registered with two servers (two
 * accounts, or a primary and a backup) gets challenges from both at once, and
 * answering one with the other's realm in mind would be a false anomaly that
 * the server is then "seen" to accept. Addresses without ports, as for nonces. */
static void client_key(const Tracker *t, Key *k, const char *from_user, const Endpoint *client,
                       const Endpoint *server)
{
        key_init(k, t);
        key_add_str(k, from_user);
        key_add_addr(k, client);
        key_add_addr(k, server);
}

/* A nonce is the server's: nodes of a cluster that share a secret can mint
 * the same string (Kamailio does within one second), each for its own
 * algorithm, so the key includes the issuing server's address. */
static void nonce_key(const Tracker *t, Key *k, const Endpoint *server, const char *nonce)
{
        key_init(k, t);
        key_add_addr(k, server);
        key_add_str(k, nonce);
}

static void principal_key(const Tracker *t, Key *k, const char *user, const char *realm,
                          const Endpoint *addr)
{
        key_init(k, t);
        key_add_str(k, user);
        key_add_str(k, realm);
        key_add_addr(k, addr);
}

static void addr_key(const Tracker *t, Key *k, const Endpoint *e);

/* Hash and prefetch the source and principal keys a message will look up
 * later (source_get and principal_get then reuse the hash). */
static void hint_source(Tracker *t, const Endpoint *src)
{
        Endpoint addr = *src;

        addr.port = 0;
        addr_key(t, &t->hint_source.k, &addr);
        hkey_hash(&t->hint_source, &t->sources);
}

static void hint_principal(Tracker *t, const char *user, const char *realm, const Endpoint *addr)
{
        principal_key(t, &t->hint_principal.k, user, realm, addr);
        hkey_hash(&t->hint_principal, &t->principals);
}

/* ---- requests --------------------------------------------------------- */

/* The challenge a request answers: its own chain's (same Call-ID and From
 * tag) when there is one; the client's memory only for a client that starts
 * a new Call-ID per retry. A phone that refreshes its registration while it
 * places a call has a 401 and a 407 outstanding at once: the newer of the
 * two is not the one each retry answers. */
static const ChallengeSet *pick_ref(const Holder *chain, const Holder *client)
{
        if (chain && chain->latest.valid)
                return &chain->latest;
        return client && client->latest.valid ? &client->latest : NULL;
}

static bool cred_usable(const SipCredentials *c)
{
        /* An empty nonce is an IMS-style initial request naming the user, not an answer. */
        return c->digest && c->nonce && c->nonce[0];
}

/* The credentials that answer ref: same header kind and realm first. */
static const SipCredentials *pick_cred(const Tracker *t, const SipMsg *m, const ChallengeSet *ref)
{
        const SipCredentials *first = NULL, *kind = NULL;

        for (size_t i = 0; i < m->n_credentials; i++) {
                const SipCredentials *c = &m->credentials[i];
                if (!cred_usable(c))
                        continue;
                if (!first)
                        first = c;
                if (!ref || c->proxy != ref->proxy)
                        continue;
                if (!kind)
                        kind = c;
                uint64_t rh = str_hash(t, c->realm);
                for (unsigned j = 0; j < ref->n; j++)
                        if (ref->ch[j].realm_hash == rh)
                                return c;
        }
        return kind ? kind : first;
}

static const ChallengeInfo *pick_ref_ch(const ChallengeSet *ref, const SipCredentials *c)
{
        if (!ref || ref->n == 0)
                return NULL;
        for (unsigned i = 0; i < ref->n; i++)
                if (ref->ch[i].alg == c->alg)
                        return &ref->ch[i];
        return &ref->ch[0];
}

static void format_offered_algs(const ChallengeSet *ref, char *buf, size_t n)
{
        buf[0] = '\0';
        for (unsigned i = 0; ref && i < ref->n; i++)
                strbuf_append(buf, n, "%s%s", i ? ", " : "",
                              ref->ch[i].alg == DIGEST_ALG_OTHER ? ref->ch[i].alg_raw
                                                                 : digest_alg_name(ref->ch[i].alg));
}

static uint32_t ms_between(int64_t from_us, int64_t to_us)
{
        int64_t d = (to_us - from_us) / 1000;

        if (d < 0)
                return 0;
        return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void source_mark(Tracker *t, const Endpoint *src, const char *user, bool answered,
                        bool succeeded, int64_t now);

/* RFC 7616 §3.4.1: does the response match the secret the operator configured? */
static uint8_t verify_attempt(Tracker *t, const SipMsg *m, const SipCredentials *cred)
{
        DigestVerdict v;

        if (!t->cfg.credentials)
                return VERIFY_NO_SECRET;
        v = credstore_verify(t->cfg.credentials, cred, m->method, m->body, m->body_len);
        if (v == VERIFY_OK)
                t->st.verified_ok++;
        else if (v == VERIFY_MISMATCH)
                t->st.verified_bad++;
        else if (v == VERIFY_UNSUPPORTED)
                t->st.verify_unsupported++;
        return (uint8_t)v;
}

/* What the way a message arrived proves of its source, before any nonce. */
static Proof origin_proof(const PacketMeta *meta)
{
        switch (meta->origin) {
        case ORIGIN_HANDSHAKE:
                return PROOF_HANDSHAKE;
        case ORIGIN_HEP_AUTH:
                /* The agent vouches for what it saw; over a connection that is a
                 * handshake the agent's host completed. A UDP datagram it saw can
                 * still be spoofed: that one needs the nonce, as on the wire. */
                return meta->transport == TRANSPORT_TCP ? PROOF_HEP : PROOF_NONE;
        case ORIGIN_WIRE:
        case ORIGIN_HEP_UNAUTH:
                break;
        }
        return PROOF_NONE;
}

static void on_request(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        HKey kt, kc, kl, kn;
        Holder *chain, *client;
        const ChallengeSet *ref;
        const SipCredentials *cred, *first_cred = NULL;
        Txn *x;
        bool created;

        t->st.requests++;
        if (is_method(m->method, "ACK"))
                return; /* never challenged; ACK to a non-2xx belongs to the INVITE */

        /* Every key this request may need, hashed and prefetched up front; the
         * nonce one for the credentials that are usually the ones answered. */
        txn_key(t, &kt.k, m);
        hkey_hash(&kt, &t->txns);
        chain_key(t, &kc.k, m);
        hkey_hash(&kc, &t->chains);
        client_key(t, &kl.k, m->from_user, &meta->src, &meta->dst);
        hkey_hash(&kl, &t->clients);
        for (size_t i = 0; i < m->n_credentials && !first_cred; i++)
                if (cred_usable(&m->credentials[i]))
                        first_cred = &m->credentials[i];
        if (first_cred) {
                nonce_key(t, &kn.k, &meta->dst, first_cred->nonce);
                hkey_hash(&kn, &t->nonces);
                hint_source(t, &meta->src);
        }
        lru_prefetch_slot(&t->txns, kt.h);
        lru_prefetch_slot(&t->chains, kc.h);
        lru_prefetch_slot(&t->clients, kl.h);
        if (first_cred) {
                lru_prefetch_slot(&t->nonces, kn.h);
                lru_prefetch_slot(&t->sources, t->hint_source.h);
        }

        x = (Txn *)table_get_h(&t->txns, &kt, meta->ts_us, &created);
        if (!x)
                return;
        if (!created) {
                t->st.retransmissions++;
                return;
        }
        x->src = meta->src;
        x->dst = meta->dst;
        x->transport = meta->transport;
        x->origin = (uint8_t)meta->origin;
        x->proof = (uint8_t)origin_proof(meta);
        copy_str(x->method, sizeof x->method, m->method);
        copy_str(x->from_user, sizeof x->from_user, m->from_user);
        copy_str(x->user_agent, sizeof x->user_agent, m->user_agent);
        copy_str(x->ruri, sizeof x->ruri, m->request_uri);

        chain = (Holder *)table_find_h(&t->chains, &kc, meta->ts_us);
        client = (Holder *)table_find_h(&t->clients, &kl, meta->ts_us);
        ref = pick_ref(chain, client);
        cred = pick_cred(t, m, ref);

        if (ref) {
                x->have_ref = true;
                x->ref_proxy = ref->proxy;
                x->challenged_client = ref->client;
                format_offered_algs(ref, x->offered_algs, sizeof x->offered_algs);
        }
        if (!cred) {
                copy_str(x->user, sizeof x->user, m->from_user);
                if (ref) {
                        copy_str(x->realm, sizeof x->realm, ref->ch[0].realm);
                        x->offered_qop = ref->ch[0].qop_mask;
                        /* RFC 3261 §22.2: challenged, yet asking again without credentials.
                         * A client that has sent credentials before is restarting, not
                         * lacking an account. */
                        x->nocreds_after_challenge = !ref->answered &&
                                                     !(chain && chain->creds_seen) &&
                                                     !(client && client->creds_seen);
                }
                return;
        }

        Nonce *nonce;
        if (cred != first_cred) {
                nonce_key(t, &kn.k, &meta->dst, cred->nonce);
                kn.h = lru_key_hash(&t->nonces, kn.k.buf, kn.k.len);
        }
        nonce = (Nonce *)table_find_h(&t->nonces, &kn, meta->ts_us);

        AttemptCtx ctx = {
            .req = m,
            .cred = cred,
            .ref = ref,
            .ref_ch = pick_ref_ch(ref, cred),
            .nonce = nonce ? &nonce->info : NULL,
            .cred_realm_hash = str_hash(t, cred->realm),
            .src = meta->src,
            .dst = meta->dst,
            .transport = meta->transport,
            .ts_us = meta->ts_us,
        };

        x->has_creds = true;
        x->anomalies = rules_check_attempt(&ctx);
        x->verify = verify_attempt(t, m, cred);
        x->resp_hash = cred->response ? (uint32_t)str_hash(t, cred->response) | 1u : 0;
        x->nc_stuck = qop_check_nc_stuck(&ctx);
        copy_str(x->user, sizeof x->user,
                 cred->username && cred->username[0] ? cred->username : m->from_user);
        copy_str(x->realm, sizeof x->realm, ctx.ref_ch ? ctx.ref_ch->realm : cred->realm);
        copy_str(x->cred_realm, sizeof x->cred_realm, cred->realm);
        copy_str(x->cred_alg, sizeof x->cred_alg,
                 cred->alg == DIGEST_ALG_OTHER && cred->algorithm ? cred->algorithm
                                                                  : digest_alg_name(cred->alg));
        copy_str(x->cred_uri, sizeof x->cred_uri, cred->uri);
        copy_str(x->nonce_prefix, sizeof x->nonce_prefix, cred->nonce); /* 8 characters at most */
        x->cred_qop = cred->qop_mask;
        x->offered_qop = ctx.ref_ch ? ctx.ref_ch->qop_mask : 0;
        if (ref) {
                uint64_t nh = str_hash(t, cred->nonce);
                for (unsigned i = 0; i < ref->n; i++)
                        if (ref->ch[i].nonce_hash == nh)
                                x->answered_latest = true;
                x->delay_ms = ms_between(ref->ts_us, meta->ts_us);
        }
        /* Only a host that received the challenge knows a nonce the server
         * sent to this address and port alone (NonceInfo.shared). Unauthenticated
         * HEP proves nothing: its addresses are the sender's word. */
        if (x->proof == PROOF_NONE && nonce && x->answered_latest && !nonce->info.shared &&
            meta->origin != ORIGIN_HEP_UNAUTH && endpoint_equal(&nonce->info.sent_to, &meta->src))
                x->proof = PROOF_NONCE;
        if (nonce) {
                x->nonce_known = true;
                x->nonce_age_ms = ms_between(nonce->info.issued_us, meta->ts_us);
                if (cred->nc_valid) {
                        bool reissued = nonce->info.issued_us > nonce->info.last_nc_us;
                        bool other = !endpoint_equal(&nonce->info.nc_client, &meta->src);

                        if (!nonce->info.nc_seen || reissued || other ||
                            cred->nc_value > nonce->info.last_nc)
                                nonce->info.last_nc = cred->nc_value;
                        if (other)
                                nonce->info.last_nc_us = meta->ts_us;
                        nonce->info.nc_seen = true;
                        nonce->info.nc_client = meta->src;
                        if (meta->ts_us > nonce->info.last_nc_us)
                                nonce->info.last_nc_us = meta->ts_us;
                }
        }
        source_mark(t, &meta->src, m->from_user, true, false, meta->ts_us);
        if (strcmp(x->user, m->from_user ? m->from_user : "") != 0)
                source_mark(t, &meta->src, x->user, true, false, meta->ts_us);
        /* The challenge is answered: a later request without credentials is a new start. */
        if (chain) {
                chain->latest.answered = true;
                chain->creds_seen = true;
        }
        if (client) {
                client->latest.answered = true;
                client->creds_seen = true;
        }
}

/* ---- responses -------------------------------------------------------- */

/* RFC 3261 §22.1: a usable challenge has the header kind of its status, a realm and a nonce. */
static void collect_challenges(const Tracker *t, const SipMsg *m, bool proxy, ChallengeSet *cs,
                               bool *pjsip_shape)
{
        memset(cs, 0, sizeof *cs);
        cs->proxy = proxy;
        cs->status = (uint16_t)m->status;
        *pjsip_shape = false;
        for (size_t i = 0; i < m->n_challenges && cs->n < CHALLENGE_MAX; i++) {
                const SipChallenge *c = &m->challenges[i];
                ChallengeInfo *ci;
                if (c->proxy != proxy || !c->digest || !c->realm || !c->nonce || !c->nonce[0])
                        continue;
                ci = &cs->ch[cs->n++];
                ci->alg = c->alg;
                copy_str(ci->alg_raw, sizeof ci->alg_raw, c->algorithm ? c->algorithm : "MD5");
                ci->qop_mask = c->qop_mask;
                ci->stale = c->stale;
                ci->realm_hash = str_hash(t, c->realm);
                ci->nonce_hash = str_hash(t, c->nonce);
                copy_str(ci->realm, sizeof ci->realm, c->realm);
                if (c->opaque && c->qop_mask)
                        *pjsip_shape = true;
        }
        cs->valid = cs->n > 0;
}

static void store_holder(Holder *h, const ChallengeSet *cs)
{
        h->latest = *cs;
}

/* The keys a challenge is recorded under, hashed and prefetched before the
 * transaction lookup; the client key assumes the response goes back to where
 * the request came from (record_challenge checks). */
#define PREP_NONCES 4

typedef struct {
        HKey chain, client;
        HKey nonce[PREP_NONCES]; /* for m->challenges[0..PREP_NONCES) that qualify */
        bool nonce_ok[PREP_NONCES];
} ChallengeKeys;

static bool nonce_wanted(const SipChallenge *c, bool proxy)
{
        return c->proxy == proxy && c->digest && c->nonce && c->nonce[0];
}

static void challenge_keys(Tracker *t, const PacketMeta *meta, const SipMsg *m, bool proxy,
                           ChallengeKeys *ck)
{
        chain_key(t, &ck->chain.k, m);
        hkey_hash(&ck->chain, &t->chains);
        client_key(t, &ck->client.k, m->from_user, &meta->dst, &meta->src);
        hkey_hash(&ck->client, &t->clients);
        for (size_t i = 0; i < PREP_NONCES; i++) {
                ck->nonce_ok[i] = i < m->n_challenges && nonce_wanted(&m->challenges[i], proxy);
                if (ck->nonce_ok[i]) {
                        nonce_key(t, &ck->nonce[i].k, &meta->src, m->challenges[i].nonce);
                        hkey_hash(&ck->nonce[i], &t->nonces);
                }
        }
}

static void challenge_keys_prefetch(Tracker *t, const ChallengeKeys *ck)
{
        lru_prefetch_slot(&t->chains, ck->chain.h);
        lru_prefetch_slot(&t->clients, ck->client.h);
        for (size_t i = 0; i < PREP_NONCES; i++)
                if (ck->nonce_ok[i])
                        lru_prefetch_slot(&t->nonces, ck->nonce[i].h);
}

static void record_challenge(Tracker *t, const PacketMeta *meta, const SipMsg *m,
                             const char *from_user, const Endpoint *client, ChallengeSet *cs,
                             ChallengeKeys *ck)
{
        Holder *h;
        Key k;

        cs->ts_us = meta->ts_us;
        cs->client = *client;
        cs->server = meta->src;
        h = (Holder *)table_get_h(&t->chains, &ck->chain, meta->ts_us, NULL);
        if (h)
                store_holder(h, cs);
        client_key(t, &k, from_user, client, &meta->src);
        hkey_update(&ck->client, &k, &t->clients);
        h = (Holder *)table_get_h(&t->clients, &ck->client, meta->ts_us, NULL);
        if (h)
                store_holder(h, cs);
        for (size_t i = 0; i < m->n_challenges; i++) {
                const SipChallenge *c = &m->challenges[i];
                Nonce *n;
                bool created;
                if (!nonce_wanted(c, cs->proxy))
                        continue;
                if (i < PREP_NONCES) {
                        n = (Nonce *)table_get_h(&t->nonces, &ck->nonce[i], meta->ts_us, &created);
                } else {
                        nonce_key(t, &k, &meta->src, c->nonce);
                        n = (Nonce *)table_get(&t->nonces, &k, meta->ts_us, &created);
                }
                if (!n)
                        continue;
                /* Sent to a second address or port, or reported by unauthenticated
                 * HEP: answering it proves nothing about who answered. */
                if (created)
                        n->info.sent_to = meta->dst;
                if ((!created && !endpoint_equal(&n->info.sent_to, &meta->dst)) ||
                    meta->origin == ORIGIN_HEP_UNAUTH)
                        n->info.shared = true;
                /* Issued (again: Kamailio hands out the same nonce within a second).
                 * The latest issue time lets the nc check tell a restart at nc=1
                 * after a re-issue from a client stuck on an old nonce. */
                if (!created && n->info.issued_us > meta->ts_us)
                        continue;
                n->info.issued_us = meta->ts_us;
                n->info.server = meta->src;
                n->info.client = *client;
                n->info.alg = c->alg;
        }
}

static unsigned status_slot(unsigned status)
{
        switch (status) {
        case 401:
                return 0;
        case 407:
                return 1;
        case 403:
                return 2;
        default:
                return 3;
        }
}

/* ---- classes ---------------------------------------------------------- */

static DiagCode lowest_bit(uint32_t mask)
{
        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (mask & (1u << i))
                        return (DiagCode)i;
        return DIAG_WRONG_PASSWORD;
}

/* Class of a refused attempt: the most specific anomaly, else what verification
 * says about the secret. */
static DiagCode classify(uint32_t mask, uint8_t verify)
{
        if (mask)
                return lowest_bit(mask);
        return verify == VERIFY_OK ? DIAG_SERVER_REJECTS_VALID : DIAG_WRONG_PASSWORD;
}

/*
 * Anomalies a server is seen to accept: when a server answers 2xx to a
 * request whose digest showed an anomaly (Kamailio does not compare the
 * digest uri with the Request-URI; some servers accept any realm), that
 * anomaly is not why it refuses others. A nonce we never saw issued proves
 * only that the capture started late, so it is not learned.
 */
#define LEARNABLE                                                                                  \
        ((1u << DIAG_HEADER_MISMATCH) | (1u << DIAG_REALM_MISMATCH) |                              \
         (1u << DIAG_ALGORITHM_MISMATCH) | (1u << DIAG_QOP_MISMATCH) | (1u << DIAG_URI_MISMATCH) | \
         (1u << DIAG_SOURCE_CHANGED))

/* Key of a per-address table (servers, sources): the address without its port. */
static void addr_key(const Tracker *t, Key *k, const Endpoint *e)
{
        key_init(k, t);
        key_add_addr(k, e);
}

static ServerInfo *server_info(Tracker *t, const Endpoint *server, int64_t now, bool create)
{
        Key k;

        addr_key(t, &k, server);
        if (!create)
                return (ServerInfo *)table_find(&t->servers, &k, now);
        return (ServerInfo *)table_get(&t->servers, &k, now, NULL);
}

/* ---- records ---------------------------------------------------------- */

static void emit_rate_summary(Tracker *t, int64_t now_us);

/*
 * Every record goes through here: a global cap per minute of packet time, so
 * that a flood never becomes a journald flood. What the cap holds back is
 * counted and summarised once when the minute is over.
 */
static void rate_roll(Tracker *t, int64_t now_us)
{
        if (t->rate_minute_us == 0 || now_us - t->rate_minute_us >= 60 * 1000000LL) {
                if (t->rate_held)
                        emit_rate_summary(t, now_us);
                t->rate_minute_us = now_us;
                t->rate_count = 0;
        }
}

/* An empty record of code: severity from the code table, the attempts and times. */
static void record_init(Diagnosis *d, DiagCode code, unsigned attempts, int64_t first_us,
                        int64_t last_us)
{
        memset(d, 0, sizeof *d);
        d->code = code;
        d->severity = diag_code_severity(code);
        d->attempts = attempts;
        d->first_seen_us = first_us;
        d->last_seen_us = last_us;
}

/* Who spoke to whom, and how: the fields every record with a client has. */
static void record_parties(Diagnosis *d, const char *realm, const Endpoint *client,
                           const Endpoint *server, Transport transport, const char *method,
                           const char *user_agent, const char *server_agent)
{
        copy_str(d->realm, sizeof d->realm, realm);
        endpoint_format(client, d->client, sizeof d->client);
        endpoint_format(server, d->server, sizeof d->server);
        d->client_ep = *client;
        d->server_ep = *server;
        copy_str(d->transport, sizeof d->transport, transport_name(transport));
        copy_str(d->method, sizeof d->method, method);
        copy_str(d->user_agent, sizeof d->user_agent, user_agent);
        copy_str(d->server_agent, sizeof d->server_agent, server_agent);
}

static Source *source_get(Tracker *t, const Endpoint *src, int64_t now, bool create);

static bool ban_code(DiagCode c)
{
        return c == DIAG_CREDENTIAL_GUESSING || c == DIAG_ACCOUNT_SCAN ||
               c == DIAG_CREDENTIAL_COMPROMISE;
}

/* A verified record that can lead to a ban: within its source's own budget? */
static bool ban_budget(Tracker *t, const Endpoint *src, int64_t packet_us, int64_t now)
{
        Source *so = source_get(t, src, packet_us, true);

        if (!so)
                return true; /* out of memory: a ban record is worth more than the cap */
        if (so->ban_count == 0 || now - so->ban_minute_us >= 60 * 1000000LL ||
            now < so->ban_minute_us) {
                so->ban_minute_us = now;
                so->ban_count = 0;
        }
        return so->ban_count++ < BAN_RECORDS_PER_SOURCE;
}

/*
 * src: the source a ban would hit (NULL for records that name none). Time
 * for the cap is the live clock when the daemon gives one (forged HEP
 * timestamps cannot move it), else packet time.
 */
static void deliver(Tracker *t, const Diagnosis *d, int64_t packet_us, const Endpoint *src)
{
        int64_t now = t->cfg.clock_us ? t->cfg.clock_us() : packet_us;
        bool verified = d->source_verified == SOURCE_VERIFIED_YES;

        rate_roll(t, now);
        if (verified && src && ban_code(d->code)) {
                /* Its own budget: a flood of cheap records cannot hold it back. */
                if (!ban_budget(t, src, packet_us, now))
                        goto held;
        } else if (t->cfg.max_records_per_minute &&
                   t->rate_count >= t->cfg.max_records_per_minute &&
                   !(verified && d->severity == SEV_CRITICAL)) {
                /* A verified compromise is never held back (it still counts). */
                goto held;
        } else {
                t->rate_count++;
        }
        t->st.diagnoses++;
        if (t->fn)
                t->fn(d, t->userdata);
        return;
held:
        if (t->rate_held == 0)
                t->rate_first_held_us = packet_us;
        t->rate_held++;
        t->rate_held_by_code[d->code]++;
        t->rate_last_held_us = packet_us;
        t->st.rate_limited++;
}

static void emit_rate_summary(Tracker *t, int64_t now_us)
{
        const Rule *r = rules_get(DIAG_RATE_LIMITED);
        Streak s;
        Diagnosis d;

        memset(&s, 0, sizeof s);
        s.code = DIAG_RATE_LIMITED;
        s.attempts = t->rate_held;
        memcpy(s.n_cls, t->rate_held_by_code, sizeof s.n_cls);
        s.rate_cap = t->cfg.max_records_per_minute;
        record_init(&d, DIAG_RATE_LIMITED, t->rate_held, t->rate_first_held_us,
                    t->rate_last_held_us);
        strbuf_append(d.message, sizeof d.message,
                      "%u diagnosis records held back: more than %u in one minute", t->rate_held,
                      t->cfg.max_records_per_minute);
        r->evidence(&s, d.evidence, sizeof d.evidence);
        r->remedy(&s, d.remedy, sizeof d.remedy);
        t->rate_held = 0;
        memset(t->rate_held_by_code, 0, sizeof t->rate_held_by_code);
        t->st.diagnoses++;
        (void)now_us;
        if (t->fn)
                t->fn(&d, t->userdata);
}

static const char *code_cause(DiagCode c)
{
        switch (c) {
        case DIAG_CHALLENGE_MISSING:
                return "the server refuses without sending a usable challenge";
        case DIAG_HEADER_MISMATCH:
                return "the client answers the challenge in the wrong header";
        case DIAG_NO_CREDENTIALS:
                return "the client never answers the challenge with credentials";
        case DIAG_REALM_MISMATCH:
                return "the client answers another realm than the server's";
        case DIAG_ALGORITHM_MISMATCH:
                return "the client answers with a digest algorithm the server did not offer";
        case DIAG_QOP_MISMATCH:
                return "the client's qop/nc do not match the challenge";
        case DIAG_URI_MISMATCH:
                return "the digest uri differs from the Request-URI";
        case DIAG_STALE_NONCE:
                return "the nonce is refused as stale again and again";
        case DIAG_NONCE_UNKNOWN:
                return "the client answers a nonce this server never issued to it";
        case DIAG_SOURCE_CHANGED:
                return "retries come from another address or port than the challenged request";
        case DIAG_CREDENTIAL_GUESSING:
                return "one source is guessing this account's password";
        case DIAG_CREDENTIAL_COMPROMISE:
                return "a password guess succeeded";
        case DIAG_SERVER_REJECTS_VALID:
                return "the response is valid for the configured secret, the server's secret "
                       "differs";
        case DIAG_WRONG_PASSWORD:
                return "the password or HA1 differs between client and server";
        default:
                return "authentication keeps failing";
        }
}

/* The parts of a record every principal-based diagnosis shares. */
static void fill_principal(Diagnosis *d, const Principal *p, DiagCode code)
{
        record_init(d, code, 0, 0, 0);
        record_parties(d, p->realm, &p->client, &p->server, p->transport, p->method, p->user_agent,
                       p->server_agent);
        copy_str(d->user, sizeof d->user, p->user);
        copy_str(d->call_id, sizeof d->call_id, p->call_id);
        if (code != DIAG_CHALLENGE_MISSING && code != DIAG_NO_CREDENTIALS)
                copy_str(d->algorithm, sizeof d->algorithm, p->cred_alg);
}

static void proof_count(ProofCount *pc, Proof proof)
{
        pc->total++;
        pc->proven += proof != PROOF_NONE;
        pc->nonce += proof == PROOF_NONCE;
        pc->handshake += proof == PROOF_HANDSHAKE;
        pc->hep += proof == PROOF_HEP;
}

/* "(3 answered a nonce ..., 1 came over ...)", or "" when none proved. */
static void proof_phrase(const ProofCount *pc, char *buf, size_t n)
{
        const char *sep = " (";

        buf[0] = '\0';
        if (pc->nonce) {
                strbuf_append(buf, n,
                              "%s%u answered a nonce the server sent to that address and "
                              "port alone",
                              sep, pc->nonce);
                sep = ", ";
        }
        if (pc->handshake) {
                strbuf_append(buf, n, "%s%u came over TCP connections whose handshake was seen",
                              sep, pc->handshake);
                sep = ", ";
        }
        if (pc->hep) {
                strbuf_append(buf, n, "%s%u came from an authenticated HEP agent", sep, pc->hep);
                sep = ", ";
        }
        if (sep[0] == ',')
                strbuf_append(buf, n, ")");
}

/*
 * The record's verdict on its source (DESIGN.md verified sources): the
 * field, and for the codes that can lead to a ban the reason in the
 * evidence and, unverified, one step lower a priority (fail2ban matches
 * only SIP_SOURCE_VERIFIED=yes). what: the unit counted ("refused
 * attempts"); why_not: what an unverified record lacked.
 */
static void record_source(Diagnosis *d, bool verified, const ProofCount *pc, const char *what,
                          const char *why_not)
{
        char how[200];
        size_t len = strlen(d->evidence);

        d->source_verified = verified ? SOURCE_VERIFIED_YES : SOURCE_VERIFIED_NO;
        if (!ban_code(d->code))
                return;
        proof_phrase(pc, how, sizeof how);
        if (len && d->evidence[len - 1] != '.')
                strbuf_append(d->evidence, sizeof d->evidence, ".");
        if (verified)
                strbuf_append(d->evidence, sizeof d->evidence,
                              " Source verified: %u of %u %s proved their source%s.", pc->proven,
                              pc->total, what, how);
        else
                strbuf_append(d->evidence, sizeof d->evidence,
                              " Source not verified: %u of %u %s proved their source%s; %s, so "
                              "this record leads to no ban (SIP_SOURCE_VERIFIED=no).",
                              pc->proven, pc->total, what, how, why_not);
        if (!verified && d->severity > SEV_NOTICE)
                d->severity = (Severity)(d->severity - 1);
        if (!verified) {
                char remedy[sizeof d->remedy];

                memcpy(remedy, d->remedy, sizeof remedy);
                d->remedy[0] = '\0';
                strbuf_append(d->remedy, sizeof d->remedy,
                              "The source is not verified and may be spoofed: confirm it (the "
                              "server's own log, or require TCP/TLS) before blocking it. %s",
                              remedy);
        }
}

static void emit(Tracker *t, Principal *p, DiagCode code, const Streak *s, int64_t first_us,
                 int64_t now_us, bool verified, const ProofCount *pc)
{
        const Rule *r = rules_get(code);
        Diagnosis d;
        char ip[ENDPOINT_STRLEN];

        fill_principal(&d, p, code);
        d.attempts = s->attempts;
        d.first_seen_us = first_us;
        d.last_seen_us = now_us;
        endpoint_format_addr(&p->addr, ip, sizeof ip);
        strbuf_append(d.message, sizeof d.message, "%s of %s%s%s from %s refused %u times: %s",
                      p->method, p->user, p->realm[0] ? "@" : "", p->realm, ip, s->attempts,
                      code_cause(code));
        if (r) {
                r->evidence(s, d.evidence, sizeof d.evidence);
                r->remedy(s, d.remedy, sizeof d.remedy);
        }
        record_source(&d, verified, pc, "refused attempts",
                      "too few to show the pattern on their own, and the others may be spoofed "
                      "UDP");
        deliver(t, &d, now_us, &p->addr);
}

/*
 * Answers that a wordlist loop sends and a phone does not: refused attempts
 * that carry another response under the Call-ID and CSeq number of an
 * earlier refused attempt, with another From tag. RFC 3261 §22.2: a UAC that
 * resubmits a request with credentials MUST increment CSeq, and a
 * retransmission repeats the request unchanged. SIPVicious svcrack answers
 * every challenge with the next candidate under CSeq 2 and a From tag that
 * encodes it; baresip, linphone and sipsak retrying one wrong password
 * increment CSeq or start a new Call-ID (tests/golden/TESTLIST, real-*).
 */
static unsigned loop_answers(const AttemptRec *const *a, unsigned n)
{
        unsigned loop = 0;

        for (unsigned i = 0; i < n; i++) {
                bool found = false;

                for (unsigned j = 0; j < n && !found; j++)
                        found = j != i && a[j]->req_hash == a[i]->req_hash &&
                                a[j]->tag_hash != a[i]->tag_hash &&
                                a[j]->resp_hash != a[i]->resp_hash && a[i]->resp_hash;
                loop += found;
        }
        return loop;
}

/* Distinct response fingerprints among the attempts of the window. */
static unsigned distinct_responses(const AttemptRec *const *a, unsigned n)
{
        unsigned distinct = 0;

        for (unsigned i = 0; i < n; i++) {
                bool seen = a[i]->resp_hash == 0;
                for (unsigned j = 0; j < i && !seen; j++)
                        seen = a[j]->resp_hash == a[i]->resp_hash;
                distinct += !seen;
        }
        return distinct;
}

/* Fill the wording fields of a Streak from the principal's latest details. */
static void streak_details(Streak *s, const Principal *p, char *client, char *moved_from,
                           char *moved_to, char *server)
{
        endpoint_format(&p->client, client, ENDPOINT_STRLEN);
        endpoint_format(&p->moved_from, moved_from, ENDPOINT_STRLEN);
        endpoint_format(&p->moved_to, moved_to, ENDPOINT_STRLEN);
        endpoint_format(&p->server, server, ENDPOINT_STRLEN);
        s->proxy = p->proxy;
        s->nc_stuck = p->nc_stuck;
        s->offered_qop = p->offered_qop;
        s->cred_qop = p->cred_qop;
        s->method = p->method;
        s->user = p->user;
        s->realm = p->realm;
        s->cred_realm = p->cred_realm;
        s->cred_alg = p->cred_alg;
        s->offered_algs = p->offered_algs;
        s->cred_uri = p->cred_uri;
        s->ruri = p->ruri;
        s->nonce_prefix = p->nonce_prefix;
        s->client = client;
        s->moved_from = moved_from;
        s->moved_to = moved_to;
        s->server = server;
        s->server_agent = p->server_agent;
        s->user_agent = p->user_agent;
        s->family = server_family_detect(p->server_agent, p->pjsip_shape);
}

static void guessed_remember(Tracker *t, const Principal *p, unsigned attempts, int64_t first_us,
                             int64_t now_us, bool verified)
{
        uint64_t uh = str_hash(t, p->user), rh = str_hash(t, p->realm);
        Guessed *g = NULL;

        for (unsigned i = 0; i < GUESSED_MAX && !g; i++)
                if (t->guessed[i].reported_us && t->guessed[i].user_hash == uh &&
                    t->guessed[i].realm_hash == rh &&
                    endpoint_addr_equal(&t->guessed[i].guesser, &p->addr))
                        g = &t->guessed[i];
        if (!g) {
                /* The oldest entry goes, so a flood of made-up accounts has to
                 * outlast every real one to push it out; counted if it was live. */
                g = &t->guessed[0];
                for (unsigned i = 1; i < GUESSED_MAX; i++)
                        if (t->guessed[i].reported_us < g->reported_us)
                                g = &t->guessed[i];
                if (g->reported_us && now_us - g->reported_us < t->cfg.window_us)
                        t->st.evicted_guessed++;
                *g = (Guessed){
                    .user_hash = uh, .realm_hash = rh, .guesser = p->addr, .first_us = first_us};
        }
        g->reported_us = now_us;
        g->attempts = attempts;
        g->verified |= verified;
}

/* The most recent guessing against this account within the window from src
 * (same true) or from any other address (same false), or NULL. */
static Guessed *guessed_find(Tracker *t, uint64_t uh, uint64_t rh, const Endpoint *src, bool same,
                             int64_t now_us)
{
        Guessed *best = NULL;

        for (unsigned i = 0; i < GUESSED_MAX; i++) {
                Guessed *g = &t->guessed[i];
                if (g->reported_us && g->user_hash == uh && g->realm_hash == rh &&
                    now_us - g->reported_us < t->cfg.window_us &&
                    endpoint_addr_equal(&g->guesser, src) == same &&
                    (!best || g->reported_us > best->reported_us))
                        best = g;
        }
        return best;
}

/* Summarise the attempts in the window and emit when the threshold is reached. */
static void evaluate(Tracker *t, Principal *p, int64_t now_us)
{
        const AttemptRec *win[TRACKER_THRESHOLD_MAX] = {0}, *proven[TRACKER_THRESHOLD_MAX] = {0};
        ProofCount pc = {0};
        bool verified;
        Streak s;
        int64_t cutoff = now_us - t->cfg.window_us, first_us = now_us;
        uint32_t min_age = UINT32_MAX, max_age = 0;
        char client[ENDPOINT_STRLEN], moved_from[ENDPOINT_STRLEN], moved_to[ENDPOINT_STRLEN],
            server[ENDPOINT_STRLEN];
        DiagCode code;
        const ServerInfo *si = server_info(t, &p->server, now_us, false);
        uint32_t tolerated = si ? si->tolerated : 0;
        bool fresh_later = false; /* a newer attempt of the window was not refused as stale */

        memset(&s, 0, sizeof s);
        for (unsigned i = 0; i < p->ring_n; i++) {
                const AttemptRec *a = &p->ring[(p->ring_head + TRACKER_THRESHOLD_MAX - 1 - i) %
                                               TRACKER_THRESHOLD_MAX];
                uint32_t shown = a->mask & ~tolerated;
                DiagCode cls = classify(shown, a->verify);

                if (a->ts_us < cutoff)
                        break;
                /* A stale refusal the client recovered from (a later attempt answered a
                 * fresh nonce) is normal traffic, DESIGN.md: a phone replaying a cached
                 * nonce draws stale=true, then answers the new one. It is neither a
                 * stale-nonce attempt nor a wrong password: it is left out. */
                if (a->stale && fresh_later)
                        continue;
                fresh_later |=
                    !a->stale && a->answered_latest &&
                    !(a->mask & (1u << DIAG_NO_CREDENTIALS | 1u << DIAG_CHALLENGE_MISSING));
                win[s.attempts++] = a;
                if (a->proof != PROOF_NONE)
                        proven[pc.proven] = a;
                proof_count(&pc, (Proof)a->proof);
                s.n_cls[cls]++;
                if (!shown)
                        s.n_show[cls]++;
                for (unsigned b = 0; b < DIAG__MAX; b++)
                        s.n_show[b] += (shown >> b) & 1u;
                s.tolerated_seen |= a->mask & tolerated;
                s.n_status[status_slot(a->status)]++;
                s.n_answered_latest += a->answered_latest;
                s.n_stale += a->stale;
                s.n_moved += a->moved;
                s.n_verified_ok += a->verify == VERIFY_OK;
                s.n_verified_bad += a->verify == VERIFY_MISMATCH;
                if (a->delay_ms > s.max_delay_ms && a->answered_latest)
                        s.max_delay_ms = a->delay_ms;
                if (a->nonce_age_known) {
                        if (a->nonce_age_ms < min_age)
                                min_age = a->nonce_age_ms;
                        if (a->nonce_age_ms > max_age)
                                max_age = a->nonce_age_ms;
                }
                first_us = a->ts_us;
        }
        if (s.attempts < t->cfg.threshold)
                return;
        s.n_distinct_responses = distinct_responses(win, s.attempts);
        s.n_loop = loop_answers(win, s.attempts);
        s.span_ms = ms_between(first_us, now_us);
        /* Beyond the ring the streak counter keeps counting. */
        if (s.attempts == TRACKER_THRESHOLD_MAX && p->streak_total > s.attempts)
                s.attempts = p->streak_total;

        code = rules_choose(s.n_show, s.n_cls, s.attempts);
        /* Everything consistent yet refused, with many different responses from one
         * source, sent the way a wordlist loop sends them and no phone does: that
         * is guessing, reported once on top of wrong-password. Distinct responses
         * alone prove nothing: a phone's fresh cnonce makes every answer differ. */
        if (code == DIAG_WRONG_PASSWORD && s.n_distinct_responses >= t->cfg.guess_threshold &&
            s.n_loop >= GUESS_LOOP_MIN)
                code = DIAG_CREDENTIAL_GUESSING;
        /* Verified: the verdict holds on the attempts that proved their source
         * alone, so spoofed datagrams cannot make it (nor a victim's own real
         * attempts plus spoofed ones). */
        if (code == DIAG_CREDENTIAL_GUESSING)
                verified = distinct_responses(proven, pc.proven) >= t->cfg.guess_threshold &&
                           loop_answers(proven, pc.proven) >= GUESS_LOOP_MIN;
        else
                verified = pc.proven >= t->cfg.threshold;
        /* Guessing that goes on keeps its account marked, counted to the last attempt. */
        if (code == DIAG_CREDENTIAL_GUESSING && t->world == 0)
                guessed_remember(t, p, s.attempts, first_us, now_us, verified);
        /* Said once per window; a record that can lead to a ban again when the
         * source has since proven itself (the first one banned nobody). */
        if (p->emitted[code] && now_us - p->last_emit_us[code] < t->cfg.window_us &&
            (p->emitted_verified[code] || !verified || !ban_code(code))) {
                t->st.suppressed++;
                return;
        }

        s.code = code;
        s.min_nonce_age_ms = min_age == UINT32_MAX ? 0 : min_age;
        s.max_nonce_age_ms = max_age;
        streak_details(&s, p, client, moved_from, moved_to, server);

        p->emitted[code] = true;
        p->emitted_verified[code] |= verified;
        p->last_emit_us[code] = now_us;
        emit(t, p, code, &s, first_us, now_us, verified, &pc);
}

static Principal *principal_get(Tracker *t, const char *user, const char *realm,
                                const Endpoint *addr, int64_t now, bool create)
{
        Principal *p;
        bool created;
        uint64_t h;
        Key k;

        principal_key(t, &k, user, realm, addr);
        h = hint_hash(&t->hint_principal, &k, &t->principals);
        if (!create)
                return (Principal *)lru_find_h(&t->principals, h, k.buf, k.len, now);
        p = (Principal *)lru_get_h(&t->principals, h, k.buf, k.len, now, &created);
        if (p && created) {
                copy_str(p->user, sizeof p->user, user);
                copy_str(p->realm, sizeof p->realm, realm);
                p->addr = *addr;
                p->addr.port = 0;
        }
        return p;
}

/* ---- per-source counters (account-scan) ------------------------------- */

static Source *source_get(Tracker *t, const Endpoint *src, int64_t now, bool create)
{
        Endpoint addr = *src;
        Source *so;
        bool created;
        uint64_t h;
        Key k;

        addr.port = 0;
        addr_key(t, &k, &addr);
        h = hint_hash(&t->hint_source, &k, &t->sources);
        if (!create)
                return (Source *)lru_find_h(&t->sources, h, k.buf, k.len, now);
        so = (Source *)lru_get_h(&t->sources, h, k.buf, k.len, now, &created);
        if (so && created)
                so->addr = addr;
        return so;
}

static SourceUser *source_user(Tracker *t, Source *so, const char *user, bool create)
{
        uint64_t h = str_hash(t, user ? user : "");
        SourceUser *u;

        for (unsigned i = 0; i < so->n_users; i++)
                if (so->users[i].user_hash == h)
                        return &so->users[i];
        if (!create)
                return NULL;
        if (so->n_users == so->cap_users && so->cap_users < SOURCE_USERS) {
                unsigned cap = so->cap_users ? so->cap_users * 2 : 2;
                SourceUser *grown = NULL;

                if (t->source_user_slots + (cap - so->cap_users) <=
                    t->cfg.max_sources * SOURCE_USER_SLOTS)
                        grown = realloc(so->users, cap * sizeof *grown);
                else
                        t->st.source_users_capped++;
                if (grown) {
                        t->source_user_slots += cap - so->cap_users;
                        so->users = grown;
                        so->cap_users = cap;
                }
        }
        /* Bounded: past SOURCE_USERS names (or out of memory) the oldest slots are reused. */
        if (so->n_users < so->cap_users) {
                u = &so->users[so->n_users++];
        } else if (so->n_users == 0) {
                return NULL;
        } else {
                u = &so->users[so->next % so->n_users];
                so->next = (so->next + 1) % so->n_users;
        }
        memset(u, 0, sizeof *u);
        u->user_hash = h;
        copy_str(u->name, sizeof u->name, user);
        return u;
}

static void source_mark(Tracker *t, const Endpoint *src, const char *user, bool answered,
                        bool succeeded, int64_t now)
{
        Source *so = source_get(t, src, now, false);
        SourceUser *u = so ? source_user(t, so, user, false) : NULL;

        if (!u)
                return;
        u->answered |= answered;
        u->succeeded |= succeeded;
}

/* Usernames failing from this source within the window. A challenge left
 * unanswered counts once it is SCAN_PENDING_US old (at end of input at once,
 * since no answer can follow). The names are listed in two groups: refused or
 * unknown (403/404), and challenged but never answered, which tells the
 * operator the scanner found accounts that exist. */
typedef struct {
        unsigned count;
        unsigned n_proven; /* of count: names that failed in a request proving its source */
        unsigned n_refused, n_existing;
        char refused[200];
        char existing[200];
} ScanCount;

static void scan_list(char *buf, size_t n, unsigned *k, const char *name)
{
        if (!buf)
                ; /* counting only */
        else if (*k < 10)
                strbuf_append(buf, n, "%s%s", *k ? ", " : "", name);
        else if (*k == 10)
                strbuf_append(buf, n, ", ...");
        (*k)++;
}

typedef enum {
        SCAN_USER_NONE = 0, /* not part of a scan now */
        SCAN_USER_REFUSED,  /* refused or unknown: 403/404, or refused credentials */
        SCAN_USER_EXISTS,   /* challenged, never answered: the account exists */
} ScanUserState;

static ScanUserState scan_user_state(const Tracker *t, const SourceUser *u, int64_t now)
{
        if (u->succeeded || u->fail_us == 0 || u->fail_us < now - t->cfg.window_us)
                return SCAN_USER_NONE;
        if (u->definite)
                return SCAN_USER_REFUSED;
        if (u->pending && !u->answered)
                return SCAN_USER_EXISTS;
        return SCAN_USER_NONE;
}

/* With lists false only the counts are filled: this runs on every failure
 * from a source, the lists are needed only for a record. */
static void scan_count(const Tracker *t, const Source *so, int64_t now, bool final, bool lists,
                       ScanCount *c)
{
        c->count = c->n_proven = c->n_refused = c->n_existing = 0;
        c->refused[0] = c->existing[0] = '\0';
        for (unsigned i = 0; i < so->n_users; i++) {
                const SourceUser *u = &so->users[i];
                bool old_enough = final || now - u->fail_us >= SCAN_PENDING_US;

                switch (scan_user_state(t, u, now)) {
                case SCAN_USER_REFUSED:
                        scan_list(lists ? c->refused : NULL, sizeof c->refused, &c->n_refused,
                                  u->name);
                        c->count++;
                        c->n_proven += u->proven;
                        break;
                case SCAN_USER_EXISTS:
                        scan_list(lists ? c->existing : NULL, sizeof c->existing, &c->n_existing,
                                  u->name);
                        c->count += old_enough;
                        c->n_proven += old_enough && u->proven;
                        break;
                case SCAN_USER_NONE:
                        break;
                }
        }
}

static void scan_evaluate(Tracker *t, Source *so, int64_t now, bool final)
{
        const Rule *r = rules_get(DIAG_ACCOUNT_SCAN);
        char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN], ip[ENDPOINT_STRLEN];
        int64_t first = now;
        ScanCount c;
        Streak s;
        Diagnosis d;

        ProofCount pc;
        bool verified;

        scan_count(t, so, now, final, false, &c);
        if (c.count < t->cfg.scan_threshold)
                return;
        /* Verified when enough names failed in requests that proved the source:
         * spoofed REGISTERs "from" a victim prove nothing. Said once per window;
         * again when the source has since proven itself. */
        verified = c.n_proven >= t->cfg.scan_threshold;
        /* Names a scan tried: a later login to one from this source is a
         * compromise; a name that was no part of it (the source's own phone
         * registering as usual) is not. */
        for (unsigned i = 0; i < so->n_users; i++)
                so->users[i].scanned |= scan_user_state(t, &so->users[i], now) != SCAN_USER_NONE;
        if (so->emitted && now - so->last_emit_us < t->cfg.window_us &&
            (so->scan_verified || !verified)) {
                t->st.suppressed++;
                return;
        }
        scan_count(t, so, now, final, true, &c);
        so->emitted = true;
        so->scan_verified = verified;
        so->last_emit_us = now;
        so->scan_users = c.n_refused + c.n_existing;
        for (unsigned i = 0; i < so->n_users; i++)
                if (so->users[i].fail_us && so->users[i].fail_us < first &&
                    so->users[i].fail_us >= now - t->cfg.window_us &&
                    scan_user_state(t, &so->users[i], now) != SCAN_USER_NONE)
                        first = so->users[i].fail_us;

        memset(&s, 0, sizeof s);
        endpoint_format(&so->client, client, sizeof client);
        endpoint_format(&so->server, server, sizeof server);
        endpoint_format_addr(&so->addr, ip, sizeof ip);
        s.code = DIAG_ACCOUNT_SCAN;
        s.attempts = so->failures;
        s.n_users = c.n_refused + c.n_existing;
        s.n_refused_users = c.n_refused;
        s.n_existing_users = c.n_existing;
        s.user_list = c.refused;
        s.existing_list = c.existing;
        s.span_ms = ms_between(first, now);
        s.method = so->method;
        s.realm = so->realm;
        s.client = client;
        s.server = server;
        s.user = "";
        s.user_agent = so->user_agent;
        s.server_agent = so->server_agent;
        s.family = server_family_detect(so->server_agent, so->pjsip_shape);

        record_init(&d, DIAG_ACCOUNT_SCAN, so->failures, first, now);
        record_parties(&d, so->realm, &so->client, &so->server, so->transport, so->method,
                       so->user_agent, so->server_agent);
        for (unsigned i = 0; i < so->n_users && d.n_accounts < DIAG_ACCOUNTS_MAX; i++) {
                ScanUserState st = scan_user_state(t, &so->users[i], now);
                if (st == SCAN_USER_NONE)
                        continue;
                copy_str(d.accounts[d.n_accounts].user, sizeof d.accounts[0].user,
                         so->users[i].name);
                d.accounts[d.n_accounts++].exists = st == SCAN_USER_EXISTS;
        }
        strbuf_append(d.message, sizeof d.message,
                      "account scan from %s: %u usernames tried within %u s", ip, s.n_users,
                      s.span_ms / 1000 + 1);
        r->evidence(&s, d.evidence, sizeof d.evidence);
        r->remedy(&s, d.remedy, sizeof d.remedy);
        pc = (ProofCount){.total = c.count, .proven = c.n_proven};
        record_source(&d, verified, &pc, "usernames failed in requests that",
                      "requests without credentials over UDP can be spoofed");
        deliver(t, &d, now, &so->addr);
}

/* A username failed from a source: refused with credentials (definite),
 * 403/404 to a REGISTER (definite), or challenged without credentials (pending). */
static void source_fail(Tracker *t, const PacketMeta *meta, const SipMsg *m, const Txn *x,
                        bool definite, bool pjsip_shape)
{
        const char *agent = m->server ? m->server : m->user_agent;
        Source *so = source_get(t, &x->src, meta->ts_us, true);
        SourceUser *u;

        if (!so)
                return;
        u = source_user(t, so, x->user, true);
        if (!u)
                return; /* out of memory: counted nowhere better than not at all */
        u->fail_us = meta->ts_us;
        if (!u->first_fail_us)
                u->first_fail_us = meta->ts_us;
        u->definite |= definite;
        u->pending |= !definite;
        u->proven |= x->proof != PROOF_NONE;
        so->failures++;
        copy_str(so->user_agent, sizeof so->user_agent, x->user_agent);
        copy_str(so->method, sizeof so->method, x->method);
        if (x->realm[0])
                copy_str(so->realm, sizeof so->realm, x->realm);
        if (agent)
                copy_str(so->server_agent, sizeof so->server_agent, agent);
        so->client = x->src;
        so->server = x->dst;
        so->transport = x->transport;
        so->pjsip_shape |= pjsip_shape;
        scan_evaluate(t, so, meta->ts_us, false);
}

/*
 * Whether a 403/404 to this request counts toward an account scan. A
 * REGISTER names the account in To (RFC 3261 §10.2). An INVITE, OPTIONS or
 * SUBSCRIBE without credentials counts only when its From user is its To
 * user, as svwar -m INVITE/OPTIONS sends them: an ordinary 404 to a call
 * names a wrong number, and a trunk's calls to unprovisioned numbers (many
 * callers, many numbers) must never look like a scan.
 */
static bool scan_probe(const Txn *x, const SipMsg *m)
{
        if (is_method(x->method, "REGISTER"))
                return true;
        if (x->has_creds || !(is_method(x->method, "INVITE") || is_method(x->method, "OPTIONS") ||
                              is_method(x->method, "SUBSCRIBE")))
                return false;
        return m->from_user && m->to_user && m->from_user[0] &&
               strcmp(m->from_user, m->to_user) == 0;
}

/* ---- refusals and successes ------------------------------------------- */

static void refusal(Tracker *t, const PacketMeta *meta, const SipMsg *m, const Txn *x,
                    uint32_t mask, bool stale, const ChallengeSet *cs, bool pjsip_shape)
{
        const char *realm = x->realm[0] ? x->realm : (cs && cs->n ? cs->ch[0].realm : "");
        const char *agent = m->server ? m->server : m->user_agent;
        Principal *p = principal_get(t, x->user, realm, &x->src, meta->ts_us, true);
        AttemptRec *a;

        t->st.refusals++;
        if (!p)
                return;
        if (p->ring_n == 0)
                p->streak_first_us = meta->ts_us;
        a = &p->ring[p->ring_head];
        p->ring_head = (p->ring_head + 1) % TRACKER_THRESHOLD_MAX;
        if (p->ring_n < TRACKER_THRESHOLD_MAX)
                p->ring_n++;
        p->streak_total++;
        *a = (AttemptRec){
            .ts_us = meta->ts_us,
            .delay_ms = x->delay_ms,
            .nonce_age_ms = x->nonce_age_ms,
            .status = (uint16_t)m->status,
            .mask = mask,
            .answered_latest = x->answered_latest,
            .stale = stale,
            .nonce_age_known = x->nonce_known,
            .moved = (x->anomalies & (1u << DIAG_SOURCE_CHANGED)) != 0,
            .verify = x->verify,
            .proof = x->proof,
            .resp_hash = x->resp_hash,
            .req_hash = (uint32_t)(str_hash(t, m->call_id) ^ (m->cseq * 0x9e3779b97f4a7c15ULL)),
            .tag_hash = (uint32_t)str_hash(t, m->from_tag),
        };

        copy_str(p->method, sizeof p->method, x->method);
        copy_str(p->call_id, sizeof p->call_id, m->call_id);
        copy_str(p->user_agent, sizeof p->user_agent, x->user_agent);
        if (agent)
                copy_str(p->server_agent, sizeof p->server_agent, agent);
        p->client = x->src;
        p->server = x->dst;
        p->transport = x->transport;
        p->proxy = m->status == 407 || x->ref_proxy;
        if (pjsip_shape)
                p->pjsip_shape = true;
        if (a->moved) {
                p->moved_from = x->challenged_client;
                p->moved_to = x->src;
        }
        copy_str(p->ruri, sizeof p->ruri, x->ruri);
        if (x->has_creds) {
                copy_str(p->cred_realm, sizeof p->cred_realm, x->cred_realm);
                copy_str(p->cred_alg, sizeof p->cred_alg, x->cred_alg);
                copy_str(p->cred_uri, sizeof p->cred_uri, x->cred_uri);
                copy_str(p->nonce_prefix, sizeof p->nonce_prefix, x->nonce_prefix);
                p->cred_qop = x->cred_qop;
                p->nc_stuck = x->nc_stuck;
        }
        if (x->have_ref) {
                copy_str(p->offered_algs, sizeof p->offered_algs, x->offered_algs);
                p->offered_qop = x->offered_qop;
        } else if (cs && cs->n) {
                format_offered_algs(cs, p->offered_algs, sizeof p->offered_algs);
                p->offered_qop = cs->ch[0].qop_mask;
        }
        evaluate(t, p, meta->ts_us);
        source_fail(t, meta, m, x, true, pjsip_shape);
}

/* The principal authenticated after a diagnosis: say so once, with how long it lasted. */
static void emit_resolved(Tracker *t, Principal *p, const Txn *x, unsigned status, int64_t now_us)
{
        const Rule *r = rules_get(DIAG_RESOLVED);
        char codes[160] = "", ip[ENDPOINT_STRLEN], client[ENDPOINT_STRLEN],
             moved_from[ENDPOINT_STRLEN], moved_to[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN];
        Streak s;
        Diagnosis d;

        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (p->emitted[i])
                        strbuf_append(codes, sizeof codes, "%s%s", codes[0] ? ", " : "",
                                      diag_code_name((DiagCode)i));
        memset(&s, 0, sizeof s);
        p->client = x->src;
        streak_details(&s, p, client, moved_from, moved_to, server);
        s.code = DIAG_RESOLVED;
        s.attempts = p->streak_total;
        s.resolved_codes = codes;
        s.span_ms = ms_between(p->streak_first_us, now_us);
        s.success_status = status;

        fill_principal(&d, p, DIAG_RESOLVED);
        d.attempts = p->streak_total;
        d.first_seen_us = p->streak_first_us;
        d.last_seen_us = now_us;
        endpoint_format_addr(&p->addr, ip, sizeof ip);
        strbuf_append(d.message, sizeof d.message,
                      "%s of %s%s%s from %s authenticated again after %s (%u refusals)", x->method,
                      p->user, p->realm[0] ? "@" : "", p->realm, ip, codes, p->streak_total);
        r->evidence(&s, d.evidence, sizeof d.evidence);
        r->remedy(&s, d.remedy, sizeof d.remedy);
        d.source_verified = x->proof != PROOF_NONE ? SOURCE_VERIFIED_YES : SOURCE_VERIFIED_NO;
        deliver(t, &d, now_us, &x->src);
}

/*
 * A request with credentials accepted for an account under attack
 * (DESIGN.md credential-compromise): after guessing against it from this
 * source (the principal's open record, or the guessed ring), from another
 * source within the window after that guessing, or from a source reported
 * for an account scan. Said once per window for the source and account.
 * Returns true when the success was a compromise (then never "resolved").
 */
/* Credentials that answer the latest challenge of their chain with a nonce
 * this server issued, and do not fail against a configured secret: a 2xx to
 * them is a login. Anything less (junk credentials a server does not check,
 * a forged 200) neither ends a streak nor says anything. */
static bool login_proven(const Txn *x)
{
        return x->has_creds && x->answered_latest && x->nonce_known && x->verify != VERIFY_MISMATCH;
}

static bool compromise(Tracker *t, const PacketMeta *meta, const SipMsg *m, const Txn *x,
                       const Principal *p, Source *so, const SourceUser *su, unsigned status)
{
        const Rule *r = rules_get(DIAG_CREDENTIAL_COMPROMISE);
        int64_t now = meta->ts_us, since_us, first_us;
        char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN], attacker[ENDPOINT_STRLEN] = "",
                                                               ip[ENDPOINT_STRLEN];
        uint64_t uh, rh;
        Guessed *g_same, *g_other;
        int64_t *said;
        bool before_verified; /* the guessing or scan record before the login was */
        ProofCount pc = {0};
        Streak s;
        Diagnosis d;

        /* The caller saw a proven login (login_proven); of those only a
         * REGISTER or INVITE, which a server that challenged must check: a
         * 200 to an OPTIONS proves nothing (issue 12 review). */
        if (!is_method(x->method, "REGISTER") && !is_method(x->method, "INVITE"))
                return false;
        uh = str_hash(t, x->user);
        rh = str_hash(t, x->realm);
        g_same = guessed_find(t, uh, rh, &x->src, true, now);
        g_other = guessed_find(t, uh, rh, &x->src, false, now);
        memset(&s, 0, sizeof s);
        if (p && p->emitted[DIAG_CREDENTIAL_GUESSING]) {
                s.trigger = COMPROMISE_AFTER_GUESSING;
                s.attempts = g_same ? g_same->attempts : p->streak_total;
                first_us = p->streak_first_us;
                since_us = p->last_emit_us[DIAG_CREDENTIAL_GUESSING];
                said = g_same ? &g_same->compromise_emit_us : NULL;
                before_verified =
                    p->emitted_verified[DIAG_CREDENTIAL_GUESSING] || (g_same && g_same->verified);
        } else if (g_same) {
                s.trigger = COMPROMISE_AFTER_GUESSING;
                s.attempts = g_same->attempts;
                first_us = g_same->first_us;
                since_us = g_same->reported_us;
                said = &g_same->compromise_emit_us;
                before_verified = g_same->verified;
        } else if (so && so->emitted && now - so->last_emit_us < t->cfg.window_us && su &&
                   su->scanned && su->first_fail_us && now - su->first_fail_us < t->cfg.window_us &&
                   su->first_fail_us + SCAN_LOGIN_GAP_US < now - (int64_t)x->delay_ms * 1000) {
                /* A name the scan record named, tried before this login's own challenge, logged
                 * into from the scanner. */
                s.trigger = COMPROMISE_AFTER_SCAN;
                s.n_users = so->scan_users;
                first_us = since_us = so->last_emit_us;
                said = &so->compromise_emit_us;
                before_verified = so->scan_verified;
        } else if (g_other) {
                /* Maybe the guesser's find, maybe the owner's phone: the record
                 * says so and names no address to ban (its message does not
                 * match the fail2ban filter). */
                s.trigger = COMPROMISE_OTHER_SOURCE;
                s.attempts = g_other->attempts;
                first_us = g_other->first_us;
                since_us = g_other->reported_us;
                said = &g_other->compromise_emit_us;
                before_verified = g_other->verified;
                endpoint_format_addr(&g_other->guesser, attacker, sizeof attacker);
        } else {
                return false;
        }
        if (said && *said && now - *said < t->cfg.window_us) {
                t->st.suppressed++;
                return true;
        }
        if (said)
                *said = now;

        endpoint_format(&x->src, client, sizeof client);
        endpoint_format(&x->dst, server, sizeof server);
        endpoint_format_addr(&x->src, ip, sizeof ip);
        s.code = DIAG_CREDENTIAL_COMPROMISE;
        s.method = x->method;
        s.user = x->user;
        s.realm = x->realm;
        s.client = client;
        s.server = server;
        s.attacker = attacker;
        s.success_status = status;
        s.span_ms = ms_between(first_us, since_us);
        s.gap_ms = ms_between(since_us, now);
        s.user_agent = x->user_agent;
        s.server_agent = m->server ? m->server : "";
        s.family = server_family_detect(s.server_agent, p && p->pjsip_shape);

        record_init(&d, DIAG_CREDENTIAL_COMPROMISE, s.attempts, first_us, now);
        record_parties(&d, x->realm, &x->src, &x->dst, x->transport, x->method, x->user_agent,
                       s.server_agent);
        copy_str(d.user, sizeof d.user, x->user);
        copy_str(d.call_id, sizeof d.call_id, m->call_id);
        copy_str(d.algorithm, sizeof d.algorithm, x->cred_alg);
        if (s.trigger == COMPROMISE_OTHER_SOURCE)
                strbuf_append(d.message, sizeof d.message,
                              "%s of %s%s%s accepted from %s after password guessing from %s: "
                              "the password may be known to the guesser",
                              x->method, x->user, x->realm[0] ? "@" : "", x->realm, ip, attacker);
        else
                strbuf_append(d.message, sizeof d.message,
                              "%s of %s%s%s from %s accepted after %s: the password is compromised",
                              x->method, x->user, x->realm[0] ? "@" : "", x->realm, ip,
                              s.trigger == COMPROMISE_AFTER_SCAN
                                  ? "an account scan from that source"
                                  : "password guessing against it");
        r->evidence(&s, d.evidence, sizeof d.evidence);
        r->remedy(&s, d.remedy, sizeof d.remedy);
        /* The login proves its source, and what came before it was verified:
         * else a spoofed guessing "from" a victim followed by the victim's own
         * login would ban the victim. */
        proof_count(&pc, (Proof)x->proof);
        record_source(&d, pc.proven && before_verified, &pc, "logins",
                      pc.proven ? "the guessing or scan before it was not verified"
                                : "the login did not prove its source");
        deliver(t, &d, now, &x->src);
        return true;
}

static void success(Tracker *t, const PacketMeta *meta, const SipMsg *m, const Txn *x,
                    unsigned status)
{
        Principal *p = principal_get(t, x->user, x->realm, &x->src, meta->ts_us, false);
        bool open = false;

        Source *so = source_get(t, &x->src, meta->ts_us, false);
        SourceUser *su = so ? source_user(t, so, x->user, false) : NULL;

        t->st.successes++;
        t->st.auth_successes += x->has_creds;
        /* A 2xx that unauthenticated HEP reports is anyone's word: it must not
         * end a guesser's streak or take a name out of a scan (issue 13). */
        if (meta->origin == ORIGIN_HEP_UNAUTH)
                return;
        if (su)
                su->succeeded = true;
        if (x->has_creds && (x->anomalies & LEARNABLE)) {
                ServerInfo *si = server_info(t, &x->dst, meta->ts_us, true);
                if (si)
                        si->tolerated |= x->anomalies & LEARNABLE;
        }
        if (x->has_creds && !login_proven(x))
                return;
        if (x->has_creds && compromise(t, meta, m, x, p, so, su, status)) {
                /* The streak is over, and never "resolved". */
                if (p) {
                        p->ring_n = 0;
                        p->streak_total = 0;
                        memset(p->emitted, 0, sizeof p->emitted);
                        memset(p->emitted_verified, 0, sizeof p->emitted_verified);
                }
                return;
        }
        if (!p)
                return;
        /* Success ends the streak, but only an authenticated one or one of the
         * refused method: a 200 to an unauthenticated OPTIONS proves nothing. */
        if (!x->has_creds && strcasecmp(p->method, x->method) != 0)
                return;
        for (unsigned i = 0; i < DIAG__MAX; i++)
                open |= p->emitted[i];
        /* Never "resolved" after guessing: a login that is no compromise (an
         * unproven method) says nothing either way. */
        if (open && !p->emitted[DIAG_CREDENTIAL_GUESSING])
                emit_resolved(t, p, x, status, meta->ts_us);
        p->ring_n = 0;
        p->streak_total = 0;
        memset(p->emitted, 0, sizeof p->emitted);
        memset(p->emitted_verified, 0, sizeof p->emitted_verified);
}

static void on_response(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        ChallengeSet cs;
        ChallengeKeys ck;
        bool pjsip_shape = false, challenge = m->status == 401 || m->status == 407;
        Txn *x;
        HKey kt;

        t->st.responses++;
        if (m->status < 200)
                return;
        txn_key(t, &kt.k, m);
        hkey_hash(&kt, &t->txns);
        if (challenge) {
                challenge_keys(t, meta, m, m->status == 407, &ck);
                collect_challenges(t, m, m->status == 407, &cs, &pjsip_shape);
                if (cs.valid) {
                        t->st.challenges++;
                        t->st.challenges_407 += m->status == 407;
                }
                lru_prefetch_slot(&t->txns, kt.h);
                challenge_keys_prefetch(t, &ck);
        } else {
                lru_prefetch_slot(&t->txns, kt.h);
        }

        x = (Txn *)table_find_h(&t->txns, &kt, meta->ts_us);
        if (!x) {
                t->st.unmatched_responses++;
                /* The request was not captured: still learn the challenge. */
                if (challenge && cs.valid)
                        record_challenge(t, meta, m, m->from_user, &meta->dst, &cs, &ck);
                return;
        }
        if (x->final_seen) {
                t->st.retransmissions++;
                return;
        }
        x->final_seen = true;
        /* Most final responses end in the principal and source tables. */
        hint_source(t, &x->src);
        hint_principal(t, x->user,
                       x->realm[0] ? x->realm : (challenge && cs.n ? cs.ch[0].realm : ""), &x->src);

        if (challenge && cs.valid)
                record_challenge(t, meta, m, x->from_user, &x->src, &cs, &ck);
        lru_prefetch_slot(&t->sources, t->hint_source.h);
        lru_prefetch_slot(&t->principals, t->hint_principal.h);

        if (challenge) {
                bool stale = false;
                for (unsigned i = 0; i < cs.n; i++)
                        stale |= cs.ch[i].stale;
                if (!cs.valid)
                        refusal(t, meta, m, x, 1u << DIAG_CHALLENGE_MISSING, false, &cs,
                                pjsip_shape);
                else if (x->has_creds)
                        refusal(t, meta, m, x, x->anomalies | (stale ? 1u << DIAG_STALE_NONCE : 0),
                                stale, &cs, pjsip_shape);
                else if (x->nocreds_after_challenge)
                        refusal(t, meta, m, x, 1u << DIAG_NO_CREDENTIALS, false, &cs, pjsip_shape);
                else
                        source_fail(t, meta, m, x, false, pjsip_shape); /* pending */
        } else if (m->status == 403 && x->has_creds) {
                /* chan_sip and others answer wrong credentials with 403 Forbidden. */
                refusal(t, meta, m, x, x->anomalies, false, NULL, false);
        } else if ((m->status == 403 || m->status == 404) && scan_probe(x, m)) {
                /* Extension enumeration (svwar): 404/403 for names that do not exist. */
                source_fail(t, meta, m, x, true, false);
        } else if (m->status >= 200 && m->status < 300) {
                success(t, meta, m, x, m->status);
        }
}

/* ---- public ----------------------------------------------------------- */

void tracker_feed(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        if (!m->call_id || !m->cseq_method)
                return;
        t->world = meta->origin == ORIGIN_HEP_UNAUTH;
        if (m->is_request)
                on_request(t, meta, m);
        else
                on_response(t, meta, m);
}

/* Sources touched recently may hold challenges that have now gone unanswered
 * long enough to count; look at the most recent few each tick (bounded). */
static void scan_recent_sources(Tracker *t, int64_t now_us, bool final)
{
        unsigned budget = final ? (unsigned)t->sources.count : 256;
        Source *so = lru_newest(&t->sources);

        for (; so && budget > 0; so = lru_older(&t->sources, so), budget--) {
                if (!final && lru_last_us(&t->sources, so) < now_us - 2 * SCAN_PENDING_US)
                        break;
                scan_evaluate(t, so, now_us, final);
        }
}

void tracker_expire(Tracker *t, int64_t now_us)
{
        int64_t keep = 2 * t->cfg.window_us;

        scan_recent_sources(t, now_us, false);
        rate_roll(t, t->cfg.clock_us ? t->cfg.clock_us() : now_us);
        lru_expire(&t->txns, now_us - t->cfg.transaction_ttl_us);
        lru_expire(&t->chains, now_us - keep);
        lru_expire(&t->clients, now_us - keep);
        lru_expire(&t->nonces, now_us - keep);
        lru_expire(&t->principals, now_us - t->cfg.window_us);
        lru_expire(&t->sources, now_us - t->cfg.window_us);
}

void tracker_flush(Tracker *t, int64_t now_us)
{
        scan_recent_sources(t, now_us, true);
        if (t->rate_held)
                emit_rate_summary(t, now_us);
}

static void clamp_config(TrackerConfig *c)
{
        if (c->threshold < 1)
                c->threshold = 1;
        if (c->threshold > TRACKER_THRESHOLD_MAX)
                c->threshold = TRACKER_THRESHOLD_MAX;
        if (c->guess_threshold < 2)
                c->guess_threshold = 2;
        if (c->guess_threshold > TRACKER_THRESHOLD_MAX)
                c->guess_threshold = TRACKER_THRESHOLD_MAX;
        if (c->scan_threshold < 2)
                c->scan_threshold = 2;
        if (c->scan_threshold > SOURCE_USERS)
                c->scan_threshold = SOURCE_USERS;
}

static bool resize(LruMap *m, size_t max)
{
        return lru_set_max(m, max ? max : 1);
}

bool tracker_reconfigure(Tracker *t, const TrackerConfig *cfg)
{
        bool ok = true;

        uint64_t seed = t->cfg.hash_seed;

        t->cfg = *cfg;
        t->cfg.hash_seed = seed; /* the tables stay keyed as they were built */
        clamp_config(&t->cfg);
        ok &= resize(&t->txns, cfg->max_transactions);
        ok &= resize(&t->chains, cfg->max_chains);
        ok &= resize(&t->clients, cfg->max_clients);
        ok &= resize(&t->nonces, cfg->max_nonces);
        ok &= resize(&t->principals, cfg->max_principals);
        ok &= resize(&t->sources, cfg->max_sources);
        return ok;
}

void tracker_set_credentials(Tracker *t, struct CredStore *store)
{
        t->cfg.credentials = store;
}

void tracker_get_stats(const Tracker *t, TrackerStats *out)
{
        *out = t->st;
        out->transactions = t->txns.count;
        out->chains = t->chains.count;
        out->clients = t->clients.count;
        out->nonces = t->nonces.count;
        out->principals = t->principals.count;
        out->sources = t->sources.count;
        out->evicted_transactions = t->txns.evictions;
        out->evicted_chains = t->chains.evictions;
        out->evicted_clients = t->clients.evictions;
        out->evicted_nonces = t->nonces.evictions;
        out->evicted_principals = t->principals.evictions;
        out->evicted_sources = t->sources.evictions;
        out->long_keys = t->txns.long_keys + t->chains.long_keys + t->clients.long_keys +
                         t->nonces.long_keys + t->principals.long_keys + t->sources.long_keys +
                         t->servers.long_keys;
}

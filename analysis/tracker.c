/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Correlation (DESIGN.md): requests and responses meet in transactions
 * (transactions.c); the latest challenge a client received is remembered
 * per attempt chain and per client, every nonce a server issued with its
 * algorithm and last nc (challenges.c). A retry with credentials is checked
 * against the challenge it answers when it is seen; when the server refuses
 * it, the attempt and its anomalies go to the principal (user, realm, client
 * address), whose sliding window decides when a diagnosis is due
 * (principals.c). tracker-internal.h maps the rest.
 *
 * This file is the public entry: construction, feeding, expiry, limits and
 * statistics.
 */
#include "tracker.h"

#include <stdlib.h>

#include "tracker-internal.h"

/* Key bytes kept in the slot, per table; longer keys are stored out of line.
 * A Via branch is 20-40 bytes, a Call-ID and From tag together 40-80, a nonce 30-50. */
#define KEY_INLINE_TXN       56
#define KEY_INLINE_CHAIN     88
#define KEY_INLINE_CLIENT    56
#define KEY_INLINE_NONCE     64
#define KEY_INLINE_PRINCIPAL 64
#define KEY_INLINE_ADDR      24 /* family + address: 19 bytes at most */

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

/* Every table has its own seed (hash_seed ^ salt), as before; p: the shape
 * of its entries (sizes, inline key bytes, keep and free functions). */
static bool table_init(LruMap *m, const TrackerConfig *cfg, size_t max, uint64_t salt, LruParams p)
{
        p.max = max;
        p.seed = cfg->hash_seed ^ salt;
        p.preallocate = cfg->preallocate;
        return lru_init(m, &p);
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
        t->tolerable = rules_tolerable();
        t->hint_principal.k.len = KEY_NONE;
        t->hint_source.k.len = KEY_NONE;
        if (!table_init(&t->txns, &t->cfg, t->cfg.max_transactions, 0,
                        (LruParams){.entry_size = sizeof(Txn),
                                    .zero_size = TXN_ZERO,
                                    .hot_size = TXN_HOT,
                                    .key_inline = KEY_INLINE_TXN}) ||
            !table_init(&t->chains, &t->cfg, t->cfg.max_chains, 1,
                        (LruParams){.entry_size = sizeof(Holder),
                                    .zero_size = HOLDER_ZERO,
                                    .hot_size = HOLDER_HOT,
                                    .key_inline = KEY_INLINE_CHAIN}) ||
            !table_init(&t->clients, &t->cfg, t->cfg.max_clients, 2,
                        (LruParams){.entry_size = sizeof(Holder),
                                    .zero_size = HOLDER_ZERO,
                                    .hot_size = HOLDER_HOT,
                                    .key_inline = KEY_INLINE_CLIENT}) ||
            !table_init(&t->nonces, &t->cfg, t->cfg.max_nonces, 3,
                        (LruParams){.entry_size = sizeof(Nonce), .key_inline = KEY_INLINE_NONCE}) ||
            !table_init(&t->principals, &t->cfg, t->cfg.max_principals, 4,
                        (LruParams){.entry_size = sizeof(Principal),
                                    .zero_size = PRINCIPAL_ZERO,
                                    .hot_size = PRINCIPAL_HOT,
                                    .key_inline = KEY_INLINE_PRINCIPAL,
                                    .keep_fn = principal_keep}) ||
            !table_init(&t->sources, &t->cfg, t->cfg.max_sources, 5,
                        (LruParams){.entry_size = sizeof(Source),
                                    .key_inline = KEY_INLINE_ADDR,
                                    .keep_fn = source_keep,
                                    .free_fn = source_free}) ||
            !table_init(
                &t->servers, &t->cfg, SERVERS_MAX, 6,
                (LruParams){.entry_size = sizeof(ServerInfo), .key_inline = KEY_INLINE_ADDR}))
                return tracker_free(t);
        t->sources.userdata = &t->source_user_slots; /* for source_free */
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

void tracker_feed(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        if (!m->call_id || !m->cseq_method)
                return;
        t->world = meta->origin == ORIGIN_HEP_UNAUTH;
        if (m->is_request)
                txn_request(t, meta, m);
        else
                txn_response(t, meta, m);
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
                rate_summary(t, now_us);
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

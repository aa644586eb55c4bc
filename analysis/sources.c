/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-source counters (account-scan, RFC 3261 §26.3.2.4): which usernames
 * failed from a client address, and how: refused with credentials or
 * 403/404 (definite), or challenged and never answered (pending, then the
 * account exists). Enough names within the window make one record.
 */
#include "tracker-internal.h"

#include <stdlib.h>

#include "strbuf.h"

bool source_keep(const void *e)
{
        return ((const Source *)e)->n_users >= 2;
}

void source_free(void *e, void *userdata)
{
        Source *so = e;
        size_t *slots = userdata;

        *slots -= so->cap_users;
        free(so->users);
}

void source_hint(Tracker *t, const Endpoint *src)
{
        Endpoint addr = *src;

        addr.port = 0;
        addr_key(&t->hint_source.k, t->world, &addr);
        hkey_hash(&t->hint_source, &t->sources);
}

Source *source_get(Tracker *t, const Endpoint *src, int64_t now, bool create)
{
        Endpoint addr = *src;
        Source *so;
        bool created;
        uint64_t h;
        Key k;

        addr.port = 0;
        addr_key(&k, t->world, &addr);
        h = hint_hash(&t->hint_source, &k, &t->sources);
        if (!create)
                return (Source *)lru_find_h(&t->sources, h, k.buf, k.len, now);
        so = (Source *)lru_get_h(&t->sources, h, k.buf, k.len, now, &created);
        if (so && created)
                so->addr = addr;
        return so;
}

/* Room for one more name: the list doubles while the slots over all sources last. */
static void source_users_grow(Tracker *t, Source *so)
{
        unsigned cap = so->cap_users ? so->cap_users * 2 : 2;
        SourceUser *grown;

        if (t->source_user_slots + (cap - so->cap_users) > t->cfg.max_sources * SOURCE_USER_SLOTS) {
                t->st.source_users_capped++;
                return;
        }
        grown = realloc(so->users, cap * sizeof *grown);
        if (!grown)
                return;
        t->source_user_slots += cap - so->cap_users;
        so->users = grown;
        so->cap_users = cap;
}

static int source_user_find(const Source *so, uint64_t h)
{
        uint16_t tag = (uint16_t)h;

        for (unsigned i = 0; i < so->n_users; i++)
                if (so->tags[i] == tag && so->users[i].user_hash == h)
                        return (int)i;
        return -1;
}

SourceUser *source_user(Tracker *t, Source *so, const char *user, bool create)
{
        uint64_t h = str_hash(t, user ? user : "");
        int found = source_user_find(so, h);
        unsigned i;
        SourceUser *u;

        if (found >= 0)
                return &so->users[found];
        if (!create)
                return NULL;
        if (so->n_users == so->cap_users && so->cap_users < SOURCE_USERS)
                source_users_grow(t, so);
        /* Bounded: past SOURCE_USERS names (or out of memory) the oldest slots are reused. */
        if (so->n_users < so->cap_users) {
                i = so->n_users++;
        } else if (so->n_users == 0) {
                return NULL;
        } else {
                i = so->next % so->n_users;
                so->next = (so->next + 1) % so->n_users;
        }
        u = &so->users[i];
        memset(u, 0, sizeof *u);
        u->user_hash = h;
        so->tags[i] = (uint16_t)h;
        copy_str(u->name, sizeof u->name, user);
        return u;
}

void source_mark(Tracker *t, const Endpoint *src, const char *user, bool answered, bool succeeded,
                 int64_t now)
{
        Source *so = source_get(t, src, now, false);
        SourceUser *u = so ? source_user(t, so, user, false) : NULL;

        if (!u)
                return;
        u->answered |= answered;
        u->succeeded |= succeeded;
}

/* ---- the scan --------------------------------------------------------- */

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

/* The first failure of a name in the scan, within the window. */
static int64_t scan_first(const Tracker *t, const Source *so, int64_t now)
{
        int64_t first = now;

        for (unsigned i = 0; i < so->n_users; i++)
                if (so->users[i].fail_us && so->users[i].fail_us < first &&
                    so->users[i].fail_us >= now - t->cfg.window_us &&
                    scan_user_state(t, &so->users[i], now) != SCAN_USER_NONE)
                        first = so->users[i].fail_us;
        return first;
}

/* The names of the scan, and whether the wire showed each account exists. */
static void scan_accounts(const Tracker *t, const Source *so, int64_t now, Diagnosis *d)
{
        for (unsigned i = 0; i < so->n_users && d->n_accounts < DIAG_ACCOUNTS_MAX; i++) {
                ScanUserState st = scan_user_state(t, &so->users[i], now);
                if (st == SCAN_USER_NONE)
                        continue;
                copy_str(d->accounts[d->n_accounts].user, sizeof d->accounts[0].user,
                         so->users[i].name);
                d->accounts[d->n_accounts++].exists = st == SCAN_USER_EXISTS;
        }
}

static void emit_scan(Tracker *t, const Source *so, const ScanCount *c, int64_t first, int64_t now,
                      bool verified)
{
        char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN], ip[ENDPOINT_STRLEN];
        AttemptDetails att = {0}; /* the source's latest failing attempt */
        ProofCount pc = {.total = c->count, .proven = c->n_proven};
        Streak s;
        Diagnosis d;

        copy_str(att.method, sizeof att.method, so->method);
        copy_str(att.realm, sizeof att.realm, so->realm);
        copy_str(att.user_agent, sizeof att.user_agent, so->user_agent);
        endpoint_format(&so->client, client, sizeof client);
        endpoint_format(&so->server, server, sizeof server);
        endpoint_format_addr(&so->addr, ip, sizeof ip);
        s = (Streak){
            .code = DIAG_ACCOUNT_SCAN,
            .att = &att,
            .attempts = so->failures,
            .n_users = c->n_refused + c->n_existing,
            .n_refused_users = c->n_refused,
            .n_existing_users = c->n_existing,
            .user_list = c->refused,
            .existing_list = c->existing,
            .span_ms = ms_between(first, now),
            .client = client,
            .server = server,
            .server_agent = so->server_agent,
            .family = server_family_detect(so->server_agent, so->pjsip_shape),
        };

        record_init(&d, DIAG_ACCOUNT_SCAN, so->failures, first, now);
        record_attempt(&d, &att);
        record_parties(&d, &so->client, &so->server, so->transport, so->server_agent);
        scan_accounts(t, so, now, &d);
        strbuf_append(d.message, sizeof d.message,
                      "account scan from %s: %u usernames tried within %u s", ip, s.n_users,
                      s.span_ms / 1000 + 1);
        record_words(&d, &s);
        record_source(&d, verified, &pc, "usernames failed in requests that",
                      "requests without credentials over UDP can be spoofed");
        record_deliver(t, &d, now, &so->addr);
}

static void scan_evaluate(Tracker *t, Source *so, int64_t now, bool final)
{
        ScanCount c;
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
        emit_scan(t, so, &c, scan_first(t, so, now), now, verified);
}

/* A username failed from a source: refused with credentials (definite),
 * 403/404 to a REGISTER (definite), or challenged without credentials (pending). */
void source_fail(Tracker *t, const Reply *r, const Txn *x, bool definite)
{
        const char *agent = r->m->server ? r->m->server : r->m->user_agent;
        Source *so = source_get(t, &x->src, r->meta->ts_us, true);
        SourceUser *u;

        if (!so)
                return;
        u = source_user(t, so, x->det.user, true);
        if (!u)
                return; /* out of memory: counted nowhere better than not at all */
        u->fail_us = r->meta->ts_us;
        if (!u->first_fail_us)
                u->first_fail_us = r->meta->ts_us;
        u->definite |= definite;
        u->pending |= !definite;
        u->proven |= x->proof != PROOF_NONE;
        so->failures++;
        copy_str(so->user_agent, sizeof so->user_agent, x->det.user_agent);
        copy_str(so->method, sizeof so->method, x->det.method);
        if (x->det.realm[0])
                copy_str(so->realm, sizeof so->realm, x->det.realm);
        if (agent)
                copy_str(so->server_agent, sizeof so->server_agent, agent);
        so->client = x->src;
        so->server = x->dst;
        so->transport = x->transport;
        so->pjsip_shape |= r->pjsip_shape;
        scan_evaluate(t, so, r->meta->ts_us, false);
}

/*
 * Whether a 403/404 to this request counts toward an account scan. A
 * REGISTER names the account in To (RFC 3261 §10.2). An INVITE, OPTIONS or
 * SUBSCRIBE without credentials counts only when its From user is its To
 * user, as svwar -m INVITE/OPTIONS sends them: an ordinary 404 to a call
 * names a wrong number, and a trunk's calls to unprovisioned numbers (many
 * callers, many numbers) must never look like a scan.
 */
bool scan_probe(const Txn *x, const SipMsg *m)
{
        if (is_method(x->det.method, "REGISTER"))
                return true;
        if (x->has_creds ||
            !(is_method(x->det.method, "INVITE") || is_method(x->det.method, "OPTIONS") ||
              is_method(x->det.method, "SUBSCRIBE")))
                return false;
        return m->from_user && m->to_user && m->from_user[0] &&
               strcmp(m->from_user, m->to_user) == 0;
}

/* Sources touched recently may hold challenges that have now gone unanswered
 * long enough to count; look at the most recent few each tick (bounded). */
void scan_recent_sources(Tracker *t, int64_t now_us, bool final)
{
        unsigned budget = final ? (unsigned)t->sources.count : 256;
        Source *so = lru_newest(&t->sources);

        for (; so && budget > 0; so = lru_older(&t->sources, so), budget--) {
                if (!final && lru_last_us(&t->sources, so) < now_us - 2 * SCAN_PENDING_US)
                        break;
                scan_evaluate(t, so, now_us, final);
        }
}

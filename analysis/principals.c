/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Principals (user, realm, client address): every refused attempt goes to
 * its principal's ring with the anomalies it showed; the sliding window
 * decides when a diagnosis is due, and which (rules_choose). A success ends
 * the streak (a "resolved" record when one was open) and teaches what the
 * server tolerates: an anomaly it accepts is not why it refuses others.
 */
#include "tracker-internal.h"

#include "digest.h"
#include "strbuf.h"

/* Under eviction pressure, entries that already show a pattern outlive one-offs. */
bool principal_keep(const void *e)
{
        return ((const Principal *)e)->ring_n >= 2;
}

void principal_hint(Tracker *t, const char *user, const char *realm, const Endpoint *addr)
{
        principal_key(&t->hint_principal.k, t->world, user, realm, addr);
        hkey_hash(&t->hint_principal, &t->principals);
}

static Principal *principal_get(Tracker *t, const char *user, const char *realm,
                                const Endpoint *addr, int64_t now, bool create)
{
        Principal *p;
        bool created;
        uint64_t h;
        Key k;

        principal_key(&k, t->world, user, realm, addr);
        h = hint_hash(&t->hint_principal, &k, &t->principals);
        if (!create)
                return (Principal *)lru_find_h(&t->principals, h, k.buf, k.len, now);
        p = (Principal *)lru_get_h(&t->principals, h, k.buf, k.len, now, &created);
        if (p && created) {
                copy_str(p->det.user, sizeof p->det.user, user);
                copy_str(p->det.realm, sizeof p->det.realm, realm);
                p->addr = *addr;
                p->addr.port = 0;
        }
        return p;
}

static ServerInfo *server_info(Tracker *t, const Endpoint *server, int64_t now, bool create)
{
        Key k;

        addr_key(&k, t->world, server);
        if (!create)
                return (ServerInfo *)table_find(&t->servers, &k, now);
        return (ServerInfo *)table_get(&t->servers, &k, now, NULL);
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

/* ---- the window ------------------------------------------------------- */

/* The refused attempts of a principal within the window, newest first. */
typedef struct {
        Streak s;
        const AttemptRec *win[TRACKER_THRESHOLD_MAX];
        const AttemptRec *proven[TRACKER_THRESHOLD_MAX]; /* those that proved their source */
        ProofCount pc;
        int64_t first_us; /* the oldest attempt's */
        uint32_t min_age, max_age;
} Window;

static void window_add(Window *w, const AttemptRec *a, uint32_t tolerated)
{
        Streak *s = &w->s;
        uint32_t shown = a->mask & ~tolerated;
        DiagCode cls = classify(shown, a->verify);

        w->win[s->attempts++] = a;
        if (a->proof != PROOF_NONE)
                w->proven[w->pc.proven] = a;
        proof_count(&w->pc, (Proof)a->proof);
        s->n_cls[cls]++;
        if (!shown)
                s->n_show[cls]++;
        for (unsigned b = 0; b < DIAG__MAX; b++)
                s->n_show[b] += (shown >> b) & 1u;
        s->tolerated_seen |= a->mask & tolerated;
        s->n_status[status_slot(a->status)]++;
        s->n_answered_latest += a->answered_latest;
        s->n_stale += a->stale;
        s->n_moved += a->moved;
        s->n_verified_ok += a->verify == VERIFY_OK;
        s->n_verified_bad += a->verify == VERIFY_MISMATCH;
        if (a->delay_ms > s->max_delay_ms && a->answered_latest)
                s->max_delay_ms = a->delay_ms;
        if (a->nonce_age_known) {
                if (a->nonce_age_ms < w->min_age)
                        w->min_age = a->nonce_age_ms;
                if (a->nonce_age_ms > w->max_age)
                        w->max_age = a->nonce_age_ms;
        }
        w->first_us = a->ts_us;
}

/* tolerated: the anomalies the principal's server is seen to accept. */
static void window_collect(const Tracker *t, const Principal *p, int64_t now_us, uint32_t tolerated,
                           Window *w)
{
        int64_t cutoff = now_us - t->cfg.window_us;
        bool fresh_later = false; /* a newer attempt of the window was not refused as stale */

        memset(w, 0, sizeof *w);
        w->first_us = now_us;
        w->min_age = UINT32_MAX;
        for (unsigned i = 0; i < p->ring_n; i++) {
                const AttemptRec *a = &p->ring[(p->ring_head + TRACKER_THRESHOLD_MAX - 1 - i) %
                                               TRACKER_THRESHOLD_MAX];

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
                window_add(w, a, tolerated);
        }
}

/* The cause the window shows, and whether its record names a verified source. */
static DiagCode window_verdict(const Tracker *t, const Window *w, bool *verified)
{
        DiagCode code = rules_choose(w->s.n_show, w->s.n_cls, w->s.attempts);

        /* Everything consistent yet refused, with many different responses from one
         * source, sent the way a wordlist loop sends them and no phone does: that
         * is guessing, reported once on top of wrong-password. Distinct responses
         * alone prove nothing: a phone's fresh cnonce makes every answer differ. */
        if (code == DIAG_WRONG_PASSWORD && w->s.n_distinct_responses >= t->cfg.guess_threshold &&
            w->s.n_loop >= GUESS_LOOP_MIN)
                code = DIAG_CREDENTIAL_GUESSING;
        /* Verified: the verdict holds on the attempts that proved their source
         * alone, so spoofed datagrams cannot make it (nor a victim's own real
         * attempts plus spoofed ones). */
        if (code == DIAG_CREDENTIAL_GUESSING)
                *verified = distinct_responses(w->proven, w->pc.proven) >= t->cfg.guess_threshold &&
                            loop_answers(w->proven, w->pc.proven) >= GUESS_LOOP_MIN;
        else
                *verified = w->pc.proven >= t->cfg.threshold;
        return code;
}

/* ---- records of a principal ------------------------------------------- */

/* The endpoints a Streak names, as text. */
typedef struct {
        char client[ENDPOINT_STRLEN], moved_from[ENDPOINT_STRLEN], moved_to[ENDPOINT_STRLEN],
            server[ENDPOINT_STRLEN];
} StreakText;

/* Point the wording fields of a Streak at the principal's latest details. */
static void streak_details(Streak *s, const Principal *p, StreakText *txt)
{
        endpoint_format(&p->client, txt->client, sizeof txt->client);
        endpoint_format(&p->moved_from, txt->moved_from, sizeof txt->moved_from);
        endpoint_format(&p->moved_to, txt->moved_to, sizeof txt->moved_to);
        endpoint_format(&p->server, txt->server, sizeof txt->server);
        s->att = &p->det;
        s->proxy = p->proxy;
        s->client = txt->client;
        s->moved_from = txt->moved_from;
        s->moved_to = txt->moved_to;
        s->server = txt->server;
        s->server_agent = p->server_agent;
        s->family = server_family_detect(p->server_agent, p->pjsip_shape);
}

static void emit_streak(Tracker *t, const Principal *p, const Window *w, int64_t now_us,
                        bool verified)
{
        const Rule *r = rules_get(w->s.code);
        Diagnosis d;
        char ip[ENDPOINT_STRLEN];

        record_principal(&d, p, w->s.code);
        d.attempts = w->s.attempts;
        d.first_seen_us = w->first_us;
        d.last_seen_us = now_us;
        endpoint_format_addr(&p->addr, ip, sizeof ip);
        /* Every code a window can choose names its cause (Rule.cause). */
        strbuf_append(d.message, sizeof d.message, "%s of %s%s%s from %s refused %u times: %s",
                      p->det.method, p->det.user, p->det.realm[0] ? "@" : "", p->det.realm, ip,
                      w->s.attempts, r && r->cause ? r->cause : "authentication keeps failing");
        record_words(&d, &w->s);
        record_exchange(&d, &p->det, &p->moved_from);
        record_source(&d, verified, &w->pc, "refused attempts",
                      "too few to show the pattern on their own, and the others may be spoofed "
                      "UDP");
        record_deliver(t, &d, now_us, &p->addr);
}

/* Summarise the attempts in the window and emit when the threshold is reached. */
static void evaluate(Tracker *t, Principal *p, int64_t now_us)
{
        const ServerInfo *si = server_info(t, &p->server, now_us, false);
        StreakText txt;
        DiagCode code;
        bool verified;
        Window w;

        window_collect(t, p, now_us, si ? si->tolerated : 0, &w);
        if (w.s.attempts < t->cfg.threshold)
                return;
        w.s.n_distinct_responses = distinct_responses(w.win, w.s.attempts);
        w.s.n_loop = loop_answers(w.win, w.s.attempts);
        w.s.span_ms = ms_between(w.first_us, now_us);
        /* Beyond the ring the streak counter keeps counting. */
        if (w.s.attempts == TRACKER_THRESHOLD_MAX && p->streak_total > w.s.attempts)
                w.s.attempts = p->streak_total;

        code = window_verdict(t, &w, &verified);
        /* Guessing that goes on keeps its account marked, counted to the last attempt. */
        if (code == DIAG_CREDENTIAL_GUESSING && t->world == 0)
                guessed_remember(t, p, w.s.attempts, w.first_us, now_us, verified);
        /* Said once per window; a record that can lead to a ban again when the
         * source has since proven itself (the first one banned nobody). */
        if (p->emitted[code] && now_us - p->last_emit_us[code] < t->cfg.window_us &&
            (p->emitted_verified[code] || !verified || !ban_code(code))) {
                t->st.suppressed++;
                return;
        }

        w.s.code = code;
        w.s.min_nonce_age_ms = w.min_age == UINT32_MAX ? 0 : w.min_age;
        w.s.max_nonce_age_ms = w.max_age;
        streak_details(&w.s, p, &txt);

        p->emitted[code] = true;
        p->emitted_verified[code] |= verified;
        p->last_emit_us[code] = now_us;
        emit_streak(t, p, &w, now_us, verified);
}

/* ---- refusals --------------------------------------------------------- */

/*
 * The principal's details become the refused attempt's, whole, but for what
 * that attempt did not have: without credentials the latest ones that came
 * with some stay; without a challenge of its own the response's offer counts,
 * else the last one. The realm stays the principal's (its key; the
 * attempt's may be unknown).
 */
static void principal_take_details(Principal *p, const Txn *x, const ChallengeSet *cs)
{
        AttemptDetails kept = p->det;

        p->det = x->det;
        memcpy(p->det.realm, kept.realm, sizeof p->det.realm);
        if (!x->has_creds)
                p->det.cred = kept.cred;
        if (x->have_ref)
                return;
        if (cs && cs->n)
                challenge_offer(cs, &p->det.offer);
        else
                p->det.offer = kept.offer;
}

/* The latest refused attempt, for the record: what it was, where it went. */
static void principal_take(Principal *p, const Reply *r, const Txn *x, bool moved)
{
        const char *agent = r->m->server ? r->m->server : r->m->user_agent;

        principal_take_details(p, x, r->cs);
        p->det.ex.final_us = r->meta->ts_us;
        p->det.ex.final_status = (uint16_t)r->m->status;
        p->det.ex.final_stale = false;
        for (unsigned i = 0; r->cs && i < r->cs->n; i++)
                p->det.ex.final_stale |= r->cs->ch[i].stale;
        copy_str(p->call_id, sizeof p->call_id, r->m->call_id);
        if (agent)
                copy_str(p->server_agent, sizeof p->server_agent, agent);
        p->client = x->src;
        p->server = x->dst;
        p->transport = x->transport;
        p->proxy = r->m->status == 407 || x->ref_proxy;
        if (r->pjsip_shape)
                p->pjsip_shape = true;
        if (moved) {
                p->moved_from = x->challenged_client;
                p->moved_to = x->src;
        }
}

/* The next slot of the principal's ring, counted into the streak. */
static AttemptRec *ring_push(Principal *p, int64_t now_us)
{
        AttemptRec *a;

        if (p->ring_n == 0)
                p->streak_first_us = now_us;
        a = &p->ring[p->ring_head];
        p->ring_head = (p->ring_head + 1) % TRACKER_THRESHOLD_MAX;
        if (p->ring_n < TRACKER_THRESHOLD_MAX)
                p->ring_n++;
        p->streak_total++;
        return a;
}

void principal_refusal(Tracker *t, const Reply *r, const Txn *x, uint32_t mask, bool stale)
{
        const PacketMeta *meta = r->meta;
        const SipMsg *m = r->m;
        const char *realm =
            x->det.realm[0] ? x->det.realm : (r->cs && r->cs->n ? r->cs->ch[0].realm : "");
        Principal *p = principal_get(t, x->det.user, realm, &x->src, meta->ts_us, true);
        AttemptRec *a;

        t->st.refusals++;
        if (!p)
                return;
        a = ring_push(p, meta->ts_us);
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
        principal_take(p, r, x, a->moved);
        evaluate(t, p, meta->ts_us);
        source_fail(t, r, x, true);
}

/* ---- successes -------------------------------------------------------- */

/* The principal authenticated after a diagnosis: say so once, with how long it lasted. */
static void emit_resolved(Tracker *t, Principal *p, const Txn *x, unsigned status, int64_t now_us)
{
        char codes[160] = "", ip[ENDPOINT_STRLEN];
        StreakText txt;
        Streak s;
        Diagnosis d;

        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (p->emitted[i])
                        strbuf_append(codes, sizeof codes, "%s%s", codes[0] ? ", " : "",
                                      diag_code_name((DiagCode)i));
        memset(&s, 0, sizeof s);
        p->client = x->src;
        streak_details(&s, p, &txt);
        s.code = DIAG_RESOLVED;
        s.attempts = p->streak_total;
        s.resolved_codes = codes;
        s.span_ms = ms_between(p->streak_first_us, now_us);
        s.success_status = status;

        record_principal(&d, p, DIAG_RESOLVED);
        d.attempts = p->streak_total;
        d.first_seen_us = p->streak_first_us;
        d.last_seen_us = now_us;
        endpoint_format_addr(&p->addr, ip, sizeof ip);
        strbuf_append(d.message, sizeof d.message,
                      "%s of %s%s%s from %s authenticated again after %s (%u refusals)",
                      x->det.method, p->det.user, p->det.realm[0] ? "@" : "", p->det.realm, ip,
                      codes, p->streak_total);
        record_words(&d, &s);
        d.source_verified = x->proof != PROOF_NONE ? SOURCE_VERIFIED_YES : SOURCE_VERIFIED_NO;
        record_deliver(t, &d, now_us, &x->src);
}

static void streak_end(Principal *p)
{
        p->ring_n = 0;
        p->streak_total = 0;
        memset(p->emitted, 0, sizeof p->emitted);
        memset(p->emitted_verified, 0, sizeof p->emitted_verified);
}

/* Credentials that answer the latest challenge of their chain with a nonce
 * this server issued, and do not fail against a configured secret: a 2xx to
 * them is a login. Anything less (junk credentials a server does not check,
 * a forged 200) neither ends a streak nor says anything. */
static bool login_proven(const Txn *x)
{
        return x->has_creds && x->answered_latest && x->nonce_known && x->verify != VERIFY_MISMATCH;
}

/*
 * Anomalies a server is seen to accept: when a server answers 2xx to a
 * request whose digest showed an anomaly (Kamailio does not compare the
 * digest uri with the Request-URI; some servers accept any realm), that
 * anomaly is not why it refuses others (Rule.tolerated).
 */
static void server_learn(Tracker *t, const Txn *x, int64_t now)
{
        if (x->has_creds && (x->anomalies & t->tolerable)) {
                ServerInfo *si = server_info(t, &x->dst, now, true);
                if (si)
                        si->tolerated |= x->anomalies & t->tolerable;
        }
}

void principal_success(Tracker *t, const Reply *r, const Txn *x)
{
        const PacketMeta *meta = r->meta;
        Principal *p = principal_get(t, x->det.user, x->det.realm, &x->src, meta->ts_us, false);
        Source *so = source_get(t, &x->src, meta->ts_us, false);
        SourceUser *su = so ? source_user(t, so, x->det.user, false) : NULL;
        bool open = false;

        t->st.successes++;
        t->st.auth_successes += x->has_creds;
        if (su)
                su->succeeded = true;
        server_learn(t, x, meta->ts_us);
        if (x->has_creds && !login_proven(x))
                return;
        if (x->has_creds && compromise_check(t, r, x, &(LoginAccount){p, so, su})) {
                /* The streak is over, and never "resolved". */
                if (p)
                        streak_end(p);
                return;
        }
        if (!p)
                return;
        /* Success ends the streak, but only an authenticated one or one of the
         * refused method: a 200 to an unauthenticated OPTIONS proves nothing. */
        if (!x->has_creds && strcasecmp(p->det.method, x->det.method) != 0)
                return;
        for (unsigned i = 0; i < DIAG__MAX; i++)
                open |= p->emitted[i];
        /* Never "resolved" after guessing: a login that is no compromise (an
         * unproven method) says nothing either way. */
        if (open && !p->emitted[DIAG_CREDENTIAL_GUESSING])
                emit_resolved(t, p, x, (unsigned)r->m->status, meta->ts_us);
        streak_end(p);
}

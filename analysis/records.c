/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The output gate: every record is filled here from the attempt it words and
 * goes out through record_deliver, under a global cap per minute of packet
 * time (so that a flood never becomes a journald flood) and, for records
 * that can lead to a ban, a budget per source. What the cap holds back is
 * counted and summarised once when the minute is over (rate-limited).
 */
#include "tracker-internal.h"

#include "digest.h"
#include "strbuf.h"

bool ban_code(DiagCode c)
{
        return c == DIAG_CREDENTIAL_GUESSING || c == DIAG_ACCOUNT_SCAN ||
               c == DIAG_CREDENTIAL_COMPROMISE;
}

void rate_roll(Tracker *t, int64_t now_us)
{
        if (t->rate_minute_us == 0 || now_us - t->rate_minute_us >= 60 * 1000000LL) {
                if (t->rate_held)
                        rate_summary(t, now_us);
                t->rate_minute_us = now_us;
                t->rate_count = 0;
        }
}

void record_init(Diagnosis *d, DiagCode code, unsigned attempts, int64_t first_us, int64_t last_us)
{
        memset(d, 0, sizeof *d);
        d->code = code;
        d->severity = diag_code_severity(code);
        d->attempts = attempts;
        d->first_seen_us = first_us;
        d->last_seen_us = last_us;
}

void record_attempt(Diagnosis *d, const AttemptDetails *att)
{
        copy_str(d->user, sizeof d->user, att->user);
        copy_str(d->realm, sizeof d->realm, att->realm);
        copy_str(d->method, sizeof d->method, att->method);
        copy_str(d->user_agent, sizeof d->user_agent, att->user_agent);
}

void record_parties(Diagnosis *d, const Endpoint *client, const Endpoint *server,
                    Transport transport, const char *server_agent)
{
        endpoint_format(client, d->client, sizeof d->client);
        endpoint_format(server, d->server, sizeof d->server);
        d->client_ep = *client;
        d->server_ep = *server;
        copy_str(d->transport, sizeof d->transport, decode_transport_name(transport));
        copy_str(d->server_agent, sizeof d->server_agent, server_agent);
}

void record_principal(Diagnosis *d, const Principal *p, DiagCode code)
{
        record_init(d, code, 0, 0, 0);
        record_attempt(d, &p->det);
        record_parties(d, &p->client, &p->server, p->transport, p->server_agent);
        copy_str(d->call_id, sizeof d->call_id, p->call_id);
        if (code != DIAG_CHALLENGE_MISSING && code != DIAG_NO_CREDENTIALS)
                copy_str(d->algorithm, sizeof d->algorithm, p->det.cred.alg);
}

void record_words(Diagnosis *d, const Streak *s)
{
        const Rule *r = rules_get(s->code);

        if (!r)
                return;
        r->evidence(s, d->evidence, sizeof d->evidence);
        r->remedy(s, d->remedy, sizeof d->remedy);
}

static void qop_text(char *buf, size_t n, unsigned qop)
{
        buf[0] = '\0';
        if (qop & QOP_AUTH)
                strbuf_append(buf, n, "auth");
        if (qop & QOP_AUTH_INT)
                strbuf_append(buf, n, "%sauth-int", buf[0] ? "," : "");
        if (qop && !buf[0])
                strbuf_append(buf, n, "other");
}

void record_exchange(Diagnosis *d, const AttemptDetails *det, const Endpoint *challenged)
{
        const ExchangeDetails *ex = &det->ex;
        DiagExchange *e = &d->exchange;

        e->valid = true;
        e->drew_creds = ex->drew_creds;
        e->challenge_stale = ex->challenge_stale;
        e->has_creds = ex->has_creds;
        e->cred_proxy = ex->cred_proxy;
        e->nc_valid = ex->nc_valid;
        e->nc_stuck = ex->has_creds && det->cred.nc_stuck;
        e->nonce_known = ex->nonce_known;
        e->answered_latest = ex->answered_latest;
        e->moved = ex->moved;
        e->final_stale = ex->final_stale;
        e->verified_ok = ex->has_creds && ex->verify == VERIFY_OK;
        e->verified_bad = ex->has_creds && ex->verify == VERIFY_MISMATCH;
        e->challenge_status = ex->challenge_status;
        e->final_status = ex->final_status;
        e->nc = ex->nc;
        e->nonce_age_ms = ex->nonce_age_ms;
        e->drew_us = ex->drew_us;
        e->challenge_us = ex->challenge_us;
        e->request_us = ex->request_us;
        e->final_us = ex->final_us;
        copy_str(e->drew_method, sizeof e->drew_method, ex->drew_method);
        copy_str(e->ruri, sizeof e->ruri, det->ruri);
        copy_str(e->challenge_realm, sizeof e->challenge_realm, det->realm);
        copy_str(e->challenge_algs, sizeof e->challenge_algs, det->offer.algs);
        qop_text(e->challenge_qop, sizeof e->challenge_qop, det->offer.qop);
        copy_str(e->challenge_nonce, sizeof e->challenge_nonce, ex->challenge_nonce);
        if (ex->has_creds) {
                copy_str(e->cred_realm, sizeof e->cred_realm, det->cred.realm);
                copy_str(e->cred_alg, sizeof e->cred_alg, det->cred.alg);
                copy_str(e->cred_uri, sizeof e->cred_uri, det->cred.uri);
                qop_text(e->cred_qop, sizeof e->cred_qop, det->cred.qop);
                copy_str(e->cred_nonce, sizeof e->cred_nonce, det->cred.nonce_prefix);
        }
        if (ex->moved && challenged)
                endpoint_format(challenged, e->challenged, sizeof e->challenged);
}

void proof_count(ProofCount *pc, Proof proof)
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
void record_source(Diagnosis *d, bool verified, const ProofCount *pc, const char *what,
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
 * Time for the cap is the live clock when the daemon gives one (forged HEP
 * timestamps cannot move it), else packet time.
 */
void record_deliver(Tracker *t, const Diagnosis *d, int64_t packet_us, const Endpoint *src)
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

void rate_summary(Tracker *t, int64_t now_us)
{
        Streak s = {
            .code = DIAG_RATE_LIMITED,
            .attempts = t->rate_held,
            .rate_cap = t->cfg.max_records_per_minute,
        };
        Diagnosis d;

        memcpy(s.n_cls, t->rate_held_by_code, sizeof s.n_cls);
        record_init(&d, DIAG_RATE_LIMITED, t->rate_held, t->rate_first_held_us,
                    t->rate_last_held_us);
        strbuf_append(d.message, sizeof d.message,
                      "%u diagnosis records held back: more than %u in one minute", t->rate_held,
                      t->cfg.max_records_per_minute);
        record_words(&d, &s);
        t->rate_held = 0;
        memset(t->rate_held_by_code, 0, sizeof t->rate_held_by_code);
        t->st.diagnoses++;
        (void)now_us;
        if (t->fn)
                t->fn(&d, t->userdata);
}

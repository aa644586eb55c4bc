/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Accounts under attack, and the success that follows (DESIGN.md
 * credential-compromise): a request with credentials accepted after
 * guessing against the account from this source (the principal's open
 * record, or the guessed ring), from another source within the window after
 * that guessing, or from a source reported for an account scan. Said once
 * per window for the source and account.
 */
#include "tracker-internal.h"

#include "strbuf.h"

void guessed_remember(Tracker *t, const Principal *p, unsigned attempts, int64_t first_us,
                      int64_t now_us, bool verified)
{
        uint64_t uh = str_hash(t, p->det.user), rh = str_hash(t, p->det.realm);
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

        /* The table is the wire's (guessed_remember runs in world 0 only):
         * unauthenticated HEP neither marks nor finds an account in it. */
        if (t->world != 0)
                return NULL;
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

/* What came before a login, when it makes the login a compromise. */
typedef struct {
        CompromiseTrigger trigger;
        unsigned attempts;        /* the guessing's refused attempts */
        unsigned n_users;         /* the scan's usernames */
        int64_t first_us;         /* the attack's first attempt */
        int64_t since_us;         /* its record */
        int64_t *said;            /* when a compromise was last said for it; NULL: never kept */
        bool verified;            /* the guessing or scan record was verified */
        const Endpoint *attacker; /* COMPROMISE_OTHER_SOURCE: the guesser */
} Attack;

/* A name the scan record named, tried before this login's own challenge,
 * logged into from the scanner. */
static bool scanned_before(const Tracker *t, const LoginAccount *acct, const Txn *x, int64_t now)
{
        const Source *so = acct->so;
        const SourceUser *su = acct->su;

        return so && so->emitted && now - so->last_emit_us < t->cfg.window_us && su &&
               su->scanned && su->first_fail_us && now - su->first_fail_us < t->cfg.window_us &&
               su->first_fail_us + SCAN_LOGIN_GAP_US < now - (int64_t)x->delay_ms * 1000;
}

/* The attack a login to this account follows, in order of certainty; false for none. */
static bool attack_before(Tracker *t, const Txn *x, const LoginAccount *acct, int64_t now,
                          Attack *at)
{
        const Principal *p = acct->p;
        uint64_t uh = str_hash(t, x->det.user), rh = str_hash(t, x->det.realm);
        Guessed *g_same = guessed_find(t, uh, rh, &x->src, true, now);
        Guessed *g_other = guessed_find(t, uh, rh, &x->src, false, now);
        Guessed *g = NULL;

        *at = (Attack){.trigger = COMPROMISE_AFTER_GUESSING};
        if (p && p->emitted[DIAG_CREDENTIAL_GUESSING]) {
                at->attempts = g_same ? g_same->attempts : p->streak_total;
                at->first_us = p->streak_first_us;
                at->since_us = p->last_emit_us[DIAG_CREDENTIAL_GUESSING];
                at->said = g_same ? &g_same->compromise_emit_us : NULL;
                at->verified =
                    p->emitted_verified[DIAG_CREDENTIAL_GUESSING] || (g_same && g_same->verified);
                return true;
        }
        if (g_same) {
                g = g_same;
        } else if (scanned_before(t, acct, x, now)) {
                at->trigger = COMPROMISE_AFTER_SCAN;
                at->n_users = acct->so->scan_users;
                at->first_us = at->since_us = acct->so->last_emit_us;
                at->said = &acct->so->compromise_emit_us;
                at->verified = acct->so->scan_verified;
                return true;
        } else if (g_other) {
                /* Maybe the guesser's find, maybe the owner's phone: the record
                 * says so and names no address to ban (its message does not
                 * match the fail2ban filter). */
                g = g_other;
                at->trigger = COMPROMISE_OTHER_SOURCE;
                at->attacker = &g_other->guesser;
        } else {
                return false;
        }
        at->attempts = g->attempts;
        at->first_us = g->first_us;
        at->since_us = g->reported_us;
        at->said = &g->compromise_emit_us;
        at->verified = g->verified;
        return true;
}

static void emit_compromise(Tracker *t, const Reply *r, const Txn *x, const LoginAccount *acct,
                            const Attack *at)
{
        int64_t now = r->meta->ts_us;
        char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN], attacker[ENDPOINT_STRLEN] = "",
                                                               ip[ENDPOINT_STRLEN];
        const AttemptDetails *att = &x->det;
        ProofCount pc = {0};
        Streak s;
        Diagnosis d;

        if (at->attacker)
                endpoint_format_addr(at->attacker, attacker, sizeof attacker);
        endpoint_format(&x->src, client, sizeof client);
        endpoint_format(&x->dst, server, sizeof server);
        endpoint_format_addr(&x->src, ip, sizeof ip);
        s = (Streak){
            .code = DIAG_CREDENTIAL_COMPROMISE,
            .att = att,
            .attempts = at->attempts,
            .n_users = at->n_users,
            .trigger = at->trigger,
            .client = client,
            .server = server,
            .attacker = attacker,
            .success_status = (unsigned)r->m->status,
            .span_ms = ms_between(at->first_us, at->since_us),
            .gap_ms = ms_between(at->since_us, now),
            .server_agent = r->m->server ? r->m->server : "",
        };
        s.family = server_family_detect(s.server_agent, acct->p && acct->p->pjsip_shape);

        record_init(&d, DIAG_CREDENTIAL_COMPROMISE, s.attempts, at->first_us, now);
        record_attempt(&d, att);
        record_parties(&d, &x->src, &x->dst, x->transport, s.server_agent);
        copy_str(d.call_id, sizeof d.call_id, r->m->call_id);
        copy_str(d.algorithm, sizeof d.algorithm, att->cred.alg);
        if (s.trigger == COMPROMISE_OTHER_SOURCE)
                strbuf_append(d.message, sizeof d.message,
                              "%s of %s%s%s accepted from %s after password guessing from %s: "
                              "the password may be known to the guesser",
                              att->method, att->user, att->realm[0] ? "@" : "", att->realm, ip,
                              attacker);
        else
                strbuf_append(d.message, sizeof d.message,
                              "%s of %s%s%s from %s accepted after %s: the password is compromised",
                              att->method, att->user, att->realm[0] ? "@" : "", att->realm, ip,
                              s.trigger == COMPROMISE_AFTER_SCAN
                                  ? "an account scan from that source"
                                  : "password guessing against it");
        record_words(&d, &s);
        /* The login proves its source, and what came before it was verified:
         * else a spoofed guessing "from" a victim followed by the victim's own
         * login would ban the victim. */
        proof_count(&pc, (Proof)x->proof);
        record_source(&d, pc.proven && at->verified, &pc, "logins",
                      pc.proven ? "the guessing or scan before it was not verified"
                                : "the login did not prove its source");
        record_deliver(t, &d, now, &x->src);
}

/* Returns true when the success was a compromise (then never "resolved"). */
bool compromise_check(Tracker *t, const Reply *r, const Txn *x, const LoginAccount *acct)
{
        int64_t now = r->meta->ts_us;
        Attack at;

        /* The caller saw a proven login (login_proven); of those only a
         * REGISTER or INVITE, which a server that challenged must check: a
         * 200 to an OPTIONS proves nothing (issue 12 review). */
        if (!is_method(x->det.method, "REGISTER") && !is_method(x->det.method, "INVITE"))
                return false;
        if (!attack_before(t, x, acct, now, &at))
                return false;
        if (at.said && *at.said && now - *at.said < t->cfg.window_us) {
                t->st.suppressed++;
                return true;
        }
        if (at.said)
                *at.said = now;
        emit_compromise(t, r, x, acct, &at);
        return true;
}

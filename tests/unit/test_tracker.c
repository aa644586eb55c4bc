/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tracker unit tests: hand-built messages (no SIP parser), packet time as
 * input, diagnoses collected from the callback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "tracker.h"
#include "check.h"

typedef struct {
        unsigned n;
        Diagnosis last;
        DiagCode codes[64];
} Sink;

static void collect(const Diagnosis *d, void *ud)
{
        Sink *s = ud;
        if (s->n < 64)
                s->codes[s->n] = d->code;
        s->n++;
        s->last = *d;
}

static const Endpoint CLIENT = {4, {198, 51, 100, 7}, 5060};
static const Endpoint SERVER = {4, {192, 0, 2, 10}, 5060};

typedef struct {
        const char *call_id, *from_tag, *user, *branch, *method;
        unsigned cseq;
} Req;

static SipMsg request(const Req *r)
{
        SipMsg m;
        memset(&m, 0, sizeof m);
        m.is_request = true;
        m.method = r->method;
        m.request_uri = "sip:example.test";
        m.call_id = r->call_id;
        m.cseq = r->cseq;
        m.cseq_method = r->method;
        m.from_user = r->user;
        m.from_tag = r->from_tag;
        m.via_branch = r->branch;
        m.user_agent = "Test UA";
        return m;
}

static void add_cred(SipMsg *m, const char *realm, const char *nonce, DigestAlg alg,
                     const char *uri, unsigned qop, uint32_t nc)
{
        SipCredentials *c = &m->credentials[m->n_credentials++];
        c->digest = true;
        c->username = m->from_user;
        c->realm = realm;
        c->nonce = nonce;
        c->uri = uri;
        c->alg = alg;
        c->qop_mask = qop;
        c->nc_valid = qop != 0;
        c->nc_value = nc;
        c->response = nonce; /* distinct per attempt, like a real response */
}

static SipMsg response(const SipMsg *req, unsigned status)
{
        SipMsg m = *req;
        m.is_request = false;
        m.method = NULL;
        m.request_uri = NULL;
        m.status = status;
        m.n_credentials = 0;
        m.user_agent = NULL;
        m.server = "Asterisk PBX 18.10.0";
        return m;
}

static void add_chal(SipMsg *m, const char *realm, const char *nonce, DigestAlg alg, unsigned qop,
                     bool stale)
{
        SipChallenge *c = &m->challenges[m->n_challenges++];
        c->proxy = m->status == 407;
        c->digest = true;
        c->realm = realm;
        c->nonce = nonce;
        c->alg = alg;
        c->algorithm = sipauth_alg_name(alg);
        c->qop_mask = qop;
        c->stale = stale;
        c->opaque = qop ? "0a1b2c" : NULL; /* PJSIP's shape: opaque and qop */
}

/* The client address feed() uses; a test may move it. */
static Endpoint client_ep = {4, {198, 51, 100, 7}, 5060};
/* How feed()'s messages arrived (PacketMeta.origin); a test may change it. */
static Origin feed_origin = ORIGIN_WIRE;

static void feed(Tracker *t, int64_t ts, const SipMsg *m, bool from_client)
{
        PacketMeta meta = {.ts_us = ts, .transport = TRANSPORT_UDP, .origin = feed_origin};
        meta.src = from_client ? client_ep : SERVER;
        meta.dst = from_client ? SERVER : client_ep;
        tracker_feed(t, &meta, m);
}

/* One REGISTER cycle: request without credentials -> 401, then `tries`
 * credentialed retries, each answered by `final` (a new 401 challenge or 200). */
static const char *cycle_user = "alice"; /* a test may switch it */

static int64_t cycle(Tracker *t, int64_t ts, const char *call_id, unsigned *cseq, int tries,
                     unsigned final, const char *cred_realm, DigestAlg cred_alg, unsigned cred_qop)
{
        char branch[64], nonce[32], prev[32];
        Req r = {call_id, "tag1", cycle_user, branch, "REGISTER", 0};

        snprintf(branch, sizeof branch, "z9hG4bK-%s-%u", call_id, *cseq);
        snprintf(nonce, sizeof nonce, "n-%s-%u", call_id, *cseq);
        r.cseq = (*cseq)++;
        SipMsg q = request(&r);
        feed(t, ts, &q, true);
        SipMsg a = response(&q, 401);
        add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
        feed(t, ts + 5000, &a, false);
        ts += 20000;
        for (int i = 0; i < tries; i++) {
                snprintf(prev, sizeof prev, "%s", nonce);
                snprintf(branch, sizeof branch, "z9hG4bK-%s-%u", call_id, *cseq);
                r.cseq = (*cseq)++;
                SipMsg c = request(&r);
                add_cred(&c, cred_realm, prev, cred_alg, "sip:example.test", cred_qop, 1);
                feed(t, ts, &c, true);
                SipMsg f = response(&c, final);
                if (final == 401) {
                        snprintf(nonce, sizeof nonce, "n-%s-%u", call_id, *cseq);
                        add_chal(&f, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                }
                feed(t, ts + 5000, &f, false);
                ts += 2000000;
        }
        return ts;
}

static Tracker *mk(Sink *s, unsigned threshold)
{
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        cfg.threshold = threshold;
        memset(s, 0, sizeof *s);
        return tracker_new(&cfg, collect, s);
}

static void test_wrong_password(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned cseq = 1;
        cycle(t, 1000000, "c1", &cseq, 4, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1, "wrong-password: expected 1 diagnosis, got %u", s.n);
        CHECK(s.n >= 1 && s.codes[0] == DIAG_WRONG_PASSWORD, "expected wrong-password, got %s",
              diag_code_name(s.codes[0]));
        CHECK(s.last.attempts == 3, "attempts %u", s.last.attempts);
        CHECK(strcmp(s.last.user, "alice") == 0 && strcmp(s.last.realm, "example.test") == 0,
              "principal %s@%s", s.last.user, s.last.realm);
        CHECK(strstr(s.last.evidence, "each answering the latest nonce") != NULL, "evidence: %s",
              s.last.evidence);
        CHECK(strstr(s.last.remedy, "pjsip reload") != NULL, "remedy names PJSIP: %s",
              s.last.remedy);
        TrackerStats st;
        tracker_get_stats(t, &st);
        CHECK(st.suppressed == 1, "4th refusal suppressed within window: %llu",
              (unsigned long long)st.suppressed);
        tracker_free(t);
}

static void test_healthy(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned cseq = 1;
        int64_t ts = 1000000;
        for (int i = 0; i < 10; i++)
                ts = cycle(t, ts + 60000000, "c2", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5,
                           QOP_AUTH);
        /* one typo then success, twice */
        ts = cycle(t, ts, "c3", &cseq, 1, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        ts = cycle(t, ts, "c3", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        ts = cycle(t, ts, "c3", &cseq, 1, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        cycle(t, ts, "c3", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 0, "healthy: expected no diagnosis, got %u (%s)", s.n,
              s.n ? diag_code_name(s.codes[0]) : "");
        tracker_free(t);
}

static void test_realm_alg_qop(void)
{
        Sink s;
        unsigned cseq = 1;
        Tracker *t = mk(&s, 3);
        cycle(t, 1000000, "c4", &cseq, 3, 401, "old.example", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_REALM_MISMATCH, "realm: %u %s", s.n,
              diag_code_name(s.codes[0]));
        CHECK(strstr(s.last.evidence, "old.example") != NULL, "realm evidence: %s",
              s.last.evidence);
        tracker_free(t);

        t = mk(&s, 3);
        cycle(t, 1000000, "c5", &cseq, 3, 401, "example.test", DIGEST_ALG_SHA256, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_ALGORITHM_MISMATCH, "alg: %u %s", s.n,
              diag_code_name(s.codes[0]));
        tracker_free(t);

        t = mk(&s, 3);
        cycle(t, 1000000, "c6", &cseq, 3, 401, "example.test", DIGEST_ALG_MD5, 0);
        CHECK(s.n == 1 && s.codes[0] == DIAG_QOP_MISMATCH, "qop: %u %s", s.n,
              diag_code_name(s.codes[0]));
        tracker_free(t);
}

/*
 * DESIGN.md: the most specific cause that at least half of the refused
 * attempts show wins. Every retry here answers with SHA-256 to an MD5-only
 * challenge; some also name the wrong realm, a more specific cause. Two of
 * four (exactly half) make realm-mismatch; one of four does not, and the
 * algorithm every attempt shows wins.
 */
static void test_half_rule(void)
{
        Sink s;
        unsigned cseq = 1;
        int64_t ts;
        Tracker *t = mk(&s, 4);

        ts = cycle(t, 1000000, "h1", &cseq, 2, 401, "old.example", DIGEST_ALG_SHA256, QOP_AUTH);
        cycle(t, ts, "h1", &cseq, 2, 401, "example.test", DIGEST_ALG_SHA256, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_REALM_MISMATCH && s.last.attempts == 4,
              "2 of 4 show the realm: %u %s (%u attempts)", s.n, diag_code_name(s.codes[0]),
              s.last.attempts);
        tracker_free(t);

        t = mk(&s, 4);
        ts = cycle(t, 1000000, "h2", &cseq, 1, 401, "old.example", DIGEST_ALG_SHA256, QOP_AUTH);
        cycle(t, ts, "h2", &cseq, 3, 401, "example.test", DIGEST_ALG_SHA256, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_ALGORITHM_MISMATCH && s.last.attempts == 4,
              "1 of 4 shows the realm: %u %s (%u attempts)", s.n, diag_code_name(s.codes[0]),
              s.last.attempts);
        tracker_free(t);

        /* Below half with no cause covering half: the most frequent wins. */
        t = mk(&s, 5);
        ts = cycle(t, 1000000, "h3", &cseq, 2, 401, "old.example", DIGEST_ALG_MD5, QOP_AUTH);
        ts = cycle(t, ts, "h3", &cseq, 1, 401, "example.test", DIGEST_ALG_SHA256, QOP_AUTH);
        cycle(t, ts, "h3", &cseq, 2, 401, "example.test", DIGEST_ALG_MD5, 0);
        CHECK(s.n == 1 && s.codes[0] == DIAG_REALM_MISMATCH && s.last.attempts == 5,
              "2 realm, 1 algorithm, 2 qop of 5: %u %s", s.n, diag_code_name(s.codes[0]));
        tracker_free(t);
}

static void test_threshold_window(void)
{
        Sink s;
        unsigned cseq = 1;
        Tracker *t = mk(&s, 3);
        cycle(t, 1000000, "c7", &cseq, 2, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 0, "two refusals stay below threshold 3: %u", s.n);
        tracker_free(t);

        /* refusals 200 s apart: never 3 within a 300 s window... */
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        cfg.window_us = 100 * 1000000LL;
        memset(&s, 0, sizeof s);
        t = tracker_new(&cfg, collect, &s);
        int64_t ts = 1000000;
        for (int i = 0; i < 5; i++)
                ts = cycle(t, ts + 60000000, "c8", &cseq, 1, 401, "example.test", DIGEST_ALG_MD5,
                           QOP_AUTH);
        CHECK(s.n == 0, "refusals spread wider than the window: %u", s.n);
        tracker_free(t);
}

static void test_no_credentials_and_missing(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = 1000000;
        for (unsigned i = 1; i <= 4; i++) {
                char br[32], nonce[32];
                snprintf(br, sizeof br, "z9hG4bK-nc-%u", i);
                snprintf(nonce, sizeof nonce, "nonce-%u", i);
                Req r = {"c9", "tag", "bob", br, "REGISTER", i};
                SipMsg q = request(&r);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401);
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, ts + 1000, &a, false);
                ts += 5000000;
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_NO_CREDENTIALS, "no-credentials: %u %s", s.n,
              diag_code_name(s.codes[0]));
        tracker_free(t);

        t = mk(&s, 3);
        for (unsigned i = 1; i <= 3; i++) {
                char br[32];
                snprintf(br, sizeof br, "z9hG4bK-cm-%u", i);
                Req r = {"c10", "tag", "carol", br, "REGISTER", i};
                SipMsg q = request(&r);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401); /* no challenge */
                feed(t, ts + 1000, &a, false);
                ts += 5000000;
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_CHALLENGE_MISSING, "challenge-missing: %u %s", s.n,
              diag_code_name(s.codes[0]));
        tracker_free(t);
}

/* Every table stays within its limit whatever arrives, and evictions are counted. */
static void test_bounds(void)
{
        Sink s;
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        cfg.max_transactions = 100;
        cfg.max_chains = 50;
        cfg.max_clients = 50;
        cfg.max_nonces = 50;
        cfg.max_principals = 20;
        memset(&s, 0, sizeof s);
        Tracker *t = tracker_new(&cfg, collect, &s);
        char cid[32], br[32], user[32], nonce[32];
        for (unsigned i = 0; i < 20000; i++) {
                snprintf(cid, sizeof cid, "flood-%u", i);
                snprintf(br, sizeof br, "z9hG4bK-f-%u", i);
                snprintf(user, sizeof user, "u%u", i);
                snprintf(nonce, sizeof nonce, "fn-%u", i);
                Req r = {cid, "t", user, br, "REGISTER", 1};
                SipMsg q = request(&r);
                add_cred(&q, "example.test", nonce, DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         1);
                feed(t, 1000000 + i, &q, true);
                SipMsg a = response(&q, 401);
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, 1000000 + i, &a, false);
        }
        TrackerStats st;
        tracker_get_stats(t, &st);
        CHECK(st.transactions <= 100 && st.chains <= 50 && st.clients <= 50 && st.nonces <= 50 &&
                  st.principals <= 20,
              "tables within limits: %llu %llu %llu %llu %llu", (unsigned long long)st.transactions,
              (unsigned long long)st.chains, (unsigned long long)st.clients,
              (unsigned long long)st.nonces, (unsigned long long)st.principals);
        CHECK(st.evicted_transactions >= 19900 && st.evicted_principals >= 19980,
              "evictions counted: %llu %llu", (unsigned long long)st.evicted_transactions,
              (unsigned long long)st.evicted_principals);
        tracker_expire(t, 1000000 + 3600 * 1000000LL);
        tracker_get_stats(t, &st);
        CHECK(st.transactions == 0 && st.principals == 0 && st.chains == 0,
              "expiry empties the tables");
        tracker_free(t);
}

/* svcrack's shape: one REGISTER without credentials, then every new 401 is
 * answered with the next candidate on the same Call-ID and CSeq 2 and a new
 * From tag (tests/golden/captures/real-svcrack-fail.pcap). */
/* guess_loop() with unauthenticated HEP forging around it (a copy of each
 * request just before it, a "newer" challenge after each real one). */
static bool guess_forge;

static void feed_forged(Tracker *t, int64_t ts, const SipMsg *m)
{
        feed_origin = ORIGIN_HEP_UNAUTH;
        feed(t, ts, m, m->is_request);
        feed_origin = ORIGIN_WIRE;
}

static int64_t guess_loop(Tracker *t, int64_t ts, const char *call_id, int tries)
{
        char branch[64], nonce[32], prev[32], tag[32];
        Req r = {call_id, "3206210844", cycle_user, branch, "REGISTER", 1};

        snprintf(branch, sizeof branch, "z9hG4bK-%s-0", call_id);
        snprintf(nonce, sizeof nonce, "n-%s-0", call_id);
        SipMsg q = request(&r);
        feed(t, ts, &q, true);
        SipMsg a = response(&q, 401);
        add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
        feed(t, ts + 3000, &a, false);
        for (int i = 1; i <= tries; i++) {
                ts += 6000;
                snprintf(prev, sizeof prev, "%s", nonce);
                snprintf(branch, sizeof branch, "z9hG4bK-%s-%d", call_id, i);
                snprintf(tag, sizeof tag, "616c6963653a%04d", i);
                r.from_tag = tag;
                r.cseq = 2;
                SipMsg c = request(&r);
                add_cred(&c, "example.test", prev, DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         (uint32_t)i);
                if (guess_forge)
                        feed_forged(t, ts - 100, &c);
                feed(t, ts, &c, true);
                SipMsg f = response(&c, 401);
                snprintf(nonce, sizeof nonce, "n-%s-%d", call_id, i);
                add_chal(&f, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, ts + 3000, &f, false);
                if (guess_forge) {
                        SipMsg g = response(&c, 401);
                        add_chal(&g, "example.test", "forged", DIGEST_ALG_MD5, QOP_AUTH, false);
                        feed_forged(t, ts + 3100, &g);
                }
        }
        return ts;
}

/* A wordlist loop: reported as wrong-password at the threshold, escalated
 * once to credential-guessing at the guessing threshold, then quiet. */
static void test_guessing_escalation(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);

        guess_loop(t, 1000000, "g1", 15);
        CHECK(s.n == 2, "escalation: expected 2 records, got %u", s.n);
        CHECK(s.n >= 2 && s.codes[0] == DIAG_WRONG_PASSWORD &&
                  s.codes[1] == DIAG_CREDENTIAL_GUESSING,
              "escalation codes: %s, %s", diag_code_name(s.codes[0]), diag_code_name(s.codes[1]));
        CHECK(s.last.severity == SEV_ERROR, "guessing is an error");
        CHECK(strstr(s.last.remedy, "block the source") != NULL &&
                  strstr(s.last.remedy, "Keep authentication on") != NULL,
              "guessing remedy: %s", s.last.remedy);
        CHECK(strstr(s.last.evidence, "own From tag") != NULL, "guessing evidence: %s",
              s.last.evidence);
        tracker_free(t);
}

/* A phone retrying one wrong password, however fast and however long: its
 * answers all differ (a new nonce or cnonce each time), but it increments
 * CSeq on one Call-ID (baresip, linphone) or starts a new Call-ID (sipsak).
 * wrong-password, never credential-guessing (issue 12). */
static void test_phone_is_not_guessing(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned cseq = 1;
        int64_t ts = 1000000;
        char cid[16];

        cycle(t, ts, "p1", &cseq, 30, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "one Call-ID, CSeq rising: %u records, first %s", s.n, diag_code_name(s.codes[0]));
        tracker_free(t);

        t = mk(&s, 3);
        for (int i = 0; i < 30; i++) {
                snprintf(cid, sizeof cid, "probe-%d", i);
                cseq = 1;
                ts = cycle(t, ts + 1000000, cid, &cseq, 1, 401, "example.test", DIGEST_ALG_MD5,
                           QOP_AUTH);
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "a new Call-ID per try: %u records, first %s", s.n, diag_code_name(s.codes[0]));
        tracker_free(t);
}

/* A success for an account under attack is a credential-compromise, never
 * "resolved" (DESIGN.md): the three triggers, each said once. */
static void test_compromise(void)
{
        static const Endpoint other = {4, {203, 0, 113, 99}, 5060};
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned cseq = 1;
        int64_t ts;

        /* 1. the guessing source logs in */
        ts = guess_loop(t, 1000000, "c1", 15);
        ts = cycle(t, ts + 1000000, "c1b", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 3 && s.codes[2] == DIAG_CREDENTIAL_COMPROMISE,
              "same source: %u records, last %s", s.n, diag_code_name(s.last.code));
        CHECK(s.last.severity == SEV_CRITICAL, "compromise is critical");
        CHECK(strstr(s.last.evidence, "same source") != NULL &&
                  strstr(s.last.remedy, "change it now"),
              "same source evidence: %s", s.last.evidence);
        cycle(t, ts + 60000000, "c1b", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 3, "said once per window, never resolved: %u records, last %s", s.n,
              diag_code_name(s.last.code));
        tracker_free(t);

        /* 2. another source logs in to the guessed account within the window */
        t = mk(&s, 3);
        ts = guess_loop(t, 1000000, "c2", 15);
        client_ep = other;
        cseq = 1;
        cycle(t, ts + 120000000, "c2b", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        client_ep = CLIENT;
        CHECK(s.n == 3 && s.codes[2] == DIAG_CREDENTIAL_COMPROMISE &&
                  strstr(s.last.evidence, "another source, 198.51.100.7") != NULL &&
                  strcmp(s.last.client, "203.0.113.99:5060") == 0,
              "other source: %u records, %s: %s", s.n, diag_code_name(s.last.code),
              s.last.evidence);
        tracker_free(t);

        /* ... but not after the window */
        t = mk(&s, 3);
        ts = guess_loop(t, 1000000, "c3", 15);
        client_ep = other;
        cseq = 1;
        cycle(t, ts + 400000000, "c3b", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        client_ep = CLIENT;
        CHECK(s.n == 2, "another source after the window: %u records", s.n);
        tracker_free(t);

        /* 3. a source reported for an account scan logs in */
        t = mk(&s, 3);
        ts = 1000000;
        for (unsigned i = 0; i < 12; i++) {
                char br[32], user[16], cid[16];
                snprintf(br, sizeof br, "z9hG4bK-scan-%u", i);
                snprintf(user, sizeof user, "%u", 100 + i);
                snprintf(cid, sizeof cid, "scan%u", i);
                Req r = {cid, "t", user, br, "REGISTER", 1};
                SipMsg q = request(&r);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 404);
                feed(t, ts + 500, &a, false);
                ts += 100000;
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_ACCOUNT_SCAN, "scan first: %u", s.n);
        /* a name the scan never tried: no compromise */
        cseq = 1;
        ts = cycle(t, ts + 5000000, "c4", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1, "after a scan, a name it never tried: %u records", s.n);
        /* a name the scan tried */
        cycle_user = "105";
        cseq = 1;
        cycle(t, ts + 5000000, "c5", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        cycle_user = "alice";
        CHECK(s.n == 2 && s.codes[1] == DIAG_CREDENTIAL_COMPROMISE &&
                  strstr(s.last.evidence, "account scan (10 usernames") != NULL,
              "after a scan: %u records, %s: %s", s.n, diag_code_name(s.last.code),
              s.last.evidence);
        tracker_free(t);

        /* A 200 to junk credentials (a nonce the server never issued, OPTIONS
         * that the server does not check) proves no login. */
        t = mk(&s, 3);
        ts = guess_loop(t, 1000000, "c6", 15);
        {
                Req r = {"c6x", "x", cycle_user, "z9hG4bK-c6x", "OPTIONS", 1};
                SipMsg q = request(&r);
                add_cred(&q, "example.test", "junk", DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         1);
                feed(t, ts + 1000000, &q, true);
                SipMsg a = response(&q, 200);
                feed(t, ts + 1001000, &a, false);
        }
        CHECK(s.n == 2, "junk credentials accepted: %u records, last %s", s.n,
              diag_code_name(s.last.code));
        tracker_free(t);
}

/*
 * linphone with a wrong password and a cached nonce: every refresh replays
 * the nonce it had, draws 401 stale=true, then answers the fresh nonce and is
 * refused again. The stale refusals it recovers from are normal traffic:
 * wrong-password alone, never stale-nonce beside it (issue 12).
 */
static void test_recovered_stale(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        char branch[32], cached[32], fresh[32];
        Req r = {"lp1", "lptag", cycle_user, branch, "REGISTER", 20};
        int64_t ts = 1000000;

        snprintf(cached, sizeof cached, "n-lp-0");
        {
                snprintf(branch, sizeof branch, "z9hG4bK-lp-first");
                SipMsg q = request(&r);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401);
                add_chal(&a, "example.test", cached, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, ts + 2000, &a, false);
        }
        for (int k = 1; k <= 4; k++) {
                ts += 54000000; /* the refresh, 54 s later */
                snprintf(branch, sizeof branch, "z9hG4bK-lp-%d-a", k);
                r.cseq++;
                SipMsg q = request(&r);
                add_cred(&q, "example.test", cached, DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         2);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401);
                snprintf(fresh, sizeof fresh, "n-lp-%d", k);
                add_chal(&a, "example.test", fresh, DIGEST_ALG_MD5, QOP_AUTH, true);
                feed(t, ts + 2000, &a, false);

                snprintf(branch, sizeof branch, "z9hG4bK-lp-%d-b", k);
                r.cseq++;
                SipMsg c = request(&r);
                add_cred(&c, "example.test", fresh, DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         1);
                feed(t, ts + 4000, &c, true);
                SipMsg f = response(&c, 401);
                snprintf(cached, sizeof cached, "n-lp-%d-x", k);
                add_chal(&f, "example.test", cached, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, ts + 6000, &f, false);
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "recovered stale: %u records, first %s, last %s", s.n, diag_code_name(s.codes[0]),
              diag_code_name(s.last.code));
        tracker_free(t);
}

static void test_resolved(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned cseq = 1;
        int64_t ts =
            cycle(t, 1000000, "r1", &cseq, 4, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        cycle(t, ts + 180000000, "r1", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 2 && s.codes[0] == DIAG_WRONG_PASSWORD && s.codes[1] == DIAG_RESOLVED,
              "resolved: %u records, last %s", s.n, diag_code_name(s.last.code));
        CHECK(s.last.severity == SEV_INFO && strstr(s.last.evidence, "wrong-password") != NULL,
              "resolved names the code: %s", s.last.evidence);
        /* a later, unrelated success says nothing more */
        cycle(t, ts + 400000000, "r1", &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 2, "resolved only once: %u", s.n);
        tracker_free(t);
}

/* Many principals failing at once: at most the cap per minute, then one summary. */
static void test_rate_limit(void)
{
        Sink s;
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        cfg.max_records_per_minute = 5;
        memset(&s, 0, sizeof s);
        Tracker *t = tracker_new(&cfg, collect, &s);
        char user[16], cid[16];
        int64_t ts = 1000000;
        for (unsigned i = 0; i < 30; i++) {
                unsigned cseq = 1;
                snprintf(cid, sizeof cid, "rl%u", i);
                snprintf(user, sizeof user, "u%u", i);
                cycle_user = user;
                ts = cycle(t, ts, cid, &cseq, 3, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        }
        cycle_user = "alice";
        TrackerStats st;
        tracker_get_stats(t, &st);
        CHECK(st.rate_limited > 0, "cap holds records back");
        tracker_flush(t, ts);
        unsigned summaries = 0, diagnoses = 0;
        for (unsigned i = 0; i < s.n && i < 64; i++) {
                summaries += s.codes[i] == DIAG_RATE_LIMITED;
                diagnoses += s.codes[i] != DIAG_RATE_LIMITED;
        }
        CHECK(summaries >= 1, "a summary record counts what was held back");
        CHECK(diagnoses <= 5 * (unsigned)(1 + (ts - 1000000) / 60000000),
              "no more than the cap per minute: %u", diagnoses);
        tracker_free(t);
}

/* svwar: one source, many extensions, challenged and never answered or 404. */
static void test_account_scan(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = 1000000;
        char br[32], user[16], cid[16], nonce[32];
        for (unsigned i = 0; i < 20; i++) {
                snprintf(br, sizeof br, "z9hG4bK-scan-%u", i);
                snprintf(user, sizeof user, "%u", 100 + i);
                snprintf(cid, sizeof cid, "scan%u", i);
                snprintf(nonce, sizeof nonce, "sn-%u", i);
                Req r = {cid, "t", user, br, "REGISTER", 1};
                SipMsg q = request(&r);
                q.user_agent = "friendly-scanner";
                feed(t, ts, &q, true);
                SipMsg a = response(&q, i % 2 ? 404 : 401);
                if (i % 2 == 0)
                        add_chal(&a, "asterisk", nonce, DIGEST_ALG_MD5, 0, false);
                feed(t, ts + 500, &a, false);
                ts += 100000;
        }
        tracker_flush(t, ts);
        CHECK(s.n == 1 && s.codes[0] == DIAG_ACCOUNT_SCAN, "account-scan: %u records (%s)", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        CHECK(strstr(s.last.evidence, "friendly-scanner") != NULL, "scanner UA in evidence: %s",
              s.last.evidence);
        tracker_free(t);

        /* The same shape answered at once by real clients behind one address is no scan. */
        t = mk(&s, 3);
        ts = 1000000;
        for (unsigned i = 0; i < 20; i++) {
                unsigned cseq = 1;
                snprintf(cid, sizeof cid, "sbc%u", i);
                ts = cycle(t, ts, cid, &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        }
        tracker_flush(t, ts);
        CHECK(s.n == 0, "registrations through one address are not a scan: %u", s.n);
        tracker_free(t);

        /* svwar -m INVITE: From user = To user, 404 for names that do not exist. */
        for (int trunk = 0; trunk < 2; trunk++) {
                t = mk(&s, 3);
                ts = 1000000;
                for (unsigned i = 0; i < 20; i++) {
                        char callee[16], caller[16];
                        snprintf(br, sizeof br, "z9hG4bK-inv-%u", i);
                        snprintf(callee, sizeof callee, "%u", 100 + i);
                        snprintf(caller, sizeof caller, "4930%u", 5550000 + i);
                        snprintf(cid, sizeof cid, "inv%u", i);
                        Req r = {cid, "t", trunk ? caller : callee, br, "INVITE", 1};
                        SipMsg q = request(&r);
                        q.to_user = callee;
                        feed(t, ts, &q, true);
                        SipMsg a = response(&q, 404);
                        feed(t, ts + 500, &a, false);
                        ts += 100000;
                }
                tracker_flush(t, ts);
                /* A trunk's calls from many callers to unprovisioned numbers are no scan. */
                CHECK(trunk ? s.n == 0 : s.n == 1 && s.codes[0] == DIAG_ACCOUNT_SCAN,
                      "%s: %u records", trunk ? "trunk 404s" : "INVITE scan", s.n);
                tracker_free(t);
        }
}

/* One million distinct Call-IDs from random sources: tables stay within their
 * limits and a genuine wrong-password loop in the middle is still diagnosed. */
static void test_flood_keeps_real_failures(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        char cid[32], br[32], nonce[32];
        uint32_t rnd = 12345;
        unsigned cseq = 1;
        int64_t ts = 1000000;
        for (unsigned i = 0; i < 1000000; i++) {
                rnd = rnd * 1103515245u + 12345u;
                snprintf(cid, sizeof cid, "fl-%u-%u", i, rnd);
                snprintf(br, sizeof br, "z9hG4bK-%u", rnd ^ i);
                snprintf(nonce, sizeof nonce, "fn%u", i);
                Req r = {cid, "ft", "flood", br, "INVITE", 1};
                SipMsg q = request(&r);
                PacketMeta meta = {.ts_us = ts, .transport = TRANSPORT_UDP};
                meta.src = (Endpoint){
                    4, {10, (uint8_t)(rnd >> 8), (uint8_t)(rnd >> 16), (uint8_t)(rnd >> 24)}, 5060};
                meta.dst = SERVER;
                tracker_feed(t, &meta, &q);
                SipMsg a = response(&q, 407);
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                meta.src = SERVER;
                meta.dst = (Endpoint){
                    4, {10, (uint8_t)(rnd >> 8), (uint8_t)(rnd >> 16), (uint8_t)(rnd >> 24)}, 5060};
                tracker_feed(t, &meta, &a);
                ts += 5; /* 200k messages per second */
                if (i % 200000 == 100000)
                        ts = cycle(t, ts, "real", &cseq, 1, 401, "example.test", DIGEST_ALG_MD5,
                                   QOP_AUTH);
                if (i % 1000 == 0)
                        tracker_expire(t, ts);
        }
        TrackerStats st;
        tracker_get_stats(t, &st);
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        CHECK(st.transactions <= cfg.max_transactions && st.chains <= cfg.max_chains &&
                  st.clients <= cfg.max_clients && st.nonces <= cfg.max_nonces &&
                  st.principals <= cfg.max_principals && st.sources <= cfg.max_sources,
              "flood: tables within their limits");
        CHECK(st.evicted_transactions > 900000 && st.evicted_chains > 900000,
              "flood: evictions counted (%llu, %llu)", (unsigned long long)st.evicted_transactions,
              (unsigned long long)st.evicted_chains);
        CHECK(s.n >= 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "flood: the real wrong-password loop is still diagnosed (%u records, first %s)", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

/* Every code has a name, a severity, a distinct 128-bit MESSAGE_ID and a rule. */
static void test_code_tables(void)
{
        for (unsigned i = 0; i < DIAG__MAX; i++) {
                const char *id = diag_code_message_id((DiagCode)i);
                DiagCode back;
                CHECK(strcmp(diag_code_name((DiagCode)i), "unknown") != 0, "code %u has a name", i);
                CHECK(diag_code_from_name(diag_code_name((DiagCode)i), &back) && back == i,
                      "name of code %u maps back", i);
                CHECK(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32,
                      "code %u MESSAGE_ID is 32 lowercase hex digits", i);
                for (unsigned j = 0; j < i; j++)
                        CHECK(strcmp(id, diag_code_message_id((DiagCode)j)) != 0,
                              "MESSAGE_IDs of %u and %u differ", i, j);
        }
}

/* The journal catalog, whole (SRCDIR: the source tree, set by meson for tests). */
static char *read_catalog(void)
{
        const char *srcdir = getenv("SRCDIR");
        char path[4096];
        char *text = NULL;
        long len;
        FILE *f;

        if (!srcdir)
                return NULL;
        snprintf(path, sizeof path, "%s/systemd/sipauthmon.catalog", srcdir);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (text = calloc(1, (size_t)len + 1)) && fread(text, 1, (size_t)len, f) != (size_t)len) {
                free(text);
                text = NULL;
        }
        fclose(f);
        return text;
}

/* Every code is declared by exactly one rule, whole, and the catalog has an
 * entry for every declared MESSAGE_ID. */
static void test_rule_declarations(void)
{
        unsigned declared[DIAG__MAX] = {0};
        char *catalog = read_catalog();
        size_t n;
        const Rule *const *all = rules_all(&n);

        CHECK(catalog != NULL, "systemd/sipauthmon.catalog readable under $SRCDIR (%s)",
              getenv("SRCDIR") ? getenv("SRCDIR") : "unset");
        for (size_t i = 0; i < n; i++) {
                const Rule *r = all[i];
                const char *name = r->name ? r->name : "?";
                const char *id = r->message_id ? r->message_id : "";
                char entry[64];

                CHECK((unsigned)r->code < DIAG__MAX, "rule %zu declares code %d", i, (int)r->code);
                if ((unsigned)r->code < DIAG__MAX)
                        declared[r->code]++;
                CHECK(r->name && r->message_id && r->evidence && r->remedy,
                      "rule %zu (%s) declares name, MESSAGE_ID, evidence and remedy", i, name);
                CHECK(rules_get(r->code) == r, "the code of rule %zu (%s) finds it", i, name);
                snprintf(entry, sizeof entry, "\n-- %s\n", id);
                CHECK(catalog && strstr(catalog, entry),
                      "the catalog has an entry for %s (MESSAGE_ID %s)", name, id);
        }
        for (unsigned c = 0; c < DIAG__MAX; c++)
                CHECK(declared[c] == 1, "code %u (%s) has %u declarations, not 1", c,
                      diag_code_name((DiagCode)c), declared[c]);
        free(catalog);
}

/* A reload: a lower limit evicts down to it; a new threshold applies at once. */
static void test_reconfigure(void)
{
        Sink s;
        Tracker *t = mk(&s, 5);
        TrackerConfig cfg;
        TrackerStats st;
        unsigned cseq = 1;
        char cid[16];
        int64_t ts = 1000000;

        for (unsigned i = 0; i < 50; i++) {
                snprintf(cid, sizeof cid, "rc%u", i);
                ts = cycle(t, ts, cid, &cseq, 1, 200, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        }
        tracker_config_default(&cfg);
        cfg.threshold = 2;
        cfg.max_chains = 10;
        tracker_reconfigure(t, &cfg);
        tracker_get_stats(t, &st);
        CHECK(st.chains <= 10 && st.evicted_chains >= 40, "lower limit evicts: %llu chains",
              (unsigned long long)st.chains);
        cycle(t, ts, "rc-fail", &cseq, 2, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD, "threshold 2 after reload: %u records",
              s.n);
        tracker_free(t);
}

/* Committed tables: a reload that grows and shrinks the pools keeps what they hold. */
static void test_preallocate_reload(void)
{
        Sink s;
        TrackerConfig cfg;
        TrackerStats st;
        Tracker *t;
        unsigned cseq = 1;
        int64_t ts = 1000000;

        tracker_config_default(&cfg);
        cfg.preallocate = true;
        cfg.max_transactions = cfg.max_chains = cfg.max_clients = 64;
        cfg.max_nonces = cfg.max_principals = cfg.max_sources = 32;
        memset(&s, 0, sizeof s);
        t = tracker_new(&cfg, collect, &s);
        CHECK(t != NULL, "preallocated tracker");
        ts = cycle(t, ts, "pa-1", &cseq, 2, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 0, "below threshold: %u records", s.n);
        cfg.max_principals = 4096; /* grow */
        cfg.max_chains = 8;        /* shrink */
        tracker_reconfigure(t, &cfg);
        tracker_get_stats(t, &st);
        CHECK(st.principals == 1 && st.chains <= 8, "entries kept: %llu principals",
              (unsigned long long)st.principals);
        cycle(t, ts, "pa-2", &cseq, 1, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "streak continues across the rebuild: %u records", s.n);
        tracker_free(t);
}

/* One REGISTER attempt with credentials for `user`, answered `status`; the
 * server (re)issues `nonce` in its 401 challenges. */
static void attempt(Tracker *t, int64_t ts, const char *user, unsigned cseq, const char *nonce,
                    const char *uri, uint32_t nc, unsigned status)
{
        char br[48], cid[32];
        snprintf(br, sizeof br, "z9hG4bK-%s-%u", user, cseq);
        snprintf(cid, sizeof cid, "cid-%s", user);
        Req r = {cid, "tag", user, br, "REGISTER", cseq};
        SipMsg q = request(&r);
        add_cred(&q, "example.test", nonce, DIGEST_ALG_MD5, uri, QOP_AUTH, nc);
        q.credentials[0].response = br; /* distinct per attempt */
        feed(t, ts, &q, true);
        SipMsg a = response(&q, status);
        if (status == 401)
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
        feed(t, ts + 2000, &a, false);
}

/* Kamailio re-issues the same nonce within a second; a client answering each
 * new challenge with nc=00000001 is right, not a qop/nc fault. */
static void test_reissued_nonce(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        char br[16] = "z9hG4bK-first";
        Req r = {"cid-kam", "tag", "kam", br, "REGISTER", 1};
        SipMsg q = request(&r);
        feed(t, 1000000, &q, true);
        SipMsg a = response(&q, 401);
        add_chal(&a, "example.test", "same-nonce", DIGEST_ALG_MD5, QOP_AUTH, false);
        feed(t, 1001000, &a, false);
        for (unsigned i = 2; i <= 5; i++)
                attempt(t, 1000000 + i * 100000, "kam", i, "same-nonce", "sip:example.test", 1,
                        401);
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "re-issued nonce answered with nc=1: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

/* An anomaly the server accepted from a client that logged in is not why it
 * refuses another: Kamailio does not check the digest uri. */
static void test_learned_tolerance(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        attempt(t, 1000000, "good", 1, "n-good", "sip:10.0.0.1:5060", 1, 200);
        for (unsigned i = 1; i <= 3; i++)
                attempt(t, 2000000 + i * 100000, "bad", i, "n-bad", "sip:10.0.0.1:5060", i, 401);
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "tolerated uri mismatch: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        CHECK(s.n == 1 && strstr(s.last.evidence, "this server accepts that") != NULL,
              "evidence says the mismatch is accepted: %s", s.last.evidence);
        tracker_free(t);

        /* The same refusals without a successful precedent: the uri is the cause. */
        t = mk(&s, 3);
        for (unsigned i = 1; i <= 3; i++)
                attempt(t, 2000000 + i * 100000, "bad", i, "n-bad", "sip:10.0.0.1:5060", i, 401);
        CHECK(s.n == 1 && s.codes[0] == DIAG_URI_MISMATCH, "uri-mismatch: %u records, first %s",
              s.n, s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

/* The converse: the server moves on to new nonces, the client keeps
 * answering the old one with nc=00000001 each time: nc does not advance. */
static void test_nc_stuck(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        char br[48], fresh[32];
        Req r0 = {"cid-st", "tag", "stuck", "z9hG4bK-st-0", "REGISTER", 1};
        SipMsg q0 = request(&r0);
        feed(t, 1000000, &q0, true);
        SipMsg a0 = response(&q0, 401);
        add_chal(&a0, "example.test", "old-nonce", DIGEST_ALG_MD5, QOP_AUTH, false);
        feed(t, 1001000, &a0, false);
        for (unsigned i = 1; i <= 3; i++) {
                snprintf(br, sizeof br, "z9hG4bK-st-%u", i);
                snprintf(fresh, sizeof fresh, "fresh-%u", i);
                Req r = {"cid-st", "tag", "stuck", br, "REGISTER", 1 + i};
                SipMsg q = request(&r);
                add_cred(&q, "example.test", "old-nonce", DIGEST_ALG_MD5, "sip:example.test",
                         QOP_AUTH, 1);
                q.credentials[0].response = br;
                feed(t, 1000000 + i * 1000000, &q, true);
                SipMsg a = response(&q, 401);
                add_chal(&a, "example.test", fresh, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, 1000000 + i * 1000000 + 2000, &a, false);
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_QOP_MISMATCH &&
                  strstr(s.last.evidence, "without advancing nc") != NULL,
              "old nonce reused with nc=1: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

/*
 * The keys a response is recorded under are built before its transaction is
 * found (to start their cache misses early). They must still be those of the
 * transaction: the client memory is keyed by the request's From user even when
 * the response carries another one, and every nonce of a challenge with more
 * headers than are prepared ahead is remembered.
 */
static void test_prepared_keys(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        char br[48], cid[32], nonce[32], prev[32];
        int64_t ts = 1000000;

        /* A new Call-ID per retry, and a From user rewritten in every response:
         * only the client memory (request's user, client address) links a
         * retry to its challenge, and shows the realm it should have answered. */
        snprintf(nonce, sizeof nonce, "pk-n0");
        for (unsigned i = 0; i <= 3; i++) {
                snprintf(br, sizeof br, "z9hG4bK-pk-%u", i);
                snprintf(cid, sizeof cid, "pk-cid-%u", i);
                snprintf(prev, sizeof prev, "%s", nonce);
                Req r = {cid, "tag", "bob", br, "REGISTER", 1};
                SipMsg q = request(&r);
                if (i > 0)
                        add_cred(&q, "other.test", prev, DIGEST_ALG_MD5, "sip:example.test",
                                 QOP_AUTH, 1);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401);
                a.from_user = "rewritten";
                snprintf(nonce, sizeof nonce, "pk-n%u", i + 1);
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                feed(t, ts + 3000, &a, false);
                ts += 1000000;
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_REALM_MISMATCH,
              "challenge found through the client memory: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);

        /* Six challenges per 401; the retries answer the last ones: known nonces. */
        t = mk(&s, 3);
        ts = 1000000;
        for (unsigned i = 0; i <= 3; i++) {
                snprintf(br, sizeof br, "z9hG4bK-six-%u", i);
                Req r = {"six-cid", "tag", "carol", br, "REGISTER", 1 + i};
                SipMsg q = request(&r);
                if (i > 0) {
                        snprintf(prev, sizeof prev, "six-%u-%u", i - 1, 4 + i % 2);
                        add_cred(&q, "example.test", prev, DIGEST_ALG_MD5, "sip:example.test",
                                 QOP_AUTH, 1);
                }
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 401);
                static char nonces[6][32];
                for (unsigned j = 0; j < 6; j++) {
                        snprintf(nonces[j], sizeof nonces[j], "six-%u-%u", i, j);
                        add_chal(&a, "example.test", nonces[j], DIGEST_ALG_MD5, QOP_AUTH, false);
                }
                feed(t, ts + 3000, &a, false);
                ts += 1000000;
        }
        CHECK(s.n == 1 && s.codes[0] == DIAG_WRONG_PASSWORD,
              "nonces of the 5th and 6th challenge are known: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

static void feed_ep(Tracker *t, int64_t ts, const SipMsg *m, const Endpoint *src,
                    const Endpoint *dst)
{
        PacketMeta meta = {.ts_us = ts, .transport = TRANSPORT_UDP, .src = *src, .dst = *dst};
        tracker_feed(t, &meta, m);
}

/* Three refused retries of user in one chain, each answering the latest
 * challenge but with the given credential realm and header kind. */
static int64_t refused_thrice(Tracker *t, int64_t ts, const char *user, const char *method,
                              unsigned status, const char *cred_realm, bool cred_proxy)
{
        char br[64], nonce[32], prev[32] = "";

        for (unsigned i = 0; i <= 3; i++) {
                snprintf(br, sizeof br, "z9hG4bK-%s-%u", user, i);
                Req r = {user, "t", user, br, method, 1 + i};
                SipMsg q = request(&r);
                if (i > 0) {
                        add_cred(&q, cred_realm, prev, DIGEST_ALG_MD5, "sip:example.test", 0, 0);
                        q.credentials[0].proxy = cred_proxy;
                }
                feed(t, ts, &q, true);
                SipMsg a = response(&q, status);
                snprintf(nonce, sizeof nonce, "%s-n%u", user, i);
                add_chal(&a, "example.test", nonce, DIGEST_ALG_MD5, 0, false);
                feed(t, ts + 2000, &a, false);
                snprintf(prev, sizeof prev, "%s", nonce);
                ts += 20000;
        }
        return ts;
}

/*
 * Challenges outstanding at once must not be mixed up, or a healthy login is
 * seen to "succeed despite" an anomaly, the server is taken to tolerate it,
 * and a real failure of that kind is then reported as wrong-password.
 */
static void test_concurrent_challenges(void)
{
        static const Endpoint SERVER2 = {4, {192, 0, 2, 20}, 5060};
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = 1000000;

        /* A call placed while the registration is refreshed: a 407 for the
         * INVITE, then a 401 for the REGISTER; the INVITE's retry answers the
         * 407 (Proxy-Authorization), the older of the two. */
        Req inv = {"inv-1", "ti", "alice", "z9hG4bK-inv-1", "INVITE", 1};
        SipMsg q = request(&inv);
        feed(t, ts, &q, true);
        SipMsg a = response(&q, 407);
        add_chal(&a, "example.test", "pn1", DIGEST_ALG_MD5, 0, false);
        feed(t, ts + 2000, &a, false);
        Req reg = {"reg-1", "tr", "alice", "z9hG4bK-reg-1", "REGISTER", 1};
        q = request(&reg);
        feed(t, ts + 3000, &q, true);
        a = response(&q, 401);
        add_chal(&a, "example.test", "wn1", DIGEST_ALG_MD5, 0, false);
        feed(t, ts + 4000, &a, false);
        inv.branch = "z9hG4bK-inv-2";
        inv.cseq = 2;
        q = request(&inv);
        add_cred(&q, "example.test", "pn1", DIGEST_ALG_MD5, "sip:example.test", 0, 0);
        q.credentials[0].proxy = true;
        feed(t, ts + 10000, &q, true);
        a = response(&q, 200);
        feed(t, ts + 12000, &a, false);
        /* A real header mismatch on the same server afterwards. */
        ts = refused_thrice(t, ts + 100000, "bob", "INVITE", 407, "example.test", false);
        CHECK(s.n == 1 && s.codes[0] == DIAG_HEADER_MISMATCH,
              "header mismatch after a healthy call during a refresh: %u records, first %s", s.n,
              s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);

        /* A phone registered with two servers (realms one.test and two.test),
         * retrying with a new Call-ID each time: the client memory is per server. */
        t = mk(&s, 3);
        ts = 1000000;
        Req r1 = {"two-1", "t1", "carol", "z9hG4bK-two-1", "REGISTER", 1};
        q = request(&r1);
        feed_ep(t, ts, &q, &CLIENT, &SERVER);
        a = response(&q, 401);
        add_chal(&a, "one.test", "one-n1", DIGEST_ALG_MD5, 0, false);
        feed_ep(t, ts + 2000, &a, &SERVER, &CLIENT);
        Req r2 = {"two-2", "t2", "carol", "z9hG4bK-two-2", "REGISTER", 1};
        q = request(&r2);
        feed_ep(t, ts + 3000, &q, &CLIENT, &SERVER2);
        a = response(&q, 401);
        add_chal(&a, "two.test", "two-n1", DIGEST_ALG_MD5, 0, false);
        feed_ep(t, ts + 4000, &a, &SERVER2, &CLIENT);
        Req r3 = {"two-3", "t3", "carol", "z9hG4bK-two-3", "REGISTER", 1};
        q = request(&r3);
        add_cred(&q, "one.test", "one-n1", DIGEST_ALG_MD5, "sip:example.test", 0, 0);
        feed_ep(t, ts + 10000, &q, &CLIENT, &SERVER);
        a = response(&q, 200);
        feed_ep(t, ts + 12000, &a, &SERVER, &CLIENT);
        /* A real realm mismatch on the first server afterwards. */
        ts = refused_thrice(t, ts + 100000, "dave", "REGISTER", 401, "old.test", false);
        CHECK(s.n == 1 && s.codes[0] == DIAG_REALM_MISMATCH,
              "realm mismatch after a healthy login to one of two servers: %u records, first %s",
              s.n, s.n ? diag_code_name(s.codes[0]) : "-");
        tracker_free(t);
}

/* Kamailio hands the same nonce to every client challenged within one second;
 * each client counts nc from 1 on its own, so two clients answering it in
 * turn with nc=1 are not stuck (seen on the real Kamailio of tests/peers). */
static void test_shared_nonce(void)
{
        static const Endpoint CLIENT2 = {4, {198, 51, 100, 8}, 5060};
        const Endpoint *who[2] = {&CLIENT, &CLIENT2};
        const char *users[2] = {"erin", "heidi"};
        char br[64];
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = 1000000;

        for (unsigned i = 0; i <= 3; i++) {
                for (unsigned c = 0; c < 2; c++) {
                        snprintf(br, sizeof br, "z9hG4bK-shared-%u-%u", c, i);
                        Req r = {users[c], "t", users[c], br, "INVITE", 1 + i};
                        SipMsg q = request(&r);
                        if (i > 0) {
                                add_cred(&q, "example.test", "same-second", DIGEST_ALG_MD5,
                                         "sip:example.test", QOP_AUTH, 1);
                                q.credentials[0].proxy = true;
                        }
                        feed_ep(t, ts, &q, who[c], &SERVER);
                        ts += 500;
                }
                for (unsigned c = 0; c < 2; c++) {
                        snprintf(br, sizeof br, "z9hG4bK-shared-%u-%u", c, i);
                        Req r = {users[c], "t", users[c], br, "INVITE", 1 + i};
                        SipMsg q = request(&r);
                        SipMsg a = response(&q, 407);
                        add_chal(&a, "example.test", "same-second", DIGEST_ALG_MD5, QOP_AUTH,
                                 false);
                        feed_ep(t, ts, &a, &SERVER, who[c]);
                        ts += 500;
                }
                ts += 5000;
        }
        CHECK(s.n == 2 && s.codes[0] == DIAG_WRONG_PASSWORD && s.codes[1] == DIAG_WRONG_PASSWORD,
              "two clients on one nonce: %u records, %s and %s", s.n,
              s.n > 0 ? diag_code_name(s.codes[0]) : "-",
              s.n > 1 ? diag_code_name(s.codes[1]) : "-");
        tracker_free(t);
}

/* ---- issue 13: verified sources ---------------------------------------- */

/* A wordlist loop answering nonces the server sent to it alone: verified,
 * with the reason in the evidence. */
static void test_verified_guessing(void)
{
        static const Endpoint attacker = {4, {203, 0, 113, 120}, 5060};
        char nonce_for_all[] = "kamailio-one-per-second";
        char br[40], tag[40];
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = 1000000;

        guess_loop(t, ts, "v1", 15);
        CHECK(s.n == 2 && s.codes[1] == DIAG_CREDENTIAL_GUESSING, "guessing: %u records", s.n);
        CHECK(s.last.source_verified == SOURCE_VERIFIED_YES, "own nonces: verified");
        CHECK(s.last.severity == SEV_ERROR, "verified guessing is an error");
        CHECK(strstr(s.last.evidence, "Source verified: 10 of 10 refused attempts") != NULL,
              "evidence: %s", s.last.evidence);
        tracker_free(t);

        /* The attacker draws one nonce at its own address and spoofs the loop
         * from the victim (client_ep); the server re-challenges the victim with
         * the same nonce (Kamailio: one per second). Whichever address got it
         * first, not verified. */
        for (int victim_first = 0; victim_first < 2; victim_first++) {
                t = mk(&s, 3);
                Req r0 = {"a-own", "x", "alice", "z9hG4bK-a-own", "REGISTER", 1};
                SipMsg q0 = request(&r0);
                SipMsg a0 = response(&q0, 401);
                add_chal(&a0, "example.test", nonce_for_all, DIGEST_ALG_MD5, QOP_AUTH, false);
                if (victim_first) {
                        /* a spoofed REGISTER without credentials draws it to the victim */
                        feed(t, ts, &q0, true);
                        feed(t, ts + 1000, &a0, false);
                        q0.via_branch = "z9hG4bK-a-own-2";
                        a0.via_branch = q0.via_branch;
                }
                feed_ep(t, ts + 2000, &q0, &attacker, &SERVER);
                feed_ep(t, ts + 3000, &a0, &SERVER, &attacker);
                for (int i = 1; i <= 15; i++) {
                        char resp[32];
                        ts += 20000;
                        snprintf(br, sizeof br, "z9hG4bK-spoof-%d", i);
                        snprintf(tag, sizeof tag, "tag-%d", i);
                        Req r = {"spoofed", tag, "alice", br, "REGISTER", 2};
                        SipMsg q = request(&r);
                        add_cred(&q, "example.test", nonce_for_all, DIGEST_ALG_MD5,
                                 "sip:example.test", QOP_AUTH, (uint32_t)i);
                        snprintf(resp, sizeof resp, "guess-%d", i);
                        q.credentials[0].response = resp;
                        feed(t, ts, &q, true);
                        SipMsg a = response(&q, 401);
                        add_chal(&a, "example.test", nonce_for_all, DIGEST_ALG_MD5, QOP_AUTH,
                                 false);
                        feed(t, ts + 1000, &a, false);
                }
                CHECK(s.n == 2 && s.codes[1] == DIAG_CREDENTIAL_GUESSING,
                      "spoofed guessing: %u records", s.n);
                CHECK(s.last.source_verified == SOURCE_VERIFIED_NO,
                      "a shared nonce proves nothing (victim first %d)", victim_first);
                CHECK(s.last.severity == SEV_WARNING, "unverified guessing is one step lower: %s",
                      severity_name(s.last.severity));
                CHECK(strstr(s.last.evidence, "Source not verified: 0 of") != NULL &&
                          strncmp(s.last.remedy, "The source is not verified", 26) == 0,
                      "unverified wording: %s / %s", s.last.evidence, s.last.remedy);
                tracker_free(t);
        }

        /* Over TCP with its handshake seen, every attempt proves its source. */
        t = mk(&s, 3);
        feed_origin = ORIGIN_HANDSHAKE;
        guess_loop(t, ts, "v3", 15);
        feed_origin = ORIGIN_WIRE;
        CHECK(s.n == 2 && s.last.source_verified == SOURCE_VERIFIED_YES &&
                  strstr(s.last.evidence, "handshake was seen") != NULL,
              "handshake: %s", s.last.evidence);
        tracker_free(t);

        /* Unauthenticated HEP proves nothing, not even with its own nonces. */
        t = mk(&s, 3);
        feed_origin = ORIGIN_HEP_UNAUTH;
        guess_loop(t, ts, "v4", 15);
        feed_origin = ORIGIN_WIRE;
        CHECK(s.n == 2 && s.last.source_verified == SOURCE_VERIFIED_NO, "unauthenticated HEP");
        tracker_free(t);
}

/* svwar: a REGISTER without credentials for each of n names (100, 101 ...),
 * each answered 404, gap_us apart. Returns the time after the last. */
static int64_t probe_names(Tracker *t, int64_t ts, const char *id, unsigned n, int64_t gap_us)
{
        char br[32], user[16], cid[16];

        for (unsigned i = 0; i < n; i++) {
                snprintf(br, sizeof br, "z9hG4bK-%s-%u", id, i);
                snprintf(user, sizeof user, "%u", 100 + i);
                snprintf(cid, sizeof cid, "%s%u", id, i);
                Req r = {cid, "t", user, br, "REGISTER", 1};
                SipMsg q = request(&r);
                feed(t, ts, &q, true);
                SipMsg a = response(&q, 404);
                feed(t, ts + 500, &a, false);
                ts += gap_us;
        }
        return ts;
}

/* svwar's REGISTERs never answer a nonce: over UDP the scan is reported
 * unverified (spoofable); over a TCP connection with its handshake, verified. */
static void test_verified_scan(void)
{
        for (int tcp = 0; tcp < 2; tcp++) {
                Sink s;
                Tracker *t = mk(&s, 3);
                int64_t ts = 1000000;

                feed_origin = tcp ? ORIGIN_HANDSHAKE : ORIGIN_WIRE;
                ts = probe_names(t, ts, "vs", 12, 100000);
                feed_origin = ORIGIN_WIRE;
                tracker_flush(t, ts);
                CHECK(s.n == 1 && s.codes[0] == DIAG_ACCOUNT_SCAN, "scan (%s): %u",
                      tcp ? "tcp" : "udp", s.n);
                CHECK(s.last.source_verified == (tcp ? SOURCE_VERIFIED_YES : SOURCE_VERIFIED_NO),
                      "scan over %s verified %d", tcp ? "tcp" : "udp", s.last.source_verified);
                CHECK(s.last.severity == (tcp ? SEV_ERROR : SEV_WARNING), "scan severity %s",
                      severity_name(s.last.severity));
                tracker_free(t);
        }
}

/* A 2xx that unauthenticated HEP reports cannot end a guesser's streak: the
 * real login after it is still a compromise (the blinding attack). */
static void test_unauthenticated_success(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        int64_t ts = guess_loop(t, 1000000, "b1", 15);
        char br[40];

        CHECK(s.n == 2 && s.codes[1] == DIAG_CREDENTIAL_GUESSING, "guessing first");
        for (int k = 0; k < 3; k++) {
                /* k 0: a forged 200 by unauthenticated HEP; k 1: a whole forged
                 * login (challenge, answer and 200); k 2: the real login */
                ts += 50000;
                snprintf(br, sizeof br, "z9hG4bK-b1-login-%d", k);
                Req r = {"b1", "login", "alice", br, "REGISTER", 3 + (unsigned)k};
                SipMsg q = request(&r);
                char nonce[32];
                snprintf(nonce, sizeof nonce, "n-b1-%d", 15);
                add_cred(&q, "example.test", nonce, DIGEST_ALG_MD5, "sip:example.test", QOP_AUTH,
                         20);
                feed_origin = k == 1 ? ORIGIN_HEP_UNAUTH : ORIGIN_WIRE;
                if (k == 1) {
                        /* its own challenge first, so that its login is "proven" */
                        Req r0 = {"b1", "login", "alice", "z9hG4bK-b1-forged", "REGISTER", 2};
                        SipMsg q0 = request(&r0);
                        feed(t, ts - 2000, &q0, true);
                        SipMsg c0 = response(&q0, 401);
                        add_chal(&c0, "example.test", nonce, DIGEST_ALG_MD5, QOP_AUTH, false);
                        feed(t, ts - 1000, &c0, false);
                }
                feed(t, ts, &q, true);
                SipMsg ok = response(&q, 200);
                feed_origin = k < 2 ? ORIGIN_HEP_UNAUTH : ORIGIN_WIRE;
                feed(t, ts + 1000, &ok, false);
                feed_origin = ORIGIN_WIRE;
                if (k < 2)
                        CHECK(s.n == 2, "forged login %d says nothing: %u records", k, s.n);
        }
        CHECK(s.n == 3 && s.codes[2] == DIAG_CREDENTIAL_COMPROMISE &&
                  s.last.source_verified == SOURCE_VERIFIED_YES && s.last.severity == SEV_CRITICAL,
              "the real login is a verified compromise: %u records, last %s", s.n,
              diag_code_name(s.last.code));
        tracker_free(t);
}

/* Unauthenticated HEP lives in a world of its own: a forged copy of each of
 * the guesser's requests sent just before it, and a forged 401 with another
 * nonce after each real one, must neither swallow the real requests as
 * retransmissions nor make the real answers miss "the latest challenge". */
static void test_unauthenticated_world(void)
{
        Sink s;
        Tracker *t = mk(&s, 3);
        unsigned guessing = 0;

        guess_forge = true;
        guess_loop(t, 1000000, "w1", 15);
        guess_forge = false;
        for (unsigned i = 0; i < s.n && i < 64; i++)
                guessing += s.codes[i] == DIAG_CREDENTIAL_GUESSING;
        CHECK(guessing >= 1 && s.last.code == DIAG_CREDENTIAL_GUESSING &&
                  s.last.source_verified == SOURCE_VERIFIED_YES,
              "the wire's guessing, verified: %u records, last %s %d", s.n,
              diag_code_name(s.last.code), s.last.source_verified);
        tracker_free(t);
}

/* A flood of cheap records fills the cap; a verified guesser still gets out. */
static void test_ban_budget(void)
{
        Sink s;
        TrackerConfig cfg;
        char user[16], cid[16];
        int64_t ts = 1000000;

        tracker_config_default(&cfg);
        cfg.max_records_per_minute = 2;
        memset(&s, 0, sizeof s);
        Tracker *t = tracker_new(&cfg, collect, &s);
        for (unsigned i = 0; i < 6; i++) {
                unsigned cseq = 1;
                snprintf(cid, sizeof cid, "bb%u", i);
                snprintf(user, sizeof user, "cheap%u", i);
                cycle_user = user;
                cycle(t, ts + i * 1000, cid, &cseq, 3, 401, "example.test", DIGEST_ALG_MD5,
                      QOP_AUTH);
        }
        cycle_user = "alice";
        unsigned before = s.n;
        guess_loop(t, ts + 10000000, "bb-guess", 15);
        CHECK(before == 2 && s.n == 3 && s.codes[2] == DIAG_CREDENTIAL_GUESSING,
              "capped at %u, then the guessing: %u records", before, s.n);
        tracker_free(t);
}

static int64_t fake_clock;
static int64_t fake_clock_us(void)
{
        return fake_clock;
}

/* Live, the cap runs on the daemon's clock: packet times (forged HEP
 * timestamps) in the year 2100 do not open a new minute, nor close one. */
static void test_live_clock(void)
{
        Sink s;
        TrackerConfig cfg;
        char user[16], cid[16];

        tracker_config_default(&cfg);
        cfg.max_records_per_minute = 1;
        cfg.clock_us = fake_clock_us;
        fake_clock = 5000000;
        memset(&s, 0, sizeof s);
        Tracker *t = tracker_new(&cfg, collect, &s);
        for (unsigned i = 0; i < 3; i++) {
                unsigned cseq = 1;
                /* Each an hour of packet time later, and one in 2100. */
                int64_t ts = i == 2 ? 4102444800000000LL : 1000000 + (int64_t)i * 3600000000LL;
                snprintf(cid, sizeof cid, "lc%u", i);
                snprintf(user, sizeof user, "lc%u", i);
                cycle_user = user;
                cycle(t, ts, cid, &cseq, 3, 401, "example.test", DIGEST_ALG_MD5, QOP_AUTH);
        }
        cycle_user = "alice";
        CHECK(s.n == 1, "one minute of the live clock holds one record: %u", s.n);
        fake_clock += 61000000; /* a real minute later */
        tracker_expire(t, 1000000);
        CHECK(s.n == 2 && s.last.code == DIAG_RATE_LIMITED && s.last.attempts == 2,
              "the summary comes when the live minute is over: %u", s.n);
        tracker_free(t);
}

/* Username lists over all sources are bounded at start. */
static void test_source_users_bounded(void)
{
        Sink s;
        TrackerConfig cfg;
        TrackerStats st;
        int64_t ts = 1000000;

        tracker_config_default(&cfg);
        cfg.max_sources = 2; /* 8 username slots over all sources */
        memset(&s, 0, sizeof s);
        Tracker *t = tracker_new(&cfg, collect, &s);
        probe_names(t, ts, "sb", 40, 1000);
        tracker_get_stats(t, &st);
        CHECK(st.source_users_capped > 0, "the slot budget bit: %" PRIu64, st.source_users_capped);
        tracker_free(t);
}

int main(void)
{
        test_code_tables();
        test_rule_declarations();
        test_wrong_password();
        test_healthy();
        test_realm_alg_qop();
        test_half_rule();
        test_threshold_window();
        test_no_credentials_and_missing();
        test_bounds();
        test_guessing_escalation();
        test_phone_is_not_guessing();
        test_resolved();
        test_recovered_stale();
        test_compromise();
        test_rate_limit();
        test_account_scan();
        test_flood_keeps_real_failures();
        test_reconfigure();
        test_preallocate_reload();
        test_reissued_nonce();
        test_learned_tolerance();
        test_nc_stuck();
        test_prepared_keys();
        test_concurrent_challenges();
        test_shared_nonce();
        test_verified_guessing();
        test_verified_scan();
        test_unauthenticated_success();
        test_unauthenticated_world();
        test_ban_budget();
        test_live_clock();
        test_source_users_bounded();
        return check_exit("tracker");
}

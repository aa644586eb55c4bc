/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnosis rules, one per file in analysis/rules/, behind one table.
 *
 * A rule may have a per-attempt check: given a request that carries
 * credentials and the challenge it answers, does this attempt show the
 * rule's anomaly? The tracker records the set of anomalies of every refused
 * attempt; when a principal is refused `threshold` times within `window`, the
 * most specific cause that explains the streak is chosen (rules_choose) and
 * its rule writes the evidence and the remedy from a Streak summary.
 *
 *   client                server            tracker
 *     |---- REGISTER -------->|               transaction opened
 *     |<--- 401 (nonce N1) ---|               challenge recorded (chain, client, nonce N1)
 *     |---- REGISTER+creds -->|               checks run against N1's challenge
 *     |<--- 401 (nonce N2) ---|               refusal: anomalies -> attempt ring
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diagnosis.h"
#include "../parser/decode.h"
#include "../parser/sipmsg.h"

#define CHALLENGE_MAX 3
#define REALM_MAX     64
#define SMALL_STR     96

/* One Digest challenge as remembered (the nonce only as a hash and a prefix). */
typedef struct {
        DigestAlg alg;
        char alg_raw[24];
        unsigned qop_mask;
        bool stale;
        uint64_t realm_hash;
        uint64_t nonce_hash;
        char realm[REALM_MAX];
} ChallengeInfo;

/* The latest 401/407 a chain or client received. */
typedef struct {
        bool valid;
        bool proxy;    /* 407 / Proxy-Authenticate */
        bool answered; /* a request with credentials followed it */
        uint16_t status;
        uint8_t n;
        ChallengeInfo ch[CHALLENGE_MAX];
        int64_t ts_us;
        Endpoint client; /* where the challenge was sent */
        Endpoint server; /* who sent it */
} ChallengeSet;

/* What the nonce table knows of a nonce a server issued. */
typedef struct {
        int64_t issued_us;
        Endpoint server, client;
        DigestAlg alg;
        bool nc_seen;
        uint32_t last_nc;
        int64_t last_nc_us; /* packet time of the latest use with an nc */
        /* Whose nc that is: a server may hand the same nonce to several clients
         * (Kamailio: one per second), and each counts from 1 on its own. */
        Endpoint nc_client;
        /* Where the server sent it, and whether it went to more than one
         * address and port (then answering it proves nothing, DESIGN.md
         * verified sources) or came from unauthenticated HEP. */
        Endpoint sent_to;
        bool shared;
} NonceInfo;

/* Everything a per-attempt check may look at. */
typedef struct {
        const SipMsg *req;
        const SipCredentials *cred; /* the credentials evaluated */
        const ChallengeSet *ref;    /* the challenge answered; NULL when none seen */
        const ChallengeInfo
            *ref_ch;            /* the challenge of ref matching cred's algorithm, or the first */
        const NonceInfo *nonce; /* NULL when the nonce was never seen issued */
        uint64_t cred_realm_hash;
        Endpoint src, dst;
        Transport transport;
        int64_t ts_us;
} AttemptCtx;

typedef enum {
        SERVER_GENERIC = 0,
        SERVER_ASTERISK_PJSIP,
        SERVER_ASTERISK_CHAN_SIP,
        SERVER_ASTERISK, /* Asterisk, channel driver not told apart */
        SERVER_FREESWITCH,
        SERVER_KAMAILIO,
        SERVER_OPENSIPS,
} ServerFamily;

/* What makes a success a credential-compromise (DESIGN.md). */
typedef enum {
        COMPROMISE_AFTER_GUESSING = 0, /* from the source that was guessing */
        COMPROMISE_OTHER_SOURCE,       /* from another source, within the window */
        COMPROMISE_AFTER_SCAN,         /* from a source reported for an account scan */
} CompromiseTrigger;

/* The refused attempts of a principal within the window, summarised for wording. */
typedef struct {
        DiagCode code;
        unsigned attempts;          /* refusals in the window */
        unsigned n_cls[DIAG__MAX];  /* attempts by their most specific cause */
        unsigned n_show[DIAG__MAX]; /* attempts that show the cause, among others */
        unsigned n_status[4];       /* 401, 407, 403, other */
        unsigned n_answered_latest;
        unsigned n_stale;
        uint32_t max_delay_ms; /* challenge -> retry */
        uint32_t min_nonce_age_ms, max_nonce_age_ms;
        bool proxy; /* challenges were 407 */
        bool nc_stuck;
        unsigned offered_qop, cred_qop;
        const char *method;
        const char *user, *realm;
        const char *cred_realm;   /* realm the client answered */
        const char *cred_alg;     /* algorithm the client answered */
        const char *offered_algs; /* "SHA-256, MD5" */
        const char *cred_uri, *ruri;
        const char *nonce_prefix; /* at most 8 characters */
        unsigned n_moved;         /* attempts from another address/port than challenged */
        uint32_t tolerated_seen;  /* anomalies present but accepted by this server elsewhere */
        unsigned n_verified_ok;   /* responses that verify against the configured secret */
        unsigned n_verified_bad;  /* responses that do not */
        unsigned n_distinct_responses;
        unsigned n_loop;       /* answers re-sent under one Call-ID and CSeq with a new From tag */
        uint32_t span_ms;      /* first attempt in the window -> now */
        unsigned n_users;      /* account-scan: distinct usernames failing */
        const char *user_list; /* account-scan: refused/unknown names, comma separated */
        const char *existing_list; /* account-scan: challenged, never answered (they exist) */
        unsigned n_refused_users, n_existing_users;
        const char *user_agent;     /* client's User-Agent */
        const char *resolved_codes; /* resolved: the codes that were open */
        unsigned success_status;    /* resolved, credential-compromise: the accepting status */
        /* credential-compromise: what came before the success, and from where */
        CompromiseTrigger trigger;
        const char *attacker; /* the source of the guessing or the scan */
        uint32_t gap_ms;      /* that record -> the success */
        unsigned rate_cap;    /* rate-limited: records per minute */
        const char *client, *moved_from, *moved_to;
        const char *server, *server_agent;
        ServerFamily family;
} Streak;

typedef struct {
        DiagCode code;
        /* Per-attempt check; NULL for rules decided from the response or the streak. */
        bool (*check)(const AttemptCtx *ctx);
        void (*evidence)(const Streak *s, char *buf, size_t n);
        void (*remedy)(const Streak *s, char *buf, size_t n);
} Rule;

/* The table, indexed by DiagCode; entries without a rule have code == DIAG__MAX. */
const Rule *rules_get(DiagCode code);

/* Bit mask of the anomalies (1u << DiagCode) the per-attempt checks find. */
uint32_t rules_check_attempt(const AttemptCtx *ctx);

/* Whether the attempt reuses a nonce without advancing nc (RFC 7616 §3.4). */
bool qop_check_nc_stuck(const AttemptCtx *c);

/* Most specific cause that explains the streak (DESIGN.md precedence). */
DiagCode rules_choose(const unsigned n_show[DIAG__MAX], const unsigned n_cls[DIAG__MAX],
                      unsigned attempts);

/* Server family from Server/User-Agent text and the challenge's shape. */
ServerFamily server_family_detect(const char *server_agent, bool pjsip_shape);
const char *server_family_name(ServerFamily f);
/* How a changed secret takes effect on that server ("asterisk -rx 'pjsip reload'" ...). */
const char *server_reload_hint(ServerFamily f);
/* Where the server keeps the account's secret. */
const char *server_secret_hint(ServerFamily f);
/* The server's realm setting. */
const char *server_realm_hint(ServerFamily f);
/* The server's nonce lifetime setting. */
const char *server_nonce_hint(ServerFamily f);
/* The server's digest algorithm setting. */
const char *server_algorithm_hint(ServerFamily f);
/* How the server blocks a source. */
const char *server_block_hint(ServerFamily f);
/* Where the server shows its registrations and calls. */
const char *server_activity_hint(ServerFamily f);

/* Append printf-style text to buf of size n (bounded, always terminated). */
void strbuf_append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "refused with 401 each time" / "refused with 401 (3) and 403 (1)". */
void streak_refusals_phrase(const Streak *s, char *buf, size_t n);
/* "250 ms", "12 s", "3 min 20 s", "2 h 5 min" */
void span_phrase(char *buf, size_t n, uint32_t ms);
/* "4 REGISTERs" */
void streak_attempts_phrase(const Streak *s, char *buf, size_t n);

/* Rule entries, one per file in analysis/rules/. */
extern const Rule rule_challenge_missing, rule_header_mismatch, rule_no_credentials,
    rule_realm_mismatch, rule_algorithm_mismatch, rule_qop_mismatch, rule_uri_mismatch,
    rule_stale_nonce, rule_nonce_unknown, rule_source_changed, rule_credential_guessing,
    rule_account_scan, rule_server_rejects_valid, rule_wrong_password, rule_credential_compromise,
    rule_resolved, rule_rate_limited;

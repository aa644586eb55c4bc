/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnosis rules, one per file in analysis/rules/, listed in one table
 * (rules.c). A rule declares everything about its code once: name,
 * severity, MESSAGE_ID, the cause a record names, its per-attempt check and
 * its wording; diagnosis.h's tables and the tracker read them from there.
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

#include "attempt.h"
#include "diagnosis.h"
#include "server.h"

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

/* What a check noticed beyond its verdict, kept with the attempt for the
 * wording (CredDetails). Zeroed before the checks run. */
typedef struct {
        bool nc_stuck; /* qop-mismatch: a nonce reused without advancing nc */
} AttemptNotes;

/* What makes a success a credential-compromise (DESIGN.md). */
typedef enum {
        COMPROMISE_AFTER_GUESSING = 0, /* from the source that was guessing */
        COMPROMISE_OTHER_SOURCE,       /* from another source, within the window */
        COMPROMISE_AFTER_SCAN,         /* from a source reported for an account scan */
} CompromiseTrigger;

/* The refused attempts of a principal within the window, summarised for wording. */
typedef struct {
        DiagCode code;
        /* The attempt the record words (a principal's latest refused one, the
         * accepted login, a scanning source's latest); NULL for rate-limited. */
        const AttemptDetails *att;
        unsigned attempts;          /* refusals in the window */
        unsigned n_cls[DIAG__MAX];  /* attempts by their most specific cause */
        unsigned n_show[DIAG__MAX]; /* attempts that show the cause, among others */
        unsigned n_status[4];       /* 401, 407, 403, other */
        unsigned n_answered_latest;
        unsigned n_stale;
        uint32_t max_delay_ms; /* challenge -> retry */
        uint32_t min_nonce_age_ms, max_nonce_age_ms;
        bool proxy;              /* challenges were 407 */
        unsigned n_moved;        /* attempts from another address/port than challenged */
        uint32_t tolerated_seen; /* anomalies present but accepted by this server elsewhere */
        unsigned n_verified_ok;  /* responses that verify against the configured secret */
        unsigned n_verified_bad; /* responses that do not */
        unsigned n_distinct_responses;
        unsigned n_loop;       /* answers re-sent under one Call-ID and CSeq with a new From tag */
        uint32_t span_ms;      /* first attempt in the window -> now */
        unsigned n_users;      /* account-scan: distinct usernames failing */
        const char *user_list; /* account-scan: refused/unknown names, comma separated */
        const char *existing_list; /* account-scan: challenged, never answered (they exist) */
        unsigned n_refused_users, n_existing_users;
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

/*
 * One diagnosis code, declared once in its file in analysis/rules/:
 *
 *   const Rule rule_wrong_password = {
 *       .code = DIAG_WRONG_PASSWORD, .name = "wrong-password", .severity = SEV_WARNING,
 *       .message_id = "...", .cause = "...", .evidence = evidence, .remedy = remedy,
 *   };
 */
typedef struct {
        DiagCode code;
        const char *name; /* "wrong-password": JSON "diagnosis", SIP_DIAGNOSIS= */
        Severity severity;
        /* MESSAGE_ID, 32 lowercase hex digits: fixed forever once released;
         * documented in systemd/sipauthmon.catalog. */
        const char *message_id;
        /* How a principal's record ends its message ("... refused 3 times:
         * <cause>"); NULL for codes that are no streak cause. */
        const char *cause;
        /* What differs when a server is seen to accept this anomaly from
         * clients that log in ("the realm"): learned from successes and named
         * by wrong-password. NULL: never learned (an unknown nonce only
         * proves the capture started late). */
        const char *tolerated;
        /* Per-attempt check; NULL for rules decided from the response or the streak. */
        bool (*check)(const AttemptCtx *ctx, AttemptNotes *notes);
        void (*evidence)(const Streak *s, char *buf, size_t n);
        void (*remedy)(const Streak *s, char *buf, size_t n);
} Rule;

/* The rule of a code; NULL only for a value outside DiagCode. */
const Rule *rules_get(DiagCode code);
/* The table itself, n rules in no particular order: lookups by name, tests. */
const Rule *const *rules_all(size_t *n);

/* Bit mask of the anomalies (1u << DiagCode) the per-attempt checks find;
 * notes are zeroed, then filled by the checks. */
uint32_t rules_check_attempt(const AttemptCtx *ctx, AttemptNotes *notes);

/* Anomalies (1u << DiagCode) a server can be seen to accept (Rule.tolerated). */
uint32_t rules_tolerable(void);

/* Most specific cause that explains the streak (DESIGN.md precedence). */
DiagCode rules_choose(const unsigned n_show[DIAG__MAX], const unsigned n_cls[DIAG__MAX],
                      unsigned attempts);

/* "refused with 401 each time" / "refused with 401 (3) and 403 (1)". */
void streak_refusals_phrase(const Streak *s, char *buf, size_t n);
/* "250 ms", "12 s", "3 min 20 s", "2 h 5 min" */
void span_phrase(char *buf, size_t n, uint32_t ms);
/* "4 REGISTERs" */
void streak_attempts_phrase(const Streak *s, char *buf, size_t n);

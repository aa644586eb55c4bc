/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnosis records: what the tracker hands to a sink. Every string field is
 * a fixed-size, NUL-terminated copy (truncated when longer) of untrusted
 * wire data or of text built from it; sinks escape them. Empty string =
 * unknown (the key is then left out of JSON and journal output).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../parser/endpoint.h"

/* In precedence order: when several causes fit, the lower value wins. Each
 * code is declared once, by its rule in analysis/rules/ (name, severity,
 * MESSAGE_ID, wording), listed in analysis/rules.c; the lookups below read
 * those declarations. */
typedef enum {
        DIAG_CHALLENGE_MISSING = 0,
        DIAG_HEADER_MISMATCH,
        DIAG_NO_CREDENTIALS,
        DIAG_REALM_MISMATCH,
        DIAG_ALGORITHM_MISMATCH,
        DIAG_QOP_MISMATCH,
        DIAG_URI_MISMATCH,
        DIAG_STALE_NONCE,
        DIAG_NONCE_UNKNOWN,
        DIAG_SOURCE_CHANGED,
        DIAG_CREDENTIAL_GUESSING,
        DIAG_ACCOUNT_SCAN,
        DIAG_SERVER_REJECTS_VALID,
        DIAG_WRONG_PASSWORD,
        DIAG_CREDENTIAL_COMPROMISE, /* a success after guessing or a scan: not a streak cause */
        DIAG_RESOLVED,
        DIAG_RATE_LIMITED, /* summary of records held back by the global cap */
        DIAG__MAX
} DiagCode;

typedef enum {
        SEV_INFO = 0,
        SEV_NOTICE,
        SEV_WARNING,
        SEV_ERROR,
        SEV_CRITICAL,
} Severity;

/* account-scan: the names tried, and whether the wire showed the account exists. */
#define DIAG_ACCOUNTS_MAX 64

typedef struct {
        char user[24];
        bool exists; /* challenged and never answered: the server knows it */
} DiagAccount;

/*
 * Whether the source a record names is proven (DESIGN.md verified sources,
 * sipauthmon(8) VERIFIED SOURCES): only a verified record may lead to a ban.
 */
typedef enum {
        SOURCE_VERIFIED_NA = 0, /* the record names no source (rate-limited) */
        SOURCE_VERIFIED_NO,
        SOURCE_VERIFIED_YES,
} SourceVerified;

/*
 * The failing exchange of a principal's latest refused attempt, for the
 * ladder text output draws (daemon/ladder.c); JSON and journal output
 * never show it. Times are packet times, 0 when that message was not seen.
 * Strings as above; qop as text ("auth", "auth,auth-int", "" for none).
 * Never a response or a cnonce.
 */
typedef struct {
        bool valid; /* false: the record has no single exchange (scan, resolved ...) */
        bool drew_creds;
        bool challenge_stale;
        bool has_creds;
        bool cred_proxy;
        bool nc_valid;
        bool nc_stuck;
        bool nonce_known;
        bool answered_latest;
        bool moved;
        bool final_stale;
        bool verified_ok;  /* the response verifies against the configured secret */
        bool verified_bad; /* it does not */
        uint16_t challenge_status;
        uint16_t final_status;
        uint32_t nc;
        uint32_t nonce_age_ms;
        int64_t drew_us, challenge_us, request_us, final_us;
        char drew_method[32]; /* the request that drew the challenge */
        char ruri[96];
        char challenge_realm[64];
        char challenge_algs[48];
        char challenge_qop[16];
        char challenge_nonce[9];
        char cred_realm[64];
        char cred_alg[24];
        char cred_uri[96];
        char cred_qop[16];
        char cred_nonce[9];
        char challenged[64]; /* where the challenge went, when the attempt moved */
} DiagExchange;

typedef struct {
        DiagCode code;
        Severity severity;
        SourceVerified source_verified;
        unsigned attempts;
        int64_t first_seen_us; /* packet time, µs since the epoch */
        int64_t last_seen_us;
        char message[512]; /* room for the longest user@realm and the fixed ending */
        char user[128];
        char realm[128];
        char client[64]; /* ip:port or [v6]:port */
        char server[64];
        /* The same two endpoints, structured (JSON client_ip/client_port, HEP
         * out address chunks); family 0 when the record names none. */
        Endpoint client_ep;
        Endpoint server_ep;
        char transport[8]; /* "udp", "tcp" */
        char method[32];
        char call_id[160];
        char user_agent[160];
        char server_agent[160];
        char algorithm[32];
        char evidence[1024];
        char remedy[1024];
        unsigned n_accounts; /* account-scan only */
        DiagAccount accounts[DIAG_ACCOUNTS_MAX];
        DiagExchange exchange; /* text output's ladder only */
} Diagnosis;

const char *diag_code_name(DiagCode c); /* "wrong-password" */
bool diag_code_from_name(const char *s, DiagCode *out);
Severity diag_code_severity(DiagCode c);
const char *severity_name(Severity s);    /* "warning" */
int severity_syslog_priority(Severity s); /* LOG_WARNING ... */
/* Fixed 128-bit MESSAGE_ID per code, as 32 lowercase hex digits. */
const char *diag_code_message_id(DiagCode c);

/* RFC 3339 UTC with milliseconds: "2026-11-26T12:00:00.123Z". buf >= 32. */
char *format_rfc3339_ms(int64_t us, char *buf, size_t n);

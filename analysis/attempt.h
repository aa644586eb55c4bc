/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the tracker remembers of an authentication attempt: the challenge it
 * answers, the nonce it carries, and its details as a record words them.
 * The rules read these (analysis/rules.h); the tracker fills them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../parser/decode.h"
#include "../parser/sipmsg.h"

#define CHALLENGE_MAX 3
#define REALM_MAX     64
#define SMALL_STR     96
#define USER_MAX      64
#define METHOD_MAX    16
#define ALG_MAX       24

/* One Digest challenge as remembered (the nonce only as a hash and a prefix). */
typedef struct {
        DigestAlg alg;
        char alg_raw[24];
        unsigned qop_mask;
        bool stale;
        char nonce_prefix[9]; /* at most 8 characters, for the ladder a text record draws */
        uint64_t realm_hash;
        uint64_t nonce_hash;
        char realm[REALM_MAX];
} ChallengeInfo;

/* The latest 401/407 a chain or client received. Only ch[0..n) is ever
 * read, and a stored copy holds only those (challenge_set_store): the
 * challenges come last. */
typedef struct {
        bool valid;
        bool proxy;    /* 407 / Proxy-Authenticate */
        bool answered; /* a request with credentials followed it */
        uint16_t status;
        uint8_t n;
        int64_t ts_us;
        int64_t req_us;              /* the request that drew it; 0 when it was not captured */
        bool req_creds;              /* that request carried credentials */
        char req_method[METHOD_MAX]; /* its method */
        Endpoint client;             /* where the challenge was sent */
        Endpoint server;             /* who sent it */
        ChallengeInfo ch[CHALLENGE_MAX];
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

/* What the challenge an attempt answers offered. */
typedef struct {
        char algs[48]; /* "SHA-256, MD5" */
        unsigned qop;
} OfferDetails;

/* What the client answered with: only an attempt that carries credentials has it. */
typedef struct {
        char realm[REALM_MAX];
        char alg[ALG_MAX];
        char uri[SMALL_STR];
        char nonce_prefix[9]; /* at most 8 characters */
        unsigned qop;
        bool nc_stuck; /* a nonce reused without advancing nc (AttemptNotes) */
} CredDetails;

/*
 * The exchange of one attempt, for the ladder a text record draws
 * (Diagnosis.exchange): when each message went (packet times, 0 when not
 * seen) and what the challenge and the answer said beyond the rest of the
 * details. Never a response or a cnonce.
 */
typedef struct {
        int64_t drew_us;           /* the request that drew the challenge answered */
        int64_t challenge_us;      /* that challenge; 0: the attempt answers none seen */
        int64_t request_us;        /* this attempt */
        int64_t final_us;          /* the final response that refused it */
        uint32_t nonce_age_ms;     /* the nonce answered: issued -> this attempt */
        uint32_t nc;               /* nc, when nc_valid */
        uint16_t challenge_status; /* 401 or 407 */
        uint16_t final_status;
        char challenge_nonce[9]; /* the challenge's nonce, at most 8 characters */
        char drew_method[METHOD_MAX];
        bool drew_creds; /* the request that drew the challenge carried credentials */
        bool challenge_stale;
        bool final_stale;
        bool has_creds;
        bool cred_proxy; /* answered in Proxy-Authorization */
        bool nc_valid;
        bool nonce_known;     /* the nonce answered was seen issued */
        bool answered_latest; /* it is the nonce of the challenge answered */
        bool moved;           /* sent from another address/port than the challenge went to */
        uint8_t verify;       /* DigestVerdict (digest.h) */
} ExchangeDetails;

/*
 * The details of one attempt a record words, taken from the wire once and
 * handed on whole: a transaction holds its request's, a principal its
 * latest refused attempt's, and a Streak points to them. Fixed-size,
 * NUL-terminated copies of untrusted strings (truncated when longer).
 * In the order a new transaction fills them (Txn): what it zeroes, the
 * strings it copies, then cred, written only for a request with credentials.
 */
typedef struct {
        ExchangeDetails ex; /* the exchange it belongs to */
        OfferDetails offer; /* what the challenge answered offered */
        char method[METHOD_MAX];
        char user[USER_MAX];
        char realm[REALM_MAX]; /* the challenge's; "" when unknown */
        char user_agent[SMALL_STR];
        char ruri[SMALL_STR];
        CredDetails cred; /* how the client answered */
} AttemptDetails;

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one wrapper around libsofia-sip-ua. It owns the library's quirks
 * (listed in sipmsg.c): nothing reachable from input may assert or abort.
 * A parsed message is flattened into SipMsg, whose strings stay valid until
 * sipmsg_clear() or the next sipmsg_parse() on it.
 *
 * All strings are NUL-terminated, unquoted where the grammar quotes them,
 * and NULL when absent. They are untrusted bytes: escape before printing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
        SIP_PARSE_OK = 0,
        SIP_PARSE_E_NOT_SIP,   /* does not start with a SIP request/status line */
        SIP_PARSE_E_MALFORMED, /* sofia-sip refused it, or a required header is bad */
        SIP_PARSE_E_TRUNCATED, /* headers or body cut short */
        SIP_PARSE_E_MISSING,   /* Call-ID, CSeq, From or Via missing */
        SIP_PARSE_E_NOMEM,
        SIP_PARSE__MAX
} SipParseVerdict;

typedef enum {
        DIGEST_ALG_MD5 = 0, /* also when no algorithm parameter is given */
        DIGEST_ALG_MD5_SESS,
        DIGEST_ALG_SHA256,
        DIGEST_ALG_SHA256_SESS,
        DIGEST_ALG_SHA512_256,
        DIGEST_ALG_SHA512_256_SESS,
        DIGEST_ALG_OTHER, /* AKAv1-MD5 and anything unknown: the raw string is kept */
        DIGEST_ALG__MAX
} DigestAlg;

enum {
        QOP_AUTH = 1u << 0,
        QOP_AUTH_INT = 1u << 1,
        QOP_OTHER = 1u << 2,
};

/*
 * One WWW-Authenticate or Proxy-Authenticate challenge. Several challenges
 * joined by commas on one header line become separate entries. For a
 * non-Digest scheme only scheme and realm are filled and alg is OTHER.
 */
typedef struct {
        bool proxy;         /* Proxy-Authenticate */
        bool digest;        /* scheme is Digest (case-insensitive) */
        const char *scheme; /* as sent */
        const char *realm;
        const char *nonce;
        const char *opaque;
        const char *algorithm; /* raw parameter, NULL when absent */
        DigestAlg alg;
        unsigned qop_mask; /* QOP_* offered; 0 when no qop parameter */
        bool stale;        /* stale=true (any case) */
        bool userhash;     /* userhash=true */
} SipChallenge;

/*
 * One Authorization or Proxy-Authorization header. For a non-Digest scheme
 * only scheme, username and realm are filled and alg is OTHER.
 */
typedef struct {
        bool proxy;  /* Proxy-Authorization */
        bool digest; /* scheme is Digest */
        const char *scheme;
        const char *username;
        const char *realm;
        const char *nonce;
        const char *uri;
        const char *algorithm; /* raw, NULL when absent */
        DigestAlg alg;
        const char *qop;   /* raw, NULL when absent */
        unsigned qop_mask; /* the one qop chosen, as a QOP_* bit; 0 when absent */
        const char *nc;    /* raw 8-hex-digit string */
        uint32_t nc_value;
        bool nc_valid;        /* nc present and 1..8 hex digits */
        const char *cnonce;   /* SECRET: never print */
        const char *response; /* SECRET: never print */
        const char *opaque;
        bool userhash;
} SipCredentials;

#define SIPMSG_MAX_AUTH 8

typedef struct {
        bool is_request;
        const char *method; /* request method, as sent */
        unsigned status;    /* response status code */
        const char *reason;
        const char *request_uri; /* Request-URI as text, exactly as sent */
        const char *call_id;
        uint32_t cseq;
        const char *cseq_method;
        const char *from_user;
        const char *from_host;
        const char *from_tag;
        const char *to_user;
        const char *to_host;
        const char *to_tag;
        const char *via_host;      /* top Via sent-by host */
        uint16_t via_port;         /* 0 when absent */
        const char *via_transport; /* "UDP", "TCP", ... */
        const char *via_branch;
        const char *user_agent; /* User-Agent header */
        const char *server;     /* Server header */
        size_t n_challenges;
        SipChallenge challenges[SIPMSG_MAX_AUTH];
        unsigned challenges_dropped; /* beyond SIPMSG_MAX_AUTH */
        size_t n_credentials;
        SipCredentials credentials[SIPMSG_MAX_AUTH];
        unsigned credentials_dropped;
        unsigned auth_errors; /* auth header lines sofia-sip could not parse */
        const uint8_t *body;  /* message body (for auth-int); NULL when none */
        size_t body_len;
        size_t msg_len; /* bytes of the datagram this message used */
        void *priv_;    /* sofia msg_t *, owned */
} SipMsg;

/* The start line as sipmsg_start_line() read it. */
typedef struct {
        bool is_request;
        size_t uri_off; /* Request-URI as sent, offsets into the data */
        size_t uri_len;
} SipStartLine;

typedef struct SipParser SipParser;

SipParser *sipmsg_parser_new(void);
SipParser *sipmsg_parser_free(SipParser *p);

/*
 * Parse one SIP message from a datagram. On SIP_PARSE_OK *out is filled and
 * must be released with sipmsg_clear(); on any other verdict *out is zeroed
 * and needs no release. *out must be zero-initialised before its first use:
 * a message still held in it is released first, so one SipMsg can be reused
 * without sipmsg_clear() in between. msg_len tells where a second message in
 * the same buffer starts (only the first is parsed).
 */
SipParseVerdict sipmsg_parse(SipParser *p, const uint8_t *data, size_t len, SipMsg *out);

/* The same with the start line already read by sipmsg_start_line(); NULL: not SIP. */
SipParseVerdict sipmsg_parse_start(SipParser *p, const uint8_t *data, size_t len,
                                   const SipStartLine *sl, SipMsg *out);

/* Release the message's storage; safe on a zeroed SipMsg. */
void sipmsg_clear(SipMsg *m);

/*
 * A message packed into one buffer, to hand it to another thread
 * (analysis/pipeline_workers.c): the fields in use (the challenges and
 * credentials there are, not all SIPMSG_MAX_AUTH), every string and the
 * body. sipmsg_pack_size() is the bytes it takes; sipmsg_pack() returns
 * false when cap is short; buf is 8-byte aligned. sipmsg_unpack() fills
 * *out whose strings and body point into buf, which must stay where it
 * was packed, unchanged, while *out is used; *out owns nothing (no
 * sipmsg_clear()).
 */
size_t sipmsg_pack_size(const SipMsg *m);
bool sipmsg_pack(const SipMsg *m, void *buf, size_t cap);
void sipmsg_unpack(const void *buf, SipMsg *out);

/*
 * Read, without parsing the message, whether a payload starts like a SIP
 * start line ("SIP/2.0 " digit, or "METHOD scheme:..." ending in
 * " SIP/2.0"; CRLFs before it skipped, RFC 3261 §7.5). This is the one
 * read of the start line before sofia-sip's own: its result goes on to
 * sipmsg_parse_start(), so the line is not read again (the pipeline and the
 * TCP framer, which reads each message's first line and passes the result
 * on in TcpMessage). The fast path's scanner (sipscan.h) reads the line with
 * its own stricter grammar: that read is its validation of the only shapes
 * it takes and where it finds the spans it copies, so it stays.
 */
bool sipmsg_start_line(const uint8_t *data, size_t len, SipStartLine *sl);

/* The same as a yes or no. */
bool sipmsg_looks_like_sip(const uint8_t *data, size_t len);

/*
 * Whether two SIP URIs name the same resource for the purposes of the digest
 * uri check (RFC 3261 §19.1.4 comparison, parameters compared as the RFC says).
 * Byte-identical strings are always equivalent.
 */
bool sipuri_equivalent(const char *a, const char *b);

/* In sipauth.c, with the rest of the authentication-header glue. */
DigestAlg sipauth_alg_from_string(const char *s); /* NULL -> MD5 */
const char *sipauth_alg_name(DigestAlg a);        /* "MD5", "SHA-256", ... */
const char *sipmsg_verdict_name(SipParseVerdict v);

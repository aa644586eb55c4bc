/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fast path in front of the sofia-sip wrapper (parser/sipmsg.h).
 *
 * Full parsing through sofia-sip costs several microseconds per message
 * (bench/README.md: ~60 % of the time, ~80 % of the instructions of an
 * offline run), yet most SIP on a mirror port never touches authentication:
 * OPTIONS keepalives, provisional responses, in-dialog requests, NOTIFY.
 * Two cheaper steps decide what such a message costs:
 *
 *   sipscan_ignorable()  start line only: a 1xx response or an ACK, which
 *                         the tracker counts and drops (analysis/transactions.c
 *                         txn_response: status < 200; txn_request: ACK).
 *   sipscan_scan()       one pass over the header names that fills the
 *                         SipMsg fields the tracker reads, exactly as
 *                         sipmsg_parse() would, or says that the
 *                         message needs the full parse.
 *
 * The scanner is conservative by construction: it accepts only the plain
 * shapes that real phones and servers send (CRLF line ends, no folding, no
 * escapes in the user part, lower-case sip:/sips: URIs, token parameters)
 * and hands everything else to sofia-sip, which decides. Authentication
 * headers (Authorization, Proxy-Authorization, WWW-Authenticate,
 * Proxy-Authenticate, any case) stay with sofia-sip one header at a time:
 * each value goes to sofia's parser for that header class and is flattened
 * by the wrapper's own code (parser/sipauth.h), so digest parsing and its
 * quirks remain the wrapper's (a value of the plain shape is read by
 * sipauth_plain.c, proven to give what sofia gives); what is saved is
 * sofia's parse of every other header (Contact, Allow, Record-Route, ...). No malloc() per message:
 * sofia's objects live in an arena the scanner reuses (a message whose
 * auth headers outgrow it spills to malloc() until the next scan).
 * tests/unit/test_sipscan.c checks field for field, challenges and
 * credentials included, against sipmsg_parse() on every message of the
 * golden captures and public corpora, and on every prefix of each.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipmsg.h"

typedef enum {
        SIP_SCAN_OK = 0, /* *out filled */
        SIP_SCAN_UNSURE, /* a shape the scanner does not take: use sipmsg_parse() */
        SIP_SCAN__MAX
} SipScanVerdict;

typedef struct SipScanner SipScanner;

/* One allocation here, none per message. */
SipScanner *sipscan_new(void);
SipScanner *sipscan_free(SipScanner *s);

/*
 * Scan one SIP message at the start of data. On SIP_SCAN_OK *out is
 * overwritten with the fields sipmsg_parse() would give — method,
 * status, reason, request_uri, call_id, cseq, cseq_method, from/to user,
 * host and tag, top Via host/port/transport/branch, user_agent, server,
 * challenges and credentials with their counts, *_dropped and
 * auth_errors, body and msg_len. Its strings live in the scanner (a fixed
 * scratch buffer, and the arena sofia-sip parsed the auth headers into)
 * until the next sipscan_scan() on the same scanner, which invalidates them
 * whatever its verdict; body points into data. out->priv_ is NULL, so
 * sipmsg_clear() on it is harmless. On SIP_SCAN_UNSURE *out is left
 * untouched — a message still held in it (from sipmsg_parse()) is not
 * released — except when memory ran out while the auth headers were
 * parsed: then that message was released and *out is partly written (no
 * challenges, no credentials); sipmsg_parse() on it is still right.
 */
SipScanVerdict sipscan_scan(SipScanner *s, const uint8_t *data, size_t len, SipMsg *out);

/*
 * Whether the start line alone shows a message no diagnosis and no tracked
 * transaction depends on: a provisional (1xx) response or an ACK request
 * (method compared case-insensitively, as the tracker does). Looks at the
 * first line only; the message may still be malformed elsewhere. Says
 * nothing about where the message ends (use it where one datagram is one
 * message).
 */
bool sipscan_ignorable(const uint8_t *data, size_t len);

const char *sipscan_verdict_name(SipScanVerdict v);

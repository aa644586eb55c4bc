/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP out (DESIGN.md "Monitoring", --hep-send): every diagnosis record also
 * as one HEPv3 packet of payload type 100 (log) over UDP, keyed by the
 * record's Call-ID, so that HOMER shows the diagnosis on the call. One
 * connected, non-blocking socket; a send that fails is counted, never
 * retried in a loop and never waited for.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "../analysis/diagnosis.h"

/* heplify's default node id (-hi): HOMER shows it as the capture node. */
#define HEP_SEND_ID_DEFAULT 2002
/* HEP3 chunk 11 value of a log record (heplify-server: "log"). */
#define HEP_SEND_PROTO_LOG 100
/* A HEP3 packet's length is 16 bits. */
#define HEP_SEND_MAX 65535

typedef struct {
        uint32_t capture_id;     /* chunk 12 */
        const uint8_t *auth_key; /* chunk 14 when auth_key_len > 0 */
        size_t auth_key_len;
        int64_t now_us; /* packet time when the record has none (wall clock) */
} HepSendParams;

/*
 * One HEPv3 packet for d whose payload (chunk 15) is json[0..json_len), the
 * record's JSON line: chunks 1-2 (family, protocol of the record's
 * transport), 3/4 or 5/6 and 7/8 (the record's client as source, its server
 * as destination; zero when it names none), 9/10 (last_seen), 11 (100), 12,
 * 14 (the key, when given), 17 (the Call-ID, when known). Returns its
 * length, or 0 when it does not fit in cap (or in HEP_SEND_MAX).
 */
size_t hep_send_encode(const Diagnosis *d, const char *json, size_t json_len,
                       const HepSendParams *p, uint8_t *out, size_t cap);

/*
 * A destination as --hep-send takes it: a numeric "IPV4:PORT" or
 * "[IPV6]:PORT", port 1-65535 (no names: nothing is resolved). Fills
 * *sa (a struct sockaddr_in or _in6) and *salen when they are not NULL.
 */
bool hep_send_parse_addr(const char *s, void *sa, size_t sa_cap, size_t *salen);

typedef struct HepSender HepSender;

typedef struct {
        uint64_t packets; /* handed to the network */
        /* sends that failed: no buffer room (EAGAIN), a refusal the network
         * reported for an earlier packet (ICMP port unreachable:
         * ECONNREFUSED), a record too big for one packet ... */
        uint64_t errors;
} HepSenderStats;

/*
 * Opens the socket and connects it to dest (hep_send_parse_addr()). The key
 * (NULL: none) is copied; the capture id goes into every packet. Returns 0,
 * or a negative errno with a one-line message in err.
 */
int hep_sender_open(HepSender **out, const char *dest, uint32_t capture_id, const uint8_t *key,
                    size_t key_len, char *err, size_t errlen);
HepSender *hep_sender_free(HepSender *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(HepSender *, hep_sender_free);

/* Sends d as one packet, or counts why not. Never blocks. */
void hep_sender_send(HepSender *h, const Diagnosis *d);

void hep_sender_get_stats(const HepSender *h, HepSenderStats *st);

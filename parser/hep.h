/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP (Homer Encapsulation Protocol) v2 and v3: the copies of SIP that
 * Kamailio siptrace, Asterisk res_hep, FreeSWITCH capture-server and heplify
 * send. Decoding only; no state, no allocation: the result points into the
 * caller's buffer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

typedef enum {
        HEP_OK = 0,
        HEP_E_NOT_HEP,    /* no HEP signature */
        HEP_E_TRUNCATED,  /* shorter than its declared length */
        HEP_E_MALFORMED,  /* bad chunk lengths, missing mandatory chunks */
        HEP_E_NOT_SIP,    /* a valid HEP packet carrying something else (RTCP, logs) */
        HEP_E_COMPRESSED, /* the payload is compressed (HEP3 chunk 16): not decoded */
        HEP__MAX
} HepVerdict;

/* HEP3 generic chunk type ids (vendor 0): what hep.c reads, daemon/hep_send.c writes. */
enum {
        HEP3_CHUNK_IP_FAMILY = 1,
        HEP3_CHUNK_IP_PROTO = 2,
        HEP3_CHUNK_IPV4_SRC = 3,
        HEP3_CHUNK_IPV4_DST = 4,
        HEP3_CHUNK_IPV6_SRC = 5,
        HEP3_CHUNK_IPV6_DST = 6,
        HEP3_CHUNK_SRC_PORT = 7,
        HEP3_CHUNK_DST_PORT = 8,
        HEP3_CHUNK_TS_SEC = 9,
        HEP3_CHUNK_TS_USEC = 10,
        HEP3_CHUNK_PROTO_TYPE = 11,
        HEP3_CHUNK_CAPTURE_ID = 12,
        HEP3_CHUNK_AUTH_KEY = 14,
        HEP3_CHUNK_PAYLOAD = 15,
        HEP3_CHUNK_PAYLOAD_COMPRESSED = 16,
        HEP3_CHUNK_CORRELATION_ID = 17,
};

typedef struct {
        int64_t ts_us; /* capture time from the HEP header; 0 when absent */
        Endpoint src, dst;
        Transport transport; /* UDP or TCP as the original packet was (TLS/WS count as TCP) */
        bool encrypted_orig; /* the original was TLS/WSS on the wire (HEP proto or ports) */
        uint32_t capture_id;
        /* HEP3 chunk 14 of vendor 0, the agent's shared secret ("auth key",
         * heplify -hp, captagent capture_password): checked by the pipeline
         * (analysis/hepauth.h), never logged. NULL when absent (always for v1/v2). */
        const uint8_t *auth_key;
        size_t auth_key_len;
        const uint8_t *payload; /* the SIP message */
        size_t payload_len;
        size_t hep_len; /* bytes of input this HEP packet used (for streams) */
        /* HEP3 chunk 11 (1 = SIP, 100 = log, ...; 1 when absent, always for
         * v1/v2) and chunk 17, the correlation id (NULL when absent): what
         * hep_decode_any() reads of packets that carry something else. */
        uint8_t proto_type;
        const uint8_t *correlation_id;
        size_t correlation_id_len;
} HepPacket;

/*
 * What is decoded (layouts in hep.c):
 *  - HEPv3: "HEP3", total length, generic chunks (vendor id ignored, as the
 *    common collectors do). Address, payload and, when present, protocol
 *    type chunks are required; time, ports and capture id are optional.
 *  - HEPv1/v2: the fixed header of Kamailio siptrace / captagent; v2 adds a
 *    time header in the sender's (little-endian) byte order.
 * HEP carries no TLS flag: encrypted_orig is a heuristic, see hep.c.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) in src/dst come out as IPv4
 * (endpoint_unmap_v4()): an agent on a dual-stack socket names the same
 * hosts as one on an IPv4 socket. A second vendor-0 auth key chunk makes
 * the packet HEP_E_MALFORMED (which key would count is anyone's guess).
 * HEPv1/v2 have no total length: over a stream they cannot be framed, so
 * hep_len is the whole input for them.
 */

/* Cheap check of the signature ("HEP3", or a v2 header), without decoding. */
bool hep_looks_like(const uint8_t *data, size_t len);

/* Decode one HEP packet. On HEP_OK *out is filled; otherwise untouched. */
HepVerdict hep_decode(const uint8_t *data, size_t len, HepPacket *out);

/*
 * The same, whatever the HEP3 payload type (proto_type): a log (100, what
 * sipauthmon --hep-send writes), RTCP, ... are HEP_OK too, with their
 * payload as it is. For tests and tools; the pipeline takes SIP only.
 */
HepVerdict hep_decode_any(const uint8_t *data, size_t len, HepPacket *out);

const char *hep_verdict_name(HepVerdict v);

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

typedef struct {
        int64_t ts_us; /* capture time from the HEP header; 0 when absent */
        Endpoint src, dst;
        Transport transport; /* UDP or TCP as the original packet was (TLS/WS count as TCP) */
        bool encrypted_orig; /* the original was TLS/WSS on the wire (HEP proto or ports) */
        uint32_t capture_id;
        /* HEP3 chunk 14 of vendor 0, the agent's shared secret ("auth key",
         * heplify -hs, captagent capture_password): checked by the pipeline
         * (analysis/hepauth.h), never logged. NULL when absent (always for v1/v2). */
        const uint8_t *auth_key;
        size_t auth_key_len;
        const uint8_t *payload; /* the SIP message */
        size_t payload_len;
        size_t hep_len; /* bytes of input this HEP packet used (for streams) */
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

const char *hep_verdict_name(HepVerdict v);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP v2/v3 decoding (parser/hep.c), and the SIP parser on what it yields.
 *
 * Input: one HEP packet as received by the listener or found in UDP.
 * Invariants: a verdict in range; on HEP_OK the payload lies inside the
 * input, and so does the auth key; hep_len is at most the input length
 * and the endpoint families are 0, 4 or 6, never an IPv4-mapped IPv6
 * address; on anything else *out is untouched; hep_looks_like() is true
 * for every packet that decodes.
 */
#include <string.h>

#include "fuzz.h"
#include "hep.h"
#include "sipmsg.h"

static SipParser *parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!parser) {
                parser = sipmsg_parser_new();
                FUZZ_ASSERT(parser);
        }
        bool looks = hep_looks_like(data, size);
        HepPacket h, before;
        memset(&h, 0x5A, sizeof h);
        memcpy(&before, &h, sizeof h);
        HepVerdict v = hep_decode(data, size, &h);
        FUZZ_ASSERT((unsigned)v < HEP__MAX);
        (void)hep_verdict_name(v);
        /* hep_decode_any() takes every payload type: whatever is SIP decodes
         * the same; the correlation id (chunk 17) lies inside the packet. */
        HepPacket any;
        HepVerdict va = hep_decode_any(data, size, &any);
        FUZZ_ASSERT(v != HEP_OK ||
                    (va == HEP_OK && any.payload == h.payload && any.payload_len == h.payload_len &&
                     any.hep_len == h.hep_len && any.ts_us == h.ts_us &&
                     any.capture_id == h.capture_id && any.auth_key == h.auth_key &&
                     endpoint_equal(&any.src, &h.src) && endpoint_equal(&any.dst, &h.dst)));
        if (va == HEP_OK && any.correlation_id) {
                FUZZ_ASSERT(any.correlation_id >= data &&
                            any.correlation_id + any.correlation_id_len <= data + any.hep_len);
                fuzz_touch(any.correlation_id, any.correlation_id_len);
        }
        if (v != HEP_OK) {
                FUZZ_ASSERT(memcmp(&h, &before, sizeof h) == 0);
                return 0;
        }
        FUZZ_ASSERT(looks);
        FUZZ_ASSERT(h.hep_len > 0 && h.hep_len <= size);
        FUZZ_ASSERT(h.payload_len <= size);
        if (h.payload_len) {
                FUZZ_ASSERT(h.payload >= data && h.payload + h.payload_len <= data + size);
                fuzz_touch(h.payload, h.payload_len);
        }
        /* The auth key (chunk 14) lies inside the packet too; a mapped IPv6
         * address never comes out (it is IPv4). */
        FUZZ_ASSERT(h.auth_key || h.auth_key_len == 0);
        if (h.auth_key) {
                FUZZ_ASSERT(h.auth_key >= data && h.auth_key + h.auth_key_len <= data + h.hep_len);
                fuzz_touch(h.auth_key, h.auth_key_len);
        }
        for (int i = 0; i < 2; i++) {
                Endpoint e = i ? h.dst : h.src;
                FUZZ_ASSERT(!endpoint_unmap_v4(&e));
        }
        FUZZ_ASSERT(h.src.family == 0 || h.src.family == 4 || h.src.family == 6);
        FUZZ_ASSERT(h.dst.family == 0 || h.dst.family == 4 || h.dst.family == 6);
        FUZZ_ASSERT(h.transport == TRANSPORT_UDP || h.transport == TRANSPORT_TCP);

        SipMsg m;
        memset(&m, 0, sizeof m);
        if (sipmsg_parse(parser, h.payload, h.payload_len, &m) == SIP_PARSE_OK)
                sipmsg_clear(&m);
        return 0;
}

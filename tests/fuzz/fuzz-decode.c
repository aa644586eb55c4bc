/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Link / IP / UDP / TCP decoding of one frame (parser/decode.c).
 *
 * Input: byte 0 picks the link type (fuzz-linktypes.h), the rest is the
 * captured frame. Besides "no crash, no out-of-bounds read" the target
 * checks the decoder's contract: the payload lies inside the frame, a
 * fragment is reported as one, and decode_ip() on a raw-IP frame agrees
 * with decode_packet().
 */
#include <string.h>

#include "decode.h"
#include "fuzz-linktypes.h"
#include "fuzz.h"

static void check_inside(const DecodedPacket *d, const uint8_t *data, size_t len)
{
        FUZZ_ASSERT(d->payload_len <= len);
        if (d->payload_len) {
                FUZZ_ASSERT(d->payload >= data);
                FUZZ_ASSERT(d->payload + d->payload_len <= data + len);
                fuzz_touch(d->payload, d->payload_len);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        int lt = fuzz_linktype(data[0]);
        const uint8_t *frame = data + 1;
        size_t len = size - 1;

        (void)decode_linktype_name(lt);
        DecodedPacket d;
        memset(&d, 0xA5, sizeof d); /* the "untouched on failure" rule is checked below */
        DecodedPacket before;
        memcpy(&before, &d, sizeof d);
        DecodeVerdict v = decode_packet(lt, frame, len, &d);
        FUZZ_ASSERT((unsigned)v < DECODE__MAX);
        (void)decode_verdict_name(v);
        if (!decode_linktype_supported(lt))
                FUZZ_ASSERT(v == DECODE_E_LINKTYPE);

        if (v == DECODE_OK || v == DECODE_E_FRAGMENT) {
                check_inside(&d, frame, len);
                (void)decode_transport_name(d.transport);
                if (v == DECODE_E_FRAGMENT) {
                        FUZZ_ASSERT(d.ip_fragment);
                        /* Treat the fragment as if it were the whole datagram: the
                         * reassembly path must survive any bytes too. */
                        DecodedPacket r = d;
                        DecodeVerdict rv =
                            decode_ip_payload(d.ip_proto, d.payload, d.payload_len, &r);
                        FUZZ_ASSERT((unsigned)rv < DECODE__MAX);
                        if (rv == DECODE_OK)
                                check_inside(&r, d.payload, d.payload_len);
                } else {
                        FUZZ_ASSERT(d.transport == TRANSPORT_UDP || d.transport == TRANSPORT_TCP);
                        if (d.transport == TRANSPORT_UDP)
                                FUZZ_ASSERT(d.payload_len > 0);
                }
        } else {
                FUZZ_ASSERT(memcmp(&d, &before, sizeof d) == 0);
        }

        /* The same bytes as an IP datagram (tunnels and raw IP start here). */
        DecodedPacket ip;
        DecodeVerdict iv = decode_ip(frame, len, &ip);
        if (iv == DECODE_OK || iv == DECODE_E_FRAGMENT)
                check_inside(&ip, frame, len);
        if (lt == 101) /* LINKTYPE_RAW: the frame is exactly an IP datagram */
                FUZZ_ASSERT(iv == v);
        return 0;
}

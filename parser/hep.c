/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP (Homer Encapsulation Protocol, also "EEP") v1, v2 and v3 decoding.
 *
 * HEP has no RFC; the layouts below follow the HEP3 network protocol
 * specification of the sipcapture project and what Kamailio siptrace,
 * captagent and heplify actually put on the wire.
 *
 * HEPv3 (all integers big-endian):
 *
 *   "HEP3" | total length (16, whole packet) | chunk | chunk | ...
 *   chunk:   vendor id (16) | type id (16) | length (16, header included) | body
 *
 *   type  body                          type  body
 *      1  IP family (u8: 2, 10)            9  timestamp seconds (u32)
 *      2  IP protocol (u8: 6, 17, ...)    10  timestamp microseconds (u32)
 *    3/4  IPv4 source/destination (4)     11  protocol type (u8: 1 = SIP)
 *    5/6  IPv6 source/destination (16)    12  capture agent id (u32)
 *    7/8  source/destination port (u16)   15  payload
 *     14  authentication key              16  compressed payload
 *     17  correlation id
 *
 * HEPv1/v2 (the C structs of Kamailio's sipcapture hep.h):
 *
 *   version (8) | header length (8) | family (8) | protocol (8) |
 *   source port (16 BE) | destination port (16 BE) |
 *   source, destination address (4+4 or 16+16) |
 *   [v2: seconds (32) | microseconds (32) | capture id (16) | padding (16)] |
 *   payload
 *
 * The header length covers the fixed part and the addresses (16 or 40). The
 * v2 time header is a struct of 10 bytes the compiler pads to 12; senders
 * write its fields in host order, which Kamailio fixes to little-endian.
 */
#include "hep.h"

#include "cursor.h"
#include "sipmsg.h"

#include <string.h>

#define HEP3_HEADER_LEN  6
#define HEP_PROTO_SIP    1
#define IPPROTO_NUM_TCP  6
#define IPPROTO_NUM_UDP  17
#define IPPROTO_NUM_IDP  22 /* Kamailio's stand-in for TLS, WS and WSS */
#define IPPROTO_NUM_SCTP 132
#define AF_NUM_INET      2
#define V2_HDR_V4        16 /* fixed header + two IPv4 addresses */
#define V2_HDR_V6        40 /* fixed header + two IPv6 addresses */
#define V2_TIME_PADDED   12
#define V2_TIME_PACKED   10

static bool is_v6_family(uint8_t f)
{
        /* AF_INET6 differs per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30. */
        return f == 10 || f == 24 || f == 28 || f == 30;
}

static bool known_ip_proto(uint8_t p)
{
        return p == IPPROTO_NUM_TCP || p == IPPROTO_NUM_UDP || p == IPPROTO_NUM_IDP ||
               p == IPPROTO_NUM_SCTP;
}

static bool v2_header_plausible(const uint8_t *d, size_t len)
{
        if (len < V2_HDR_V4 || (d[0] != 1 && d[0] != 2) || !known_ip_proto(d[3]))
                return false;
        if (d[1] == V2_HDR_V4)
                return d[2] == AF_NUM_INET;
        return d[1] == V2_HDR_V6 && is_v6_family(d[2]);
}

bool hep_looks_like(const uint8_t *data, size_t len)
{
        if (!data)
                return false;
        if (len >= 4 && memcmp(data, "HEP3", 4) == 0)
                return true;
        return v2_header_plausible(data, len);
}

/*
 * HEP carries no "this was TLS" flag. Kamailio reports TLS, WS and WSS as IP
 * protocol 22 (IDP); other agents say TCP. So: protocol 22 is encrypted
 * unless a port says cleartext WebSocket/SIP (80, 5060); TCP to or from
 * 5061 (SIP over TLS, RFC 3261 §26.2) or 443 (WSS) is encrypted.
 */
static bool guess_encrypted(uint8_t proto, uint16_t sport, uint16_t dport)
{
        if (proto == IPPROTO_NUM_IDP)
                return !(sport == 80 || dport == 80 || sport == 5060 || dport == 5060);
        if (proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_SCTP)
                return sport == 5061 || dport == 5061 || sport == 443 || dport == 443;
        return false;
}

static Transport transport_of(uint8_t proto)
{
        /* HEP frames one message per packet; stream protocols keep their name. */
        return proto == IPPROTO_NUM_UDP ? TRANSPORT_UDP : TRANSPORT_TCP;
}

static void set_ep(Endpoint *e, uint8_t family, const uint8_t *addr, uint16_t port)
{
        memset(e, 0, sizeof *e);
        e->family = family;
        memcpy(e->addr, addr, family == 4 ? 4 : 16);
        e->port = port;
}

/* Fixed body sizes of the generic chunks; 0 = any length. */
static bool chunk_size_ok(uint16_t type, size_t n)
{
        switch (type) {
        case HEP3_CHUNK_IP_FAMILY:
        case HEP3_CHUNK_IP_PROTO:
        case HEP3_CHUNK_PROTO_TYPE:
                return n == 1;
        case HEP3_CHUNK_SRC_PORT:
        case HEP3_CHUNK_DST_PORT:
                return n == 2;
        case HEP3_CHUNK_IPV4_SRC:
        case HEP3_CHUNK_IPV4_DST:
        case HEP3_CHUNK_TS_SEC:
        case HEP3_CHUNK_TS_USEC:
                return n == 4;
        case HEP3_CHUNK_CAPTURE_ID:
                return n == 4 || n == 2; /* 16 bits in early agents */
        case HEP3_CHUNK_IPV6_SRC:
        case HEP3_CHUNK_IPV6_DST:
                return n == 16;
        default:
                return true;
        }
}

/* What the chunks of one HEP v3 packet said, before it is checked whole. */
typedef struct {
        uint8_t ip_proto, proto_type, v6src[16], v6dst[16], v4src[4], v4dst[4];
        bool have_proto, have_v4src, have_v4dst, have_v6src, have_v6dst, have_payload, compressed;
        uint16_t sport, dport;
        uint32_t sec, usec, capture_id;
        const uint8_t *payload, *auth_key, *correlation_id;
        size_t payload_len, auth_key_len, correlation_id_len;
} V3Chunks;

/* The addresses, ports and times. */
static void v3_address_chunk(V3Chunks *k, uint16_t type, Cursor *body)
{
        switch (type) {
        case HEP3_CHUNK_IP_PROTO:
                (void)cur_u8(body, &k->ip_proto);
                k->have_proto = true;
                break;
        case HEP3_CHUNK_IPV4_SRC:
                k->have_v4src = cur_bytes(body, k->v4src, 4);
                break;
        case HEP3_CHUNK_IPV4_DST:
                k->have_v4dst = cur_bytes(body, k->v4dst, 4);
                break;
        case HEP3_CHUNK_IPV6_SRC:
                k->have_v6src = cur_bytes(body, k->v6src, 16);
                break;
        case HEP3_CHUNK_IPV6_DST:
                k->have_v6dst = cur_bytes(body, k->v6dst, 16);
                break;
        case HEP3_CHUNK_SRC_PORT:
                (void)cur_u16be(body, &k->sport);
                break;
        case HEP3_CHUNK_DST_PORT:
                (void)cur_u16be(body, &k->dport);
                break;
        case HEP3_CHUNK_TS_SEC:
                (void)cur_u32be(body, &k->sec);
                break;
        case HEP3_CHUNK_TS_USEC:
                (void)cur_u32be(body, &k->usec);
                break;
        default:
                break;
        }
}

/* One chunk (n bytes of body, sizes already checked); false: malformed. */
static bool v3_chunk(V3Chunks *k, uint16_t vendor, uint16_t type, Cursor *body, size_t n)
{
        switch (type) {
        case HEP3_CHUNK_PROTO_TYPE:
                (void)cur_u8(body, &k->proto_type);
                break;
        case HEP3_CHUNK_CAPTURE_ID:
                if (n == 4) {
                        (void)cur_u32be(body, &k->capture_id);
                } else {
                        uint16_t id16 = 0;
                        (void)cur_u16be(body, &id16);
                        k->capture_id = id16;
                }
                break;
        case HEP3_CHUNK_PAYLOAD:
                k->payload = body->p;
                k->payload_len = n;
                k->have_payload = true;
                break;
        case HEP3_CHUNK_PAYLOAD_COMPRESSED:
                k->compressed = true;
                break;
        case HEP3_CHUNK_AUTH_KEY:
                /* Only the generic chunk: a vendor's type 14 is its own. */
                if (vendor != 0)
                        break;
                if (k->auth_key)
                        return false;
                k->auth_key = body->p;
                k->auth_key_len = n;
                break;
        case HEP3_CHUNK_CORRELATION_ID:
                if (vendor != 0)
                        break;
                k->correlation_id = body->p;
                k->correlation_id_len = n;
                break;
        default:
                /* Addresses, ports, times; the family (implied by the
                 * address chunks) and vendor chunks are not needed. */
                v3_address_chunk(k, type, body);
                break;
        }
        return true;
}

/* The packet the chunks describe, checked whole. */
static HepVerdict v3_packet(const V3Chunks *k, uint16_t total, bool any_type, HepPacket *out)
{
        HepPacket h;
        uint8_t ip_proto = k->have_proto ? k->ip_proto : IPPROTO_NUM_UDP;

        if (k->proto_type != HEP_PROTO_SIP && !any_type)
                return HEP_E_NOT_SIP;
        if (!k->have_payload && k->compressed)
                return HEP_E_COMPRESSED;
        if (!k->have_payload)
                return HEP_E_MALFORMED;
        if (k->payload_len == 0)
                return HEP_E_NOT_SIP; /* keep-alive */

        memset(&h, 0, sizeof h);
        if (k->have_v4src && k->have_v4dst) {
                set_ep(&h.src, 4, k->v4src, k->sport);
                set_ep(&h.dst, 4, k->v4dst, k->dport);
        } else if (k->have_v6src && k->have_v6dst) {
                set_ep(&h.src, 6, k->v6src, k->sport);
                set_ep(&h.dst, 6, k->v6dst, k->dport);
                (void)endpoint_unmap_v4(&h.src);
                (void)endpoint_unmap_v4(&h.dst);
        } else {
                return HEP_E_MALFORMED;
        }
        h.transport = transport_of(ip_proto);
        h.encrypted_orig = guess_encrypted(ip_proto, k->sport, k->dport);
        h.ts_us = k->sec ? (int64_t)k->sec * 1000000 + (int64_t)k->usec : 0;
        h.capture_id = k->capture_id;
        /* An empty chunk is a key of length 0: it matches no configured key. */
        h.auth_key = k->auth_key;
        h.auth_key_len = k->auth_key_len;
        h.payload = k->payload;
        h.payload_len = k->payload_len;
        h.hep_len = total;
        h.proto_type = k->proto_type;
        h.correlation_id = k->correlation_id;
        h.correlation_id_len = k->correlation_id_len;
        *out = h;
        return HEP_OK;
}

/*
 * HEP3 specification §2 (chunk layout) and §3 (generic chunk types).
 * any_type: a payload type other than SIP is decoded as well.
 */
static HepVerdict decode_v3(const uint8_t *data, size_t len, HepPacket *out, bool any_type)
{
        Cursor c = cur_make(data, len);
        uint16_t total;
        V3Chunks k = {.proto_type = HEP_PROTO_SIP};

        if (!cur_skip(&c, 4) || !cur_u16be(&c, &total))
                return HEP_E_TRUNCATED;
        if (total < HEP3_HEADER_LEN)
                return HEP_E_MALFORMED;
        if (total > len)
                return HEP_E_TRUNCATED;
        c = cur_make(data + HEP3_HEADER_LEN, (size_t)total - HEP3_HEADER_LEN);

        /* Bounded: every chunk consumes at least its 6-byte header. */
        while (cur_left(&c) > 0) {
                uint16_t vendor, type, clen;
                Cursor body;
                size_t n;

                if (!cur_u16be(&c, &vendor) || !cur_u16be(&c, &type) || !cur_u16be(&c, &clen))
                        return HEP_E_MALFORMED;
                if (clen < HEP3_HEADER_LEN)
                        return HEP_E_MALFORMED;
                n = (size_t)clen - HEP3_HEADER_LEN;
                body = c;
                if (!cur_clamp(&body, n) || !cur_skip(&c, n))
                        return HEP_E_MALFORMED;
                if (!chunk_size_ok(type, n) || !v3_chunk(&k, vendor, type, &body, n))
                        return HEP_E_MALFORMED;
        }
        return v3_packet(&k, total, any_type, out);
}

/*
 * Length of the v2 time header, given a cursor just past its 10 bytes of
 * fields. The padded 12-byte struct (Kamailio, captagent) is the rule; the
 * packed 10-byte form is taken only when the two bytes that would be padding
 * are capital letters starting a SIP start line (every method and "SIP/2.0"
 * begin so), which zero or stack-garbage padding practically never is.
 */
static size_t v2_time_len(Cursor after_fields)
{
        const uint8_t *p = after_fields.p;
        /* after_fields starts at the padding: the payload of the packed form. */
        size_t n = cur_left(&after_fields);

        if (n >= 2 && p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z' &&
            sipmsg_looks_like_sip(p, n))
                return V2_TIME_PACKED;
        return V2_TIME_PADDED;
}

/* HEPv1/v2: the Kamailio sipcapture hep_hdr/hep_iphdr/hep_timehdr layout. */
static HepVerdict decode_v2(const uint8_t *data, size_t len, HepPacket *out)
{
        Cursor c = cur_make(data, len);
        uint8_t version, hlen, family, proto, src[16], dst[16];
        uint16_t sport, dport;
        uint32_t sec = 0, usec = 0;
        uint16_t capture_id = 0;
        uint8_t fam;
        size_t alen;
        HepPacket h;

        if (!cur_u8(&c, &version) || !cur_u8(&c, &hlen) || !cur_u8(&c, &family) ||
            !cur_u8(&c, &proto) || !cur_u16be(&c, &sport) || !cur_u16be(&c, &dport))
                return HEP_E_TRUNCATED;
        fam = hlen == V2_HDR_V4 ? 4 : 6;
        alen = fam == 4 ? 4 : 16;
        if (!cur_bytes(&c, src, alen) || !cur_bytes(&c, dst, alen))
                return HEP_E_TRUNCATED;
        if (version == 2) {
                Cursor t = c;

                if (!cur_u32le(&t, &sec) || !cur_u32le(&t, &usec) || !cur_u16le(&t, &capture_id))
                        return HEP_E_TRUNCATED;
                if (!cur_skip(&c, v2_time_len(t)))
                        return HEP_E_TRUNCATED;
        }
        if (cur_left(&c) == 0)
                return HEP_E_NOT_SIP;

        memset(&h, 0, sizeof h);
        set_ep(&h.src, fam, src, sport);
        set_ep(&h.dst, fam, dst, dport);
        (void)endpoint_unmap_v4(&h.src);
        (void)endpoint_unmap_v4(&h.dst);
        h.transport = transport_of(proto);
        h.encrypted_orig = guess_encrypted(proto, sport, dport);
        h.ts_us = sec ? (int64_t)sec * 1000000 + (int64_t)usec : 0;
        h.capture_id = capture_id;
        h.payload = c.p;
        h.payload_len = cur_left(&c);
        h.hep_len = len;
        h.proto_type = HEP_PROTO_SIP;
        *out = h;
        return HEP_OK;
}

static HepVerdict decode(const uint8_t *data, size_t len, HepPacket *out, bool any_type)
{
        if (!data || len == 0)
                return HEP_E_NOT_HEP;
        if (len >= 4 && memcmp(data, "HEP3", 4) == 0)
                return decode_v3(data, len, out, any_type);
        if (len < 4 && memcmp(data, "HEP3", len) == 0)
                return HEP_E_TRUNCATED;
        if (v2_header_plausible(data, len))
                return decode_v2(data, len, out);
        /* A v1/v2 header cut before its 16th byte. */
        if ((data[0] == 1 || data[0] == 2) && len < V2_HDR_V4 &&
            (len < 2 || data[1] == V2_HDR_V4 || data[1] == V2_HDR_V6) &&
            (len < 3 || data[2] == AF_NUM_INET || is_v6_family(data[2])) &&
            (len < 4 || known_ip_proto(data[3])))
                return HEP_E_TRUNCATED;
        return HEP_E_NOT_HEP;
}

HepVerdict hep_decode(const uint8_t *data, size_t len, HepPacket *out)
{
        return decode(data, len, out, false);
}

HepVerdict hep_decode_any(const uint8_t *data, size_t len, HepPacket *out)
{
        return decode(data, len, out, true);
}

const char *hep_verdict_name(HepVerdict v)
{
        static const char *const names[HEP__MAX] = {"ok",        "not_hep", "truncated",
                                                    "malformed", "not_sip", "compressed"};
        return (unsigned)v < HEP__MAX ? names[v] : "unknown";
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Link, IP and transport decoding of one captured frame. No allocation, no
 * state: the result points into the caller's buffer.
 *
 * Link types (libpcap DLT/LINKTYPE numbers): Ethernet with stacked 802.1Q /
 * 802.1ad tags, Linux cooked SLL and SLL2, raw IP (101, DLT_RAW 12/14, IPv4
 * 228, IPv6 229), BSD loopback NULL (AF in either byte order) and LOOP.
 * IPv6 extension headers are skipped. Tunnels seen on mirror ports are
 * decapsulated and the innermost datagram is reported: IPv4/IPv6-in-IP
 * (protocol 4 and 41), GRE (protocol 47) carrying IP or Ethernet (0x6558),
 * ERSPAN type I, II and III in GRE, VXLAN (UDP port 4789) and Geneve (UDP
 * port 6081); at most four levels deep. Addresses, ports and the IP-fragment
 * fields are those of the innermost datagram.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

/* Verdicts on one frame; every value but DECODE_OK is a counter. */
typedef enum {
        DECODE_OK = 0,
        DECODE_E_TRUNCATED,     /* caplen shorter than a header or a declared length needs */
        DECODE_E_LINKTYPE,      /* link type we do not decode */
        DECODE_E_NOT_IP,        /* link payload is not IPv4/IPv6 (ARP, LLDP ...) */
        DECODE_E_BAD_IP,        /* bad version, header length, total length, ext header */
        DECODE_E_FRAGMENT,      /* IP fragment: *out IS filled, see decode_packet() */
        DECODE_E_NOT_TRANSPORT, /* neither UDP nor TCP (ICMP, ESP, no next header ...) */
        DECODE_E_BAD_TRANSPORT, /* bad UDP length or TCP data offset */
        DECODE_E_EMPTY,         /* UDP datagram without payload */
        DECODE_E_BAD_TUNNEL,    /* bad GRE/ERSPAN/VXLAN/Geneve header, or nested too deep */
        DECODE__MAX
} DecodeVerdict;

typedef enum {
        TRANSPORT_NONE = 0,
        TRANSPORT_UDP,
        TRANSPORT_TCP,
        TRANSPORT_WS, /* SIP over WebSocket (RFC 7118) on a TCP connection: never decoded
                         from one packet, set for the messages parser/websocket.c frames */
} Transport;

/* A connection: a new source port is a new connection, not a moved client. */
static inline bool decode_transport_is_stream(Transport t)
{
        return t == TRANSPORT_TCP || t == TRANSPORT_WS;
}

/* TCP flag bits as found in tcp_flags (RFC 9293 §3.1). */
#define DECODE_TCP_FIN 0x01
#define DECODE_TCP_SYN 0x02
#define DECODE_TCP_RST 0x04
#define DECODE_TCP_PSH 0x08
#define DECODE_TCP_ACK 0x10

typedef struct {
        Endpoint src, dst;       /* ports are 0 for fragments */
        Transport transport;     /* TRANSPORT_NONE for fragments */
        uint8_t ip_proto;        /* protocol carried by the (innermost) IP datagram */
        uint8_t tcp_flags;       /* TCP only */
        uint32_t tcp_seq;        /* TCP only */
        uint32_t tcp_ack;        /* TCP only: the acknowledgment number */
        bool ip_fragment;        /* the datagram was an IP fragment */
        uint16_t ip_frag_offset; /* bytes, for fragments */
        bool ip_more_fragments;
        uint32_t ip_id;         /* IPv4 id or IPv6 fragment id */
        const uint8_t *payload; /* transport payload (fragment payload for fragments) */
        size_t payload_len;
} DecodedPacket;

/* pcap link types we decode (DLT_* values as libpcap's linktype numbers). */
bool decode_linktype_supported(int linktype);
/* Short human-readable name; never NULL ("unknown" for others). */
const char *decode_linktype_name(int linktype);

/*
 * Decode one frame of the given link type.
 *
 * On DECODE_OK *out is filled. A TCP segment without data is DECODE_OK with
 * payload_len 0 (SYN/FIN/RST matter to stream reassembly).
 *
 * On DECODE_E_FRAGMENT *out is filled too, for IP reassembly: ip_fragment is
 * true, ip_id, ip_frag_offset (bytes), ip_more_fragments, ip_proto and the
 * src/dst addresses are set (ports 0, transport TRANSPORT_NONE), and
 * payload/payload_len is the fragment's IP payload (after the IPv4 header or
 * the IPv6 fragment header). A first fragment (offset 0, more-fragments set)
 * is a fragment too. Reassembled payloads go to decode_ip_payload().
 *
 * On any other verdict *out is left untouched.
 */
DecodeVerdict decode_packet(int linktype, const uint8_t *data, size_t caplen, DecodedPacket *out);

/* Decode starting at an IP header (used by tunnels and raw-IP link types). */
DecodeVerdict decode_ip(const uint8_t *data, size_t len, DecodedPacket *out);

/*
 * Decode a reassembled IP payload of protocol ip_proto (as reported with the
 * fragments). *out must hold the addresses the fragments were reported with
 * (out->src.family selects IPv6 extension header handling); on DECODE_OK the
 * transport fields, ports and payload are filled and ip_fragment is cleared.
 * Same verdicts and out-untouched rule as decode_packet().
 */
DecodeVerdict decode_ip_payload(uint8_t ip_proto, const uint8_t *data, size_t len,
                                DecodedPacket *out);

/* Stable lower-case names ("ok", "truncated", "not_ip" ...) usable as counter names. */
const char *decode_verdict_name(DecodeVerdict v);
/* "udp", "tcp", "ws", "none". */
const char *decode_transport_name(Transport t);

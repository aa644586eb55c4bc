/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Link, IP and transport decoding of one captured frame. No allocation, no
 * state: the result points into the caller's buffer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

/* Verdicts on one frame; every value but DECODE_OK is a counter. */
typedef enum {
        DECODE_OK = 0,
        DECODE_E_TRUNCATED,     /* caplen shorter than a header needs */
        DECODE_E_LINKTYPE,      /* link type we do not decode */
        DECODE_E_NOT_IP,        /* link payload is not IPv4/IPv6 (ARP, LLDP ...) */
        DECODE_E_BAD_IP,        /* bad version, header length, total length */
        DECODE_E_FRAGMENT,      /* IP fragment (reassembly comes later) */
        DECODE_E_NOT_TRANSPORT, /* neither UDP nor TCP (ICMP, ESP, ...) */
        DECODE_E_BAD_TRANSPORT, /* bad UDP length or TCP data offset */
        DECODE_E_EMPTY,         /* no payload (pure TCP ACK, empty datagram) */
        DECODE__MAX
} DecodeVerdict;

typedef enum {
        TRANSPORT_NONE = 0,
        TRANSPORT_UDP,
        TRANSPORT_TCP,
} Transport;

typedef struct {
        Endpoint src, dst;
        Transport transport;
        uint8_t tcp_flags;         /* TCP only */
        uint32_t tcp_seq;          /* TCP only */
        bool ip_fragment;          /* the datagram was an IP fragment */
        uint16_t ip_frag_offset;   /* bytes, for fragments */
        bool ip_more_fragments;
        uint32_t ip_id;            /* IPv4 id or IPv6 fragment id */
        const uint8_t *payload;    /* transport payload (fragment payload for fragments) */
        size_t payload_len;
} DecodedPacket;

/* pcap link types we decode (DLT_* values as libpcap's linktype numbers). */
bool decode_linktype_supported(int linktype);
const char *decode_linktype_name(int linktype);

/*
 * Decode one frame of the given link type. On DECODE_OK *out is filled; on
 * any other verdict *out is left untouched.
 */
DecodeVerdict decode_packet(int linktype, const uint8_t *data, size_t caplen, DecodedPacket *out);

/* Decode starting at an IP header (used by tunnels and raw-IP link types). */
DecodeVerdict decode_ip(const uint8_t *data, size_t len, DecodedPacket *out);

const char *decode_verdict_name(DecodeVerdict v);
const char *transport_name(Transport t);

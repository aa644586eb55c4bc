/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly.
 *
 * Authenticated SIP requests are the largest SIP messages, so over UDP they
 * are the ones that get fragmented: without reassembly exactly the messages
 * a digest diagnosis needs are lost.
 *
 * Fed with the fragments decode_packet() reports (DECODE_E_FRAGMENT), hands
 * back the reassembled IP payload when a datagram is complete; the caller
 * decodes it with decode_ip_payload(). The caller takes what a reassembler
 * completed, here as with TCP streams (tcpstream.h says why). No I/O, no
 * clock: time is the packet timestamp.
 *
 * Everything is bounded: concurrent datagrams, fragments per datagram, bytes
 * per source address and bytes overall. Overlapping fragments drop the whole
 * datagram (RFC 5722 for IPv6; done for IPv4 too, overlaps are the teardrop
 * attack and never legitimate); exact duplicates are ignored. Every drop is
 * a counter.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

typedef struct IpFrag IpFrag;

typedef struct {
        int64_t timeout_us;            /* RFC 791 reassembly timer; 0 = 30 s */
        uint32_t max_datagrams;        /* concurrent incomplete datagrams; 0 = 1024 */
        uint32_t max_frags;            /* fragments per datagram; 0 = 64 */
        uint64_t max_bytes_per_source; /* buffer bytes per source address; 0 = 1 MiB */
        uint64_t max_bytes;            /* buffer bytes overall; 0 = 16 MiB */
        uint64_t hash_seed;            /* the daemon passes a random value (hash flooding) */
} IpFragConfig;

typedef struct {
        uint64_t fragments;   /* fragments fed */
        uint64_t reassembled; /* datagrams completed */
        uint64_t duplicates;  /* exact duplicate fragments, ignored */
        /* datagrams (or fragments) dropped, by reason */
        uint64_t overlaps;       /* overlapping fragments: datagram dropped */
        uint64_t invalid;        /* empty fragment, MF with length not a multiple of 8,
                                    conflicting or exceeded total length: dropped */
        uint64_t too_big;        /* would exceed 65535 bytes: dropped */
        uint64_t too_many_frags; /* more than max_frags fragments: dropped */
        uint64_t timeouts;       /* incomplete when the timer ran out */
        uint64_t evicted;        /* oldest dropped for room (table or global bytes full) */
        uint64_t source_cap;     /* dropped for the per-source byte cap */
        uint64_t nomem;          /* allocation failed: dropped */
        /* gauges */
        uint64_t datagrams; /* incomplete datagrams held now */
        uint64_t bytes;     /* buffer bytes held now */
} IpFragStats;

typedef enum {
        IPFRAG_PENDING = 0, /* kept (or an ignored duplicate); nothing to hand back yet */
        IPFRAG_COMPLETE,    /* *data and *len hold the reassembled IP payload */
        IPFRAG_DROPPED,     /* the fragment (and maybe its datagram) was dropped; counted */
} IpFragVerdict;

IpFrag *ipfrag_new(const IpFragConfig *cfg);
IpFrag *ipfrag_free(IpFrag *f);

/*
 * Feed one fragment (pkt->ip_fragment set, as decode_packet() reports it)
 * captured at ts_us. On IPFRAG_COMPLETE *data and *len are the reassembled IP
 * payload of protocol pkt->ip_proto, owned by the reassembler and valid until
 * the next ipfrag_feed() or ipfrag_expire(); pkt may point into that buffer
 * (a fragment found inside a reassembled tunnel datagram).
 */
IpFragVerdict ipfrag_feed(IpFrag *f, const DecodedPacket *pkt, int64_t ts_us, const uint8_t **data,
                          size_t *len);

/* Drop datagrams whose first fragment is older than the timeout at now_us. */
void ipfrag_expire(IpFrag *f, int64_t now_us);

void ipfrag_get_stats(const IpFrag *f, IpFragStats *out);

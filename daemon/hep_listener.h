/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP collector socket: receives the copies of SIP that Kamailio siptrace,
 * Asterisk res_hep, FreeSWITCH capture-server and heplify send, over UDP (one
 * datagram = one HEP packet) and TCP (a stream of HEPv3 packets framed by
 * their length field), on the same address and port.
 *
 * Who may send: with an allow-list (hep_listener_set_allow()), a UDP
 * datagram or a TCP connection from any other address is dropped before a
 * byte of it is read (the address is the socket's peer, an IPv4-mapped IPv6
 * one counted as IPv4); the shared key is checked by the pipeline, which
 * decodes the packet (analysis/hepauth.h).
 *
 * Bounded: at most HEP_LISTENER_MAX_CONNECTIONS TCP connections, at most
 * HEP_LISTENER_MAX_PER_PEER from one address (a new one closes that peer's
 * stalest), each with a buffer of one maximal HEP packet. A connection is
 * closed when a packet it started is not complete HEP_LISTENER_PACKET_SEC
 * later, when HEP_LISTENER_IDLE_SEC pass without a complete packet (bytes
 * alone do not count), and on bytes that are not HEPv3 (HEPv1/v2 carry no
 * total length and cannot be framed on a stream). When every slot is taken
 * a new connection is not refused: the connection that has gone longest
 * without a complete packet (one that never sent any first) makes room, so
 * stalled connections cannot lock a real agent out. Every refusal and
 * closure is a counter; nothing is logged per packet.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "../analysis/pipeline.h"

#define HEP_LISTENER_MAX_CONNECTIONS 64
#define HEP_LISTENER_MAX_PER_PEER    4
#define HEP_LISTENER_IDLE_SEC        300
#define HEP_LISTENER_PACKET_SEC      10

typedef struct HepListener HepListener;

typedef struct {
        uint64_t packets;     /* HEP packets handed to the callback */
        uint64_t bytes;       /* their bytes */
        uint64_t connections; /* TCP connections accepted */
        uint64_t errors;      /* streams closed on garbage or mid-packet, read errors */
        uint64_t dropped;  /* TCP connections refused or closed by a limit (below, or no memory) */
        uint64_t denied;   /* connections and datagrams from outside the allow-list */
        uint64_t peer_cap; /* connections closed: HEP_LISTENER_MAX_PER_PEER from one address */
        uint64_t evicted;  /* connections closed to make room for a new one */
        uint64_t deadline; /* connections closed: a packet unfinished after its deadline */
        uint64_t idle;     /* connections closed: no complete packet for the idle time */
} HepListenerStats;

/* data: one HEP packet (the listener frames TCP streams itself); a: its arrival
 * time and the address of the socket peer that sent it. */
typedef void (*HepPacketFn)(const uint8_t *data, size_t len, const HepArrival *a, void *userdata);

/*
 * Bind UDP and TCP on addr_port: "[::1]:9060", "127.0.0.1:9060", ":9060"
 * (any address, IPv6 and IPv4 when the host has IPv6). Port 0 picks a free
 * port, the same for both (see hep_listener_port()). Numeric addresses only.
 * Returns 0, or a negative errno with a message in err.
 */
int hep_listener_open(const char *addr_port, HepListener **out, char *err, size_t errlen);

/* Only these peers may send (auth->n_allow == 0, the default: anyone). The
 * list is copied; the key is not used here. */
void hep_listener_set_allow(HepListener *l, const HepAuthConfig *auth);

/* The socket is bound to a loopback address (127.0.0.0/8, ::1): only local
 * processes can reach it. */
bool hep_listener_is_loopback(const HepListener *l);

/* Add the sockets (and an idle sweep timer) to e; fn gets every packet. */
int hep_listener_attach(HepListener *l, sd_event *e, HepPacketFn fn, void *userdata);

/* NULL-tolerant; closes every socket and connection. Returns NULL. */
HepListener *hep_listener_free(HepListener *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(HepListener *, hep_listener_free);

void hep_listener_get_stats(const HepListener *l, HepListenerStats *out);

/* The bound port (useful after port 0). */
uint16_t hep_listener_port(const HepListener *l);

/* Tests: close TCP connections without a complete packet for longer than usec
 * (default HEP_LISTENER_IDLE_SEC). */
void hep_listener_set_idle_timeout(HepListener *l, uint64_t usec);
/* Tests: close TCP connections whose current packet started longer than usec
 * ago (default HEP_LISTENER_PACKET_SEC). */
void hep_listener_set_packet_timeout(HepListener *l, uint64_t usec);

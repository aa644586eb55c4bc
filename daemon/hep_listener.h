/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP collector socket: receives the copies of SIP that Kamailio siptrace,
 * Asterisk res_hep, FreeSWITCH capture-server and heplify send, over UDP (one
 * datagram = one HEP packet) and TCP (a stream of HEPv3 packets framed by
 * their length field), on the same address and port.
 *
 * Bounded: at most HEP_LISTENER_MAX_CONNECTIONS TCP connections, each with a
 * buffer of one maximal HEP packet, closed after HEP_LISTENER_IDLE_SEC without
 * data or on bytes that are not HEPv3 (HEPv1/v2 carry no total length and
 * cannot be framed on a stream). Every refusal is a counter; nothing is
 * logged per packet.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define HEP_LISTENER_MAX_CONNECTIONS 64
#define HEP_LISTENER_IDLE_SEC        300

typedef struct HepListener HepListener;

typedef struct {
        uint64_t packets;     /* HEP packets handed to the callback */
        uint64_t bytes;       /* their bytes */
        uint64_t connections; /* TCP connections accepted */
        uint64_t errors;      /* streams closed on garbage or mid-packet, read errors */
        uint64_t dropped;     /* connections refused (limit) or closed when idle */
} HepListenerStats;

/* data: one HEP packet (the listener frames TCP streams itself); ts_us: arrival time. */
typedef void (*HepPacketFn)(const uint8_t *data, size_t len, int64_t ts_us, void *userdata);

/*
 * Bind UDP and TCP on addr_port: "[::1]:9060", "127.0.0.1:9060", ":9060"
 * (any address, IPv6 and IPv4 when the host has IPv6). Port 0 picks a free
 * port, the same for both (see hep_listener_port()). Numeric addresses only.
 * Returns 0, or a negative errno with a message in err.
 */
int hep_listener_open(const char *addr_port, HepListener **out, char *err, size_t errlen);

/* Add the sockets (and an idle sweep timer) to e; fn gets every packet. */
int hep_listener_attach(HepListener *l, sd_event *e, HepPacketFn fn, void *userdata);

/* NULL-tolerant; closes every socket and connection. Returns NULL. */
HepListener *hep_listener_free(HepListener *l);

void hep_listener_get_stats(const HepListener *l, HepListenerStats *out);

/* The bound port (useful after port 0). */
uint16_t hep_listener_port(const HepListener *l);

/* Tests: close TCP connections idle for longer than usec (default HEP_LISTENER_IDLE_SEC). */
void hep_listener_set_idle_timeout(HepListener *l, uint64_t usec);

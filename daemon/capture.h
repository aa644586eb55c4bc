/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libpcap wrapper: a capture file (pcap or pcapng, "-" = stdin) or a live
 * interface ("any" included). open / next packet / stats / close, with no
 * global state, so the loop can later move into a capture thread that only
 * copies packets into a ring. capture_break() is safe to call from another
 * thread or from a signal handler.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct pcap;
struct bpf_program;

typedef struct Capture Capture;

#define CAPTURE_SNAPLEN 262144
/* The kernel's packet ring. In immediate mode libpcap uses TPACKET_V2, one
 * fixed frame per packet, and on an interface with offloads (veth, most
 * NICs) a frame is sized for 64 KiB: 64 MiB held only ~512 packets, lost
 * whenever the capture thread waited a few ms for a CPU. TPACKET_V3 (not
 * immediate mode) packs packets into 256 KiB blocks by their real size:
 * 64 MiB hold ~100k SIP packets (bench/README.md "Live capture and more
 * cores"). A block that is not full is handed over after CAPTURE_BLOCK_MS,
 * which bounds the latency this adds at low rates. */
#define CAPTURE_BUFFER_SIZE (64 * 1024 * 1024)
#define CAPTURE_BLOCK_MS    5

/*
 * Used for live capture when -f is not given: SIP ports, plus IP fragments so
 * that non-first fragments (which carry no UDP header) are kept for
 * reassembly. On Ethernet the same expression is repeated behind one and two
 * VLAN tags (802.1Q, QinQ).
 */
#define CAPTURE_FRAGMENT_CLAUSES " or (ip and ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)"
#define CAPTURE_DEFAULT_FILTER                                                                     \
        "((udp or tcp) and (port 5060 or port 5080 or port 5061))"                                 \
        " or (tcp and (port 80 or port 8080 or port 8088 or port 5066))" CAPTURE_FRAGMENT_CLAUSES

typedef struct {
        int64_t ts_us;       /* capture time, µs since the epoch */
        const uint8_t *data; /* valid until the next capture_next() or capture_close() */
        size_t caplen;
        size_t len; /* length on the wire */
} CapturePacket;

typedef struct {
        uint64_t received;     /* packets that passed the filter */
        uint64_t kernel_drops; /* no room in the kernel buffer */
        uint64_t if_drops;     /* dropped by the interface or its driver */
} CaptureStats;

typedef enum {
        CAPTURE_AGAIN = 0,  /* no packet within the timeout, or interrupted: ask again */
        CAPTURE_PACKET = 1, /* *pkt is filled */
        CAPTURE_END = 2,    /* end of the file, or capture_break() */
} CaptureResult;

/*
 * Open a capture file. filter: NULL or "" = analyse every packet (a capture
 * file is analysed whole by default). Fails with a message in err for a
 * missing or unreadable file, an unknown format, a link type the decoder
 * does not know, or a filter that does not compile.
 */
int capture_open_file(Capture **out, const char *path, const char *filter, char *err, size_t n);

/*
 * Open a live capture. filter: NULL = CAPTURE_DEFAULT_FILTER, "" = none.
 * On success capture_warning() may hold a non-fatal activation warning.
 */
int capture_open_live(Capture **out, const char *iface, const char *filter, char *err, size_t n);

/*
 * Open a live capture with the default filter built for sip_ports (UDP and
 * TCP) and ws_ports (TCP: SIP over WebSocket), each the normalised list
 * options_parse_ports() makes, "5060,5080,5100-5110"; NULL = the ports of
 * CAPTURE_DEFAULT_FILTER; ws_ports "" = no WebSocket clause), with the
 * fragment and VLAN clauses.
 */
int capture_open_live_ports(Capture **out, const char *iface, const char *sip_ports,
                            const char *ws_ports, char *err, size_t n);

/*
 * The default filter for sip_ports and ws_ports into buf: CAPTURE_DEFAULT_FILTER
 * with its port clauses replaced. -EINVAL for a malformed list, -ENOBUFS when
 * buf is too small (CAPTURE_FILTER_MAX always suffices for lists options accepts).
 */
#define CAPTURE_FILTER_MAX 8192
int capture_default_filter(const char *sip_ports, const char *ws_ports, char *buf, size_t n);

Capture *capture_close(Capture *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Capture *, capture_close);

/*
 * Next packet. Returns a CaptureResult, or a negative errno with the message
 * in capture_error() (a truncated file after its last whole packet: -EIO).
 * A live capture waits at most timeout_ms (< 0: no limit) for a packet.
 */
int capture_next(Capture *c, CapturePacket *pkt, int timeout_ms);

/* Make capture_next() return CAPTURE_END as soon as possible. */
void capture_break(Capture *c);

/* Kernel counters of a live capture; -EOPNOTSUPP for a file. */
int capture_get_stats(Capture *c, CaptureStats *out);

int capture_linktype(const Capture *c); /* pcap_datalink() value */
bool capture_is_live(const Capture *c);
const char *capture_filter(const Capture *c);  /* the filter in effect, NULL = none */
const char *capture_warning(const Capture *c); /* activation warning, NULL = none */
const char *capture_error(const Capture *c);   /* message of the last failure */
/* A file: bytes taken from it so far (compressed ones for a compressed file),
 * and its size (0 when unknown: stdin, a pipe). 0 for a live capture. */
uint64_t capture_bytes_read(const Capture *c);
uint64_t capture_bytes_total(const Capture *c);

/* "EN10MB (Ethernet)" for a link type; buf >= 64. */
const char *capture_linktype_describe(int linktype, char *buf, size_t n);

/*
 * Compile filter for p's link type into prog (pcap_freecode() it). With
 * is_default, the VLAN-tagged forms are added where the link type has VLAN
 * tags. Exposed for tests (pcap_open_dead()).
 */
int capture_compile_filter(struct pcap *p, const char *filter, bool is_default,
                           struct bpf_program *prog, char *err, size_t n);

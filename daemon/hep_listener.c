/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP listener: UDP and TCP sockets on one address and port, driven by the
 * sd-event loop of the analysis thread.
 *
 * UDP: recvmmsg() in batches; each datagram is one HEP packet (v1, v2 or v3)
 * and goes to the callback as it is: the HEP decoder judges it and the
 * pipeline counts its verdict.
 *
 * TCP: HEPv3 over a stream is framed by the total length in bytes 4-5 of the
 * "HEP3" header. A connection keeps at most one maximal packet (65535 bytes)
 * buffered; anything that does not start with "HEP3" where a packet must
 * start, or a length below the header size, closes the connection (counted).
 *
 *   [HEP3|len|chunks....][HEP3|len|chu]  <- recv
 *    ^-- one packet out   ^-- kept until len bytes are there
 *
 * Two clocks per connection (CLOCK_MONOTONIC): last_us, its accept or its
 * last complete packet, for the idle limit and for choosing whom to evict;
 * pkt_start_us, the arrival of the first byte of the packet still buffered,
 * for the packet deadline. A byte now and then moves neither: a peer that
 * trickles bytes is closed at the deadline, one that sends nothing at the
 * idle limit.
 */
#include "hep_listener.h"

#include "../analysis/hepauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"

#define HEP_MAX_PACKET   65535
#define HEP3_HEADER_LEN  6
#define UDP_BATCH        8
#define UDP_BATCHES      16 /* per wake-up: then let other sources run */
#define SWEEP_USEC       (5 * 1000000ULL)
#define UDP_RCVBUF_BYTES (4 * 1024 * 1024)

typedef struct Conn Conn;
struct Conn {
        HepListener *l;
        int fd;
        sd_event_source *src;
        Endpoint peer;         /* accept()'s address, IPv4-mapped unmapped */
        uint64_t last_us;      /* CLOCK_MONOTONIC of accept or the last complete packet */
        uint64_t pkt_start_us; /* CLOCK_MONOTONIC of the first byte buffered (have > 0) */
        uint64_t packets;      /* complete packets */
        uint64_t serial;       /* accept order: the older of two equally stale goes */
        size_t have;
        uint8_t buf[HEP_MAX_PACKET];
        Conn *prev, *next;
};

struct HepListener {
        int udp_fd, tcp_fd;
        uint16_t port;
        sd_event *event;
        sd_event_source *udp_src, *tcp_src, *sweep_src;
        HepPacketFn fn;
        void *userdata;
        Conn *conns;
        unsigned nconns;
        uint64_t idle_usec, packet_usec;
        uint64_t accepted; /* serial of the next connection */
        bool loopback;
        HepAuthConfig allow; /* the allow-list only; key_len stays 0 */
        HepListenerStats stats;
        uint8_t (*udp_bufs)[HEP_MAX_PACKET];
};

static uint64_t mono_us(void)
{
        return (uint64_t)daemon_clock_us(CLOCK_MONOTONIC);
}

static int64_t arrival_us(const HepListener *l)
{
        uint64_t now = 0;

        /* The loop's cached time of this iteration: cheap and the same for a batch. */
        if (l->event && sd_event_now(l->event, CLOCK_REALTIME, &now) >= 0)
                return (int64_t)now;
        return daemon_clock_us(CLOCK_REALTIME);
}

/* A socket address as an Endpoint; an IPv4-mapped IPv6 address becomes IPv4. */
static void endpoint_of(const struct sockaddr_storage *ss, Endpoint *e)
{
        memset(e, 0, sizeof *e);
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
                e->family = 4;
                memcpy(e->addr, &a->sin_addr, 4);
                e->port = ntohs(a->sin_port);
        } else if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
                e->family = 6;
                memcpy(e->addr, &a->sin6_addr, 16);
                e->port = ntohs(a->sin6_port);
                (void)endpoint_unmap_v4(e);
        }
}

static bool peer_allowed(const HepListener *l, const Endpoint *peer)
{
        return l->allow.n_allow == 0 || hepauth_allowed(&l->allow, peer);
}

/* ----------------------------------------------------------- address parsing */

/* Decimal port, 0-65535, digits only. */
static bool parse_port(const char *s, uint16_t *out)
{
        unsigned v = 0;

        if (*s == '\0')
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                v = v * 10 + (unsigned)(*s - '0');
                if (v > 65535)
                        return false;
        }
        *out = (uint16_t)v;
        return true;
}

/* "[v6]:port", "v4:port", ":port", "*:port" -> sockaddr (family AF_UNSPEC = any). */
static int parse_addr_port(const char *s, struct sockaddr_storage *ss, socklen_t *sl, bool *any)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon;
        uint16_t port;
        size_t hl;

        memset(ss, 0, sizeof *ss);
        *any = false;
        if (!s)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                hl = (size_t)(close - s - 1);
                colon = close + 1;
                if (hl == 0 || hl >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, hl);
                host[hl] = '\0';
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                hl = (size_t)(colon - s);
                if (hl >= sizeof host)
                        return -EINVAL;
                memcpy(host, s, hl);
                host[hl] = '\0';
                if (memchr(host, ':', hl))
                        return -EINVAL; /* bare IPv6 needs brackets */
        }
        if (!parse_port(colon + 1, &port))
                return -EINVAL;
        if (host[0] == '\0' || strcmp(host, "*") == 0) {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
                *any = true;
                a6->sin6_family = AF_INET6;
                a6->sin6_addr = in6addr_any;
                a6->sin6_port = htons(port);
                *sl = sizeof *a6;
                return 0;
        }
        if (s[0] == '[') {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
                if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
                        return -EINVAL;
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons(port);
                *sl = sizeof *a6;
                return 0;
        }
        {
                struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
                if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
                        return -EINVAL;
                a4->sin_family = AF_INET;
                a4->sin_port = htons(port);
                *sl = sizeof *a4;
                return 0;
        }
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
        if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
        else
                ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static int open_socket(const struct sockaddr_storage *ss, socklen_t sl, bool any, int type)
{
        int fd = socket(ss->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1, zero = 0;

        if (fd < 0)
                return -errno;
        if (type == SOCK_STREAM)
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (any && ss->ss_family == AF_INET6)
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (type == SOCK_DGRAM) {
                int rcv = UDP_RCVBUF_BYTES;
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        }
        if (bind(fd, (const struct sockaddr *)ss, sl) < 0 ||
            (type == SOCK_STREAM && listen(fd, 64) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static uint16_t bound_port(int fd)
{
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;

        if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
                return 0;
        if (ss.ss_family == AF_INET6)
                return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Bind UDP then TCP on the same port; with port 0, retry while the kernel's
 * pick for UDP is taken for TCP. */
static int bind_pair(struct sockaddr_storage *ss, socklen_t sl, bool any, HepListener *l,
                     const char **what)
{
        bool pick = (ss->ss_family == AF_INET6 ? ((struct sockaddr_in6 *)ss)->sin6_port
                                               : ((struct sockaddr_in *)ss)->sin_port) == 0;

        for (int attempt = 0; attempt < 16; attempt++) {
                int u, t;

                if (pick)
                        set_port(ss, 0);
                u = open_socket(ss, sl, any, SOCK_DGRAM);
                if (u < 0) {
                        *what = "UDP";
                        return u;
                }
                set_port(ss, bound_port(u));
                t = open_socket(ss, sl, any, SOCK_STREAM);
                if (t >= 0) {
                        l->udp_fd = u;
                        l->tcp_fd = t;
                        l->port = bound_port(u);
                        return 0;
                }
                close(u);
                if (!pick || t != -EADDRINUSE) {
                        *what = "TCP";
                        return t;
                }
        }
        *what = "TCP";
        return -EADDRINUSE;
}

int hep_listener_open(const char *addr_port, HepListener **out, char *err, size_t errlen)
{
        struct sockaddr_storage ss;
        socklen_t sl = 0;
        bool any;
        const char *what = "";
        _cleanup_(hep_listener_freep) HepListener *l = NULL;
        int r;

        r = parse_addr_port(addr_port, &ss, &sl, &any);
        if (r < 0)
                return error_set(err, errlen, r,
                                 "bad HEP listen address (want IPV4:PORT, [IPV6]:PORT or :PORT)");
        l = calloc(1, sizeof *l);
        if (!l)
                return error_set(err, errlen, -ENOMEM, "out of memory");
        l->udp_fd = l->tcp_fd = -1;
        l->idle_usec = HEP_LISTENER_IDLE_SEC * 1000000ULL;
        l->packet_usec = HEP_LISTENER_PACKET_SEC * 1000000ULL;
        if (!any) {
                Endpoint e;

                endpoint_of(&ss, &e);
                l->loopback = (e.family == 4 && e.addr[0] == 127) ||
                              (e.family == 6 && memcmp(e.addr, &in6addr_loopback, 16) == 0);
        }
        l->udp_bufs = calloc(UDP_BATCH, sizeof *l->udp_bufs);
        if (!l->udp_bufs)
                return error_set(err, errlen, -ENOMEM, "out of memory");
        r = bind_pair(&ss, sl, any, l, &what);
        if (r < 0 && any && (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
                /* No IPv6 on this host: any IPv4 address. */
                struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
                uint16_t port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
                memset(&ss, 0, sizeof ss);
                a4->sin_family = AF_INET;
                a4->sin_addr.s_addr = htonl(INADDR_ANY);
                a4->sin_port = htons(port);
                r = bind_pair(&ss, sizeof *a4, false, l, &what);
        }
        if (r < 0)
                return error_set(err, errlen, r, "cannot listen for HEP on %s: %s bind: %s",
                                 addr_port, what, strerror(-r));
        *out = TAKE_PTR(l);
        return 0;
}

/* -------------------------------------------------------------- connections */

static void conn_close(Conn *c)
{
        HepListener *l = c->l;

        if (c->prev)
                c->prev->next = c->next;
        else
                l->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        l->nconns--;
        sd_event_source_disable_unref(c->src);
        close(c->fd);
        free(c);
}

/*
 * Hand out every complete packet at the front of the buffer; *completed:
 * how many. false: garbage.
 */
static bool conn_frame(Conn *c, int64_t ts_us, uint64_t now, unsigned *completed)
{
        HepListener *l = c->l;
        HepArrival a = {.ts_us = ts_us, .peer = c->peer};
        size_t off = 0;
        bool ok = true;

        *completed = 0;
        while (c->have - off >= 4) {
                const uint8_t *p = c->buf + off;
                size_t total;

                if (memcmp(p, "HEP3", 4) != 0) {
                        ok = false;
                        break;
                }
                if (c->have - off < HEP3_HEADER_LEN)
                        break;
                total = (size_t)p[4] << 8 | p[5];
                if (total < HEP3_HEADER_LEN) {
                        ok = false;
                        break;
                }
                if (c->have - off < total)
                        break;
                l->stats.packets++;
                l->stats.bytes += total;
                c->packets++;
                c->last_us = now; /* only a whole packet shows the peer is alive */
                (*completed)++;
                if (l->fn)
                        l->fn(p, total, &a, l->userdata);
                off += total;
        }
        if (ok && c->have - off > 0 && c->have - off < 4 &&
            memcmp(c->buf + off, "HEP3", c->have - off) != 0)
                ok = false;
        if (off > 0) {
                memmove(c->buf, c->buf + off, c->have - off);
                c->have -= off;
        }
        return ok;
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Conn *c = userdata;
        HepListener *l = c->l;
        size_t had = c->have;
        unsigned completed;
        uint64_t now;
        ssize_t n;

        (void)s;
        (void)revents;
        n = recv(fd, c->buf + c->have, sizeof c->buf - c->have, 0);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                l->stats.errors++;
                conn_close(c);
                return 0;
        }
        if (n == 0) {
                if (c->have > 0)
                        l->stats.errors++; /* the peer stopped mid-packet */
                conn_close(c);
                return 0;
        }
        c->have += (size_t)n;
        now = mono_us();
        if (!conn_frame(c, arrival_us(l), now, &completed)) {
                l->stats.errors++;
                conn_close(c);
                return 0;
        }
        /* What is left is the start of a packet: its deadline runs from the
         * first of its bytes, not from the latest. */
        if (c->have == 0)
                c->pkt_start_us = 0;
        else if (completed > 0 || had == 0)
                c->pkt_start_us = now;
        return 0;
}

/* a is a better victim than b: never completed a packet where b did, or
 * went longer without one. */
static bool staler(const Conn *a, const Conn *b)
{
        if ((a->packets == 0) != (b->packets == 0))
                return a->packets == 0;
        if (a->last_us != b->last_us)
                return a->last_us < b->last_us;
        return a->serial < b->serial;
}

/*
 * Room for one more connection from peer: at HEP_LISTENER_MAX_PER_PEER the
 * peer's own stalest connection goes (a peer can only crowd out itself);
 * with every slot taken, the stalest of all. A new connection is never the
 * one refused: stalled or trickling connections, which stay the stalest,
 * cannot keep a real agent out.
 */
static void make_room(HepListener *l, const Endpoint *peer)
{
        Conn *oldest = NULL, *oldest_of_peer = NULL;
        unsigned of_peer = 0;

        for (Conn *c = l->conns; c; c = c->next) {
                if (!oldest || staler(c, oldest))
                        oldest = c;
                if (endpoint_addr_equal(&c->peer, peer)) {
                        of_peer++;
                        if (!oldest_of_peer || staler(c, oldest_of_peer))
                                oldest_of_peer = c;
                }
        }
        if (of_peer >= HEP_LISTENER_MAX_PER_PEER) {
                l->stats.peer_cap++;
                l->stats.dropped++;
                conn_close(oldest_of_peer);
        } else if (l->nconns >= HEP_LISTENER_MAX_CONNECTIONS && oldest) {
                l->stats.evicted++;
                l->stats.dropped++;
                conn_close(oldest);
        }
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        HepListener *l = userdata;

        (void)s;
        (void)revents;
        /* Bounded per wake-up; level-triggered, so the rest comes next time. */
        for (int i = 0; i < 16; i++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
                Endpoint peer;
                Conn *c;

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                l->stats.errors++;
                        return 0;
                }
                endpoint_of(&ss, &peer);
                if (!peer_allowed(l, &peer)) {
                        l->stats.denied++;
                        l->stats.dropped++;
                        close(cfd);
                        continue;
                }
                make_room(l, &peer);
                c = malloc(sizeof *c);
                if (!c) {
                        l->stats.dropped++;
                        close(cfd);
                        continue;
                }
                c->l = l;
                c->fd = cfd;
                c->peer = peer;
                c->have = 0;
                c->packets = 0;
                c->serial = l->accepted++;
                c->pkt_start_us = 0;
                c->src = NULL;
                c->last_us = mono_us();
                if (sd_event_add_io(l->event, &c->src, cfd, EPOLLIN, on_conn, c) < 0) {
                        l->stats.dropped++;
                        close(cfd);
                        free(c);
                        continue;
                }
                c->prev = NULL;
                c->next = l->conns;
                if (l->conns)
                        l->conns->prev = c;
                l->conns = c;
                l->nconns++;
                l->stats.connections++;
        }
        return 0;
}

/* How often the limits are looked at: a fraction of the shortest of them. */
static uint64_t sweep_period(const HepListener *l)
{
        uint64_t period = SWEEP_USEC;

        if (l->idle_usec / 2 < period)
                period = l->idle_usec / 2;
        if (l->packet_usec / 2 < period)
                period = l->packet_usec / 2;
        return period < 10000 ? 10000 : period;
}

static void rearm_sweep(HepListener *l)
{
        uint64_t t = 0;

        if (!l->sweep_src)
                return;
        (void)sd_event_now(l->event, CLOCK_MONOTONIC, &t);
        (void)sd_event_source_set_time(l->sweep_src, t + sweep_period(l));
        (void)sd_event_source_set_enabled(l->sweep_src, SD_EVENT_ON);
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata)
{
        HepListener *l = userdata;
        uint64_t now = mono_us();
        Conn *c = l->conns;

        (void)s;
        (void)usec;
        while (c) {
                Conn *next = c->next;
                if (c->have > 0 && now - c->pkt_start_us >= l->packet_usec) {
                        l->stats.deadline++;
                        l->stats.dropped++;
                        conn_close(c);
                } else if (now - c->last_us >= l->idle_usec) {
                        l->stats.idle++;
                        l->stats.dropped++;
                        conn_close(c);
                }
                c = next;
        }
        rearm_sweep(l);
        return 0;
}

/* ---------------------------------------------------------------------- UDP */

static int on_udp(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        HepListener *l = userdata;
        struct mmsghdr msgs[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        struct sockaddr_storage names[UDP_BATCH];
        int64_t ts = arrival_us(l);

        (void)s;
        (void)revents;
        for (int batch = 0; batch < UDP_BATCHES; batch++) {
                int n;

                memset(msgs, 0, sizeof msgs);
                for (int i = 0; i < UDP_BATCH; i++) {
                        iov[i].iov_base = l->udp_bufs[i];
                        iov[i].iov_len = HEP_MAX_PACKET;
                        msgs[i].msg_hdr.msg_iov = &iov[i];
                        msgs[i].msg_hdr.msg_iovlen = 1;
                        msgs[i].msg_hdr.msg_name = &names[i];
                        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
                }
                n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                l->stats.errors++;
                        return 0;
                }
                for (int i = 0; i < n; i++) {
                        size_t len = msgs[i].msg_len;
                        HepArrival a = {.ts_us = ts};

                        endpoint_of(&names[i], &a.peer);
                        if (!peer_allowed(l, &a.peer)) {
                                l->stats.denied++;
                                continue;
                        }
                        if (len == 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
                                l->stats.errors++;
                                continue;
                        }
                        l->stats.packets++;
                        l->stats.bytes += len;
                        if (l->fn)
                                l->fn(l->udp_bufs[i], len, &a, l->userdata);
                }
                if (n < UDP_BATCH)
                        return 0;
        }
        return 0;
}

/* ------------------------------------------------------------------ lifecycle */

int hep_listener_attach(HepListener *l, sd_event *e, HepPacketFn fn, void *userdata)
{
        int r;

        if (!l || !e || l->event)
                return -EINVAL;
        l->event = sd_event_ref(e);
        l->fn = fn;
        l->userdata = userdata;
        r = sd_event_add_io(e, &l->udp_src, l->udp_fd, EPOLLIN, on_udp, l);
        if (r >= 0)
                r = sd_event_add_io(e, &l->tcp_src, l->tcp_fd, EPOLLIN, on_accept, l);
        if (r >= 0) {
                uint64_t now = 0;
                (void)sd_event_now(e, CLOCK_MONOTONIC, &now);
                r = sd_event_add_time(e, &l->sweep_src, CLOCK_MONOTONIC, now + sweep_period(l), 0,
                                      on_sweep, l);
        }
        return r < 0 ? r : 0;
}

HepListener *hep_listener_free(HepListener *l)
{
        if (!l)
                return NULL;
        while (l->conns)
                conn_close(l->conns);
        l->udp_src = sd_event_source_disable_unref(l->udp_src);
        l->tcp_src = sd_event_source_disable_unref(l->tcp_src);
        l->sweep_src = sd_event_source_disable_unref(l->sweep_src);
        if (l->udp_fd >= 0)
                close(l->udp_fd);
        if (l->tcp_fd >= 0)
                close(l->tcp_fd);
        sd_event_unref(l->event);
        free(l->udp_bufs);
        free(l);
        return NULL;
}

void hep_listener_get_stats(const HepListener *l, HepListenerStats *out)
{
        *out = l ? l->stats : (HepListenerStats){0};
}

uint16_t hep_listener_port(const HepListener *l)
{
        return l ? l->port : 0;
}

void hep_listener_set_idle_timeout(HepListener *l, uint64_t usec)
{
        if (!l)
                return;
        l->idle_usec = usec ? usec : 1;
        rearm_sweep(l);
}

void hep_listener_set_packet_timeout(HepListener *l, uint64_t usec)
{
        if (!l)
                return;
        l->packet_usec = usec ? usec : 1;
        rearm_sweep(l);
}

void hep_listener_set_allow(HepListener *l, const HepAuthConfig *auth)
{
        if (!l)
                return;
        memset(&l->allow, 0, sizeof l->allow);
        if (!auth)
                return;
        memcpy(l->allow.allow, auth->allow, sizeof l->allow.allow);
        l->allow.n_allow = auth->n_allow;
}

bool hep_listener_is_loopback(const HepListener *l)
{
        return l && l->loopback;
}

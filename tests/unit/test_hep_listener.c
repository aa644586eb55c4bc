/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Integration test of daemon/hep_listener.c on loopback: real UDP and TCP
 * sockets, a real sd-event loop. HEP packets are sent whole, split byte by
 * byte across segments, and coalesced; the callback must see each exactly
 * once, intact and in order, and the counters must say what happened.
 * Garbage, half packets, the connection limit and the idle timeout close
 * connections and are counted.
 *
 * Who may send (issue 13): the allow-list is checked against the socket's
 * peer (UDP and TCP, IPv4 and IPv4-mapped on a dual-stack socket) before a
 * byte is handed on; the auth key, through a real pipeline, drops packets
 * without it. Stalled TCP connections (64 of them, from one address or
 * many) cannot keep a real agent out; a packet must be finished within its
 * deadline; single bytes do not reset the idle timer. Several loopback
 * addresses (127.0.0.0/8) stand for several peers.
 */
#include "hep_listener.h"

#include "hep_build.h"
#include "check.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ what arrived */

#define MAX_GOT 512
static struct {
        uint8_t *data;
        size_t len;
        int64_t ts;
        Endpoint peer;
} got[MAX_GOT];
static unsigned ngot;
static Pipeline *feed; /* when set, every packet goes on to it, as in the daemon */

static void on_packet(const uint8_t *data, size_t len, const HepArrival *a, void *userdata)
{
        int64_t ts_us = a->ts_us;

        (void)userdata;
        if (feed)
                pipeline_hep(feed, a, data, len);
        if (ngot >= MAX_GOT)
                return;
        got[ngot].data = malloc(len);
        if (!got[ngot].data)
                abort();
        memcpy(got[ngot].data, data, len);
        got[ngot].len = len;
        got[ngot].ts = ts_us;
        got[ngot].peer = a->peer;
        ngot++;
}

static void reset_got(void)
{
        for (unsigned i = 0; i < ngot; i++)
                free(got[i].data);
        ngot = 0;
}

/* --------------------------------------------------------------- packets */

/* A HEPv3 packet of exactly len bytes (>= 6 + 6): one payload chunk whose
 * bytes encode seq, so that any mix-up shows. */
static size_t make_hep3(uint8_t *b, size_t len, unsigned seq)
{
        size_t body = len - 12;
        memcpy(b, "HEP3", 4);
        b[4] = (uint8_t)(len >> 8);
        b[5] = (uint8_t)len;
        b[6] = 0;
        b[7] = 0;
        b[8] = 0;
        b[9] = 15;
        b[10] = (uint8_t)((body + 6) >> 8);
        b[11] = (uint8_t)(body + 6);
        for (size_t i = 0; i < body; i++)
                b[12 + i] = (uint8_t)(seq * 31 + i * 7);
        return len;
}

static bool got_is(unsigned i, const uint8_t *b, size_t len)
{
        return i < ngot && got[i].len == len && memcmp(got[i].data, b, len) == 0;
}

/* ------------------------------------------------------------- loop helpers */

static sd_event *ev;

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until ngot reaches want or ms pass. */
static void run_until(unsigned want, unsigned ms)
{
        uint64_t end = now_ms() + ms;
        while (ngot < want && now_ms() < end)
                (void)sd_event_run(ev, 10000);
}

static void run_for(unsigned ms)
{
        uint64_t end = now_ms() + ms;
        while (now_ms() < end)
                (void)sd_event_run(ev, 10000);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
        uint64_t end = now_ms() + 5000;
        while (n > 0 && now_ms() < end) {
                ssize_t k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k > 0) {
                        p += k;
                        n -= (size_t)k;
                } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
                        (void)sd_event_run(ev, 10000);
                } else {
                        break;
                }
        }
        CHECK(n == 0, "send_all: %zu bytes left: %s", n, strerror(errno));
}

static int tcp_to(int family, uint16_t port)
{
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        memset(&ss, 0, sizeof ss);
        if (family == AF_INET6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_addr = in6addr_loopback;
                a->sin6_port = htons(port);
                sl = sizeof *a;
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                a->sin_port = htons(port);
                sl = sizeof *a;
        }
        if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
                CHECK(false, "connect to port %u: %s", port, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

static int udp_to(int family, uint16_t port)
{
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        memset(&ss, 0, sizeof ss);
        if (family == AF_INET6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_addr = in6addr_loopback;
                a->sin6_port = htons(port);
                sl = sizeof *a;
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                a->sin_port = htons(port);
                sl = sizeof *a;
        }
        if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
                CHECK(false, "udp connect: %s", strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

/* A socket from the loopback address src (127.x.y.z: one "peer" each) to
 * 127.0.0.1:port; type SOCK_STREAM or SOCK_DGRAM. */
static int ip4_from(const char *src, uint16_t port, int type)
{
        struct sockaddr_in a = {.sin_family = AF_INET};
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

        if (fd < 0 || inet_pton(AF_INET, src, &a.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
                CHECK(false, "bind %s: %s", src, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
                CHECK(false, "connect from %s: %s", src, strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

/* The listener closed this connection (FIN, or RST when bytes were unread). */
static bool is_closed(int fd)
{
        char b;
        ssize_t r;

        if (fd < 0)
                return false;
        r = recv(fd, &b, 1, MSG_DONTWAIT);
        return r == 0 || (r < 0 && errno == ECONNRESET);
}

static bool peer_is(const Endpoint *e, const char *ip4)
{
        uint8_t a[4];
        return inet_pton(AF_INET, ip4, a) == 1 && e->family == 4 && memcmp(e->addr, a, 4) == 0;
}

/* Descriptors open before the test (inherited from whoever runs it) are not ours. */
static bool inherited[1024];

static void note_inherited(void)
{
        for (int fd = 0; fd < 1024; fd++)
                inherited[fd] = fcntl(fd, F_GETFD) >= 0;
}

/* Every descriptor opened since must be close-on-exec. */
static void check_cloexec(const char *when)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                int fl;
                if (*end || end == de->d_name || fd <= 2 || fd == dirfd(d) ||
                    (fd < 1024 && inherited[fd]))
                        continue;
                fl = fcntl((int)fd, F_GETFD);
                CHECK(fl >= 0 && (fl & FD_CLOEXEC), "%s: fd %ld without FD_CLOEXEC", when, fd);
        }
        closedir(d);
}

/* ------------------------------------------------------------------- tests */

static void test_addresses(void)
{
        static const char *const bad[] = {
            "",           "9060",      "127.0.0.1",    "127.0.0.1:",       "127.0.0.1:65536",
            "::1:9060",   "[::1]9060", "[::1:9060",    "localhost:9060",   "127.0.0.1:90x0",
            "1.2.3:9060", "[]:9060",   "127.0.0.1:-1", "[127.0.0.1]:9060", NULL,
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                HepListener *l = (HepListener *)0x1;
                char err[256] = "";
                int r = hep_listener_open(bad[i], &l, err, sizeof err);
                CHECK(r < 0 && l == (HepListener *)0x1 && err[0] != '\0',
                      "address '%s' accepted (r=%d)", bad[i] ? bad[i] : "(null)", r);
        }
        /* A port in use is an error with a message. */
        {
                HepListener *a = NULL, *b = NULL;
                char err[256] = "";
                int r = hep_listener_open("127.0.0.1:0", &a, err, sizeof err);
                CHECK(r == 0, "open: %s", err);
                if (r == 0) {
                        char addr[64];
                        snprintf(addr, sizeof addr, "127.0.0.1:%u", hep_listener_port(a));
                        r = hep_listener_open(addr, &b, err, sizeof err);
                        CHECK(r == -EADDRINUSE && strstr(err, "bind"), "port in use: %d %s", r,
                              err);
                }
                hep_listener_free(a);
                CHECK(hep_listener_free(NULL) == NULL, "free NULL");
        }
}

static void test_flow(const char *addr, int family)
{
        HepListener *l = NULL;
        HepListenerStats st;
        char err[256] = "";
        static uint8_t pk[16][65535];
        static const size_t sizes[16] = {12,   13,  100, 1000,  1500, 9000, 65535, 40,
                                         4096, 700, 12,  65535, 300,  2000, 64,    512};
        uint8_t stream[200000];
        size_t sl = 0;
        uint64_t want_bytes = 0;
        unsigned base;
        int r, fd, fd2;

        r = hep_listener_open(addr, &l, err, sizeof err);
        if (r < 0 && family == AF_INET6 && (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
                printf("no IPv6 loopback: %s skipped\n", addr);
                return;
        }
        CHECK(r == 0 && l && hep_listener_port(l) != 0, "open %s: %s", addr, err);
        if (r < 0)
                return;
        CHECK(hep_listener_attach(l, ev, on_packet, NULL) == 0, "attach");
        check_cloexec(addr);
        reset_got();
        for (unsigned i = 0; i < 16; i++)
                make_hep3(pk[i], sizes[i], i);

        /* UDP: one datagram per packet (65507 is the IPv4 UDP maximum). */
        fd = udp_to(family, hep_listener_port(l));
        for (unsigned i = 0; i < 16 && fd >= 0; i++) {
                size_t n = sizes[i] > 65000 ? 65000 : sizes[i];
                make_hep3(pk[i], n, i);
                CHECK(send(fd, pk[i], n, 0) == (ssize_t)n, "udp send %u", i);
                want_bytes += n;
                if (i % 4 == 3)
                        run_until(i + 1, 2000);
        }
        run_until(16, 3000);
        CHECK(ngot == 16, "%s udp: got %u of 16", addr, ngot);
        for (unsigned i = 0; i < 16; i++) {
                size_t n = sizes[i] > 65000 ? 65000 : sizes[i];
                CHECK(got_is(i, pk[i], n), "%s udp packet %u intact", addr, i);
                CHECK(i >= ngot || got[i].ts > 1600000000LL * 1000000, "udp arrival time");
        }
        /* An empty datagram is counted as an error and not delivered. */
        if (fd >= 0) {
                CHECK(send(fd, "", 0, 0) == 0, "empty datagram");
                run_for(100);
                close(fd);
        }
        for (unsigned i = 0; i < 16; i++)
                make_hep3(pk[i], sizes[i], i + 100);

        /* TCP 1: every packet split byte by byte (the loop runs between bytes
         * for the first small packets, then in bigger irregular pieces). */
        base = ngot;
        fd = tcp_to(family, hep_listener_port(l));
        for (unsigned i = 0; i < 4 && fd >= 0; i++) {
                for (size_t k = 0; k < sizes[i]; k++) {
                        send_all(fd, pk[i] + k, 1);
                        (void)sd_event_run(ev, 0);
                }
                want_bytes += sizes[i];
        }
        for (unsigned i = 4; i < 8 && fd >= 0; i++) {
                size_t k = 0, step = 1;
                while (k < sizes[i]) {
                        size_t n = sizes[i] - k < step ? sizes[i] - k : step;
                        send_all(fd, pk[i] + k, n);
                        (void)sd_event_run(ev, 0);
                        k += n;
                        step = step * 3 + 1;
                }
                want_bytes += sizes[i];
        }
        run_until(base + 8, 3000);
        CHECK(ngot == base + 8, "%s tcp split: got %u of 8", addr, ngot - base);
        for (unsigned i = 0; i < 8; i++)
                CHECK(got_is(base + i, pk[i], sizes[i]), "%s tcp split packet %u intact", addr, i);

        /* TCP 2: eight packets coalesced into one write, on a second connection
         * while the first stays open. */
        base = ngot;
        fd2 = tcp_to(family, hep_listener_port(l));
        for (unsigned i = 8; i < 16; i++) {
                memcpy(stream + sl, pk[i], sizes[i]);
                sl += sizes[i];
                want_bytes += sizes[i];
        }
        if (fd2 >= 0)
                send_all(fd2, stream, sl);
        run_until(base + 8, 3000);
        CHECK(ngot == base + 8, "%s tcp coalesced: got %u of 8", addr, ngot - base);
        for (unsigned i = 8; i < 16; i++)
                CHECK(got_is(base + i - 8, pk[i], sizes[i]), "%s coalesced packet %u intact", addr,
                      i);

        hep_listener_get_stats(l, &st);
        CHECK(st.packets == 32 && st.bytes == want_bytes, "%s stats packets %llu bytes %llu/%llu",
              addr, (unsigned long long)st.packets, (unsigned long long)st.bytes,
              (unsigned long long)want_bytes);
        CHECK(st.connections == 2 && st.errors == 1 && st.dropped == 0,
              "%s stats connections %llu errors %llu dropped %llu", addr,
              (unsigned long long)st.connections, (unsigned long long)st.errors,
              (unsigned long long)st.dropped);

        /* Garbage on a stream closes that connection only: the other keeps working. */
        if (fd >= 0) {
                char b;
                send_all(fd, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
                run_for(100);
                CHECK(recv(fd, &b, 1, 0) == 0, "garbage connection closed by the listener");
                close(fd);
        }
        base = ngot;
        if (fd2 >= 0) {
                send_all(fd2, pk[0], sizes[0]);
                run_until(base + 1, 2000);
                CHECK(got_is(base, pk[0], sizes[0]), "other connection still works");
        }
        /* A length below the header size is garbage too; HEPv2 cannot be framed. */
        {
                static const uint8_t bad_len[] = {'H', 'E', 'P', '3', 0, 5, 0, 0};
                static const uint8_t v2[] = {2, 16, 2, 17, 0x13, 0xc4, 0x13, 0xc4};
                static const uint8_t hep_prefix_then_junk[] = {'H', 'E', 'X'};
                const uint8_t *bad[] = {bad_len, v2, hep_prefix_then_junk};
                size_t badn[] = {sizeof bad_len, sizeof v2, sizeof hep_prefix_then_junk};
                for (int i = 0; i < 3; i++) {
                        int g = tcp_to(family, hep_listener_port(l));
                        char b;
                        if (g < 0)
                                continue;
                        send_all(g, bad[i], badn[i]);
                        run_for(100);
                        CHECK(recv(g, &b, 1, 0) == 0, "bad stream %d closed", i);
                        close(g);
                }
        }
        /* Peer closing mid-packet: an error, nothing delivered. */
        base = ngot;
        fd = tcp_to(family, hep_listener_port(l));
        if (fd >= 0) {
                send_all(fd, pk[5], sizes[5] / 2);
                run_for(50);
                close(fd);
                run_for(100);
        }
        CHECK(ngot == base, "half packet delivered");
        hep_listener_get_stats(l, &st);
        CHECK(st.errors == 1 + 1 + 3 + 1 && st.connections == 2 + 3 + 1 && st.packets == 33,
              "%s after garbage: errors %llu connections %llu packets %llu", addr,
              (unsigned long long)st.errors, (unsigned long long)st.connections,
              (unsigned long long)st.packets);

        /* Connection limit per peer: 65 more connections from this address
         * keep HEP_LISTENER_MAX_PER_PEER; each new one closes the stalest,
         * and fd2, which sent packets, is not it. */
        {
                int fds[HEP_LISTENER_MAX_CONNECTIONS + 2];
                int n = 0;
                HepListenerStats before;

                hep_listener_get_stats(l, &before);
                for (int i = 0; i < HEP_LISTENER_MAX_CONNECTIONS + 1; i++) {
                        fds[n] = tcp_to(family, hep_listener_port(l));
                        if (fds[n] >= 0)
                                n++;
                        (void)sd_event_run(ev, 0);
                }
                run_for(200);
                check_cloexec("65 connections from one peer");
                hep_listener_get_stats(l, &st);
                CHECK(st.peer_cap - before.peer_cap ==
                              HEP_LISTENER_MAX_CONNECTIONS + 2 - HEP_LISTENER_MAX_PER_PEER &&
                          st.dropped - before.dropped == st.peer_cap - before.peer_cap &&
                          st.connections - before.connections == HEP_LISTENER_MAX_CONNECTIONS + 1,
                      "per-peer cap: peer_cap %llu dropped %llu accepted %llu",
                      (unsigned long long)(st.peer_cap - before.peer_cap),
                      (unsigned long long)(st.dropped - before.dropped),
                      (unsigned long long)(st.connections - before.connections));
                CHECK(n > 4 && is_closed(fds[0]), "the stalest connection closed");
                CHECK(n > 4 && !is_closed(fds[n - 1]) && !is_closed(fds[n - 3]),
                      "the newest connections open");
                base = ngot;
                if (fd2 >= 0) {
                        send_all(fd2, pk[1], sizes[1]);
                        run_until(base + 1, 2000);
                        CHECK(got_is(base, pk[1], sizes[1]), "the connection with packets kept");
                }
                for (int i = 0; i < n; i++)
                        close(fds[i]);
                run_for(100);
        }

        /* Idle timeout: a silent connection is closed and counted. */
        {
                HepListenerStats before;
                char b;
                hep_listener_get_stats(l, &before);
                hep_listener_set_idle_timeout(l, 200000);
                run_for(600);
                hep_listener_get_stats(l, &st);
                CHECK(fd2 < 0 || recv(fd2, &b, 1, MSG_DONTWAIT) == 0, "idle connection closed");
                CHECK(st.dropped - before.dropped == 1 && st.idle - before.idle == 1,
                      "idle drop counted: %llu", (unsigned long long)(st.dropped - before.dropped));
        }
        if (fd2 >= 0)
                close(fd2);
        l = hep_listener_free(l);
        check_cloexec("after free");
        reset_got();
}

/* ------------------------------------------------------- who may send */

static const char REQ[] = "REGISTER sip:example.test SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bK-l1\r\n"
                          "From: <sip:alice@example.test>;tag=1\r\n"
                          "To: <sip:alice@example.test>\r\n"
                          "Call-ID: listener-key-1\r\n"
                          "CSeq: 1 REGISTER\r\n"
                          "Content-Length: 0\r\n\r\n";

/* A SIP-carrying HEPv3 packet with the given key (NULL: none), time now. */
static size_t sip_hep(uint8_t *b, size_t cap, const char *key)
{
        struct timespec now;
        HepBuild hb = {.src = {192, 0, 2, 50},
                       .dst = {192, 0, 2, 60},
                       .sport = 5062,
                       .dport = 5060,
                       .key = key,
                       .payload = REQ,
                       .payload_len = sizeof REQ - 1};

        clock_gettime(CLOCK_REALTIME, &now);
        hb.ts_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
        return hep_build_v3(b, cap, &hb);
}

static void on_diag(const Diagnosis *d, void *userdata)
{
        (void)d;
        (void)userdata;
}

/* hep_auth_key: a packet without it or with another is dropped by the
 * pipeline behind the listener, over UDP and TCP; the right one is analysed. */
static void test_key(void)
{
        HepListener *l = NULL;
        PipelineConfig pc = {0};
        PipelineStats ps;
        char err[256] = "";
        uint8_t none[1024], wrong[1024], right[1024], stream[3072];
        size_t nn = sip_hep(none, sizeof none, NULL), nw = sip_hep(wrong, sizeof wrong, "guess"),
               nr = sip_hep(right, sizeof right, "agent-key"), sl = 0;
        int fd;

        CHECK(nn && nw && nr, "packets built");
        tracker_config_default(&pc.tracker);
        CHECK(hepauth_set_key(&pc.hep.auth, "agent-key"), "key");
        feed = pipeline_new_config(&pc, on_diag, NULL);
        CHECK(feed && hep_listener_open("127.0.0.1:0", &l, err, sizeof err) == 0, "open: %s", err);
        if (!feed || !l)
                goto out;
        CHECK(hep_listener_attach(l, ev, on_packet, NULL) == 0, "attach");
        reset_got();
        fd = udp_to(AF_INET, hep_listener_port(l));
        if (fd >= 0) {
                CHECK(send(fd, none, nn, 0) == (ssize_t)nn, "send");
                CHECK(send(fd, wrong, nw, 0) == (ssize_t)nw, "send");
                CHECK(send(fd, right, nr, 0) == (ssize_t)nr, "send");
                run_until(3, 2000);
                close(fd);
        }
        pipeline_get_stats(feed, &ps);
        CHECK(ngot == 3 && ps.hep_key_missing == 1 && ps.hep_key_wrong == 1 &&
                  ps.hep_authenticated == 1 && ps.hep_unauthenticated == 0 && ps.sip_requests == 1,
              "udp: got %u missing %llu wrong %llu auth %llu requests %llu", ngot,
              (unsigned long long)ps.hep_key_missing, (unsigned long long)ps.hep_key_wrong,
              (unsigned long long)ps.hep_authenticated, (unsigned long long)ps.sip_requests);
        memcpy(stream, none, nn);
        memcpy(stream + nn, wrong, nw);
        memcpy(stream + nn + nw, right, nr);
        sl = nn + nw + nr;
        fd = tcp_to(AF_INET, hep_listener_port(l));
        if (fd >= 0) {
                send_all(fd, stream, sl);
                run_until(6, 2000);
                close(fd);
        }
        pipeline_get_stats(feed, &ps);
        CHECK(ngot == 6 && ps.hep_key_missing == 2 && ps.hep_key_wrong == 2 &&
                  ps.hep_authenticated == 2 && ps.sip_requests == 2,
              "tcp: got %u missing %llu wrong %llu auth %llu requests %llu", ngot,
              (unsigned long long)ps.hep_key_missing, (unsigned long long)ps.hep_key_wrong,
              (unsigned long long)ps.hep_authenticated, (unsigned long long)ps.sip_requests);
out:
        hep_listener_free(l);
        feed = pipeline_free(feed);
        reset_got();
}

/* hep_allow against the socket's peer, on a v4 and on a dual-stack socket. */
static void test_allow(const char *addr)
{
        HepListener *l = NULL;
        HepListenerStats st;
        HepAuthConfig auth = {0};
        char err[256] = "";
        uint8_t pk[64];
        size_t n = make_hep3(pk, sizeof pk, 7);
        int fd;

        CHECK(hepauth_parse_allow(&auth, "127.0.0.2, 2001:db8::/32", err, sizeof err), "%s", err);
        CHECK(hep_listener_open(addr, &l, err, sizeof err) == 0, "open %s: %s", addr, err);
        if (!l)
                return;
        hep_listener_set_allow(l, &auth);
        CHECK(hep_listener_attach(l, ev, on_packet, NULL) == 0, "attach");
        reset_got();

        fd = ip4_from("127.0.0.1", hep_listener_port(l), SOCK_DGRAM);
        if (fd >= 0) {
                CHECK(send(fd, pk, n, 0) == (ssize_t)n, "send");
                close(fd);
        }
        fd = ip4_from("127.0.0.2", hep_listener_port(l), SOCK_DGRAM);
        if (fd >= 0) {
                CHECK(send(fd, pk, n, 0) == (ssize_t)n, "send");
                close(fd);
        }
        run_for(150); /* one of the two must come; the other must not */
        hep_listener_get_stats(l, &st);
        CHECK(ngot == 1 && got_is(0, pk, n) && peer_is(&got[0].peer, "127.0.0.2") &&
                  st.denied == 1 && st.packets == 1,
              "%s udp: got %u from %u denied %llu", addr, ngot, ngot ? got[0].peer.family : 0,
              (unsigned long long)st.denied);

        /* TCP: refused at accept, before a byte is read. */
        fd = ip4_from("127.0.0.1", hep_listener_port(l), SOCK_STREAM);
        if (fd >= 0) {
                send_all(fd, pk, n);
                run_for(150);
                CHECK(is_closed(fd), "%s: connection from outside the list closed", addr);
                close(fd);
        }
        fd = ip4_from("127.0.0.2", hep_listener_port(l), SOCK_STREAM);
        if (fd >= 0) {
                send_all(fd, pk, n);
                run_until(2, 2000);
                CHECK(!is_closed(fd), "%s: allowed connection open", addr);
                close(fd);
        }
        hep_listener_get_stats(l, &st);
        CHECK(ngot == 2 && got_is(1, pk, n) && peer_is(&got[1].peer, "127.0.0.2") &&
                  st.denied == 2 && st.connections == 1 && st.dropped == 1 && st.packets == 2,
              "%s tcp: got %u denied %llu connections %llu dropped %llu", addr, ngot,
              (unsigned long long)st.denied, (unsigned long long)st.connections,
              (unsigned long long)st.dropped);
        hep_listener_free(l);
        reset_got();
}

/* Open `count` connections from the addresses 127.0.PEER.x (4 per address,
 * or all from one when one_peer), each sending the first 6 bytes of a packet
 * and nothing more. */
static int stall(int *fds, int count, uint16_t port, bool one_peer, unsigned net)
{
        static const uint8_t head[6] = {'H', 'E', 'P', '3', 0, 64};
        int n = 0;

        for (int i = 0; i < count; i++) {
                char src[32];
                snprintf(src, sizeof src, "127.%u.%d.1", net, one_peer ? 0 : i / 4);
                fds[n] = ip4_from(src, port, SOCK_STREAM);
                if (fds[n] < 0)
                        continue;
                send_all(fds[n], head, sizeof head);
                n++;
                (void)sd_event_run(ev, 0);
        }
        run_for(100);
        return n;
}

/* A real agent is served however many connections stall (slowloris). */
static void test_stalled(bool one_peer)
{
        HepListener *l = NULL;
        HepListenerStats st;
        char err[256] = "";
        uint8_t pk[200];
        size_t n = make_hep3(pk, sizeof pk, 3);
        int fds[HEP_LISTENER_MAX_CONNECTIONS + 16], ns, agent;
        const char *what = one_peer ? "one peer" : "16 peers";

        CHECK(hep_listener_open("127.0.0.1:0", &l, err, sizeof err) == 0, "open: %s", err);
        if (!l)
                return;
        CHECK(hep_listener_attach(l, ev, on_packet, NULL) == 0, "attach");
        reset_got();
        ns = stall(fds, HEP_LISTENER_MAX_CONNECTIONS, hep_listener_port(l), one_peer, 1);
        hep_listener_get_stats(l, &st);
        CHECK(
            ns == HEP_LISTENER_MAX_CONNECTIONS && st.connections == HEP_LISTENER_MAX_CONNECTIONS &&
                st.peer_cap == (one_peer ? HEP_LISTENER_MAX_CONNECTIONS - 4 : 0) && st.evicted == 0,
            "%s: %d stalled, accepted %llu peer_cap %llu", what, ns,
            (unsigned long long)st.connections, (unsigned long long)st.peer_cap);

        agent = ip4_from("127.0.0.2", hep_listener_port(l), SOCK_STREAM);
        if (agent >= 0) {
                send_all(agent, pk, n);
                run_until(1, 2000);
        }
        hep_listener_get_stats(l, &st);
        CHECK(ngot == 1 && got_is(0, pk, n) && st.evicted == (one_peer ? 0u : 1u),
              "%s: the agent after %d stalled connections: got %u evicted %llu", what, ns, ngot,
              (unsigned long long)st.evicted);
        CHECK(one_peer || is_closed(fds[0]), "%s: the stalest stalled connection went", what);

        /* More stalled connections from new peers take stalled slots, not the agent's. */
        {
                int more[16];
                int k = stall(more, 16, hep_listener_port(l), false, 2);
                hep_listener_get_stats(l, &st);
                if (agent >= 0) {
                        send_all(agent, pk, n);
                        run_until(2, 2000);
                }
                CHECK(ngot == 2 && !is_closed(agent),
                      "%s: the agent kept after %d more stalled connections (evicted %llu)", what,
                      k, (unsigned long long)st.evicted);
                for (int i = 0; i < k; i++)
                        close(more[i]);
        }
        if (agent >= 0)
                close(agent);
        for (int i = 0; i < ns; i++)
                close(fds[i]);
        run_for(50);
        hep_listener_free(l);
        reset_got();
}

/* A packet must be finished within its deadline; bytes do not reset the idle timer. */
static void test_deadlines(void)
{
        HepListener *l = NULL;
        HepListenerStats st;
        char err[256] = "";
        uint8_t pk[100], trickle[100];
        size_t n = make_hep3(pk, sizeof pk, 9);
        int fd, live, slow;

        make_hep3(trickle, sizeof trickle, 10);
        CHECK(hep_listener_open("127.0.0.1:0", &l, err, sizeof err) == 0, "open: %s", err);
        if (!l)
                return;
        CHECK(hep_listener_attach(l, ev, on_packet, NULL) == 0, "attach");
        reset_got();

        /* Deadline 300 ms: a byte every 100 ms does not save the packet. */
        hep_listener_set_packet_timeout(l, 300000);
        fd = tcp_to(AF_INET, hep_listener_port(l));
        for (size_t k = 0; fd >= 0 && k < 10 && !is_closed(fd); k++) {
                send_all(fd, trickle + k, 1);
                run_for(100);
        }
        hep_listener_get_stats(l, &st);
        CHECK(fd >= 0 && is_closed(fd) && st.deadline == 1 && st.idle == 0 && ngot == 0,
              "trickled packet: deadline %llu idle %llu got %u", (unsigned long long)st.deadline,
              (unsigned long long)st.idle, ngot);
        if (fd >= 0)
                close(fd);

        /* Idle 400 ms, deadline back to its default: a complete packet, then a
         * byte every 100 ms is idle; a complete packet every 100 ms is not. */
        hep_listener_set_packet_timeout(l, HEP_LISTENER_PACKET_SEC * 1000000ULL);
        hep_listener_set_idle_timeout(l, 400000);
        slow = tcp_to(AF_INET, hep_listener_port(l));
        live = tcp_to(AF_INET, hep_listener_port(l));
        if (slow >= 0)
                send_all(slow, pk, n);
        for (size_t k = 0; k < 10; k++) {
                if (slow >= 0 && !is_closed(slow))
                        send_all(slow, trickle + k, 1);
                if (live >= 0)
                        send_all(live, pk, n);
                run_for(100);
        }
        hep_listener_get_stats(l, &st);
        CHECK(slow >= 0 && is_closed(slow), "bytes alone kept the connection from idling out");
        CHECK(live >= 0 && !is_closed(live), "a connection sending packets idled out");
        CHECK(st.idle == 1 && st.deadline == 1 && ngot == 11, "idle %llu deadline %llu got %u",
              (unsigned long long)st.idle, (unsigned long long)st.deadline, ngot);
        if (slow >= 0)
                close(slow);
        if (live >= 0)
                close(live);
        hep_listener_free(l);
        reset_got();
}

int main(void)
{
        note_inherited();
        if (sd_event_new(&ev) < 0) {
                fprintf(stderr, "sd_event_new failed\n");
                return 1;
        }
        test_addresses();
        test_flow("127.0.0.1:0", AF_INET);
        test_flow("[::1]:0", AF_INET6);
        test_flow(":0", AF_INET); /* any address, reached over IPv4 */
        test_key();
        test_allow("127.0.0.1:0");
        test_allow(":0"); /* IPv4 peers seen as ::ffff:127.0.0.x */
        test_stalled(false);
        test_stalled(true);
        test_deadlines();
        ev = sd_event_unref(ev);
        return check_exit("hep_listener");
}

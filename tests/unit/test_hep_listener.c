/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Integration test of daemon/hep_listener.c on loopback: real UDP and TCP
 * sockets, a real sd-event loop. HEP packets are sent whole, split byte by
 * byte across segments, and coalesced; the callback must see each exactly
 * once, intact and in order, and the counters must say what happened.
 * Garbage, half packets, the connection limit and the idle timeout close
 * connections and are counted.
 */
#include "hep_listener.h"

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

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                checks++;                                                                          \
                if (!(cond)) {                                                                     \
                        failures++;                                                                \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                }                                                                                  \
        } while (0)

/* ------------------------------------------------------------ what arrived */

#define MAX_GOT 512
static struct {
        uint8_t *data;
        size_t len;
        int64_t ts;
} got[MAX_GOT];
static unsigned ngot;

static void on_packet(const uint8_t *data, size_t len, int64_t ts_us, void *userdata)
{
        (void)userdata;
        if (ngot >= MAX_GOT)
                return;
        got[ngot].data = malloc(len);
        if (!got[ngot].data)
                abort();
        memcpy(got[ngot].data, data, len);
        got[ngot].len = len;
        got[ngot].ts = ts_us;
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

        /* Connection limit: the 65th concurrent connection is refused. */
        {
                int fds[HEP_LISTENER_MAX_CONNECTIONS + 2];
                int n = 0;
                char b;
                HepListenerStats before;

                hep_listener_get_stats(l, &before);
                /* fd2 is still open: 63 more fill the table, 2 more are refused. */
                for (int i = 0; i < HEP_LISTENER_MAX_CONNECTIONS + 1; i++) {
                        fds[n] = tcp_to(family, hep_listener_port(l));
                        if (fds[n] >= 0)
                                n++;
                        (void)sd_event_run(ev, 0);
                }
                run_for(200);
                check_cloexec("64 connections open");
                hep_listener_get_stats(l, &st);
                CHECK(st.dropped - before.dropped == 2 &&
                          st.connections - before.connections == HEP_LISTENER_MAX_CONNECTIONS - 1,
                      "limit: dropped %llu accepted %llu", (unsigned long long)st.dropped,
                      (unsigned long long)(st.connections - before.connections));
                CHECK(n > 1 && recv(fds[n - 1], &b, 1, MSG_DONTWAIT) == 0,
                      "refused connection closed");
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
                CHECK(st.dropped - before.dropped == 1, "idle drop counted: %llu",
                      (unsigned long long)(st.dropped - before.dropped));
        }
        if (fd2 >= 0)
                close(fd2);
        l = hep_listener_free(l);
        check_cloexec("after free");
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
        ev = sd_event_unref(ev);
        printf("%d checks, %d failed\n", checks, failures);
        return failures ? 1 : 0;
}

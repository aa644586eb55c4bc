/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon/capture.c: the default BPF filter compiles for every supported link
 * type and keeps what it must (SIP ports over UDP/TCP, IPv4 and IPv6
 * fragments, 802.1Q and QinQ tagged frames) and drops the rest; capture
 * files (pcap, nanosecond pcap, pcapng) are read packet by packet, a
 * truncated file yields its whole packets and then an error, and an unknown
 * link type is refused by name.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#define PACKET_BUF_MAX 2048
#include "packet.h"

static char tmpdir[] = "/tmp/test-capture-XXXXXX";

enum { L4_UDP = 17, L4_TCP = 6 };

/* The IP datagram of a test frame. frag: 0 none, 1 first, 2 non-first. */
static void ip4(Buf *f, int proto, unsigned sport, unsigned dport, int frag)
{
        size_t l4 = proto == L4_UDP ? 8 : 20;
        size_t total = 20 + (frag == 2 ? 16 : l4 + 16);

        put8(f, 0x45);
        put8(f, 0);
        put16(f, (unsigned)total);
        put16(f, 0x1234);                                           /* id */
        put16(f, frag == 1 ? 0x2000 : frag == 2 ? 0x00b9 : 0x4000); /* MF / offset / DF */
        put8(f, 64);
        put8(f, (unsigned)proto);
        put16(f, 0); /* checksum: BPF does not look */
        put32(f, 0xc0000201);
        put32(f, 0xc0000202);
        if (frag != 2) {
                put16(f, sport);
                put16(f, dport);
                if (proto == L4_UDP) {
                        put16(f, 8 + 16);
                        put16(f, 0);
                } else {
                        put32(f, 1);
                        put32(f, 0);
                        put16(f, 0x5018); /* data offset 5, PSH ACK */
                        put16(f, 65535);
                        put32(f, 0);
                }
        }
        putn(f, "SIP/2.0 200 OK\r\n", 16);
}

static void ip6(Buf *f, unsigned sport, unsigned dport, bool fragment)
{
        static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

        put32(f, 0x60000000);
        put16(f, 8 + 16); /* fragment header + 16, or UDP header + 16 */
        put8(f, fragment ? 44 : 17);
        put8(f, 64);
        putn(f, a, 16);
        putn(f, a, 16);
        if (fragment) {
                put8(f, 17);
                put8(f, 0);
                put16(f, 0x05a8); /* offset 181*8, non-first */
                put32(f, 0xabcd);
                putn(f, "continuation....", 16);
                return;
        }
        put16(f, sport);
        put16(f, dport);
        put16(f, 8 + 16);
        put16(f, 0);
        putn(f, "SIP/2.0 200 OK\r\n", 16);
}

typedef enum {
        V4_UDP_5060,
        V4_TCP_5061,
        V4_UDP_5080_SRC,
        V4_FRAG_FIRST,
        V4_FRAG_LATER,
        V6_UDP,
        V6_FRAG,
        V4_UDP_53,
        V4_TCP_80,
        V6_UDP_53,
        ARP,
        PAYLOAD__MAX
} Payload;

static const struct {
        const char *name;
        bool keep;
        bool v6;
} payloads[] = {
    [V4_UDP_5060] = {"IPv4 UDP 5060", true, false},
    [V4_TCP_5061] = {"IPv4 TCP 5061", true, false},
    [V4_UDP_5080_SRC] = {"IPv4 UDP from 5080", true, false},
    [V4_FRAG_FIRST] = {"IPv4 first fragment, port 5060", true, false},
    [V4_FRAG_LATER] = {"IPv4 non-first fragment", true, false},
    [V6_UDP] = {"IPv6 UDP 5060", true, true},
    [V6_FRAG] = {"IPv6 fragment", true, true},
    [V4_UDP_53] = {"IPv4 UDP 53", false, false},
    [V4_TCP_80] = {"IPv4 TCP 80 (a default WebSocket port)", true, false},
    [V6_UDP_53] = {"IPv6 UDP 53", false, true},
    [ARP] = {"ARP", false, false},
};

static void payload(Buf *f, Payload p)
{
        switch (p) {
        case V4_UDP_5060:
                ip4(f, L4_UDP, 40000, 5060, 0);
                break;
        case V4_TCP_5061:
                ip4(f, L4_TCP, 40000, 5061, 0);
                break;
        case V4_UDP_5080_SRC:
                ip4(f, L4_UDP, 5080, 40000, 0);
                break;
        case V4_FRAG_FIRST:
                ip4(f, L4_UDP, 40000, 5060, 1);
                break;
        case V4_FRAG_LATER:
                ip4(f, L4_UDP, 0, 0, 2);
                break;
        case V6_UDP:
                ip6(f, 40000, 5060, false);
                break;
        case V6_FRAG:
                ip6(f, 0, 0, true);
                break;
        case V4_UDP_53:
                ip4(f, L4_UDP, 40000, 53, 0);
                break;
        case V4_TCP_80:
                ip4(f, L4_TCP, 40000, 80, 0);
                break;
        case V6_UDP_53:
                ip6(f, 40000, 53, false);
                break;
        default:
                putn(f, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
                putn(f, "0123456789abcdef0123", 20);
                break;
        }
}

static unsigned ethertype(Payload p)
{
        return p == ARP ? 0x0806 : payloads[p].v6 ? 0x86dd : 0x0800;
}

static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

/* vlan: number of tags (0, 1, 2); outer TPID 0x8100 or 0x88a8. */
static void frame_ether(Buf *f, Payload p, int vlan, unsigned outer_tpid)
{
        putn(f, mac, 12);
        for (int i = 0; i < vlan; i++) {
                put16(f, i == 0 && vlan == 2 ? outer_tpid : 0x8100);
                put16(f, 100u + (unsigned)i);
        }
        put16(f, ethertype(p));
        payload(f, p);
}

static void frame(Buf *f, int dlt, Payload p)
{
        f->n = 0;
        switch (dlt) {
        case DLT_EN10MB:
                frame_ether(f, p, 0, 0);
                return;
        case DLT_LINUX_SLL:
                put16(f, 0); /* to us */
                put16(f, 1); /* ARPHRD_ETHER */
                put16(f, 6);
                putn(f, mac, 6);
                put16(f, 0);
                put16(f, ethertype(p));
                break;
        case DLT_LINUX_SLL2:
                put16(f, ethertype(p));
                put16(f, 0);
                put32(f, 2); /* ifindex */
                put16(f, 1);
                put8(f, 0);
                put8(f, 6);
                putn(f, mac, 6);
                put16(f, 0);
                break;
        case DLT_NULL:
                /* Host byte order (pcap_open_dead is not byte-swapped). libpcap
                 * 1.10 compiles "ip6" on DLT_NULL to the host's own AF_INET6,
                 * not to the BSD values, so that is what a match needs here. */
                put32le(f, payloads[p].v6 ? AF_INET6 : p == ARP ? 99 : AF_INET);
                break;
        case DLT_RAW:
                if (p == ARP) {
                        putn(f, "\x00\x01\x08\x00", 4);
                        return;
                }
                break;
        default:
                break;
        }
        payload(f, p);
}

static bool matches(const struct bpf_program *prog, const Buf *f)
{
        struct pcap_pkthdr h = {.caplen = (bpf_u_int32)f->n, .len = (bpf_u_int32)f->n};

        return pcap_offline_filter(prog, &h, f->b) != 0;
}

static void test_default_filter(void)
{
        static const struct {
                int dlt;
                const char *name;
        } links[] = {
            {DLT_EN10MB, "Ethernet"}, {DLT_LINUX_SLL, "SLL"}, {DLT_LINUX_SLL2, "SLL2"},
            {DLT_RAW, "raw IP"},      {DLT_NULL, "NULL"},
        };
        char err[512];
        Buf f;

        for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++) {
                pcap_t *p = pcap_open_dead(links[l].dlt, CAPTURE_SNAPLEN);
                struct bpf_program prog;
                int r;

                CHECK(p != NULL, "pcap_open_dead %s", links[l].name);
                if (!p)
                        continue;
                r = capture_compile_filter(p, CAPTURE_DEFAULT_FILTER, true, &prog, err,
                                           sizeof(err));
                CHECK(r == 0, "default filter does not compile for %s: %s", links[l].name, err);
                if (r == 0) {
                        for (int k = 0; k < PAYLOAD__MAX; k++) {
                                frame(&f, links[l].dlt, (Payload)k);
                                CHECK(matches(&prog, &f) == payloads[k].keep, "%s: %s %s",
                                      links[l].name, payloads[k].name,
                                      payloads[k].keep ? "dropped" : "kept");
                        }
                        pcap_freecode(&prog);
                }
                pcap_close(p);
        }

        /* Ethernet: one tag (802.1Q), two tags (QinQ with 0x88a8 or 0x8100 outside). */
        pcap_t *p = pcap_open_dead(DLT_EN10MB, CAPTURE_SNAPLEN);
        struct bpf_program prog;

        if (capture_compile_filter(p, CAPTURE_DEFAULT_FILTER, true, &prog, err, sizeof(err)) == 0) {
                for (int tags = 1; tags <= 2; tags++) {
                        for (int tp = 0; tp < 2; tp++) {
                                unsigned tpid = tp ? 0x88a8 : 0x8100;

                                for (int k = 0; k < PAYLOAD__MAX; k++) {
                                        f.n = 0;
                                        frame_ether(&f, (Payload)k, tags, tpid);
                                        CHECK(matches(&prog, &f) == payloads[k].keep,
                                              "%d tag(s), outer TPID %#x: %s %s", tags, tpid,
                                              payloads[k].name,
                                              payloads[k].keep ? "dropped" : "kept");
                                }
                        }
                }
                pcap_freecode(&prog);
        } else
                CHECK(false, "Ethernet default filter: %s", err);

        /* Cooked captures: a frame that still carries a tag (the kernel stripped
         * the outer one of a QinQ pair) shows the TPID as protocol: kept. */
        for (int cooked = 0; cooked < 2; cooked++) {
                int dlt = cooked ? DLT_LINUX_SLL2 : DLT_LINUX_SLL;
                pcap_t *pc = pcap_open_dead(dlt, CAPTURE_SNAPLEN);

                if (capture_compile_filter(pc, CAPTURE_DEFAULT_FILTER, true, &prog, err,
                                           sizeof(err)) != 0) {
                        CHECK(false, "cooked %d: %s", dlt, err);
                        pcap_close(pc);
                        continue;
                }
                frame(&f, dlt, V4_UDP_5060);
                /* Rewrite the protocol field and insert a tag before the IP header. */
                Buf t = {.n = 0};
                size_t hdr = cooked ? 20 : 16, proto_at = cooked ? 0 : 14;
                putn(&t, f.b, hdr);
                t.b[proto_at] = 0x81;
                t.b[proto_at + 1] = 0x00;
                put16(&t, 100);
                put16(&t, 0x0800);
                putn(&t, f.b + hdr, f.n - hdr);
                CHECK(matches(&prog, &t), "cooked %d: tagged SIP dropped", dlt);
                frame(&f, dlt, V4_UDP_53);
                CHECK(!matches(&prog, &f), "cooked %d: untagged DNS kept", dlt);
                pcap_freecode(&prog);
                pcap_close(pc);
        }

        /* A user filter is taken as given; a bad one is reported with its text. */
        CHECK(capture_compile_filter(p, "udp port 5062", false, &prog, err, sizeof(err)) == 0, "%s",
              err);
        pcap_freecode(&prog);
        CHECK(capture_compile_filter(p, "port 5060 and", false, &prog, err, sizeof(err)) == -EINVAL,
              "bad filter accepted");
        CHECK(strstr(err, "invalid filter 'port 5060 and'") != NULL, "err='%s'", err);
        pcap_close(p);
}

/* ---- capture files -------------------------------------------------------- */

static const char *path_of(const char *name)
{
        static char p[4][300];
        static unsigned k;
        char *s = p[k++ % 4];

        snprintf(s, 300, "%s/%s", tmpdir, name);
        return s;
}

static void write_buf(const char *path, const Buf *f)
{
        FILE *fp = fopen(path, "we");

        if (!fp || fwrite(f->b, 1, f->n, fp) != f->n || fclose(fp) != 0) {
                fprintf(stderr, "cannot write %s\n", path);
                exit(1);
        }
}

/* Classic pcap, host byte order; nano: nanosecond timestamps. */
static void write_pcap(Buf *out, uint32_t linktype, bool nano, const Payload *ps, size_t n)
{
        Buf f;

        out->n = 0;
        put32le(out, nano ? 0xa1b23c4d : 0xa1b2c3d4);
        putn(out, &(uint16_t){2}, 2);
        putn(out, &(uint16_t){4}, 2);
        put32le(out, 0);
        put32le(out, 0);
        put32le(out, 65535);
        put32le(out, linktype);
        for (size_t i = 0; i < n; i++) {
                frame(&f, DLT_EN10MB, ps[i]);
                put32le(out, 1700000000u + (uint32_t)i);
                put32le(out, nano ? 123456789u : 123456u);
                put32le(out, (uint32_t)f.n);
                put32le(out, (uint32_t)f.n);
                putn(out, f.b, f.n);
        }
}

static void write_pcapng(Buf *out, const Payload *ps, size_t n)
{
        Buf f;

        out->n = 0;
        /* Section Header Block */
        put32le(out, 0x0a0d0d0a);
        put32le(out, 28);
        put32le(out, 0x1a2b3c4d);
        putn(out, &(uint16_t){1}, 2);
        putn(out, &(uint16_t){0}, 2);
        put32le(out, 0xffffffff);
        put32le(out, 0xffffffff);
        put32le(out, 28);
        /* Interface Description Block: Ethernet, µs timestamps (default) */
        put32le(out, 1);
        put32le(out, 20);
        putn(out, &(uint16_t){1}, 2);
        putn(out, &(uint16_t){0}, 2);
        put32le(out, 65535);
        put32le(out, 20);
        for (size_t i = 0; i < n; i++) {
                uint64_t ts = (1700000000ull + i) * 1000000 + 654321;
                size_t pad;

                frame(&f, DLT_EN10MB, ps[i]);
                pad = (4 - f.n % 4) % 4;
                put32le(out, 6);
                put32le(out, (uint32_t)(32 + f.n + pad));
                put32le(out, 0);
                put32le(out, (uint32_t)(ts >> 32));
                put32le(out, (uint32_t)ts);
                put32le(out, (uint32_t)f.n);
                put32le(out, (uint32_t)f.n);
                putn(out, f.b, f.n);
                putn(out, "\0\0\0", pad);
                put32le(out, (uint32_t)(32 + f.n + pad));
        }
}

/* Read every packet; returns the count, *last = final capture_next() result. */
static int read_all(Capture *c, int *last, int64_t *first_ts)
{
        CapturePacket pkt;
        int n = 0, r;

        while ((r = capture_next(c, &pkt, 0)) == CAPTURE_PACKET) {
                if (n == 0 && first_ts)
                        *first_ts = pkt.ts_us;
                CHECK(pkt.caplen > 0 && pkt.caplen == pkt.len && pkt.data, "packet %d", n);
                n++;
        }
        *last = r;
        return n;
}

static void test_files(void)
{
        static const Payload ps[] = {V4_UDP_5060, V4_UDP_53, V6_UDP, ARP, V4_TCP_5061};
        const size_t np = sizeof(ps) / sizeof(ps[0]);
        char err[1024];
        CaptureStats st;
        Capture *c = NULL;
        int64_t ts = 0;
        int r, last, n;
        Buf f;

        /* Classic pcap, microseconds: every packet (no filter on files by default). */
        write_pcap(&f, 1, false, ps, np);
        write_buf(path_of("a.pcap"), &f);
        r = capture_open_file(&c, path_of("a.pcap"), NULL, err, sizeof(err));
        CHECK(r == 0, "open: %s", err);
        if (r == 0) {
                CHECK(capture_linktype(c) == DLT_EN10MB && !capture_is_live(c), "linktype");
                CHECK(capture_filter(c) == NULL, "no filter by default on files");
                n = read_all(c, &last, &ts);
                CHECK(n == (int)np && last == CAPTURE_END, "n=%d last=%d", n, last);
                CHECK(ts == 1700000000ll * 1000000 + 123456, "ts=%lld", (long long)ts);
                CHECK(capture_get_stats(c, &st) == -EOPNOTSUPP, "stats on a file");
                c = capture_close(c);
        }

        /* An explicit filter applies to files. */
        r = capture_open_file(&c, path_of("a.pcap"), "udp port 5060", err, sizeof(err));
        CHECK(r == 0, "open: %s", err);
        if (r == 0) {
                n = read_all(c, &last, NULL);
                CHECK(n == 2 && last == CAPTURE_END, "filtered n=%d", n);
                c = capture_close(c);
        }
        r = capture_open_file(&c, path_of("a.pcap"), "port 5060 and", err, sizeof(err));
        CHECK(r == -EINVAL && c == NULL && strstr(err, "invalid filter"), "r=%d err=%s", r, err);

        /* Nanosecond pcap: timestamps arrive in microseconds. */
        write_pcap(&f, 1, true, ps, np);
        write_buf(path_of("ns.pcap"), &f);
        r = capture_open_file(&c, path_of("ns.pcap"), NULL, err, sizeof(err));
        CHECK(r == 0, "open: %s", err);
        if (r == 0) {
                n = read_all(c, &last, &ts);
                CHECK(n == (int)np && ts == 1700000000ll * 1000000 + 123456, "n=%d ts=%lld", n,
                      (long long)ts);
                c = capture_close(c);
        }

        /* pcapng */
        write_pcapng(&f, ps, np);
        write_buf(path_of("a.pcapng"), &f);
        r = capture_open_file(&c, path_of("a.pcapng"), NULL, err, sizeof(err));
        CHECK(r == 0, "open pcapng: %s", err);
        if (r == 0) {
                n = read_all(c, &last, &ts);
                CHECK(n == (int)np && last == CAPTURE_END, "pcapng n=%d last=%d", n, last);
                CHECK(ts == 1700000000ll * 1000000 + 654321, "pcapng ts=%lld", (long long)ts);
                c = capture_close(c);
        }

        /* Truncated in the middle of the 4th packet: 3 packets, then -EIO. */
        write_pcap(&f, 1, false, ps, np);
        {
                Buf first3;
                write_pcap(&first3, 1, false, ps, 3);
                f.n = first3.n + 16 + 10; /* record header + 10 bytes of the 4th */
        }
        write_buf(path_of("cut.pcap"), &f);
        r = capture_open_file(&c, path_of("cut.pcap"), NULL, err, sizeof(err));
        CHECK(r == 0, "open: %s", err);
        if (r == 0) {
                n = read_all(c, &last, NULL);
                CHECK(n == 3 && last == -EIO, "truncated: n=%d last=%d", n, last);
                CHECK(strstr(capture_error(c), "cut.pcap") && strstr(capture_error(c), "truncated"),
                      "error='%s'", capture_error(c));
                c = capture_close(c);
        }

        /* Truncated file header. */
        f.n = 10;
        write_buf(path_of("hdr.pcap"), &f);
        r = capture_open_file(&c, path_of("hdr.pcap"), NULL, err, sizeof(err));
        CHECK(r < 0 && c == NULL && strstr(err, "hdr.pcap"), "r=%d err=%s", r, err);

        /* Not a capture file. */
        f.n = 0;
        putn(&f, "REGISTER sip:example.org SIP/2.0\r\n\r\n", 36);
        write_buf(path_of("text.pcap"), &f);
        r = capture_open_file(&c, path_of("text.pcap"), NULL, err, sizeof(err));
        CHECK(r < 0 && c == NULL && strstr(err, "text.pcap"), "r=%d err=%s", r, err);

        /* Unsupported link type: named in the message. */
        write_pcap(&f, 147, false, ps, 1);
        write_buf(path_of("147.pcap"), &f);
        r = capture_open_file(&c, path_of("147.pcap"), NULL, err, sizeof(err));
        CHECK(r == -EPROTONOSUPPORT && c == NULL, "r=%d", r);
        CHECK(strstr(err, "unsupported link type 147"), "err='%s'", err);

        /* Missing file. */
        r = capture_open_file(&c, path_of("missing.pcap"), NULL, err, sizeof(err));
        CHECK(r == -ENOENT && strstr(err, "missing.pcap: No such file"), "r=%d err=%s", r, err);

        /* capture_break() ends a file early. */
        write_pcap(&f, 1, false, ps, np);
        write_buf(path_of("a.pcap"), &f);
        r = capture_open_file(&c, path_of("a.pcap"), NULL, err, sizeof(err));
        if (r == 0) {
                CapturePacket pkt;

                CHECK(capture_next(c, &pkt, 0) == CAPTURE_PACKET, "first packet");
                capture_break(c);
                CHECK(capture_next(c, &pkt, 0) == CAPTURE_END, "after break");
                c = capture_close(c);
        }

        static const char *const names[] = {"a.pcap",   "ns.pcap",   "a.pcapng", "cut.pcap",
                                            "hdr.pcap", "text.pcap", "147.pcap"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                unlink(path_of(names[i]));
}

/* Live capture needs privileges; only the error path is checked here. */
static void test_live_errors(void)
{
        char err[1024];
        Capture *c = NULL;
        int r;

        r = capture_open_live(&c, "nonexistent-if0", NULL, err, sizeof(err));
        CHECK(r < 0 && c == NULL, "r=%d", r);
        CHECK(strncmp(err, "nonexistent-if0: ", 17) == 0, "err='%s'", err);
}

/* --sip-ports / sip_ports: the default filter with other ports (issue 4). */
static void test_ports_filter(void)
{
        static const struct {
                unsigned port;
                bool keep;
        } ports[] = {{5060, true}, {5061, false}, {5080, false}, {5099, false}, {5100, true},
                     {5105, true}, {5110, true},  {5111, false}, {40000, false}};
        char buf[CAPTURE_FILTER_MAX], err[512];
        struct bpf_program prog;
        pcap_t *p;
        Buf f;

        CHECK(capture_default_filter(NULL, NULL, buf, sizeof(buf)) == 0 &&
                  strcmp(buf, CAPTURE_DEFAULT_FILTER) == 0,
              "NULL: %s", buf);
        CHECK(capture_default_filter("5060,5100-5110", "", buf, sizeof(buf)) == 0 &&
                  strcmp(buf, "((udp or tcp) and (port 5060 or portrange "
                              "5100-5110))" CAPTURE_FRAGMENT_CLAUSES) == 0,
              "built: %s", buf);
        CHECK(capture_default_filter("5060,", "", buf, sizeof(buf)) == -EINVAL, "trailing comma");
        CHECK(capture_default_filter("5070-5060", "", buf, sizeof(buf)) == -EINVAL,
              "reversed range");
        CHECK(capture_default_filter("0", "", buf, sizeof(buf)) == -EINVAL, "port 0");
        CHECK(capture_default_filter("5060", "", buf, 20) == -ENOBUFS, "small buffer");
        CHECK(capture_default_filter("5060", "8088,9000-9010", buf, sizeof(buf)) == 0 &&
                  strcmp(buf, "((udp or tcp) and (port 5060)) or (tcp and (port 8088 or portrange "
                              "9000-9010))" CAPTURE_FRAGMENT_CLAUSES) == 0,
              "WebSocket ports: %s", buf);
        CHECK(capture_default_filter("5060", "80,", buf, sizeof(buf)) == -EINVAL, "bad ws list");

        CHECK(capture_default_filter("5060,5100-5110", "8088", buf, sizeof(buf)) == 0, "%s", buf);
        p = pcap_open_dead(DLT_EN10MB, CAPTURE_SNAPLEN);
        if (capture_compile_filter(p, buf, true, &prog, err, sizeof(err)) != 0) {
                CHECK(false, "ports filter does not compile: %s", err);
                pcap_close(p);
                return;
        }
        for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
                for (int tags = 0; tags <= 1; tags++) {
                        f.n = 0;
                        putn(&f, mac, 12);
                        if (tags) {
                                put16(&f, 0x8100);
                                put16(&f, 100);
                        }
                        put16(&f, 0x0800);
                        ip4(&f, L4_UDP, 40001, ports[i].port, 0);
                        CHECK(matches(&prog, &f) == ports[i].keep, "port %u, %d tag(s): %s",
                              ports[i].port, tags, ports[i].keep ? "dropped" : "kept");
                }
        }
        /* A WebSocket port: TCP only. */
        for (int tcp = 0; tcp <= 1; tcp++) {
                f.n = 0;
                putn(&f, mac, 12);
                put16(&f, 0x0800);
                ip4(&f, tcp ? L4_TCP : L4_UDP, 8088, 40001, 0);
                CHECK(matches(&prog, &f) == (tcp == 1), "%s from 8088", tcp ? "TCP" : "UDP");
        }
        /* The fragment clause is kept. */
        f.n = 0;
        frame_ether(&f, V4_FRAG_LATER, 0, 0);
        CHECK(matches(&prog, &f), "non-first fragment dropped by the ports filter");
        pcap_freecode(&prog);
        pcap_close(p);
}

int main(void)
{
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        test_default_filter();
        test_ports_filter();
        test_files();
        test_live_errors();
        rmdir(tmpdir);
        return check_exit("capture");
}

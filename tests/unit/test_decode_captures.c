/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c: real captures.
 *
 * Real captures from the corpora (argv[1]) read with libpcap: verdict
 * counts and chosen frames against what tshark reports for them (the
 * tshark command lines are quoted beside each expectation).
 */
#include "decode_frames.h"
#include "pcapread.h"

/* ------------------------------------------------------------ real captures */

typedef struct {
        const char *file;
        int linktype; /* pcap_datalink() value */
        unsigned total, ok, udp, tcp, fragment, not_ip, not_transport;
} CaptureExpect;

/*
 * Counts from tshark 4.0 (defragmentation off so fragments stay fragments):
 *   total:    tshark -r F | wc -l
 *   udp/tcp:  tshark -r F -o ip.defragment:FALSE -o ipv6.defragment:FALSE -Y
 *             'udp && !tcp && NF' resp. 'tcp && NF', NF = '!icmp && !icmpv6 &&
 *             !(ip.flags.mf==1 || ip.frag_offset>0) && !ipv6.fraghdr'
 *   fragment: -Y '(ip.flags.mf==1 || ip.frag_offset>0) || ipv6.fraghdr'
 *   not_ip:   -Y 'arp';  not_transport: -Y 'icmp || igmp'
 * arkime/gtp-iphone carries GTP-U: every frame is outer UDP (port 2152) for us.
 * ~0u = not checked.
 */
static const CaptureExpect captures[] = {
    {"sngrep/ipv6frag.pcap", 113, 34, 30, 30, 0, 4, 0, 0},
    {"heplify/ipip0.pcap", 12, 8, 8, 8, 0, 0, 0, 0},
    {"sngrep/ipip.pcap", 1, 4, 4, 0, 4, 0, 0, 0},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 0, 16, 16, 0, 16, 0, 0, 0},
    {"zeek/sip-long-request-response-paths.pcap", 228, 2, 2, 2, 0, 0, 0, 0},
    {"arkime/gtp-iphone.pcap", 113, 106, 106, 106, 0, 0, 0, 0},
    {"gprshome-wireshark/sip.pcap", 1, 6627, 6469, 6440, 29, 33, 59, 66},
    {"sngrep/aaa.pcap", 1, 691, 647, 590, 57, 0, 44, 0},
    {"michalcab-isa/sip.pcap", 1, 175, 173, 173, 0, 0, 0, 2},
    {"michalcab-isa/sip.pcap.pcapng", 1, 175, 173, 173, 0, 0, 0, 2},
    {"tsytsykvitaliy-dfnfc/SIP.pcap", 1, 1511, 1511, 1451, 60, 0, 0, 0},
    {"ndpi/webex.pcap", 1, 1110, 1110, 38, 1072, 0, 0, 0},
    {"ndpi/sip_hello.pcapng", 1, 30, 30, 30, 0, 0, 0, 0},
    {"ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 1, 1552, 1552, 1552, 0, 0, 0, 0},
    {"maryls-laborator09/sip.pcap", 1, 195, 195, 195, 0, 0, 0, 0},
    {"suricata-verify/sip-tcp-method__sip-tcp.pcap", 1, 11, 11, 0, 11, 0, 0, 0},
    {"suricata-verify/sip-tcp-pattern-matching__sip.pcap", 1, 7, 7, 0, 7, 0, 0, 0},
    {"zeek/sip-junk-before-request.pcap", 1, 2, 2, 2, 0, 0, 0, 0},
    /* Fuzzed: only "every frame gets a verdict, nothing crashes". */
    {"ndpi/fuzz-2006-06-26-2594.pcap", 1, 691, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u},
};

/* One frame to look at closely: tshark -r F -Y frame.number==N -T fields ... */
typedef struct {
        const char *file;
        unsigned frame;
        DecodeVerdict verdict;
        Transport transport;
        const char *src, *dst; /* endpoint_format() */
        size_t payload_len;
        uint32_t ip_id;       /* fragments */
        uint16_t frag_offset; /* fragments */
        bool more_fragments;  /* fragments */
        int tcp_flags;        /* -1 = not checked */
        int64_t tcp_seq;      /* -1 = not checked */
} FrameExpect;

static const FrameExpect frames[] = {
    /* ipv6.fraghdr.ident 0xb0647780, ipv6.fraghdr.offset 0 / 181 (x8 = 1448) */
    {"sngrep/ipv6frag.pcap", 1, DECODE_E_FRAGMENT, TRANSPORT_NONE,
     "[fd17:625c:f037:2:a00:27ff:feb9:1521]:0", "[fd17:625c:f037:2:a00:27ff:feb9:3519]:0", 1448,
     0xb0647780, 0, true, -1, -1},
    {"sngrep/ipv6frag.pcap", 2, DECODE_E_FRAGMENT, TRANSPORT_NONE,
     "[fd17:625c:f037:2:a00:27ff:feb9:1521]:0", "[fd17:625c:f037:2:a00:27ff:feb9:3519]:0", 251,
     0xb0647780, 1448, false, -1, -1},
    {"sngrep/ipv6frag.pcap", 3, DECODE_OK, TRANSPORT_UDP,
     "[fd17:625c:f037:2:a00:27ff:feb9:3519]:5062", "[fd17:625c:f037:2:a00:27ff:feb9:1521]:15060",
     422, 0, 0, false, -1, -1},
    /* raw IP, udp.length 1472 */
    {"heplify/ipip0.pcap", 1, DECODE_OK, TRANSPORT_UDP, "179.43.150.26:33489", "157.161.10.72:5060",
     1464, 0, 0, false, -1, -1},
    /* frame 2 is IP-in-IP: ip.src 10.15.196.229,10.15.193.31; tcp.len 621 */
    {"sngrep/ipip.pcap", 2, DECODE_OK, TRANSPORT_TCP, "10.15.193.31:33093", "10.15.197.103:5090",
     621, 0, 0, false, 0x18, 658869884},
    {"sngrep/ipip.pcap", 1, DECODE_OK, TRANSPORT_TCP, "10.15.197.103:5090", "10.15.193.31:33093",
     1103, 0, 0, false, 0x18, -1},
    /* NULL/loopback, AF 2 little-endian; SYN, data, FIN|ACK (tcp.seq_raw) */
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 1, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:59809", "127.0.0.1:5060", 0, 0, 0, false, 0x02, 2403313361},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 5, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:59809", "127.0.0.1:5060", 16332, 0, 0, false, 0x10, 2403313362},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 13, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:5060", "127.0.0.1:59809", 0, 0, 0, false, 0x11, 572270613},
    /* LINKTYPE_IPV4, udp.length 9571 */
    {"zeek/sip-long-request-response-paths.pcap", 1, DECODE_OK, TRANSPORT_UDP, "192.0.2.10:50600",
     "198.51.100.20:5060", 9563, 0, 0, false, -1, -1},
    /* IPv4 fragments: ip.id 0x0bd9, 480 + 88 bytes */
    {"gprshome-wireshark/sip.pcap", 135, DECODE_E_FRAGMENT, TRANSPORT_NONE, "192.168.1.104:0",
     "192.168.1.103:0", 480, 3033, 0, true, -1, -1},
    {"gprshome-wireshark/sip.pcap", 136, DECODE_E_FRAGMENT, TRANSPORT_NONE, "192.168.1.104:0",
     "192.168.1.103:0", 88, 3033, 480, false, -1, -1},
};

/* Reassembly through decode_ip_payload(): first + last fragment -> UDP. */
typedef struct {
        const char *file;
        unsigned first, last;
        uint16_t sport, dport;
        size_t udp_payload; /* udp.length - 8 of the reassembled datagram */
        const char *starts; /* sip.Method of the reassembled message */
} ReassemblyExpect;

static const ReassemblyExpect reassemblies[] = {
    {"sngrep/ipv6frag.pcap", 1, 2, 15060, 5062, 1699 - 8, "INVITE "},
    {"sngrep/ipv6frag.pcap", 4, 5, 5062, 25060, 1879 - 8, "INVITE "},
    {"gprshome-wireshark/sip.pcap", 135, 136, 51558, 5060, 568 - 8, "REGISTER "},
};

typedef struct {
        unsigned n, udp_ok, tcp_ok, counts[DECODE__MAX];
        const char *file;
} FrameCounts;

static void count_frame(int lt, const uint8_t *d, size_t caplen, void *ud)
{
        FrameCounts *c = ud;
        DecodedPacket pk;
        DecodeVerdict v = dec(lt, d, caplen, &pk);

        c->n++;
        if ((unsigned)v >= DECODE__MAX) {
                CHECK(false, "%s frame %u: verdict %d", c->file, c->n, (int)v);
                return;
        }
        c->counts[v]++;
        if (v == DECODE_OK)
                *(pk.transport == TRANSPORT_UDP ? &c->udp_ok : &c->tcp_ok) += 1;
}

static void check_counts(const char *dir, const CaptureExpect *e, int *skipped)
{
        char path[4096], err[PCAP_ERRBUF_SIZE];
        FrameCounts c = {.file = e->file};
        int lt = -1;
        long r;

        snprintf(path, sizeof path, "%s/pcaps/%s", dir, e->file);
        r = pcap_each(path, count_frame, &c, &lt, err, sizeof err);
        if (r < 0 && lt < 0) {
                fprintf(stderr, "skip %s: %s\n", e->file, err);
                (*skipped)++;
                return;
        }
        CHECK(r >= 0, "%s: read error %s", e->file, err);
        CHECK(lt == e->linktype, "%s: linktype %d want %d", e->file, lt, e->linktype);
        CHECK(decode_linktype_supported(lt), "%s: linktype %d unsupported", e->file, lt);
        unsigned n = c.n, udp_ok = c.udp_ok, tcp_ok = c.tcp_ok, *counts = c.counts;

        CHECK(n == e->total, "%s: %u frames want %u", e->file, n, e->total);
        if (e->ok != ~0u)
                CHECK(counts[DECODE_OK] == e->ok, "%s: ok %u want %u", e->file, counts[DECODE_OK],
                      e->ok);
        if (e->udp != ~0u)
                CHECK(udp_ok == e->udp, "%s: udp %u want %u", e->file, udp_ok, e->udp);
        if (e->tcp != ~0u)
                CHECK(tcp_ok == e->tcp, "%s: tcp %u want %u", e->file, tcp_ok, e->tcp);
        if (e->fragment != ~0u)
                CHECK(counts[DECODE_E_FRAGMENT] == e->fragment, "%s: fragments %u want %u", e->file,
                      counts[DECODE_E_FRAGMENT], e->fragment);
        if (e->not_ip != ~0u)
                CHECK(counts[DECODE_E_NOT_IP] == e->not_ip, "%s: not_ip %u want %u", e->file,
                      counts[DECODE_E_NOT_IP], e->not_ip);
        if (e->not_transport != ~0u)
                CHECK(counts[DECODE_E_NOT_TRANSPORT] == e->not_transport,
                      "%s: not_transport %u want %u", e->file, counts[DECODE_E_NOT_TRANSPORT],
                      e->not_transport);
        printf("%-60s lt=%-3d", e->file, lt);
        for (int i = 0; i < DECODE__MAX; i++)
                if (counts[i])
                        printf(" %s=%u", decode_verdict_name((DecodeVerdict)i), counts[i]);
        printf("\n");
}

typedef struct {
        unsigned n, want;
        bool found;
        DecodedPacket *out;
        DecodeVerdict *v;
} FrameAt;

static void frame_at_one(int lt, const uint8_t *d, size_t caplen, void *ud)
{
        FrameAt *f = ud;

        if (++f->n != f->want)
                return;
        fill_sentinel(f->out);
        *f->v = dec(lt, d, caplen, f->out);
        f->found = true;
}

/* Decode frame number `want` (1-based) of file (its payload pointer is not
 * valid afterwards: only the decoded fields are). */
static bool frame_at(const char *dir, const char *file, unsigned want, DecodedPacket *out,
                     DecodeVerdict *v, int *skipped)
{
        char path[4096], err[PCAP_ERRBUF_SIZE];
        FrameAt f = {.want = want, .out = out, .v = v};
        int lt = -1;

        snprintf(path, sizeof path, "%s/pcaps/%s", dir, file);
        if (pcap_each(path, frame_at_one, &f, &lt, err, sizeof err) < 0 && lt < 0) {
                fprintf(stderr, "skip %s: %s\n", file, err);
                (*skipped)++;
                return false;
        }
        CHECK(f.found, "%s: no frame %u", file, want);
        return f.found;
}

static void check_frame(const char *dir, const FrameExpect *e, int *skipped)
{
        DecodedPacket pk;
        DecodeVerdict v;
        char s[ENDPOINT_STRLEN], d[ENDPOINT_STRLEN];

        if (!frame_at(dir, e->file, e->frame, &pk, &v, skipped))
                return;
        CHECK(v == e->verdict, "%s #%u: verdict %s want %s", e->file, e->frame,
              decode_verdict_name(v), decode_verdict_name(e->verdict));
        if (v != DECODE_OK && v != DECODE_E_FRAGMENT)
                return;
        endpoint_format(&pk.src, s, sizeof s);
        endpoint_format(&pk.dst, d, sizeof d);
        CHECK(strcmp(s, e->src) == 0, "%s #%u: src %s want %s", e->file, e->frame, s, e->src);
        CHECK(strcmp(d, e->dst) == 0, "%s #%u: dst %s want %s", e->file, e->frame, d, e->dst);
        CHECK(pk.transport == e->transport, "%s #%u: transport %s", e->file, e->frame,
              decode_transport_name(pk.transport));
        CHECK(pk.payload_len == e->payload_len, "%s #%u: payload_len %zu want %zu", e->file,
              e->frame, pk.payload_len, e->payload_len);
        if (v == DECODE_E_FRAGMENT) {
                CHECK(pk.ip_fragment && pk.ip_id == e->ip_id &&
                          pk.ip_frag_offset == e->frag_offset &&
                          pk.ip_more_fragments == e->more_fragments,
                      "%s #%u: fragment id=%u off=%u mf=%d", e->file, e->frame, pk.ip_id,
                      pk.ip_frag_offset, pk.ip_more_fragments);
        }
        if (e->tcp_flags >= 0)
                CHECK(pk.tcp_flags == e->tcp_flags, "%s #%u: tcp flags %02x want %02x", e->file,
                      e->frame, pk.tcp_flags, (unsigned)e->tcp_flags);
        if (e->tcp_seq >= 0)
                CHECK(pk.tcp_seq == (uint32_t)e->tcp_seq, "%s #%u: tcp seq %u", e->file, e->frame,
                      pk.tcp_seq);
}

static void check_reassembly(const char *dir, const ReassemblyExpect *e, int *skipped)
{
        DecodedPacket a, b, r;
        DecodeVerdict va, vb, v;
        Buf joined = {.n = 0};

        if (!frame_at(dir, e->file, e->first, &a, &va, skipped))
                return;
        if (va == DECODE_E_FRAGMENT)
                putn(&joined, a.payload, a.payload_len);
        if (!frame_at(dir, e->file, e->last, &b, &vb, skipped))
                return;
        CHECK(va == DECODE_E_FRAGMENT && vb == DECODE_E_FRAGMENT, "%s #%u+#%u: not fragments",
              e->file, e->first, e->last);
        if (va != DECODE_E_FRAGMENT || vb != DECODE_E_FRAGMENT)
                return;
        CHECK(a.ip_id == b.ip_id && b.ip_frag_offset == a.payload_len && !b.ip_more_fragments,
              "%s #%u+#%u: fragments do not join", e->file, e->first, e->last);
        putn(&joined, b.payload, b.payload_len);
        r = b;
        v = decode_ip_payload(b.ip_proto, joined.b, joined.n, &r);
        CHECK(v == DECODE_OK, "%s #%u+#%u: reassembled %s", e->file, e->first, e->last,
              decode_verdict_name(v));
        if (v != DECODE_OK)
                return;
        CHECK(r.transport == TRANSPORT_UDP && r.src.port == e->sport && r.dst.port == e->dport,
              "%s #%u+#%u: reassembled ports %u %u", e->file, e->first, e->last, r.src.port,
              r.dst.port);
        CHECK(r.payload_len == e->udp_payload, "%s #%u+#%u: reassembled len %zu want %zu", e->file,
              e->first, e->last, r.payload_len, e->udp_payload);
        CHECK(r.payload_len >= strlen(e->starts) &&
                  memcmp(r.payload, e->starts, strlen(e->starts)) == 0,
              "%s #%u+#%u: reassembled payload does not start with %s", e->file, e->first, e->last,
              e->starts);
}

static void test_captures(const char *dir)
{
        int skipped = 0;

        for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++)
                check_counts(dir, &captures[i], &skipped);
        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
                check_frame(dir, &frames[i], &skipped);
        for (size_t i = 0; i < sizeof reassemblies / sizeof reassemblies[0]; i++)
                check_reassembly(dir, &reassemblies[i], &skipped);
        if (skipped)
                printf("corpus: %d capture reads skipped (corpora not found under %s)\n", skipped,
                       dir);
}

int main(int argc, char **argv)
{
        if (argc > 1)
                test_captures(argv[1]);
        else
                printf("no corpora directory given: real captures skipped\n");
        free(heap);
        heap = NULL;
        return check_exit("decode_captures");
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c: link layers.
 *
 * Every link type decode.h takes (Ethernet, Linux cooked v1/v2, BSD
 * loopback, raw IP ...), VLAN tags, link-layer padding, and the names of
 * link types, verdicts and transports.
 */
#include "decode_frames.h"

static void test_link_types(void)
{
        Buf u = udp(5060, 5062, SIP, SIP_LEN, 0);
        Buf ip4 = v4(17, &u), ip6 = v6(17, &u), f;
        static const struct {
                uint32_t af;
                bool little;
                bool v6;
        } nulls[] = {
            {2, true, false},  {2, false, false}, {10, true, true}, {24, true, true},
            {24, false, true}, {28, true, true},  {30, true, true}, {30, false, true},
        };

        f = eth(0x0800, &ip4);
        expect_ok("ethernet v4", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 14 + 28, SIP,
                  SIP_LEN);
        f = eth(0x86dd, &ip6);
        expect_ok("ethernet v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 14 + 48, SIP,
                  SIP_LEN);
        f = sll(0x0800, &ip4);
        expect_ok("sll v4", 113, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 16 + 28, SIP,
                  SIP_LEN);
        f = sll(0x86dd, &ip6);
        expect_ok("sll v6", 113, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 16 + 48, SIP,
                  SIP_LEN);
        f = sll2(0x0800, &ip4);
        expect_ok("sll2 v4", 276, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 20 + 28, SIP,
                  SIP_LEN);
        f = sll2(0x86dd, &ip6);
        expect_ok("sll2 v6", 276, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 20 + 48, SIP,
                  SIP_LEN);
        f = sll(0x0806, &ip4);
        expect_err("sll arp", 113, &f, DECODE_E_NOT_IP);

        static const int raw_any[] = {101, 12, 14};
        for (size_t i = 0; i < sizeof raw_any / sizeof raw_any[0]; i++) {
                char what[64];
                snprintf(what, sizeof what, "raw %d v4", raw_any[i]);
                expect_ok(what, raw_any[i], &ip4, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 28, SIP,
                          SIP_LEN);
                snprintf(what, sizeof what, "raw %d v6", raw_any[i]);
                expect_ok(what, raw_any[i], &ip6, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 48, SIP,
                          SIP_LEN);
        }
        expect_ok("linktype ipv4", 228, &ip4, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 28, SIP,
                  SIP_LEN);
        expect_ok("linktype ipv6", 229, &ip6, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 48, SIP,
                  SIP_LEN);
        expect_err("linktype ipv4 carrying v6", 228, &ip6, DECODE_E_BAD_IP);
        expect_err("linktype ipv6 carrying v4", 229, &ip4, DECODE_E_BAD_IP);
        f = ip4;
        f.b[0] = 0x55;
        expect_err("raw version 5", 101, &f, DECODE_E_BAD_IP);

        for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
                char what[64];
                snprintf(what, sizeof what, "null af %u %s", nulls[i].af,
                         nulls[i].little ? "le" : "be");
                f = af_hdr(nulls[i].af, nulls[i].little, nulls[i].v6 ? &ip6 : &ip4);
                if (nulls[i].v6)
                        expect_ok(what, 0, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 4 + 48,
                                  SIP, SIP_LEN);
                else
                        expect_ok(what, 0, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 4 + 28,
                                  SIP, SIP_LEN);
        }
        f = af_hdr(7, true, &ip4);
        expect_err("null unknown af", 0, &f, DECODE_E_NOT_IP);
        f = af_hdr(2, false, &ip4);
        expect_ok("loop af_inet", 108, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 4 + 28, SIP,
                  SIP_LEN);
        f = af_hdr(24, false, &ip6);
        expect_ok("loop af_inet6", 108, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 4 + 48, SIP,
                  SIP_LEN);
        f = af_hdr(2, true, &ip4);
        expect_err("loop is network order only", 108, &f, DECODE_E_NOT_IP);

        f = eth(0x0806, &ip4);
        expect_err("ethernet arp", 1, &f, DECODE_E_NOT_IP);
        f = eth(0x0026, &ip4);
        expect_err("802.3 length field", 1, &f, DECODE_E_NOT_IP);
        f = eth(0x0800, &ip6);
        expect_err("ethertype v4 carrying v6", 1, &f, DECODE_E_BAD_IP);
        expect_err("unknown linktype 105", 105, &ip4, DECODE_E_LINKTYPE);
        expect_err("unknown linktype -1", -1, &ip4, DECODE_E_LINKTYPE);
}

static void test_vlan(void)
{
        Buf u = udp(5060, 5060, SIP, SIP_LEN, 0);
        Buf ip4 = v4(17, &u), ip6 = v6(17, &u), f;
        static const uint16_t one[] = {0x8100};
        static const uint16_t qinq[] = {0x88a8, 0x8100};
        static const uint16_t old_qinq[] = {0x9100, 0x8100};
        static const uint16_t four[] = {0x88a8, 0x9100, 0x8100, 0x8100};
        static const uint16_t five[] = {0x88a8, 0x9100, 0x8100, 0x8100, 0x8100};

        f = eth_tags(one, 1, 0x0800, &ip4);
        expect_ok("802.1Q", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 18 + 28, SIP, SIP_LEN);
        f = eth_tags(qinq, 2, 0x86dd, &ip6);
        expect_ok("802.1ad QinQ v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5060, 22 + 48, SIP,
                  SIP_LEN);
        f = eth_tags(old_qinq, 2, 0x0800, &ip4);
        expect_ok("0x9100 QinQ", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 22 + 28, SIP,
                  SIP_LEN);
        f = eth_tags(four, 4, 0x0800, &ip4);
        expect_ok("4 tags", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 30 + 28, SIP, SIP_LEN);
        f = eth_tags(five, 5, 0x0800, &ip4);
        expect_err("5 tags exceed the bound", 1, &f, DECODE_E_NOT_IP);
        f = eth_tags(one, 1, 0x0806, &ip4);
        expect_err("tagged arp", 1, &f, DECODE_E_NOT_IP);
        f = sll(0x8100, &(Buf){.n = 0});
        put16(&f, 42);
        put16(&f, 0x0800);
        putbuf(&f, &ip4);
        expect_ok("sll with a vlan tag", 113, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 20 + 28,
                  SIP, SIP_LEN);
}

static void test_padding(void)
{
        Buf u = udp(5060, 5060, "AB", 2, 0);
        Buf ip4 = v4(17, &u), f;
        Buf t = tcp(5060, 40000, 7, 0x18, 0, "XY", 2);
        Buf ip4t = v4(6, &t);
        Buf ip6 = v6(17, &u);

        /* 14 + 30 = 44 bytes; Ethernet pads to 60 with junk that must not leak in. */
        f = eth(0x0800, &ip4);
        putfill(&f, 0xee, 60 - f.n);
        expect_ok("padded udp", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, "AB", 2);
        expect_truncations("padded udp", 1, &f, 14 + ip4.n);

        f = eth(0x0800, &ip4t);
        putfill(&f, 0x00, 60 - f.n);
        expect_ok("padded tcp", 1, &f, TRANSPORT_TCP, 4, V4_A, V4_B, 5060, 40000, 54, "XY", 2);

        f = eth(0x86dd, &ip6);
        putfill(&f, 0xee, 8);
        expect_ok("trailer after v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5060, 62, "AB", 2);

        /* UDP length shorter than the IP payload: payload clamped to UDP length. */
        u = udp(5060, 5060, "ABCDEF", 6, 8 + 3);
        ip4 = v4(17, &u);
        f = eth(0x0800, &ip4);
        expect_ok("udp shorter than ip", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, "ABC",
                  3);
}

static void test_names(void)
{
        for (int i = 0; i < DECODE__MAX; i++) {
                const char *a = decode_verdict_name((DecodeVerdict)i);
                CHECK(a != NULL && strcmp(a, "unknown") != 0, "verdict %d has no name", i);
                for (const char *c = a; c && *c; c++)
                        CHECK((*c >= 'a' && *c <= 'z') || *c == '_',
                              "verdict name %s not a counter name", a);
                for (int j = 0; j < i; j++)
                        CHECK(strcmp(a, decode_verdict_name((DecodeVerdict)j)) != 0,
                              "verdict names %d and %d equal", i, j);
        }
        CHECK(strcmp(decode_verdict_name(DECODE_OK), "ok") == 0, "ok name");
        CHECK(strcmp(decode_verdict_name(DECODE__MAX), "unknown") == 0, "out of range name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_UDP), "udp") == 0, "udp name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_TCP), "tcp") == 0, "tcp name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_NONE), "none") == 0, "none name");

        static const int supported[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
        static const int unsupported[] = {-1, 9, 105, 127, 147, 192, 65536};
        for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++) {
                CHECK(decode_linktype_supported(supported[i]), "linktype %d", supported[i]);
                CHECK(strcmp(decode_linktype_name(supported[i]), "unknown") != 0,
                      "linktype %d name", supported[i]);
        }
        for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
                CHECK(!decode_linktype_supported(unsupported[i]), "linktype %d", unsupported[i]);
                CHECK(strcmp(decode_linktype_name(unsupported[i]), "unknown") == 0,
                      "linktype %d name", unsupported[i]);
        }
        CHECK(strcmp(decode_linktype_name(1), "Ethernet") == 0, "ethernet name");
}

int main(void)
{
        test_link_types();
        test_vlan();
        test_padding();
        test_names();
        free(heap);
        heap = NULL;
        return check_exit("decode_link");
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame -> IP endpoints + UDP/TCP payload.
 *
 * Every byte is read through parser/cursor.h. Each layer narrows the cursor
 * to the length the layer above declared (IPv4 total length, IPv6 payload
 * length, UDP length), so Ethernet padding never leaks into a payload and a
 * lying inner length cannot reach past its container.
 *
 * "bounded" below says whether the cursor's end is a length some header
 * declared (and that we verified was captured) or merely where the capture
 * stopped. Running out of bytes in the first case means the packet itself is
 * malformed; in the second it means the capture was cut short (snaplen).
 *
 * Work happens on a scratch DecodedPacket which is copied to *out only on
 * DECODE_OK or DECODE_E_FRAGMENT, so *out is untouched on every other verdict.
 */
#include "decode.h"

#include "cursor.h"

#include <string.h>

/* Ethertypes (IEEE 802 numbers registry); GRE reuses them as protocol types. */
#define ETHERTYPE_IPV4      0x0800
#define ETHERTYPE_IPV6      0x86dd
#define ETHERTYPE_TEB       0x6558 /* transparent Ethernet bridging (RFC 1701) */
#define ETHERTYPE_ERSPAN_2  0x88be /* ERSPAN type I (no header) and II */
#define ETHERTYPE_ERSPAN_3  0x22eb
#define ETHERTYPE_VLAN      0x8100 /* IEEE 802.1Q C-tag */
#define ETHERTYPE_QINQ      0x88a8 /* IEEE 802.1ad S-tag */
#define ETHERTYPE_QINQ_9100 0x9100 /* pre-standard stacked VLAN tag */
#define ETHER_MIN_ETHERTYPE 0x0600 /* below: an 802.3 length field (LLC follows) */

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
#define PROTO_HOPOPTS  0
#define PROTO_IPIP     4
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_IPV6     41
#define PROTO_ROUTING  43
#define PROTO_GRE      47
#define PROTO_FRAGMENT 44
#define PROTO_AH       51
#define PROTO_NONE     59
#define PROTO_DSTOPTS  60
#define PROTO_MH       135
#define PROTO_HIP      139
#define PROTO_SHIM6    140

/* Linktype numbers (tcpdump.org/linktypes.html; DLT_RAW differs per OS). */
#define LT_NULL       0
#define LT_ETHERNET   1
#define LT_RAW_DLT12  12
#define LT_RAW_DLT14  14
#define LT_RAW        101
#define LT_LOOP       108
#define LT_LINUX_SLL  113
#define LT_IPV4       228
#define LT_IPV6       229
#define LT_LINUX_SLL2 276

/* BSD address family values found in NULL/LOOP headers of various OSes. */
#define BSD_AF_INET          2
#define BSD_AF_INET6_LINUX   10
#define BSD_AF_INET6_BSD     24 /* NetBSD, OpenBSD, BSD/OS */
#define BSD_AF_INET6_FREEBSD 28 /* FreeBSD, DragonFly */
#define BSD_AF_INET6_DARWIN  30 /* macOS */

/* UDP destination ports of Ethernet-in-UDP tunnels (IANA service names registry). */
#define PORT_VXLAN  4789 /* RFC 7348 */
#define PORT_GENEVE 6081 /* RFC 8926 */

/* Hard limits on attacker-growable nesting. */
#define MAX_VLAN_TAGS    4
#define MAX_TUNNEL_DEPTH 4
#define MAX_EXT_HEADERS  8

static DecodeVerdict decode_ipv4(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt);
static DecodeVerdict decode_ipv6(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt);
static DecodeVerdict decode_ipv6_chain(uint8_t next, Cursor c, bool bounded, unsigned depth,
                                       DecodedPacket *pkt);
static DecodeVerdict decode_ethernet(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt);
static DecodeVerdict decode_ethertype(uint16_t ethertype, Cursor c, bool bounded, unsigned depth,
                                      DecodedPacket *pkt);

/* A header that does not fit: the packet lied (bounded) or the capture stopped. */
static DecodeVerdict short_verdict(bool bounded, DecodeVerdict malformed)
{
        return bounded ? malformed : DECODE_E_TRUNCATED;
}

static void set_addr(Endpoint *e, uint8_t family)
{
        memset(e, 0, sizeof *e);
        e->family = family;
}

/* The version nibble picks the header of an IP packet inside a tunnel. */
static DecodeVerdict decode_ip_inner(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        Cursor peek = c;
        uint8_t v;

        if (!cur_u8(&peek, &v))
                return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        switch (v >> 4) {
        case 4:
                return decode_ipv4(c, bounded, depth, pkt);
        case 6:
                return decode_ipv6(c, bounded, depth, pkt);
        default:
                return DECODE_E_BAD_IP;
        }
}

/*
 * RFC 7348 §5: flags(8) reserved(24) VNI(24) reserved(8), then an Ethernet
 * frame. Only the I flag is required; the Group Policy extension's G bit
 * (draft-smith-vxlan-group-policy) is tolerated, any other reserved flag bit
 * means this is not VXLAN (e.g. SIP sent to port 4789) and the datagram is
 * reported as it is. Returns DECODE__MAX for "not VXLAN".
 */
static DecodeVerdict decode_vxlan(Cursor c, unsigned depth, DecodedPacket *pkt)
{
        uint8_t flags;
        Cursor h = c;

        if (!cur_u8(&h, &flags) || (flags & 0x08) == 0 || (flags & 0x77) != 0)
                return DECODE__MAX;
        if (!cur_skip(&h, 7))
                return DECODE_E_BAD_TUNNEL;
        if (depth >= MAX_TUNNEL_DEPTH)
                return DECODE_E_BAD_TUNNEL;
        return decode_ethernet(h, true, depth + 1, pkt);
}

/*
 * RFC 8926 §3.4: Ver(2) OptLen(6, 4-octet units) O C Rsvd(6) Protocol(16)
 * VNI(24) Reserved(8), options, then the payload the protocol type names
 * (0x6558 Ethernet, or IPv4/IPv6). A version other than 0 is not Geneve.
 * Returns DECODE__MAX for "not Geneve".
 */
static DecodeVerdict decode_geneve(Cursor c, unsigned depth, DecodedPacket *pkt)
{
        uint8_t vopt, flags;
        uint16_t proto;
        Cursor h = c;

        if (!cur_u8(&h, &vopt) || (vopt >> 6) != 0)
                return DECODE__MAX;
        if (!cur_u8(&h, &flags) || !cur_u16be(&h, &proto) || !cur_skip(&h, 4) ||
            !cur_skip(&h, (size_t)(vopt & 0x3f) * 4))
                return DECODE_E_BAD_TUNNEL;
        if (depth >= MAX_TUNNEL_DEPTH)
                return DECODE_E_BAD_TUNNEL;
        if (proto == ETHERTYPE_TEB)
                return decode_ethernet(h, true, depth + 1, pkt);
        return decode_ethertype(proto, h, true, depth + 1, pkt);
}

/*
 * ERSPAN (draft-foschiano-erspan-03 §4.1/§4.2), carried in GRE:
 *
 *   type II  (0x88be, S bit set)  Ver=1(4) VLAN(12) COS(3) En(2) T(1)
 *                                  Session(10) Reserved(12) Index(20)
 *   type III (0x22eb)              Ver=2(4) VLAN(12) COS(3) BSO(2) T(1)
 *                                  Session(10) Timestamp(32) SGT(16) P(1)
 *                                  FT(5) HwID(6) D(1) Gra(2) O(1)
 *                                  [+ 8-octet platform sub-header when O]
 *
 * Type I is 0x88be without a GRE sequence number and has no header at all.
 * The mirrored frame is Ethernet, except type III with FT=2 (IP).
 */
static DecodeVerdict decode_erspan(uint16_t proto, bool seq, Cursor c, bool bounded, unsigned depth,
                                   DecodedPacket *pkt)
{
        uint8_t ver, b;

        if (proto == ETHERTYPE_ERSPAN_2 && !seq)
                return decode_ethernet(c, bounded, depth, pkt);
        {
                Cursor peek = c;
                if (!cur_u8(&peek, &ver))
                        return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        }
        ver >>= 4;
        if (proto == ETHERTYPE_ERSPAN_2) {
                if (ver != 1)
                        return DECODE_E_BAD_TUNNEL;
                if (!cur_skip(&c, 8))
                        return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
                return decode_ethernet(c, bounded, depth, pkt);
        }
        if (ver != 2)
                return DECODE_E_BAD_TUNNEL;
        if (!cur_skip(&c, 10) || !cur_u8(&c, &b))
                return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        {
                uint8_t ft = (uint8_t)((b >> 2) & 0x1f), o;
                if (!cur_u8(&c, &o))
                        return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
                if ((o & 0x01) != 0 && !cur_skip(&c, 8))
                        return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
                switch (ft) {
                case 0:
                        return decode_ethernet(c, bounded, depth, pkt);
                case 2:
                        return decode_ip_inner(c, bounded, depth, pkt);
                default:
                        return DECODE_E_NOT_IP;
                }
        }
}

/*
 * GRE, RFC 2784 §2 with the key and sequence number of RFC 2890 §2:
 *
 *   C R K S s Recur(3) Flags(5) Ver(3) | Protocol Type(16)
 *   [Checksum(16) Reserved1(16)]   when C (or R, RFC 1701)
 *   [Key(32)]                      when K
 *   [Sequence Number(32)]          when S
 *
 * Version 1 is PPTP's enhanced GRE (RFC 2637), which carries PPP: not IP for
 * us. Source routing (R, RFC 1701) is obsolete and not decoded. The checksum
 * is not verified, for the same offload reasons as elsewhere.
 */
static DecodeVerdict decode_gre(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        uint16_t flags, proto;
        size_t opt = 0;

        if (!cur_u16be(&c, &flags) || !cur_u16be(&c, &proto))
                return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        if ((flags & 0x0007) != 0)
                return DECODE_E_NOT_IP;
        if ((flags & 0x4000) != 0)
                return DECODE_E_BAD_TUNNEL;
        if ((flags & 0x8000) != 0)
                opt += 4;
        if ((flags & 0x2000) != 0)
                opt += 4;
        if ((flags & 0x1000) != 0)
                opt += 4;
        if (!cur_skip(&c, opt))
                return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        if (depth >= MAX_TUNNEL_DEPTH)
                return DECODE_E_BAD_TUNNEL;
        switch (proto) {
        case ETHERTYPE_TEB:
                return decode_ethernet(c, bounded, depth + 1, pkt);
        case ETHERTYPE_ERSPAN_2:
        case ETHERTYPE_ERSPAN_3:
                return decode_erspan(proto, (flags & 0x1000) != 0, c, bounded, depth + 1, pkt);
        default:
                return decode_ethertype(proto, c, bounded, depth + 1, pkt);
        }
}

/*
 * RFC 768: source port, destination port, length (header included), checksum.
 * The payload is clamped to the UDP length; bytes beyond it (inside the IP
 * datagram) are ignored. The checksum is not verified: captures taken on the
 * sending host carry offloaded, not yet computed checksums.
 */
static DecodeVerdict decode_udp(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        uint16_t sport, dport, ulen, csum;
        DecodeVerdict v;

        if (!cur_u16be(&c, &sport) || !cur_u16be(&c, &dport) || !cur_u16be(&c, &ulen) ||
            !cur_u16be(&c, &csum))
                return short_verdict(bounded, DECODE_E_BAD_TRANSPORT);
        if (ulen < 8)
                return DECODE_E_BAD_TRANSPORT;
        if (!cur_clamp(&c, (size_t)ulen - 8))
                return short_verdict(bounded, DECODE_E_BAD_TRANSPORT);
        if (cur_left(&c) == 0)
                return DECODE_E_EMPTY;

        /* Mirrored traffic delivered in a UDP tunnel: the datagram is complete
         * here (its length was checked), so the inner frame is bounded. */
        v = DECODE__MAX;
        if (dport == PORT_VXLAN)
                v = decode_vxlan(c, depth, pkt);
        else if (dport == PORT_GENEVE)
                v = decode_geneve(c, depth, pkt);
        if (v != DECODE__MAX)
                return v;

        pkt->transport = TRANSPORT_UDP;
        pkt->src.port = sport;
        pkt->dst.port = dport;
        pkt->payload = c.p;
        pkt->payload_len = cur_left(&c);
        return DECODE_OK;
}

/*
 * RFC 9293 §3.1: the data offset (in 32-bit words, at least 5) gives where
 * the options end and data begins. A segment without data is still reported:
 * the stream reassembler needs SYN, FIN and RST.
 */
static DecodeVerdict decode_tcp(Cursor c, bool bounded, DecodedPacket *pkt)
{
        uint16_t sport, dport, off_flags, window, csum, urg;
        uint32_t seq, ack;
        size_t hlen;

        if (!cur_u16be(&c, &sport) || !cur_u16be(&c, &dport) || !cur_u32be(&c, &seq) ||
            !cur_u32be(&c, &ack) || !cur_u16be(&c, &off_flags) || !cur_u16be(&c, &window) ||
            !cur_u16be(&c, &csum) || !cur_u16be(&c, &urg))
                return short_verdict(bounded, DECODE_E_BAD_TRANSPORT);
        hlen = (size_t)(off_flags >> 12) * 4;
        if (hlen < 20)
                return DECODE_E_BAD_TRANSPORT;
        if (!cur_skip(&c, hlen - 20))
                return short_verdict(bounded, DECODE_E_BAD_TRANSPORT);

        pkt->transport = TRANSPORT_TCP;
        pkt->src.port = sport;
        pkt->dst.port = dport;
        pkt->tcp_seq = seq;
        pkt->tcp_ack = ack;
        pkt->tcp_flags = (uint8_t)(off_flags & 0xff);
        pkt->payload = c.p;
        pkt->payload_len = cur_left(&c);
        return DECODE_OK;
}

/*
 * The payload of an (unfragmented or reassembled) IP datagram: UDP, TCP, or
 * another IP header (RFC 2003 IPv4-in-IP, RFC 4213 IPv6-in-IPv4 / RFC 2473
 * IPv6 tunnels), or GRE; decapsulated up to MAX_TUNNEL_DEPTH levels in all
 * (IP-in-IP, GRE, ERSPAN, VXLAN and Geneve each count as one level).
 */
static DecodeVerdict decode_transport(uint8_t proto, Cursor c, bool bounded, unsigned depth,
                                      DecodedPacket *pkt)
{
        pkt->ip_proto = proto;
        switch (proto) {
        case PROTO_UDP:
                return decode_udp(c, bounded, depth, pkt);
        case PROTO_GRE:
                return decode_gre(c, bounded, depth, pkt);
        case PROTO_TCP:
                return decode_tcp(c, bounded, pkt);
        case PROTO_IPIP:
                if (depth >= MAX_TUNNEL_DEPTH)
                        return DECODE_E_BAD_IP;
                return decode_ipv4(c, bounded, depth + 1, pkt);
        case PROTO_IPV6:
                if (depth >= MAX_TUNNEL_DEPTH)
                        return DECODE_E_BAD_IP;
                return decode_ipv6(c, bounded, depth + 1, pkt);
        default:
                return DECODE_E_NOT_TRANSPORT;
        }
}

/*
 * RFC 791 §3.1 (fragmentation fields as in RFC 791 §3.2). The header checksum
 * is not verified (offloading on the capturing host). A total length of 0 is
 * what TCP segmentation offload leaves in locally captured outgoing frames;
 * then the captured bytes are all we know.
 */
static DecodeVerdict decode_ipv4(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        Cursor h = c;
        uint8_t vihl, tos, ttl, proto;
        uint16_t total, id, frag, csum;
        size_t ihl;
        bool inner_bounded = true;

        if (!cur_u8(&h, &vihl))
                return short_verdict(bounded, DECODE_E_BAD_IP);
        if ((vihl >> 4) != 4)
                return DECODE_E_BAD_IP;
        ihl = (size_t)(vihl & 0x0f) * 4;
        if (ihl < 20)
                return DECODE_E_BAD_IP;
        if (!cur_u8(&h, &tos) || !cur_u16be(&h, &total) || !cur_u16be(&h, &id) ||
            !cur_u16be(&h, &frag) || !cur_u8(&h, &ttl) || !cur_u8(&h, &proto) ||
            !cur_u16be(&h, &csum))
                return short_verdict(bounded, DECODE_E_BAD_IP);
        set_addr(&pkt->src, 4);
        set_addr(&pkt->dst, 4);
        if (!cur_bytes(&h, pkt->src.addr, 4) || !cur_bytes(&h, pkt->dst.addr, 4))
                return short_verdict(bounded, DECODE_E_BAD_IP);

        if (total == 0) {
                total = cur_left(&c) > 0xffff ? 0xffff : (uint16_t)cur_left(&c);
                inner_bounded = bounded;
        }
        if (total < ihl)
                return inner_bounded ? DECODE_E_BAD_IP : DECODE_E_TRUNCATED;
        /* Clamp to the datagram: drops Ethernet padding; short = snaplen cut. */
        if (!cur_clamp(&c, total))
                return short_verdict(bounded, DECODE_E_BAD_IP);
        if (!cur_skip(&c, ihl))
                return short_verdict(inner_bounded, DECODE_E_BAD_IP);

        if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) {
                pkt->ip_proto = proto;
                pkt->ip_fragment = true;
                pkt->ip_id = id;
                pkt->ip_frag_offset = (uint16_t)((frag & 0x1fff) * 8);
                pkt->ip_more_fragments = (frag & 0x2000) != 0;
                pkt->payload = c.p;
                pkt->payload_len = cur_left(&c);
                return DECODE_E_FRAGMENT;
        }
        return decode_transport(proto, c, inner_bounded, depth, pkt);
}

/*
 * RFC 8200 §4: walk the extension header chain up to the upper-layer header.
 * Hop-by-hop, routing, destination options, mobility (RFC 6275), HIP and
 * shim6 share the "next header, length in 8-octet units beyond the first"
 * layout; AH (RFC 4302 §2.2) counts 4-octet units beyond the first two.
 * A fragment header (§4.5) with offset 0 and M clear is an atomic fragment
 * (RFC 6946) and is processed as an unfragmented packet.
 */
static DecodeVerdict decode_ipv6_chain(uint8_t next, Cursor c, bool bounded, unsigned depth,
                                       DecodedPacket *pkt)
{
        for (unsigned n = 0;; n++) {
                uint8_t nh, len, reserved;
                uint16_t offlg;
                uint32_t id;

                switch (next) {
                case PROTO_HOPOPTS:
                case PROTO_ROUTING:
                case PROTO_DSTOPTS:
                case PROTO_MH:
                case PROTO_HIP:
                case PROTO_SHIM6:
                        if (n >= MAX_EXT_HEADERS)
                                return DECODE_E_BAD_IP;
                        if (!cur_u8(&c, &nh) || !cur_u8(&c, &len) ||
                            !cur_skip(&c, ((size_t)len + 1) * 8 - 2))
                                return short_verdict(bounded, DECODE_E_BAD_IP);
                        next = nh;
                        break;
                case PROTO_AH:
                        if (n >= MAX_EXT_HEADERS)
                                return DECODE_E_BAD_IP;
                        if (!cur_u8(&c, &nh) || !cur_u8(&c, &len) ||
                            !cur_skip(&c, ((size_t)len + 2) * 4 - 2))
                                return short_verdict(bounded, DECODE_E_BAD_IP);
                        next = nh;
                        break;
                case PROTO_FRAGMENT:
                        if (n >= MAX_EXT_HEADERS)
                                return DECODE_E_BAD_IP;
                        if (!cur_u8(&c, &nh) || !cur_u8(&c, &reserved) || !cur_u16be(&c, &offlg) ||
                            !cur_u32be(&c, &id))
                                return short_verdict(bounded, DECODE_E_BAD_IP);
                        if ((offlg & 0xfff8) != 0 || (offlg & 1) != 0) {
                                pkt->ip_proto = nh;
                                pkt->ip_fragment = true;
                                pkt->ip_id = id;
                                pkt->ip_frag_offset = (uint16_t)(offlg & 0xfff8);
                                pkt->ip_more_fragments = (offlg & 1) != 0;
                                pkt->payload = c.p;
                                pkt->payload_len = cur_left(&c);
                                return DECODE_E_FRAGMENT;
                        }
                        next = nh;
                        break;
                case PROTO_NONE:
                        pkt->ip_proto = next;
                        return DECODE_E_NOT_TRANSPORT;
                default:
                        return decode_transport(next, c, bounded, depth, pkt);
                }
        }
}

/*
 * RFC 8200 §3. A payload length of 0 with a hop-by-hop header is a jumbogram
 * (RFC 2675); its real length hides in an option, so the captured bytes are
 * used instead.
 */
static DecodeVerdict decode_ipv6(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        uint32_t vtcfl;
        uint16_t plen;
        uint8_t next, hlim;
        bool inner_bounded = true;

        if (!cur_u32be(&c, &vtcfl)) {
                /* Not even the version nibble may be there. */
                uint8_t v;
                Cursor peek = c;
                if (cur_u8(&peek, &v) && (v >> 4) != 6)
                        return DECODE_E_BAD_IP;
                return short_verdict(bounded, DECODE_E_BAD_IP);
        }
        if ((vtcfl >> 28) != 6)
                return DECODE_E_BAD_IP;
        if (!cur_u16be(&c, &plen) || !cur_u8(&c, &next) || !cur_u8(&c, &hlim))
                return short_verdict(bounded, DECODE_E_BAD_IP);
        set_addr(&pkt->src, 6);
        set_addr(&pkt->dst, 6);
        if (!cur_bytes(&c, pkt->src.addr, 16) || !cur_bytes(&c, pkt->dst.addr, 16))
                return short_verdict(bounded, DECODE_E_BAD_IP);

        if (plen == 0 && next == PROTO_HOPOPTS)
                inner_bounded = bounded;
        else if (!cur_clamp(&c, plen))
                return short_verdict(bounded, DECODE_E_BAD_IP);
        return decode_ipv6_chain(next, c, inner_bounded, depth, pkt);
}

/* The version nibble picks the header (raw IP link types, decode_ip()). */
static DecodeVerdict decode_ip_any(Cursor c, DecodedPacket *pkt)
{
        Cursor peek = c;
        uint8_t v;

        if (!cur_u8(&peek, &v))
                return DECODE_E_TRUNCATED;
        switch (v >> 4) {
        case 4:
                return decode_ipv4(c, false, 0, pkt);
        case 6:
                return decode_ipv6(c, false, 0, pkt);
        default:
                return DECODE_E_BAD_IP;
        }
}

/*
 * IEEE 802.1Q/802.1ad: each tag is 2 bytes of TCI followed by the next
 * ethertype. Stacks deeper than MAX_VLAN_TAGS are not decoded.
 */
static DecodeVerdict decode_ethertype(uint16_t ethertype, Cursor c, bool bounded, unsigned depth,
                                      DecodedPacket *pkt)
{
        for (unsigned tags = 0; ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ ||
                                ethertype == ETHERTYPE_QINQ_9100;
             tags++) {
                if (tags >= MAX_VLAN_TAGS)
                        return DECODE_E_NOT_IP;
                if (!cur_skip(&c, 2) || !cur_u16be(&c, &ethertype))
                        return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        }
        switch (ethertype) {
        case ETHERTYPE_IPV4:
                return decode_ipv4(c, bounded, depth, pkt);
        case ETHERTYPE_IPV6:
                return decode_ipv6(c, bounded, depth, pkt);
        default:
                return DECODE_E_NOT_IP;
        }
}

/*
 * IEEE 802.3 header: dst(6) src(6) ethertype(2). Also the frame inside a
 * tunnel (bounded there: a short inner header is a malformed tunnel).
 */
static DecodeVerdict decode_ethernet(Cursor c, bool bounded, unsigned depth, DecodedPacket *pkt)
{
        uint16_t ethertype;

        if (!cur_skip(&c, 12) || !cur_u16be(&c, &ethertype))
                return short_verdict(bounded, DECODE_E_BAD_TUNNEL);
        if (ethertype < ETHER_MIN_ETHERTYPE)
                return DECODE_E_NOT_IP;
        return decode_ethertype(ethertype, c, bounded, depth, pkt);
}

static DecodeVerdict decode_af(uint32_t af, Cursor c, DecodedPacket *pkt)
{
        switch (af) {
        case BSD_AF_INET:
                return decode_ipv4(c, false, 0, pkt);
        case BSD_AF_INET6_LINUX:
        case BSD_AF_INET6_BSD:
        case BSD_AF_INET6_FREEBSD:
        case BSD_AF_INET6_DARWIN:
                return decode_ipv6(c, false, 0, pkt);
        default:
                return DECODE_E_NOT_IP;
        }
}

static bool af_known(uint32_t af)
{
        return af == BSD_AF_INET || af == BSD_AF_INET6_LINUX || af == BSD_AF_INET6_BSD ||
               af == BSD_AF_INET6_FREEBSD || af == BSD_AF_INET6_DARWIN;
}

/*
 * Link layers, see https://www.tcpdump.org/linktypes.html:
 *   Ethernet   dst(6) src(6) ethertype(2)
 *   SLL        packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
 *   SLL2       protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1)
 *              addr len(1) addr(8)
 *   NULL       AF as u32 in the capturing host's byte order: try both
 *   LOOP       AF as u32 big-endian
 */
static DecodeVerdict decode_link(int linktype, Cursor c, DecodedPacket *pkt)
{
        uint16_t ethertype;
        uint32_t af;
        Cursor peek;

        switch (linktype) {
        case LT_ETHERNET:
                return decode_ethernet(c, false, 0, pkt);
        case LT_LINUX_SLL:
                if (!cur_skip(&c, 14) || !cur_u16be(&c, &ethertype))
                        return DECODE_E_TRUNCATED;
                return decode_ethertype(ethertype, c, false, 0, pkt);
        case LT_LINUX_SLL2:
                if (!cur_u16be(&c, &ethertype) || !cur_skip(&c, 18))
                        return DECODE_E_TRUNCATED;
                return decode_ethertype(ethertype, c, false, 0, pkt);
        case LT_NULL:
                peek = c;
                if (!cur_u32le(&peek, &af))
                        return DECODE_E_TRUNCATED;
                if (!af_known(af)) {
                        peek = c;
                        if (!cur_u32be(&peek, &af))
                                return DECODE_E_TRUNCATED;
                }
                return decode_af(af, peek, pkt);
        case LT_LOOP:
                if (!cur_u32be(&c, &af))
                        return DECODE_E_TRUNCATED;
                return decode_af(af, c, pkt);
        case LT_RAW:
        case LT_RAW_DLT12:
        case LT_RAW_DLT14:
                return decode_ip_any(c, pkt);
        case LT_IPV4:
                return decode_ipv4(c, false, 0, pkt);
        case LT_IPV6:
                return decode_ipv6(c, false, 0, pkt);
        default:
                return DECODE_E_LINKTYPE;
        }
}

static DecodeVerdict finish(DecodeVerdict v, const DecodedPacket *pkt, DecodedPacket *out)
{
        if (v == DECODE_OK || v == DECODE_E_FRAGMENT)
                *out = *pkt;
        return v;
}

DecodeVerdict decode_packet(int linktype, const uint8_t *data, size_t caplen, DecodedPacket *out)
{
        DecodedPacket pkt = {0};

        if (data == NULL)
                caplen = 0;
        if (!decode_linktype_supported(linktype))
                return DECODE_E_LINKTYPE;
        return finish(decode_link(linktype, cur_make(data, caplen), &pkt), &pkt, out);
}

DecodeVerdict decode_ip(const uint8_t *data, size_t len, DecodedPacket *out)
{
        DecodedPacket pkt = {0};

        if (data == NULL)
                len = 0;
        return finish(decode_ip_any(cur_make(data, len), &pkt), &pkt, out);
}

DecodeVerdict decode_ip_payload(uint8_t ip_proto, const uint8_t *data, size_t len,
                                DecodedPacket *out)
{
        DecodedPacket pkt = {0};
        DecodeVerdict v;

        if (data == NULL)
                len = 0;
        pkt.src = out->src;
        pkt.dst = out->dst;
        pkt.src.port = 0;
        pkt.dst.port = 0;
        /* A reassembled datagram has its full length: shortfalls are malformation. */
        if (pkt.src.family == 6)
                v = decode_ipv6_chain(ip_proto, cur_make(data, len), true, 0, &pkt);
        else
                v = decode_transport(ip_proto, cur_make(data, len), true, 0, &pkt);
        return finish(v, &pkt, out);
}

bool decode_linktype_supported(int linktype)
{
        switch (linktype) {
        case LT_NULL:
        case LT_ETHERNET:
        case LT_RAW_DLT12:
        case LT_RAW_DLT14:
        case LT_RAW:
        case LT_LOOP:
        case LT_LINUX_SLL:
        case LT_IPV4:
        case LT_IPV6:
        case LT_LINUX_SLL2:
                return true;
        default:
                return false;
        }
}

const char *decode_linktype_name(int linktype)
{
        switch (linktype) {
        case LT_NULL:
                return "BSD loopback";
        case LT_ETHERNET:
                return "Ethernet";
        case LT_RAW_DLT12:
        case LT_RAW_DLT14:
        case LT_RAW:
                return "raw IP";
        case LT_LOOP:
                return "OpenBSD loopback";
        case LT_LINUX_SLL:
                return "Linux cooked (SLL)";
        case LT_IPV4:
                return "raw IPv4";
        case LT_IPV6:
                return "raw IPv6";
        case LT_LINUX_SLL2:
                return "Linux cooked v2 (SLL2)";
        default:
                return "unknown";
        }
}

const char *decode_verdict_name(DecodeVerdict v)
{
        switch (v) {
        case DECODE_OK:
                return "ok";
        case DECODE_E_TRUNCATED:
                return "truncated";
        case DECODE_E_LINKTYPE:
                return "linktype";
        case DECODE_E_NOT_IP:
                return "not_ip";
        case DECODE_E_BAD_IP:
                return "bad_ip";
        case DECODE_E_FRAGMENT:
                return "fragment";
        case DECODE_E_NOT_TRANSPORT:
                return "not_transport";
        case DECODE_E_BAD_TRANSPORT:
                return "bad_transport";
        case DECODE_E_EMPTY:
                return "empty";
        case DECODE_E_BAD_TUNNEL:
                return "bad_tunnel";
        case DECODE__MAX:
                break;
        }
        return "unknown";
}

const char *decode_transport_name(Transport t)
{
        switch (t) {
        case TRANSPORT_UDP:
                return "udp";
        case TRANSPORT_TCP:
                return "tcp";
        case TRANSPORT_WS:
                return "ws";
        case TRANSPORT_NONE:
                break;
        }
        return "none";
}

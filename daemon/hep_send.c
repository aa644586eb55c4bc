/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP out: one diagnosis record, one HEPv3 packet over UDP (hep_send.h).
 *
 * HEP3 (the sipcapture project's specification; parser/hep.c reads the
 * same layout), all integers big-endian:
 *
 *   "HEP3" | total length (16) | chunk | chunk | ...
 *   chunk:  vendor id (16, 0 = generic) | type (16) | length (16, header included) | body
 *
 *   what we send, in this order:
 *      1  IP family (2, or 10 for IPv6)     9/10  last_seen: seconds, microseconds
 *      2  IP protocol (17 udp, 6 tcp/ws)      11  payload type: 100 (log)
 *    3/4  client, server IPv4 address         12  capture agent id (hep_id)
 *    5/6  ... or IPv6 address                 14  auth key (hep_auth_key), when set
 *    7/8  client, server port                 17  correlation id: the Call-ID, when known
 *     15  payload: the record's JSON line (the json sink's, without newline)
 *
 * The correlation id is followed by the payload chunk on purpose: Kamailio's
 * sipcapture (HOMER's capture node before heplify-server) reads chunk 17
 * with strlen(), and the next chunk's vendor id (0) ends the string there.
 */
#include "hep_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "sink.h"
#include "../parser/hep.h"
#include "../analysis/hepauth.h"

#define HEP3_HEADER_LEN 6
#define CHUNK_HDR_LEN   6
#define HEP_FAMILY_V4   2  /* AF_INET everywhere */
#define HEP_FAMILY_V6   10 /* Linux's AF_INET6, as heplify and Kamailio send it */
#define IP_PROTO_TCP    6
#define IP_PROTO_UDP    17

/* ---- encoder ------------------------------------------------------------ */

/* Bounded writer: the first chunk that does not fit sets ok = false. */
typedef struct {
        uint8_t *p;
        size_t cap, len;
        bool ok;
} Writer;

static void put_chunk(Writer *w, uint16_t type, const void *body, size_t n)
{
        uint8_t *o;

        if (!w->ok || n > HEP_SEND_MAX || w->cap - w->len < CHUNK_HDR_LEN + n ||
            w->len + CHUNK_HDR_LEN + n > HEP_SEND_MAX) {
                w->ok = false;
                return;
        }
        o = w->p + w->len;
        o[0] = 0;
        o[1] = 0;
        o[2] = (uint8_t)(type >> 8);
        o[3] = (uint8_t)type;
        o[4] = (uint8_t)((CHUNK_HDR_LEN + n) >> 8);
        o[5] = (uint8_t)(CHUNK_HDR_LEN + n);
        if (n)
                memcpy(o + CHUNK_HDR_LEN, body, n);
        w->len += CHUNK_HDR_LEN + n;
}

static void put_u8(Writer *w, uint16_t type, uint8_t v)
{
        put_chunk(w, type, &v, 1);
}

static void put_u16(Writer *w, uint16_t type, uint16_t v)
{
        uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

        put_chunk(w, type, b, sizeof b);
}

static void put_u32(Writer *w, uint16_t type, uint32_t v)
{
        uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

        put_chunk(w, type, b, sizeof b);
}

/* The 16 bytes of e as IPv6: IPv4 becomes ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), none is ::. */
static void as_v6(const Endpoint *e, uint8_t out[16])
{
        memset(out, 0, 16);
        if (e->family == 6) {
                memcpy(out, e->addr, 16);
        } else if (e->family == 4) {
                out[10] = 0xff;
                out[11] = 0xff;
                memcpy(out + 12, e->addr, 4);
        }
}

/* Chunk 2: what the record says the SIP went over. */
static uint8_t ip_proto_of(const char *transport)
{
        return strcmp(transport, "tcp") == 0 || strcmp(transport, "ws") == 0 ? IP_PROTO_TCP
                                                                             : IP_PROTO_UDP;
}

size_t hep_send_encode(const Diagnosis *d, const char *json, size_t json_len,
                       const HepSendParams *p, uint8_t *out, size_t cap)
{
        Writer w = {.p = out, .cap = cap, .len = HEP3_HEADER_LEN, .ok = true};
        const Endpoint *c = &d->client_ep, *s = &d->server_ep;
        char transport[sizeof d->transport];
        size_t cid_len = strnlen(d->call_id, sizeof d->call_id);
        int64_t ts = d->last_seen_us > 0    ? d->last_seen_us
                     : d->first_seen_us > 0 ? d->first_seen_us
                                            : p->now_us;

        if (!out || cap < HEP3_HEADER_LEN || (!json && json_len))
                return 0;
        memcpy(transport, d->transport, sizeof transport);
        transport[sizeof transport - 1] = '\0';
        if (ts < 0)
                ts = 0;

        /* One family for both: IPv6 when either side is (a mixed pair cannot
         * come from one packet, but a record is not a packet). */
        if (c->family == 6 || s->family == 6) {
                uint8_t a[16];

                put_u8(&w, HEP3_CHUNK_IP_FAMILY, HEP_FAMILY_V6);
                put_u8(&w, HEP3_CHUNK_IP_PROTO, ip_proto_of(transport));
                as_v6(c, a);
                put_chunk(&w, HEP3_CHUNK_IPV6_SRC, a, 16);
                as_v6(s, a);
                put_chunk(&w, HEP3_CHUNK_IPV6_DST, a, 16);
        } else {
                static const uint8_t none[4];

                put_u8(&w, HEP3_CHUNK_IP_FAMILY, HEP_FAMILY_V4);
                put_u8(&w, HEP3_CHUNK_IP_PROTO, ip_proto_of(transport));
                put_chunk(&w, HEP3_CHUNK_IPV4_SRC, c->family == 4 ? c->addr : none, 4);
                put_chunk(&w, HEP3_CHUNK_IPV4_DST, s->family == 4 ? s->addr : none, 4);
        }
        put_u16(&w, HEP3_CHUNK_SRC_PORT, c->family ? c->port : 0);
        put_u16(&w, HEP3_CHUNK_DST_PORT, s->family ? s->port : 0);
        put_u32(&w, HEP3_CHUNK_TS_SEC, (uint32_t)(ts / 1000000));
        put_u32(&w, HEP3_CHUNK_TS_USEC, (uint32_t)(ts % 1000000));
        put_u8(&w, HEP3_CHUNK_PROTO_TYPE, HEP_SEND_PROTO_LOG);
        put_u32(&w, HEP3_CHUNK_CAPTURE_ID, p->capture_id);
        if (p->auth_key && p->auth_key_len)
                put_chunk(&w, HEP3_CHUNK_AUTH_KEY, p->auth_key, p->auth_key_len);
        if (cid_len)
                put_chunk(&w, HEP3_CHUNK_CORRELATION_ID, d->call_id, cid_len);
        put_chunk(&w, HEP3_CHUNK_PAYLOAD, json, json_len);
        if (!w.ok)
                return 0;
        memcpy(out, "HEP3", 4);
        out[4] = (uint8_t)(w.len >> 8);
        out[5] = (uint8_t)w.len;
        return w.len;
}

/* ---- destination -------------------------------------------------------- */

bool hep_send_parse_addr(const char *s, void *sa, size_t sa_cap, size_t *salen)
{
        char host[INET6_ADDRSTRLEN + 1];
        const char *colon, *h;
        size_t n;
        unsigned long port;
        char *end;

        if (!s || !(colon = strrchr(s, ':')) || colon[1] < '0' || colon[1] > '9')
                return false;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || *end || port < 1 || port > 65535 || strlen(colon + 1) > 5)
                return false;
        h = s;
        n = (size_t)(colon - s);
        if (s[0] == '[') {
                if (n < 3 || colon[-1] != ']')
                        return false;
                h = s + 1;
                n -= 2;
        }
        if (n == 0 || n >= sizeof host)
                return false;
        memcpy(host, h, n);
        host[n] = '\0';
        if (s[0] != '[') {
                struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

                /* inet_pton(AF_INET) takes only the dotted quad: no names, no "1.2". */
                if (inet_pton(AF_INET, host, &a4.sin_addr) != 1)
                        return false;
                if (sa) {
                        if (sa_cap < sizeof a4)
                                return false;
                        memcpy(sa, &a4, sizeof a4);
                }
                if (salen)
                        *salen = sizeof a4;
                return true;
        }
        {
                struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                                          .sin6_port = htons((uint16_t)port)};

                if (inet_pton(AF_INET6, host, &a6.sin6_addr) != 1)
                        return false;
                if (sa) {
                        if (sa_cap < sizeof a6)
                                return false;
                        memcpy(sa, &a6, sizeof a6);
                }
                if (salen)
                        *salen = sizeof a6;
                return true;
        }
}

/* ---- sender ------------------------------------------------------------- */

struct HepSender {
        int fd;
        uint32_t capture_id;
        uint8_t key[HEPAUTH_KEY_MAX];
        size_t key_len;
        HepSenderStats st;
        uint8_t buf[HEP_SEND_MAX];
};

int hep_sender_open(HepSender **out, const char *dest, uint32_t capture_id, const uint8_t *key,
                    size_t key_len, char *err, size_t errlen)
{
        struct sockaddr_storage ss;
        size_t salen = 0;
        _cleanup_(hep_sender_freep) HepSender *h = NULL;

        if (!hep_send_parse_addr(dest, &ss, sizeof ss, &salen))
                return error_set(err, errlen, -EINVAL,
                                 "--hep-send: invalid destination (expected a numeric IPV4:PORT or "
                                 "[IPV6]:PORT, port 1-65535)");
        if (key_len > sizeof h->key)
                return error_set(err, errlen, -EINVAL, "--hep-send: the HEP key is too long");
        h = calloc(1, sizeof *h);
        if (!h)
                return error_set(err, errlen, -ENOMEM, "--hep-send: out of memory");
        h->capture_id = capture_id;
        if (key_len)
                memcpy(h->key, key, key_len);
        h->key_len = key_len;
        h->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (h->fd < 0 || connect(h->fd, (const struct sockaddr *)&ss, (socklen_t)salen) < 0)
                return error_set(err, errlen, -errno,
                                 "--hep-send: cannot send to the destination: %s", strerror(errno));
        *out = TAKE_PTR(h);
        return 0;
}

HepSender *hep_sender_free(HepSender *h)
{
        if (!h)
                return NULL;
        if (h->fd >= 0)
                close(h->fd);
        /* The key is the listener's secret too. */
        explicit_bzero(h->key, sizeof h->key);
        free(h);
        return NULL;
}

void hep_sender_send(HepSender *h, const Diagnosis *d)
{
        HepSendParams p;
        size_t json_len = 0, n;
        char *json;
        bool retried = false;

        if (!h || !d)
                return;
        json = sink_json_line(d, &json_len);
        if (!json) {
                h->st.errors++;
                return;
        }
        p = (HepSendParams){
            .capture_id = h->capture_id,
            .auth_key = h->key_len ? h->key : NULL,
            .auth_key_len = h->key_len,
            .now_us = daemon_clock_us(CLOCK_REALTIME),
        };
        n = hep_send_encode(d, json, json_len, &p, h->buf, sizeof h->buf);
        free(json);
        if (n == 0) {
                h->st.errors++; /* larger than one HEP packet */
                return;
        }
        for (;;) {
                if (send(h->fd, h->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
                        h->st.packets++;
                        return;
                }
                if (errno == EINTR)
                        continue;
                h->st.errors++;
                /* The refusal is an earlier packet's (ICMP port unreachable,
                 * reported on the next send): this one was not sent. Once more,
                 * so that a collector that is back gets it. */
                if (errno == ECONNREFUSED && !retried) {
                        retried = true;
                        continue;
                }
                return;
        }
}

void hep_sender_get_stats(const HepSender *h, HepSenderStats *st)
{
        if (h)
                *st = h->st;
        else
                memset(st, 0, sizeof *st);
}

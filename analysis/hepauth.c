/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HEP authentication: the shared key of HEP3 chunk 14 and the allow-list of
 * agent addresses. See hepauth.h for the policy; analysis/pipeline.c applies
 * it, daemon/hep_listener.c uses the allow-list at accept and recvmmsg.
 */
#include "hepauth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_MAX 64 /* longer than any address/prefix text */

bool hepauth_set_key(HepAuthConfig *c, const char *key)
{
        size_t n = key ? strlen(key) : 0;

        if (n == 0 || n > HEPAUTH_KEY_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
                        return false;
        memcpy(c->key, key, n);
        c->key_len = n;
        return true;
}

bool hepauth_key_ok(const HepAuthConfig *c, const uint8_t *key, size_t len)
{
        if (!c || c->key_len == 0 || !key)
                return false;
        if (len == c->key_len + 1 && key[len - 1] == '\0')
                len--;
        if (len != c->key_len)
                return false;
        return CRYPTO_memcmp(key, c->key, len) == 0;
}

/* The token for an error message: printable, short. */
static void shown(const char *tok, size_t n, char *out, size_t outlen)
{
        size_t k = 0;

        for (size_t i = 0; i < n && k + 4 < outlen; i++)
                out[k++] = tok[i] >= 0x20 && tok[i] < 0x7f ? tok[i] : '?';
        if (n > k) {
                memcpy(out + k, "...", 3);
                k += 3;
        }
        out[k] = '\0';
}

static bool bits_past_prefix(const uint8_t *addr, unsigned alen, unsigned bits)
{
        for (unsigned i = 0; i < alen; i++) {
                unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
                uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

                if (addr[i] & (uint8_t)~mask)
                        return true;
        }
        return false;
}

/* One "ADDR" or "ADDR/BITS". */
static bool parse_prefix(const char *tok, size_t n, HepPrefix *out, char *err, size_t errlen)
{
        char text[TOKEN_MAX + 1], show[TOKEN_MAX + 8];
        const char *slash;
        unsigned bits = 0, max;
        HepPrefix p;

        shown(tok, n, show, sizeof show);
        if (n > TOKEN_MAX) {
                snprintf(err, errlen, "'%s': not an address or prefix", show);
                return false;
        }
        memcpy(text, tok, n);
        text[n] = '\0';
        slash = strchr(text, '/');
        if (slash) {
                const char *d = slash + 1;

                if (*d == '\0' || strlen(d) > 3) {
                        snprintf(err, errlen, "'%s': bad prefix length", show);
                        return false;
                }
                for (; *d; d++) {
                        if (*d < '0' || *d > '9') {
                                snprintf(err, errlen, "'%s': bad prefix length", show);
                                return false;
                        }
                        bits = bits * 10 + (unsigned)(*d - '0');
                }
                text[slash - text] = '\0';
        }
        memset(&p, 0, sizeof p);
        if (inet_pton(AF_INET, text, p.addr) == 1) {
                p.family = 4;
                max = 32;
        } else if (inet_pton(AF_INET6, text, p.addr) == 1) {
                p.family = 6;
                max = 128;
        } else {
                snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", show);
                return false;
        }
        if (!slash)
                bits = max;
        if (bits > max) {
                snprintf(err, errlen, "'%s': prefix length above %u", show, max);
                return false;
        }
        if (bits_past_prefix(p.addr, max / 8, bits)) {
                snprintf(err, errlen, "'%s': address bits set past /%u", show, bits);
                return false;
        }
        /* ::ffff:a.b.c.d/96+ is an IPv4 prefix: peers are compared unmapped. */
        if (p.family == 6 && bits >= 96) {
                Endpoint e = {.family = 6};

                memcpy(e.addr, p.addr, 16);
                if (endpoint_unmap_v4(&e)) {
                        p.family = 4;
                        memcpy(p.addr, e.addr, 16);
                        bits -= 96;
                }
        }
        p.bits = (uint8_t)bits;
        *out = p;
        return true;
}

bool hepauth_parse_allow(HepAuthConfig *c, const char *list, char *err, size_t errlen)
{
        HepPrefix tmp[HEPAUTH_ALLOW_MAX];
        size_t n = 0;
        const char *s = list ? list : "";

        for (;;) {
                size_t len;

                s += strspn(s, ", \t");
                if (*s == '\0')
                        break;
                len = strcspn(s, ", \t");
                if (n == HEPAUTH_ALLOW_MAX) {
                        snprintf(err, errlen, "more than %u entries", HEPAUTH_ALLOW_MAX);
                        return false;
                }
                if (!parse_prefix(s, len, &tmp[n], err, errlen))
                        return false;
                n++;
                s += len;
        }
        if (n == 0) {
                snprintf(err, errlen, "empty list (expected addresses or prefixes)");
                return false;
        }
        memcpy(c->allow, tmp, n * sizeof tmp[0]);
        c->n_allow = n;
        return true;
}

static bool in_prefix(const HepPrefix *p, const Endpoint *e)
{
        unsigned full = p->bits / 8, rest = p->bits % 8;

        if (p->family != e->family || memcmp(p->addr, e->addr, full) != 0)
                return false;
        if (rest == 0)
                return true;
        return ((p->addr[full] ^ e->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool hepauth_allowed(const HepAuthConfig *c, const Endpoint *peer)
{
        Endpoint e;

        if (!c || !peer || c->n_allow == 0)
                return false;
        e = *peer;
        (void)endpoint_unmap_v4(&e);
        for (size_t i = 0; i < c->n_allow; i++)
                if (in_prefix(&c->allow[i], &e))
                        return true;
        return false;
}

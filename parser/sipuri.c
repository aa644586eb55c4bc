/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP URI comparison (RFC 3261 §19.1.4), for the digest uri against the
 * Request-URI: sipuri_equivalent() in sipmsg.h, on sofia-sip's url_t.
 */
#include "sipmsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "sipchars.h"

static int unhex(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* Next octet of an escaped string (RFC 3261 §19.1.4: "%61" equals "a"). */
static int next_octet(const char **s, const char *end)
{
        const char *p = *s;
        if (p[0] == '%' && end - p >= 3 && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
                *s = p + 3;
                return unhex(p[1]) << 4 | unhex(p[2]);
        }
        *s = p + 1;
        return (unsigned char)p[0];
}

static int ascii_lower(int ch)
{
        return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static bool esc_equal(const char *a, size_t an, const char *b, size_t bn, bool icase)
{
        const char *ae = a + an, *be = b + bn;

        while (a < ae && b < be) {
                int x = next_octet(&a, ae), y = next_octet(&b, be);
                if (icase) {
                        x = ascii_lower(x);
                        y = ascii_lower(y);
                }
                if (x != y)
                        return false;
        }
        return a == ae && b == be;
}

static bool opt_equal(const char *a, const char *b, bool icase)
{
        if (!a || !b)
                return a == b;
        return esc_equal(a, strlen(a), b, strlen(b), icase);
}

/* Find ";name[=value]" in a url_params string; value is "" for a bare name. */
static bool uri_param(const char *params, const char *name, size_t nlen, const char **val,
                      size_t *vlen)
{
        const char *p = params;

        while (p && *p) {
                size_t n = strcspn(p, ";");
                size_t k = strcspn(p, "=;");
                if (esc_equal(p, k, name, nlen, true)) {
                        *val = k < n ? p + k + 1 : p + k;
                        *vlen = k < n ? n - k - 1 : 0;
                        return true;
                }
                p += n;
                if (*p == ';')
                        p++;
        }
        return false;
}

static bool params_equivalent(const char *pa, const char *pb)
{
        static const char *const must[] = {"transport", "user", "ttl", "method", "maddr"};
        const char *va, *vb;
        size_t la, lb;

        for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
                size_t nlen = strlen(must[i]);
                bool ha = uri_param(pa, must[i], nlen, &va, &la);
                bool hb = uri_param(pb, must[i], nlen, &vb, &lb);
                if (ha != hb || (ha && !esc_equal(va, la, vb, lb, true)))
                        return false;
        }
        /* Any other parameter counts only when present in both. */
        for (const char *p = pa; p && *p;) {
                size_t n = strcspn(p, ";");
                size_t k = strcspn(p, "=;");
                if (k > 0 && uri_param(pb, p, k, &vb, &lb)) {
                        va = k < n ? p + k + 1 : p + k;
                        la = k < n ? n - k - 1 : 0;
                        if (!esc_equal(va, la, vb, lb, true))
                                return false;
                }
                p += n;
                if (*p == ';')
                        p++;
        }
        return true;
}

/* Every header of a is in b with the same value (names case-insensitive). */
static bool headers_in(const char *ha, const char *hb)
{
        for (const char *p = ha; *p;) {
                size_t n = strcspn(p, "&");
                size_t k = strcspn(p, "=&");
                bool found = false;
                for (const char *q = hb; *q && !found;) {
                        size_t m = strcspn(q, "&");
                        size_t j = strcspn(q, "=&");
                        found = esc_equal(p, k, q, j, true) &&
                                esc_equal(p + k, n - k, q + j, m - j, false);
                        q += m;
                        if (*q == '&')
                                q++;
                }
                if (!found)
                        return false;
                p += n;
                if (*p == '&')
                        p++;
        }
        return true;
}

static bool port_equal(const char *a, const char *b)
{
        if (!a || !b)
                return a == b; /* RFC 3261 §19.1.4: absent port != explicit 5060 */
        uint16_t pa = parse_port(a), pb = parse_port(b);
        if (pa && pb)
                return pa == pb;
        return strcmp(a, b) == 0;
}

/*
 * RFC 3261 §19.1.4. sofia's url_cmp_all() is not used for SIP URIs: it
 * treats an absent port as 5060 when the host is an IP address, compares
 * the parameter string byte for byte (order- and case-sensitive) and
 * ignores the RFC's rules about parameters present in only one URI.
 */
static bool sip_url_equivalent(url_t const *a, url_t const *b)
{
        if (a->url_type != b->url_type)
                return false;
        if (a->url_type != url_sip && a->url_type != url_sips) {
                if (a->url_type <= url_unknown && !opt_equal(a->url_scheme, b->url_scheme, true))
                        return false;
                return url_cmp_all(a, b) == 0;
        }
        if (!opt_equal(a->url_user, b->url_user, false) ||
            !opt_equal(a->url_password, b->url_password, false) ||
            !opt_equal(a->url_host, b->url_host, true) || !port_equal(a->url_port, b->url_port))
                return false;
        if (!params_equivalent(a->url_params, b->url_params))
                return false;
        if (!a->url_headers || !b->url_headers)
                return a->url_headers == b->url_headers;
        return headers_in(a->url_headers, b->url_headers) &&
               headers_in(b->url_headers, a->url_headers);
}

bool sipuri_equivalent(const char *a, const char *b)
{
        if (!a || !b)
                return false;
        if (strcmp(a, b) == 0)
                return true;
        /* url_make("") dereferences URL_STRING_MAKE("") == NULL (undefined
         * behaviour in sofia-sip url.c:1244, found by fuzz-sipmsg); an empty
         * URI equals nothing but another empty one, handled above. */
        if (!*a || !*b)
                return false;

        su_home_t home[1] = {SU_HOME_INIT(home)};
        url_t *ua = url_make(home, a);
        url_t *ub = url_make(home, b);
        bool eq = ua && ub && sip_url_equivalent(ua, ub);
        su_home_deinit(home);
        return eq;
}

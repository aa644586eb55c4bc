/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Auth header values of the plain shape, read without sofia-sip (see
 * sipauth_plain_value below for the shape and why it gives what
 * msg_auth_d() gives); tests/unit/test_sipauth.c and fuzz-sipmsg compare
 * both with sofia-sip.
 */
#include "sipauth_internal.h"
#include "sipscan_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The bytes from p to the first DQUOTE, backslash or NUL, or to end. */
static size_t quoted_run(const uint8_t *p, const uint8_t *end)
{
        const uint8_t *q = p;

#if defined(__SSE2__)
        while (end - q >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
                __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                           _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
                unsigned m = (unsigned)_mm_movemask_epi8(
                    _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_setzero_si128())));
                if (m)
                        return (size_t)(q - p) + (size_t)__builtin_ctz(m);
                q += 16;
        }
#endif
        while (q < end && *q != '"' && *q != '\\' && *q != '\0')
                q++;
        return (size_t)(q - p);
}

/* The item whose name is name[0..n) and value [val, end): a digest value, if
 * the name is one not seen before in the value. */
static void plain_digest(PlainDigest *pd, const char *name, size_t n, const char *val,
                         const char *end)
{
        unsigned d = sipauth_digest_name(name, n, DP_CREDENTIALS);

        if (d == DP__MAX || (pd->found & DP_BIT(d)))
                return;
        if (*val == '"') {
                val++;
                end--;
        }
        pd->found |= DP_BIT(d);
        pd->p[d] = val;
        pd->n[d] = (size_t)(end - val);
}

/* Most items a plain value may have; more go to sofia. */
#define PLAIN_MAX_ITEMS 16

/*
 * An auth header value of the plain shape, read without sofia-sip:
 *
 *   scheme 1*(SP / HTAB) item *( *(SP / HTAB) "," *(SP / HTAB) item )
 *   item   = token "=" ( token / DQUOTE *(any byte but DQUOTE, "\" or NUL) DQUOTE )
 *
 * (token as RFC 3261 §25.1, sofia's skip_token). For such a value
 * msg_auth_d() gives au_scheme = the scheme and au_params = the items as
 * sent: its comma scanner (msg_comma_scanner) moves nothing when an item
 * has no white space inside, cuts the white space before a comma and
 * msg_any_list_d() the comma and the white space after it. Each item is
 * `token "="`, so split_scheme() finds no second challenge in the line and
 * add_auth_line() would hand the array to add unchanged. The value is
 * copied into the text area, cut there with NULs, and the NULL-terminated
 * item array put behind it. Anything else (white space around "=", bare
 * tokens, empty items, escapes, a second scheme, separators in an
 * unquoted value, trailing white space) is sofia's: false, and nothing is
 * kept of the attempt. tests/unit/test_sipauth.c compares scheme and items
 * with msg_auth_d()'s, and every field with the full path's, and
 * fuzz-sipmsg does both on its inputs.
 */
bool sipauth_plain_value(SipAuthArena *a, const uint8_t *v, size_t len, const char **scheme,
                         char const *const **params, PlainDigest *pd)
{
        const char *items[PLAIN_MAX_ITEMS];
        const uint8_t *end = v + len;
        size_t n = 0, i = span(v, end, C_TOKEN), save = a->text_used;

        if (i == 0 || i == len || !is_ws(v[i]))
                return false;
        char *t = text_dup(a, (const char *)v, len);
        if (!t)
                return false;
        t[i++] = '\0';
        while (i < len && is_ws(v[i]))
                i++;
        for (;;) {
                size_t start = i;
                i += span(v + i, end, C_TOKEN);
                if (i == start || i == len || v[i] != '=' || n == PLAIN_MAX_ITEMS)
                        goto refuse;
                size_t val = ++i;
                if (i < len && v[i] == '"') {
                        i++;
                        i += quoted_run(v + i, end);
                        if (i == len || v[i] != '"')
                                goto refuse;
                        i++;
                } else {
                        i += span(v + i, end, C_TOKEN);
                        if (i == val)
                                goto refuse;
                }
                items[n++] = t + start;
                if (pd)
                        plain_digest(pd, t + start, val - 1 - start, t + val, t + i);
                if (i == len)
                        break;
                size_t item_end = i;
                while (i < len && is_ws(v[i]))
                        i++;
                if (i == len || v[i] != ',')
                        goto refuse;
                t[item_end] = '\0';
                i++;
                while (i < len && is_ws(v[i]))
                        i++;
        }
        const char **arr = text_take(a, (n + 1) * sizeof *arr);
        if (!arr)
                goto refuse;
        memcpy(arr, items, n * sizeof *arr);
        arr[n] = NULL;
        *scheme = t;
        *params = arr;
        return true;
refuse:
        a->text_used = save;
        return false;
}

bool sipauth_plain_items(SipAuthArena *a, const uint8_t *value, size_t len, const char **scheme,
                         char const *const **params)
{
        if (!a || (!value && len) || len > SIPMSG_MAX_LEN)
                return false;
        return sipauth_plain_value(a, value, len, scheme, params, NULL);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside parser/sipauth.c and sipauth_plain.c: the arena, the digest
 * parameter names, and the plain-shape tokenizer the fast path reads most
 * auth header values with (sipauth_plain.c), without sofia-sip.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sofia-sip/su_alloc.h>

#include "sipauth.h"

/* The parameters a challenge or credentials entry keeps (SipChallenge,
 * SipCredentials). */
typedef enum {
        DP_REALM = 0,
        DP_NONCE,
        DP_OPAQUE,
        DP_ALGORITHM,
        DP_QOP,
        DP_USERNAME,
        DP_URI,
        DP_NC,
        DP_CNONCE,
        DP_RESPONSE,
        DP__MAX
} DigestParam;

#define DP_BIT(d) (1u << (d))
#define DP_CHALLENGE                                                                               \
        (DP_BIT(DP_REALM) | DP_BIT(DP_NONCE) | DP_BIT(DP_OPAQUE) | DP_BIT(DP_ALGORITHM) |          \
         DP_BIT(DP_QOP))
#define DP_CREDENTIALS                                                                             \
        (DP_CHALLENGE | DP_BIT(DP_USERNAME) | DP_BIT(DP_URI) | DP_BIT(DP_NC) | DP_BIT(DP_CNONCE) | \
         DP_BIT(DP_RESPONSE))

/* Which name of want (DP_BIT set) the token p[0..n) is, ASCII case ignored
 * (sipauth.c); DP__MAX if none. The one matcher of digest names. */
unsigned sipauth_digest_name(const char *p, size_t n, unsigned want);

/*
 * The digest values of a plain value (sipauth_plain_value), found as the tokenizer
 * went: for each name the first item that has it, as digest_match() would
 * take it, and its value without the quotes (a plain value has no escapes,
 * so that is what msg_unquote_dup() gives).
 */
typedef struct PlainDigest {
        unsigned found; /* DP_BIT per name */
        const char *p[DP__MAX];
        size_t n[DP__MAX];
} PlainDigest;

/*
 * The area a message's auth headers are parsed into. A 401 or an
 * Authorization with its parameters unquoted takes about 1 KiB; 16 KiB
 * covers the eight challenges and eight credentials a SipMsg holds.
 */
#define SIPAUTH_AREA 16384

/*
 * The text area: the values sipauth_plain_value() reads and the digest values the
 * matcher copies (value_dup), back to back, without su_alloc(); a message
 * that needs more goes on in the home.
 */
#define SIPAUTH_TEXT 16384

struct SipAuthArena {
        su_home_t *home;  /* su_home_auto() over area */
        bool dirty;       /* something was allocated since the last reset */
        bool matcher;     /* digest values by digest_match() (default) */
        size_t text_used; /* bytes of text taken since the last reset */
        char text[SIPAUTH_TEXT];
        _Alignas(max_align_t) char area[SIPAUTH_AREA];
};

/* s[0..n) and a NUL in a's text area; NULL when a is NULL or full. */
static inline char *text_dup(SipAuthArena *a, const char *s, size_t n)
{
        if (!a || n >= sizeof a->text - a->text_used)
                return NULL;
        char *t = a->text + a->text_used;
        memcpy(t, s, n);
        t[n] = '\0';
        a->text_used += n + 1;
        return t;
}

/* n bytes of a's text area aligned for pointers; NULL when full. */
static inline void *text_take(SipAuthArena *a, size_t n)
{
        size_t at = (a->text_used + sizeof(void *) - 1) & ~(sizeof(void *) - 1);

        if (at > sizeof a->text || n > sizeof a->text - at)
                return NULL;
        a->text_used = at + n;
        return a->text + at;
}

/*
 * A value of the plain shape (sipauth_plain.c): the scheme and the
 * NULL-terminated items msg_auth_d() would give, in a's text area, and when
 * pd is not NULL the digest values found on the way. False, and nothing
 * kept, for anything else.
 */
bool sipauth_plain_value(SipAuthArena *a, const uint8_t *v, size_t len, const char **scheme,
                         char const *const **params, PlainDigest *pd);

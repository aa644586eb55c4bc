/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to parser/: the authentication-header half of the sofia-sip
 * wrapper, shared by sipmsg_parse() (parser/sipmsg.c, full parse) and
 * sipscan_scan() (parser/sipscan.c, fast path). Both hand each
 * WWW-Authenticate / Proxy-Authenticate / Authorization /
 * Proxy-Authorization line to sofia-sip's own header parser and flatten
 * the result with the same code (add_auth_line, split_scheme,
 * add_challenge, add_credentials in sipauth.c). The digest parameter
 * values are taken by sofia's auth_digest_*_get() in the full parse and by
 * a one-pass matcher over sofia's own parameter array in the fast path
 * (digest_match: same first-match rule, sofia's unquoting), proven equal
 * field by field by tests/unit/test_sipauth.c and fuzz-sipmsg. A value of
 * the plain shape (`Digest name=token, name="no escapes", ...`, nearly all
 * real traffic) the fast path reads itself, without sofia-sip
 * (sipauth_plain.c): its scheme and items are msg_auth_d()'s, string for
 * string, and its digest values those of the same first-match rule, which
 * the same test and fuzzer check against sofia-sip; anything else goes
 * through sofia as above.
 *
 * Memory: an arena is a sofia-sip home preloaded over a fixed area
 * (su_home_auto) and a text area for the plain values and the digest
 * values, taken without su_alloc(). Everything one message's auth headers
 * need is carved out of them; sipauth_arena_reset() drops it all at once. A message whose auth
 * headers need more than the area spills to malloc() (freed by the next
 * reset): correct, only slower.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sip.h>

#include "sipmsg.h"

/*
 * Largest message handed to sofia-sip (sipmsg.c, sipauth.c; sipscan.c gives
 * larger ones to sofia's wrapper, which refuses them). A UDP datagram is at
 * most 64 KiB; a message reassembled from TCP may be larger (suricata's
 * 64 KiB-body INVITE), but nothing that large carries authentication worth
 * a copy of a megabyte.
 */
#define SIPMSG_MAX_LEN (1u << 20)

/* In the order sipmsg_parse() flattens them (fill() in sipmsg.c). */
typedef enum {
        SIPAUTH_WWW_AUTHENTICATE = 0,
        SIPAUTH_PROXY_AUTHENTICATE,
        SIPAUTH_AUTHORIZATION,
        SIPAUTH_PROXY_AUTHORIZATION,
        SIPAUTH__MAX
} SipAuthKind;

typedef enum {
        SIPAUTH_OK = 0,  /* parsed; its challenges/credentials added to the SipMsg */
        SIPAUTH_REFUSED, /* sofia-sip refused the value: counted in auth_errors */
        SIPAUTH_NOMEM,
} SipAuthResult;

typedef struct SipAuthArena SipAuthArena;

SipAuthArena *sipauth_arena_new(void);
SipAuthArena *sipauth_arena_free(SipAuthArena *a);

/* Digest values through sofia's auth_digest_*_get() (the reference) instead
 * of the one-pass matcher: for the differential tests. */
void sipauth_arena_use_sofia(SipAuthArena *a, bool sofia);

/* Releases everything allocated since the last reset: every string a
 * previous sipauth_add_value() put into a SipMsg becomes invalid. */
void sipauth_arena_reset(SipAuthArena *a);

/*
 * One auth header line whose value (the text after the colon, leading and
 * trailing SP/HTAB removed, as sofia's extract_header() passes it) is
 * value[0..len): parsed exactly as header_parse() does inside msg_make()
 * (copied into the header object, the class's own hc_parse), then
 * flattened into m->challenges or m->credentials (counting
 * *_dropped beyond SIPMSG_MAX_AUTH); a refused value increments
 * m->auth_errors, as check_error_headers() does for the error header sofia
 * would make of it. The strings live in the arena until its next reset.
 */
SipAuthResult sipauth_add_value(SipAuthArena *a, SipMsg *m, SipAuthKind kind, const uint8_t *value,
                                size_t len);

/*
 * For the differential tests: whether the fast path reads value[0..len)
 * without sofia-sip (the plain shape, sipauth_plain.c), and if so the
 * scheme and the NULL-terminated items it reads, which must equal
 * msg_auth_d()'s au_scheme and au_params. They live in the arena until its
 * next reset.
 */
bool sipauth_plain_items(SipAuthArena *a, const uint8_t *value, size_t len, const char **scheme,
                         char const *const **params);

/* Every auth header of a message sofia-sip parsed whole (sipmsg_parse()),
 * flattened into m in SipMsg order; strings in home. */
void sipauth_add_message(SipMsg *m, su_home_t *home, sip_t const *sip);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The authentication-header half of the sofia-sip wrapper (sipauth.h):
 * WWW-Authenticate, Proxy-Authenticate, Authorization and
 * Proxy-Authorization values, parsed by sofia-sip's own header classes and
 * flattened into SipMsg challenges and credentials, for the full parse
 * (sipmsg.c) and for the fast path one header at a time (sipscan.c).
 */
#include "sipauth.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/auth_digest.h>

#include "sipauth_internal.h"
#include "sipchars.h"

/* ------------------------------------------------------------------------ */
/* Authentication headers */

/*
 * RFC 7616 §3.3 qop-options = "qop" "=" DQUOTE qop-value *("," qop-value)
 * DQUOTE; the list arrives unquoted from sofia. Unknown values set QOP_OTHER.
 */
static unsigned qop_mask_of(const char *s)
{
        unsigned mask = 0;

        if (!s)
                return 0;
        while (*s) {
                while (*s == ',' || is_lws(*s))
                        s++;
                size_t n = strcspn(s, ",");
                size_t t = n;
                while (t > 0 && is_lws(s[t - 1]))
                        t--;
                if (t == 4 && strncasecmp(s, "auth", 4) == 0)
                        mask |= QOP_AUTH;
                else if (t == 8 && strncasecmp(s, "auth-int", 8) == 0)
                        mask |= QOP_AUTH_INT;
                else if (t > 0)
                        mask |= QOP_OTHER;
                s += n;
        }
        return mask;
}

/*
 * Whether parameter `name` is "true", case-insensitively, quoted or not
 * (RFC 7616 §3.3 stale and userhash). sofia-sip 1.12.11 has no userhash
 * field, so both are read here the same way.
 */
static bool param_is_true(char const *const *params, const char *name)
{
        size_t nlen = strlen(name);

        for (size_t i = 0; params && params[i]; i++) {
                const char *p = params[i];
                /* name is lower case: the first letter turns most away
                 * without a call (this runs for every challenge) */
                if (((unsigned char)p[0] | 0x20) != (unsigned char)name[0] ||
                    strncasecmp(p, name, nlen) != 0)
                        continue;
                p += nlen;
                while (is_lws(*p))
                        p++;
                if (*p++ != '=')
                        continue;
                while (is_lws(*p))
                        p++;
                bool quoted = *p == '"';
                p += quoted;
                if (strncasecmp(p, "true", 4) != 0)
                        continue;
                p += 4;
                p += quoted && *p == '"';
                while (is_lws(*p))
                        p++;
                if (*p == '\0')
                        return true;
        }
        return false;
}

/* RFC 7616 §3.4: nc = 8LHEX. Accept 1..8 hex digits of either case. */
static bool parse_nc(const char *s, uint32_t *v)
{
        uint32_t x = 0;
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++) {
                char ch = s[n];
                unsigned d;
                if (ch >= '0' && ch <= '9')
                        d = (unsigned)(ch - '0');
                else if (ch >= 'a' && ch <= 'f')
                        d = (unsigned)(ch - 'a' + 10);
                else if (ch >= 'A' && ch <= 'F')
                        d = (unsigned)(ch - 'A' + 10);
                else
                        return false;
                if (n >= 8)
                        return false;
                x = (x << 4) | d;
        }
        if (n == 0)
                return false;
        *v = x;
        return true;
}

/*
 * RFC 7235 §4.1: one header line may carry several comma-separated
 * challenges (RFC 8760 servers send one per algorithm). sofia-sip 1.12.11
 * does not split them: every later challenge shows up inside au_params as a
 * parameter "Scheme name=value", or a bare "Scheme" when it has no
 * parameters. Returns the length of the scheme token when params[i] starts
 * a new challenge, with *rest pointing at its first parameter ("" if none).
 * A bare token at index 0 is a token68 (RFC 7235 §2.1), not a new scheme.
 */
static size_t split_scheme(const char *param, size_t i, const char **rest)
{
        size_t n = 0;

        while (is_http_tchar((uint8_t)param[n]))
                n++;
        if (n == 0)
                return 0;
        if (param[n] == '\0') {
                if (i == 0)
                        return 0;
                *rest = param + n;
                return n;
        }
        if (param[n] != ' ' && param[n] != '\t')
                return 0;
        const char *r = param + n;
        while (is_lws(*r))
                r++;
        /* auth-param = token BWS "=" BWS ( token / quoted-string ) */
        if (*r == '=')
                return 0;
        *rest = r;
        return n;
}

typedef struct {
        SipMsg *m;
        su_home_t *home;
        SipAuthArena *arena; /* the fast path's arena (its text area); NULL in the full parse */
        bool matcher;        /* digest parameters by digest_match(), not auth_digest_*_get() */
        const struct PlainDigest *plain; /* the values sipauth_plain_value() found, or NULL */
} Fill;

static su_home_t *home_for(const Fill *f);

/* ------------------------------------------------------------------------ */
/* Digest parameter values */

static const char *const dp_names[DP__MAX] = {
    [DP_REALM] = "realm",   [DP_NONCE] = "nonce",
    [DP_OPAQUE] = "opaque", [DP_ALGORITHM] = "algorithm",
    [DP_QOP] = "qop",       [DP_USERNAME] = "username",
    [DP_URI] = "uri",       [DP_NC] = "nc",
    [DP_CNONCE] = "cnonce", [DP_RESPONSE] = "response",
};

/*
 * Which wanted name the token p[0..n) is, ignoring ASCII case as sofia's
 * su_casenmatch does, whatever the locale: the names are lower-case
 * letters, and OR-ing 0x20 maps a byte onto one only when it is that
 * letter in either case, so a token with a digit or a mark matches none.
 * The length leaves at most two names to compare. DP__MAX if none.
 */
unsigned sipauth_digest_name(const char *p, size_t n, unsigned want)
{
        unsigned c0 = DP__MAX, c1 = DP__MAX;

        switch (n) {
        case 2:
                c0 = DP_NC;
                break;
        case 3:
                c0 = DP_URI, c1 = DP_QOP;
                break;
        case 5:
                c0 = DP_REALM, c1 = DP_NONCE;
                break;
        case 6:
                c0 = DP_OPAQUE, c1 = DP_CNONCE;
                break;
        case 8:
                c0 = DP_USERNAME, c1 = DP_RESPONSE;
                break;
        case 9:
                c0 = DP_ALGORITHM;
                break;
        default:
                return DP__MAX;
        }
        for (unsigned k = 0; k < 2; k++) {
                unsigned d = k ? c1 : c0;
                if (d == DP__MAX || !(want & DP_BIT(d)))
                        continue;
                const char *name = dp_names[d];
                size_t i = 0;
                while (i < n && ((uint8_t)p[i] | 0x20) == (uint8_t)name[i])
                        i++;
                if (i == n)
                        return d;
        }
        return DP__MAX;
}

/*
 * Which wanted name param starts with, followed by '=': what sofia's
 * auth_get_params() asks of "name=" (su_casenmatch over the name and the
 * '=', no white space). Every name is letters only, so the name is the run
 * of letters before the first '='.
 */
static unsigned digest_param_id(const char *p, unsigned want)
{
        size_t n = 0;

        while (n < 10 && is_alpha((uint8_t)p[n]))
                n++;
        return p[n] == '=' ? sipauth_digest_name(p, n, want) : DP__MAX;
}

/*
 * A parameter's value as auth_digest_*_get() copies it: unquoted by
 * msg_unquote_dup() when it starts with a quote, else su_strdup(). The
 * plain cases are copied here, into the arena's text area when there is
 * one (no su_alloc() per value): msg_unquote_dup() itself returns the bytes
 * up to the first quote or backslash when that is a quote or the end, and
 * leaves the escapes (a backslash first) to its own code, called here too.
 */
static const char *value_dup(const Fill *f, const char *val)
{
        size_t n;

        if (*val == '"') {
                val++;
                n = strcspn(val, "\"\\");
                if (val[n] == '\\')
                        return msg_unquote_dup(home_for(f), val - 1);
        } else {
                n = strlen(val);
        }
        char *t = text_dup(f->arena, val, n);
        return t ? t : su_strndup(home_for(f), val, (isize_t)n);
}

/*
 * The values auth_digest_challenge_get() / auth_digest_response_get() give
 * for the wanted names, in one pass over sofia's parameter array instead
 * of one pass per name: for each name the first parameter that has it,
 * copied as value_dup() says. False when a copy fails, as sofia returns -1
 * then and the caller keeps none of the values. Kept equal to sofia field
 * by field by tests/unit/test_sipauth.c and fuzz-sipmsg (fast path against
 * --parser full, which uses sofia's functions).
 */
static bool digest_match(const Fill *f, char const *const *params, unsigned want,
                         const char *v[DP__MAX])
{
        unsigned found = 0;

        for (size_t i = 0; params[i] && found != want; i++) {
                unsigned d = digest_param_id(params[i], want & ~found);
                if (d == DP__MAX)
                        continue;
                v[d] = value_dup(f, params[i] + strlen(dp_names[d]) + 1);
                if (!v[d])
                        return false;
                found |= DP_BIT(d);
        }
        return true;
}

/* The wanted values through sofia-sip's own functions (--parser full). */
static bool digest_sofia(su_home_t *home, char const *const *params, unsigned want,
                         const char *v[DP__MAX])
{
        if (want == DP_CHALLENGE) {
                auth_challenge_t ac[1];
                memset(ac, 0, sizeof ac);
                ac->ac_size = (int)sizeof ac;
                if (auth_digest_challenge_get(home, ac, params) < 0)
                        return false;
                v[DP_REALM] = ac->ac_realm;
                v[DP_NONCE] = ac->ac_nonce;
                v[DP_OPAQUE] = ac->ac_opaque;
                v[DP_ALGORITHM] = ac->ac_algorithm;
                v[DP_QOP] = ac->ac_qop;
                return true;
        }
        auth_response_t ar[1];
        memset(ar, 0, sizeof ar);
        ar->ar_size = (int)sizeof ar;
        if (auth_digest_response_get(home, ar, params) < 0)
                return false;
        v[DP_USERNAME] = ar->ar_username;
        v[DP_REALM] = ar->ar_realm;
        v[DP_NONCE] = ar->ar_nonce;
        v[DP_URI] = ar->ar_uri;
        v[DP_ALGORITHM] = ar->ar_algorithm;
        v[DP_QOP] = ar->ar_qop;
        v[DP_NC] = ar->ar_nc;
        v[DP_CNONCE] = ar->ar_cnonce;
        v[DP_RESPONSE] = ar->ar_response;
        v[DP_OPAQUE] = ar->ar_opaque;
        return true;
}

/* The wanted values sipauth_plain_value() found, copied into the text area. */
static bool digest_plain(const Fill *f, unsigned want, const char *v[DP__MAX])
{
        const PlainDigest *pd = f->plain;

        for (unsigned d = 0; d < DP__MAX; d++) {
                if (!(want & pd->found & DP_BIT(d)))
                        continue;
                char *t = text_dup(f->arena, pd->p[d], pd->n[d]);
                v[d] = t ? t : su_strndup(home_for(f), pd->p[d], (isize_t)pd->n[d]);
                if (!v[d])
                        return false;
        }
        return true;
}

/* params non-empty; v zeroed on entry, all NULL again on false. */
static bool digest_values(const Fill *f, char const *const *params, unsigned want,
                          const char *v[DP__MAX])
{
        bool ok = f->plain     ? digest_plain(f, want, v)
                  : f->matcher ? digest_match(f, params, want, v)
                               : digest_sofia(f->home, params, want, v);
        if (!ok)
                memset(v, 0, DP__MAX * sizeof *v);
        return ok;
}

static bool is_digest(const char *scheme)
{
        return scheme && strcasecmp(scheme, "Digest") == 0;
}

/* RFC 7616 §3.3 / RFC 3261 §22.4 challenge parameters. */
static void add_challenge(Fill *f, bool proxy, const char *scheme, char const *const *params)
{
        SipMsg *m = f->m;

        if (m->n_challenges >= SIPMSG_MAX_AUTH) {
                m->challenges_dropped++;
                return;
        }
        SipChallenge *ch = &m->challenges[m->n_challenges++];
        *ch = (SipChallenge){.proxy = proxy, .scheme = scheme, .digest = is_digest(scheme)};
        ch->alg = ch->digest ? DIGEST_ALG_MD5 : DIGEST_ALG_OTHER;
        if (!params || !params[0])
                return;

        const char *v[DP__MAX] = {0};
        if (!digest_values(f, params, DP_CHALLENGE, v))
                return;
        ch->realm = v[DP_REALM];
        if (!ch->digest)
                return;
        ch->nonce = v[DP_NONCE];
        ch->opaque = v[DP_OPAQUE];
        ch->algorithm = v[DP_ALGORITHM];
        ch->alg = sipauth_alg_from_string(v[DP_ALGORITHM]);
        ch->qop_mask = qop_mask_of(v[DP_QOP]);
        ch->stale = param_is_true(params, "stale");
        ch->userhash = param_is_true(params, "userhash");
}

/* RFC 7616 §3.4 / RFC 3261 §22.4 credentials parameters. */
static void add_credentials(Fill *f, bool proxy, const char *scheme, char const *const *params)
{
        SipMsg *m = f->m;

        if (m->n_credentials >= SIPMSG_MAX_AUTH) {
                m->credentials_dropped++;
                return;
        }
        SipCredentials *cr = &m->credentials[m->n_credentials++];
        *cr = (SipCredentials){.proxy = proxy, .scheme = scheme, .digest = is_digest(scheme)};
        cr->alg = cr->digest ? DIGEST_ALG_MD5 : DIGEST_ALG_OTHER;
        /* `Authorization: Digest ,` has au_params == NULL and
         * auth_digest_response_get() asserts on NULL params. */
        if (!params || !params[0])
                return;

        const char *v[DP__MAX] = {0};
        if (!digest_values(f, params, DP_CREDENTIALS, v))
                return;
        cr->username = v[DP_USERNAME];
        cr->realm = v[DP_REALM];
        if (!cr->digest)
                return;
        cr->nonce = v[DP_NONCE];
        cr->uri = v[DP_URI];
        cr->algorithm = v[DP_ALGORITHM];
        cr->alg = sipauth_alg_from_string(v[DP_ALGORITHM]);
        cr->qop = v[DP_QOP];
        cr->qop_mask = qop_mask_of(v[DP_QOP]);
        cr->nc = v[DP_NC];
        cr->nc_valid = parse_nc(v[DP_NC], &cr->nc_value);
        cr->cnonce = v[DP_CNONCE];
        cr->response = v[DP_RESPONSE];
        cr->opaque = v[DP_OPAQUE];
        cr->userhash = param_is_true(params, "userhash");
}

typedef void AddAuth(Fill *f, bool proxy, const char *scheme, char const *const *params);

/*
 * One header line: split it into its challenges/credentials (see
 * split_scheme) and hand each one a NULL-terminated parameter array of its
 * own. The common single-challenge line passes sofia's array unchanged.
 */
static void add_auth_line(Fill *f, msg_auth_t const *au, bool proxy, AddAuth *add)
{
        char const *const *params = au->au_params;
        const char *scheme = au->au_scheme;
        const char *first = NULL; /* replaces params[start] after a split */
        size_t start = 0;

        for (;;) {
                size_t end = start + (first ? 1 : 0);
                const char *next_scheme = NULL, *next_first = NULL;
                size_t next_len = 0;

                for (; params && params[end]; end++) {
                        next_len = split_scheme(params[end], end, &next_first);
                        if (next_len) {
                                next_scheme = params[end];
                                break;
                        }
                }

                size_t count = end - start;
                if (first && first[0] == '\0') {
                        /* "Scheme" alone: no parameters of its own. */
                        first = NULL;
                        start++;
                        count--;
                }
                if (!next_scheme && !first) {
                        add(f, proxy, scheme, count ? params + start : NULL);
                        return;
                }
                const char **arr = NULL;
                if (count) {
                        arr = su_alloc(home_for(f), (count + 1) * sizeof *arr);
                        if (!arr) {
                                add(f, proxy, scheme, NULL);
                                return;
                        }
                        for (size_t i = 0; i < count; i++)
                                arr[i] = params[start + i];
                        if (first)
                                arr[0] = first;
                        arr[count] = NULL;
                }
                add(f, proxy, scheme, arr);
                if (!next_scheme)
                        return;
                scheme = su_strndup(home_for(f), next_scheme, (isize_t)next_len);
                first = next_first;
                start = end;
        }
}

static void add_auth_chain(Fill *f, msg_auth_t const *au, bool proxy, AddAuth *add)
{
        for (; au; au = au->au_next)
                add_auth_line(f, au, proxy, add);
}

/* ------------------------------------------------------------------------ */
/* One auth header at a time (parser/sipauth.h, for the fast path) */

/* The home, for something the text area does not hold: reset must free it. */
static su_home_t *home_for(const Fill *f)
{
        if (f->arena)
                f->arena->dirty = true;
        return f->home;
}

SipAuthArena *sipauth_arena_new(void)
{
        SipAuthArena *a = calloc(1, sizeof *a);

        if (!a)
                return NULL;
        a->home = su_home_auto(a->area, sizeof a->area);
        if (!a->home) {
                free(a);
                return NULL;
        }
        a->matcher = true;
        return a;
}

void sipauth_arena_use_sofia(SipAuthArena *a, bool sofia)
{
        if (a)
                a->matcher = !sofia;
}

SipAuthArena *sipauth_arena_free(SipAuthArena *a)
{
        if (a) {
                su_home_deinit(a->home);
                free(a);
        }
        return NULL;
}

/*
 * su_home_deinit() frees what spilled to malloc() (and the block table,
 * which sofia grows with malloc() past a handful of allocations);
 * su_home_auto() then starts over at the beginning of the area.
 */
void sipauth_arena_reset(SipAuthArena *a)
{
        if (!a)
                return;
        a->text_used = 0;
        if (!a->dirty)
                return;
        su_home_deinit(a->home);
        a->home = su_home_auto(a->area, sizeof a->area);
        a->dirty = false;
}

SipAuthResult sipauth_add_value(SipAuthArena *a, SipMsg *m, SipAuthKind kind, const uint8_t *value,
                                size_t len)
{
        static msg_hclass_t *const classes[SIPAUTH__MAX] = {
            [SIPAUTH_WWW_AUTHENTICATE] = sip_www_authenticate_class,
            [SIPAUTH_PROXY_AUTHENTICATE] = sip_proxy_authenticate_class,
            [SIPAUTH_AUTHORIZATION] = sip_authorization_class,
            [SIPAUTH_PROXY_AUTHORIZATION] = sip_proxy_authorization_class,
        };

        if (!a || !a->home || !m || (unsigned)kind >= SIPAUTH__MAX || (!value && len) ||
            len > SIPMSG_MAX_LEN)
                return SIPAUTH_NOMEM;
        msg_hclass_t *hc = classes[kind];
        bool proxy = kind == SIPAUTH_PROXY_AUTHENTICATE || kind == SIPAUTH_PROXY_AUTHORIZATION;
        bool challenge = kind == SIPAUTH_WWW_AUTHENTICATE || kind == SIPAUTH_PROXY_AUTHENTICATE;
        Fill f = {m, a->home, a, a->matcher, NULL};
        const char *scheme;
        char const *const *params;
        PlainDigest pd;

        /* The plain shape without sofia (not for the reference: use_sofia) */
        pd.found = 0;
        if (a->matcher && sipauth_plain_value(a, value, len, &scheme, &params, &pd)) {
                f.plain = &pd;
                (challenge ? add_challenge : add_credentials)(&f, proxy, scheme, params);
                return SIPAUTH_OK;
        }

        /* header_parse() with copy_buffer: the value copied behind the
         * header object, NUL-terminated, parsed in place by the class. */
        a->dirty = true;
        msg_header_t *h = msg_header_alloc(a->home, hc, (isize_t)len + 1);
        if (!h)
                return SIPAUTH_NOMEM;
        char *b = MSG_HEADER_DATA(h);
        if (len)
                memcpy(b, value, len);
        b[len] = '\0';
        if (hc->hc_parse(a->home, h, b, (isize_t)len) < 0) {
                /* sofia makes it an error header named hc_name, which
                 * check_error_headers() counts. */
                m->auth_errors++;
                return SIPAUTH_REFUSED;
        }
        add_auth_line(&f, (msg_auth_t const *)h, proxy,
                      challenge ? add_challenge : add_credentials);
        return SIPAUTH_OK;
}

/* Every auth header of a message sofia-sip parsed whole, in SipMsg order. */
void sipauth_add_message(SipMsg *m, su_home_t *home, sip_t const *sip)
{
        Fill f = {m, home, NULL, false, NULL};

        add_auth_chain(&f, sip->sip_www_authenticate, false, add_challenge);
        add_auth_chain(&f, sip->sip_proxy_authenticate, true, add_challenge);
        add_auth_chain(&f, sip->sip_authorization, false, add_credentials);
        add_auth_chain(&f, sip->sip_proxy_authorization, true, add_credentials);
}

/* ------------------------------------------------------------------------ */
/* Algorithm names */

static const struct {
        const char *name;
        DigestAlg alg;
} alg_names[] = {
    {"MD5", DIGEST_ALG_MD5},
    {"MD5-sess", DIGEST_ALG_MD5_SESS},
    {"SHA-256", DIGEST_ALG_SHA256},
    {"SHA-256-sess", DIGEST_ALG_SHA256_SESS},
    {"SHA-512-256", DIGEST_ALG_SHA512_256},
    {"SHA-512-256-sess", DIGEST_ALG_SHA512_256_SESS},
};

/* RFC 7616 §3.3 / RFC 8760 §2.1: algorithm tokens are case-insensitive. */
DigestAlg sipauth_alg_from_string(const char *s)
{
        if (!s)
                return DIGEST_ALG_MD5;
        for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
                if (strcasecmp(s, alg_names[i].name) == 0)
                        return alg_names[i].alg;
        return DIGEST_ALG_OTHER;
}

const char *sipauth_alg_name(DigestAlg a)
{
        for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
                if (alg_names[i].alg == a)
                        return alg_names[i].name;
        return "other";
}

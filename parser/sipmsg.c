/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one wrapper around libsofia-sip-ua (Debian 12: 1.12.11). Everything the
 * rest of sipauthmon knows about a SIP message comes through here, flattened
 * into SipMsg. The quirks this file works around are listed in
 * ../shared/recipes/sofia-sip.md; each one has a test in
 * tests/unit/test_sipmsg.c.
 *
 * Strings in SipMsg point into the sofia message home: sofia's own parsed
 * values are used as they are (no copies), digest parameters are unquoted by
 * auth_digest_*_get() into the same home, and msg_destroy() in sipmsg_clear()
 * frees them all at once.
 */
#include "sipmsg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/url.h>

#include "cursor.h"
#include "sipauth.h"

/*
 * Largest message handed to sofia-sip. A UDP datagram is at most 64 KiB; a
 * message reassembled from TCP may be larger (suricata's 64 KiB-body INVITE),
 * but nothing that large carries authentication worth a copy of a megabyte.
 */
#define SIPMSG_MAX_LEN (1u << 20)

struct SipParser {
        msg_mclass_t const *mclass;
};

SipParser *sip_parser_new(void)
{
        SipParser *p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        p->mclass = sip_default_mclass();
        if (!p->mclass) {
                free(p);
                return NULL;
        }
        return p;
}

SipParser *sip_parser_free(SipParser *p)
{
        free(p);
        return NULL;
}

void sipmsg_clear(SipMsg *m)
{
        if (!m)
                return;
        if (m->priv_)
                msg_destroy(m->priv_);
        memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------ */
/* Start line */

typedef struct {
        bool is_request;
        size_t uri_off; /* Request-URI as sent, offsets into the datagram */
        size_t uri_len;
} StartLine;

static bool cur_peek(const Cursor *c, uint8_t *v)
{
        if (cur_left(c) < 1)
                return false;
        *v = c->p[0];
        return true;
}

static bool cur_prefix(const Cursor *c, const char *lit, size_t n)
{
        return cur_left(c) >= n && memcmp(c->p, lit, n) == 0;
}

static bool is_alpha(uint8_t ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(uint8_t ch)
{
        return ch >= '0' && ch <= '9';
}

/* RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
 */
static bool is_sip_tchar(uint8_t ch)
{
        if (is_alpha(ch) || is_digit(ch))
                return true;
        /* a switch, not strchr(): this runs on the start line of every packet */
        switch (ch) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
                return true;
        default:
                return false;
        }
}

/* RFC 7230 §3.2.6 tchar, which RFC 7235 uses for auth-scheme (a superset of the SIP token). */
static bool is_http_tchar(uint8_t ch)
{
        if (is_alpha(ch) || is_digit(ch))
                return true;
        switch (ch) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
                return true;
        default:
                return false;
        }
}

/*
 * RFC 3261 §7.1 Request-Line = Method SP Request-URI SP SIP-Version CRLF,
 * §7.2 Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, and
 * §7.5: CRLFs before the start line are ignored. A cheap filter, not a
 * validator: runs of SP are tolerated (sofia-sip accepts them, RFC 4475
 * §3.1.2.9/§3.1.2.10), the status code and the URI are left to sofia. A line
 * that stops at the end of the data still qualifies: the caller reports such
 * a cut message as truncated.
 */
static bool scan_start_line(const uint8_t *data, size_t len, StartLine *sl)
{
        Cursor c = cur_make(data, len);
        uint8_t ch;

        *sl = (StartLine){0};
        while (cur_peek(&c, &ch) && (ch == '\r' || ch == '\n'))
                cur_skip(&c, 1);

        if (cur_prefix(&c, "SIP/2.0 ", 8)) {
                cur_skip(&c, 8);
                return cur_peek(&c, &ch) && is_digit(ch);
        }

        /* Method */
        size_t n = 0;
        while (cur_peek(&c, &ch) && is_sip_tchar(ch)) {
                cur_skip(&c, 1);
                n++;
        }
        if (n == 0 || !cur_peek(&c, &ch) || ch != ' ')
                return false;
        while (cur_peek(&c, &ch) && ch == ' ')
                cur_skip(&c, 1);

        /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
        const uint8_t *uri = c.p;
        if (!cur_u8(&c, &ch) || !is_alpha(ch))
                return false;
        while (cur_u8(&c, &ch) && ch != ':')
                if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-' && ch != '.')
                        return false;
        if (ch != ':')
                return false;

        /* The rest of the line ends with SP "SIP/2.0". */
        const uint8_t *eol = memchr(c.p, '\n', cur_left(&c));
        Cursor line = {c.p, eol ? eol : c.end};
        while (line.end > line.p &&
               (line.end[-1] == '\r' || line.end[-1] == ' ' || line.end[-1] == '\t'))
                line.end--;
        if (cur_left(&line) < 8 || memcmp(line.end - 8, " SIP/2.0", 8) != 0)
                return false;
        const uint8_t *uri_end = line.end - 8;
        while (uri_end > line.p && uri_end[-1] == ' ')
                uri_end--;
        sl->is_request = true;
        sl->uri_off = (size_t)(uri - data);
        sl->uri_len = (size_t)(uri_end - uri);
        return true;
}

bool sip_looks_like_sip(const uint8_t *data, size_t len)
{
        StartLine sl;
        return data && scan_start_line(data, len, &sl);
}

/* ------------------------------------------------------------------------ */
/* Names */

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
DigestAlg digest_alg_from_string(const char *s)
{
        if (!s)
                return DIGEST_ALG_MD5;
        for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
                if (strcasecmp(s, alg_names[i].name) == 0)
                        return alg_names[i].alg;
        return DIGEST_ALG_OTHER;
}

const char *digest_alg_name(DigestAlg a)
{
        for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
                if (alg_names[i].alg == a)
                        return alg_names[i].name;
        return "other";
}

const char *sip_parse_verdict_name(SipParseVerdict v)
{
        switch (v) {
        case SIP_PARSE_OK:
                return "ok";
        case SIP_PARSE_E_NOT_SIP:
                return "not-sip";
        case SIP_PARSE_E_MALFORMED:
                return "malformed";
        case SIP_PARSE_E_TRUNCATED:
                return "truncated";
        case SIP_PARSE_E_MISSING:
                return "missing";
        case SIP_PARSE_E_NOMEM:
                return "nomem";
        case SIP_PARSE__MAX:
                break;
        }
        return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Authentication headers */

static bool is_lws(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

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
} Fill;

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

        auth_challenge_t ac[1];
        memset(ac, 0, sizeof ac);
        ac->ac_size = (int)sizeof ac;
        if (auth_digest_challenge_get(f->home, ac, params) < 0)
                return;
        ch->realm = ac->ac_realm;
        if (!ch->digest)
                return;
        ch->nonce = ac->ac_nonce;
        ch->opaque = ac->ac_opaque;
        ch->algorithm = ac->ac_algorithm;
        ch->alg = digest_alg_from_string(ac->ac_algorithm);
        ch->qop_mask = qop_mask_of(ac->ac_qop);
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

        auth_response_t ar[1];
        memset(ar, 0, sizeof ar);
        ar->ar_size = (int)sizeof ar;
        if (auth_digest_response_get(f->home, ar, params) < 0)
                return;
        cr->username = ar->ar_username;
        cr->realm = ar->ar_realm;
        if (!cr->digest)
                return;
        cr->nonce = ar->ar_nonce;
        cr->uri = ar->ar_uri;
        cr->algorithm = ar->ar_algorithm;
        cr->alg = digest_alg_from_string(ar->ar_algorithm);
        cr->qop = ar->ar_qop;
        cr->qop_mask = qop_mask_of(ar->ar_qop);
        cr->nc = ar->ar_nc;
        cr->nc_valid = parse_nc(ar->ar_nc, &cr->nc_value);
        cr->cnonce = ar->ar_cnonce;
        cr->response = ar->ar_response;
        cr->opaque = ar->ar_opaque;
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
                        arr = su_alloc(f->home, (count + 1) * sizeof *arr);
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
                scheme = su_strndup(f->home, next_scheme, (isize_t)next_len);
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

/*
 * The area a message's auth headers are parsed into. A 401 or an
 * Authorization with its parameters unquoted takes about 1 KiB; 16 KiB
 * covers the eight challenges and eight credentials a SipMsg holds.
 */
#define SIPAUTH_AREA 16384

struct SipAuthArena {
        su_home_t *home; /* su_home_auto() over area */
        bool dirty;      /* something was allocated since the last reset */
        _Alignas(max_align_t) char area[SIPAUTH_AREA];
};

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
        return a;
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
        if (!a || !a->dirty)
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
        Fill f = {m, a->home};
        add_auth_line(&f, (msg_auth_t const *)h, proxy,
                      challenge ? add_challenge : add_credentials);
        return SIPAUTH_OK;
}

/* ------------------------------------------------------------------------ */
/* Message */

static bool name_in(const char *name, const char *const *names)
{
        for (size_t i = 0; names[i]; i++)
                if (strcasecmp(name, names[i]) == 0)
                        return true;
        return false;
}

/*
 * sofia-sip moves a header it cannot parse onto sip_error (as an error
 * header carrying er_name) and a repeated single-valued header onto the same
 * list (as a header of its own class: RFC 4475 §3.3.8). A bad or doubled
 * header that correlation depends on makes the message malformed; others
 * (Date, Contact, ...) are tolerated as a sniffer must see what servers
 * accept. Unparsable auth headers are counted.
 */
static bool check_error_headers(sip_t const *sip, unsigned *auth_errors)
{
        static const char *const required[] = {
            "Via", "v", "From", "f", "To", "t", "Call-ID", "i", "CSeq", "Content-Length", "l", NULL,
        };
        static const char *const auth[] = {
            "WWW-Authenticate", "Proxy-Authenticate", "Authorization", "Proxy-Authorization", NULL,
        };
        bool ok = true;

        for (msg_header_t const *h = (msg_header_t const *)sip->sip_error; h; h = h->sh_next) {
                msg_hclass_t const *hc = h->sh_class;
                const char *name = NULL;
                if (!hc)
                        continue;
                if (hc->hc_hash == sip_error_hash)
                        name = h->sh_error->er_name;
                else
                        name = hc->hc_name;
                if (!name)
                        continue;
                if (name_in(name, required))
                        ok = false;
                else if (name_in(name, auth))
                        (*auth_errors)++;
        }
        return ok;
}

/* RFC 3261 §20.42: sent-by port. 0 when absent or not a valid port. */
static uint16_t parse_port(const char *s)
{
        uint32_t v = 0;
        size_t n = 0;

        if (!s)
                return 0;
        for (; s[n]; n++) {
                if (!is_digit((uint8_t)s[n]) || n >= 5)
                        return 0;
                v = v * 10 + (uint32_t)(s[n] - '0');
        }
        return n && v <= 65535 ? (uint16_t)v : 0;
}

static void fill(SipMsg *m, msg_t *msg, sip_t const *sip, const uint8_t *data, size_t len,
                 const StartLine *sl)
{
        Fill f = {m, msg_home(msg)};

        if (sip->sip_request) {
                m->is_request = true;
                m->method = sip->sip_request->rq_method_name;
                /* As sent, not re-encoded: the digest uri check compares it
                 * byte for byte before trying RFC 3261 §19.1.4. */
                if (sl->is_request)
                        m->request_uri = su_strndup(f.home, (const char *)data + sl->uri_off,
                                                    (isize_t)sl->uri_len);
                else
                        m->request_uri = url_as_string(f.home, sip->sip_request->rq_url);
        } else if (sip->sip_status) {
                m->status = (unsigned)sip->sip_status->st_status;
                m->reason = sip->sip_status->st_phrase;
        }
        if (sip->sip_call_id)
                m->call_id = sip->sip_call_id->i_id;
        if (sip->sip_cseq) {
                m->cseq = sip->sip_cseq->cs_seq;
                m->cseq_method = sip->sip_cseq->cs_method_name;
        }
        if (sip->sip_from) {
                m->from_user = sip->sip_from->a_url->url_user;
                m->from_host = sip->sip_from->a_url->url_host;
                m->from_tag = sip->sip_from->a_tag;
        }
        if (sip->sip_to) {
                m->to_user = sip->sip_to->a_url->url_user;
                m->to_host = sip->sip_to->a_url->url_host;
                m->to_tag = sip->sip_to->a_tag;
        }
        if (sip->sip_via) {
                sip_via_t const *v = sip->sip_via;
                m->via_host = v->v_host;
                m->via_port = parse_port(v->v_port);
                if (v->v_protocol) {
                        const char *slash = strrchr(v->v_protocol, '/');
                        m->via_transport = slash ? slash + 1 : v->v_protocol;
                }
                m->via_branch = v->v_branch;
        }
        if (sip->sip_user_agent)
                m->user_agent = sip->sip_user_agent->g_string;
        if (sip->sip_server)
                m->server = sip->sip_server->g_string;

        add_auth_chain(&f, sip->sip_www_authenticate, false, add_challenge);
        add_auth_chain(&f, sip->sip_proxy_authenticate, true, add_challenge);
        add_auth_chain(&f, sip->sip_authorization, false, add_credentials);
        add_auth_chain(&f, sip->sip_proxy_authorization, true, add_credentials);

        if (sip->sip_payload && sip->sip_payload->pl_data && sip->sip_payload->pl_len > 0) {
                m->body = (const uint8_t *)sip->sip_payload->pl_data;
                m->body_len = sip->sip_payload->pl_len;
        }
        /* msg_size() is what sofia consumed: leading CRLFs, start line,
         * headers and the body as framed by Content-Length; trailing octets
         * (RFC 4475 §3.1.1.8) are not part of it. */
        m->msg_len = msg_size(msg);
        if (m->msg_len == 0 || m->msg_len > len)
                m->msg_len = len;
}

/*
 * RFC 3261 §18.3: cuts sofia-sip does not flag. It accepts a lone CR as the
 * empty line, so "...\r\n\r" at the very end of the data parses; and a
 * cut exactly after the empty line gives no payload and no MSG_FLG_TRUNC
 * even when Content-Length promised a body.
 */
static bool cut_at_separator_or_body(msg_t *msg, sip_t const *sip, size_t len)
{
        msg_separator_t const *sep = sip->sip_separator;

        if (sep && sep->sep_data[0] == '\r' && sep->sep_data[1] == '\0' && msg_size(msg) >= len)
                return true;
        if (sip->sip_content_length && sip->sip_content_length->l_length > 0) {
                usize_t have = sip->sip_payload ? sip->sip_payload->pl_len : 0;
                return have < sip->sip_content_length->l_length;
        }
        return false;
}

/*
 * RFC 3261 §7 message, §18.3 framing (Content-Length; a UDP datagram may
 * carry trailing octets), §8.2.2/§16.3 required headers.
 */
SipParseVerdict sip_parser_parse(SipParser *p, const uint8_t *data, size_t len, SipMsg *out)
{
        StartLine sl;

        if (!out)
                return SIP_PARSE_E_NOMEM;
        sipmsg_clear(out);
        if (!p || !p->mclass)
                return SIP_PARSE_E_NOMEM;
        if (!data || !scan_start_line(data, len, &sl))
                return SIP_PARSE_E_NOT_SIP;
        if (len > SIPMSG_MAX_LEN)
                return SIP_PARSE_E_MALFORMED;

        msg_t *msg = msg_make(p->mclass, 0, data, (ssize_t)len);
        if (!msg)
                return SIP_PARSE_E_NOMEM;
        sip_t const *sip = sip_object(msg);
        SipParseVerdict v = SIP_PARSE_OK;
        unsigned auth_errors = 0;

        if (!sip) {
                v = SIP_PARSE_E_MALFORMED;
        } else if ((sip->sip_flags & MSG_FLG_TRUNC) ||
                   (!sip->sip_separator && msg_size(msg) == 0 && !memchr(data, '\n', len))) {
                /* A cut body, or a start line without its end. */
                v = SIP_PARSE_E_TRUNCATED;
        } else if (!sip->sip_request && !sip->sip_status) {
                v = SIP_PARSE_E_MALFORMED;
        } else if (!sip->sip_separator) {
                /* Cut inside the headers: sofia reports such a message complete
                 * and silently drops the cut header. */
                v = SIP_PARSE_E_TRUNCATED;
        } else if (cut_at_separator_or_body(msg, sip, len)) {
                v = SIP_PARSE_E_TRUNCATED;
        } else if (msg_has_error(msg) || (sip->sip_flags & (MSG_FLG_ERROR | MSG_FLG_TOOLARGE))) {
                v = SIP_PARSE_E_MALFORMED;
        } else if (!check_error_headers(sip, &auth_errors)) {
                v = SIP_PARSE_E_MALFORMED;
        } else if (!sip->sip_call_id || !sip->sip_cseq || !sip->sip_from || !sip->sip_via) {
                v = SIP_PARSE_E_MISSING;
        }
        if (v != SIP_PARSE_OK) {
                msg_destroy(msg);
                return v;
        }

        out->priv_ = msg;
        out->auth_errors = auth_errors;
        fill(out, msg, sip, data, len, &sl);
        return SIP_PARSE_OK;
}

/* ------------------------------------------------------------------------ */
/* URI comparison */

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

bool sip_uri_equivalent(const char *a, const char *b)
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

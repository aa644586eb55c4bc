/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one wrapper around libsofia-sip-ua (Debian 12: 1.12.11). Everything the
 * rest of sipauthmon knows about a SIP message comes through here, flattened
 * into SipMsg. The quirks of that version this code works around, each with
 * a test in tests/unit/test_sipmsg.c:
 *   - "Authorization: Digest ," parses with au_params NULL, and
 *     auth_digest_response_get() then asserts (sipauth.c checks first);
 *   - auth_challenge_t/auth_response_t must carry their size, or an
 *     internal assert aborts;
 *   - no SHA-256 flag: the algorithm is a string, compared case-insensitively;
 *   - two challenges on one header line are not split: the second shows up
 *     as a parameter "Digest realm=..." (split_scheme() in sipauth.c);
 *   - a message cut inside its headers is reported complete, the cut header
 *     dropped: the only sign is sip_separator == NULL
 *     (cut_at_separator_or_body());
 *   - of two messages in one buffer only the first is parsed, silently.
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
#include "sipchars.h"

struct SipParser {
        msg_mclass_t const *mclass;
};

SipParser *sipmsg_parser_new(void)
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

SipParser *sipmsg_parser_free(SipParser *p)
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

/*
 * RFC 3261 §7.1 Request-Line = Method SP Request-URI SP SIP-Version CRLF,
 * §7.2 Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, and
 * §7.5: CRLFs before the start line are ignored. A cheap filter, not a
 * validator: runs of SP are tolerated (sofia-sip accepts them, RFC 4475
 * §3.1.2.9/§3.1.2.10), the status code and the URI are left to sofia. A line
 * that stops at the end of the data still qualifies: the caller reports such
 * a cut message as truncated.
 */
bool sipmsg_start_line(const uint8_t *data, size_t len, SipStartLine *sl)
{
        Cursor c = cur_make(data, len);
        uint8_t ch;

        *sl = (SipStartLine){0};
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

bool sipmsg_looks_like_sip(const uint8_t *data, size_t len)
{
        SipStartLine sl;
        return data && sipmsg_start_line(data, len, &sl);
}

/* ------------------------------------------------------------------------ */
/* Names */

const char *sipmsg_verdict_name(SipParseVerdict v)
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

static void fill(SipMsg *m, msg_t *msg, sip_t const *sip, const uint8_t *data, size_t len,
                 const SipStartLine *sl)
{
        su_home_t *home = msg_home(msg);

        if (sip->sip_request) {
                m->is_request = true;
                m->method = sip->sip_request->rq_method_name;
                /* As sent, not re-encoded: the digest uri check compares it
                 * byte for byte before trying RFC 3261 §19.1.4. */
                if (sl->is_request)
                        m->request_uri = su_strndup(home, (const char *)data + sl->uri_off,
                                                    (isize_t)sl->uri_len);
                else
                        m->request_uri = url_as_string(home, sip->sip_request->rq_url);
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

        sipauth_add_message(m, msg_home(msg), sip);

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
SipParseVerdict sipmsg_parse(SipParser *p, const uint8_t *data, size_t len, SipMsg *out)
{
        SipStartLine sl;
        bool sip = data && sipmsg_start_line(data, len, &sl);

        return sipmsg_parse_start(p, data, len, sip ? &sl : NULL, out);
}

/*
 * The same with the start line already read by sipmsg_start_line() (NULL:
 * it is not one). sofia-sip reads it once more in msg_make(): its own
 * parse, which this wrapper does not replace.
 */
SipParseVerdict sipmsg_parse_start(SipParser *p, const uint8_t *data, size_t len,
                                   const SipStartLine *sl, SipMsg *out)
{
        if (!out)
                return SIP_PARSE_E_NOMEM;
        sipmsg_clear(out);
        if (!p || !p->mclass)
                return SIP_PARSE_E_NOMEM;
        if (!data || !sl)
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
        fill(out, msg, sip, data, len, sl);
        return SIP_PARSE_OK;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A SipMsg deep-copied into one buffer (sipmsg.h): how a parsed message
 * crosses from a worker's front to the tracker (analysis/pipeline_workers.c).
 * Every string field is listed once, in each_string(); the size and the copy
 * both walk that list.
 */
#include "sipmsg.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

/*
 * A new pointer field in SipMsg, SipChallenge or SipCredentials must be
 * added to each_string() below; the sizes make the build say so.
 */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(SipChallenge) == 64, "SipChallenge changed: update each_string()");
_Static_assert(sizeof(SipCredentials) == 128, "SipCredentials changed: update each_string()");
_Static_assert(sizeof(SipMsg) == 1760, "SipMsg changed: update each_string()");
#endif

typedef void (*StringFn)(const char **s, void *userdata);

static void each_string(SipMsg *m, StringFn fn, void *ud)
{
        const char **top[] = {&m->method,        &m->reason,     &m->request_uri, &m->call_id,
                              &m->cseq_method,   &m->from_user,  &m->from_host,   &m->from_tag,
                              &m->to_user,       &m->to_host,    &m->to_tag,      &m->via_host,
                              &m->via_transport, &m->via_branch, &m->user_agent,  &m->server};
        size_t nc = m->n_challenges < SIPMSG_MAX_AUTH ? m->n_challenges : SIPMSG_MAX_AUTH;
        size_t nr = m->n_credentials < SIPMSG_MAX_AUTH ? m->n_credentials : SIPMSG_MAX_AUTH;

        for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
                fn(top[i], ud);
        for (size_t i = 0; i < nc; i++) {
                SipChallenge *c = &m->challenges[i];
                const char **s[] = {&c->scheme, &c->realm, &c->nonce, &c->opaque, &c->algorithm};

                for (size_t j = 0; j < sizeof s / sizeof s[0]; j++)
                        fn(s[j], ud);
        }
        for (size_t i = 0; i < nr; i++) {
                SipCredentials *c = &m->credentials[i];
                const char **s[] = {&c->scheme, &c->username,  &c->realm, &c->nonce,
                                    &c->uri,    &c->algorithm, &c->qop,   &c->nc,
                                    &c->cnonce, &c->response,  &c->opaque};

                for (size_t j = 0; j < sizeof s / sizeof s[0]; j++)
                        fn(s[j], ud);
        }
}

static void add_size(const char **s, void *userdata)
{
        size_t *n = userdata;

        if (*s)
                *n += strlen(*s) + 1;
}

/* The fixed part of a packed message: SipMsg up to its challenges, these
 * counts and lengths, then the challenges and credentials in use. */
typedef struct {
        size_t n_challenges, n_credentials;
        unsigned challenges_dropped, credentials_dropped, auth_errors;
        bool has_body;
        size_t body_len, msg_len;
        size_t body_off; /* from the start of the packed message */
} PackTail;

#define HEAD_BYTES offsetof(SipMsg, n_challenges)
#define ALIGN8(x)  (((x) + 7) & ~(size_t)7)
#define TAIL_AT    ALIGN8(HEAD_BYTES)
#define ENTRIES_AT (TAIL_AT + ALIGN8(sizeof(PackTail)))

static size_t fixed_size(size_t nc, size_t nr)
{
        return ENTRIES_AT + nc * sizeof(SipChallenge) + nr * sizeof(SipCredentials);
}

static size_t used(size_t n)
{
        return n < SIPMSG_MAX_AUTH ? n : SIPMSG_MAX_AUTH;
}

size_t sipmsg_pack_size(const SipMsg *m)
{
        size_t n = fixed_size(used(m->n_challenges), used(m->n_credentials)) + m->body_len;

        /* each_string() only reads through add_size. */
        each_string((SipMsg *)(uintptr_t)m, add_size, &n);
        return n;
}

typedef struct {
        char *out, *end;
} Copier;

static void copy_one(const char **s, void *userdata)
{
        Copier *c = userdata;
        size_t n;

        if (!*s || !c->out)
                return;
        n = strlen(*s) + 1;
        if ((size_t)(c->end - c->out) < n) {
                c->out = NULL; /* short: sipmsg_pack() fails */
                return;
        }
        memcpy(c->out, *s, n);
        *s = c->out;
        c->out += n;
}

bool sipmsg_pack(const SipMsg *m, void *buf, size_t cap)
{
        size_t nc = used(m->n_challenges), nr = used(m->n_credentials);
        uint8_t *b = buf;
        Copier c = {.out = (char *)b + fixed_size(nc, nr), .end = (char *)b + cap};
        PackTail t = {nc,
                      nr,
                      m->challenges_dropped,
                      m->credentials_dropped,
                      m->auth_errors,
                      m->body != NULL,
                      m->body_len,
                      m->msg_len,
                      0};
        SipMsg tmp;

        if (cap < fixed_size(nc, nr) || ((uintptr_t)buf & 7))
                return false;
        /* The strings first, into the buffer, repointed in a copy of the fields. */
        memcpy(&tmp, m, HEAD_BYTES);
        memcpy(tmp.challenges, m->challenges, nc * sizeof *m->challenges);
        memcpy(tmp.credentials, m->credentials, nr * sizeof *m->credentials);
        tmp.n_challenges = nc;
        tmp.n_credentials = nr;
        each_string(&tmp, copy_one, &c);
        if (!c.out || (size_t)(c.end - c.out) < m->body_len)
                return false;
        if (m->body)
                memcpy(c.out, m->body, m->body_len);
        t.body_off = (size_t)((uint8_t *)c.out - b);
        memcpy(b, &tmp, HEAD_BYTES);
        memcpy(b + TAIL_AT, &t, sizeof t);
        memcpy(b + ENTRIES_AT, tmp.challenges, nc * sizeof *m->challenges);
        memcpy(b + ENTRIES_AT + nc * sizeof *m->challenges, tmp.credentials,
               nr * sizeof *m->credentials);
        return true;
}

void sipmsg_unpack(const void *buf, SipMsg *out)
{
        const uint8_t *b = buf;
        PackTail t;

        memcpy(out, b, HEAD_BYTES);
        memcpy(&t, b + TAIL_AT, sizeof t);
        out->n_challenges = t.n_challenges;
        out->n_credentials = t.n_credentials;
        memcpy(out->challenges, b + ENTRIES_AT, t.n_challenges * sizeof *out->challenges);
        memcpy(out->credentials, b + ENTRIES_AT + t.n_challenges * sizeof *out->challenges,
               t.n_credentials * sizeof *out->credentials);
        out->challenges_dropped = t.challenges_dropped;
        out->credentials_dropped = t.credentials_dropped;
        out->auth_errors = t.auth_errors;
        out->body = t.has_body ? b + t.body_off : NULL;
        out->body_len = t.body_len;
        out->msg_len = t.msg_len;
        out->priv_ = NULL;
}

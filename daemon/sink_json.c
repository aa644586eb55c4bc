/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON line of a record (DESIGN.md "Output schema"). Invalid UTF-8 is
 * repaired (U+FFFD) before json-c serialises, because json-c 0.16 copies
 * bytes >= 0x80 through unchecked, and every line must be valid UTF-8 JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "escape.h"
#include "sink_internal.h"

/* RFC 3629 §3: length of the well-formed UTF-8 sequence at s, 0 when it is not one. */
static size_t utf8_valid_len(const unsigned char *s)
{
        uint32_t cp;

        return utf8_sequence(s, &cp);
}

/*
 * Copies in to out replacing each byte that is not part of well-formed UTF-8
 * with U+FFFD, so the JSON line stays valid UTF-8. out holds 3 * strlen(in) + 1.
 */
static void utf8_repair(const char *in, char *out)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t o = 0;

        while (*s) {
                size_t len = utf8_valid_len(s);

                if (len == 0) {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        s++;
                        continue;
                }
                memcpy(out + o, s, len);
                o += len;
                s += len;
        }
        out[o] = '\0';
}

static void json_add(Sink *s, json_object *o, const char *key, json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                s->err = -ENOMEM;
        }
}

static void json_add_string(Sink *s, json_object *o, const char *key, const char *value)
{
        char fixed[3 * FIELD_MAX + 1];

        if (!value[0] || s->err < 0)
                return; /* unknown: the key is left out */
        utf8_repair(value, fixed);
        json_add(s, o, key, json_object_new_string(fixed));
}

static void json_add_time(Sink *s, json_object *o, const char *key, int64_t us)
{
        char t[40];

        if (time_known(us))
                json_add_string(s, o, key, format_rfc3339_ms(us, t, sizeof t));
}

/*
 * json-c escapes C0 controls but passes DEL, the C1 controls (U+0080..009F)
 * and the bidirectional controls (U+061C, U+200E/F, U+202A..202E,
 * U+2066..2069) through raw; `jq -r` then prints them to a terminal, where
 * they can move the cursor or reorder what an operator reads (issue 13).
 * They can only stand inside strings (keys are ours, ASCII), so writing
 * each as its \u escape changes no value.
 */
static void json_put_controls_escaped(Sink *s, const char *line)
{
        const unsigned char *p = (const unsigned char *)line, *run = p;
        char esc[8];

        for (; *p; p++) {
                unsigned cp = 0, len = 0;

                if (p[0] == 0x7f)
                        cp = 0x7f, len = 1;
                else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        cp = p[1], len = 2;
                else if (p[0] == 0xd8 && p[1] == 0x9c)
                        cp = 0x061c, len = 2;
                else if (p[0] == 0xe2 && p[1] == 0x80 &&
                         (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae)))
                        cp = 0x2000 | (p[2] & 0x3f), len = 3;
                else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
                        cp = 0x2040 | (p[2] & 0x3f), len = 3;
                if (!len)
                        continue;
                sink_buf_put(s, (const char *)run, (size_t)(p - run));
                snprintf(esc, sizeof esc, "\\u%04x", cp);
                sink_buf_puts(s, esc);
                p += len - 1;
                run = p + 1;
        }
        sink_buf_put(s, (const char *)run, (size_t)(p - run));
}

/* account-scan: "accounts": [{"user": ..., "exists": true|false}] (DESIGN.md). */
static void json_add_accounts(Sink *s, json_object *o, const Diagnosis *d)
{
        json_object *a;

        if (d->n_accounts == 0 || s->err < 0)
                return;
        a = json_object_new_array();
        if (!a) {
                s->err = -ENOMEM;
                return;
        }
        for (unsigned i = 0; i < d->n_accounts && i < DIAG_ACCOUNTS_MAX; i++) {
                char user[sizeof d->accounts[0].user], fixed[3 * sizeof user + 1];
                json_object *e = json_object_new_object();

                if (!e) {
                        s->err = -ENOMEM;
                        break;
                }
                memcpy(user, d->accounts[i].user, sizeof user);
                user[sizeof user - 1] = '\0';
                utf8_repair(user, fixed);
                json_object_object_add(e, "user", json_object_new_string(fixed));
                json_object_object_add(e, "exists", json_object_new_boolean(d->accounts[i].exists));
                json_object_array_add(a, e);
        }
        json_add(s, o, "accounts", a);
}

/* client_ip/client_port or server_ip/server_port: the structured endpoint, when known. */
static void json_add_endpoint(Sink *s, json_object *o, const char *ip_key, const char *port_key,
                              const Endpoint *e)
{
        char ip[ENDPOINT_STRLEN];

        if ((e->family != 4 && e->family != 6) || s->err < 0)
                return;
        json_add_string(s, o, ip_key, endpoint_format_addr(e, ip, sizeof ip));
        if (s->err == 0)
                json_add(s, o, port_key, json_object_new_int((int)e->port));
}

/*
 * DESIGN.md "Output schema": exactly these keys, in this order, absent when
 * unknown (contrib/schema/sipauthmon-record.schema.json lists them the same way).
 */
void sink_format_json(Sink *s, const Diagnosis *d)
{
        char tmp[FIELD_MAX + 1];
        json_object *o = json_object_new_object();
        const char *line;

        if (!o) {
                s->err = -ENOMEM;
                return;
        }
        json_add_string(s, o, "diagnosis", diag_code_name(d->code));
        json_add_string(s, o, "severity", severity_name(d->severity));
        json_add_string(s, o, "message_id", diag_code_message_id(d->code));
        json_add_string(s, o, "message", FIELD(d, message, tmp));
        json_add_string(s, o, "user", FIELD(d, user, tmp));
        json_add_string(s, o, "realm", FIELD(d, realm, tmp));
        json_add_string(s, o, "client", FIELD(d, client, tmp));
        json_add_endpoint(s, o, "client_ip", "client_port", &d->client_ep);
        json_add_string(s, o, "server", FIELD(d, server, tmp));
        json_add_endpoint(s, o, "server_ip", "server_port", &d->server_ep);
        json_add_string(s, o, "transport", FIELD(d, transport, tmp));
        json_add_string(s, o, "method", FIELD(d, method, tmp));
        json_add_string(s, o, "call_id", FIELD(d, call_id, tmp));
        if (d->attempts > 0 && s->err == 0)
                json_add(s, o, "attempts", json_object_new_int64((int64_t)d->attempts));
        json_add_time(s, o, "first_seen", d->first_seen_us);
        json_add_time(s, o, "last_seen", d->last_seen_us);
        json_add_string(s, o, "user_agent", FIELD(d, user_agent, tmp));
        json_add_string(s, o, "server_agent", FIELD(d, server_agent, tmp));
        json_add_string(s, o, "algorithm", FIELD(d, algorithm, tmp));
        json_add_string(s, o, "evidence", FIELD(d, evidence, tmp));
        json_add_string(s, o, "remedy", FIELD(d, remedy, tmp));
        if (d->source_verified != SOURCE_VERIFIED_NA && s->err == 0)
                json_add(s, o, "source_verified",
                         json_object_new_boolean(d->source_verified == SOURCE_VERIFIED_YES));
        json_add_accounts(s, o, d);

        if (s->err == 0) {
                line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
                if (line) {
                        json_put_controls_escaped(s, line);
                        sink_buf_put(s, "\n", 1);
                } else {
                        s->err = -ENOMEM;
                }
        }
        json_object_put(o);
}

char *sink_json_line(const Diagnosis *d, size_t *len)
{
        Sink s = {.kind = SINK_JSON, .fd = -1};

        if (!d || !len) {
                errno = EINVAL;
                return NULL;
        }
        sink_format_json(&s, d);
        if (s.err < 0 || s.len == 0 || s.buf[s.len - 1] != '\n') {
                free(s.buf);
                errno = ENOMEM;
                return NULL;
        }
        s.buf[--s.len] = '\0'; /* the newline becomes the terminator */
        *len = s.len;
        return s.buf;
}

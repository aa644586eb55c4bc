/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/escape.c and daemon/sink.c: records are written into
 * a memfd (or a pipe) and read back. JSON lines are checked twice: by a small
 * strict RFC 8259 + RFC 3629 validator written here (json-c is the library
 * under test, so it is not trusted to judge its own output), and then parsed
 * with json-c to compare keys, key order and values.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "escape.h"
#include "sink.h"
#include "check.h"

/* ---- helpers ------------------------------------------------------------ */

static void set(char *field, size_t cap, const char *v)
{
        snprintf(field, cap, "%s", v);
}

#define SET(d, name, v) set((d)->name, sizeof((d)->name), (v))

static Diagnosis full_diagnosis(void)
{
        Diagnosis d;

        memset(&d, 0, sizeof d);
        d.code = DIAG_WRONG_PASSWORD;
        d.severity = SEV_WARNING;
        d.attempts = 3;
        d.first_seen_us = 1795694400123000; /* 2026-11-26T12:00:00.123Z */
        d.last_seen_us = 1795694404567000;
        SET(&d, message, "alice@example.test from 192.0.2.10:5060: password refused 3 times");
        SET(&d, user, "alice");
        SET(&d, realm, "example.test");
        SET(&d, client, "192.0.2.10:5060");
        SET(&d, server, "192.0.2.1:5060");
        d.client_ep = (Endpoint){.family = 4, .addr = {192, 0, 2, 10}, .port = 5060};
        d.server_ep = (Endpoint){.family = 4, .addr = {192, 0, 2, 1}, .port = 5060};
        SET(&d, transport, "udp");
        SET(&d, method, "REGISTER");
        SET(&d, call_id, "a84b4c76e66710@pc33.example.test");
        SET(&d, user_agent, "Linphone/5.0");
        SET(&d, server_agent, "Asterisk PBX 20.1");
        SET(&d, algorithm, "MD5");
        SET(&d, evidence, "3 refusals of fresh challenges, all consistent (realm, uri, qop)");
        SET(&d, remedy, "set the same secret on both sides, then pjsip reload");
        return d;
}

/* run_sink draws ladders (sink_set_ladder) while this is set. */
static bool ladder_on;

/* Runs one sink over the records and returns everything it wrote (caller frees). */
static char *run_sink(SinkKind kind, bool color, const Diagnosis *d, size_t n, size_t *len)
{
        int fd = memfd_create("sink-test", MFD_CLOEXEC);
        Sink *s;
        struct stat st;
        char *out;

        if (fd < 0) {
                perror("memfd_create");
                exit(2);
        }
        s = sink_new(kind, fd, color);
        CHECK(s, "sink_new(%s) failed", sink_kind_name(kind));
        sink_set_ladder(s, ladder_on);
        for (size_t i = 0; s && i < n; i++) {
                int r = sink_emit(s, &d[i]);
                CHECK(r == 0, "sink_emit: %s", strerror(-r));
        }
        CHECK(sink_flush(s) == 0, "sink_flush failed");
        s = sink_free(s);
        if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                exit(2);
        out = calloc(1, (size_t)st.st_size + 1);
        if (!out || (st.st_size > 0 && read(fd, out, (size_t)st.st_size) != st.st_size))
                exit(2);
        close(fd);
        *len = (size_t)st.st_size;
        return out;
}

/* ---- a strict JSON validator (RFC 8259) over UTF-8 (RFC 3629) ----------- */

typedef struct {
        const unsigned char *p;
        const unsigned char *end;
        int depth;
} Json;

static void ws(Json *j)
{
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
                j->p++;
}

/* One well-formed UTF-8 sequence (no overlongs, surrogates, > U+10FFFF). */
static bool utf8_char(Json *j)
{
        unsigned c = *j->p;
        size_t len;
        uint32_t v;
        uint32_t min;

        if (c < 0x80) {
                j->p++;
                return true;
        }
        if (c >= 0xc2 && c <= 0xdf)
                len = 2, v = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, v = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, v = c & 0x07, min = 0x10000;
        else
                return false;
        if ((size_t)(j->end - j->p) < len)
                return false;
        for (size_t i = 1; i < len; i++) {
                if ((j->p[i] & 0xc0) != 0x80)
                        return false;
                v = (v << 6) | (j->p[i] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return false;
        j->p += len;
        return true;
}

static bool json_string(Json *j)
{
        if (j->p >= j->end || *j->p != '"')
                return false;
        j->p++;
        while (j->p < j->end) {
                unsigned c = *j->p;

                if (c == '"') {
                        j->p++;
                        return true;
                }
                if (c < 0x20)
                        return false; /* raw control characters are not allowed */
                if (c == '\\') {
                        j->p++;
                        if (j->p >= j->end)
                                return false;
                        if (*j->p == 'u') {
                                if (j->end - j->p < 5)
                                        return false;
                                for (int i = 1; i <= 4; i++) {
                                        unsigned h = j->p[i];
                                        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                                              (h >= 'A' && h <= 'F')))
                                                return false;
                                }
                                j->p += 5;
                        } else if (strchr("\"\\/bfnrt", *j->p) && *j->p) {
                                j->p++;
                        } else {
                                return false;
                        }
                        continue;
                }
                if (!utf8_char(j))
                        return false;
        }
        return false;
}

static bool json_value(Json *j);

static bool json_number(Json *j)
{
        const unsigned char *start;

        if (j->p < j->end && *j->p == '-')
                j->p++;
        if (j->p >= j->end)
                return false;
        if (*j->p == '0') {
                j->p++;
        } else if (*j->p >= '1' && *j->p <= '9') {
                while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                        j->p++;
        } else {
                return false;
        }
        if (j->p < j->end && *j->p == '.') {
                start = ++j->p;
                while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                        j->p++;
                if (j->p == start)
                        return false;
        }
        if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
                j->p++;
                if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
                        j->p++;
                start = j->p;
                while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                        j->p++;
                if (j->p == start)
                        return false;
        }
        return true;
}

static bool json_literal(Json *j, const char *lit)
{
        size_t n = strlen(lit);

        if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
                return false;
        j->p += n;
        return true;
}

static bool json_container(Json *j, char open, char close)
{
        bool first = true;

        if (++j->depth > 64)
                return false;
        j->p++; /* open */
        for (;;) {
                ws(j);
                if (j->p >= j->end)
                        return false;
                if (*j->p == (unsigned char)close) {
                        if (!first)
                                return false; /* trailing comma */
                        j->p++;
                        j->depth--;
                        return true;
                }
                if (open == '{') {
                        if (!json_string(j))
                                return false;
                        ws(j);
                        if (j->p >= j->end || *j->p != ':')
                                return false;
                        j->p++;
                }
                if (!json_value(j))
                        return false;
                ws(j);
                if (j->p < j->end && *j->p == ',') {
                        j->p++;
                        first = false;
                        continue;
                }
                if (j->p < j->end && *j->p == (unsigned char)close) {
                        j->p++;
                        j->depth--;
                        return true;
                }
                return false;
        }
}

static bool json_value(Json *j)
{
        ws(j);
        if (j->p >= j->end)
                return false;
        switch (*j->p) {
        case '{':
                return json_container(j, '{', '}');
        case '[':
                return json_container(j, '[', ']');
        case '"':
                return json_string(j);
        case 't':
                return json_literal(j, "true");
        case 'f':
                return json_literal(j, "false");
        case 'n':
                return json_literal(j, "null");
        default:
                return json_number(j);
        }
}

/* The whole line is exactly one JSON object and nothing else. */
static bool json_line_valid(const char *line, size_t len)
{
        Json j = {(const unsigned char *)line, (const unsigned char *)line + len, 0};

        ws(&j);
        if (j.p >= j.end || *j.p != '{' || !json_value(&j))
                return false;
        ws(&j);
        return j.p == j.end;
}

static void test_validator_itself(void)
{
        static const char *const good[] = {"{}", "{\"a\":1}",
                                           "{\"a\":\"\\u00e9\\n\",\"b\":[1,2.5e3,true,null]}",
                                           "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}"};
        static const char *const bad[] = {"{",
                                          "{\"a\":1,}",
                                          "{\"a\":\"\x01\"}",
                                          "{\"a\":\"\xff\"}",
                                          "{\"a\":01}",
                                          "{\"a\":\"\\x41\"}",
                                          "[1]",
                                          "{} {}",
                                          "{\"a\":\"\xed\xa0\x80\"}",
                                          "{\"a\":\"\xc0\xaf\"}"};

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                CHECK(json_line_valid(good[i], strlen(good[i])), "validator rejects %s", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                CHECK(!json_line_valid(bad[i], strlen(bad[i])), "validator accepts bad #%zu", i);
}

/* Splits out into lines, validates each, parses them with json-c. */
static size_t parse_json_lines(char *out, size_t len, json_object **objs, size_t max)
{
        size_t n = 0;
        char *p = out;

        CHECK(len > 0 && out[len - 1] == '\n', "JSON output does not end with a newline");
        while (p < out + len) {
                char *nl = memchr(p, '\n', (size_t)(out + len - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(out + len - p);

                CHECK(json_line_valid(p, l), "line %zu is not valid UTF-8 JSON: %.*s", n + 1,
                      (int)(l > 200 ? 200 : l), p);
                if (n < max) {
                        json_tokener *tok = json_tokener_new();

                        json_tokener_set_flags(tok,
                                               JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
                        objs[n] = json_tokener_parse_ex(tok, p, (int)l);
                        CHECK(objs[n] && json_tokener_get_error(tok) == json_tokener_success,
                              "json-c cannot parse line %zu", n + 1);
                        json_tokener_free(tok);
                }
                n++;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return n;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* ---- escape_text ---------------------------------------------------------- */

static void expect_escape(const char *in, size_t n, const char *want)
{
        char out[256];
        size_t r;

        memset(out, 'X', sizeof out);
        r = escape_text(in, out, n);
        CHECK(strcmp(out, want) == 0, "escape_text(n=%zu) gave \"%s\", want \"%s\"", n, out, want);
        CHECK(r == strlen(out), "escape_text returned %zu for length %zu", r, strlen(out));
}

static void test_escape(void)
{
        char out[8];

        expect_escape("plain ASCII ~!", 64, "plain ASCII ~!");
        expect_escape("a\nb\tc\rd", 64, "a\\nb\\tc\\rd");
        expect_escape("back\\slash", 64, "back\\\\slash");
        expect_escape("esc\x1b[31m bel\x07 del\x7f", 64, "esc\\x1b[31m bel\\x07 del\\x7f");
        expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 64,
                      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        expect_escape("bad \xff \xc3\x28 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80", 128,
                      "bad \\xff \\xc3( \\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80");
        expect_escape("cut \xe2\x82", 64, "cut \\xe2\\x82");
        /* Valid UTF-8 that still steers a terminal or a reader: C1 CSI, RLO. */
        expect_escape("\xc2\x9b"
                      "2J \xe2\x80\xae"
                      "cba",
                      64, "\\xc2\\x9b2J \\xe2\\x80\\xaecba");
        /* Truncation keeps whole characters and whole escapes. */
        expect_escape("abc", 3, "ab");
        expect_escape("a\xc3\xa9", 3, "a");
        expect_escape("a\xc3\xa9", 4, "a\xc3\xa9");
        expect_escape("a\x01", 5, "a");
        expect_escape("a\x01", 6, "a\\x01");
        expect_escape("a\\", 3, "a");
        expect_escape("", 1, "");
        expect_escape(NULL, 4, "");
        memset(out, 'X', sizeof out);
        CHECK(escape_text("abc", out, 0) == 0 && out[0] == 'X', "escape_text wrote with n=0");
}

/* ---- JSON ----------------------------------------------------------------- */

/* DESIGN.md "Output schema", in its order (source_verified and accounts: not in this record). */
static const char *const all_keys[] = {
    "diagnosis",  "severity",     "message_id",  "message",  "user",       "realm",
    "client",     "client_ip",    "client_port", "server",   "server_ip",  "server_port",
    "transport",  "method",       "call_id",     "attempts", "first_seen", "last_seen",
    "user_agent", "server_agent", "algorithm",   "evidence", "remedy",
};

static void check_keys(json_object *o, const char *const *want, size_t nwant, const char *what)
{
        size_t i = 0;

        if (!o)
                return;
        json_object_object_foreach(o, key, val)
        {
                (void)val;
                CHECK(i < nwant && strcmp(key, want[i]) == 0, "%s: key #%zu is \"%s\", want \"%s\"",
                      what, i, key, i < nwant ? want[i] : "(none)");
                i++;
        }
        CHECK(i == nwant, "%s: %zu keys, want %zu", what, i, nwant);
}

static void test_json_full(void)
{
        Diagnosis d = full_diagnosis();
        size_t len;
        char *out = run_sink(SINK_JSON, false, &d, 1, &len);
        json_object *o[2] = {NULL, NULL};
        json_object *v;

        CHECK(parse_json_lines(out, len, o, 2) == 1, "one record must be one line");
        check_keys(o[0], all_keys, sizeof all_keys / sizeof all_keys[0], "full record");
        CHECK(jstr(o[0], "diagnosis") && strcmp(jstr(o[0], "diagnosis"), "wrong-password") == 0,
              "diagnosis");
        CHECK(jstr(o[0], "severity") && strcmp(jstr(o[0], "severity"), "warning") == 0, "severity");
        CHECK(jstr(o[0], "first_seen") &&
                  strcmp(jstr(o[0], "first_seen"), "2026-11-26T12:00:00.123Z") == 0,
              "first_seen %s", jstr(o[0], "first_seen"));
        CHECK(jstr(o[0], "last_seen") &&
                  strcmp(jstr(o[0], "last_seen"), "2026-11-26T12:00:04.567Z") == 0,
              "last_seen");
        CHECK(jstr(o[0], "call_id") &&
                  strcmp(jstr(o[0], "call_id"), "a84b4c76e66710@pc33.example.test") == 0,
              "call_id");
        CHECK(o[0] && json_object_object_get_ex(o[0], "attempts", &v) &&
                  json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 3,
              "attempts must be the number 3");
        CHECK(strstr(out, "\"attempts\":3,") != NULL, "attempts is not a bare number: %s", out);
        CHECK(jstr(o[0], "message_id") &&
                  strcmp(jstr(o[0], "message_id"), diag_code_message_id(DIAG_WRONG_PASSWORD)) == 0,
              "message_id is the code's MESSAGE_ID");
        CHECK(jstr(o[0], "client_ip") && strcmp(jstr(o[0], "client_ip"), "192.0.2.10") == 0,
              "client_ip");
        CHECK(jstr(o[0], "server_ip") && strcmp(jstr(o[0], "server_ip"), "192.0.2.1") == 0,
              "server_ip");
        CHECK(strstr(out, "\"client_port\":5060,") && strstr(out, "\"server_port\":5060,"),
              "ports are bare numbers: %s", out);
        json_object_put(o[0]);
        free(out);
}

/* The structured endpoints of an IPv6 record; sink_json_line() is the json sink's line. */
static void test_json_endpoints_v6(void)
{
        Diagnosis d = full_diagnosis();
        size_t len, llen = 0;
        char *out, *line;
        json_object *o = NULL;

        SET(&d, client, "[2001:db8::10]:5070");
        SET(&d, server, "[2001:db8::1]:5060");
        d.client_ep =
            (Endpoint){.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}, .port = 5070};
        d.server_ep =
            (Endpoint){.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01}, .port = 5060};
        out = run_sink(SINK_JSON, false, &d, 1, &len);
        CHECK(parse_json_lines(out, len, &o, 1) == 1, "one line");
        CHECK(jstr(o, "client_ip") && strcmp(jstr(o, "client_ip"), "2001:db8::10") == 0,
              "client_ip without brackets: %s", jstr(o, "client_ip"));
        CHECK(jstr(o, "server_ip") && strcmp(jstr(o, "server_ip"), "2001:db8::1") == 0,
              "server_ip");
        CHECK(strstr(out, "\"client_port\":5070,") != NULL, "client_port: %s", out);

        line = sink_json_line(&d, &llen);
        CHECK(line && llen + 1 == len && memcmp(line, out, llen) == 0 && line[llen] == '\0',
              "sink_json_line() is the json sink's line without its newline");
        free(line);
        json_object_put(o);
        free(out);
}

static void test_json_absent(void)
{
        static const char *const want[] = {"diagnosis", "severity", "message_id", "user", "client"};
        Diagnosis d;
        size_t len;
        char *out;
        json_object *o = NULL;

        memset(&d, 0, sizeof d);
        d.code = DIAG_ACCOUNT_SCAN;
        d.severity = SEV_ERROR;
        SET(&d, user, "100");
        SET(&d, client, "[2001:db8::1]:5060");
        out = run_sink(SINK_JSON, false, &d, 1, &len);
        CHECK(parse_json_lines(out, len, &o, 1) == 1, "one line");
        check_keys(o, want, sizeof want / sizeof want[0], "sparse record");
        CHECK(jstr(o, "client") && strcmp(jstr(o, "client"), "[2001:db8::1]:5060") == 0, "client");
        CHECK(strstr(out, "null") == NULL && strstr(out, "\"\"") == NULL,
              "unknown values must be left out, not null or empty: %s", out);
        json_object_put(o);
        free(out);
}

static void test_json_escaping(void)
{
        Diagnosis d[3];
        json_object *o[3] = {NULL, NULL, NULL};
        size_t len;
        char *out;
        const char *v;

        d[0] = full_diagnosis();
        SET(&d[0], user, "a\"b\\c\x01\x1b[0m\n\t/\x7f");
        SET(&d[0], user_agent, "bad \xff|\xc3\x28|\xc0\xaf|\xed\xa0\x80|ok \xc3\xa9\xe2\x82\xac");
        SET(&d[0], message, "100% %s %n done");
        /* C1 CSI, RIGHT-TO-LEFT OVERRIDE, FIRST STRONG ISOLATE: valid UTF-8 that a
         * terminal acts on; json-c leaves them raw (issue 13). */
        SET(&d[0], realm,
            "x\xc2\x9b"
            "31m\xe2\x80\xae"
            "gnp.exe\xe2\x81\xa8y");

        /* Very long: every field filled to its limit with hostile bytes. */
        d[1] = full_diagnosis();
        for (size_t i = 0; i + 1 < sizeof d[1].evidence; i++)
                d[1].evidence[i] = "\x01\"\\\xff\xc3 a\x1b"[i % 8];
        d[1].evidence[sizeof d[1].evidence - 1] = '\0';
        memset(d[1].remedy, 'r', sizeof d[1].remedy - 1);
        d[1].remedy[sizeof d[1].remedy - 1] = '\0';

        /* A field without its NUL (contract broken): still bounded, still valid. */
        d[2] = full_diagnosis();
        memset(d[2].call_id, 'c', sizeof d[2].call_id);

        out = run_sink(SINK_JSON, false, d, 3, &len);
        CHECK(parse_json_lines(out, len, o, 3) == 3, "three records, three lines");
        v = jstr(o[0], "user");
        CHECK(v && strcmp(v, "a\"b\\c\x01\x1b[0m\n\t/\x7f") == 0, "control chars round trip");
        CHECK(strstr(out, "\\u0001") && strstr(out, "\\u001b") && strstr(out, "\\n"),
              "control characters are not escaped in the JSON text");
        CHECK(strstr(out, "\\u007f") != NULL, "DEL is not escaped in the JSON text");
        CHECK(strstr(out, "\\u009b") && strstr(out, "\\u202e") && strstr(out, "\\u2068") &&
                  !strstr(out, "\xc2\x9b") && !strstr(out, "\xe2\x80\xae"),
              "C1 and bidi controls are not escaped in the JSON text");
        v = jstr(o[0], "realm");
        CHECK(v && strcmp(v, "x\xc2\x9b"
                             "31m\xe2\x80\xae"
                             "gnp.exe\xe2\x81\xa8y") == 0,
              "escaped controls round trip: %s", v ? v : "(null)");
        v = jstr(o[0], "user_agent");
        CHECK(v && strcmp(v, "bad \xef\xbf\xbd|\xef\xbf\xbd(|\xef\xbf\xbd\xef\xbf\xbd|"
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|ok \xc3\xa9\xe2\x82\xac") == 0,
              "invalid UTF-8 must become U+FFFD, valid UTF-8 kept: %s", v ? v : "(null)");
        v = jstr(o[0], "message");
        CHECK(v && strcmp(v, "100% %s %n done") == 0, "'%%' must be literal");
        v = jstr(o[1], "evidence");
        CHECK(v && strlen(v) > 1000, "long evidence lost");
        v = jstr(o[1], "remedy");
        CHECK(v && strlen(v) == sizeof d[1].remedy - 1, "long remedy truncated");
        v = jstr(o[2], "call_id");
        CHECK(v && strlen(v) == sizeof d[2].call_id, "unterminated call_id: %zu bytes",
              v ? strlen(v) : 0);
        for (int i = 0; i < 3; i++)
                json_object_put(o[i]);
        free(out);
}

/* ---- text ----------------------------------------------------------------- */

/* Display columns of a UTF-8 line (one per code point). */
static size_t columns(const char *p, size_t len)
{
        size_t c = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char)p[i] & 0xc0) != 0x80)
                        c++;
        return c;
}

/*
 * Finds the value of label in a text block and undoes the wrapping: the
 * labelled line plus its continuation lines (13 spaces), joined with sep.
 */
static bool text_value(const char *out, const char *label, const char *sep, char *val, size_t n)
{
        char head[32];
        const char *p;
        size_t o = 0;

        snprintf(head, sizeof head, "\n  %-10s ", label);
        p = strstr(out, head);
        if (!p)
                return false;
        p += strlen(head);
        val[0] = '\0';
        for (;;) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t)(nl - p) : strlen(p);

                if (o + l + strlen(sep) + 1 > n)
                        return false;
                if (o) {
                        memcpy(val + o, sep, strlen(sep));
                        o += strlen(sep);
                }
                memcpy(val + o, p, l);
                o += l;
                val[o] = '\0';
                if (!nl || strncmp(nl + 1, "             ", 13) != 0 || nl[14] == ' ')
                        return true;
                p = nl + 14;
        }
}

static void test_text_layout(void)
{
        Diagnosis d[2];
        char esc[4200];
        char val[8192];
        size_t len;
        char *out;
        size_t lineno = 0;
        size_t longest = 0;

        d[0] = full_diagnosis();
        SET(&d[0], evidence,
            "the client answered three fresh nonces with responses that are consistent in "
            "realm, uri, qop and nonce count, so the only input left that can differ is the "
            "password itself; the server refused every one of them with 401 Unauthorized and "
            "a new challenge, which is what a wrong secret looks like on the wire");
        d[1] = full_diagnosis();
        memset(d[1].evidence, 'x', 250); /* one word longer than a line */
        d[1].evidence[250] = '\0';
        SET(&d[1], user, "bob");
        d[1].realm[0] = '\0';
        out = run_sink(SINK_TEXT, false, d, 2, &len);

        CHECK(memchr(out, 0x1b, len) == NULL, "ESC byte in text output without colour");
        CHECK(strncmp(out,
                      "warning  wrong-password  alice@example.test  192.0.2.10:5060 "
                      "\xe2\x86\x92 192.0.2.1:5060 udp\n",
                      strlen("warning  wrong-password  alice@example.test  192.0.2.10:5060 "
                             "\xe2\x86\x92 192.0.2.1:5060 udp\n")) == 0,
              "headline:\n%.120s", out);
        CHECK(strstr(out, "\nwarning  wrong-password  bob  192.0.2.10:5060") != NULL,
              "second headline (no realm) missing");
        CHECK(strstr(out, "\n  attempts   3 between 2026-11-26T12:00:00.123Z and "
                          "2026-11-26T12:00:04.567Z (4.444 s)\n"),
              "attempts line");
        CHECK(strstr(out, "\n  request    REGISTER, Call-ID a84b4c76e66710@pc33.example.test\n"),
              "request line");
        CHECK(strstr(out, "\n  client UA  Linphone/5.0\n") &&
                  strstr(out, "\n  server UA  Asterisk"),
              "agent lines");
        CHECK(strstr(out, "udp\n  message    alice@example.test from") != NULL,
              "message must follow the headline");
        CHECK(strstr(out, "then pjsip reload\n\nwarning  wrong-password  bob") != NULL,
              "records must be separated by one blank line");
        CHECK(len >= 2 && out[len - 1] == '\n' && out[len - 2] == '\n', "trailing blank line");

        /* Every line fits, every line is either a headline, a label line or a continuation. */
        for (const char *p = out; p < out + len;) {
                const char *nl = memchr(p, '\n', (size_t)(out + len - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(out + len - p);

                lineno++;
                CHECK(columns(p, l) <= 100, "line %zu has %zu columns", lineno, columns(p, l));
                if (columns(p, l) > longest)
                        longest = columns(p, l);
                CHECK(l == 0 || p[0] != ' ' ||
                          (l > 13 && strncmp(p, "  ", 2) == 0 && p[2] != ' ' && p[12] == ' ' &&
                           p[13] != ' ') ||
                          (l > 13 && strncmp(p, "             ", 13) == 0 && p[13] != ' '),
                      "line %zu is not aligned: \"%.*s\"", lineno, (int)l, p);
                CHECK(l == 0 || p[l - 1] != ' ', "line %zu ends in a space", lineno);
                if (!nl)
                        break;
                p = nl + 1;
        }
        CHECK(longest > 90, "wrapping wastes the line: longest is %zu columns", longest);

        /* Unwrapping gives back exactly the (escaped) value. */
        escape_text(d[0].evidence, esc, sizeof esc);
        CHECK(text_value(out, "evidence", " ", val, sizeof val) && strcmp(val, esc) == 0,
              "wrapped evidence does not join back:\n%s\nvs\n%s", val, esc);
        CHECK(strstr(out, esc) == NULL, "evidence was not wrapped");
        {
                const char *second = strstr(out, "\nwarning  wrong-password  bob");

                CHECK(second && text_value(second, "evidence", "", val, sizeof val) &&
                          strcmp(val, d[1].evidence) == 0,
                      "long word does not join back");
        }
        free(out);
}

static void test_text_hostile(void)
{
        Diagnosis d = full_diagnosis();
        char esc[4200];
        char val[8192];
        size_t len;
        char *out;

        SET(&d, user, "evil\x1b]0;pwned\x07\nFAKE warning line");
        SET(&d, user_agent,
            "\x1b[2J\xc2\x9b"
            "31m\r\xff");
        SET(&d, call_id, "id\\x41");
        /* A word of escapes longer than a line: breaks never split an escape. */
        memset(d.evidence, '\x01', 100);
        d.evidence[100] = '\0';

        out = run_sink(SINK_TEXT, false, &d, 1, &len);
        CHECK(memchr(out, 0x1b, len) == NULL, "raw ESC from a field reached the terminal");
        CHECK(memchr(out, '\r', len) == NULL && memchr(out, '\x07', len) == NULL,
              "raw CR/BEL reached the terminal");
        CHECK(strstr(out, "\xc2\x9b") == NULL, "raw C1 CSI reached the terminal");
        CHECK(strstr(out, "  evil\\x1b]0;pwned\\x07\\nFAKE warning line@example.test  ") != NULL,
              "escaped user in headline:\n%s", out);
        CHECK(strstr(out, "\nFAKE") == NULL, "a field forged a new line");
        CHECK(strstr(out, "\\x1b[2J\\xc2\\x9b31m\\r\\xff") != NULL, "escaped UA");
        CHECK(strstr(out, "Call-ID id\\\\x41\n") != NULL, "backslash must be doubled");
        escape_text(d.evidence, esc, sizeof esc);
        CHECK(text_value(out, "evidence", "", val, sizeof val) && strcmp(val, esc) == 0,
              "escape run was split: %s", val);
        free(out);

        /* Colour is used when asked for (so the checks above are meaningful)... */
        d = full_diagnosis();
        out = run_sink(SINK_TEXT, true, &d, 1, &len);
        CHECK(memchr(out, 0x1b, len) != NULL, "color=true produced no colour");
        CHECK(strncmp(out, "\033[1;33mwarning\033[0m", 18) == 0, "warning is not yellow");
        free(out);
        /* ...and never in JSON, whatever the flag says. */
        out = run_sink(SINK_JSON, true, &d, 1, &len);
        CHECK(memchr(out, 0x1b, len) == NULL, "ESC in JSON output");
        free(out);
}

/* ---- the ladder ---------------------------------------------------------- */

/* Display columns of one line of text output (UTF-8 continuation bytes add none). */
static size_t line_cols(const char *p, size_t n)
{
        size_t cols = 0;

        for (size_t i = 0; i < n; i++)
                cols += ((unsigned char)p[i] & 0xc0) != 0x80;
        return cols;
}

/*
 * Hostile wire strings in every field the ladder draws: escaped, never a
 * raw control byte, every line of the drawing inside its 99 columns with
 * both bars in place; off by default and never in JSON.
 */
static void test_text_ladder(void)
{
        Diagnosis d = full_diagnosis();
        DiagExchange *e = &d.exchange;
        size_t len, len_off, len_json, len_json_on;
        char *out, *off, *json, *json_on;
        unsigned drawn = 0;

        d.code = DIAG_REALM_MISMATCH;
        e->valid = e->has_creds = e->nc_valid = true;
        e->drew_us = 1795694400000000;
        e->challenge_us = e->drew_us + 1000;
        e->request_us = e->drew_us + 20000;
        e->final_us = e->drew_us + 123456789;
        e->challenge_status = e->final_status = 401;
        e->nc = 1;
        SET(&d, client, "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
        SET(&d, server, "[2001:db8:eeee:eeee:eeee:eeee:eeee:eeee]:65535");
        SET(&d, user, "evil\x1b]0;pwned\x07\nFAKE\xff");
        memset(e->ruri, 'u', sizeof e->ruri - 1); /* longer than an arrow: cut with "..." */
        SET(e, challenge_realm,
            "\x1b[2J\xc2\x9b"
            "31m\r");
        SET(e, challenge_algs, "MD5");
        SET(e, drew_method, "\x1b[31mINVITE");
        SET(e, challenge_qop, "auth");
        SET(e, challenge_nonce, "\x01\x02\x03\x04\x05\x06\x07\x08");
        memset(e->cred_realm, '\x01', sizeof e->cred_realm - 1); /* one unbreakable word */
        SET(e, cred_alg, "MD5");
        SET(e, cred_uri, "sip:\xe2\x80\xae\xe5\xad\x97"); /* RLO, a wide glyph */
        SET(e, cred_qop, "auth");
        memset(e->cred_nonce, 'n', sizeof e->cred_nonce); /* not terminated */

        ladder_on = false;
        off = run_sink(SINK_TEXT, false, &d, 1, &len_off);
        json = run_sink(SINK_JSON, false, &d, 1, &len_json);
        ladder_on = true;
        out = run_sink(SINK_TEXT, true, &d, 1, &len);
        json_on = run_sink(SINK_JSON, false, &d, 1, &len_json_on);

        CHECK(strstr(off, "ladder") == NULL, "a ladder without sink_set_ladder");
        CHECK(len_json == len_json_on && memcmp(json, json_on, len_json) == 0,
              "the ladder changed JSON output");
        CHECK(strstr(out, "\n  ladder     [2001:db8:ffff") != NULL, "no ladder:\n%s", out);
        CHECK(strstr(out, "realm=") != NULL && strstr(out, "!= challenge") != NULL,
              "the wrong realm is not marked:\n%s", out);
        CHECK(strstr(out, "\r") == NULL && strstr(out, "\x07") == NULL &&
                  strstr(out, "\xc2\x9b") == NULL && strstr(out, "\x01") == NULL,
              "a raw control byte reached the terminal");
        CHECK(strstr(out, "uuuu...") != NULL, "a long Request-URI is not cut");
        CHECK(strstr(out, "|--- \\x1b[31mINVITE ---") != NULL, "the drawing request's method");
        CHECK(strstr(out, "nnnnnnn") != NULL && strstr(out, "nnnnnnnnn") == NULL,
              "an unterminated nonce prefix was read past its field");
        for (const char *p = out; *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                bool bar = n > 13 && p[13] == '|' && (p[2] == '+' || p[0] == ' ');

                if (bar && memchr(p, 0x1b, n) == NULL) {
                        drawn++;
                        CHECK(line_cols(p, n) == 99 && p[n - 1] == '|',
                              "ladder line of %zu columns: %.*s", line_cols(p, n), (int)n, p);
                }
                p = nl ? nl + 1 : p + n;
        }
        CHECK(drawn >= 8, "only %u ladder lines drawn", drawn);
        CHECK(strstr(out, "\033[1;31m") != NULL, "the mark is not coloured on a terminal");
        ladder_on = false;
        free(out);
        free(off);
        free(json);
        free(json_on);
}

/* ---- secrets ------------------------------------------------------------- */

static size_t count(const char *hay, const char *needle)
{
        size_t n = 0;

        for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

/*
 * A sink writes what the Diagnosis holds and nothing else: a digest-looking
 * string in evidence comes out exactly once per record, and a record without
 * one produces no digest parameters at all.
 */
static void test_no_added_secrets(void)
{
        Diagnosis d = full_diagnosis();
        const SinkKind kinds[] = {SINK_TEXT, SINK_JSON};

        SET(&d, evidence,
            "client sent response=\"6629fae49393a05397450978507c4ef1\" "
            "cnonce=\"0a4f113b\" (as given)");
        for (size_t k = 0; k < 2; k++) {
                Diagnosis clean = full_diagnosis();
                size_t len;
                char *out = run_sink(kinds[k], false, &d, 1, &len);

                CHECK(count(out, "6629fae49393a05397450978507c4ef1") == 1 &&
                          count(out, "0a4f113b") == 1 && count(out, "response=") == 1 &&
                          count(out, "cnonce=") == 1,
                      "%s: digest-like text must appear exactly once, as given",
                      sink_kind_name(kinds[k]));
                free(out);
                out = run_sink(kinds[k], false, &clean, 1, &len);
                CHECK(strstr(out, "response") == NULL && strstr(out, "cnonce") == NULL &&
                          strstr(out, "nonce=") == NULL,
                      "%s: sink added digest parameters", sink_kind_name(kinds[k]));
                free(out);
        }
}

/* ---- errors and the journal fallback --------------------------------------- */

static void test_names_and_args(void)
{
        SinkKind k = SINK_TEXT;

        CHECK(sink_kind_from_name("json", &k) && k == SINK_JSON, "json");
        CHECK(sink_kind_from_name("journal", &k) && k == SINK_JOURNAL, "journal");
        CHECK(sink_kind_from_name("text", &k) && k == SINK_TEXT, "text");
        CHECK(!sink_kind_from_name("JSON", &k) && !sink_kind_from_name("", &k) &&
                  !sink_kind_from_name(NULL, &k),
              "bad names accepted");
        CHECK(strcmp(sink_kind_name(SINK_JOURNAL), "journal") == 0, "kind name");
        CHECK(sink_new(SINK_TEXT, -1, false) == NULL, "fd -1 accepted");
        CHECK(sink_emit(NULL, NULL) == -EINVAL, "NULL sink");
        CHECK(sink_free(NULL) == NULL, "sink_free(NULL)");
}

static void test_epipe(void)
{
        int p[2];
        Sink *s;
        Diagnosis d = full_diagnosis();

        if (pipe(p) < 0)
                exit(2);
        close(p[0]);
        s = sink_new(SINK_JSON, p[1], false);
        CHECK(s && sink_emit(s, &d) == -EPIPE, "closed reader must give -EPIPE");
        CHECK(s && sink_emit(s, &d) == -EPIPE, "and again, without crashing");
        sink_free(s);
        close(p[1]);
}

/*
 * Without journald (this test runs without one unless the machine has it,
 * in which case the check is skipped: it must not write into the host's
 * journal) the journal sink writes text to stderr with one warning line.
 */
static void test_journal_fallback(void)
{
        struct stat st;
        int saved;
        int fd;
        Sink *s;
        Diagnosis d = full_diagnosis();
        char buf[16384];
        ssize_t n;

        if (stat("/run/systemd/journal/socket", &st) == 0) {
                printf("journald present: fallback is checked by tests/journal only\n");
                return;
        }
        fd = memfd_create("stderr", MFD_CLOEXEC);
        saved = dup(STDERR_FILENO);
        if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0)
                exit(2);
        s = sink_new(SINK_JOURNAL, -1, true);
        CHECK(s && sink_emit(s, &d) == 0, "first fallback emit");
        SET(&d, user, "carol");
        CHECK(s && sink_emit(s, &d) == 0, "second fallback emit");
        sink_free(s);
        dup2(saved, STDERR_FILENO);
        close(saved);
        lseek(fd, 0, SEEK_SET);
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        CHECK(count(buf, "warning: journald is not available") == 1 &&
                  count(buf, "sipauthmon:") == 1,
              "exactly one warning line:\n%s", buf);
        CHECK(strncmp(buf, "sipauthmon: warning: journald is not available (", 48) == 0,
              "the warning comes first");
        CHECK(count(buf, "\nwarning  wrong-password  alice@") == 1 &&
                  count(buf, "\nwarning  wrong-password  carol@") == 1,
              "both records as text on stderr:\n%s", buf);
        CHECK(memchr(buf, 0x1b, (size_t)(n > 0 ? n : 0)) == NULL, "colour on the stderr fallback");
}

int main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        signal(SIGPIPE, SIG_IGN); /* as the daemon does */

        test_validator_itself();
        test_escape();
        test_names_and_args();
        test_json_full();
        test_json_absent();
        test_json_endpoints_v6();
        test_json_escaping();
        test_text_layout();
        test_text_hostile();
        test_text_ladder();
        test_no_added_secrets();
        test_epipe();
        test_journal_fallback();

        return check_exit("sink");
}

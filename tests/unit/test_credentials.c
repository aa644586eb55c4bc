/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for analysis/credentials.c (the credentials-file parser and
 * lookup) and daemon/credentials_file.c (opening the file: symlinks, FIFOs,
 * modes, size).
 *
 * Secrets used here: RFC 2617 §3.5 (Mufasa, HA1 939e7578...) and the
 * sofia-sip test1 REGISTER (user test1, password test1, response db41913e...
 * recomputed in ../shared/corpora/digest/digest_vectors.json). No response
 * or cnonce value is ever printed.
 *
 * Exit: 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "credentials_file.h"
#include "secmem.h"
#include "check.h"

#define CHECK_VERDICT(got, want, what)                                                             \
        CHECK((got) == (want), "%s: verdict %s, want %s", (what), digest_verdict_name(got),        \
              digest_verdict_name(want))

#define MUFASA_HA1 "939e7578ed9e3c518a452acee763bce9"
#define SHA256_HA1 "de24c1fac8b54ea8380bb2299c3bbcf6489084c44deb242d18fe409698148935"
#define SHA512_HA1 "28c22ce0f545ffd15d749d51fad525b918ffbda8183303241fff3166a2e53cc0"

static bool streq(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static CredStore *parse_ok(const char *text, size_t len, const char *what)
{
        CredStore *s = NULL;
        char err[256] = "";
        int r = credstore_parse(text, len, &s, err, sizeof err);

        CHECK(r == 0 && s, "%s: refused (%d): %s", what, r, err);
        return r == 0 ? s : NULL;
}

/* The text must be refused with return r and an error containing want. */
static void parse_bad(const char *text, size_t len, int want_r, const char *want)
{
        CredStore *sentinel = (CredStore *)&check_count; /* must stay untouched */
        CredStore *s = sentinel;
        char err[256] = "";
        int r = credstore_parse(text, len, &s, err, sizeof err);

        CHECK(r == want_r, "'%.60s': returned %d, want %d (%s)", text, r, want_r, err);
        CHECK(s == sentinel, "'%.60s': out changed on failure", text);
        CHECK(strstr(err, want) != NULL, "'%.60s': error \"%s\", want \"%s\"", text, err, want);
        if (r == want_r)
                printf("  refused as expected: %s\n", err);
}

#define PARSE_BAD(text, r, want) parse_bad((text), sizeof(text) - 1, (r), (want))

/* ------------------------------------------------------------------------ */

static void test_good_file(void)
{
        /* Comments, blank lines, tabs, trailing comments, CRLF, upper-case
         * type and hex, no newline at the end. */
        static const char text[] =
            "# sipauthmon credentials\r\n"
            "\r\n"
            "   # indented comment\n"
            "Mufasa\ttestrealm@host.com\tMD5:939E7578ED9E3C518A452ACEE763BCE9  # RFC 2617\r\n"
            "test1 nokia-proxy plain:test1\n"
            "test1 * plain:other#not-a-comment\n"
            "user example.com sha-256:" SHA256_HA1 "\n"
            "\t\n"
            "user example.org sha-512-256:" SHA512_HA1;
        CredStore *s = parse_ok(text, sizeof text - 1, "good file");
        if (!s)
                return;
        CHECK(credstore_count(s) == 5, "count %zu", credstore_count(s));

        const CredEntry *e = credstore_find(s, "Mufasa", "testrealm@host.com");
        CHECK(e && credentry_line(e) == 4, "Mufasa line %u", credentry_line(e));
        CHECK(streq(credentry_secret_type(e), "md5"), "type %s", credentry_secret_type(e));
        CHECK(streq(credentry_user(e), "Mufasa") && streq(credentry_realm(e), "testrealm@host.com"),
              "Mufasa names");
        e = credstore_find(s, "test1", "nokia-proxy");
        CHECK(e && credentry_line(e) == 5, "test1 exact realm line %u", credentry_line(e));
        e = credstore_find(s, "test1", "elsewhere");
        CHECK(e && credentry_line(e) == 6 && streq(credentry_realm(e), "*"),
              "test1 wildcard line %u", credentry_line(e));
        e = credstore_find(s, "user", "example.org");
        CHECK(e && streq(credentry_secret_type(e), "sha-512-256"), "last line without newline");
        CHECK(credstore_find(s, "mufasa", "testrealm@host.com") == NULL, "user is case-sensitive");
        CHECK(credstore_find(s, "Mufasa", "TESTREALM@host.com") == NULL, "realm is case-sensitive");
        CHECK(credstore_find(s, "nobody", "nokia-proxy") == NULL, "unknown user");
        CHECK(credstore_find(s, NULL, "x") == NULL && credstore_find(NULL, "a", "b") == NULL,
              "NULL");

        /* RFC 2617 §3.5, stored as an upper-case HA1: verifies. */
        SipCredentials m = {
            .digest = true,
            .username = "Mufasa",
            .realm = "testrealm@host.com",
            .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            .uri = "/dir/index.html",
            .alg = DIGEST_ALG_MD5,
            .qop = "auth",
            .qop_mask = QOP_AUTH,
            .nc = "00000001",
            .cnonce = "0a4f113b",
            .response = "6629fae49393a05397450978507c4ef1",
        };
        CHECK_VERDICT(credstore_verify(s, &m, "GET", NULL, 0), VERIFY_OK, "Mufasa");
        m.alg = DIGEST_ALG_SHA256;
        CHECK_VERDICT(credstore_verify(s, &m, "GET", NULL, 0), VERIFY_UNSUPPORTED,
                      "MD5 HA1 against a SHA-256 response");
        m.alg = DIGEST_ALG_MD5;
        m.response = "6629fae49393a05397450978507c4ef2";
        CHECK_VERDICT(credstore_verify(s, &m, "GET", NULL, 0), VERIFY_MISMATCH, "Mufasa wrong");

        /* sofia test1: the exact realm wins over "*". */
        SipCredentials t = {
            .digest = true,
            .username = "test1",
            .realm = "nokia-proxy",
            .nonce = "GjbLsrozHC6Lx95C57vGlw==",
            .uri = "sip:10.21.32.63",
            .alg = DIGEST_ALG_MD5,
            .response = "db41913e8964dde69a1519739f35a302",
        };
        CHECK_VERDICT(credstore_verify(s, &t, "REGISTER", NULL, 0), VERIFY_OK, "test1 exact");
        t.realm = "elsewhere"; /* the "*" entry, a different password */
        CHECK_VERDICT(credstore_verify(s, &t, "REGISTER", NULL, 0), VERIFY_MISMATCH, "test1 via *");
        t.username = "nobody";
        CHECK_VERDICT(credstore_verify(s, &t, "REGISTER", NULL, 0), VERIFY_NO_SECRET, "nobody");
        t.username = "test1";
        t.realm = "nokia-proxy";
        t.alg = DIGEST_ALG_OTHER;
        t.algorithm = "AKAv1-MD5";
        CHECK_VERDICT(credstore_verify(s, &t, "REGISTER", NULL, 0), VERIFY_UNSUPPORTED, "AKA");
        CHECK_VERDICT(credstore_verify(s, NULL, "REGISTER", NULL, 0), VERIFY_NO_SECRET, "NULL");

        s = credstore_free(s);
        CHECK(s == NULL, "free returns NULL");
}

static void test_wildcard_then_exact(void)
{
        /* The "*" line comes first; the exact realm still wins. */
        static const char text[] = "test1 * plain:wrong\n"
                                   "test1 nokia-proxy plain:test1\n";
        CredStore *s = parse_ok(text, sizeof text - 1, "wildcard first");
        if (!s)
                return;
        const CredEntry *e = credstore_find(s, "test1", "nokia-proxy");
        CHECK(e && credentry_line(e) == 2, "exact over * line %u", credentry_line(e));
        e = credstore_find(s, "test1", "x");
        CHECK(e && credentry_line(e) == 1, "* line %u", credentry_line(e));
        credstore_free(s);
}

static void test_empty(void)
{
        CredStore *s = parse_ok("", 0, "empty");
        CHECK(credstore_count(s) == 0, "empty count");
        CHECK(credstore_find(s, "a", "b") == NULL, "empty find");
        credstore_free(s);
        s = parse_ok(NULL, 0, "NULL, 0");
        credstore_free(s);
        static const char only[] = "# nothing\n\n   \n\t# still nothing\r\n";
        s = parse_ok(only, sizeof only - 1, "comments only");
        CHECK(credstore_count(s) == 0, "comments only count");
        credstore_free(s);
}

static void test_errors(void)
{
        printf("errors:\n");
        PARSE_BAD("alice\n", -EINVAL, "line 1: expected USER REALM SECRET, found only USER");
        PARSE_BAD("# c\n\nalice realm\n", -EINVAL, "line 3: expected USER REALM SECRET");
        PARSE_BAD("a r x\n\n\n\n\n\nb r sha1:abcd\n", -EINVAL, "line 1: secret must be TYPE:VALUE");
        PARSE_BAD("a r plain:x\n\n\n\n\n\nb r sha1:a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\n",
                  -EINVAL, "line 7: unknown secret type 'sha1'");
        PARSE_BAD("a r :0123456789\n", -EINVAL,
                  "line 1: unknown secret type (use plain, md5, sha-256 or sha-512-256; a "
                  "password needs the plain: prefix)");
        /* A password without plain: whose tail looks like hex: no part of it is quoted. */
        PARSE_BAD("a r S3cr3tPrefix:0123456789abcdef\n", -EINVAL,
                  "line 1: unknown secret type (use plain, md5, sha-256 or sha-512-256; a "
                  "password needs the plain: prefix)");
        /* A password with a colon but without plain: is not echoed. */
        PARSE_BAD("a r hunter2:pw\n", -EINVAL,
                  "line 1: unknown secret type (use plain, md5, sha-256 or sha-512-256; a "
                  "password needs the plain: prefix)");
        PARSE_BAD("a r plain:x\nb r plain:y\na * md5:" MUFASA_HA1 "\n", -EINVAL,
                  "line 3: realm '*' is only allowed with plain: secrets");
        PARSE_BAD("a * sha-256:" SHA256_HA1 "\n", -EINVAL,
                  "line 1: realm '*' is only allowed with plain: secrets");
        PARSE_BAD("a r plain:x\n\n\n\n\n\n\n\nb r sha-256:" MUFASA_HA1 "\n", -EINVAL,
                  "line 9: HA1 for sha-256 must be 64 hex digits");
        PARSE_BAD("a r md5:939e7578ed9e3c518a452acee763bceg\n", -EINVAL,
                  "line 1: HA1 for md5 must be 32 hex digits");
        PARSE_BAD("a r md5:" MUFASA_HA1 "0\n", -EINVAL,
                  "line 1: HA1 for md5 must be 32 hex digits");
        PARSE_BAD("a r sha-512-256:" MUFASA_HA1 "\n", -EINVAL,
                  "line 1: HA1 for sha-512-256 must be 64 hex digits");
        PARSE_BAD("a r plain:\n", -EINVAL, "line 1: empty password");
        PARSE_BAD("a r plain:Circle Of Life\n", -EINVAL, "line 1: unexpected text after SECRET");
        PARSE_BAD("a r plain:x\nb r plain:x\x01y\n", -EINVAL, "line 2: control character 0x01");
        PARSE_BAD("a r plain:x\rb r plain:y\n", -EINVAL, "line 1: control character 0x0d");
        PARSE_BAD("a r plain:x\n\xff\xfe\xfd\n", -EINVAL, "line 2: expected USER REALM SECRET");
        /* A NUL byte inside the text: the length, not the NUL, ends it. */
        PARSE_BAD("a r plain:x\nb r plain:y\0z\n", -EINVAL, "line 2: control character 0x00");
        /* Duplicates name both lines, comments and blank lines counted. */
        PARSE_BAD("alice example.test plain:x\n# c\n\nalice example.test md5:" MUFASA_HA1 "\n",
                  -EINVAL,
                  "line 4: duplicate entry for user 'alice' in realm 'example.test' (first on "
                  "line 1)");
        PARSE_BAD("bob * plain:x\nalice * plain:y\nbob * plain:z\n", -EINVAL,
                  "line 3: duplicate entry for user 'bob' in realm '*' (first on line 1)");
        /* A field longer than 40 bytes is cut in the message. */
        PARSE_BAD("averyveryveryveryveryveryveryveryveryverylonguser r plain:x\n"
                  "averyveryveryveryveryveryveryveryveryverylonguser r plain:y\n",
                  -EINVAL, "'averyveryveryveryveryveryveryveryveryver...'");
        /* An unknown type that is no known word is never quoted: it may be a secret. */
        PARSE_BAD("a r averyveryveryveryveryveryveryveryveryverylongtype:0123456789\n", -EINVAL,
                  "line 1: unknown secret type (use plain, md5, sha-256 or sha-512-256; a "
                  "password needs the plain: prefix)");

        /* Not errors: case differs, '#' inside a field, trailing comment. */
        static const char fine[] = "alice example.test plain:a#b\n"
                                   "alice Example.test plain:c # trailing\n"
                                   "Alice example.test\tplain:d\t#\ttab comment\n";
        CredStore *s = parse_ok(fine, sizeof fine - 1, "not duplicates");
        CHECK(credstore_count(s) == 3, "count %zu", credstore_count(s));
        credstore_free(s);

        /* A tiny error buffer is truncated, not overrun. */
        char small[8];
        CredStore *out = NULL;
        memset(small, 'x', sizeof small);
        CHECK(credstore_parse("a\n", 2, &out, small, sizeof small) == -EINVAL && out == NULL,
              "small err");
        CHECK(small[7] == '\0' && strncmp(small, "line 1:", 7) == 0, "small err '%s'", small);
        CHECK(credstore_parse("a\n", 2, &out, NULL, 0) == -EINVAL, "no err buffer");
        CHECK(credstore_parse("a r plain:x", 11, NULL, small, sizeof small) == -EINVAL, "NULL out");
}

static void test_long_lines(void)
{
        size_t n = CRED_MAX_LINE + 64;
        char *buf = malloc(2 * n);
        CHECK(buf != NULL, "malloc");
        if (!buf)
                return;

        /* A line of exactly CRED_MAX_LINE bytes (before CRLF) is fine. */
        static const char head[] = "u r plain:";
        size_t pw = CRED_MAX_LINE - (sizeof head - 1);
        memcpy(buf, head, sizeof head - 1);
        memset(buf + sizeof head - 1, 'p', pw);
        memcpy(buf + CRED_MAX_LINE, "\r\n", 2);
        CredStore *s = parse_ok(buf, CRED_MAX_LINE + 2, "line of CRED_MAX_LINE bytes");
        credstore_free(s);

        /* One byte more, on line 2, is refused. */
        static const char first[] = "a b plain:c\n";
        memcpy(buf, first, sizeof first - 1);
        size_t off = sizeof first - 1;
        memcpy(buf + off, head, sizeof head - 1);
        memset(buf + off + sizeof head - 1, 'p', pw + 1);
        size_t len = off + CRED_MAX_LINE + 1;
        char want[64];
        snprintf(want, sizeof want, "line 2: longer than %u bytes", CRED_MAX_LINE);
        parse_bad(buf, len, -EINVAL, want);
        /* Even as a comment. */
        buf[off] = '#';
        parse_bad(buf, len, -EINVAL, want);
        free(buf);
}

static void test_counts(void)
{
        /* CRED_MAX_ENTRIES entries parse; one more is refused on its line. */
        size_t cap = (size_t)(CRED_MAX_ENTRIES + 2) * 32;
        char *buf = malloc(cap);
        size_t len = 0;
        CHECK(buf != NULL, "malloc");
        if (!buf)
                return;
        for (unsigned i = 0; i < CRED_MAX_ENTRIES; i++)
                len += (size_t)snprintf(buf + len, cap - len, "u%u r%u plain:p%u\n", i, i % 7, i);
        CredStore *s = parse_ok(buf, len, "CRED_MAX_ENTRIES entries");
        CHECK(credstore_count(s) == CRED_MAX_ENTRIES, "count %zu", credstore_count(s));
        const CredEntry *e = credstore_find(s, "u99999", "r4"); /* 99999 % 7 == 4 */
        CHECK(e && credentry_line(e) == 100000, "last entry line %u", credentry_line(e));
        e = credstore_find(s, "u12345", "r4"); /* 12345 % 7 == 4 */
        CHECK(e && credentry_line(e) == 12346, "middle entry line %u", credentry_line(e));
        CHECK(credstore_find(s, "u12345", "r3") == NULL, "other realm");
        CHECK(credstore_find(s, "u99999", "r3") == NULL, "other realm");
        credstore_free(s);

        len += (size_t)snprintf(buf + len, cap - len, "onemore r plain:p\n");
        char want[64];
        snprintf(want, sizeof want, "line %u: more than %u entries", CRED_MAX_ENTRIES + 1,
                 CRED_MAX_ENTRIES);
        parse_bad(buf, len, -EINVAL, want);
        free(buf);

        /* Larger than CRED_MAX_BYTES: refused before looking at the text. */
        size_t big = (size_t)CRED_MAX_BYTES + 1;
        buf = malloc(big);
        CHECK(buf != NULL, "malloc");
        if (!buf)
                return;
        memset(buf, '\n', big);
        parse_bad(buf, big, -EFBIG, "larger than");
        /* Exactly the limit, all blank lines: an empty store. */
        s = parse_ok(buf, big - 1, "CRED_MAX_BYTES blank lines");
        CHECK(credstore_count(s) == 0, "blank count");
        credstore_free(s);
        free(buf);
}

/* userhash lookups through the lazily built index, for each hash. */
static void test_userhash_index(void)
{
        static const DigestAlg algs[] = {DIGEST_ALG_MD5, DIGEST_ALG_SHA256_SESS,
                                         DIGEST_ALG_SHA512_256};
        size_t cap = 3000 * 40;
        char *buf = malloc(cap);
        size_t len = 0;
        DigestHasher *h = digest_hasher_new();
        CHECK(buf && h, "malloc");
        if (!buf || !h) {
                free(buf);
                digest_hasher_free(h);
                return;
        }
        len += (size_t)snprintf(buf + len, cap - len, "w * plain:x\n");
        for (unsigned i = 0; i < 2000; i++)
                len += (size_t)snprintf(buf + len, cap - len, "u%u r%u plain:p%u\n", i, i % 3, i);
        CredStore *s = parse_ok(buf, len, "userhash store");
        free(buf);
        if (!s) {
                digest_hasher_free(h);
                return;
        }
        for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
                char hex[DIGEST_HEX_MAX], user[16], realm[16];
                for (unsigned i = 0; i < 2000; i += 97) {
                        snprintf(user, sizeof user, "u%u", i);
                        snprintf(realm, sizeof realm, "r%u", i % 3);
                        CHECK(digest_userhash(h, algs[a], user, realm, hex) == 0, "userhash");
                        const CredEntry *e = credstore_find_userhash(s, hex, realm, algs[a]);
                        CHECK(e && credentry_line(e) == i + 2, "%s %s: line %u",
                              sipauth_alg_name(algs[a]), user, credentry_line(e));
                        /* The same hash in another realm names nobody. */
                        snprintf(realm, sizeof realm, "r%u", (i + 1) % 3);
                        CHECK(credstore_find_userhash(s, hex, realm, algs[a]) == NULL,
                              "%s %s other realm", sipauth_alg_name(algs[a]), user);
                }
                /* Upper-case hex on the wire. */
                CHECK(digest_userhash(h, algs[a], "u5", "r2", hex) == 0, "userhash");
                for (char *p = hex; *p; p++)
                        if (*p >= 'a' && *p <= 'f')
                                *p = (char)(*p - 'a' + 'A');
                const CredEntry *e = credstore_find_userhash(s, hex, "r2", algs[a]);
                CHECK(e && credentry_line(e) == 7, "upper-case userhash line %u",
                      credentry_line(e));
                /* "*" is hashed with the response's realm. */
                CHECK(digest_userhash(h, algs[a], "w", "any.example", hex) == 0, "userhash");
                e = credstore_find_userhash(s, hex, "any.example", algs[a]);
                CHECK(e && credentry_line(e) == 1, "wildcard userhash line %u", credentry_line(e));
                /* Wrong length, not hex, another algorithm's length. */
                hex[3] = 'x';
                CHECK(credstore_find_userhash(s, hex, "any.example", algs[a]) == NULL, "not hex");
                CHECK(credstore_find_userhash(s, "0123", "r0", algs[a]) == NULL, "short");
        }
        CHECK(credstore_find_userhash(s, "0123456789abcdef0123456789abcdef", "r0",
                                      DIGEST_ALG_OTHER) == NULL,
              "OTHER");
        credstore_free(s);
        digest_hasher_free(h);
}

static void test_check_stat(void)
{
        static const struct {
                mode_t mode;
                int r;
        } cases[] = {
            {S_IFREG | 0600, 0},       {S_IFREG | 0400, 0},       {S_IFREG | 0700, 0},
            {S_IFREG | 0640, -EPERM},  {S_IFREG | 0604, -EPERM},  {S_IFREG | 0620, -EPERM},
            {S_IFREG | 0602, -EPERM},  {S_IFREG | 0610, -EPERM},  {S_IFREG | 0644, -EPERM},
            {S_IFDIR | 0700, -EINVAL}, {S_IFIFO | 0600, -EINVAL}, {S_IFREG | 04600, 0},
        };
        char err[256];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct stat st = {.st_mode = cases[i].mode};
                err[0] = '\0';
                int r = credstore_check_stat(&st, "/etc/x.cred", err, sizeof err);
                CHECK(r == cases[i].r, "mode %o: %d, want %d (%s)", (unsigned)cases[i].mode, r,
                      cases[i].r, err);
                if (cases[i].r == -EPERM) {
                        char mode[8];
                        snprintf(mode, sizeof mode, "%04o", (unsigned)(cases[i].mode & 07777));
                        CHECK(strstr(err, mode) && strstr(err, "chmod 600 /etc/x.cred") &&
                                  strstr(err, "/etc/x.cred has mode"),
                              "message: %s", err);
                }
        }
        CHECK(credstore_check_stat(NULL, "x", err, sizeof err) == -EINVAL, "NULL stat");
}

/* ------------------------------------------------------------------------ */
/* The daemon helper, on real files */

static char tmpdir[256];

static void write_file(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
        if (fd < 0)
                return;
        size_t len = strlen(text);
        CHECK(write(fd, text, len) == (ssize_t)len, "write %s", path);
        CHECK(fchmod(fd, mode) == 0, "chmod %s", path);
        close(fd);
}

static int load(const char *name, CredStore **s, char *err, size_t errlen)
{
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        return credentials_file_load(path, s, err, errlen);
}

static void test_file_helper(void)
{
        static const char good[] = "# test\ntest1 nokia-proxy plain:test1\n";
        char path[512], target[512], err[CREDENTIALS_ERR_MAX];
        CredStore *s = NULL;
        int r;

        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/test-credentials-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
                CHECK(false, "mkdtemp %s: %s", tmpdir, strerror(errno));
                return;
        }

        snprintf(path, sizeof path, "%s/good", tmpdir);
        write_file(path, good, 0600);
        r = load("good", &s, err, sizeof err);
        CHECK(r == 0 && s && credstore_count(s) == 1, "0600 file: %d %s", r, err);
        s = credstore_free(s);

        static const struct {
                const char *name;
                mode_t mode;
        } open_modes[] = {{"g", 0640}, {"o", 0604}, {"gw", 0620}, {"all", 0644}};
        for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
                char want[64];
                snprintf(path, sizeof path, "%s/%s", tmpdir, open_modes[i].name);
                write_file(path, good, open_modes[i].mode);
                err[0] = '\0';
                s = NULL;
                r = load(open_modes[i].name, &s, err, sizeof err);
                snprintf(want, sizeof want, "mode %04o", (unsigned)open_modes[i].mode);
                CHECK(r == -EPERM && s == NULL, "mode %o: %d (%s)", (unsigned)open_modes[i].mode, r,
                      err);
                CHECK(strstr(err, path) && strstr(err, want) && strstr(err, "chmod 600"),
                      "message: %s", err);
                printf("  refused as expected: %s\n", err);
        }

        /* A symbolic link, even to a good file, is refused. */
        snprintf(path, sizeof path, "%s/link", tmpdir);
        snprintf(target, sizeof target, "%s/good", tmpdir);
        CHECK(symlink(target, path) == 0, "symlink: %s", strerror(errno));
        r = load("link", &s, err, sizeof err);
        CHECK(r == -ELOOP && s == NULL, "symlink: %d (%s)", r, err);
        CHECK(strstr(err, "symbolic link") != NULL, "symlink message: %s", err);
        printf("  refused as expected: %s\n", err);

        /* A FIFO is refused at once, not waited on. */
        snprintf(path, sizeof path, "%s/fifo", tmpdir);
        CHECK(mkfifo(path, 0600) == 0, "mkfifo: %s", strerror(errno));
        r = load("fifo", &s, err, sizeof err);
        CHECK(r == -EINVAL && strstr(err, "not a regular file"), "fifo: %d (%s)", r, err);

        /* A directory, a missing file. */
        r = load("", &s, err, sizeof err);
        CHECK(r == -EINVAL && strstr(err, "not a regular file"), "directory: %d (%s)", r, err);
        r = load("missing", &s, err, sizeof err);
        CHECK(r == -ENOENT && strstr(err, "missing"), "missing: %d (%s)", r, err);

        /* A malformed line: the message names the file and the line, as FILE:LINE. */
        snprintf(path, sizeof path, "%s/bad", tmpdir);
        write_file(path, "# x\nalice example.test sha1:a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\n",
                   0600);
        r = load("bad", &s, err, sizeof err);
        CHECK(r == -EINVAL && strncmp(err, path, strlen(path)) == 0 &&
                  strncmp(err + strlen(path), ":2: unknown secret type", 23) == 0,
              "bad: %d (%s)", r, err);
        printf("  refused as expected: %s\n", err);

        /* Larger than the limit (sparse). */
        snprintf(path, sizeof path, "%s/big", tmpdir);
        write_file(path, "", 0600);
        CHECK(truncate(path, (off_t)CRED_MAX_BYTES + 1) == 0, "truncate: %s", strerror(errno));
        r = load("big", &s, err, sizeof err);
        CHECK(r == -EFBIG && strstr(err, "larger than"), "big: %d (%s)", r, err);

        /* A control character in the file name is escaped in the message. */
        snprintf(path, sizeof path, "%s/a\nb", tmpdir);
        r = credentials_file_load(path, &s, err, sizeof err);
        CHECK(r == -ENOENT && strchr(err, '\n') == NULL && strstr(err, "a\\nb"), "escaped name: %s",
              err);

        CHECK(credentials_file_load(NULL, &s, err, sizeof err) == -EINVAL, "NULL path");

        static const char *const names[] = {"good", "g",    "o",   "gw", "all",
                                            "link", "fifo", "bad", "big"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
                unlink(path);
        }
        CHECK(rmdir(tmpdir) == 0, "rmdir %s: %s", tmpdir, strerror(errno));
}

/*
 * The VmFlags of the mapping of /proc/self/smaps that holds addr, as
 * " rd wr mr mw me dd ..." (leading space), or "" when none does.
 */
static void vmflags_of(const void *addr, char *out, size_t n)
{
        uintptr_t a = (uintptr_t)addr;
        bool inside = false;
        char line[512];
        FILE *f = fopen("/proc/self/smaps", "re");

        out[0] = '\0';
        if (!f)
                return;
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;

                if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
                    strchr(line, '-') < strchr(line, ' '))
                        inside = a >= lo && a < hi;
                else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
                        size_t k = strcspn(line + 8, "\n");

                        k = k < n - 1 ? k : n - 1;
                        memcpy(out, line + 8, k);
                        out[k] = '\0';
                        break;
                }
        }
        fclose(f);
}

static bool dontdump(const void *addr)
{
        char flags[256];

        vmflags_of(addr, flags, sizeof flags);
        return strstr(flags, " dd") != NULL;
}

/* Secrets live on pages of their own, out of core dumps (issue 13). */
static void test_secret_memory(void)
{
        static const char text[] = "alice example.com plain:open-sesame\n";
        char path[] = "/tmp/test-credentials-mem.XXXXXX";
        const CredEntry *e;
        CredStore *s;
        char *p;
        int fd;

        p = secmem_alloc(10);
        CHECK(p && ((uintptr_t)p & 4095) == 0, "secmem_alloc: page-aligned");
        CHECK(p && dontdump(p), "secmem_alloc: the mapping is MADV_DONTDUMP (VmFlags dd)");
        if (p) {
                CHECK(p[0] == 0 && p[9] == 0, "secmem_alloc: zeroed");
                memcpy(p, "secret", 7);
        }
        secmem_free(p, 10);
        secmem_free(NULL, 10);

        /* A malloc() block for contrast: the check can tell the difference. */
        p = malloc(64);
        CHECK(p && !dontdump(p), "a heap block is dumpable (the check works)");
        free(p);

        s = parse_ok(text, sizeof text - 1, "secret memory");
        e = s ? credstore_find(s, "alice", "example.com") : NULL;
        CHECK(e && dontdump(credentry_user(e)), "credstore_parse: the text copy is MADV_DONTDUMP");
        credstore_free(s);

        fd = mkstemp(path);
        CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
        if (fd < 0)
                return;
        CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "write");
        close(fd);
        s = NULL;
        CHECK(credentials_file_load(path, &s, NULL, 0) == 0, "credentials_file_load");
        e = s ? credstore_find(s, "alice", "example.com") : NULL;
        CHECK(e && dontdump(credentry_user(e)),
              "credentials_file_load: the store's text is MADV_DONTDUMP");
        credstore_free(s);
        unlink(path);
}

/* The golden-capture fixture of the repository parses. */
static void test_repo_fixture(void)
{
        const char *src = getenv("SRCDIR");
        char path[4096];
        if (!src) {
                printf("  (SRCDIR unset: repository fixture not checked)\n");
                return;
        }
        snprintf(path, sizeof path, "%s/tests/fixtures/credentials.txt", src);
        FILE *f = fopen(path, "re");
        if (!f) {
                printf("  (%s absent)\n", path);
                return;
        }
        static char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CredStore *s = parse_ok(buf, n, path);
        CHECK(s && credstore_count(s) > 0, "fixture is empty");
        credstore_free(s);
}

int main(void)
{
        test_good_file();
        test_wildcard_then_exact();
        test_empty();
        test_errors();
        test_long_lines();
        test_counts();
        test_userhash_index();
        test_check_stat();
        test_file_helper();
        test_secret_memory();
        test_repo_fixture();

        return check_exit("credentials");
}

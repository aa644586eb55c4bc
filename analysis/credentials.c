/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Credentials file parser and lookup. The text is copied once into a buffer
 * the store owns, on pages kept out of core dumps (secmem.h); fields are
 * NUL-terminated in place and entries point into it, so freeing wipes every
 * secret at once. Lookup by
 * (user, realm) goes through an open-addressing index built while parsing,
 * which is also how duplicates are found in line order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "credentials.h"
#include "secmem.h"

struct CredEntry {
        const char *user;
        const char *realm;
        DigestSecret secret; /* secret.user = user, for userhash */
        const char *type;    /* "plain", "md5", ... */
        unsigned line;
};

typedef struct {
        uint64_t prefix; /* first 8 bytes of H(user:realm) */
        uint32_t idx;    /* entry number */
} UserhashSlot;

struct CredStore {
        char *text; /* owned copy, holds every field (secmem_alloc()); wiped on free */
        size_t text_size;
        CredEntry *entries;
        size_t n_entries;
        uint32_t *index;   /* entry number + 1, 0 = empty slot */
        size_t index_size; /* power of two, > 2 * max entries */
        DigestHasher *hasher;
        /* userhash index, built on the first userhash lookup of each base
         * algorithm (MD5, SHA-256, SHA-512/256): H(user:realm) of every
         * entry with a concrete realm, by its first 8 bytes, sorted. The
         * "*" entries are hashed with the response's realm, one by one. */
        struct {
                bool tried, ok;
                UserhashSlot *slots;
                size_t n;
        } uh[3];
        uint32_t *wild; /* entry numbers of realm "*" entries */
        size_t n_wild;
};

static const struct {
        const char *name;
        DigestSecretKind kind;
        DigestAlg alg;
} secret_types[] = {
    {"plain", DIGEST_SECRET_PLAIN, DIGEST_ALG_MD5},
    {"md5", DIGEST_SECRET_HA1, DIGEST_ALG_MD5},
    {"sha-256", DIGEST_SECRET_HA1, DIGEST_ALG_SHA256},
    {"sha-512-256", DIGEST_SECRET_HA1, DIGEST_ALG_SHA512_256},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (!err || errlen == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/*
 * A field quoted in an error message: at most 40 bytes, anything outside
 * printable ASCII as '?'. Never used on secret values.
 */
static const char *shown(const char *s, char buf[48])
{
        size_t i;

        for (i = 0; s[i] && i < 40; i++)
                buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (s[i]) {
                buf[i++] = '.';
                buf[i++] = '.';
                buf[i++] = '.';
        }
        buf[i] = '\0';
        return buf;
}

/* FNV-1a over user NUL realm: the keys come from the operator's file. */
static uint64_t key_hash(const char *user, const char *realm)
{
        uint64_t h = 1469598103934665603u;

        for (const char *p = user; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211u;
        h = (h ^ 0xffu) * 1099511628211u;
        for (const char *p = realm; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211u;
        return h;
}

/* The slot holding (user, realm), or the empty slot where it would go. */
static size_t index_slot(const CredStore *s, const char *user, const char *realm)
{
        size_t mask = s->index_size - 1;
        size_t i = (size_t)key_hash(user, realm) & mask;

        for (;;) {
                uint32_t k = s->index[i];
                if (k == 0)
                        return i;
                const CredEntry *e = &s->entries[k - 1];
                if (strcmp(e->user, user) == 0 && strcmp(e->realm, realm) == 0)
                        return i;
                i = (i + 1) & mask;
        }
}

CredStore *credstore_free(CredStore *s)
{
        if (!s)
                return NULL;
        secmem_free(s->text, s->text_size);
        free(s->entries);
        free(s->index);
        for (size_t i = 0; i < 3; i++)
                free(s->uh[i].slots);
        free(s->wild);
        digest_hasher_free(s->hasher);
        free(s);
        return NULL;
}

size_t credstore_count(const CredStore *s)
{
        return s ? s->n_entries : 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Hash names people write for a type sipauthmon does not take: safe to
 * echo, since they are words, not secrets. */
static bool known_hash_word(const char *s)
{
        static const char *const words[] = {"sha1",    "sha-1",      "sha256",   "sha512",
                                            "sha-512", "sha512-256", "md5-sess", "sha-256-sess",
                                            "ha1",     "crypt",      "bcrypt",   "ntlm"};

        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
                if (strcasecmp(s, words[i]) == 0)
                        return true;
        return false;
}

static bool all_hex(const char *s)
{
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                      (*s >= 'A' && *s <= 'F')))
                        return false;
        return true;
}

/*
 * Split one line (NUL-terminated, no newline) into at most 4 fields; a '#'
 * at the start of a field begins a comment. Returns the number of fields
 * (4 meaning "more than 3").
 */
static size_t split_fields(char *line, char *fields[4])
{
        size_t n = 0;
        char *p = line;

        for (;;) {
                while (is_blank(*p))
                        p++;
                if (*p == '\0' || *p == '#')
                        return n;
                if (n == 4)
                        return n;
                fields[n++] = p;
                while (*p && !is_blank(*p))
                        p++;
                if (*p == '\0')
                        return n;
                *p++ = '\0';
        }
}

/* One USER REALM SECRET line, fields already split; fills e. */
static int parse_entry(CredEntry *e, char *user, char *realm, char *secret, unsigned line,
                       char *err, size_t errlen)
{
        char buf[48];
        char *colon = strchr(secret, ':');
        size_t type_idx;

        if (!colon) {
                set_err(err, errlen,
                        "line %u: secret must be TYPE:VALUE, TYPE one of plain, md5, sha-256, "
                        "sha-512-256",
                        line);
                return -EINVAL;
        }
        *colon = '\0';
        char *value = colon + 1;
        for (type_idx = 0; type_idx < sizeof secret_types / sizeof secret_types[0]; type_idx++)
                if (strcasecmp(secret, secret_types[type_idx].name) == 0)
                        break;
        if (type_idx == sizeof secret_types / sizeof secret_types[0]) {
                /* Name the type only when it is a known word ("sha1:<40 hex>"):
                 * before the colon of a password that lacks "plain:" is part of
                 * the password, and no message may quote any of a secret
                 * (issue 13), however hash-like the rest looks. */
                if (strlen(value) >= 8 && all_hex(value) && known_hash_word(secret))
                        set_err(err, errlen,
                                "line %u: unknown secret type '%s' (use plain, md5, sha-256 or "
                                "sha-512-256)",
                                line, shown(secret, buf));
                else
                        set_err(err, errlen,
                                "line %u: unknown secret type (use plain, md5, sha-256 or "
                                "sha-512-256; a password needs the plain: prefix)",
                                line);
                return -EINVAL;
        }

        *e = (CredEntry){
            .user = user,
            .realm = realm,
            .secret = {.kind = secret_types[type_idx].kind,
                       .ha1_alg = secret_types[type_idx].alg,
                       .value = value,
                       .user = user},
            .type = secret_types[type_idx].name,
            .line = line,
        };

        if (e->secret.kind == DIGEST_SECRET_PLAIN) {
                if (value[0] == '\0') {
                        set_err(err, errlen, "line %u: empty password after plain:", line);
                        return -EINVAL;
                }
                return 0;
        }

        /* An HA1 hashes the realm in: a wildcard cannot work. */
        if (strcmp(realm, "*") == 0) {
                set_err(err, errlen, "line %u: realm '*' is only allowed with plain: secrets",
                        line);
                return -EINVAL;
        }
        size_t want = digest_alg_hex_len(e->secret.ha1_alg);
        if (strlen(value) != want || !all_hex(value)) {
                set_err(err, errlen, "line %u: HA1 for %s must be %zu hex digits", line, e->type,
                        want);
                return -EINVAL;
        }
        for (char *p = value; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
        return 0;
}

/* An empty store for len bytes of text, sized once from the line count:
 * the text copied in, the entry array and the index allocated. */
static CredStore *store_new(const char *text, size_t len)
{
        CredStore *s = calloc(1, sizeof *s);
        size_t max_lines = 1, max_entries;

        if (!s)
                return NULL;
        s->text_size = len + 1;
        s->text = secmem_alloc(s->text_size);
        if (!s->text)
                return credstore_free(s);
        if (len > 0)
                memcpy(s->text, text, len);
        s->text[len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (s->text[i] == '\n')
                        max_lines++;
        max_entries = max_lines < CRED_MAX_ENTRIES ? max_lines : CRED_MAX_ENTRIES;
        s->entries = calloc(max_entries, sizeof *s->entries);
        s->index_size = 16;
        while (s->index_size < 2 * max_entries + 1)
                s->index_size *= 2;
        s->index = calloc(s->index_size, sizeof *s->index);
        s->wild = calloc(max_entries, sizeof *s->wild);
        s->hasher = digest_hasher_new();
        if (!s->entries || !s->index || !s->wild || !s->hasher)
                return credstore_free(s);
        return s;
}

/* The bytes of one line (n of them, without its ending): length and
 * control characters. */
static int check_line(const char *p, size_t n, unsigned line, char *err, size_t errlen)
{
        if (n > CRED_MAX_LINE) {
                set_err(err, errlen, "line %u: longer than %u bytes", line, CRED_MAX_LINE);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        set_err(err, errlen,
                                "line %u: control character 0x%02x (byte %zu); fields "
                                "are separated by spaces or tabs",
                                line, c, i + 1);
                        return -EINVAL;
                }
        }
        return 0;
}

/* One line split into nf fields (split_fields()): checked, parsed and
 * added to the store and its index. */
static int store_add(CredStore *s, char *f[4], size_t nf, unsigned line, char *err, size_t errlen)
{
        char buf[48], buf2[48];
        CredEntry e;
        size_t slot;
        int r;

        if (nf < 3) {
                set_err(err, errlen, "line %u: expected USER REALM SECRET, found %s", line,
                        nf == 1 ? "only USER" : "no SECRET");
                return -EINVAL;
        }
        if (nf > 3) {
                set_err(err, errlen,
                        "line %u: unexpected text after SECRET (a password cannot "
                        "contain spaces: store its HA1 instead)",
                        line);
                return -EINVAL;
        }
        if (s->n_entries >= CRED_MAX_ENTRIES) {
                set_err(err, errlen, "line %u: more than %u entries", line, CRED_MAX_ENTRIES);
                return -EINVAL;
        }
        r = parse_entry(&e, f[0], f[1], f[2], line, err, errlen);
        if (r < 0)
                return r;
        slot = index_slot(s, e.user, e.realm);
        if (s->index[slot] != 0) {
                const CredEntry *first = &s->entries[s->index[slot] - 1];
                set_err(err, errlen,
                        "line %u: duplicate entry for user '%s' in realm '%s' (first on "
                        "line %u)",
                        line, shown(e.user, buf), shown(e.realm, buf2), first->line);
                return -EINVAL;
        }
        if (strcmp(e.realm, "*") == 0)
                s->wild[s->n_wild++] = (uint32_t)s->n_entries;
        s->entries[s->n_entries++] = e;
        s->index[slot] = (uint32_t)s->n_entries;
        return 0;
}

/* sipauthmon-credentials(5): USER REALM SECRET per line, '#' comments. */
int credstore_parse(const char *text, size_t len, CredStore **out, char *err, size_t errlen)
{
        CredStore *s;
        unsigned line = 0;
        char *p, *end;
        int r = 0;

        if (err && errlen > 0)
                err[0] = '\0';
        if (!out || (!text && len > 0)) {
                set_err(err, errlen, "invalid arguments");
                return -EINVAL;
        }
        if (len > CRED_MAX_BYTES) {
                set_err(err, errlen, "larger than %u bytes", CRED_MAX_BYTES);
                return -EFBIG;
        }
        s = store_new(text, len);
        if (!s) {
                set_err(err, errlen, "out of memory");
                return -ENOMEM;
        }
        for (p = s->text, end = s->text + len; p < end && r == 0;) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = (size_t)((nl ? nl : end) - p);
                char *f[4];
                size_t nf;

                line++;
                /* CRLF files: the CR belongs to the line ending. */
                if (n > 0 && p[n - 1] == '\r')
                        n--;
                r = check_line(p, n, line, err, errlen);
                if (r < 0)
                        break;
                p[n] = '\0';
                nf = split_fields(p, f);
                p = nl ? nl + 1 : end;
                if (nf > 0)
                        r = store_add(s, f, nf, line, err, errlen);
        }
        if (r < 0) {
                credstore_free(s);
                return r;
        }
        *out = s;
        return 0;
}

int credstore_check_stat(const struct stat *st, const char *name, char *err, size_t errlen)
{
        if (!name)
                name = "credentials file";
        if (!st) {
                set_err(err, errlen, "%s: no file status", name);
                return -EINVAL;
        }
        if (!S_ISREG(st->st_mode)) {
                set_err(err, errlen, "%s is not a regular file", name);
                return -EINVAL;
        }
        /* The file holds passwords or password equivalents (an HA1 logs in
         * as well as the password does, RFC 7616 §5.2). */
        if (st->st_mode & 0077) {
                set_err(err, errlen,
                        "%s has mode %04o: it holds secrets and must not be accessible by group "
                        "or others; run: chmod 600 %s",
                        name, (unsigned)(st->st_mode & 07777), name);
                return -EPERM;
        }
        return 0;
}

const CredEntry *credstore_find(const CredStore *s, const char *user, const char *realm)
{
        if (!s || !user || !realm || s->n_entries == 0)
                return NULL;
        size_t slot = index_slot(s, user, realm);
        if (s->index[slot] == 0)
                slot = index_slot(s, user, "*");
        return s->index[slot] ? &s->entries[s->index[slot] - 1] : NULL;
}

static int uh_slot_of(DigestAlg alg)
{
        switch (digest_alg_base(alg)) {
        case DIGEST_ALG_MD5:
                return 0;
        case DIGEST_ALG_SHA256:
                return 1;
        case DIGEST_ALG_SHA512_256:
                return 2;
        default:
                return -1;
        }
}

/* The first 16 hex digits as a number; false when not hex. */
static bool hex_prefix(const char *hex, uint64_t *out)
{
        uint64_t v = 0;

        for (size_t i = 0; i < 16; i++) {
                char c = hex[i];
                unsigned d;
                if (c >= '0' && c <= '9')
                        d = (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned)(c - 'A' + 10);
                else
                        return false;
                v = (v << 4) | d;
        }
        *out = v;
        return true;
}

static int cmp_uh_slot(const void *a, const void *b)
{
        const UserhashSlot *x = a, *y = b;

        if (x->prefix != y->prefix)
                return x->prefix < y->prefix ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Hash every concrete-realm entry once; on failure lookups fall back to a scan. */
static void build_userhash_index(CredStore *s, DigestAlg alg, int k)
{
        char hex[DIGEST_HEX_MAX];
        UserhashSlot *slots;
        size_t n = 0;

        s->uh[k].tried = true;
        slots = malloc((s->n_entries ? s->n_entries : 1) * sizeof *slots);
        if (!slots)
                return;
        for (size_t i = 0; i < s->n_entries; i++) {
                const CredEntry *e = &s->entries[i];
                if (strcmp(e->realm, "*") == 0)
                        continue;
                if (digest_userhash(s->hasher, alg, e->user, e->realm, hex) < 0 ||
                    !hex_prefix(hex, &slots[n].prefix)) {
                        free(slots);
                        return;
                }
                slots[n++].idx = (uint32_t)i;
        }
        qsort(slots, n, sizeof *slots, cmp_uh_slot);
        s->uh[k].slots = slots;
        s->uh[k].n = n;
        s->uh[k].ok = true;
}

static bool userhash_matches(CredStore *s, const CredEntry *e, const char *userhash_hex,
                             const char *realm, DigestAlg alg)
{
        char hex[DIGEST_HEX_MAX];

        return digest_userhash(s->hasher, alg, e->user, realm, hex) == 0 &&
               strcasecmp(hex, userhash_hex) == 0;
}

const CredEntry *credstore_find_userhash(CredStore *s, const char *userhash_hex, const char *realm,
                                         DigestAlg alg)
{
        size_t hexlen = digest_alg_hex_len(alg);
        int k = uh_slot_of(alg);
        uint64_t prefix;

        if (!s || !userhash_hex || !realm || k < 0 || hexlen < 16 ||
            strlen(userhash_hex) != hexlen || !hex_prefix(userhash_hex, &prefix))
                return NULL;
        if (!s->uh[k].tried)
                build_userhash_index(s, alg, k);

        if (s->uh[k].ok) {
                /* Lower bound of prefix, then the few slots that share it. */
                const UserhashSlot *v = s->uh[k].slots;
                size_t lo = 0, hi = s->uh[k].n;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (v[mid].prefix < prefix)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (; lo < s->uh[k].n && v[lo].prefix == prefix; lo++) {
                        const CredEntry *e = &s->entries[v[lo].idx];
                        if (strcmp(e->realm, realm) == 0 &&
                            userhash_matches(s, e, userhash_hex, realm, alg))
                                return e;
                }
        } else {
                for (size_t i = 0; i < s->n_entries; i++) {
                        const CredEntry *e = &s->entries[i];
                        if (strcmp(e->realm, realm) == 0 &&
                            userhash_matches(s, e, userhash_hex, realm, alg))
                                return e;
                }
        }
        /* "*" entries: H(user:realm) depends on the response's realm. */
        for (size_t i = 0; i < s->n_wild; i++) {
                const CredEntry *e = &s->entries[s->wild[i]];
                if (userhash_matches(s, e, userhash_hex, realm, alg))
                        return e;
        }
        return NULL;
}

const char *credentry_user(const CredEntry *e)
{
        return e ? e->user : NULL;
}

const char *credentry_realm(const CredEntry *e)
{
        return e ? e->realm : NULL;
}

unsigned credentry_line(const CredEntry *e)
{
        return e ? e->line : 0;
}

const char *credentry_secret_type(const CredEntry *e)
{
        return e ? e->type : NULL;
}

DigestVerdict credstore_verify_entry(CredStore *s, const CredEntry *e, const SipCredentials *cred,
                                     const char *method, const uint8_t *body, size_t body_len)
{
        if (!s || !e)
                return VERIFY_NO_SECRET;
        return digest_verify(s->hasher, cred, method, body, body_len, &e->secret);
}

DigestVerdict credstore_verify(CredStore *s, const SipCredentials *cred, const char *method,
                               const uint8_t *body, size_t body_len)
{
        const CredEntry *e;

        if (!s || !cred)
                return VERIFY_NO_SECRET;
        if (!cred->digest || digest_alg_base(cred->alg) == DIGEST_ALG_OTHER || !cred->username ||
            !cred->realm)
                return VERIFY_UNSUPPORTED;
        if (cred->userhash)
                e = credstore_find_userhash(s, cred->username, cred->realm, cred->alg);
        else
                e = credstore_find(s, cred->username, cred->realm);
        if (!e)
                return VERIFY_NO_SECRET;
        return credstore_verify_entry(s, e, cred, method, body, body_len);
}

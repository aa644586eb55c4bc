/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The credentials store parser (analysis/credentials.c,
 * sipauthmon-credentials(5)) and the lookups done with a parsed store.
 *
 * Input: the file's bytes (not NUL-terminated: the parser must not need
 * it). Invariants: 0 or a negative errno; *out untouched on failure; a
 * NUL-terminated one-line error; lookups on the store never crash and
 * return entries whose user/realm match; credstore_free() releases all.
 */
#include <string.h>

#include "credentials.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        CredStore *s = (CredStore *)(uintptr_t)0x1;
        char err[256];
        memset(err, 0, sizeof err);
        int r = credstore_parse((const char *)data, size, &s, err, sizeof err);
        FUZZ_ASSERT(r <= 0);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
        if (r < 0) {
                FUZZ_ASSERT(s == (CredStore *)(uintptr_t)0x1);
                FUZZ_ASSERT(strchr(err, '\n') == NULL);
                return 0;
        }
        FUZZ_ASSERT(s != NULL);
        FUZZ_ASSERT(credstore_count(s) <= CRED_MAX_ENTRIES);

        /* Look up the first user of the text in its realm, and a few fixed names. */
        char user[64] = "alice", realm[64] = "asterisk";
        const char *p = memchr(data, ' ', size);
        if (p && (size_t)(p - (const char *)data) < sizeof user && p > (const char *)data) {
                memcpy(user, data, (size_t)(p - (const char *)data));
                user[p - (const char *)data] = '\0';
        }
        const char *users[] = {user, "alice", "1001", "*", ""};
        const char *realms[] = {realm, "example.test", "*", ""};
        for (size_t u = 0; u < sizeof users / sizeof users[0]; u++)
                for (size_t k = 0; k < sizeof realms / sizeof realms[0]; k++) {
                        const CredEntry *e = credstore_find(s, users[u], realms[k]);
                        if (!e)
                                continue;
                        FUZZ_ASSERT(strcmp(credentry_user(e), users[u]) == 0);
                        const char *er = credentry_realm(e);
                        FUZZ_ASSERT(strcmp(er, realms[k]) == 0 || strcmp(er, "*") == 0);
                        FUZZ_ASSERT(credentry_line(e) >= 1);
                        (void)credentry_secret_type(e);
                }
        /* userhash lookups build the per-algorithm index over every entry. */
        (void)credstore_find_userhash(s, "0123456789abcdef0123456789abcdef", "asterisk",
                                      DIGEST_ALG_MD5);
        (void)credstore_find_userhash(
            s, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "*",
            DIGEST_ALG_SHA256);
        s = credstore_free(s);
        FUZZ_ASSERT(s == NULL);
        return 0;
}

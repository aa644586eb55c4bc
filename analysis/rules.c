/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rules.h"

#include <stdarg.h>

static const Rule *const rule_table[DIAG__MAX] = {
    [DIAG_CHALLENGE_MISSING] = &rule_challenge_missing,
    [DIAG_HEADER_MISMATCH] = &rule_header_mismatch,
    [DIAG_NO_CREDENTIALS] = &rule_no_credentials,
    [DIAG_REALM_MISMATCH] = &rule_realm_mismatch,
    [DIAG_ALGORITHM_MISMATCH] = &rule_algorithm_mismatch,
    [DIAG_QOP_MISMATCH] = &rule_qop_mismatch,
    [DIAG_URI_MISMATCH] = &rule_uri_mismatch,
    [DIAG_STALE_NONCE] = &rule_stale_nonce,
    [DIAG_NONCE_UNKNOWN] = &rule_nonce_unknown,
    [DIAG_SOURCE_CHANGED] = &rule_source_changed,
    [DIAG_CREDENTIAL_GUESSING] = &rule_credential_guessing,
    [DIAG_ACCOUNT_SCAN] = &rule_account_scan,
    [DIAG_SERVER_REJECTS_VALID] = &rule_server_rejects_valid,
    [DIAG_WRONG_PASSWORD] = &rule_wrong_password,
    [DIAG_CREDENTIAL_COMPROMISE] = &rule_credential_compromise,
    [DIAG_RESOLVED] = &rule_resolved,
    [DIAG_RATE_LIMITED] = &rule_rate_limited,
};

const Rule *rules_get(DiagCode code)
{
        return (unsigned)code < DIAG__MAX ? rule_table[code] : NULL;
}

uint32_t rules_check_attempt(const AttemptCtx *ctx)
{
        uint32_t mask = 0;

        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (rule_table[i] && rule_table[i]->check && rule_table[i]->check(ctx))
                        mask |= 1u << i;
        return mask;
}

/*
 * DESIGN.md: "most specific cause wins". A cause explains the streak when at
 * least half of the refused attempts show it (n_show: an attempt may show
 * several, a wrong realm and a wrong algorithm say); among those the most
 * specific (lowest code) wins. A single stale challenge among wrong passwords
 * does not make a stale-nonce diagnosis. When no cause covers half, the most
 * frequent one wins by each attempt's most specific cause (n_cls), ties going
 * to the more specific.
 */
DiagCode rules_choose(const unsigned n_show[DIAG__MAX], const unsigned n_cls[DIAG__MAX],
                      unsigned attempts)
{
        DiagCode best = DIAG_WRONG_PASSWORD;
        unsigned best_n = 0;

        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (n_show[i] > 0 && n_show[i] * 2 >= attempts)
                        return (DiagCode)i;
        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (n_cls[i] > best_n) {
                        best = (DiagCode)i;
                        best_n = n_cls[i];
                }
        return best;
}

void strbuf_append(char *buf, size_t n, const char *fmt, ...)
{
        size_t len = strnlen(buf, n);
        va_list ap;

        if (n == 0 || len >= n - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + len, n - len, fmt, ap);
        va_end(ap);
}

void span_phrase(char *buf, size_t n, uint32_t ms)
{
        if (ms < 1000)
                snprintf(buf, n, "%u ms", ms);
        else if (ms < 120000)
                snprintf(buf, n, "%u s", ms / 1000);
        else if (ms < 7200000)
                snprintf(buf, n, "%u min %u s", ms / 60000, ms / 1000 % 60);
        else
                snprintf(buf, n, "%u h %u min", ms / 3600000, ms / 60000 % 60);
}

void streak_attempts_phrase(const Streak *s, char *buf, size_t n)
{
        snprintf(buf, n, "%u %s%s", s->attempts, s->method, s->attempts == 1 ? "" : "s");
}

void streak_refusals_phrase(const Streak *s, char *buf, size_t n)
{
        static const char *const codes[4] = {"401", "407", "403", "another final status"};
        unsigned kinds = 0, only = 0;

        for (unsigned i = 0; i < 4; i++)
                if (s->n_status[i]) {
                        kinds++;
                        only = i;
                }
        if (kinds == 1) {
                snprintf(buf, n, "refused with %s each time", codes[only]);
                return;
        }
        if (n)
                buf[0] = '\0';
        strbuf_append(buf, n, "refused with");
        for (unsigned i = 0, k = 0; i < 4; i++) {
                if (!s->n_status[i])
                        continue;
                strbuf_append(buf, n, "%s %s (%u)", k == 0 ? "" : (k + 1 == kinds ? " and" : ","),
                              codes[i], s->n_status[i]);
                k++;
        }
}

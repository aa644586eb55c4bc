/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rules.h"

#include <stdio.h>

#include "strbuf.h"

/*
 * Every rule, one line each: analysis/rules/<name>.c defines
 * `const Rule rule_<name>`. Order does not matter (DiagCode is the
 * precedence); tests/unit/test_tracker.c checks that every code has exactly
 * one declaration and a catalog entry.
 */
#define RULES(X)                                                                                   \
        X(challenge_missing)                                                                       \
        X(header_mismatch)                                                                         \
        X(no_credentials)                                                                          \
        X(realm_mismatch)                                                                          \
        X(algorithm_mismatch)                                                                      \
        X(qop_mismatch)                                                                            \
        X(uri_mismatch)                                                                            \
        X(stale_nonce)                                                                             \
        X(nonce_unknown)                                                                           \
        X(source_changed)                                                                          \
        X(credential_guessing)                                                                     \
        X(account_scan)                                                                            \
        X(server_rejects_valid)                                                                    \
        X(wrong_password)                                                                          \
        X(credential_compromise)                                                                   \
        X(resolved)                                                                                \
        X(rate_limited)

#define RULE_EXTERN(name) extern const Rule rule_##name;
#define RULE_ENTRY(name)  &rule_##name,

RULES(RULE_EXTERN)

static const Rule *const rule_table[] = {RULES(RULE_ENTRY)};

#define N_RULES (sizeof rule_table / sizeof rule_table[0])

const Rule *const *rules_all(size_t *n)
{
        *n = N_RULES;
        return rule_table;
}

const Rule *rules_get(DiagCode code)
{
        for (size_t i = 0; i < N_RULES; i++)
                if (rule_table[i]->code == code)
                        return rule_table[i];
        return NULL;
}

uint32_t rules_check_attempt(const AttemptCtx *ctx, AttemptNotes *notes)
{
        uint32_t mask = 0;

        *notes = (AttemptNotes){0};
        for (size_t i = 0; i < N_RULES; i++)
                if (rule_table[i]->check && rule_table[i]->check(ctx, notes))
                        mask |= 1u << rule_table[i]->code;
        return mask;
}

uint32_t rules_tolerable(void)
{
        uint32_t mask = 0;

        for (size_t i = 0; i < N_RULES; i++)
                if (rule_table[i]->tolerated)
                        mask |= 1u << rule_table[i]->code;
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
        snprintf(buf, n, "%u %s%s", s->attempts, s->att->method, s->attempts == 1 ? "" : "s");
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

/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "diagnosis.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const struct {
        const char *name;
        Severity severity;
        /* MESSAGE_ID: fixed forever once released; documented in systemd/sipauthmon.catalog. */
        const char *message_id;
} diag_table[DIAG__MAX] = {
    [DIAG_CHALLENGE_MISSING] = {"challenge-missing", SEV_ERROR, "1a2b716db8324464ba6e984c8845be51"},
    [DIAG_HEADER_MISMATCH] = {"header-mismatch", SEV_WARNING, "b5434390672044a1a6bdbb761b889443"},
    [DIAG_NO_CREDENTIALS] = {"no-credentials", SEV_WARNING, "88bd706996ff4742bfb549965ef72183"},
    [DIAG_REALM_MISMATCH] = {"realm-mismatch", SEV_WARNING, "3f25eeb624394040bb7d6ad95d5a4854"},
    [DIAG_ALGORITHM_MISMATCH] = {"algorithm-mismatch", SEV_WARNING,
                                 "48bc649c1de7447a8f2363f1717715df"},
    [DIAG_QOP_MISMATCH] = {"qop-mismatch", SEV_WARNING, "0731ca6f29d14068b75ecb4355c2dd15"},
    [DIAG_URI_MISMATCH] = {"uri-mismatch", SEV_WARNING, "1ebf79b02db246a48c8388dff3ce5133"},
    [DIAG_STALE_NONCE] = {"stale-nonce", SEV_WARNING, "268cbf9e4cb940debb5baea40d824a98"},
    [DIAG_NONCE_UNKNOWN] = {"nonce-unknown", SEV_WARNING, "53e3800ddb69468fbfb7c481e6855d53"},
    [DIAG_SOURCE_CHANGED] = {"source-changed", SEV_WARNING, "5347476164414f9197aaef11d09107b5"},
    [DIAG_CREDENTIAL_GUESSING] = {"credential-guessing", SEV_ERROR,
                                  "e414c02c9ce843cea3757e7050641a6a"},
    [DIAG_ACCOUNT_SCAN] = {"account-scan", SEV_ERROR, "6c7f8ff8ad354354887fbdc178f1f619"},
    [DIAG_SERVER_REJECTS_VALID] = {"server-rejects-valid", SEV_ERROR,
                                   "27b81c0066ad453697375dad71850d8e"},
    [DIAG_WRONG_PASSWORD] = {"wrong-password", SEV_WARNING, "4556f8fff4e9436abfdb8dc5e2bd0d33"},
    [DIAG_CREDENTIAL_COMPROMISE] = {"credential-compromise", SEV_CRITICAL,
                                    "1c4b4d7e0111489aac1c14f6aa764851"},
    [DIAG_RESOLVED] = {"resolved", SEV_INFO, "57b761044fca4e30824b3eff262dc090"},
    [DIAG_RATE_LIMITED] = {"rate-limited", SEV_NOTICE, "c0d6a4a9e1f34f0e9b8e2b7c61d5a3f2"},
};

const char *diag_code_name(DiagCode c)
{
        return (unsigned)c < DIAG__MAX && diag_table[c].name ? diag_table[c].name : "unknown";
}

bool diag_code_from_name(const char *s, DiagCode *out)
{
        for (unsigned i = 0; i < DIAG__MAX; i++)
                if (strcmp(s, diag_table[i].name) == 0) {
                        *out = (DiagCode)i;
                        return true;
                }
        return false;
}

Severity diag_code_severity(DiagCode c)
{
        return (unsigned)c < DIAG__MAX ? diag_table[c].severity : SEV_WARNING;
}

const char *diag_code_message_id(DiagCode c)
{
        return (unsigned)c < DIAG__MAX ? diag_table[c].message_id : "";
}

const char *severity_name(Severity s)
{
        static const char *const names[] = {"info", "notice", "warning", "error", "critical"};
        return (unsigned)s <= SEV_CRITICAL ? names[s] : "warning";
}

int severity_syslog_priority(Severity s)
{
        static const int prio[] = {LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT};
        return (unsigned)s <= SEV_CRITICAL ? prio[s] : LOG_WARNING;
}

char *format_rfc3339_ms(int64_t us, char *buf, size_t n)
{
        time_t secs = (time_t)(us / 1000000);
        int ms = (int)((us % 1000000) / 1000);
        struct tm tm;

        if (us < 0 || !gmtime_r(&secs, &tm)) {
                snprintf(buf, n, "1970-01-01T00:00:00.000Z");
                return buf;
        }
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        return buf;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "diagnosis.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "rules.h"

/* Every table of a code is read from its rule's declaration (rules.h). */

const char *diag_code_name(DiagCode c)
{
        const Rule *r = rules_get(c);

        return r ? r->name : "unknown";
}

bool diag_code_from_name(const char *s, DiagCode *out)
{
        size_t n;
        const Rule *const *all = rules_all(&n);

        for (size_t i = 0; i < n; i++)
                if (strcmp(s, all[i]->name) == 0) {
                        *out = all[i]->code;
                        return true;
                }
        return false;
}

Severity diag_code_severity(DiagCode c)
{
        const Rule *r = rules_get(c);

        return r ? r->severity : SEV_WARNING;
}

const char *diag_code_message_id(DiagCode c)
{
        const Rule *r = rules_get(c);

        return r ? r->message_id : "";
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

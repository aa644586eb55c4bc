/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * account-scan — RFC 3261 §26.3.2.4: one source tries many usernames and
 * fails on each (SIPVicious svwar/svcrack, "friendly-scanner"): 404/403 to
 * REGISTERs, challenges it never answers, or refused credentials. Decided
 * per source, not per principal; no per-attempt check.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n, "%u distinct usernames tried from %s within %u s, %u %ss failed",
                      s->n_users, s->client, s->span_ms / 1000 + 1, s->attempts, s->att->method);
        if (s->n_refused_users)
                strbuf_append(buf, n, "; refused or unknown (403/404, or refused credentials): %s",
                              s->user_list);
        if (s->n_existing_users)
                strbuf_append(buf, n,
                              "; challenged but never answered, so these accounts exist: %s",
                              s->existing_list);
        if (s->att->user_agent[0])
                strbuf_append(buf, n, "; User-Agent \"%s\"", s->att->user_agent);
        else
                strbuf_append(buf, n, "; no User-Agent");
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "User enumeration from %s: block the source (fail2ban on "
                      "SIP_DIAGNOSIS=account-scan, see "
                      "/usr/share/doc/sipauthmon/examples/fail2ban, or the Kamailio/OpenSIPS "
                      "pike module). Keep authentication on, and make the server answer unknown "
                      "users exactly like known ones (Asterisk chan_sip: alwaysauthreject=yes)",
                      s->client);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, "; the target is %s", server_family_name(s->family));
        strbuf_append(buf, n, ".");
}

const Rule rule_account_scan = {
    .code = DIAG_ACCOUNT_SCAN,
    .name = "account-scan",
    .severity = SEV_ERROR,
    .message_id = "6c7f8ff8ad354354887fbdc178f1f619",
    .evidence = evidence,
    .remedy = remedy,
};

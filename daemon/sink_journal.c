/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A record as one journal entry: fields escaped like text, so that each is
 * one printable line (journalctl shows fields with control bytes as blobs).
 * Without journald the record goes to stderr as text.
 */
#define SD_JOURNAL_SUPPRESS_LOCATION 1 /* CODE_FILE=sink_journal.c would tell nobody anything */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "escape.h"
#include "journal.h"
#include "sink_internal.h"

#define JOURNAL_FIELDS_MAX 24

/* Each field is "NAME=" + escaped value: one printable line, never a format string. */
typedef struct {
        struct iovec iov[JOURNAL_FIELDS_MAX];
        int n;
        char *area; /* JOURNAL_FIELDS_MAX slots of JOURNAL_SLOT bytes */
} JournalEntry;

#define JOURNAL_SLOT (32 + ESCAPED_MAX)

static void journal_add(JournalEntry *e, const char *name, const char *value)
{
        size_t nl = strlen(name);
        char *slot;
        size_t vl;

        if (!value[0] || e->n >= JOURNAL_FIELDS_MAX || nl >= 31)
                return;
        slot = e->area + (size_t)e->n * JOURNAL_SLOT;
        memcpy(slot, name, nl);
        slot[nl] = '=';
        vl = escape_text(value, slot + nl + 1, JOURNAL_SLOT - nl - 1);
        e->iov[e->n].iov_base = slot;
        e->iov[e->n].iov_len = nl + 1 + vl;
        e->n++;
}

/*
 * journald is unreachable: the record goes to stderr as text (no colour),
 * announced by exactly one warning line for the life of the sink.
 */
static int journal_fallback(Sink *s, const Diagnosis *d, const char *why)
{
        size_t mark = s->len;
        int r;

        if (!s->fallback_warned) {
                sink_buf_puts(s, "sipauthmon: warning: journald is not available (");
                sink_buf_puts(s, why);
                sink_buf_puts(s, "); writing diagnoses to stderr as text\n");
        }
        sink_format_text(s, d, false);
        r = sink_buf_end_record(s, mark);
        if (r < 0)
                return r;
        s->fallback_warned = true;
        return sink_buf_flush_to(s, STDERR_FILENO);
}

int sink_emit_journal(Sink *s, const Diagnosis *d)
{
        char tmp[FIELD_MAX + 1];
        char num[24];
        char t1[40];
        char t2[40];
        JournalEntry e = {.n = 0};
        const char *message = FIELD(d, message, tmp);
        int r;

        /* With nobody listening, sd_journal_sendv() returns 0 and drops the entry. */
        if (!journal_socket_present())
                return journal_fallback(s, d, JOURNAL_SOCKET " is missing");

        e.area = malloc((size_t)JOURNAL_FIELDS_MAX * JOURNAL_SLOT);
        if (!e.area)
                return -ENOMEM;

        journal_add(&e, "MESSAGE", message[0] ? message : diag_code_name(d->code));
        journal_add(&e, "MESSAGE_ID", diag_code_message_id(d->code));
        snprintf(num, sizeof num, "%d", severity_syslog_priority(d->severity));
        journal_add(&e, "PRIORITY", num);
        journal_add(&e, "SYSLOG_IDENTIFIER", "sipauthmon");
        journal_add(&e, "SIP_DIAGNOSIS", diag_code_name(d->code));
        journal_add(&e, "SIP_USER", FIELD(d, user, tmp));
        journal_add(&e, "SIP_REALM", FIELD(d, realm, tmp));
        journal_add(&e, "SIP_CLIENT", FIELD(d, client, tmp));
        journal_add(&e, "SIP_SERVER", FIELD(d, server, tmp));
        journal_add(&e, "SIP_TRANSPORT", FIELD(d, transport, tmp));
        /* fail2ban matches only "yes" (contrib/fail2ban, sipauthmon(8) VERIFIED SOURCES). */
        if (d->source_verified != SOURCE_VERIFIED_NA)
                journal_add(&e, "SIP_SOURCE_VERIFIED",
                            d->source_verified == SOURCE_VERIFIED_YES ? "yes" : "no");
        journal_add(&e, "SIP_METHOD", FIELD(d, method, tmp));
        journal_add(&e, "SIP_CALL_ID", FIELD(d, call_id, tmp));
        if (d->attempts > 0) {
                snprintf(num, sizeof num, "%u", d->attempts);
                journal_add(&e, "SIP_ATTEMPTS", num);
        }
        if (time_known(d->first_seen_us))
                journal_add(&e, "SIP_FIRST_SEEN",
                            format_rfc3339_ms(d->first_seen_us, t1, sizeof t1));
        if (time_known(d->last_seen_us))
                journal_add(&e, "SIP_LAST_SEEN", format_rfc3339_ms(d->last_seen_us, t2, sizeof t2));
        journal_add(&e, "SIP_USER_AGENT", FIELD(d, user_agent, tmp));
        journal_add(&e, "SIP_SERVER_AGENT", FIELD(d, server_agent, tmp));
        journal_add(&e, "SIP_ALGORITHM", FIELD(d, algorithm, tmp));
        journal_add(&e, "SIP_EVIDENCE", FIELD(d, evidence, tmp));
        journal_add(&e, "SIP_REMEDY", FIELD(d, remedy, tmp));

        r = sd_journal_sendv(e.iov, e.n);
        free(e.area);
        if (r < 0) {
                char why[96];

                snprintf(why, sizeof why, "sending failed: %s", strerror(-r));
                return journal_fallback(s, d, why);
        }
        return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the sink module (sink.c): the handle, the buffered writer every
 * format appends to, and one file per output format (sink_text.c,
 * sink_json.c, sink_journal.c). Nothing outside daemon/sink*.c includes this.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"

/* The largest Diagnosis string field; bounded copies and escapes are sized by it. */
#define FIELD_MAX sizeof(((Diagnosis *)0)->evidence)
/* escape_text() writes at most 4 bytes per input byte ("\xHH"). */
#define ESCAPED_MAX (4 * FIELD_MAX + 1)

struct Sink {
        SinkKind kind;
        int fd;
        bool color;
        bool ladder; /* text: draw each record's failing exchange (ladder.c) */
        /* journal: the one warning about falling back to stderr was printed. */
        bool fallback_warned;
        char *buf;
        size_t len;
        size_t cap;
        /* First error while building the current record (sticky, -ENOMEM). */
        int err;
};

/*
 * The buffered writer (sink.c). Appending never fails visibly: the first
 * allocation failure is remembered in s->err and the record is dropped when
 * it is complete, so that the formatters need no error plumbing on every line.
 */
void sink_buf_put(Sink *s, const char *p, size_t n);
void sink_buf_puts(Sink *s, const char *p);
void sink_buf_spaces(Sink *s, size_t n);
/* Ends building a record: on error the half-built one (from mark on) is dropped. */
int sink_buf_end_record(Sink *s, size_t mark);
/* Sends the buffer to fd; what a full fd did not take is kept (up to a limit). */
int sink_buf_flush_to(Sink *s, int fd);

/*
 * The Diagnosis contract says every field is NUL-terminated; if one ever is
 * not, use a terminated copy instead of reading past it. tmp holds FIELD_MAX+1.
 */
const char *sink_field_str(const char *f, size_t cap, char *tmp);
#define FIELD(d, name, tmp) sink_field_str((d)->name, sizeof((d)->name), (tmp))

static inline bool time_known(int64_t us)
{
        return us > 0;
}

/*
 * One display unit of escaped text at p (escape_text() made it: every
 * backslash starts "\\c" or "\\xHH", everything else is valid UTF-8). Returns
 * its byte length; *cols gets the columns it takes (wide glyphs count as one).
 */
size_t sink_text_unit(const char *p, size_t *cols);

/* The formats: each appends one record for d to the buffer. */
void sink_format_text(Sink *s, const Diagnosis *d, bool color); /* sink_text.c */
void sink_format_json(Sink *s, const Diagnosis *d);             /* sink_json.c */
/* journald, or stderr as text when it is not there (sink_journal.c). */
int sink_emit_journal(Sink *s, const Diagnosis *d);

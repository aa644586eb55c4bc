/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where diagnosis records go: text or JSON lines on a file descriptor, or
 * journald (DESIGN.md "Output schema"). Untrusted strings are escaped here.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "../analysis/diagnosis.h"

typedef enum {
        SINK_TEXT = 0,
        SINK_JSON,
        SINK_JOURNAL,
} SinkKind;

typedef struct Sink Sink;

bool sink_kind_from_name(const char *s, SinkKind *out);
const char *sink_kind_name(SinkKind k);

/*
 * fd: where text/json lines go (not owned). color: use terminal escape codes
 * in text output (only when fd is a tty).
 */
Sink *sink_new(SinkKind kind, int fd, bool color);
Sink *sink_free(Sink *s);
/* Text: draw each record's failing exchange as a ladder (off by default;
 * no effect on JSON and journal output). */
void sink_set_ladder(Sink *s, bool on);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sink *, sink_free);

/* Write one record. 0 on success, negative errno on failure (-EPIPE ...). */
int sink_emit(Sink *s, const Diagnosis *d);
/* Flush buffered output; negative errno on failure. */
int sink_flush(Sink *s);

/*
 * The JSON line a json sink writes for d, without its newline, NUL-terminated
 * (HEP out sends it as the payload). *len gets its length. The caller frees
 * it; NULL with errno set on failure.
 */
char *sink_json_line(const Diagnosis *d, size_t *len);

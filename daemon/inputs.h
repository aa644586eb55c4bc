/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The inputs of an offline run (-r, repeatable) read as ONE stream in
 * timestamp order: a k-way merge by packet time across the files, so that
 * overlapping captures interleave and the rotated files of tcpdump -G/-C or
 * a dumpcap ring buffer are one capture. A directory stands for its regular,
 * non-hidden files that are captures (by magic: pcap, pcapng, gzip, zstd), in
 * name order; "-" is stdin. Each file keeps its own link type and filter.
 *
 * Files are opened lazily: each is looked at once for its first timestamp,
 * and (beyond INPUTS_OPEN_MAX inputs) opened again only when the merge
 * reaches that time, so a ring of thousands of files holds one or two open.
 * A file that cannot be opened or is damaged is logged (naming it) and
 * counted, and the others go on: inputs_failed() then says so.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "progress.h"

#define INPUTS_OPEN_MAX 16 /* inputs kept open from the first look */

typedef struct Inputs Inputs;

typedef struct {
        CapturePacket pkt; /* valid until the next inputs_next() */
        int linktype;
} InputPacket;

/*
 * Expand paths (files, directories, "-") and look at every file once.
 * stop (may be NULL): set by a stop signal, so that a read it interrupts is
 * not reported as a damaged file. Returns 0 (failures of single files are
 * logged and counted) or -ENOMEM.
 */
int inputs_open(Inputs **out, char *const *paths, size_t n, const char *filter,
                volatile sig_atomic_t *stop);
Inputs *inputs_free(Inputs *in);
DEFINE_TRIVIAL_CLEANUP_FUNC(Inputs *, inputs_free);

/* The progress line to erase before a message about a file (NULL: none). */
void inputs_set_progress(Inputs *in, Progress *p);

/* The next packet of the merged stream: CAPTURE_PACKET or CAPTURE_END. */
int inputs_next(Inputs *in, InputPacket *out);

/* Bytes read of all inputs and their total (0: unknown, e.g. stdin). */
void inputs_progress(const Inputs *in, uint64_t *done, uint64_t *total);
/* A file could not be opened, was not a capture or was damaged. */
bool inputs_failed(const Inputs *in);
size_t inputs_count(const Inputs *in);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bytes of one capture file (-r) as a stdio stream for
 * pcap_fopen_offline(): a file or stdin, plain or compressed with gzip or
 * zstd (told by the magic bytes, never by the name; zlib and libzstd do the
 * work). The stream counts the bytes it took from the file, for the progress
 * display. An empty input and an unknown or unsupported format are refused
 * here with one sentence that names the file and, where there is one, the fix.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct CaptureFile CaptureFile;

typedef enum {
        CAPTURE_FORMAT_UNKNOWN = 0,
        CAPTURE_FORMAT_PCAP,
        CAPTURE_FORMAT_PCAPNG,
        CAPTURE_FORMAT_GZIP,
        CAPTURE_FORMAT_ZSTD,
        CAPTURE_FORMAT_BZIP2, /* refused, with the bzcat hint */
        CAPTURE_FORMAT_XZ,    /* refused, with the xzcat hint */
} CaptureFormat;

/* The format of a file from its first bytes (n may be short). */
CaptureFormat capture_file_format(const uint8_t *p, size_t n);

/*
 * Open path ("-" = stdin, which is never closed) as a FILE (*f) that yields
 * the capture's plain bytes; *cf (may be NULL) is the stream's state, owned by
 * the FILE: valid until fclose(). name is the escaped name for messages.
 * Returns 0, or a negative errno with one line in err.
 */
int capture_file_open(FILE **f, const char *path, const char *name, CaptureFile **cf, char *err,
                      size_t n);

/* Bytes taken from the file so far (compressed bytes for a compressed file). */
uint64_t capture_file_consumed(const CaptureFile *cf);
/* The file's size for a regular file, else 0 (unknown: a pipe, stdin). */
uint64_t capture_file_size(const CaptureFile *cf);
/* What went wrong in the decompressor ("" none): better than stdio's EIO. */
const char *capture_file_error(const CaptureFile *cf);

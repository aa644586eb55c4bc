/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A capture file behind fopencookie(): the first bytes are read once to tell
 * the format, then served again from the buffer, so that a pipe (stdin) can
 * be sniffed too. gzip (every member of a concatenated file) goes through
 * zlib's inflate, zstd (every frame) through ZSTD_decompressStream.
 */
#include "capture_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "error.h"

#define IN_SIZE (128u * 1024u)

struct CaptureFile {
        int fd;
        bool own_fd;
        CaptureFormat kind;
        uint8_t *in; /* raw bytes from the file, [in_pos, in_len) not used yet */
        size_t in_len, in_pos;
        bool eof;     /* read() returned 0 */
        bool ended;   /* the decompressor saw its last frame end at eof */
        bool started; /* z or zs was set up */
        uint64_t consumed, size;
        z_stream z;
        ZSTD_DStream *zs;
        size_t zs_last; /* ZSTD_decompressStream's last hint: 0 = at a frame boundary */
        char name[256];
        char error[448];
};

CaptureFormat capture_file_format(const uint8_t *p, size_t n)
{
        static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
        uint32_t be;

        if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return CAPTURE_FORMAT_GZIP;
        if (n >= 3 && memcmp(p, "BZh", 3) == 0)
                return CAPTURE_FORMAT_BZIP2;
        if (n >= 6 && memcmp(p, xz, sizeof(xz)) == 0)
                return CAPTURE_FORMAT_XZ;
        if (n < 4)
                return CAPTURE_FORMAT_UNKNOWN;
        be = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        switch (be) {
        case 0x28b52ffd:
                return CAPTURE_FORMAT_ZSTD;
        case 0x0a0d0d0a:
                return CAPTURE_FORMAT_PCAPNG;
        case 0xa1b2c3d4: /* µs, either byte order */
        case 0xd4c3b2a1:
        case 0xa1b23c4d: /* ns */
        case 0x4d3cb2a1:
                return CAPTURE_FORMAT_PCAP;
        default:
                return CAPTURE_FORMAT_UNKNOWN;
        }
}

static void cf_free(CaptureFile *cf)
{
        if (!cf)
                return;
        if (cf->own_fd && cf->fd >= 0)
                close(cf->fd);
        if (cf->started && cf->kind == CAPTURE_FORMAT_GZIP)
                inflateEnd(&cf->z);
        ZSTD_freeDStream(cf->zs);
        free(cf->in);
        free(cf);
}

/* More raw bytes into in[] when it is used up: 1, 0 at the end, -1 (errno). */
static int fill(CaptureFile *cf)
{
        ssize_t k;

        if (cf->in_pos < cf->in_len)
                return 1;
        if (cf->eof)
                return 0;
        k = read(cf->fd, cf->in, IN_SIZE);
        if (k < 0)
                return -1; /* EINTR included: a stop signal must end a read from stdin */
        cf->in_pos = 0;
        cf->in_len = (size_t)k;
        cf->consumed += (uint64_t)k;
        if (k == 0)
                cf->eof = true;
        return k > 0;
}

static ssize_t fail(CaptureFile *cf, const char *what)
{
        snprintf(cf->error, sizeof(cf->error), "%s: %s", cf->name, what);
        errno = EIO;
        return -1;
}

/* Uncompressed: the sniffed bytes first, then straight from the file into
 * stdio's buffer (no copy through in[]: a whole file's worth of memcpy). */
static ssize_t read_plain(CaptureFile *cf, char *buf, size_t size)
{
        size_t k;
        ssize_t r;

        if (cf->in_pos < cf->in_len) {
                k = cf->in_len - cf->in_pos < size ? cf->in_len - cf->in_pos : size;
                memcpy(buf, cf->in + cf->in_pos, k);
                cf->in_pos += k;
                return (ssize_t)k;
        }
        if (cf->eof)
                return 0;
        r = read(cf->fd, buf, size);
        if (r < 0)
                return -1; /* EINTR included: a stop signal must end a read from stdin */
        cf->consumed += (uint64_t)r;
        if (r == 0)
                cf->eof = true;
        return r;
}

static ssize_t read_gzip(CaptureFile *cf, char *buf, size_t size)
{
        cf->z.next_out = (Bytef *)buf;
        cf->z.avail_out = size > UINT32_MAX ? UINT32_MAX : (uInt)size;
        while (cf->z.avail_out > 0 && !cf->ended) {
                int r = fill(cf);

                if (r < 0)
                        return cf->z.avail_out == size ? -1 : (ssize_t)(size - cf->z.avail_out);
                if (r == 0) {
                        if (cf->z.avail_out == size)
                                return fail(cf, "the gzip data is truncated (it ends early)");
                        break;
                }
                cf->z.next_in = cf->in + cf->in_pos;
                cf->z.avail_in = (uInt)(cf->in_len - cf->in_pos);
                r = inflate(&cf->z, Z_NO_FLUSH);
                cf->in_pos = cf->in_len - cf->z.avail_in;
                if (r == Z_STREAM_END) {
                        /* Another gzip member may follow (cat a.gz b.gz). */
                        if (fill(cf) == 1)
                                inflateReset(&cf->z);
                        else
                                cf->ended = true;
                } else if (r != Z_OK && r != Z_BUF_ERROR)
                        return fail(cf, "damaged gzip data");
        }
        return (ssize_t)(size - cf->z.avail_out);
}

static ssize_t read_zstd(CaptureFile *cf, char *buf, size_t size)
{
        ZSTD_outBuffer out = {buf, size, 0};

        while (out.pos < out.size) {
                ZSTD_inBuffer in;
                int r = fill(cf);

                if (r < 0)
                        return out.pos ? (ssize_t)out.pos : -1;
                if (r == 0) {
                        if (cf->zs_last != 0 && out.pos == 0)
                                return fail(cf, "the zstd data is truncated (it ends early)");
                        break;
                }
                in = (ZSTD_inBuffer){cf->in, cf->in_len, cf->in_pos};
                cf->zs_last = ZSTD_decompressStream(cf->zs, &out, &in);
                cf->in_pos = in.pos;
                if (ZSTD_isError(cf->zs_last)) {
                        char what[160];

                        snprintf(what, sizeof(what), "damaged zstd data (%s)",
                                 ZSTD_getErrorName(cf->zs_last));
                        return fail(cf, what);
                }
        }
        return (ssize_t)out.pos;
}

static ssize_t cf_read(void *cookie, char *buf, size_t size)
{
        CaptureFile *cf = cookie;

        switch (cf->kind) {
        case CAPTURE_FORMAT_GZIP:
                return read_gzip(cf, buf, size);
        case CAPTURE_FORMAT_ZSTD:
                return read_zstd(cf, buf, size);
        default:
                return read_plain(cf, buf, size);
        }
}

static int cf_close(void *cookie)
{
        cf_free(cookie);
        return 0;
}

/* The first bytes (a short file or pipe may give fewer) into in[]. */
static int sniff(CaptureFile *cf)
{
        while (cf->in_len < 8 && !cf->eof) {
                ssize_t k = read(cf->fd, cf->in + cf->in_len, IN_SIZE - cf->in_len);

                if (k < 0)
                        return -errno;
                if (k == 0)
                        cf->eof = true;
                cf->in_len += (size_t)k;
                cf->consumed += (uint64_t)k;
        }
        return 0;
}

/* Refuse what cannot be read, with the fix; set up the decompressor. */
static int check_format(CaptureFile *cf, char *err, size_t n)
{
        const char *nm = cf->name;

        if (cf->in_len == 0)
                return error_set(err, n, -ENODATA,
                                 "%s: empty (0 bytes), not a capture: a pcap or pcapng file has "
                                 "at least a file header",
                                 nm);
        cf->kind = capture_file_format(cf->in, cf->in_len);
        switch (cf->kind) {
        case CAPTURE_FORMAT_GZIP:
                if (inflateInit2(&cf->z, 15 + 32) != Z_OK) /* +32: gzip or zlib header */
                        return error_set(err, n, -ENOMEM, "out of memory");
                cf->started = true;
                return 0;
        case CAPTURE_FORMAT_ZSTD:
                cf->zs = ZSTD_createDStream();
                if (!cf->zs || ZSTD_isError(ZSTD_initDStream(cf->zs)))
                        return error_set(err, n, -ENOMEM, "out of memory");
                return 0;
        case CAPTURE_FORMAT_BZIP2:
        case CAPTURE_FORMAT_XZ: {
                const char *tool = cf->kind == CAPTURE_FORMAT_XZ ? "xzcat" : "bzcat";

                return error_set(err, n, -EPROTONOSUPPORT,
                                 "%s: %s-compressed, which is not read directly (gzip and zstd "
                                 "are): use '%s %s | sipauthmon -r -'",
                                 nm, cf->kind == CAPTURE_FORMAT_XZ ? "xz" : "bzip2", tool, nm);
        }
        case CAPTURE_FORMAT_UNKNOWN:
                return error_set(err, n, -EINVAL,
                                 "%s: not a capture file (neither pcap nor pcapng, nor gzip or "
                                 "zstd compressed)",
                                 nm);
        default:
                return 0;
        }
}

/* Open the file and look at its first bytes. Returns 0, or a negative errno with err set. */
static int cf_start(CaptureFile *cf, const char *path, const char *name, char *err, size_t n)
{
        bool is_stdin = strcmp(path, "-") == 0;
        struct stat st;
        int r;

        snprintf(cf->name, sizeof(cf->name), "%s", name);
        cf->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        cf->own_fd = !is_stdin;
        if (cf->fd < 0)
                return error_set(err, n, -errno, "%s: %s", name, strerror(errno));
        if (fstat(cf->fd, &st) == 0 && S_ISDIR(st.st_mode))
                return error_set(err, n, -EISDIR, "%s: a directory with no capture files", name);
        if (S_ISREG(st.st_mode))
                cf->size = (uint64_t)st.st_size;
        r = sniff(cf);
        if (r < 0)
                return error_set(err, n, r, "%s: %s", name, strerror(-r));
        return check_format(cf, err, n);
}

int capture_file_open(FILE **f, const char *path, const char *name, CaptureFile **out, char *err,
                      size_t n)
{
        static const cookie_io_functions_t io = {.read = cf_read, .close = cf_close};
        CaptureFile *cf = calloc(1, sizeof(*cf));
        int r;

        if (!cf || !(cf->in = malloc(IN_SIZE))) {
                cf_free(cf);
                return error_set(err, n, -ENOMEM, "out of memory");
        }
        cf->fd = -1;
        r = cf_start(cf, path, name, err, n);
        if (r < 0) {
                cf_free(cf);
                return r;
        }
        *f = fopencookie(cf, "r", io);
        if (!*f) {
                cf_free(cf);
                return error_set(err, n, -ENOMEM, "out of memory");
        }
        if (out)
                *out = cf;
        return 0;
}

uint64_t capture_file_consumed(const CaptureFile *cf)
{
        return cf ? cf->consumed : 0;
}

uint64_t capture_file_size(const CaptureFile *cf)
{
        return cf ? cf->size : 0;
}

const char *capture_file_error(const CaptureFile *cf)
{
        return cf ? cf->error : "";
}

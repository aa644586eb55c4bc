/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_file.h"
#include "escape.h"
#include "log.h"

typedef struct {
        char *path;
        char name[256]; /* escaped, for messages */
        Capture *cap;
        CapturePacket head; /* the next packet of this file, when has_head */
        bool has_head;
        bool done; /* read to its end, empty or failed */
        bool keep; /* not to be closed after the first look (stdin, a pipe, few inputs) */
        int64_t first_ts;
        uint64_t size;      /* regular file: its size; 0 unknown */
        uint64_t read_done; /* bytes read when it was closed */
} Input;

struct Inputs {
        Input *v;
        size_t n, cap_n;
        size_t *pending; /* inputs not open yet, by first timestamp */
        size_t n_pending, next_pending;
        ssize_t cur; /* input of the packet last returned, -1 none */
        char *filter;
        volatile sig_atomic_t *stop;
        Progress *progress;
        unsigned failures;
        bool size_unknown;
};

static int add_input(Inputs *in, const char *path)
{
        Input *x;

        if (in->n == in->cap_n) {
                size_t c = in->cap_n ? 2 * in->cap_n : 8;
                Input *v = realloc(in->v, c * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                in->v = v;
                in->cap_n = c;
        }
        x = &in->v[in->n];
        *x = (Input){.path = strdup(path)};
        if (!x->path)
                return -ENOMEM;
        escape_text(strcmp(path, "-") == 0 ? "stdin" : path, x->name, sizeof(x->name));
        in->n++;
        return 0;
}

static void input_fail(Inputs *in, const char *msg)
{
        progress_clear(in->progress); /* the message on a line of its own */
        log_error("%s", msg);
        in->failures++;
}

static int skip_hidden(const struct dirent *d)
{
        return d->d_name[0] != '.';
}

/* A regular file whose first bytes are a capture's (or a compressed file's). */
static bool is_capture_file(const char *path)
{
        uint8_t b[8];
        struct stat st;
        ssize_t k;
        int fd;

        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true; /* let the open say why */
        k = read(fd, b, sizeof(b));
        close(fd);
        return k > 0 && capture_file_format(b, (size_t)k) != CAPTURE_FORMAT_UNKNOWN;
}

static int add_directory(Inputs *in, const char *dir, const char *name)
{
        struct dirent **list = NULL;
        size_t before = in->n;
        char msg[512];
        int k, r = 0;

        k = scandir(dir, &list, skip_hidden, alphasort);
        if (k < 0) {
                snprintf(msg, sizeof(msg), "%s: %s", name, strerror(errno));
                input_fail(in, msg);
                return 0;
        }
        for (int i = 0; i < k; i++) {
                size_t len = strlen(dir) + strlen(list[i]->d_name) + 2;
                char *p = r < 0 ? NULL : malloc(len);

                if (p) {
                        snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                                 list[i]->d_name);
                        if (is_capture_file(p))
                                r = add_input(in, p);
                        else
                                log_debug("%s: skipped, not a capture file", list[i]->d_name);
                } else
                        r = -ENOMEM;
                free(p);
                free(list[i]);
        }
        free(list);
        if (r < 0)
                return r;
        if (in->n == before) {
                snprintf(msg, sizeof(msg),
                         "%s: no capture files in this directory (its regular, non-hidden files "
                         "that are pcap or pcapng, plain or gzip/zstd compressed, are read)",
                         name);
                input_fail(in, msg);
        }
        return 0;
}

static int expand(Inputs *in, char *const *paths, size_t n)
{
        bool have_stdin = false;

        for (size_t i = 0; i < n; i++) {
                struct stat st;
                char name[256];
                int r;

                escape_text(paths[i], name, sizeof(name));
                if (strcmp(paths[i], "-") == 0) {
                        if (have_stdin) {
                                input_fail(in, "stdin ('-r -') can be read only once");
                                continue;
                        }
                        have_stdin = true;
                }
                if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
                        r = add_directory(in, paths[i], name);
                else
                        r = add_input(in, paths[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void input_close(Input *x)
{
        if (x->cap) {
                x->read_done = capture_bytes_read(x->cap);
                x->cap = capture_close(x->cap);
        }
        x->has_head = false;
}

/* Read x's next packet into its head; at the end or on failure it is done. */
static void input_advance(Inputs *in, Input *x)
{
        int r = capture_next(x->cap, &x->head, -1);

        if (r == CAPTURE_PACKET) {
                x->has_head = true;
                return;
        }
        if (r < 0 && !(in->stop && *in->stop))
                input_fail(in, capture_error(x->cap));
        x->done = true;
        input_close(x);
}

static bool input_open(Inputs *in, Input *x)
{
        char err[1024], lt[128];

        if (capture_open_file(&x->cap, x->path, in->filter, err, sizeof(err)) < 0) {
                input_fail(in, err);
                x->done = true;
                return false;
        }
        log_debug("reading %s, link type %s, filter: %s", x->name,
                  capture_linktype_describe(capture_linktype(x->cap), lt, sizeof(lt)),
                  capture_filter(x->cap) ? capture_filter(x->cap) : "(none)");
        x->size = capture_bytes_total(x->cap);
        input_advance(in, x);
        return x->has_head;
}

static int by_first_ts(const void *a, const void *b, void *userdata)
{
        const Inputs *in = userdata;
        const Input *x = &in->v[*(const size_t *)a], *y = &in->v[*(const size_t *)b];

        if (x->first_ts != y->first_ts)
                return x->first_ts < y->first_ts ? -1 : 1;
        return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The first look: each file's first timestamp; few inputs (or a pipe) stay open. */
static int first_look(Inputs *in)
{
        in->pending = calloc(in->n ? in->n : 1, sizeof(*in->pending));
        if (!in->pending)
                return -ENOMEM;
        for (size_t i = 0; i < in->n; i++) {
                Input *x = &in->v[i];

                if (!input_open(in, x))
                        continue; /* empty or failed: done with it */
                x->first_ts = x->head.ts_us;
                if (x->size == 0)
                        in->size_unknown = true;
                x->keep = x->size == 0 || in->n <= INPUTS_OPEN_MAX;
                if (!x->keep) {
                        input_close(x);
                        x->read_done = 0; /* read again from the start when its time comes */
                        in->pending[in->n_pending++] = i;
                }
        }
        qsort_r(in->pending, in->n_pending, sizeof(*in->pending), by_first_ts, in);
        return 0;
}

int inputs_open(Inputs **out, char *const *paths, size_t n, const char *filter,
                volatile sig_atomic_t *stop)
{
        Inputs *in = calloc(1, sizeof(*in));
        int r;

        if (!in)
                return -ENOMEM;
        in->cur = -1;
        in->stop = stop;
        if (filter && !(in->filter = strdup(filter))) {
                inputs_free(in);
                return -ENOMEM;
        }
        r = expand(in, paths, n);
        if (r >= 0)
                r = first_look(in);
        if (r < 0) {
                inputs_free(in);
                return r;
        }
        *out = in;
        return 0;
}

Inputs *inputs_free(Inputs *in)
{
        if (!in)
                return NULL;
        for (size_t i = 0; i < in->n; i++) {
                input_close(&in->v[i]);
                free(in->v[i].path);
        }
        free(in->v);
        free(in->pending);
        free(in->filter);
        free(in);
        return NULL;
}

/* The open input with the earliest head (ties: the earlier input), -1 none. */
static ssize_t earliest(const Inputs *in)
{
        ssize_t best = -1;

        for (size_t i = 0; i < in->n; i++) {
                const Input *x = &in->v[i];

                if (x->has_head && (best < 0 || x->head.ts_us < in->v[best].head.ts_us))
                        best = (ssize_t)i;
        }
        return best;
}

int inputs_next(Inputs *in, InputPacket *out)
{
        ssize_t best;

        if (in->cur >= 0) {
                input_advance(in, &in->v[in->cur]); /* the last packet is used up */
                in->cur = -1;
        }
        for (;;) {
                best = earliest(in);
                if (in->next_pending >= in->n_pending)
                        break;
                /* A file not open yet whose first packet comes no later: open it. */
                Input *x = &in->v[in->pending[in->next_pending]];

                if (best >= 0 && x->first_ts > in->v[best].head.ts_us)
                        break;
                in->next_pending++;
                input_open(in, x);
        }
        if (best < 0)
                return CAPTURE_END;
        in->cur = best;
        out->pkt = in->v[best].head;
        out->linktype = capture_linktype(in->v[best].cap);
        return CAPTURE_PACKET;
}

void inputs_progress(const Inputs *in, uint64_t *done, uint64_t *total)
{
        uint64_t d = 0, t = 0;

        for (size_t i = 0; i < in->n; i++) {
                const Input *x = &in->v[i];

                d += x->cap ? capture_bytes_read(x->cap) : x->read_done;
                t += x->size;
        }
        *done = d;
        *total = in->size_unknown ? 0 : t;
}

void inputs_set_progress(Inputs *in, Progress *p)
{
        in->progress = p;
}

bool inputs_failed(const Inputs *in)
{
        return in->failures > 0;
}

size_t inputs_count(const Inputs *in)
{
        return in->n;
}

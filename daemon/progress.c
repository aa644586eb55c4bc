/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct Progress {
        int fd;
        int64_t start_us;
        int64_t last_us;
        bool shown;
};

Progress *progress_new(int fd)
{
        Progress *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->fd = fd;
        p->start_us = -1;
        return p;
}

Progress *progress_free(Progress *p)
{
        if (!p)
                return NULL;
        progress_clear(p);
        free(p);
        return NULL;
}

bool progress_due(Progress *p, int64_t now_us)
{
        if (p->start_us < 0) {
                p->start_us = p->last_us = now_us; /* nothing to say at the very start */
                return false;
        }
        return now_us - p->last_us >= PROGRESS_INTERVAL_US;
}

static void write_all(int fd, const char *s, size_t len)
{
        while (len > 0) {
                ssize_t k = write(fd, s, len);

                if (k <= 0)
                        return; /* a display only: never worth a failure */
                s += k;
                len -= (size_t)k;
        }
}

static const char *human_bytes(uint64_t b, char *buf, size_t n)
{
        static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double)b;
        size_t u = 0;

        while (v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
                v /= 1024.0;
                u++;
        }
        if (u == 0)
                snprintf(buf, n, "%" PRIu64 " B", b);
        else
                snprintf(buf, n, "%.1f %s", v, unit[u]);
        return buf;
}

static void progress_format(const ProgressState *s, char *buf, size_t n)
{
        double secs = s->elapsed_us > 0 ? (double)s->elapsed_us / 1e6 : 0.0;
        uint64_t rate = secs > 0 ? (uint64_t)((double)s->packets / secs) : 0;
        char total[32];
        int k;

        if (s->bytes_total == 0) {
                snprintf(buf, n,
                         "%" PRIu64 " packets, %" PRIu64 " packets/s, %" PRIu64 " diagnoses",
                         s->packets, rate, s->diagnoses);
                return;
        }
        uint64_t done = s->bytes_done < s->bytes_total ? s->bytes_done : s->bytes_total;
        double frac = (double)done / (double)s->bytes_total;

        k = snprintf(buf, n, "%.1f%% of %s, %" PRIu64 " packets/s, %" PRIu64 " diagnoses",
                     100.0 * frac, human_bytes(s->bytes_total, total, sizeof(total)), rate,
                     s->diagnoses);
        if (k < 0 || (size_t)k >= n || done == 0 || secs <= 0)
                return;
        uint64_t eta = (uint64_t)(secs * (1.0 - frac) / frac + 0.5);

        snprintf(buf + k, n - (size_t)k, ", ETA %" PRIu64 ":%02" PRIu64 ":%02" PRIu64, eta / 3600,
                 eta / 60 % 60, eta % 60);
}

void progress_draw(Progress *p, ProgressState *s, int64_t now_us)
{
        char line[256];
        int k;

        s->elapsed_us = now_us - p->start_us;
        progress_format(s, line + 1, sizeof(line) - 8);
        line[0] = '\r';
        k = (int)strlen(line);
        memcpy(line + k, "\033[K", 3); /* erase what a longer line left */
        write_all(p->fd, line, (size_t)k + 3);
        p->last_us = now_us;
        p->shown = true;
}

void progress_clear(Progress *p)
{
        if (!p || !p->shown)
                return;
        write_all(p->fd, "\r\033[K", 4);
        p->shown = false;
}

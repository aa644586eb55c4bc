/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials_file.h"
#include "error.h"
#include "escape.h"
#include "secmem.h"

/* Read at most max bytes; *n is what was read. -EFBIG when more remain. */
static int read_all(int fd, char *buf, size_t max, size_t *n)
{
        size_t got = 0;
        char extra;

        while (got < max) {
                ssize_t r = read(fd, buf + got, max - got);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        break;
                got += (size_t)r;
        }
        *n = got;
        if (got == max) {
                /* The file grew after fstat(), or max was the size limit. */
                for (;;) {
                        ssize_t r = read(fd, &extra, 1);
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r < 0)
                                return -errno;
                        return r == 0 ? 0 : -EFBIG;
                }
        }
        return 0;
}

/*
 * credstore_parse()'s "line N: what" as "FILE:N: what", the form of every
 * configuration error (sipauthmon --check-config), so that an editor can
 * jump to it; any other message as "FILE: what".
 */
static void report_parse_error(char *err, size_t errlen, int r, const char *name, const char *perr)
{
        unsigned line = 0;
        int off = 0;

        if (sscanf(perr, "line %u: %n", &line, &off) == 1 && off > 0 && line > 0)
                error_set(err, errlen, r, "%s:%u: %s", name, line, perr + off);
        else
                error_set(err, errlen, r, "%s: %s", name, perr);
}

int credentials_file_load(const char *path, CredStore **out, char *err, size_t errlen)
{
        char name[256];
        char perr[CREDENTIALS_ERR_MAX];
        struct stat st;
        CredStore *store = NULL;
        char *buf = NULL;
        size_t size = 0, n = 0;
        int fd, r;

        if (err && errlen > 0)
                err[0] = '\0';
        if (!path || !out)
                return error_set(err, errlen, -EINVAL, "credentials: no file given");
        escape_text(path, name, sizeof name);

        /* O_NOFOLLOW: a link could point the daemon at a file whose mode
         * is not the one the operator checked. O_NONBLOCK: opening a FIFO
         * must not hang; it is refused below as not a regular file. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                if (r == -ELOOP)
                        return error_set(err, errlen, r,
                                         "%s: is a symbolic link; give the path of the file itself",
                                         name);
                return error_set(err, errlen, r, "%s: %s", name, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = error_set(err, errlen, -errno, "%s: %s", name, strerror(errno));
                goto out;
        }
        r = credstore_check_stat(&st, name, err, errlen);
        if (r < 0)
                goto out;
        if (st.st_size < 0 || (unsigned long long)st.st_size > CRED_MAX_BYTES) {
                r = error_set(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
                              CRED_MAX_BYTES);
                goto out;
        }
        size = (size_t)st.st_size;
        /* Out of core dumps, like the store's own copy (secmem.h). */
        buf = secmem_alloc(size + 1);
        if (!buf) {
                r = error_set(err, errlen, -ENOMEM, "%s: out of memory", name);
                goto out;
        }
        r = read_all(fd, buf, size, &n);
        if (r == -EFBIG) {
                error_set(err, errlen, r, "%s: changed while being read; try again", name);
                goto out;
        }
        if (r < 0) {
                error_set(err, errlen, r, "%s: %s", name, strerror(-r));
                goto out;
        }
        r = credstore_parse(buf, n, &store, perr, sizeof perr);
        if (r < 0) {
                report_parse_error(err, errlen, r, name, perr);
                goto out;
        }
        *out = store;
        r = 0;
out:
        secmem_free(buf, size + 1);
        close(fd);
        return r;
}

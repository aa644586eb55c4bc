/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "secmem.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

static size_t page_round(size_t n)
{
        long page = sysconf(_SC_PAGESIZE);
        size_t ps = page > 0 ? (size_t)page : 4096;

        if (n == 0)
                n = 1;
        if (n > SIZE_MAX - ps)
                return 0;
        return (n + ps - 1) / ps * ps;
}

void *secmem_alloc(size_t n)
{
        size_t len = page_round(n);
        void *p;

        if (len == 0) {
                errno = ENOMEM;
                return NULL;
        }
        /* Anonymous pages come zeroed. */
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        /* Fail closed: a secret that could land in a core dump is not kept. */
        if (madvise(p, len, MADV_DONTDUMP) < 0) {
                int e = errno;

                munmap(p, len);
                errno = e;
                return NULL;
        }
        return p;
}

void secmem_free(void *p, size_t n)
{
        size_t len = page_round(n);

        if (!p)
                return;
        OPENSSL_cleanse(p, len);
        munmap(p, len);
}

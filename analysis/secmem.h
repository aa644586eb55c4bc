/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Memory for secrets (the credentials file, issue 13): whole pages of their
 * own, marked MADV_DONTDUMP so that no core dump holds them, even one taken
 * by a debugger or with the dumpable flag set again, and wiped before they
 * are returned. A leftover copy in the heap (a freed malloc() block) is what
 * this avoids.
 */
#pragma once

#include <stddef.h>

/* n zeroed bytes (at least 1) on pages of their own; NULL with errno set. */
void *secmem_alloc(size_t n);

/* Wipe the n bytes given to secmem_alloc() and unmap them; NULL-tolerant. */
void secmem_free(void *p, size_t n);

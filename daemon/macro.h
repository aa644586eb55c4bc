/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scope-bound cleanup, as systemd writes it (src/fundamental/macro-fundamental.h,
 * cleanup-fundamental.h): a variable declared _cleanup_(f) has f(&var) run
 * when it goes out of scope, on every path. Destructors are NULL-tolerant and
 * return NULL (t = tracker_free(t)), so one macro makes the "p" helper of each:
 *
 *   DEFINE_TRIVIAL_CLEANUP_FUNC(Sink *, sink_free);
 *   _cleanup_(sink_freep) Sink *s = sink_new(...);
 *   ...
 *   return TAKE_PTR(s);   (ownership leaves: nothing is freed)
 */
#pragma once

#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/*
 * Defines funcp(type *p): *p = func(*p) when *p is not NULL. The struct
 * declaration at the end takes the semicolon after the macro (-Wpedantic
 * refuses an empty declaration), as in sd-bus.h.
 */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p)                                                        \
        {                                                                                          \
                if (*p)                                                                            \
                        *p = func(*p);                                                             \
        }                                                                                          \
        struct cleanup_func_trailing_semicolon

/* Hand the pointer on and leave NULL behind, so that the cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
        __extension__({                                                                            \
                __typeof__(p) _ptr_ = (p);                                                         \
                (p) = NULL;                                                                        \
                _ptr_;                                                                             \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

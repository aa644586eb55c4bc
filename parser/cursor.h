/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounds-checked read cursor over untrusted bytes. Every accessor fails
 * closed: on a short buffer it returns false and leaves the output and the
 * cursor untouched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
        const uint8_t *p;
        const uint8_t *end;
} Cursor;

static inline Cursor cur_make(const uint8_t *p, size_t n)
{
        return (Cursor){p, p + n};
}

static inline size_t cur_left(const Cursor *c)
{
        return (size_t)(c->end - c->p);
}

static inline bool cur_skip(Cursor *c, size_t n)
{
        if (cur_left(c) < n)
                return false;
        c->p += n;
        return true;
}

static inline bool cur_u8(Cursor *c, uint8_t *v)
{
        if (cur_left(c) < 1)
                return false;
        *v = c->p[0];
        c->p += 1;
        return true;
}

static inline bool cur_u16be(Cursor *c, uint16_t *v)
{
        if (cur_left(c) < 2)
                return false;
        *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
        c->p += 2;
        return true;
}

static inline bool cur_u16le(Cursor *c, uint16_t *v)
{
        if (cur_left(c) < 2)
                return false;
        *v = (uint16_t)((c->p[1] << 8) | c->p[0]);
        c->p += 2;
        return true;
}

static inline bool cur_u32be(Cursor *c, uint32_t *v)
{
        if (cur_left(c) < 4)
                return false;
        *v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) | ((uint32_t)c->p[2] << 8) |
             (uint32_t)c->p[3];
        c->p += 4;
        return true;
}

static inline bool cur_u32le(Cursor *c, uint32_t *v)
{
        if (cur_left(c) < 4)
                return false;
        *v = ((uint32_t)c->p[3] << 24) | ((uint32_t)c->p[2] << 16) | ((uint32_t)c->p[1] << 8) |
             (uint32_t)c->p[0];
        c->p += 4;
        return true;
}

/* Copy n bytes out; false (nothing copied) when short. */
static inline bool cur_bytes(Cursor *c, void *out, size_t n)
{
        if (cur_left(c) < n)
                return false;
        for (size_t i = 0; i < n; i++)
                ((uint8_t *)out)[i] = c->p[i];
        c->p += n;
        return true;
}

/* Restrict the cursor to at most n bytes from here (an inner header's declared length). */
static inline bool cur_clamp(Cursor *c, size_t n)
{
        if (cur_left(c) < n)
                return false;
        c->end = c->p + n;
        return true;
}

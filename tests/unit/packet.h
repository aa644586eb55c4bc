/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Packet builders of the unit tests, defined once: a byte buffer and the
 * big- and little-endian writers the frame, header and HEP builders of each
 * test are made of. A test sets PACKET_BUF_MAX before including this for a
 * smaller buffer (a Buf is often returned by value). Writes past the end are
 * dropped and counted in Buf.overflow, never out of bounds.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifndef PACKET_BUF_MAX
#define PACKET_BUF_MAX 70000
#endif

typedef struct {
        uint8_t b[PACKET_BUF_MAX];
        size_t n;
        size_t overflow;
} Buf;

static inline void put8(Buf *b, uint8_t v)
{
        if (b->n < sizeof b->b)
                b->b[b->n++] = v;
        else
                b->overflow++;
}

static inline void put16(Buf *b, uint16_t v)
{
        put8(b, (uint8_t)(v >> 8));
        put8(b, (uint8_t)v);
}

static inline void put16le(Buf *b, uint16_t v)
{
        put8(b, (uint8_t)v);
        put8(b, (uint8_t)(v >> 8));
}

static inline void put32(Buf *b, uint32_t v)
{
        put16(b, (uint16_t)(v >> 16));
        put16(b, (uint16_t)v);
}

static inline void put32le(Buf *b, uint32_t v)
{
        put16le(b, (uint16_t)v);
        put16le(b, (uint16_t)(v >> 16));
}

static inline void putn(Buf *b, const void *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                put8(b, ((const uint8_t *)p)[i]);
}

static inline void putfill(Buf *b, uint8_t v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                put8(b, v);
}

static inline void putbuf(Buf *b, const Buf *inner)
{
        putn(b, inner->b, inner->n);
}

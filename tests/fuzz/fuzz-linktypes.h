/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Link types the frame-level targets choose from with one input byte: every
 * type parser/decode.c handles, plus two it does not (the rejection path).
 * The seed generator (make_seeds.py) uses the same indices.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

static const int fuzz_linktypes[] = {
    1,   /* 0: Ethernet (802.1Q / 802.1ad inside) */
    113, /* 1: Linux SLL */
    276, /* 2: Linux SLL2 */
    101, /* 3: raw IP */
    0,   /* 4: BSD NULL */
    108, /* 5: OpenBSD LOOP */
    12,  /* 6: DLT_RAW (BSD) */
    14,  /* 7: DLT_RAW (OpenBSD) */
    228, /* 8: raw IPv4 */
    229, /* 9: raw IPv6 */
    127, /* 10: radiotap: not decoded */
    147, /* 11: user 0: not decoded */
};

#define FUZZ_N_LINKTYPES (sizeof fuzz_linktypes / sizeof fuzz_linktypes[0])

static inline int fuzz_linktype(uint8_t selector)
{
        return fuzz_linktypes[selector % FUZZ_N_LINKTYPES];
}

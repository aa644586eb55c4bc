/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's clock reads. The libraries never read a clock (time is an
 * input, STYLE.md): what they need of it comes from here, through the
 * daemon.
 */
#pragma once

#include <stdint.h>

/* clock_gettime() in µs; 0 when the clock cannot be read. */
int64_t daemon_clock_us(int clock_id);

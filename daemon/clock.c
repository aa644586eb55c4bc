/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "clock.h"

#include <time.h>

int64_t daemon_clock_us(int clock_id)
{
        struct timespec ts;

        if (clock_gettime((clockid_t)clock_id, &ts) < 0)
                return 0;
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

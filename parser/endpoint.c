/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

char *endpoint_format_addr(const Endpoint *e, char *buf, size_t n)
{
        if (n == 0)
                return buf;
        buf[0] = '\0';
        if (e->family == 4)
                inet_ntop(AF_INET, e->addr, buf, (socklen_t)n);
        else if (e->family == 6)
                inet_ntop(AF_INET6, e->addr, buf, (socklen_t)n);
        return buf;
}

char *endpoint_format(const Endpoint *e, char *buf, size_t n)
{
        char a[INET6_ADDRSTRLEN] = "";

        if (n == 0)
                return buf;
        endpoint_format_addr(e, a, sizeof a);
        if (e->family == 6)
                snprintf(buf, n, "[%s]:%u", a, e->port);
        else if (e->family == 4)
                snprintf(buf, n, "%s:%u", a, e->port);
        else
                buf[0] = '\0';
        return buf;
}

bool endpoint_addr_equal(const Endpoint *a, const Endpoint *b)
{
        return a->family == b->family && memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

bool endpoint_equal(const Endpoint *a, const Endpoint *b)
{
        return endpoint_addr_equal(a, b) && a->port == b->port;
}

bool endpoint_unmap_v4(Endpoint *e)
{
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

        if (e->family != 6 || memcmp(e->addr, mapped, sizeof mapped) != 0)
                return false;
        memmove(e->addr, e->addr + 12, 4);
        memset(e->addr + 4, 0, sizeof e->addr - 4);
        e->family = 4;
        return true;
}

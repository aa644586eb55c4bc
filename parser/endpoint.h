/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One side of a packet: an IPv4 or IPv6 address and a port. */
typedef struct {
        uint8_t family;   /* 4 or 6; 0 = unset */
        uint8_t addr[16]; /* IPv4 in the first 4 bytes, rest zero */
        uint16_t port;
} Endpoint;

/* Longest string endpoint_format() writes: "[v6]:65535" + NUL. */
#define ENDPOINT_STRLEN 56

/* "192.0.2.1:5060" or "[2001:db8::1]:5060"; returns buf. */
char *endpoint_format(const Endpoint *e, char *buf, size_t n);
/* Address only: "192.0.2.1" or "2001:db8::1". */
char *endpoint_format_addr(const Endpoint *e, char *buf, size_t n);
bool endpoint_equal(const Endpoint *a, const Endpoint *b);
bool endpoint_addr_equal(const Endpoint *a, const Endpoint *b);

/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) becomes the
 * IPv4 address it stands for, so that one host has one address whichever
 * socket family saw it. Returns true when e was changed.
 */
bool endpoint_unmap_v4(Endpoint *e);

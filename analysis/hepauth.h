/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Who may send HEP (DESIGN.md "Trusted inputs", sipauthmon(8) HEP
 * AUTHENTICATION). HEP names the addresses and the time of the SIP it
 * carries: whoever can send it can make any address look like an attacker.
 * So a HEP packet counts only when it comes from an agent that proves
 * itself, with
 *   - the shared key (hep_auth_key) in HEP3 chunk 14, compared in constant
 *     time, and/or
 *   - its real address (the listener socket's peer, or the source of the
 *     captured datagram) in an allow-list of addresses and prefixes
 *     (hep_allow).
 * With both set, both must hold. No I/O, no allocation: the configuration is
 * a value its users copy.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../parser/endpoint.h"

#define HEPAUTH_KEY_MAX   256 /* bytes of hep_auth_key */
#define HEPAUTH_ALLOW_MAX 64  /* entries of hep_allow */

/* One allow-list entry: an address and how many leading bits must match. */
typedef struct {
        uint8_t family; /* 4 or 6 */
        uint8_t bits;   /* 0-32 or 0-128 */
        uint8_t addr[16];
} HepPrefix;

typedef struct {
        uint8_t key[HEPAUTH_KEY_MAX];
        size_t key_len; /* 0: no key configured */
        HepPrefix allow[HEPAUTH_ALLOW_MAX];
        size_t n_allow; /* 0: no allow-list */
} HepAuthConfig;

/*
 * The key as configured: 1 to HEPAUTH_KEY_MAX printable ASCII characters
 * (spaces allowed inside). false (and c untouched) otherwise; the caller's
 * message must not repeat the value.
 */
bool hepauth_set_key(HepAuthConfig *c, const char *key);

/*
 * An allow-list: addresses or prefixes ("192.0.2.7", "10.0.0.0/8",
 * "2001:db8::/32", "::ffff:192.0.2.0/120" = "192.0.2.0/24"), separated by
 * commas and/or blanks, at most HEPAUTH_ALLOW_MAX. A prefix with bits set
 * past its length ("10.1.2.3/8") is refused as a likely typo. Replaces
 * c's list. Returns true, or false with a one-line message in err (c
 * untouched).
 */
bool hepauth_parse_allow(HepAuthConfig *c, const char *list, char *err, size_t errlen);

/* peer (an IPv4-mapped IPv6 address counts as IPv4) is in the allow-list.
 * false when there is no list. */
bool hepauth_allowed(const HepAuthConfig *c, const Endpoint *peer);

/*
 * The key a packet carried (NULL: none) is the configured one. Constant
 * time in the key's content (CRYPTO_memcmp); the length is not a secret.
 * One trailing NUL is ignored (C agents that send sizeof a string). false
 * when no key is configured.
 */
bool hepauth_key_ok(const HepAuthConfig *c, const uint8_t *key, size_t len);

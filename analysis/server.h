/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Server families, and where each keeps what a remedy has to name (the
 * secret, the realm, the nonce lifetime ...). No I/O.
 */
#pragma once

#include <stdbool.h>

typedef enum {
        SERVER_GENERIC = 0,
        SERVER_ASTERISK_PJSIP,
        SERVER_ASTERISK_CHAN_SIP,
        SERVER_ASTERISK, /* Asterisk, channel driver not told apart */
        SERVER_FREESWITCH,
        SERVER_KAMAILIO,
        SERVER_OPENSIPS,
} ServerFamily;

/* Server family from Server/User-Agent text and the challenge's shape. */
ServerFamily server_family_detect(const char *server_agent, bool pjsip_shape);
const char *server_family_name(ServerFamily f);
/* How a changed secret takes effect on that server ("asterisk -rx 'pjsip reload'" ...). */
const char *server_reload_hint(ServerFamily f);
/* Where the server keeps the account's secret. */
const char *server_secret_hint(ServerFamily f);
/* The server's realm setting. */
const char *server_realm_hint(ServerFamily f);
/* The server's nonce lifetime setting. */
const char *server_nonce_hint(ServerFamily f);
/* The server's digest algorithm setting. */
const char *server_algorithm_hint(ServerFamily f);
/* How the server blocks a source. */
const char *server_block_hint(ServerFamily f);
/* Where the server shows its registrations and calls. */
const char *server_activity_hint(ServerFamily f);

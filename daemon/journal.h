/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * journald as the daemon reaches it. With nobody listening on its socket,
 * sd_journal_sendv() returns 0 and drops the entry: whoever writes to the
 * journal (the journal sink, SIGUSR1's counters) asks here first.
 */
#pragma once

#include <stdbool.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* JOURNAL_SOCKET exists and is a socket. */
bool journal_socket_present(void);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the process keeps of its privileges (issue 13). The decisions rest on
 * what the process is, its uid and its capabilities, never on the
 * environment, which whoever starts it chooses (INVOCATION_ID is no proof of
 * running under systemd).
 *
 *   privileges_no_dump()  first thing in main(), every mode: no core dump,
 *                         no ptrace attach or /proc/PID/mem by other
 *                         processes of the same user. The process holds the
 *                         credentials file's secrets.
 *   privileges_drop()     once the capture is open and the HEP sockets are
 *                         bound: CAP_NET_RAW and CAP_NET_ADMIN leave every
 *                         set; started as root, the process goes on as the
 *                         configured user.
 */
#pragma once

#include <stddef.h>

/*
 * PR_SET_DUMPABLE 0. In AddressSanitizer builds an exit handler makes the
 * process dumpable again just before LeakSanitizer's own check, which
 * attaches to the process with ptrace. Returns 0 or a negative errno.
 */
int privileges_no_dump(void);

/*
 * Give up the capture capabilities, from the effective, permitted,
 * inheritable and ambient sets, and from the bounding set when the process
 * may (CAP_SETPCAP: root). Then, when the effective uid is 0 and user is not
 * "root": switch to user (NULL: OPTIONS_DEFAULT_USER, else
 * OPTIONS_FALLBACK_USER), its group and no supplementary groups, which takes
 * every other capability along. A process that is not root has no uid to
 * give up.
 *
 * Capabilities are per thread: call it before any thread exists. Returns 0,
 * or a negative errno with one line in err; the caller must not go on (fail
 * closed: running on privileged is never the fallback).
 */
int privileges_drop(const char *user, char *err, size_t n);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privileges: see privileges.h. Raw capget(2)/capset(2): libcap is not a
 * dependency, and two bit masks do not need it.
 *
 * How the process may be started, and what is given up:
 *
 *   systemd unit (DynamicUser=, AmbientCapabilities=CAP_NET_RAW)
 *       not root; CAP_NET_RAW effective, permitted and ambient: all three
 *       cleared (capset); the bounding set stays (no CAP_SETPCAP), which
 *       only limits what an execve() could gain, and NoNewPrivileges= is on.
 *   root by hand (or by any service manager)
 *       CAP_NET_RAW and CAP_NET_ADMIN leave the bounding set too, then the
 *       uid changes to --user, which clears every capability; --user root
 *       keeps root without those two.
 *   an unprivileged user
 *       nothing held, nothing to do.
 */
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "escape.h"
#include "log.h"
#include "options.h"

/* Needed only to open the capture socket (and, by some libpcap versions, to
 * set promiscuous mode through the interface flags). */
static const int capture_caps[] = {CAP_NET_RAW, CAP_NET_ADMIN};
#define N_CAPTURE_CAPS (sizeof(capture_caps) / sizeof(capture_caps[0]))

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

#ifdef SANITIZER_BUILD
/* LeakSanitizer runs its check from an exit handler registered before
 * main(), from a helper that attaches with ptrace, which a process that is
 * not dumpable refuses. Registered later, this handler runs first. */
static void dumpable_at_exit(void)
{
        (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}
#endif

int privileges_no_dump(void)
{
#ifdef SANITIZER_BUILD
        static bool registered;

        if (!registered && atexit(dumpable_at_exit) == 0)
                registered = true;
#endif
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -errno;
        return 0;
}

typedef struct {
        struct __user_cap_header_struct h;
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
} Caps;

static int caps_get(Caps *c)
{
        *c = (Caps){.h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0}};
        return syscall(SYS_capget, &c->h, c->d) < 0 ? -errno : 0;
}

static bool caps_hold(const Caps *c, int cap)
{
        const struct __user_cap_data_struct *d = &c->d[CAP_TO_INDEX(cap)];
        uint32_t m = CAP_TO_MASK(cap);

        return (d->effective | d->permitted | d->inheritable) & m;
}

static bool caps_hold_any(const Caps *c)
{
        for (size_t i = 0; i < N_CAPTURE_CAPS; i++)
                if (caps_hold(c, capture_caps[i]))
                        return true;
        return false;
}

static int drop_capture_caps(char *err, size_t n)
{
        Caps c;
        bool setpcap;
        int r;

        r = caps_get(&c);
        if (r < 0)
                return error_set(err, n, r, "cannot read the capabilities: %s", strerror(-r));
        setpcap = c.d[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP);
        for (size_t i = 0; i < N_CAPTURE_CAPS; i++) {
                int cap = capture_caps[i];

                if (setpcap && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
                    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                        return error_set(err, n, -errno,
                                         "cannot drop capability %d from the bounding set: %s", cap,
                                         strerror(errno));
                }
                /* EINVAL: a kernel without ambient capabilities (before 4.3). */
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0) < 0 && errno != EINVAL)
                        return error_set(err, n, -errno, "cannot drop ambient capability %d: %s",
                                         cap, strerror(errno));
        }
        if (!caps_hold_any(&c))
                return 0;
        for (size_t i = 0; i < N_CAPTURE_CAPS; i++) {
                struct __user_cap_data_struct *d = &c.d[CAP_TO_INDEX(capture_caps[i])];
                uint32_t m = CAP_TO_MASK(capture_caps[i]);

                d->effective &= ~m;
                d->permitted &= ~m;
                d->inheritable &= ~m;
        }
        if (syscall(SYS_capset, &c.h, c.d) < 0) {
                r = -errno;
                return error_set(err, n, r, "cannot give up CAP_NET_RAW: capset: %s%s",
                                 strerror(-r),
                                 r == -EPERM ? " (a system call filter must allow capset)" : "");
        }
        /* Make sure they are gone. */
        r = caps_get(&c);
        if (r < 0 || caps_hold_any(&c))
                return error_set(err, n, -EPERM, "cannot give up CAP_NET_RAW: still held");
        return 0;
}

static int switch_user(const char *user, char *err, size_t n)
{
        const char *name = user ? user : OPTIONS_DEFAULT_USER;
        struct passwd *pw;
        uid_t uid;
        gid_t gid;

        if (strcmp(name, "root") == 0)
                return 0;
        errno = 0;
        pw = getpwnam(name);
        if (!pw && !user)
                pw = getpwnam(OPTIONS_FALLBACK_USER);
        if (!pw) {
                char e[96];

                escape_text(name, e, sizeof(e));
                return error_set(err, n, -ESRCH, "cannot drop privileges: no user '%s'%s", e,
                                 user ? "" : " nor '" OPTIONS_FALLBACK_USER "'");
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        if (uid == 0)
                return 0; /* the user asked for is root by another name */
        if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                return error_set(err, n, -errno, "cannot drop privileges to uid %u: %s",
                                 (unsigned)uid, strerror(errno));
        /* Make sure there is no way back. */
        if (setuid(0) == 0 || geteuid() != uid || getegid() != gid)
                return error_set(err, n, -EPERM,
                                 "cannot drop privileges to uid %u: still privileged",
                                 (unsigned)uid);
        log_debug("running as uid %u gid %u", (unsigned)uid, (unsigned)gid);
        return 0;
}

int privileges_drop(const char *user, char *err, size_t n)
{
        int r;

        /* First, while root still has CAP_SETPCAP for the bounding set. */
        r = drop_capture_caps(err, n);
        if (r < 0)
                return r;
        if (geteuid() == 0) {
                r = switch_user(user, err, n);
                if (r < 0)
                        return r;
        }
        /* A change of uid resets "dumpable" to fs.suid_dumpable, which may be 1. */
        r = privileges_no_dump();
        if (r < 0)
                return error_set(err, n, r, "PR_SET_DUMPABLE: %s", strerror(-r));
        return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "journal.h"

#include <sys/stat.h>

bool journal_socket_present(void)
{
        struct stat st;

        return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

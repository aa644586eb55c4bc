/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Load the --credentials file (sipauthmon-credentials(5)) into a CredStore.
 * The file is opened without following a symbolic link, must be a regular
 * file that neither group nor others may access (credstore_check_stat()),
 * and at most CRED_MAX_BYTES long. Nothing here prints or exits.
 */
#pragma once

#include <stddef.h>

#include "credentials.h"
#include "macro.h"

#define CREDENTIALS_ERR_MAX 512

/*
 * Returns 0 and sets *out, or a negative errno with one line in err naming
 * the file (escaped) and, for a malformed line, its number, as
 * "FILE:LINE: what" (sipauthmon --check-config); *out is then untouched.
 * The read buffer (out of core dumps) is wiped before return.
 */
int credentials_file_load(const char *path, CredStore **out, char *err, size_t errlen);

DEFINE_TRIVIAL_CLEANUP_FUNC(CredStore *, credstore_free);

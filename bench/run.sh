#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# One command for every benchmark figure: see bench/README.md and run.py --help.
exec python3 "$(dirname "$0")/run.py" "$@"

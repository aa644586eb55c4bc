#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# One command for every benchmark figure: see bench/README.md and run.py --help.
# bench/run.sh --live-loss [live.py options]: highest lossless tcpreplay rate (live.py --help).
[ "$1" = "--live-loss" ] && { shift; exec python3 "$(dirname "$0")/live.py" "$@"; }
exec python3 "$(dirname "$0")/run.py" "$@"

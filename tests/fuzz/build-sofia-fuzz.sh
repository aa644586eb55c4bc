#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build an instrumented libsofia-sip-ua (coverage + ASan) from the Debian 12
# source package and a libFuzzer build of sipauthmon linked against it
# (recipe: ../shared/recipes/sofia-sip.md). The system library is not
# instrumented, so libFuzzer sees no edges inside the SIP parser and finds
# far less; with this build the parser's branches guide the mutations.
#
#   tests/fuzz/build-sofia-fuzz.sh [BUILDDIR]
#
# BUILDDIR defaults to build-fuzz-sofia next to the source tree. The source
# package and the built library are cached in $SOFIA_FUZZ_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/sipauthmon/sofia-fuzz) and reused; delete that
# directory to rebuild. Needs root only for the first apt-get of the build
# tools (clang, libclang-rt-14-dev, llvm, autoconf, automake, libtool,
# dpkg-dev). The deb-src list is private to the cache: the system's apt
# configuration is not changed.
#
# Then run, e.g.:
#   BUILDDIR/tests/fuzz/fuzz-sipmsg -max_total_time=600 CORPUSDIR tests/fuzz/corpus/fuzz-sipmsg
# (see tests/fuzz/README.md).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-fuzz-sofia}
CACHE=${SOFIA_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sipauthmon/sofia-fuzz}
PREFIX=$CACHE/prefix
jobs=$(nproc)

for tool in clang autoreconf libtoolize dpkg-source; do
        command -v "$tool" >/dev/null || {
                echo "$tool missing: apt-get install clang libclang-rt-14-dev llvm autoconf automake libtool dpkg-dev" >&2
                exit 1
        }
done

# Rebuilt when the flags below change (the stamp holds them).
NO_UBSAN=bounds,shift,alignment
FLAGS_STAMP="address,undefined,fuzzer-no-link -fno-sanitize=$NO_UBSAN"
if [ ! -f "$PREFIX/lib/libsofia-sip-ua.a" ] || [ "$(cat "$CACHE/flags" 2>/dev/null)" != "$FLAGS_STAMP" ]; then
        rm -rf "$PREFIX"
        mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial"
        # A private deb-src list: the same Debian 12 archive the system uses.
        cat >"$CACHE/apt/sources.list" <<'EOF'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
EOF
        apt_opts=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list"
                -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$CACHE/apt/lists"
                -o "Dir::Cache::Archives=$CACHE/apt/archives"
                -o "Debug::NoLocking=1"
                -o "APT::Sandbox::User=root")
        apt-get "${apt_opts[@]}" update -qq
        rm -rf "$CACHE/src"
        mkdir -p "$CACHE/src"
        # dpkg-source applies debian/patches (3.0 quilt) while unpacking.
        (cd "$CACHE/src" && apt-get "${apt_opts[@]}" source -qq sofia-sip)
        dir=$(find "$CACHE/src" -mindepth 1 -maxdepth 1 -type d -name 'sofia-sip-*' | head -1)
        [ -n "$dir" ] || {
                echo "apt-get source sofia-sip gave no source tree" >&2
                exit 1
        }
        (
                cd "$dir"
                autoreconf -fi >/dev/null 2>&1
                # Three UBSan checks are left out for sofia-sip's own idioms,
                # reported on nearly every message and benign on x86-64:
                #   bounds     su_alloc.c:338, sub_nodes[SUB_N] is a struct hack
                #   shift      url.c:361 IS_SYN33() shifts by (c - 33) for any
                #              character; msg_date.c:106 shifts negative values
                #   alignment  url.c:1051 URL_STRING_P() reads a char* as url_string_t
                # (tests/fuzz/README.md). Everything else, and all of ASan, stays.
                CC=clang CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=$NO_UBSAN" \
                        ./configure --quiet --prefix="$PREFIX" --disable-shared --enable-static \
                        --without-glib --without-openssl --disable-stun --disable-nth
                make -s -j "$jobs" -C libsofia-sip-ua >/dev/null
                make -s -C libsofia-sip-ua install >/dev/null
                make -s -C packages install >/dev/null
        )
        echo "$FLAGS_STAMP" >"$CACHE/flags"
        echo "instrumented sofia-sip installed in $PREFIX"
fi

# pkg-config finds the instrumented sofia-sip-ua.pc first; only the static
# archive exists there, so it is what the linker takes.
rm -rf "$BUILD"
CC=clang PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig \
        meson setup "$BUILD" "$SRC" -Dfuzz=true -Dbuildtype=debugoptimized -Db_lundef=false \
        >"$CACHE/meson-setup.log" 2>&1 || {
        cat "$CACHE/meson-setup.log" >&2
        exit 1
}
meson compile -C "$BUILD" -j "$jobs"
grep -q "$PREFIX" "$BUILD/build.ninja" || {
        echo "$BUILD does not link the instrumented sofia-sip" >&2
        exit 1
}
echo "libFuzzer targets linked against the instrumented sofia-sip: $BUILD/tests/fuzz/"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A TUNLAT_STATIC build needs only glibc's own libraries (issue 27): ldd lists nothing
# else, and the binary runs. Registered only in builds with -DTUNLAT_STATIC=ON.
set -euo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

deps=$(ldd "$TUNLAT") || fail "ldd $TUNLAT failed: $deps"
# glibc's: the vDSO, the dynamic loader, libc and the libraries glibc splits off.
foreign=$(awk '{ print $1 }' <<<"$deps" |
  grep -vE '^(linux-vdso\.so\.1|/lib(64)?/ld-linux[-a-z0-9_]*\.so\.[0-9]+|lib(c|m|dl|rt|pthread|resolv)\.so\.[0-9]+)$' || true)
[[ -z $foreign ]] || fail "$TUNLAT needs more than glibc: $(xargs <<<"$foreign")"
"$TUNLAT" --version | grep -qE '^tunlat [0-9]+\.[0-9]+\.[0-9]+' || fail "$TUNLAT --version: $("$TUNLAT" --version)"
echo "static: ldd lists $(wc -l <<<"$deps") entries, all glibc's: $(awk '{ print $1 }' <<<"$deps" | xargs)"

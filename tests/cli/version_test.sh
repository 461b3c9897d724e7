#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunlat --version names the version and the commit it was built from (issue 27):
# "tunlat 0.1.0+<12 hex>[.dirty]" then "commit <40 hex>[, with uncommitted changes]", the
# short id a prefix of the full one, a commit this checkout has. Not "the current HEAD":
# a binary built before the last commit is still right about its own commit. The JSON's
# tunlat_version is the same string (the kernel and package tests check it on live runs).
set -euo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${SOURCE_DIR:?SOURCE_DIR must point at the source tree}"
: "${PROJECT_VERSION:?PROJECT_VERSION must be the project version of CMakeLists.txt}"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$TUNLAT" --version)
[[ $(wc -l <<<"$out") -eq 2 ]] || fail "--version prints $(wc -l <<<"$out") lines, want 2: $out"
first=$(head -n1 <<<"$out")
second=$(tail -n1 <<<"$out")
v=${PROJECT_VERSION//./\\.}
if top=$(git -C "$SOURCE_DIR" rev-parse --show-toplevel 2>/dev/null) &&
  [[ $(realpath "$top") == $(realpath "$SOURCE_DIR") ]]; then
  [[ $first =~ ^tunlat\ $v\+([0-9a-f]{12})(\.dirty)?$ ]] || fail "first line '$first', want 'tunlat $PROJECT_VERSION+<12 hex>[.dirty]'"
  short=${BASH_REMATCH[1]} dirty=${BASH_REMATCH[2]}
  [[ $second =~ ^commit\ ([0-9a-f]{40})(,\ with\ uncommitted\ changes)?$ ]] || fail "second line '$second'"
  full=${BASH_REMATCH[1]} changes=${BASH_REMATCH[2]}
  [[ $full == "$short"* ]] || fail "$short is not the start of $full"
  [[ ${dirty:+yes} == "${changes:+yes}" ]] || fail "the two lines disagree on uncommitted changes: $out"
  git -C "$SOURCE_DIR" cat-file -e "$full^{commit}" 2>/dev/null || fail "$full is no commit of $SOURCE_DIR"
  echo "version: $first, commit $full of this checkout"
else
  [[ $first == "tunlat $PROJECT_VERSION" && $second == "commit unknown"* ]] ||
    fail "outside a git checkout, --version says: $out"
  echo "version: $first (no git checkout)"
fi

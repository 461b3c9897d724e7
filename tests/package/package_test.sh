#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package end to end (issue 27), from a fresh clone of the checkout's HEAD
# under /tmp: dpkg-buildpackage -us -uc -b, lintian without an error, dpkg -i, tunlat from
# PATH (--version names HEAD, the man page renders, the completion completes, a 1 s trace
# of lo), then dpkg -r leaves none of the files dpkg -L listed.
# It installs into the system and builds for minutes: opt-in, TUNLAT_PACKAGE_TEST=1 (or
# run it by hand). Skips (77) with the reason without root, the tools, or when a tunlat
# package is already installed (it would replace it).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
skip() { echo "SKIP: package: $*"; exit 77; }
fail() { echo "FAIL: package: $*" >&2; exit 1; }
log() { echo "package: $*"; }

[[ ${TUNLAT_PACKAGE_TEST:-0} == 1 ]] || skip "opt-in: TUNLAT_PACKAGE_TEST=1 (installs a package, builds for ~8 min)"
[[ $(id -u) -eq 0 ]] || skip "needs root (dpkg -i)"
for tool in git dpkg-buildpackage dh lintian man; do
  command -v $tool >/dev/null || skip "$tool missing (tools/setup.sh installs it)"
done
[[ -r /usr/share/bash-completion/bash_completion ]] || skip "bash-completion missing"
dpkg-query -W -f='${Status}' tunlat 2>/dev/null | grep -q 'install ok installed' &&
  skip "a tunlat package is installed already: dpkg -r tunlat first"

WORK=$(mktemp -d /tmp/tunlat-pkg.XXXXXX)
INSTALLED=0
cleanup() {
  if ((INSTALLED)); then dpkg -r tunlat >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

git clone -q "$ROOT" "$WORK/src"
head=$(git -C "$WORK/src" rev-parse HEAD)
log "building from a clone of ${head:0:12}"
(cd "$WORK/src" && dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1) ||
  fail "dpkg-buildpackage failed: $(tail -n 20 "$WORK/build.log")"
version=$(cd "$WORK/src" && dpkg-parsechangelog -S Version)
project=$(sed -nE 's/^project\(tunlat VERSION ([0-9.]+).*/\1/p' "$WORK/src/CMakeLists.txt")
[[ $version == "$project" ]] || fail "debian/changelog says $version, CMakeLists.txt $project"
deb=$WORK/tunlat_${version}_amd64.deb
[[ -f $deb ]] || fail "no $deb: $(ls "$WORK")"

lintian "$deb" >"$WORK/lintian" 2>&1 || true
grep -v '^running with root privileges' "$WORK/lintian" >"$WORK/tags" || true
grep -q '^E:' "$WORK/tags" && fail "lintian errors: $(grep '^E:' "$WORK/tags")"
log "lintian: $(grep -c '^E:' "$WORK/tags" || true) errors, $(grep -c '^W:' "$WORK/tags" || true) warnings"
sed 's/^/  /' "$WORK/tags"

dpkg -i "$deb" >"$WORK/install.log" 2>&1 || fail "dpkg -i failed: $(cat "$WORK/install.log")"
INSTALLED=1
dpkg -L tunlat >"$WORK/files"
[[ $(command -v tunlat) == /usr/bin/tunlat ]] || fail "tunlat from PATH is $(command -v tunlat)"
want="tunlat $project+${head:0:12}"
[[ $(tunlat --version | head -n1) == "$want" ]] || fail "tunlat --version: $(tunlat --version), want $want"
tunlat --version | grep -qx "commit $head" || fail "tunlat --version does not name commit $head"
man -w tunlat | grep -q '/usr/share/man/man8/tunlat.8' || fail "man -w tunlat: $(man -w tunlat 2>&1)"
MANWIDTH=80 man tunlat 2>/dev/null | grep -q 'tunlat trace --dev tap0' || fail "man tunlat lacks its examples"
got=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader tunlat
  COMP_WORDS=(tunlat trace --de); COMP_CWORD=2; COMP_LINE="tunlat trace --de"; COMP_POINT=${#COMP_LINE}
  _tunlat tunlat --de trace; echo "${COMPREPLY[*]}"')
[[ $got == --dev ]] || fail "installed completion: 'tunlat trace --de<TAB>' gives '$got'"
(cd "$WORK" && tunlat trace --dev lo -d 1 -q --json lo.json >/dev/null 2>&1) || fail "tunlat trace --dev lo -d 1 failed"
json_version=$(sed -nE 's/.*"tunlat_version": *"([^"]*)".*/\1/p' "$WORK/lo.json" | head -n1)
[[ $json_version == "$project+${head:0:12}" ]] ||
  fail "the JSON's tunlat_version is '$json_version', not $project+${head:0:12}"

dpkg -r tunlat >"$WORK/remove.log" 2>&1 || fail "dpkg -r failed: $(cat "$WORK/remove.log")"
INSTALLED=0
left=()
while read -r f; do
  [[ -e $f || -L $f ]] || continue
  # A directory another package owns stays, as it should (/usr/share/man/man8, ...).
  [[ -d $f ]] && dpkg -S "$f" >/dev/null 2>&1 && continue
  [[ $f == /. ]] && continue
  left+=("$f")
done <"$WORK/files"
((${#left[@]} == 0)) || fail "dpkg -r left ${left[*]}"
log "built, lintian clean of errors, installed $(wc -l <"$WORK/files") paths, traced, removed: none left"

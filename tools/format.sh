#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# format.sh - clang-format over the C++ and BPF sources, with the tree's two .clang-format
# files (C++: the root's; bpf/: kernel style, its own).
#
#   tools/format.sh           format every file in place
#   tools/format.sh --check   list the files whose formatting differs; exit 1 if any
#
# Files: userspace/ and tests/ (*.cpp, *.h), bench/*.cpp, bpf/ (*.c, *.h). The other C
# files (tools/, bench/*.c) keep their own style. Uses Debian 12's clang-format 14
# (tools/setup.sh installs it): another version formats differently, so --check skips
# (exit 77, the reason on stderr) rather than flag files that version 14 leaves alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

WANT_MAJOR=14
check=0
case "${1-}" in
  --check) check=1 ;;
  "") ;;
  -h | --help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "format.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

skip() {
  echo "format.sh: $1" >&2
  exit 77
}

CF=${CLANG_FORMAT:-}
if [[ -z $CF ]]; then
  for c in clang-format-$WANT_MAJOR clang-format; do
    if command -v "$c" >/dev/null; then CF=$c; break; fi
  done
fi
[[ -n $CF ]] || skip "clang-format not found (tools/setup.sh installs it)"
version=$("$CF" --version)
major=$(sed -n 's/.*clang-format version \([0-9]*\).*/\1/p' <<<"$version")
[[ $major == "$WANT_MAJOR" ]] \
  || skip "$CF is version ${major:-unknown}, not $WANT_MAJOR: its output differs (set CLANG_FORMAT)"

files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(
  {
    find userspace tests -type f \( -name '*.cpp' -o -name '*.h' \) -print0
    find bench -maxdepth 1 -type f -name '*.cpp' -print0
    find bpf -type f \( -name '*.c' -o -name '*.h' \) -print0
  } | sort -z)

if ((!check)); then
  "$CF" -i --style=file "${files[@]}"
  exit 0
fi

# One clang-format for all: --dry-run names every line it would change.
status=0
out=$("$CF" --dry-run --Werror --style=file "${files[@]}" 2>&1 >/dev/null) || status=$?
mapfile -t differ < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" \
  | sort -u)
if ((${#differ[@]})); then
  printf '%s\n' "${differ[@]}"
  echo "format.sh: ${#differ[@]} of ${#files[@]} files differ from $CF's formatting: run tools/format.sh" >&2
  exit 1
fi
if ((status)); then
  echo "format.sh: $CF failed:" >&2
  echo "$out" >&2
  exit 2
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Inside the qemu guest (tests/vm/run.sh): runs kernel tests, one result line each on the
# serial console and a last "tunlat-vm: done:" line the host parses.
# Usage: guest.sh [TEST...]  (names like tap_ring; default every tests/kernel/*_test.sh)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../kernel" && pwd)
echo "tunlat-vm: kernel $(uname -r), $(nproc) CPUs, up $(cut -d' ' -f1 /proc/uptime) s"
# The initramfs brings no interface up; tests that serve on loopback (the monitor's
# /metrics) need it, as on any host.
ip link set lo up

if (($#)); then
  tests=()
  for t in "$@"; do tests+=("$HERE/${t}_test.sh"); done
else
  tests=("$HERE"/*_test.sh)
fi

pass=0 fail=0 skip=0
for t in "${tests[@]}"; do
  name=$(basename "$t" _test.sh)
  start=$(cut -d' ' -f1 /proc/uptime)
  out=$(timeout -k 5 "${TUNLAT_VM_TEST_TIMEOUT:-400}" bash "$t" 2>&1)
  rc=$?
  secs=$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }')
  case $rc in
    0) pass=$((pass + 1)); verdict=PASS ;;
    77) skip=$((skip + 1)); verdict=SKIP ;;
    *) fail=$((fail + 1)); verdict=FAIL ;;
  esac
  # The test's own last line says what it measured, or why it failed or skipped.
  echo "tunlat-vm: $verdict $name (${secs} s, exit $rc): $(grep -E '^(PASS|FAIL|SKIP)' <<<"$out" | tail -n1)"
  if [[ $verdict == FAIL ]]; then sed 's/^/tunlat-vm:   | /' <<<"$out" | tail -n 40; fi
done
echo "tunlat-vm: done: pass=$pass fail=$fail skip=$skip kernel=$(uname -r)"

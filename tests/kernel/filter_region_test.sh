#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The compiled pcap filter against libpcap in the running kernel (the gtest
# filter_kernel_tests), for the qemu guests (tests/vm): the host runs it through ctest.
source "$(dirname "$0")/lib.sh"
require_bpf
BIN=${FILTER_KERNEL_TESTS:-$(dirname "$TUNLAT")/tests/filter_kernel_tests}
[[ -x $BIN ]] || skip "filter_kernel_tests is not built at $BIN"
"$BIN" >"$WORK/gtest.out" 2>&1 || fail "$(grep -m2 -A4 Failure "$WORK/gtest.out" | tr '\n' ' ')"
# Reading packets in place needs 6.17: before, that test alone skips and the copy's pass.
ok=$(grep -c '^\[       OK \]' "$WORK/gtest.out" || true)
((ok > 0)) || skip "$(grep -m1 -A1 Skipped "$WORK/gtest.out" | tr '\n' ' ')"
skipped=$(grep -m1 -A1 Skipped "$WORK/gtest.out" | tail -1 | tr '\n' ' ' || true)
pass "$ok filter tests: 42 expressions on tap and tun agree with libpcap${skipped:+ (skipped: $skipped)}"

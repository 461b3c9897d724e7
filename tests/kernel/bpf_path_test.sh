#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The BPF variant matches the kernel: views (tunlat_bpf) where bpf_rdonly_cast exists
# (6.2+), CO-RE probe reads (tunlat_bpf_compat) before; the compat programs trace the
# tap_ring workload as exactly as the fast ones.
source "$(dirname "$0")/lib.sh"
require_bpf

# Which variant the running kernel gets, from -v.
"$TUNLAT" trace -v --dev lo -d 0.2 -q >/dev/null 2>"$WORK/v.err" || fail "trace -v: $(cat "$WORK/v.err")"
chosen=$(grep -o 'BPF programs: [a-z_]*' "$WORK/v.err" | awk '{ print $3 }')
IFS=. read -r major minor _ <<<"$(uname -r)"
if ((major > 6 || (major == 6 && minor >= 2))); then want=tunlat_bpf; else want=tunlat_bpf_compat; fi
[[ $chosen == "$want" ]] || fail "kernel $(uname -r) got BPF programs '$chosen', want $want"
if [[ $want == tunlat_bpf_compat ]]; then
  grep -q "warning: kernel lacks the bpf_rdonly_cast kfunc (since Linux 6.2)" "$WORK/v.err" ||
    fail "no warning naming the missing kfunc: $(cat "$WORK/v.err")"
  pass "kernel $(uname -r) runs tunlat_bpf_compat (the other kernel tests run it here)"
  exit 0
fi
[[ $(grep -c warning "$WORK/v.err") -eq 0 ]] || fail "warnings on the fast path: $(cat "$WORK/v.err")"

# Pretend the kfunc is missing: the compat programs load and pass the tap_ring test.
TUNLAT_TEST_MISSING_BTF=bpf_rdonly_cast "$TUNLAT" trace -v --dev lo -d 0.2 -q >/dev/null 2>"$WORK/c.err" ||
  fail "compat trace: $(cat "$WORK/c.err")"
grep -q "BPF programs: tunlat_bpf_compat" "$WORK/c.err" || fail "compat not chosen: $(cat "$WORK/c.err")"
out=$(TUNLAT_TEST_MISSING_BTF=bpf_rdonly_cast bash "$(dirname "$0")/tap_ring_test.sh" 2>&1) ||
  fail "tap_ring on tunlat_bpf_compat: $out"
pass "kernel $(uname -r) runs tunlat_bpf; tunlat_bpf_compat forced: $(tail -n1 <<<"$out")"

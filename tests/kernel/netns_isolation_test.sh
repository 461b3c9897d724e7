#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two namespaces each own a tap99: tracing one never counts the other's packets, and the
# device object tunlat finds before the first packet is the one in the traced namespace.
source "$(dirname "$0")/lib.sh"
require_bpf

A=tlt-isoA-$$ B=tlt-isoB-$$
make_tap_ns "$A" tap99
make_tap_ns "$B" tap99
start_trace iso --netns "$A" --dev tap99 -d "$(dur 4)" -v --json "$WORK/iso.json"
ip netns exec "$B" ping -q -c 15 -i 0.02 -W 0.2 1.1.1.1 >/dev/null || true  # no replies: fine
ip netns exec "$A" ping -q -c 5 -i 0.02 -W 0.2 1.1.1.1 >/dev/null || true
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/iso.err")"
grep -q "found the device's net_device before its first packet" "$WORK/iso.err" ||
  fail "the device was not found before its first packet: $(grep '^tunlat' "$WORK/iso.err")"
# Exactly A's 5 echo requests: none of B's 15.
jq_eq "$WORK/iso.json" ".directions.tx.packets" 5
jq_eq "$WORK/iso.json" ".directions.tx.points.queue.count" 5
jq_eq "$WORK/iso.json" ".device.netns" "$A"
pass "only the traced namespace's tap99 counted"

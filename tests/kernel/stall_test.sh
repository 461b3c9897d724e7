#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A reader that stalls for seconds: the kernel keeps a packet's waiting times as 32-bit ns
# offsets (4.29 s), so a longer wait in the tun ring must still come out whole.
source "$(dirname "$0")/lib.sh"
require_bpf

SLEEP_US=4700000 NS=tlt-stall-$$
make_tap_ns "$NS" tap97 --sleep-us "$SLEEP_US" --reply
start_trace stall --netns "$NS" --dev tap97 -d "$(dur 7)" --json "$WORK/stall.json"
# One packet: the reader wakes, sleeps SLEEP_US, then reads it. No reply comes in time.
ip netns exec "$NS" ping -q -c 1 -W 1 1.1.1.1 >/dev/null || true
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/stall.err")"

J=$WORK/stall.json
jq_eq "$J" ".directions.tx.packets" 1
for point in queue xmit read; do jq_eq "$J" ".directions.tx.points.$point.count" 1; done
ring_max=$(jq '.directions.tx.spans.ring.max_us' "$J")
awk -v got="$ring_max" -v want="$SLEEP_US" 'BEGIN { exit !(got >= want * 0.95 && got <= want * 1.1) }' ||
  fail "ring wait ${ring_max} us, want ${SLEEP_US} us +-10%"
jq_eq "$J" ".directions.tx.dominant_span" ring
pass "a ${SLEEP_US} us stall in the tun ring measured as ${ring_max} us"

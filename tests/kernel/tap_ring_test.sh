#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# N packets through a tap whose reader sleeps a known time per packet: exact counts at
# queue/xmit/read, ring wait ~ the sleep, and the reader's replies counted in RX with its pid.
source "$(dirname "$0")/lib.sh"
require_bpf

N=20 SLEEP_US=20000 NS=tlt-ring-$$
make_tap_ns "$NS" tap99 --sleep-us "$SLEEP_US" --reply
start_trace ring --netns "$NS" --dev tap99 -d "$(dur 6)" --json "$WORK/ring.json"
# 100 ms apart, more than the reader's sleep: each packet waits about SLEEP_US in the ring.
ip netns exec "$NS" ping -q -c "$N" -i 0.1 -W 1 1.1.1.1 >/dev/null || fail "ping through tap99 failed"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/ring.err")"

J=$WORK/ring.json
for point in queue xmit read; do jq_eq "$J" ".directions.tx.points.$point.count" "$N"; done
jq_eq "$J" ".directions.tx.packets" "$N"
jq_eq "$J" ".directions.tx.dominant_span" ring
ring_p50=$(jq '.directions.tx.spans.ring.p50_us' "$J")
awk -v got="$ring_p50" -v want="$SLEEP_US" 'BEGIN { exit !(got >= want * 0.8 && got <= want * 1.2) }' ||
  fail "ring p50 ${ring_p50} us, want ${SLEEP_US} us +-20%"

reader=$(cat "$WORK/$NS.pid")
jq_eq "$J" ".owners[0].pid" "$reader"
jq_eq "$J" ".directions.tx.processes[0].pid" "$reader"
jq_eq "$J" ".directions.rx.packets" "$N"
jq_eq "$J" ".directions.rx.processes[0].pid" "$reader"
jq_eq "$J" ".directions.rx.processes[0].role" writer
jq_eq "$J" ".events.lost" 0
pass "ring p50 ${ring_p50} us for a ${SLEEP_US} us reader sleep; $N packets each way"

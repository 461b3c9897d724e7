#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A tracer that falls behind loses nothing: while tunlat is stopped, a ping flood fills
# the kernel's small rings and the rest spills into the big ones. Exact counts after.
source "$(dirname "$0")/lib.sh"
require_bpf

N=8000 NS=tlt-spill-$$
make_tap_ns "$NS" tap99 --reply
start_trace spill --netns "$NS" --dev tap99 -v -d 8 --json "$WORK/spill.json"
kill -STOP "$TRACE_PID"
# ~4 records per ping (request: xmit, read+free; reply: receive, delivery) on 2 CPUs:
# more than a CPU's main and nested rings (4096 records each) hold.
ip netns exec "$NS" ping -q -f -c "$N" -W 1 1.1.1.1 >/dev/null || { kill -CONT "$TRACE_PID"; fail "ping flood through tap99 failed"; }
kill -CONT "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(tail -5 "$WORK/spill.err")"

J=$WORK/spill.json
jq_eq "$J" ".events.lost" 0
spilled=$(sed -n 's/^tunlat: \([0-9]*\) records spilled.*/\1/p' "$WORK/spill.err")
[[ -n $spilled ]] || fail "no spill count in tunlat -v's output"
((spilled > 0)) || fail "no record spilled: the test did not fill a main ring"
for dir in tx rx; do jq_eq "$J" ".directions.$dir.packets" "$N"; done
jq_eq "$J" ".directions.tx.points.read.count" "$N"
pass "$spilled records spilled while tunlat was stopped; $N packets each way, none lost"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --sample N follows 1 packet in N (per CPU and direction) and says so in JSON and text.
source "$(dirname "$0")/lib.sh"
require_bpf

N=40 NS=tlt-smp-$$
make_tap_ns "$NS" tap99 --reply
start_trace smp --netns "$NS" --dev tap99 -d "$(dur 3)" --sample 4 --json "$WORK/smp.json"
ip netns exec "$NS" ping -q -c "$N" -i 0.01 1.1.1.1 >/dev/null || fail "ping failed"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/smp.err")"
jq_eq "$WORK/smp.json" .sample 4
# 1 in 4 per CPU: 10 packets, one more per CPU the sender ran on.
for dir in tx rx; do
  n=$(jq ".directions.$dir.packets" "$WORK/smp.json")
  ((n >= N / 4 && n <= N / 4 + $(nproc))) || fail "$dir: $n packets followed, want about $((N / 4))"
done
grep -q "sampled: 1 packet in 4 followed" "$WORK/smp.out" || fail "the report does not say it sampled"
pass "--sample 4 followed $(jq .directions.tx.packets "$WORK/smp.json") of $N packets"

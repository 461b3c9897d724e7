#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --sample N follows 1 packet in N (per CPU and direction) and says so in JSON and text.
source "$(dirname "$0")/lib.sh"
require_bpf

N=40 NS=tlt-smp-$$
make_tap_ns "$NS" tap99 --reply
start_trace smp --netns "$NS" --dev tap99 -d "$(dur 3)" --sample 4 --json "$WORK/smp.json" -v
dev_packets() {
  ip netns exec "$NS" sh -c 'cd /sys/class/net/tap99/statistics && echo $(($(cat tx_packets) + $(cat rx_packets)))'
}
before=$(dev_packets)
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
# The kernel counts the packets it passed over: with those it followed, every packet the
# device's own counters saw (a packet at either end of the trace may fall outside it).
over=$(sed -n 's/^tunlat: \([0-9]*\) packets passed over by --sample$/\1/p' "$WORK/smp.err")
[[ -n $over ]] || fail "-v gives no count of the packets passed over: $(cat "$WORK/smp.err")"
seen=$((over + $(jq '.directions.tx.packets + .directions.rx.packets' "$WORK/smp.json")))
dev=$(($(dev_packets) - before))
((seen >= dev - 2 && seen <= dev + 2)) || fail "passed over $over + followed = $seen, the device counted $dev"
pass "--sample 4 followed $(jq .directions.tx.packets "$WORK/smp.json") of $N TX packets; $over passed over, $seen in all (the device counted $dev)"

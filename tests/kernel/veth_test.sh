#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 31: a veth is traced with the spans it has. 500 pings from namespace A to B over a
# veth pair, traced on A's end: every TX packet reaches the `peer` span (xmit -> B's end
# receives the same skb), which is above zero and below the ping's RTT; RX counts B's
# replies; no finding speaks of a ring or of a stall (nothing reads a veth).
source "$(dirname "$0")/lib.sh"
require_bpf

A=tlva-$$ B=tlvb-$$ N=500
quiet_ns "$A" "$B"
ip link add tlvx-$$ netns "$A" type veth peer name tlvy-$$ netns "$B"
ip -n "$A" link set tlvx-$$ name ve0
ip -n "$B" link set tlvy-$$ name ve0
ip -n "$A" addr add 10.203.0.1/24 dev ve0
ip -n "$B" addr add 10.203.0.2/24 dev ve0
ip -n "$A" link set ve0 up
ip -n "$B" link set ve0 up
ip netns exec "$A" ping -q -c 1 -W 2 10.203.0.2 >/dev/null || fail "no ping over the veth"  # ARP, outside the trace

start_trace veth --netns "$A" --dev ve0 -d "$(dur 30)" --json "$WORK/veth.json"
grep -q "ve0 is a veth" "$WORK/veth.err" || fail "no note of the device's model: $(cat "$WORK/veth.err")"
ip netns exec "$A" ping -q -c "$N" -i 0.005 -W 2 10.203.0.2 >"$WORK/ping.out" 2>&1 || fail "ping: $(cat "$WORK/ping.out")"
sleep 0.5
kill -INT "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/veth.err")"

J=$WORK/veth.json
jq_eq "$J" ".device.kind" veth
jq_eq "$J" ".directions.tx.packets" "$N"
jq_eq "$J" ".directions.tx.spans.peer.count" "$N"
jq_eq "$J" ".directions.rx.packets" "$N"
p50=$(jq '.directions.tx.spans.peer.p50_us' "$J")
rtt_us=$(awk -F'[/ ]+' '/^rtt/ { print $8 * 1000 }' "$WORK/ping.out")
awk -v p="$p50" -v r="$rtt_us" 'BEGIN { exit !(p > 0 && p < r) }' || fail "peer p50 $p50 us, ping RTT avg $rtt_us us"
jq_eq "$J" ".stalls | length" 0
! jq -r '.verdicts[]' "$J" | grep -qi "ring" || fail "a finding claims a ring: $(jq -r '.verdicts[]' "$J")"
pass "TX $N packets, each through peer (p50 ${p50} us, ping RTT ${rtt_us} us); RX $N replies"

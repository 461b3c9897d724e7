#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 31: a macvtap (a VM's NIC) traced like a tap. A macvtap on one end of a veth pair,
# read by tapreader as a VM reads it (/dev/tapN); pings from the namespace on the other end.
# TX is what the VM reads (arrival at the lower device -> the macvtap's queue -> the read),
# RX what it writes (-> the lower device's queue). Checked against the device's own
# counters, ping's, and the reader process:
# 1. N pings: TX N = the macvtap's rx_packets, each with a `ring` span above zero and below
#    the ping's RTT, read by the VM's process (also found as the device's owner); RX N
#    replies = its tx_packets; no `no_queue` note (its TX starts at xmit by design).
# 2. A filter that takes echo requests only: TX N, RX none (both filter sites run).
# 3. A burst faster than a slow VM reads into a 16-packet queue: tunlat's TX drops equal
#    the device's rx_dropped, as FULL_RING, and the finding names the macvtap's queue.
source "$(dirname "$0")/lib.sh"
require_bpf

A=tlma-$$ B=tlmb-$$ N=400
quiet_ns "$A" "$B"
ip link add tlmx-$$ netns "$A" type veth peer name tlmy-$$ netns "$B"
ip -n "$A" link set dev tlmx-$$ name low0
ip -n "$B" link set dev tlmy-$$ name ve0
ip -n "$A" link add link low0 name mvt0 type macvtap mode bridge || skip "no macvtap in this kernel"
ip -n "$A" link set dev low0 up
ip -n "$B" addr add 10.204.0.1/24 dev ve0
ip -n "$B" link set dev ve0 up
MAC=$(ip netns exec "$A" cat /sys/class/net/mvt0/address)
IDX=$(ip netns exec "$A" cat /sys/class/net/mvt0/ifindex)
ip -n "$B" neigh replace 10.204.0.2 lladdr "$MAC" dev ve0 nud permanent

# The VM's end: the macvtap's character device (no udev here to make /dev/tapN).
vm() {  # vm NAME [tapreader args]: a reader of the macvtap's queue, as a VM's NIC is read
  local name=$1 devno
  shift
  devno=$(ip netns exec "$A" cat "/sys/class/net/mvt0/macvtap/tap$IDX/dev")
  [[ -c $WORK/tap ]] || mknod "$WORK/tap" c "${devno%%:*}" "${devno##*:}"
  ip netns exec "$A" "$TAPREADER" --macvtap "$WORK/tap" --comm "$name" --ready-file "$WORK/$name.pid" "$@" &
  VM_PID=$!
  BG+=("$VM_PID")
  for _ in $(seq 50); do [[ -s $WORK/$name.pid ]] && return 0; sleep 0.1; done
  fail "tapreader did not open the macvtap"
}
counter() { ip -n "$A" -s -j link show dev mvt0 | jq ".[0].stats64.$1"; }

vm guestvm --reply
ip -n "$A" link set dev mvt0 up
ip netns exec "$B" ping -q -c 1 -W 2 10.204.0.2 >/dev/null || fail "no ping through the macvtap"

# 1. Pings.
rx0=$(counter rx.packets) tx0=$(counter tx.packets)
start_trace mvt --netns "$A" --dev mvt0 -d "$(dur 30)" --json "$WORK/mvt.json"
grep -q "mvt0 is a macvtap" "$WORK/mvt.err" || fail "no note of the device's model: $(cat "$WORK/mvt.err")"
ip netns exec "$B" ping -q -c "$N" -i 0.005 -W 2 10.204.0.2 >"$WORK/ping.out" 2>&1 || fail "ping: $(cat "$WORK/ping.out")"
sleep 0.5
kill -INT "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/mvt.err")"
to_vm=$(($(counter rx.packets) - rx0)) from_vm=$(($(counter tx.packets) - tx0))
[[ $to_vm -eq $N && $from_vm -eq $N ]] || fail "the lab is not quiet: $to_vm packets to the VM, $from_vm from it"

J=$WORK/mvt.json
jq_eq "$J" ".device.kind" macvtap
jq_eq "$J" ".directions.tx.packets" "$to_vm"
jq_eq "$J" ".directions.tx.spans.ring.count" "$to_vm"
jq_eq "$J" ".directions.tx.spans.qdisc.count" 0
jq_eq "$J" ".directions.rx.packets" "$from_vm"
jq_eq "$J" ".directions.rx.spans.total.count" "$from_vm"
jq_eq "$J" ".directions.tx.notes.no_queue // 0" 0
jq_eq "$J" '[.directions.tx.processes[] | select(.role == "reader") | .comm] | join(",")' guestvm
jq_eq "$J" '[.owners[].pid] | join(",")' "$VM_PID"
p50=$(jq '.directions.tx.spans.ring.p50_us' "$J")
rtt_us=$(awk -F'[/ ]+' '/^rtt/ { print $8 * 1000 }' "$WORK/ping.out")
awk -v p="$p50" -v r="$rtt_us" 'BEGIN { exit !(p > 0 && p < r) }' || fail "ring p50 $p50 us, ping RTT avg $rtt_us us"
grep -q "TX (lower device -> mvt0 -> VM)" "$WORK/mvt.out" || fail "text report: $(head -20 "$WORK/mvt.out")"

# 2. Echo requests only.
start_trace filt --netns "$A" --dev mvt0 -d "$(dur 30)" --json "$WORK/filt.json" \
  --filter "icmp[icmptype] == icmp-echo"
ip netns exec "$B" ping -q -c 50 -i 0.005 -W 2 10.204.0.2 >/dev/null 2>&1 || fail "ping under the filter"
sleep 0.5
kill -INT "$TRACE_PID"
wait_trace
jq_eq "$WORK/filt.json" ".directions.tx.packets" 50
jq_eq "$WORK/filt.json" ".directions.rx.packets" 0
kill "$VM_PID"
wait "$VM_PID" 2>/dev/null || true

# 3. A slow VM behind a short queue (its length is the txqueuelen when the queue opens).
ip -n "$A" link set dev mvt0 txqueuelen 16
vm slowvm --sleep-us 2000
drop0=$(counter rx.dropped)
start_trace full --netns "$A" --dev mvt0 -d "$(dur 30)" --json "$WORK/full.json"
ip netns exec "$B" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2000): s.sendto(b'x' * 64, ('10.204.0.2', 9))"
sleep 1
kill -INT "$TRACE_PID"
wait_trace
dropped=$(($(counter rx.dropped) - drop0))
[[ $dropped -gt 100 ]] || fail "the burst dropped only $dropped packets: no test of drops"
jq_eq "$WORK/full.json" '[.drops[] | select(.direction == "tx") | .count] | add' "$dropped"
jq_eq "$WORK/full.json" '[.drops[] | select(.direction == "tx") | .reason] | unique | join(",")' FULL_RING
jq -r '.verdicts[]' "$WORK/full.json" | grep -q "the macvtap's queue was full" ||
  fail "no finding names the full queue: $(jq -r '.verdicts[]' "$WORK/full.json")"
pass "TX $N (= the device's), ring p50 ${p50} us < RTT ${rtt_us} us, read by guestvm; RX $N; filter 50/0; drops $dropped = rx_dropped"

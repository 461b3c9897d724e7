#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 31: kernel WireGuard (wg0 in two namespaces joined by a veth), traced on side A's
# wg0 during `ping -f -c 2000` and an iperf3 UDP run. Checked against the device's own
# counter and the ping's RTT: TX packets equal wg0's tx_packets within 1 %; the `vpn` span
# (xmit -> the same skb queued on the underlay veth) covers at least 95 % of them, with a
# p50 above zero and below the ping's RTT; the kernel workers that sent them are named
# (the wg-crypt-wg0 workqueue); no finding speaks of a ring. RX (the ping's replies):
# packets equal wg0's rx_packets within 1 %, and `vpn` (the underlay's receive -> wg0's, the
# decryption of the same skb) covers at least 95 % of them, above zero and below the RTT. Then iperf3 TCP: with GSO on
# (wg0 segments TCP's super-packets itself, unseen) a warning says the figures cover part
# of the traffic; with `ethtool -K wg0 tso off gso off` every packet is counted and followed. The
# host's kernel has no WireGuard: Debian's 6.12 and 6.1 guests run this (tests/vm).
source "$(dirname "$0")/lib.sh"
require_bpf
for t in wg iperf3 ethtool; do command -v "$t" >/dev/null || skip "$t missing (tools/setup.sh installs it)"; done

A=tlwa-$$ B=tlwb-$$
quiet_ns "$A" "$B"
ip -n "$A" link add wg0 type wireguard 2>/dev/null ||
  skip "no kernel WireGuard in $(uname -r) (Debian's 6.1 and 6.12 guests have it: tests/vm)"
ip -n "$B" link add wg0 type wireguard
ip link add tlwva-$$ netns "$A" type veth peer name tlwvb-$$ netns "$B"
ip -n "$A" link set tlwva-$$ name ul0
ip -n "$B" link set tlwvb-$$ name ul0
ip -n "$A" addr add 10.201.0.1/24 dev ul0
ip -n "$B" addr add 10.201.0.2/24 dev ul0
for ns in "$A" "$B"; do
  ip -n "$ns" link set ul0 up
  wg genkey >"$WORK/$ns.key"
  wg pubkey <"$WORK/$ns.key" >"$WORK/$ns.pub"
done
ip netns exec "$A" wg set wg0 listen-port 51820 private-key "$WORK/$A.key" \
  peer "$(cat "$WORK/$B.pub")" allowed-ips 10.202.0.2/32 endpoint 10.201.0.2:51820
ip netns exec "$B" wg set wg0 listen-port 51820 private-key "$WORK/$B.key" \
  peer "$(cat "$WORK/$A.pub")" allowed-ips 10.202.0.1/32 endpoint 10.201.0.1:51820
ip -n "$A" addr add 10.202.0.1/24 dev wg0
ip -n "$B" addr add 10.202.0.2/24 dev wg0
ip -n "$A" link set wg0 up
ip -n "$B" link set wg0 up
# The handshake first, outside the trace: its packets are WireGuard's own.
ip netns exec "$A" ping -q -c 3 -i 0.2 -W 2 10.202.0.2 >/dev/null || fail "no ping through the tunnel"

tx_packets() { ip -n "$A" -s -j link show wg0 | jq '.[0].stats64.tx.packets'; }
rx_packets() { ip -n "$A" -s -j link show wg0 | jq '.[0].stats64.rx.packets'; }
start_trace wg --netns "$A" --dev wg0 -d "$(dur 60)" --json "$WORK/wg.json"
grep -q "kernel VPN device (wireguard)" "$WORK/wg.err" || fail "no note of the device's model: $(cat "$WORK/wg.err")"
before=$(tx_packets) rx_before=$(rx_packets)
ip netns exec "$A" ping -q -f -c 2000 -W 2 10.202.0.2 >"$WORK/ping.out" 2>&1 || fail "ping -f: $(cat "$WORK/ping.out")"
ip netns exec "$B" iperf3 -s -1 -p 5301 >/dev/null 2>&1 &
BG+=($!)
sleep "$(dur 0.5)"
ip netns exec "$A" iperf3 -c 10.202.0.2 -p 5301 -u -b 20M -l 1000 -t 3 >"$WORK/iperf.out" 2>&1 ||
  fail "iperf3: $(tail -3 "$WORK/iperf.out")"
sleep 1
sent=$(($(tx_packets) - before)) received=$(($(rx_packets) - rx_before))
kill -INT "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/wg.err")"

J=$WORK/wg.json
jq_eq "$J" ".device.kind" wireguard
got=$(jq '.directions.tx.packets' "$J")
awk -v g="$got" -v w="$sent" 'BEGIN { exit !(w > 2000 && g >= w * 0.99 && g <= w * 1.01) }' ||
  fail "TX packets $got, wg0's own counter $sent (within 1 %)"
vpn=$(jq '.directions.tx.spans.vpn.count' "$J")
awk -v v="$vpn" -v g="$got" 'BEGIN { exit !(v >= g * 0.95) }' || fail "vpn span covers $vpn of $got packets (95 %)"
p50=$(jq '.directions.tx.spans.vpn.p50_us' "$J")
rtt_us=$(awk -F'[/ ]+' '/^rtt/ { print $8 * 1000 }' "$WORK/ping.out")
awk -v p="$p50" -v r="$rtt_us" 'BEGIN { exit !(p > 0 && p < r) }' || fail "vpn p50 $p50 us, ping RTT avg $rtt_us us"
jq -e '.directions.tx.spans | has("ring") | not' "$J" >/dev/null || fail "a WireGuard device has a ring span"
workers=$(jq -r '[.directions.tx.processes[] | select(.role == "reader") | .workqueue // empty] | unique | join(",")' "$J")
[[ $workers == wg-crypt-wg0 ]] || fail "the workers that sent wg0's packets are not named: $(jq -c '.directions.tx.processes' "$J")"
# Independently: they are kernel workers, and the kernel says of one at least that it ran
# wg-crypt-wg0 last (a worker runs other workqueues' items too).
jq -e '[.directions.tx.processes[] | select(.role == "reader") | .comm | startswith("kworker/")] | all' "$J" >/dev/null ||
  fail "a reader of wg0 that is no kernel worker: $(jq -c '.directions.tx.processes' "$J")"
seen=0
for pid in $(jq -r '.directions.tx.processes[] | select(.role == "reader") | .pid' "$J"); do
  grep -q "wg-crypt-wg0" "/proc/$pid/comm" 2>/dev/null && seen=1
done
((seen)) || fail "no reader of wg0 ran wg-crypt-wg0 last, says /proc/PID/comm"
! jq -r '.verdicts[]' "$J" | grep -qi "ring" || fail "a finding claims a ring: $(jq -r '.verdicts[]' "$J")"
udp_sent=$sent
rx=$(jq '.directions.rx.packets' "$J")
awk -v g="$rx" -v w="$received" 'BEGIN { exit !(w >= 2000 && g >= w * 0.99 && g <= w * 1.01) }' ||
  fail "RX packets $rx, wg0's own counter $received (within 1 %)"
rx_vpn=$(jq '.directions.rx.spans.vpn.count' "$J") rx_p50=$(jq '.directions.rx.spans.vpn.p50_us' "$J")
awk -v v="$rx_vpn" -v g="$rx" 'BEGIN { exit !(v >= g * 0.95) }' || fail "RX vpn span covers $rx_vpn of $rx packets (95 %)"
awk -v p="$rx_p50" -v r="$rtt_us" 'BEGIN { exit !(p > 0 && p < r) }' || fail "RX vpn p50 $rx_p50 us, ping RTT avg $rtt_us us"

# TCP, twice: GSO as it is (on), then off.
tcp_run() { # tcp_run NAME: iperf3 TCP for 3 s traced; leaves the JSON in $WORK/NAME.json, sent in $sent
  start_trace "$1" --netns "$A" --dev wg0 -d "$(dur 60)" --json "$WORK/$1.json"
  before=$(tx_packets)
  ip netns exec "$B" iperf3 -s -1 -p 5302 >/dev/null 2>&1 &
  BG+=($!)
  sleep "$(dur 0.5)"
  ip netns exec "$A" iperf3 -c 10.202.0.2 -p 5302 -t 3 >"$WORK/$1.iperf" 2>&1 || fail "iperf3 TCP: $(tail -3 "$WORK/$1.iperf")"
  sleep 1
  sent=$(($(tx_packets) - before))
  kill -INT "$TRACE_PID"
  wait_trace
  [[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/$1.err")"
}
tcp_run gso
jq -e '[.findings[] | select(.kind == "offload" and .severity == "warning" and (.summary | test("segments itself")))] | length == 1' \
  "$WORK/gso.json" >/dev/null || fail "TCP with GSO on: no warning that wg0 segments itself: $(jq -c '.findings' "$WORK/gso.json")"
gso_skbs=$(jq '[.findings[] | select(.kind == "offload")][0].evidence.gso_skbs' "$WORK/gso.json")
ip netns exec "$A" ethtool -K wg0 tso off gso off >/dev/null || fail "ethtool -K wg0 tso off gso off"
tcp_run nogso
tcp_got=$(jq '.directions.tx.packets' "$WORK/nogso.json")
tcp_vpn=$(jq '.directions.tx.spans.vpn.count' "$WORK/nogso.json")
awk -v g="$tcp_got" -v w="$sent" -v v="$tcp_vpn" 'BEGIN { exit !(w > 1000 && g >= w * 0.99 && g <= w * 1.01 && v >= g * 0.95) }' ||
  fail "TCP with GSO off: TX packets $tcp_got, vpn span $tcp_vpn, wg0's counter $sent"
pass "TX $got packets (wg0: $udp_sent); vpn span on $vpn, p50 ${p50} us (ping RTT ${rtt_us} us); workers: $workers; RX $rx (wg0: $received), vpn on $rx_vpn, p50 ${rx_p50} us; TCP: $gso_skbs GSO skbs told, gso off: $tcp_got packets (wg0: $sent), vpn on $tcp_vpn"

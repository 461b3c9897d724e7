#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 16: the reader's scheduler state while TX packets wait in the tun ring, and the
# VPN's own CPU per packet. OpenVPN (tools/lab.sh) beside a CPU hog on its CPU: mostly
# waiting for a CPU, the hog named; alone at full load: mostly running, a capacity near
# iperf3's rate; stopped 1 s: stopped. A tapreader asleep in poll 5 ms between reads:
# sleeping, and a timer-paced finding.
source "$(dirname "$0")/lib.sh"
require_bpf
export TUNLAT WORK
[[ $(nproc) -ge 2 ]] || skip "needs 2 CPUs (the hog and the VPN on one, the rest on the other)"

# 4: the timer-paced reader needs no OpenVPN.
PFX=${LAB_NS_PREFIX:-sc}  # labs run side by side never collide
NS=$PFX-poll-$$
make_tap_ns "$NS" tap96 --poll-ms 5
start_trace poll --sched --netns "$NS" --dev tap96 -d "$(dur 4)" --json "$WORK/poll.json"
ip netns exec "$NS" ping -q -c 400 -i 0.005 -W 0.1 1.1.1.1 >/dev/null 2>&1 || true
wait_trace
J=$WORK/poll.json
jq_eq "$J" .vpn.sched on
sleeping=$(jq .vpn.ring_wait.states.sleeping.share "$J")
awk -v s="$sleeping" 'BEGIN { exit !(s >= 0.5) }' || fail "poll reader asleep $sleeping of the ring wait, want >= 0.5"
jq -e '[.findings[] | select(.kind == "timer_paced" and .evidence.regular)] | length == 1' "$J" >/dev/null ||
  fail "no regular timer_paced finding: $(jq -c '[.findings[].summary]' "$J")"
poll_period=$(jq '[.findings[] | select(.kind == "timer_paced")][0].evidence.sleep_p50_us' "$J")

command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing (poll reader passed)"
export LAB_NS_PREFIX=$PFX

# Everything of the lab but the traced OpenVPN goes to CPU 0.
PIN='for p in $(ip netns pids "$LAB_PEER_NS") $(ip netns pids "$LAB_NS"); do taskset -apc 0 $p >/dev/null; done
     taskset -apc 1 "$LAB_OWNER_PID" >/dev/null'

# 1: hogs on the VPN's CPU: two, so that the VPN gets a third of it and waits the rest.
ln -sf "$(command -v yes)" "$WORK/cpuhog"
openvpn_lab hog "" "$PIN"'
  taskset -c 1 "$WORK/cpuhog" >/dev/null & HOG=$!
  taskset -c 1 "$WORK/cpuhog" >/dev/null & HOG2=$!
  "$TUNLAT" trace --sched -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 4 --json "$WORK/hog.json" >"$WORK/hog.txt" 2>"$WORK/hog.err" &
  T=$!
  sleep 1
  ip netns exec "$LAB_NS" taskset -c 0 iperf3 -c "$LAB_PEER_IP" -t 2 >/dev/null
  wait $T; kill $HOG $HOG2'
J=$WORK/hog.json
runnable=$(jq .vpn.ring_wait.states.runnable.share "$J")
awk -v s="$runnable" 'BEGIN { exit !(s >= 0.5) }' || fail "beside a hog: runnable $runnable of the ring wait, want >= 0.5"
# The hogs ran instead of it (first or second: whatever else the machine runs can come in).
jq -e '[.vpn.ring_wait.ran_instead[0:2][].comm] | index("cpuhog") != null' "$J" >/dev/null ||
  fail "the hog is not what ran instead: $(jq -c '.vpn.ring_wait.ran_instead[0:3]' "$J")"
jq -e '[.findings[] | select(.kind == "cpu_contention" and (.summary | test("cpuhog")))] | length == 1' "$J" >/dev/null ||
  fail "no contention finding naming the hog: $(jq -c '[.findings[].summary]' "$J")"

# 2: alone at full load; iperf3's rate against the capacity tunlat estimates.
openvpn_lab load "" "$PIN"'
  "$TUNLAT" trace --sched -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 5 --json "$WORK/load.json" >"$WORK/load.txt" 2>"$WORK/load.err" &
  T=$!
  sleep 1
  cpu0=$(awk "{ print \$14 + \$15 }" /proc/$LAB_OWNER_PID/stat)
  ip netns exec "$LAB_NS" taskset -c 0 iperf3 -J -c "$LAB_PEER_IP" -t 3 >"$WORK/iperf3.json"
  cpu1=$(awk "{ print \$14 + \$15 }" /proc/$LAB_OWNER_PID/stat)
  echo $((cpu1 - cpu0)) >"$WORK/ticks"
  wait $T'
J=$WORK/load.json
running=$(jq .vpn.ring_wait.states.running.share "$J")
awk -v s="$running" 'BEGIN { exit !(s >= 0.5) }' || fail "alone: running $running of the ring wait, want >= 0.5"
jq -e '.vpn.cpu.per_packet_us > 0 and .vpn.per_packet.tx.paired > 0' "$J" >/dev/null || fail "no per-packet VPN time"
iperf=$(jq '.end.sum_received.bits_per_second / 1e6' "$WORK/iperf3.json")
secs=$(jq '.end.sum_received.seconds' "$WORK/iperf3.json")
cap=$(jq .vpn.cpu.capacity_mbit_s "$J")
# On 2 CPUs the traced OpenVPN does not saturate its core: its peer shares CPU 0 with both
# iperf3 ends and sets the pace. The capacity is then iperf3's rate over the share of a
# core the VPN used meanwhile, measured apart from tunlat (utime + stime, 100 Hz ticks).
share=$(awk -v t="$(cat "$WORK/ticks")" -v s="$secs" 'BEGIN { print t / 100 / s }')
want=$(awk -v i="$iperf" -v s="$share" 'BEGIN { print (s > 0.95 ? i : i / s) }')
awk -v c="$cap" -v w="$want" 'BEGIN { exit !(c >= w * 0.75 && c <= w * 1.25) }' ||
  fail "capacity $cap Mbit/s; iperf3 measured $iperf Mbit/s with the VPN on $share of a core: want $want +-25 %"

# 3: stopped for 1 s in the middle of a transfer.
openvpn_lab stop "" '
  "$TUNLAT" trace --sched -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 5 --json "$WORK/stop.json" >/dev/null 2>"$WORK/stop.err" &
  T=$!
  sleep 1
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 3 >/dev/null &
  sleep 1.5
  kill -STOP "$LAB_OWNER_PID"; sleep 1; kill -CONT "$LAB_OWNER_PID"
  wait $T'
J=$WORK/stop.json
# The thread was stopped 1 s; the packets that waited meanwhile (a window's worth) show it.
stopped=$(jq '.vpn.threads[0].stopped_ms' "$J")
awk -v s="$stopped" 'BEGIN { exit !(s >= 900 && s <= 1300) }' || fail "stopped $stopped ms, want ~1000"
# What the stop did to the packets: a stall in the ring of about that long (the ring may
# fill a moment after the stop), ended by the VPN's read.
jq -e '[.stalls[] | select(.stage == "ring" and .duration_ms >= 600 and .ended_by.comm == "openvpn")] | length >= 1' \
  "$J" >/dev/null || fail "no ring stall of the stop: $(jq -c '[.stalls[] | del(.flight_recorder)]' "$J")"
jq -e '[.findings[] | select(.kind == "stopped_reader")] | length == 1' "$J" >/dev/null || fail "no stopped_reader finding"
pass "poll: asleep $sleeping, sleeps ${poll_period} us; hog: runnable $runnable; load: running $running," \
  "$(jq .vpn.cpu.per_packet_us "$WORK/load.json") us/packet, capacity $cap Mbit/s vs iperf3 $iperf Mbit/s" \
  "at $share of a core (want $want); stop: stopped $stopped ms, $(jq .vpn.ring_wait.states.stopped.share "$J") of the ring wait"

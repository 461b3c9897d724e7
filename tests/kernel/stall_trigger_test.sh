#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 15, case 8 (seed 004: a transfer stuck until a ping goes through). tapreader reads
# 20 datagrams of a UDP stream into its tap, then reads nothing more until the host sends
# a packet of another flow (tools/tapreader.c --hold-until-new-flow), which a ping does
# about a second later. Meanwhile the stream's datagrams pile up in the tun ring: the
# qdisc hands them to the device, which counts none read. tunlat must report one stuck
# stall in the ring, as long as the hold (+-20 %), ended by the ping's ICMP echo request
# (from the process named ping, its pid), with the datagrams that waited; and for the
# same stream and ping through a reader that is never held, no stall at all.
source "$(dirname "$0")/lib.sh"
require_bpf

HOLD_AFTER=20

# stream NS COUNT: COUNT UDP datagrams of one flow (one socket) to the peer, ~10 ms apart.
stream() {
  ip netns exec "$1" bash -c 'exec 3>/dev/udp/1.1.1.1/9
    for ((i = 0; i < $1; i++)); do printf x >&3; sleep 0.01; done' _ "$2"
}
# Packets the qdisc handed to the device, and packets the device counts read (tun counts
# a TX packet when the reader copies it out): their difference is what waits in the ring.
handed() { ip netns exec "$1" tc -s qdisc show dev "$2" | awk '/Sent/ { print $4; exit }'; }
read_out() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_packets"; }

# 1. The held reader.
NS=c8-trig-$$
make_tap_ns "$NS" tap81 --reply --hold-until-new-flow "$HOLD_AFTER" --hold-log "$WORK/hold.log"
start_trace held --netns "$NS" --dev tap81 -d "$(dur 5)" --json "$WORK/held.json" --record "$WORK/held.tlrec"
stream "$NS" 300 &
BG+=($!)
for _ in $(seq 100); do grep -q '^held ' "$WORK/hold.log" 2>/dev/null && break; sleep 0.05; done
grep -q '^held ' "$WORK/hold.log" 2>/dev/null || fail "the reader never held"
# The ring fills while the reader holds, and nothing is read from it.
sleep 0.4
h1=$(handed "$NS" tap81) r1=$(read_out "$NS" tap81)
sleep 0.5
h2=$(handed "$NS" tap81) r2=$(read_out "$NS" tap81)
in_ring=$((h2 - r2))
[[ $r1 -eq $r2 ]] || fail "the held reader read from the ring: $r1 then $r2 packets read"
[[ $((h1 - r1)) -gt 0 && $in_ring -gt $((h1 - r1)) ]] ||
  fail "the ring did not fill while held: $((h1 - r1)) then $in_ring packets in it"
sleep 0.1
ip netns exec "$NS" ping -n -c 1 -W 2 1.1.1.1 >"$WORK/ping.out" &
PING=$!
wait "$PING" || fail "the ping got no reply: $(cat "$WORK/ping.out")"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/held.err")"
read -r _ held_ns < <(grep '^held ' "$WORK/hold.log")
read -r _ released_ns waited < <(grep '^released ' "$WORK/hold.log") || fail "the reader was not released"
hold_ms=$(awk -v a="$held_ns" -v b="$released_ns" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')

J=$WORK/held.json
jq_eq "$J" '.stalls | length' 1
jq_eq "$J" '.stalls[0].kind' stuck
jq_eq "$J" '.stalls[0].direction' tx
jq_eq "$J" '.stalls[0].stage' ring
jq_eq "$J" '.stalls[0].ongoing' false
stall_ms=$(jq '.stalls[0].duration_ms' "$J")
awk -v got="$stall_ms" -v want="$hold_ms" 'BEGIN { exit !(got >= want * 0.8 && got <= want * 1.2) }' ||
  fail "stall of $stall_ms ms, the reader held $hold_ms ms (+-20 %)"
# What waited: at least what the ring held 0.9 s into the hold; what the reader found
# when released (the ping's request may reach the ring just after its first read).
queued=$(jq '.stalls[0].queued' "$J")
[[ $queued -gt 0 && $queued -ge $in_ring && $queued -le $waited && $queued -ge $((waited - 2)) ]] ||
  fail "queued $queued: the ring held $in_ring 0.9 s into the hold, the reader then found $waited"
E='.stalls[0].ended_by'
jq_eq "$J" "$E.cause" arrival
jq_eq "$J" "$E.packet" "ICMP echo request"
jq_eq "$J" "$E.comm" ping
jq_eq "$J" "$E.pid" "$PING"
jq_eq "$J" "$E.flow | startswith(\"ICMP 1.1.1.2 <> 1.1.1.1 id \")" true
jq_eq "$J" "$E.summary | test(\"^ICMP echo request 1\\\\.1\\\\.1\\\\.2 > 1\\\\.1\\\\.1\\\\.1 id [0-9]+ seq 1$\")" true
jq_eq "$J" "$E.resumed_by.comm" tapreader
jq_eq "$J" "$E.resumed_by.point" read
jq_eq "$J" '.stalls[0].first_out.summary | startswith("UDP datagram 1.1.1.2:")' true
lead_us=$(jq "$E.lead_us" "$J")
awk -v l="$lead_us" 'BEGIN { exit !(l > 0 && l <= 20000) }' || fail "lead $lead_us us"
grep -q "ended by ICMP echo request from ping (pid $PING) arriving .* before tapreader (pid [0-9]*) read again" \
  "$WORK/held.out" || fail "text report: $(grep -A3 '^stalls' "$WORK/held.out")"
jq -e --arg p "$PING" '.findings[0] | .kind == "stall" and (.summary | test("after an ICMP echo request from ping \\(pid " + $p + "\\) arrived"))' \
  "$J" >/dev/null || fail "finding: $(jq -c '.findings[0]' "$J")"
# The recording tells the same.
"$TUNLAT" report "$WORK/held.tlrec" --json "$WORK/held.replay.json" >/dev/null 2>&1 || fail "tunlat report failed"
[[ "$(jq -c .stalls "$WORK/held.replay.json")" == "$(jq -c .stalls "$J")" ]] || fail "the recording's stalls differ"

# 2. The same stream and ping through a reader that is never held: no stall.
NS2=c8-free-$$
make_tap_ns "$NS2" tap82 --reply
start_trace free --netns "$NS2" --dev tap82 -d "$(dur 3)" --json "$WORK/free.json"
stream "$NS2" 150 &
SP=$!
BG+=("$SP")
sleep 1.2
ip netns exec "$NS2" ping -n -c 1 -W 2 1.1.1.1 >/dev/null || fail "ping through the free reader got no reply"
wait "$SP"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat (free reader) exited $TRACE_RC: $(cat "$WORK/free.err")"
J2=$WORK/free.json
sent=$(jq '.directions.tx.packets' "$J2")
[[ $sent -ge 140 ]] || fail "the free reader's trace saw $sent TX packets"
jq_eq "$J2" '.stalls | length' 0

pass "held $hold_ms ms: one stuck stall of $stall_ms ms in the ring, $queued queued" \
  "(ring held $in_ring at 0.9 s, reader found $waited), ended by ICMP echo request from ping" \
  "(pid $PING) $lead_us us before tapreader read; no stall unheld ($sent packets)"
echo "--- text report, stalls:"
sed -n '/^stalls/,/^$/p' "$WORK/held.out"
grep -m1 'stood still' "$WORK/held.out" || true

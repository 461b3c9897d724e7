#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 29 on a real OpenVPN tap tunnel (tools/lab.sh) under iperf3 at its default window:
# the receiving VPN stopped 2 s is one idle stall told by its phases (the peer silent, then
# acknowledging above a hole) and TCP's backed-off timer, checked against tcpdump's view of
# both taps; a plain run has no stall and no drop finding but the ordinary one.
source "$(dirname "$0")/lib.sh"
require_bpf
for c in openvpn iperf3 tcpdump python3; do command -v $c >/dev/null || skip "$c missing"; done
VIEW=$(dirname "$0")/tcp_stall_view.py
export TUNLAT WORK


# A plain transfer: no stall; of drops, only the ordinary ones (IPv6 multicast nobody
# joined, segments of the closed connection), as one info line; and, on a loaded
# machine, the VPN's UDP socket overflowing as the kernel counted it (UdpRcvbufErrors).
openvpn_lab plain "" '
  "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 9 --json "$WORK/plain.json" >/dev/null 2>"$WORK/plain.err" &
  sleep 1
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 6 >/dev/null
  wait
  ip netns exec "$LAB_NS" nstat -saz UdpRcvbufErrors | awk "/UdpRcvbufErrors/ { print \$2 }" >"$WORK/plain.rcvbuf"'
J=$WORK/plain.json
[[ $(jq '.stalls | length' "$J") == 0 ]] || fail "a stall in a plain run: $(jq -c .stalls "$J")"
rcvbuf=$(cat "$WORK/plain.rcvbuf")
if [[ ${rcvbuf:-0} -gt 0 ]]; then
  jq_eq "$J" '[.findings[] | select(.kind == "drops")] | length' 1
  jq_eq "$J" '[.drops[] | select(.scope == "underlay" and .reason == "SOCKET_RCVBUFF") | .count] | add' "$rcvbuf"
else
  jq_eq "$J" '[.findings[] | select(.kind == "drops")] | length' 0
fi
jq -e '[.findings[] | select(.kind == "ordinary_drops")] | length <= 1' "$J" >/dev/null ||
  fail "ordinary drops said more than once: $(jq -c '[.findings[] | select(.kind == "ordinary_drops") | .summary]' "$J")"
# Nothing about the transfer above info: no stall, drop or timeout. (The VPN's CPU findings
# say how loaded the machine is, the pacer and the wait where packets queue: not asserted.)
jq_eq "$J" '[.findings[] | select(.severity != "info" and (.kind == "stall" or .kind == "drops" or .kind == "ordinary_drops" or .kind == "timeouts"))] | length' 0

# The receiving VPN stopped 2 s, 1.5 s into the transfer, with tcpdump on both taps.
openvpn_lab stop "" '
  ip netns exec "$LAB_NS" tcpdump -i "$LAB_DEV" -s 96 -w "$WORK/a.pcap" 2>/dev/null &
  A=$!
  ip netns exec "$LAB_PEER_NS" tcpdump -i tap0 -s 96 -w "$WORK/b.pcap" 2>/dev/null &
  B=$!
  "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 9 --json "$WORK/stop.json" >"$WORK/stop.txt" 2>"$WORK/stop.err" &
  T=$!
  sleep 1
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 6 >/dev/null &
  sleep 1.5
  kill -STOP "$LAB_PEER_OWNER_PID"; sleep 2; kill -CONT "$LAB_PEER_OWNER_PID"
  wait $T
  kill -INT $A $B
  wait'
J=$WORK/stop.json
jq_eq "$J" '[.stalls[] | select(.kind == "idle")] | length' 1
S='[.stalls[] | select(.kind == "idle")][0]'
# First the silence, ended by a packet the peer's VPN wrote into the device once it ran again.
jq_eq "$J" "$S.phases[0].kind" silent
silent=$(jq "$S.phases[0].duration_ms" "$J")
awk -v d="$silent" 'BEGIN { exit !(d >= 1600 && d <= 2600) }' || fail "silent ${silent} ms, want 1.6-2.6 s"
jq_eq "$J" "$S.phases[0].ended_by.point" receive
# Whatever follows the silence (the stall outlasting it) is the peer acknowledging above the
# hole, which the head of the flight lost in the stopped VPN's full socket left.
jq -e "$S.phases[1:] | all(.kind == \"hole\" or .kind == \"silent\")" "$J" >/dev/null ||
  fail "after the silence: $(jq -c "$S.phases" "$J")"
[[ $(jq "$S.phases | length" "$J") == 1 ]] || jq_eq "$J" "$S.phases[1].kind" hole
# TCP's timer backed off meanwhile: 2 s of silence hold at least 3 sends of the hole, the
# timer doubling from 200 ms.
jq -e "$S.timer.hole_resent_s | length >= 3" "$J" >/dev/null || fail "the hole's resends: $(jq -c "$S.timer" "$J")"
backoff=$(jq "$S.timer.backoff_ms" "$J")
awk -v b="$backoff" 'BEGIN { exit !(b >= 600) }' || fail "timer backed off to ${backoff} ms, want >= 600"
jq_eq "$J" '.findings[0].kind' stall
jq -e '.findings[0].summary | test("the far side was silent for [0-9.]+ s")' "$J" >/dev/null ||
  fail "finding: $(jq -r '.findings[0].summary' "$J")"
if [[ $(jq "[$S.phases[] | select(.kind == \"hole\")] | length" "$J") -gt 0 ]]; then
  jq -e '.findings[0].summary | test("then acknowledged everything above a hole for")' "$J" >/dev/null ||
    fail "finding without its hole: $(jq -r '.findings[0].summary' "$J")"
fi

# tcpdump's view of the sender's tap: the same stall, silence and resends, to 5 ms.
V=$(python3 "$VIEW" "$WORK/a.pcap") || fail "tcpdump's view failed"
[[ $V != null ]] || fail "no stall in tcpdump's capture"
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 5 && d >= -5) }' || fail "$3: tunlat $1, tcpdump $2"; }
close "$(jq "$S.duration_ms" "$J")" "$(jq .duration_ms <<<"$V")" "stall ms"
close "$silent" "$(jq '.silences[0].duration_ms' <<<"$V")" "silence ms"
jq_eq "$J" "$S.ended_by.cause" "$(jq -r .ended_by <<<"$V")"
[[ $(jq "$S.timer.hole_resent_s | length" "$J") == $(jq '.hole_resent_ms | length' <<<"$V") ]] ||
  fail "hole resent: tunlat $(jq -c "$S.timer" "$J"), tcpdump $(jq -c .hole_resent_ms <<<"$V")"
# The far tap: nothing of the transfer arrived there while its VPN was stopped.
far=$(tcpdump -r "$WORK/b.pcap" -tt -n 'tcp port 5201' 2>/dev/null |
  awk '{ t = $1; if (p && t - p > g) g = t - p; p = t } END { printf "%.0f", g * 1000 }')
awk -v g="$far" 'BEGIN { exit !(g >= 1600) }' || fail "the far tap's longest quiet ${far} ms, want >= 1.6 s"

pass "plain: no stall, no drop finding but the VPN socket's ${rcvbuf:-0} UdpRcvbufErrors; stop: $(jq -c "[$S.phases[] | {kind, duration_ms}]" "$J"), timer backed off to ${backoff} ms; tcpdump: $(jq -c '{duration_ms, silences}' <<<"$V"), far tap quiet ${far} ms"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 30 on a real OpenVPN tap tunnel (tools/lab.sh), both ends traced in one trace under
# iperf3: A's packets found at B and back, all but those B's (A's) UDP socket dropped
# (nstat, the kernel's count); segments adding up to the transit; the transit against
# tcpdump on both taps; two recordings of the same run merged, their clocks' offset ~0;
# B's VPN stopped 1 s named in a finding; --pid of A's openvpn traces A's tap0.
source "$(dirname "$0")/lib.sh"
require_bpf
command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing"
command -v tcpdump >/dev/null && command -v nstat >/dev/null || skip "tcpdump or nstat missing"
DELAYS=$(dirname "$0")/tunnel_delays.py
export TUNLAT WORK


# One transfer at 100 Mbit/s: the two-device trace, each end recorded by a trace of its
# own, tcpdump on both taps; the UDP sockets' own drop counts around it.
openvpn_lab run "" '
  for ns in "$LAB_NS" "$LAB_PEER_NS"; do ip netns exec "$ns" nstat -n; done
  "$TUNLAT" trace -q --dev "$LAB_NS/tap0" --dev "$LAB_PEER_NS/tap0" -d 6 --json "$WORK/both.json" \
    >"$WORK/both.txt" 2>"$WORK/both.err" & t1=$!
  "$TUNLAT" trace -q --netns "$LAB_NS" --dev tap0 -d 6 --record "$WORK/a.tlrec" >/dev/null 2>"$WORK/a.err" & t2=$!
  "$TUNLAT" trace -q --netns "$LAB_PEER_NS" --dev tap0 -d 6 --record "$WORK/b.tlrec" >/dev/null 2>"$WORK/b.err" & t3=$!
  ip netns exec "$LAB_NS" tcpdump -i tap0 -s 96 --time-stamp-precision nano -w "$WORK/a.pcap" tcp 2>/dev/null & d1=$!
  ip netns exec "$LAB_PEER_NS" tcpdump -i tap0 -s 96 --time-stamp-precision nano -w "$WORK/b.pcap" tcp 2>/dev/null & d2=$!
  sleep 1.5
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 3 -b 100M >/dev/null
  wait $t1 $t2 $t3
  kill -INT $d1 $d2; wait $d1 $d2 || true
  ip netns exec "$LAB_NS" nstat -a -z UdpRcvbufErrors | awk "/UdpRcvbufErrors/ {print \$2}" >"$WORK/a.drops"
  ip netns exec "$LAB_PEER_NS" nstat -a -z UdpRcvbufErrors | awk "/UdpRcvbufErrors/ {print \$2}" >"$WORK/b.drops"'
J=$WORK/both.json
jq_eq "$J" '.devices | length' 2
jq_eq "$J" '.tunnel.paths | length' 2
jq_eq "$J" '.tunnel.paths[0].segments | map(.name) | join(",")' from_device,from_vpn,underlay,to_vpn,to_device
# Every packet that left one end and was not dropped by the other end's UDP socket is found.
check_found() {
  local i=$1 drops=$2 packets matched
  packets=$(jq ".tunnel.paths[$i].packets" "$J")
  matched=$(jq ".tunnel.paths[$i].matched" "$J")
  ((packets > 1000 || i == 1)) || fail "path $i: only $packets packets"
  awk -v p="$packets" -v m="$matched" -v d="$drops" 'BEGIN { exit !(m >= 0.95 * (p - d) && m <= p) }' ||
    fail "path $i: $matched of $packets found, $drops dropped by the far socket (want >= 95 % of the rest)"
  echo "path $i: $matched of $packets found, the far UDP socket dropped $drops"
}
check_found 0 "$(cat "$WORK/b.drops")"
check_found 1 "$(cat "$WORK/a.drops")"
# Segment means add up to the transit mean, within 1 %; most matched packets are timed.
jq -e '.tunnel.paths[] | select(.timed > 0.95 * .matched) | (([.segments[].mean] | add) - .transit.mean | fabs) <= 0.01 * .transit.mean' \
  "$J" | grep -qv false || fail "segments do not add up: $(jq -c '.tunnel.paths[] | {matched, timed, t: .transit.mean, s: [.segments[].mean]}' "$J")"
[[ $(jq '[.tunnel.paths[] | select(.timed > 0.95 * .matched)] | length' "$J") == 2 ]] ||
  fail "too few packets timed: $(jq -c '[.tunnel.paths[] | {matched, timed}]' "$J")"
# The transit against tcpdump's clock: A's tap at its xmit to B's tap at its receive. tunlat's
# starts at the queue and ends where a socket took it: a few us more.
read -r tcpdump_p50 n_tcpdump _ < <(python3 "$DELAYS" "$WORK/a.pcap" "$WORK/b.pcap" 10.8.0.1)
transit_p50=$(jq '.tunnel.paths[0].transit.p50' "$J")
echo "transit p50: tunlat $transit_p50 us, tcpdump $tcpdump_p50 us over $n_tcpdump packets"
awk -v t="$transit_p50" -v d="$tcpdump_p50" 'BEGIN { exit !(t >= 0.9 * d && t <= 1.1 * d + 50) }' ||
  fail "transit p50 $transit_p50 us, tcpdump's $tcpdump_p50 us"

# The same run from its two recordings: the transit within 5 % of the one trace's, the
# clocks' offset (the same host's) within 100 us of zero.
"$TUNLAT" report "$WORK/a.tlrec" "$WORK/b.tlrec" --json "$WORK/merged.json" --html "$WORK/merged.html" \
  --perfetto "$WORK/merged.perfetto.json" >"$WORK/merged.txt" 2>&1 ||
  fail "report of two recordings: $(tail -3 "$WORK/merged.txt")"
M=$WORK/merged.json
jq_eq "$M" .tunnel.one_clock false
merged_p50=$(jq '.tunnel.paths[0].transit.p50' "$M")
offset=$(jq '.tunnel.clock_offset_us' "$M")
echo "merged: transit p50 $merged_p50 us, offset $offset +/- $(jq .tunnel.clock_error_us "$M") us"
awk -v m="$merged_p50" -v t="$transit_p50" 'BEGIN { exit !(m >= 0.95 * t && m <= 1.05 * t) }' ||
  fail "merged transit p50 $merged_p50 us, the trace's $transit_p50 us"
awk -v o="$offset" 'BEGIN { exit !(o >= -100 && o <= 100) }' || fail "clock offset $offset us on one host"
# One page and one Perfetto trace for both ends: the tunnel's section, each end's own
# flame graph and tracks.
grep -q '<section id="tunnel">' "$WORK/merged.html" || fail "no tunnel section in the HTML"
[[ $(grep -o '<svg id="tunlat-flame-[12]" class="tunlat-flame"' "$WORK/merged.html" | sort -u | wc -l) == 2 ]] ||
  fail "the HTML has not one flame graph per end"
for ns in "$(jq -r '.devices[0].device.netns' "$J")" "$(jq -r '.devices[1].device.netns' "$J")"; do
  jq -e --arg l "$ns/tap0 TX" '[.traceEvents[] | select(.name == "process_name") | .args.name |
    startswith($l)] | any' "$WORK/merged.perfetto.json" >/dev/null || fail "no Perfetto track of $ns/tap0"
done
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --user-data-dir="$WORK/chromium" --enable-logging=stderr --v=0 --dump-dom "file://$WORK/merged.html" \
    >"$WORK/dom.html" 2>"$WORK/dom.err" || fail "chromium: $(tail -3 "$WORK/dom.err")"
  ! grep -E "Uncaught|:CONSOLE" "$WORK/dom.err" || fail "console output loading the tunnel's page"
  [[ $(grep -o 'data-ready="1"' "$WORK/dom.html" | wc -l) == 2 ]] || fail "not both flame graphs' scripts ran"
fi
"$TUNLAT" report "$WORK/a.tlrec" "$WORK/b.tlrec" --svg "$WORK/x.svg" 2>"$WORK/svg.err" && fail "--svg of two recordings"
[[ $(wc -l <"$WORK/svg.err") == 1 ]] || fail "--svg of two: $(cat "$WORK/svg.err")"

# B's VPN stopped 1 s while A sends: the tunnel's finding names it, in the underlay (its
# socket queue). Beside it, --pid of A's openvpn traces A's tap0.
openvpn_lab stop "" '
  "$TUNLAT" trace -q --dev "$LAB_NS/tap0" --dev "$LAB_PEER_NS/tap0" -d 6 --json "$WORK/stop.json" \
    >"$WORK/stop.txt" 2>"$WORK/stop.err" & t1=$!
  "$TUNLAT" trace -q --pid "$LAB_OWNER_PID" -d 6 --json "$WORK/pid.json" >/dev/null 2>"$WORK/pid.err" & t2=$!
  sleep 1.5
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 3 -b 50M >/dev/null & i=$!
  sleep 1
  kill -STOP "$LAB_PEER_OWNER_PID"; sleep 1; kill -CONT "$LAB_PEER_OWNER_PID"
  wait $i || true
  wait $t1 $t2
  echo "$LAB_PEER_OWNER_PID" >"$WORK/b.pid"; echo "$LAB_NS" >"$WORK/a.ns"'
S=$WORK/stop.json
f=$(jq -c '[.tunnel.findings[] | select(.where.segment == "underlay")][0]' "$S")
[[ $f != null ]] || fail "no underlay finding: $(jq -c '[.tunnel.findings[].summary]' "$S")"
jq_eq <(echo "$f") .where.pid "$(cat "$WORK/b.pid")"
jq_eq <(echo "$f") .evidence.holder_state stopped
max=$(jq .evidence.max_us <<<"$f")
awk -v m="$max" 'BEGIN { exit !(m >= 800000 && m <= 1500000) }' || fail "underlay stall up to $max us, want ~1 s"
grep -q "VPN, openvpn (pid $(cat "$WORK/b.pid")), was stopped" "$WORK/stop.txt" || fail "the text does not name B's VPN"
jq_eq "$WORK/pid.json" .device.name tap0
jq_eq "$WORK/pid.json" .device.netns "$(cat "$WORK/a.ns")"
jq -e '.directions.tx.packets > 1000' "$WORK/pid.json" >/dev/null || fail "--pid traced too little"
pass "tunnel: matched both ways, segments add up, tcpdump and the merged recordings agree, B's stop named"

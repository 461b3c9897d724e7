#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 14 through a forwarder of our own (bench/fwdlab.sh: two taps, a plain copy
# loop): iperf3 TCP on 5201 and UDP on 5202 at once are both listed with their 5-tuples,
# their packet counts within 2 % of what the senders say (iperf3 -J for UDP, the sender
# netns's TcpOutSegs for TCP), TCP retransmissions within 10 % of the sender's; the filter
# 'tcp port 5201' follows the TCP flow alone; the recording gives the same flows; a nonsense expression exits 2 with
# libpcap's message.
source "$(dirname "$0")/lib.sh"
require_bpf
command -v iperf3 >/dev/null && command -v nstat >/dev/null || skip "iperf3 or nstat missing"
FWDLAB=$(dirname "$0")/../../bench/fwdlab.sh
export TUNLAT WORK
export LAB_NS_PREFIX=${LAB_NS_PREFIX:-tlf}

# A nonsense expression: libpcap's message, exit 2, before any BPF is loaded.
rc=0
"$TUNLAT" trace --dev lo -d 1 'tcp prot 5201' >/dev/null 2>"$WORK/bad.err" || rc=$?
[[ $rc -eq 2 ]] || fail "nonsense filter: exit $rc, want 2"
grep -q "bad filter: .*syntax error" "$WORK/bad.err" || fail "nonsense filter: $(cat "$WORK/bad.err")"

# run NAME [FILTER]: TCP and UDP through the lab while tunlat traces its tap.
run() {
  local name=$1 filter=${2:-}
  FILTER=$filter NAME=$name "$FWDLAB" -- bash -c '
    set -e
    tcp_out() { ip netns exec "$LAB_NS" nstat -asz TcpOutSegs | awk "/TcpOutSegs/ {print \$2}"; }
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
    sleep 0.5
    args=(trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 6 --json "$WORK/$NAME.json" --record "$WORK/$NAME.tlrec")
    [[ -n $FILTER ]] && args+=("$FILTER")
    "$TUNLAT" "${args[@]}" >"$WORK/$NAME.txt" 2>"$WORK/$NAME.err" &
    tp=$!
    sleep 1.5
    tcp_out >"$WORK/$NAME.tcp0"
    ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p 5201 -t 3 -b 200M -J >"$WORK/$NAME.tcp.json" &
    c1=$!
    ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p 5202 -u -b 20M -t 3 -J >"$WORK/$NAME.udp.json" &
    c2=$!
    wait $c1 $c2
    sleep 0.5
    tcp_out >"$WORK/$NAME.tcp1"
    wait $tp' >"$WORK/$name.lab" 2>&1 || fail "lab $name: $(tail -5 "$WORK/$name.lab")"
}

within() {  # within GOT WANT PCT WHAT
  awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w > 0 && d <= w * p / 100) }' ||
    fail "$4: $1, want $2 within $3 %"
}

run both
J=$WORK/both.json
tcp=$(jq -r '[.tcp.flows[] | select(.protocol == "TCP" and (.peer | endswith(":5201")))] | max_by(.packets) | .name' "$J")
udp=$(jq -r '[.tcp.flows[] | select(.protocol == "UDP" and (.peer | endswith(":5202")))] | max_by(.packets) | .name' "$J")
[[ $tcp =~ ^TCP\ 10\.77\.0\.1:[0-9]+\ \<\>\ 10\.77\.0\.2:5201$ ]] || fail "TCP flow named '$tcp'"
[[ $udp =~ ^UDP\ 10\.77\.0\.1:[0-9]+\ \<\>\ 10\.77\.0\.2:5202$ ]] || fail "UDP flow named '$udp'"
udp_sent=$(jq '.end.sum.packets' "$WORK/both.udp.json")
udp_seen=$(jq --arg n "$udp" '.tcp.flows[] | select(.name == $n) | .tx.packets' "$J")
within "$udp_seen" "$udp_sent" 2 "UDP packets seen"
tcp_sent=$(($(cat "$WORK/both.tcp1") - $(cat "$WORK/both.tcp0")))
tcp_seen=$(jq '[.tcp.flows[] | select(.protocol == "TCP") | .tx.packets] | add' "$J")
within "$tcp_seen" "$tcp_sent" 2 "TCP segments seen (all TCP flows) vs the sender's TcpOutSegs"
retx_sent=$(jq '.end.sum_sent.retransmits' "$WORK/both.tcp.json")
retx_seen=$(jq '.tcp.retransmits' "$J")
if [[ $retx_sent -ge 20 ]]; then within "$retx_seen" "$retx_sent" 10 "TCP retransmissions"; fi
# The recording gives the same flows.
"$TUNLAT" report "$WORK/both.tlrec" --json "$WORK/both.report.json" >/dev/null || fail "report of the recording"
cmp <(jq -S .tcp "$J") <(jq -S .tcp "$WORK/both.report.json") >/dev/null || fail "flows differ between live and report"
echo "both: $tcp ($tcp_seen segments, sender $tcp_sent; retransmits $retx_seen, sender $retx_sent)," \
  "$udp ($udp_seen packets, sender $udp_sent)"

run filtered 'tcp port 5201'
J=$WORK/filtered.json
jq_eq "$J" '.filter' 'tcp port 5201'
jq_eq "$J" '[.tcp.flows[] | select(.protocol != "TCP" or (.peer | endswith(":5201") | not))] | length' 0
jq_eq "$J" '[.tcp.flows[] | select(.protocol == "TCP")] | length > 0' true
udp_tx=$(jq '.directions.tx.packets' "$J")
tcp_seen=$(jq '[.tcp.flows[] | .tx.packets] | add' "$J")
[[ $udp_tx -eq $tcp_seen ]] || fail "filtered: $udp_tx TX packets, $tcp_seen in flows"
echo "filtered: $(jq -r '[.tcp.flows[] | "\(.name) \(.tx.packets)"] | join(", ")' "$J")"
pass "flows named and counted, filter follows one flow, nonsense refused"

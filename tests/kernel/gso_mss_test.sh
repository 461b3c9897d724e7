#!/usr/bin/env bash
# A 64 KiB-MTU tap whose TCP peer has no window scaling: slirp4netns --mtu=65520, iperf3
# from the container to 10.0.2.2 (the loopback of a namespace of ours, where slirp4netns
# runs). TCP bounds its MSS to half the peer's window (32767), so skbs shorter than the MTU
# are GSO and are split before the driver: every packet at xmit must still have its queue
# (inherited from its GSO parent), and every TX packet its spans.
source "$(dirname "$0")/lib.sh"
require_bpf
command -v slirp4netns >/dev/null || skip "slirp4netns not installed (apt-get install slirp4netns)"
command -v iperf3 >/dev/null || skip "iperf3 not installed"
H=tr-gso-$$
ip netns add "$H"
NSES+=("$H")
cat >"$WORK/lab.sh" <<'LAB'
set -e
ip link set lo up
iperf3 -s -1 -B 127.0.0.1 >"$WORK/srv.log" 2>&1 & srv=$!
unshare -n sleep 20 & c=$!
for _ in $(seq 50); do [[ $(readlink /proc/$c/ns/net) != $(readlink /proc/self/ns/net) ]] && break; sleep 0.1; done
slirp4netns --configure --mtu=65520 "$c" tap0 >"$WORK/slirp.log" 2>&1 & s=$!
for _ in $(seq 50); do nsenter -t "$c" -n ip -o addr show tap0 2>/dev/null | grep -q 10.0.2 && break; sleep 0.1; done
"$TUNLAT" trace -q --netns "$c" --dev tap0 -d 3.5 --json "$WORK/gso.json" >"$WORK/gso.out" 2>"$WORK/gso.err" & t=$!
sleep 0.8
nsenter -t "$c" -n iperf3 -c 10.0.2.2 -t 1.5 >"$WORK/cli.log" 2>&1 || true
wait $t || true
kill $s $c $srv 2>/dev/null || true
wait 2>/dev/null || true
LAB
WORK=$WORK TUNLAT=$TUNLAT ip netns exec "$H" bash "$WORK/lab.sh"
[[ -s $WORK/gso.json ]] || fail "no summary: $(cat "$WORK/gso.err" "$WORK/slirp.log")"
j=$WORK/gso.json
jq -c '.directions.tx | {packets, q: .points.queue.count, x: .points.xmit.count, total: .spans.total.count, an: .anomalies}' "$j"
tx=$(jq -r .directions.tx.packets "$j")
((tx > 2000)) || fail "only $tx TX packets: iperf3 did not run? $(tail -3 "$WORK/cli.log")"
jq -e '.directions.tx.anomalies.gso_parents > 100' "$j" >/dev/null || fail "no GSO skb shorter than the MTU seen"
jq_eq "$j" '.directions.tx.spans.total.count' "$tx"
jq_eq "$j" '.directions.tx.points.xmit.count' "$tx"
jq_eq "$j" '.directions.tx.anomalies.no_queue' 0
jq_eq "$j" '.directions.tx.points.queue.count + .directions.tx.anomalies.segments - .directions.tx.anomalies.gso_parents' "$tx"
grep -q "GSO skbs" "$WORK/gso.out" || fail "the report does not explain why xmit counts more than queue"
pass "GSO skbs shorter than the MTU: every xmit has its queue"

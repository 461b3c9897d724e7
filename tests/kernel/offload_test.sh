#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 14, seed 001: a forwarder (bench/fwdlab.sh's fwd) with offloads off and on, an
# iperf3 TCP transfer through it. Off: the kernel cuts TCP's GSO skbs into segments before
# the tun ring, and the offload finding says so; its skbs, segments and segments per skb
# agree with bpftrace counting the GSO skbs queued on the device (skb_shared_info's
# gso_segs), its reads with the forwarder's own read count, the ring's drops with tun's
# tx_dropped. On (IFF_VNET_HDR + TUNSETOFFLOAD): no finding; the super-packets tunlat saw
# handed over whole agree with the reads in which the forwarder found a GSO
# virtio_net_hdr, the packets and bytes with its reads and bytes, and the segments the
# forwarder counts from those headers with the sender's TcpOutSegs + TcpRetransSegs.
source "$(dirname "$0")/lib.sh"
require_bpf
command -v iperf3 >/dev/null && command -v nstat >/dev/null || skip "iperf3 or nstat missing"
command -v bpftrace >/dev/null || skip "bpftrace missing (tools/setup.sh installs it): it is the independent count"
FWDLAB=$(dirname "$0")/../../bench/fwdlab.sh
export TUNLAT WORK TRACE_SECS=$(dur 7)
export LAB_NS_PREFIX=${LAB_NS_PREFIX:-ofl}

# What bpftrace sees queued on the device (ifindex + netns inode): GSO skbs and the
# segments they carry, other skbs. Read by the kernel's own fields, apart from tunlat.
BT='tracepoint:net:net_dev_queue {
  $skb = (struct sk_buff *)args->skbaddr;
  if ($skb->dev->ifindex == IFINDEX && $skb->dev->nd_net.net->ns.inum == INUM) {
    $si = (struct skb_shared_info *)($skb->head + $skb->end);
    if ($si->gso_size > 0) { @gso = count(); @gso_segs = sum($si->gso_segs); }
    else { @other = count(); }
  }
}'
export BT

# run NAME [--offload]: iperf3 TCP through the lab while tunlat traces the tap fwd reads
# (tA), bpftrace counts what is queued on it, fwd's counters taken before and after.
run() {
  local name=$1
  shift
  NAME=$name "$FWDLAB" "$@" -- bash -c '
    set -e
    snap() {  # snap N: fwd prints its counters, the sender its TCP segments
      local n=$(grep -c "^fwd: A->B packets" "$LAB_DIR/fwd.log")
      kill -USR1 "$LAB_OWNER_PID"
      for _ in $(seq 50); do (($(grep -c "^fwd: A->B packets" "$LAB_DIR/fwd.log") > n)) && break; sleep 0.1; done
      grep "^fwd: A->B packets" "$LAB_DIR/fwd.log" | tail -1 >"$WORK/$NAME.fwd$1"
      ip netns exec "$LAB_NS" nstat -asz TcpOutSegs TcpRetransSegs | awk "/^Tcp/ {s += \$2} END {print s}" >"$WORK/$NAME.tcp$1"
      ip -n "$LAB_NS" -s -j link show dev "$LAB_DEV" | jq ".[0].stats64.tx.dropped" >"$WORK/$NAME.drop$1"
    }
    ifindex=$(ip -n "$LAB_NS" -j link show dev "$LAB_DEV" | jq ".[0].ifindex")
    inum=$(stat -L -c %i "/run/netns/$LAB_NS")
    bpftrace -e "$(sed "s/IFINDEX/$ifindex/; s/INUM/$inum/" <<<"$BT")" >"$WORK/$NAME.bt" 2>&1 &
    bt=$!
    for _ in $(seq 100); do grep -q "^Attaching" "$WORK/$NAME.bt" && break; sleep 0.1; done
    sleep 0.5  # "Attaching" is printed before the probe is attached
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d "$TRACE_SECS" --json "$WORK/$NAME.json" \
      >"$WORK/$NAME.txt" 2>"$WORK/$NAME.err" &
    tp=$!
    for _ in $(seq 100); do grep -q "tunlat: tracing" "$WORK/$NAME.err" && break; sleep 0.1; done
    snap 0
    ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p 5201 -t 3 -J >"$WORK/$NAME.iperf.json"
    sleep 0.5
    snap 1
    wait $tp
    kill -INT $bt
    wait $bt || true' >"$WORK/$name.lab" 2>&1 || fail "lab $name: $(tail -5 "$WORK/$name.lab")"
}

within() { # within GOT WANT PCT WHAT
  awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w > 0 && d <= w * p / 100) }' ||
    fail "$4: $1, want $2 within $3 %"
}
# fwd NAME FIELD: what fwd counted in that field (A->B: tA's TX) during the transfer.
fwd() { echo $(($(awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' "$WORK/$1.fwd1") -
  $(awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' "$WORK/$1.fwd0"))); }
bt() { awk -v k="@$2:" '$1 == k { print $2 }' "$WORK/$1.bt"; }
offload() { jq -c '[.findings[] | select(.kind == "offload")]' "$WORK/$1.json"; }

# Offloads off: segmented before the ring, a finding with the numbers.
run off
J=$WORK/off.json
[[ $(offload off | jq length) == 1 ]] || fail "offloads off: want one offload finding, have $(offload off)"
F=$(offload off | jq '.[0]')
parents=$(jq .evidence.gso_parents <<<"$F") segs=$(jq .evidence.segments <<<"$F")
per=$(jq .evidence.segments_per_parent <<<"$F") reads=$(jq .evidence.reads <<<"$F")
bt_gso=$(bt off gso) bt_segs=$(bt off gso_segs)
[[ -n $bt_gso && $bt_gso -gt 10 ]] || fail "bpftrace saw no GSO skbs queued: $(cat "$WORK/off.bt")"
within "$parents" "$bt_gso" 3 "GSO skbs cut before the ring vs bpftrace's GSO skbs queued"
within "$segs" "$bt_segs" 3 "segments vs the gso_segs bpftrace read"
within "$per" "$(awk -v s="$bt_segs" -v g="$bt_gso" 'BEGIN { print s / g }')" 3 "segments per skb vs bpftrace's"
fwd_reads=$(fwd off packets)
within "$reads" "$fwd_reads" 2 "the finding's reads vs fwd's reads"
within "$(jq .directions.tx.points.read.count "$J")" "$fwd_reads" 2 "TX reads vs fwd's reads"
# The ring's drops as tun counts them (tx_dropped), a few packets of slack for small counts.
drops=$(jq '[.drops[] | select(.direction == "tx" and .reason == "FULL_RING")] | map(.count) | add // 0' "$J")
dev_drops=$(($(cat "$WORK/off.drop1") - $(cat "$WORK/off.drop0")))
awk -v g="$drops" -v w="$dev_drops" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * 0.03 || d <= 10) }' ||
  fail "FULL_RING drops $drops, the device's tx_dropped $dev_drops"
jq -e '.directions.tx.anomalies.gso_whole == 0' "$J" >/dev/null || fail "offloads off, yet GSO skbs reached the driver whole"
grep -q "TX GSO skbs are cut into segments before the tun ring" "$WORK/off.txt" || fail "the text report lacks the finding"

# Offloads on: fwd reads super-packets, no finding.
run on --offload
J=$WORK/on.json
[[ $(offload on | jq length) == 0 ]] || fail "offloads on: an offload finding: $(offload on)"
fwd_gso=$(fwd on gso)
[[ $(fwd on bad_vnet) == 0 ]] || fail "fwd refused $(fwd on bad_vnet) virtio headers"
((fwd_gso > 10)) || fail "offloads on, yet fwd read $fwd_gso GSO super-packets"
whole=$(jq .directions.tx.anomalies.gso_whole "$J")
within "$whole" "$fwd_gso" 2 "GSO skbs handed over whole vs fwd's reads with a GSO header"
within "$whole" "$(bt on gso)" 2 "GSO skbs handed over whole vs bpftrace's GSO skbs queued"
jq -e '.directions.tx.anomalies.gso_parents == 0' "$J" >/dev/null || fail "offloads on, yet GSO skbs were cut"
within "$(jq .directions.tx.points.read.count "$J")" "$(fwd on packets)" 2 "TX reads vs fwd's reads"
within "$(jq .directions.tx.bytes "$J")" "$(fwd on bytes)" 2 "TX bytes vs fwd's bytes"
sent=$(($(cat "$WORK/on.tcp1") - $(cat "$WORK/on.tcp0")))
within "$(fwd on segments)" "$sent" 2 "segments in fwd's super-packets vs the sender's TcpOutSegs + TcpRetransSegs"
grep -q "GSO skbs reached the driver whole" "$WORK/on.txt" || fail "the text report does not say the reader gets super-packets"

pass "off: $parents skbs -> $segs segments ($per each; bpftrace $bt_gso -> $bt_segs)," \
  "$reads reads (fwd $fwd_reads), $drops ring drops (tx_dropped $dev_drops); on: no finding, $whole super-packets (fwd $fwd_gso, bpftrace $(bt on gso))," \
  "$(fwd on segments) segments in them (sender $sent)"

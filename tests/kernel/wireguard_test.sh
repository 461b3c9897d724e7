#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 16, case 5: wireguard-go (Debian's package) in two namespaces joined by a veth,
# iperf3 TCP through the tunnel, tunlat --sched on side A's tun. Checked against the lab:
# - the owner is wireguard-go, its threads listed under its one pid, each in
#   /proc/PID/task; those that ran while its reader waited are marked as its own;
# - TX and RX packets against the sender's TCP counters, the VPN's underlay sends (and,
#   where sock_recv_length exists, reads) against what the veth carried;
# - the TX time per packet (device read -> underlay send) against the truth bpftrace reads
#   off the wire: a data message's counter is the number of packets wireguard-go read
#   before it, so each send names its read (wireguard-go reads on one goroutine and sends
#   on others: tunlat pairs in read order per process, and says so); the share of pairs
#   on one thread against the truth's.
source "$(dirname "$0")/lib.sh"
require_bpf
for t in wireguard-go wg iperf3 nstat bpftrace; do
  command -v "$t" >/dev/null || skip "$t missing (tools/setup.sh installs it)"
done
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun: wireguard-go cannot make its device here"

ID=$$
PFX=${LAB_NS_PREFIX:-wg}
A=$PFX-a-$ID B=$PFX-b-$ID
DA=wa$ID DB=wb$ID VA=va$ID VB=vb$ID  # a UAPI socket per device name: names unique machine-wide
quiet_ns "$A" "$B"
ip link add "$VA" netns "$A" type veth peer name "$VB" netns "$B"
ip -n "$A" addr add 192.168.77.1/24 dev "$VA"
ip -n "$B" addr add 192.168.77.2/24 dev "$VB"
ip -n "$A" link set "$VA" up
ip -n "$B" link set "$VB" up

# wireguard-go in the foreground (ip netns exec execs it: BG holds its pid).
start_wg() { # start_wg NS DEV
  ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >"$WORK/$2.log" 2>&1 &
  BG+=($!)
  for _ in $(seq 50); do
    ip -n "$1" link show dev "$2" >/dev/null 2>&1 && [[ -S /var/run/wireguard/$2.sock ]] && return 0
    kill -0 "${BG[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  skip "wireguard-go cannot make its device here: $(tail -3 "$WORK/$2.log" | tr '\n' ' ')"
}
start_wg "$A" "$DA"
WGPID=${BG[-1]}
start_wg "$B" "$DB"
for s in a b; do
  wg genkey >"$WORK/$s.key"
  wg pubkey <"$WORK/$s.key" >"$WORK/$s.pub"
done
ip netns exec "$A" wg set "$DA" private-key "$WORK/a.key" listen-port 51820 \
  peer "$(cat "$WORK/b.pub")" allowed-ips 10.66.0.2/32 endpoint 192.168.77.2:51821
ip netns exec "$B" wg set "$DB" private-key "$WORK/b.key" listen-port 51821 \
  peer "$(cat "$WORK/a.pub")" allowed-ips 10.66.0.1/32 endpoint 192.168.77.1:51820
ip -n "$A" addr add 10.66.0.1/24 dev "$DA"
ip -n "$B" addr add 10.66.0.2/24 dev "$DB"
ip -n "$A" link set "$DA" up
ip -n "$B" link set "$DB" up
[[ $(cat "/proc/$WGPID/comm") == wireguard-go ]] || fail "pid $WGPID is $(cat "/proc/$WGPID/comm")"

# The truth, from before the tunnel's first packet. wireguard-go numbers its data messages
# per key pair in the order it read their packets from the tun (their counter, from 0), so
# the send carrying counter c is the read numbered c: its time, and the read's thread.
ifindex() { ip -n "$1" -j link show dev "$2" | jq '.[0].ifindex'; }
BT='tracepoint:skb:skb_copy_datagram_iovec /pid == WGPID/ {
  $skb = (struct sk_buff *)args->skbaddr;
  if ($skb->dev != 0 && $skb->dev->ifindex == TUNIF && $skb->dev->nd_net.net->ns.inum == INUM) {
    @read[@n] = nsecs; @rtid[@n] = tid; @n = @n + 1;
  }
}
tracepoint:net:net_dev_queue /pid == WGPID/ {
  $skb = (struct sk_buff *)args->skbaddr;
  if ($skb->dev->ifindex == VETHIF && $skb->dev->nd_net.net->ns.inum == INUM) {
    $wg = $skb->data + 42;  /* Ethernet 14, IPv4 20, UDP 8 */
    if (*(uint8 *)$wg == 4) {
      $c = *(uint64 *)($wg + 8);
      $t = @read[$c];
      if ($t) {
        printf("d %llu %llu %d %d\n", $c, nsecs - $t, @rtid[$c], tid);
        delete(@read[$c]); delete(@rtid[$c]);
      } else { @nomatch = count(); }
    }
  }
}'
inum=$(stat -L -c %i "/run/netns/$A")
BPFTRACE_MAP_KEYS_MAX=65536 bpftrace -e "$(sed "s/WGPID/$WGPID/; s/TUNIF/$(ifindex "$A" "$DA")/;
  s/VETHIF/$(ifindex "$A" "$VA")/; s/INUM/$inum/g" <<<"$BT")" >"$WORK/truth.out" 2>"$WORK/truth.err" &
BTPID=$!
BG+=("$BTPID")
for _ in $(seq 100); do grep -q "^Attaching" "$WORK/truth.out" && break; sleep 0.1; done
grep -q "^Attaching" "$WORK/truth.out" || fail "bpftrace did not attach: $(cat "$WORK/truth.err")"
sleep 0.5

ok=0
for _ in $(seq 10); do ip netns exec "$A" ping -n -c1 -W1 10.66.0.2 >/dev/null 2>&1 && ok=1 && break; done
((ok)) || fail "no ping through the tunnel: $(cat "$WORK/$DA.log" "$WORK/$DB.log" | tail -5)"

ip netns exec "$B" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
BG+=($!)
start_trace wg --sched --netns "$A" --dev "$DA" -d "$(dur 8)" --json "$WORK/wg.json"
snap() { # snap N: the sender's TCP counters, the veth's packets, the VPN's threads
  ip netns exec "$A" nstat -asz TcpOutSegs TcpRetransSegs TcpInSegs >"$WORK/tcp$1"
  ip -n "$A" -s -j link show dev "$VA" | jq '.[0].stats64.tx.packets' >"$WORK/veth$1"
  ip -n "$A" -s -j link show dev "$VA" | jq '.[0].stats64.rx.packets' >"$WORK/vethrx$1"
  ls "/proc/$WGPID/task" >>"$WORK/tasks"
}
snap 0
ip netns exec "$A" iperf3 -c 10.66.0.2 -p 5201 -t 3 -J >"$WORK/iperf3.json" || fail "iperf3 through the tunnel"
sleep 0.5
snap 1
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/wg.err")"
kill -INT "$BTPID"
wait "$BTPID" 2>/dev/null || true
J=$WORK/wg.json

within() { # within GOT WANT PCT WHAT
  awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w > 0 && d <= w * p / 100) }' ||
    fail "$4: $1, want $2 within $3 %"
}
counter() { echo $(($(awk -v k="$1" '$1 == k { print $2 }' "$WORK/tcp1") - $(awk -v k="$1" '$1 == k { print $2 }' "$WORK/tcp0"))); }

# The owner, its threads under its one pid, each a thread of /proc/PID/task.
jq -e --argjson p "$WGPID" '.owners | length == 1 and .[0].pid == $p and .[0].comm == "wireguard-go"' "$J" >/dev/null ||
  fail "owners: $(jq -c .owners "$J"), want wireguard-go pid $WGPID"
jq -e --argjson p "$WGPID" '[.vpn.threads[].pid] | unique == [$p]' "$J" >/dev/null ||
  fail "threads of other pids: $(jq -c '[.vpn.threads[] | {pid, tid}]' "$J")"
threads=$(jq '.vpn.threads | length' "$J")
((threads >= 2)) || fail "$threads thread(s) listed for wireguard-go, want several"
for tid in $(jq '.vpn.threads[].tid' "$J"); do
  grep -qx "$tid" "$WORK/tasks" || fail "thread $tid listed, not in /proc/$WGPID/task ($(sort -u "$WORK/tasks" | tr '\n' ' '))"
done
# What ran while the reader waited for a CPU: the VPN's own threads marked as such (they are
# its load, not another task's contention), and the finding names no thread of its own.
for e in $(jq -r '.vpn.ring_wait.ran_instead[] | "\(.tid):\(.vpn_thread)"' "$J"); do
  own=false
  grep -qx "${e%%:*}" "$WORK/tasks" && own=true
  [[ ${e##*:} == "$own" ]] || fail "ran instead: thread ${e%%:*} marked vpn_thread ${e##*:}, in /proc/$WGPID/task: $own"
done
for tid in $(jq '.findings[] | select(.kind == "cpu_contention") | .evidence.ran_instead.tid' "$J"); do
  ! grep -qx "$tid" "$WORK/tasks" || fail "the contention finding names wireguard-go's own thread $tid as the other task"
done
jq -e --argjson p "$WGPID" '.directions.tx.processes | length == 1 and .[0].pid == $p and (.[0].threads | length >= 2)' \
  "$J" >/dev/null || fail "TX readers: $(jq -c '[.directions.tx.processes[] | {pid, comm, threads: (.threads | length)}]' "$J")"

# Packets: what crossed the tun against the sender's own counters, the VPN's sends
# against what the veth carried (wireguard-go's datagrams alone cross it).
tx=$(jq .directions.tx.packets "$J") rx=$(jq .directions.rx.packets "$J")
sent=$(($(counter TcpOutSegs) + $(counter TcpRetransSegs))) got=$(counter TcpInSegs)
within "$tx" "$sent" 2 "TX packets vs the sender's TcpOutSegs + TcpRetransSegs"
within "$rx" "$got" 2 "RX packets vs the sender's TcpInSegs"
P=$(jq -c .vpn.per_packet.tx "$J")
veth=$(($(cat "$WORK/veth1") - $(cat "$WORK/veth0")))
# Tight: the owner threads' time also sends other sockets' packets (a softirq's ACKs), ~1 %.
within "$(jq .out <<<"$P")" "$veth" 0.5 "the VPN's underlay sends vs the veth's TX packets"
within "$(jq .in <<<"$P")" "$tx" 1.5 "the VPN's reads vs TX packets"

# The time per packet and how it was paired, against the truth.
grep -q "Lost" "$WORK/truth.out" "$WORK/truth.err" && echo "note: bpftrace lost events: $(grep -h Lost "$WORK"/truth.*)"
truth=$(awk '$1 == "d" { print $3 / 1000, ($4 == $5) }' "$WORK/truth.out" | sort -n |
  awk '{ d[NR] = $1; same += $2 } END { if (!NR) exit 1
    printf "%d %.1f %.1f %.3f", NR, d[int(NR * 0.5) + 1], d[int(NR * 0.9) + 1], same / NR }') ||
  fail "bpftrace matched no send to its read: $(head -5 "$WORK/truth.out")"
read -r t_n t_p50 t_p90 t_same <<<"$truth"
within "$t_n" "$(jq .in <<<"$P")" 5 "packets the truth paired vs tunlat's reads"
jq -e '.one_to_one and .paired_share_of_in >= 0.95 and .paired_share_of_out >= 0.95' <<<"$P" >/dev/null ||
  fail "pairing: $P"
jq -e '.paired_by == "process" or .paired_by == "thread"' <<<"$P" >/dev/null || fail "no pairing stated: $P"
awk -v s="$t_same" 'BEGIN { exit !(s < 0.5) }' && { jq -e '.paired_by == "process"' <<<"$P" >/dev/null ||
  fail "reads and sends on one thread for $t_same of the packets, yet paired by $(jq -r .paired_by <<<"$P")"; }
awk -v g="$(jq .same_thread_share <<<"$P")" -v w="$t_same" 'BEGIN { d = g - w; exit !(d <= 0.05 && d >= -0.05) }' ||
  fail "pairs on one thread: $(jq .same_thread_share <<<"$P"), the truth's $t_same"
# The histogram's buckets are a few % wide.
within "$(jq .p50_us <<<"$P")" "$t_p50" 5 "TX per-packet p50 (us) vs the truth's"
within "$(jq .p90_us <<<"$P")" "$t_p90" 5 "TX per-packet p90 (us) vs the truth's"
grep -q "tx read -> underlay send: p50 .* in order per process: its threads hand packets over" "$WORK/wg.out" ||
  grep -q "tx read -> underlay send: p50 .* in order per thread" "$WORK/wg.out" ||
  fail "the text report does not state the pairing: $(grep 'underlay' "$WORK/wg.out")"

# RX: where the kernel has sock:sock_recv_length (6.3+), the VPN's underlay reads are one
# per datagram it received, against what the veth received; written into the tun one to
# one, so the time per packet is given and its pairing stated.
R=$(jq -c .vpn.per_packet.rx "$J")
if grep -q "'btf_trace_sock_recv_length'" <(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null); then
  within "$(jq .in <<<"$R")" "$(($(cat "$WORK/vethrx1") - $(cat "$WORK/vethrx0")))" 0.5 \
    "the VPN's underlay reads vs the veth's RX packets"
  within "$(jq .out <<<"$R")" "$rx" 1.5 "the VPN's writes vs RX packets"
  jq -e '.one_to_one and (.p50_us > 0) and (.paired_by == "process" or .paired_by == "thread")' <<<"$R" >/dev/null ||
    fail "RX per packet: $R"
  grep -q "rx underlay read -> write: p50 .* in order per" "$WORK/wg.out" || fail "the text report lacks RX's pairing"
else
  echo "note: no sock_recv_length here: RX underlay reads are guessed from skbs, $R"
fi

pass "wireguard-go pid $WGPID, $threads threads listed; TX $tx packets (sender $sent), RX $rx (sender $got);" \
  "sends $(jq .out <<<"$P") (veth $veth), $(jq .other_sockets <<<"$P") of other sockets left out;" \
  "per packet p50 $(jq .p50_us <<<"$P") us p90 $(jq .p90_us <<<"$P") us by $(jq -r .paired_by <<<"$P")," \
  "$(jq .same_thread_share <<<"$P") on one thread (truth: $t_n packets, p50 $t_p50 us p90 $t_p90 us, $t_same);" \
  "RX: reads $(jq .in <<<"$R") (veth $(($(cat "$WORK/vethrx1") - $(cat "$WORK/vethrx0")))), writes $(jq .out <<<"$R"),"\
  "p50 $(jq .p50_us <<<"$R") us by $(jq -r .paired_by <<<"$R")"

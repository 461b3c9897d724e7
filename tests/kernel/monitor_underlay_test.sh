#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunlat monitor counts the tunnel's loss on the VPN's own socket: the receiving OpenVPN
# stops reading its UDP socket while a UDP flood comes through the tunnel, its receive
# buffer fills, and the kernel drops what the peer sent before the VPN sees it
# (SOCKET_RCVBUFF). The monitor, watching that VPN's tap, shows them as
# tunlat_drops_total{scope="underlay"}, checked against the kernel's UdpRcvbufErrors.
source "$(dirname "$0")/lib.sh"
require_bpf
require_monitor
command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing"
command -v curl >/dev/null || skip "curl not installed (tools/setup.sh installs it)"
# kfree_skb names the socket a dropped skb was meant for from 6.11 on; before, a full
# receive buffer's drops carry no socket and are not seen (docs/monitor.md).
printf '6.11\n%s\n' "$(uname -r)" | sort -VC || skip "kernel $(uname -r) < 6.11: kfree_skb names no socket"
LAB=$(dirname "$0")/../../tools/lab.sh
PORT=$(free_port)
export TUNLAT WORK PORT

LAB_NS_PREFIX=tlmu "$LAB" openvpn-tap -- bash -c '
  udp_errs() { ip netns exec "$LAB_PEER_NS" nstat -az UdpRcvbufErrors | awk "/UdpRcvbufErrors/ { print \$2 }"; }
  "$TUNLAT" monitor --dev "$LAB_PEER_NS/$LAB_DEV" --listen "127.0.0.1:$PORT" >/dev/null 2>"$WORK/monitor.err" &
  M=$!
  for _ in $(seq 100); do grep -q "tunlat: monitoring 1 device" "$WORK/monitor.err" && break; sleep 0.1; done
  sleep 2 # its owners found (the first lookup), so their sockets are known
  curl -sf "127.0.0.1:$PORT/metrics" >/dev/null
  before=$(udp_errs)
  ip netns exec "$LAB_NS" iperf3 -u -b 400M -l 1200 -c "$LAB_PEER_IP" -t 2 >/dev/null 2>&1 &
  F=$!
  sleep 0.5
  kill -STOP "$LAB_PEER_OWNER_PID"; sleep 0.8; kill -CONT "$LAB_PEER_OWNER_PID"
  wait $F
  sleep 0.5
  echo $(( $(udp_errs) - before )) >"$WORK/kernel_count"
  # Twice: a drop series appears at zero at its first scrape (docs/monitor.md).
  curl -sf "127.0.0.1:$PORT/metrics" >/dev/null
  curl -sf "127.0.0.1:$PORT/metrics" >"$WORK/metrics"
  kill -INT $M; wait $M' >"$WORK/lab.log" 2>&1 || fail "lab: $(tail -5 "$WORK/lab.log"; cat "$WORK/monitor.err")"

kernel=$(cat "$WORK/kernel_count")
((kernel > 100)) || skip "the VPN's socket overflowed only $kernel times: the flood was too slow to test"
# rcvbuff SCOPE: the SOCKET_RCVBUFF drops of that scope in the last scrape, summed.
rcvbuff() {
  awk -v s="scope=\"$1\"" '/^tunlat_drops_total\{/ && /reason="SOCKET_RCVBUFF"/ && index($0, s) { n += $NF }
    END { print n + 0 }' "$WORK/metrics"
}
got=$(rcvbuff underlay) dev=$(rcvbuff device)
# The kernel's counter is the namespace's: it also counts the iperf3 server's socket behind
# the tap overflowing (the device's own packets, scope device). Together they are the
# kernel's count.
all=$((got + dev))
awk -v a="$all" -v g="$got" -v k="$kernel" 'BEGIN { exit !(a >= k * 0.99 && a <= k && g >= k * 0.5) }' ||
  fail "SOCKET_RCVBUFF drops: monitor $got underlay + $dev device, the kernel's UdpRcvbufErrors $kernel; $(grep '^tunlat_drops_total' "$WORK/metrics")"
grep -q '^tunlat_drops_total{.*direction="rx".*scope="underlay"}' "$WORK/metrics" ||
  fail "underlay drops not on RX: $(grep '^tunlat_drops_total' "$WORK/metrics")"
pass "$got SOCKET_RCVBUFF drops at openvpn's socket (scope underlay) + $dev at the receiver's, the kernel counted $kernel"

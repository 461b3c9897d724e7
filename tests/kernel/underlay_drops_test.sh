#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The receiving VPN stops reading its UDP socket while a UDP flood comes
# through the tunnel: its receive buffer fills, and the kernel drops the tunnel's packets
# there (SOCKET_RCVBUFF) before the VPN ever sees them. Traced on that VPN's own tap, they
# are drops of scope underlay, attributed to it, checked against the kernel's own count.
source "$(dirname "$0")/lib.sh"
require_bpf
command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing"
LAB=$(dirname "$0")/../../tools/lab.sh
export TUNLAT WORK

LAB_NS_PREFIX=tlu "$LAB" openvpn-tap -- bash -c '
  udp_errs() { ip netns exec "$LAB_PEER_NS" nstat -az UdpRcvbufErrors | awk "/UdpRcvbufErrors/ { print \$2 }"; }
  before=$(udp_errs)
  "$TUNLAT" trace -q --netns "$LAB_PEER_NS" --dev "$LAB_DEV" -d 5 --json "$WORK/u.json" >/dev/null 2>"$WORK/u.err" &
  T=$!
  sleep 1
  ip netns exec "$LAB_NS" iperf3 -u -b 400M -l 1200 -c "$LAB_PEER_IP" -t 2 >/dev/null 2>&1 &
  sleep 0.5
  kill -STOP "$LAB_PEER_OWNER_PID"; sleep 0.8; kill -CONT "$LAB_PEER_OWNER_PID"
  wait
  echo $(( $(udp_errs) - before )) >"$WORK/kernel_count"
  echo "$LAB_PEER_OWNER_PID" >"$WORK/owner"' >"$WORK/lab.log" 2>&1 || fail "lab: $(tail -5 "$WORK/lab.log")"

J=$WORK/u.json
kernel=$(cat "$WORK/kernel_count")
((kernel > 100)) || skip "the VPN's socket overflowed only $kernel times: the flood was too slow to test"
rcvbuff() { jq "[.drops[] | select(.scope == \"$1\" and .reason == \"SOCKET_RCVBUFF\")] | map(.count) | add // 0" "$J"; }
got=$(rcvbuff underlay)
# The kernel's counter is the namespace's: it also counts the iperf3 server's own socket
# overflowing behind the tap (scope device, 5-10 % of the flood). Together they are the
# kernel's count; tunlat counts only while it traced, which covers the whole flood.
all=$((got + $(rcvbuff device)))
awk -v a="$all" -v g="$got" -v k="$kernel" 'BEGIN { exit !(a >= k * 0.99 && a <= k && g >= k * 0.5) }' ||
  fail "SOCKET_RCVBUFF drops: tunlat $got at the underlay + $((all - got)) on the device, the kernel's UdpRcvbufErrors $kernel"
jq_eq "$J" '[.drops[] | select(.scope == "underlay")][0].pid' "$(cat "$WORK/owner")"
jq_eq "$J" '[.drops[] | select(.scope == "underlay")][0].comm' openvpn
jq -e '[.findings[] | select(.kind == "drops" and (.summary | test("socket of openvpn")))] | length == 1' "$J" \
  >/dev/null || fail "no underlay drop finding: $(jq -c '[.findings[].summary]' "$J")"
pass "$got SOCKET_RCVBUFF drops at openvpn's socket, $((all - got)) at the receiver's (the kernel counted $kernel)"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Re-records tests/fixtures/*.tlrec from the labs (root, built tree). The unit tests pin
# analysis numbers on these files: after re-recording, update tests/unit/fixtures_test.cpp.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TUNLAT=${TUNLAT:-$ROOT/build/tunlat} TAPREADER=${TAPREADER:-$ROOT/build/tools/tapreader}
OUT=$ROOT/tests/fixtures
source "$ROOT/tests/kernel/lib.sh"
require_bpf

# 1. Seed 000: ping -f at a peer that never answers. ping paces itself (10 ms without
#    replies): the gaps are already there at `queue` -> pacing origin "upstream".
make_tap_ns tlf-seed-$$ tap99
start_trace seed --netns tlf-seed-$$ --dev tap99 -d 3 --record "$OUT/seed000-ping-f.tlrec"
ip netns exec tlf-seed-$$ ping -f -q -c 150 1.1.1.1 >/dev/null || true
wait_trace

# 2. Stalled reader: the reader takes 200 ms per packet, the sender sends every 20 ms:
#    packets pile up in the tun ring -> dominant span "ring", pacing added by the ring.
make_tap_ns tlf-stall-$$ tap99 --sleep-us 200000 --reply
start_trace stall --netns tlf-stall-$$ --dev tap99 -d 6 --record "$OUT/stalled-reader.tlrec"
ip netns exec tlf-stall-$$ ping -q -c 20 -i 0.02 -w 5 1.1.1.1 >/dev/null || true
wait_trace

# 3. A real OpenVPN tap tunnel carrying a rate-limited iperf3 TCP transfer.
"$ROOT/tools/lab.sh" openvpn-tap -- bash -c '
  "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 5 --record "$0" >/dev/null 2>&1 &
  sleep 1.5
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 2 -b 20M >/dev/null
  wait' "$OUT/openvpn-tap-iperf3.tlrec"
# 4, 5. Flows (recording version 3) through bench/fwdlab.sh's forwarder: on a tap, ping,
#    a rate-limited TCP and a UDP transfer at once; on a tun, the same filtered by
#    'icmp or tcp'.
flows_lab() {  # flows_lab FILE [fwdlab args] -- [filter]
  local file=$1
  shift
  LAB_NS_PREFIX=tlf "$ROOT/bench/fwdlab.sh" "$@" -- bash -c '
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
    sleep 0.3
    "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 4 --record "$0" $1 >/dev/null 2>&1 &
    tp=$!
    sleep 1
    ip netns exec "$LAB_NS" ping -c 5 -i 0.2 "$LAB_PEER_IP" >/dev/null &
    ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p 5201 -t 1 -b 20M >/dev/null &
    ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p 5202 -u -t 1 -b 2M >/dev/null &
    wait $tp' "$OUT/$file" "${FILTER:-}"
}
flows_lab fwd-tap-flows.tlrec
FILTER="icmp or tcp" flows_lab fwd-tun-filtered.tlrec --tun
ls -la "$OUT"

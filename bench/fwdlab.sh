#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fwdlab.sh - the forwarder lab: two namespaces joined by bench/fwd, a userspace tap<->tap
# "VPN". Same interface as tools/lab.sh:
#
#   bench/fwdlab.sh [--tun] [--offload] [-- CMD ARGS...]
#
#   bench-a-ID: tA 10.77.0.1/24 ---- fwd (in bench-m-ID) ---- tB 10.77.0.2/24 :bench-b-ID
#
# fwd creates tA and tB in the middle namespace and keeps their fds; the script then
# moves tA into A and tB into B. Traffic A -> B leaves A through tA (TX on tA: fwd
# reads it), fwd writes it into tB (RX in B); replies come back the other way. The
# traced device is tA in A. CMD runs in the host namespace with LAB_NS (A), LAB_DEV
# (tA), LAB_OWNER_PID (fwd), LAB_PEER_IP (10.77.0.2), LAB_PEER_NS (B), LAB_DIR and
# LAB_MODE (tap|tun) exported; fwdlab.sh exits with CMD's status. Without CMD it prints
# them and waits for Ctrl-C. No iperf3 server is started: the bench starts its own.
# --offload: fwd opens both devices with IFF_VNET_HDR + TUNSETOFFLOAD (it reads GSO
# super-packets); fwd's log is $LAB_DIR/fwd.log, its counters printed there on SIGUSR1.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ME=fwdlab.sh

usage() {
  echo "usage: $ME [--tun] [--offload] [-- CMD ARGS...]" >&2
  exit 2
}

MODE=tap OFFLOAD=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --tun) MODE=tun; shift ;;
    --offload) OFFLOAD=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
CMD=("$@")
[[ $(id -u) -eq 0 ]] || { echo "$ME: must run as root" >&2; exit 1; }

ID=$$
PFX=${LAB_NS_PREFIX:-bench} # LAB_NS_PREFIX: labs run side by side never collide
NS_A=$PFX-a-$ID NS_B=$PFX-b-$ID NS_M=$PFX-m-$ID
LAB_DIR=$(mktemp -d /tmp/tunlat-fwdlab.XXXXXX)
NSES=()
FWD_PID="" CMD_PID="" WAIT_PID="" SIGNAL=""

cleanup() {
  local rc=$? ns
  trap - EXIT INT TERM
  set +e
  if [[ -n $SIGNAL ]]; then rc=$([[ $SIGNAL == INT ]] && echo 130 || echo 143); fi
  # On Ctrl-C CMD got SIGINT too: give it 5 s to finish (e.g. print a report).
  [[ -n $CMD_PID ]] && { [[ $SIGNAL == INT ]] && wait_gone "$CMD_PID" 50; stop_tree "$CMD_PID"; }
  [[ -n $WAIT_PID ]] && stop_tree "$WAIT_PID"
  [[ -n $FWD_PID ]] && stop_tree "$FWD_PID"
  for ns in "${NSES[@]}"; do bench_del_ns "$ns"; done
  wait 2>/dev/null
  if [[ ${LAB_KEEP_DIR:-0} == 1 ]]; then echo "$ME: logs kept in $LAB_DIR" >&2; else rm -rf "$LAB_DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'SIGNAL=INT; exit 130' INT
trap 'SIGNAL=TERM; exit 143' TERM

die() {
  echo "$ME: $1" >&2
  [[ -n ${2:-} && -s $2 ]] && { echo "--- tail of $2 ---" >&2; tail -n 25 "$2" >&2; }
  exit 1
}

for t in ip iperf3 gcc jq; do command -v "$t" >/dev/null || die "'$t' not found (run tools/setup.sh)"; done
FWD_BIN=$(find_fwd "$LAB_DIR") || die "cannot build bench/fwd.c"

for ns in "$NS_A" "$NS_B" "$NS_M"; do
  bench_make_ns "$ns" || die "cannot create namespace $ns"
  NSES+=("$ns")
done

log=$LAB_DIR/fwd.log
fwd_args=()
[[ $MODE == tun ]] && fwd_args+=(--tun)
# FWD_DROP_EVERY=N: fwd drops every Nth packet from A to B (loss for TCP to recover from).
[[ -n ${FWD_DROP_EVERY:-} ]] && fwd_args+=(--drop-every "$FWD_DROP_EVERY")
((OFFLOAD)) && fwd_args+=(--offload)
ip netns exec "$NS_M" "$FWD_BIN" "${fwd_args[@]}" --ready-file "$LAB_DIR/fwd.pid" tA tB \
  </dev/null >"$log" 2>&1 &
FWD_PID=$!
wait_ready "$LAB_DIR/fwd.pid" "$FWD_PID" || die "fwd exited during setup or was not ready after 5 s" "$log"
FWD_REAL=$(cat "$LAB_DIR/fwd.pid") # the fwd process itself (ip netns exec execs it: same pid)

setup_side() { # setup_side DEV NS ADDR
  ip -n "$NS_M" link set "$1" netns "$2" || die "cannot move $1 into $2"
  ip netns exec "$2" sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" >/dev/null
  ip -n "$2" addr add "$3/24" dev "$1"
  ip -n "$2" link set "$1" up
}
setup_side tA "$NS_A" 10.77.0.1
setup_side tB "$NS_B" 10.77.0.2

deadline=$((SECONDS + 10))
until ip netns exec "$NS_A" ping -n -c1 -W1 10.77.0.2 >/dev/null 2>&1; do
  alive "$FWD_PID" || die "fwd died during setup" "$log"
  ((SECONDS < deadline)) || die "no ping reply from 10.77.0.2 through fwd after 10 s" "$log"
  sleep 0.2
done

LAB_NS=$NS_A LAB_DEV=tA LAB_OWNER_PID=$FWD_REAL LAB_PEER_IP=10.77.0.2 LAB_PEER_NS=$NS_B LAB_MODE=$MODE
export LAB_NS LAB_DEV LAB_OWNER_PID LAB_PEER_IP LAB_PEER_NS LAB_DIR LAB_MODE

if ((${#CMD[@]} == 0)); then
  cat <<EOF
Forwarder lab ($MODE) is up. In another shell:

  export LAB_NS=$LAB_NS LAB_DEV=$LAB_DEV LAB_OWNER_PID=$LAB_OWNER_PID
  export LAB_PEER_IP=$LAB_PEER_IP LAB_PEER_NS=$LAB_PEER_NS

  sudo build/tunlat trace --netns \$LAB_NS --dev \$LAB_DEV
  sudo ip netns exec \$LAB_PEER_NS iperf3 -s -1 &
  sudo ip netns exec \$LAB_NS iperf3 -c \$LAB_PEER_IP -t 5

Press Ctrl-C to tear the lab down.
EOF
else
  echo "$ME: lab up (ns $LAB_NS, dev $LAB_DEV, fwd pid $LAB_OWNER_PID, $MODE)" >&2
fi
run_lab_cmd "${CMD[@]}"

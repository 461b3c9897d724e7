#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lab.sh - bring up a throwaway tun/tap lab in private network namespaces, run a
# command against it, tear everything down.
#
#   tools/lab.sh LAB [-- CMD ARGS...]      LAB = seed000 | openvpn-tap | openvpn-tun
#
# CMD runs in the host namespace with LAB_NS, LAB_DEV, LAB_OWNER_PID, LAB_PEER_IP,
# LAB_PEER_NS and LAB_DIR exported; lab.sh exits with CMD's status. Without CMD it
# prints those variables and waits for Ctrl-C. All traffic stays inside the
# namespaces created here. Set LAB_KEEP_DIR=1 to keep LAB_DIR (logs) afterwards.
# LAB_NS_PREFIX (default tl) starts the namespaces' names, so that labs run side by side
# never collide; LAB_SHIFT_IFINDEX=1 creates a veth pair in the peer namespace first, so
# that its device's ifindex differs from the traced one's (the same otherwise).
# SC2317: functions run from traps look unreachable; SC2086: pid lists split on purpose.
# shellcheck disable=SC2317,SC2086
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=proc.sh
source "$SCRIPT_DIR/proc.sh"
ME=lab.sh

usage() {
  echo "usage: $ME seed000|openvpn-tap|openvpn-tun [-- CMD ARGS...]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
LAB=$1
shift
case $LAB in seed000 | openvpn-tap | openvpn-tun) ;; -h | --help) usage ;; *) usage ;; esac
if [[ $# -gt 0 ]]; then
  [[ $1 == -- ]] || usage
  shift
fi
CMD=("$@")

[[ $(id -u) -eq 0 ]] || { echo "$ME: must run as root" >&2; exit 1; }

ID=$$
PFX=${LAB_NS_PREFIX:-tl}
LAB_DIR=$(mktemp -d /tmp/tunlat-lab.XXXXXX)
PIDS=()      # lab daemons we started (tapreader/openvpn/iperf3)
NSES=()      # namespaces we created
CMD_PID=""   # the user's command
WAIT_PID=""  # the idle "sleep" when there is no CMD
SIGNAL=""

cleanup() {
  local rc=$? p ns
  trap - EXIT INT TERM
  set +e
  if [[ -n $SIGNAL ]]; then rc=$([[ $SIGNAL == INT ]] && echo 130 || echo 143); fi
  # On Ctrl-C the command got SIGINT too; let it finish (e.g. print its report).
  if [[ -n $CMD_PID ]]; then
    if [[ $SIGNAL == INT ]]; then finish_tree "$CMD_PID" 50; else stop_tree "$CMD_PID"; fi
  fi
  [[ -n $WAIT_PID ]] && stop_tree "$WAIT_PID"
  for p in "${PIDS[@]}"; do stop_tree "$p"; done
  # Anything else still inside our namespaces was started by CMD: end it too,
  # otherwise the namespace (and its devices) would outlive us.
  for ns in "${NSES[@]}"; do
    p=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n $p ]] && kill -KILL $p 2>/dev/null
  done
  wait 2>/dev/null
  # Deleting a namespace also destroys its veth end and any tun/tap in it.
  for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [[ ${LAB_KEEP_DIR:-0} == 1 ]]; then
    echo "$ME: logs kept in $LAB_DIR" >&2
  else
    rm -rf "$LAB_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'SIGNAL=INT; exit 130' INT
trap 'SIGNAL=TERM; exit 143' TERM

die() { # die MSG [LOGFILE]: one clear line, then the log tail if any
  echo "$ME: $1" >&2
  if [[ -n ${2:-} && -s $2 ]]; then
    echo "--- tail of $2 ---" >&2
    tail -n 25 "$2" >&2
    [[ ${LAB_KEEP_DIR:-0} == 1 ]] || echo "(rerun with LAB_KEEP_DIR=1 to keep $LAB_DIR)" >&2
  fi
  exit 1
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (run tools/setup.sh)"; }

# A namespace with only loopback and no IPv6, so nothing chatters on our devices.
make_ns() {
  local ns=$1
  ip netns add "$ns" || die "cannot create namespace $ns"
  NSES+=("$ns")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  ip -n "$ns" link set lo up
}

# Bounded wait for the device path to pass one ping to the peer.
wait_ping() { # wait_ping NS IP SECONDS LOG PID NAME
  local ns=$1 ip=$2 secs=$3 log=$4 pid=$5 name=$6 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    alive "$pid" || die "lab $LAB: $name (pid $pid) died during setup" "$log"
    if ip netns exec "$ns" ping -n -c1 -W1 "$ip" >/dev/null 2>&1; then return 0; fi
    sleep 0.2 # ping can fail fast (e.g. device not up yet): don't spin
  done
  die "lab $LAB: no ping reply from $ip in namespace $ns after ${secs}s" "$log"
}

find_tapreader() {
  local t=${TAPREADER:-$REPO_ROOT/build/tools/tapreader}
  if [[ -x $t ]]; then
    echo "$t"
    return
  fi
  # Not built yet (or $TAPREADER wrong): build a private copy, it has no deps.
  need gcc
  gcc -Wall -Wextra -O2 -o "$LAB_DIR/tapreader" "$SCRIPT_DIR/tapreader.c" "$SCRIPT_DIR/tapreader_hold.c" \
    >"$LAB_DIR/tapreader-build.log" 2>&1 \
    || die "cannot build tapreader" "$LAB_DIR/tapreader-build.log"
  echo "$LAB_DIR/tapreader"
}

up_seed000() {
  need ping
  local tr ns=$PFX-s-$ID dev=tap99 log=$LAB_DIR/tapreader.log
  tr=$(find_tapreader)
  make_ns "$ns"
  ip netns exec "$ns" "$tr" --dev "$dev" --reply --ready-file "$LAB_DIR/tapreader.pid" \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ready "$LAB_DIR/tapreader.pid" "$pid" \
    || die "tapreader exited during setup or was not ready after 5 s" "$log"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null
  ip -n "$ns" addr add 1.1.1.2/30 dev "$dev"
  ip -n "$ns" link set "$dev" up
  # Fake peer MAC: tapreader swaps MACs, so replies come back to tap99's own MAC.
  ip -n "$ns" neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev "$dev" nud permanent
  wait_ping "$ns" 1.1.1.1 5 "$log" "$pid" tapreader
  LAB_NS=$ns LAB_DEV=$dev LAB_OWNER_PID=$pid LAB_PEER_IP=1.1.1.1 LAB_PEER_NS=""
}

up_openvpn() {
  local kind=$1 # tap | tun
  need openvpn
  need iperf3
  need ping
  local a=$PFX-a-$ID b=$PFX-b-$ID dev=${kind}0 key=$LAB_DIR/static.key
  make_ns "$a"
  make_ns "$b"
  if [[ ${LAB_SHIFT_IFINDEX:-0} == 1 ]]; then
    ip -n "$b" link add sh0 type veth peer name sh1 || die "cannot create veth pair in $b"
  fi
  # Underlay: a veth pair created directly inside the two namespaces.
  ip link add ul0 netns "$a" type veth peer name ul0 netns "$b" \
    || die "cannot create veth pair"
  ip -n "$a" addr add 10.99.0.1/24 dev ul0
  ip -n "$b" addr add 10.99.0.2/24 dev ul0
  ip -n "$a" link set ul0 up
  ip -n "$b" link set ul0 up

  openvpn --genkey secret "$key" >"$LAB_DIR/genkey.log" 2>&1 \
    || die "openvpn --genkey failed" "$LAB_DIR/genkey.log"

  local side ns local_ip remote_ip ifc log pid owner="" peer_owner=""
  for side in a b; do
    if [[ $side == a ]]; then
      ns=$a local_ip=10.99.0.1 remote_ip=10.99.0.2
      if [[ $kind == tap ]]; then ifc=(10.8.0.1 255.255.255.0); else ifc=(10.8.0.1 10.8.0.2); fi
    else
      ns=$b local_ip=10.99.0.2 remote_ip=10.99.0.1
      if [[ $kind == tap ]]; then ifc=(10.8.0.2 255.255.255.0); else ifc=(10.8.0.2 10.8.0.1); fi
    fi
    log=$LAB_DIR/openvpn-$side.log
    # LAB_OPENVPN_ARGS: extra options for side a's openvpn (e.g. "--shaper 200000").
    local extra=()
    [[ $side == a && -n ${LAB_OPENVPN_ARGS:-} ]] && read -r -a extra <<<"$LAB_OPENVPN_ARGS"
    # Static-key p2p. 2.6 notes: BF-CBC (the old default) is gone with OpenSSL 3,
    # so --cipher is required, and listing it in --data-ciphers avoids a warning.
    # --disable-dco: data must flow through the tun fd, which is what we trace.
    ip netns exec "$ns" openvpn \
      --dev "$dev" --dev-type "$kind" --ifconfig "${ifc[@]}" \
      --secret "$key" --cipher AES-256-CBC --data-ciphers AES-256-CBC --auth SHA256 \
      --disable-dco --proto udp --local "$local_ip" --lport 1194 \
      --remote "$remote_ip" --rport 1194 \
      --verb 3 --log "$log" --writepid "$LAB_DIR/openvpn-$side.pid" "${extra[@]}" \
      </dev/null >/dev/null 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if [[ $side == a ]]; then owner=$pid; else peer_owner=$pid; fi
  done

  wait_ping "$a" 10.8.0.2 15 "$LAB_DIR/openvpn-a.log" "$owner" "openvpn in $a"
  alive "${PIDS[-1]}" || die "openvpn in $b died" "$LAB_DIR/openvpn-b.log"

  # iperf3 server on the far side of the tunnel.
  log=$LAB_DIR/iperf3-server.log
  ip netns exec "$b" iperf3 -s </dev/null >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local i
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$b" ss -Hltn 'sport = :5201' 2>/dev/null | grep -q . && break
    alive "$pid" || die "iperf3 server exited" "$log"
    sleep 0.1
  done
  ((i < 50)) || die "iperf3 server not listening after 5s" "$log"

  LAB_NS=$a LAB_DEV=$dev LAB_OWNER_PID=$owner LAB_PEER_IP=10.8.0.2 LAB_PEER_NS=$b
  LAB_PEER_OWNER_PID=$peer_owner
}

need ip
case $LAB in
  seed000) up_seed000 ;;
  openvpn-tap) up_openvpn tap ;;
  openvpn-tun) up_openvpn tun ;;
esac
export LAB_NS LAB_DEV LAB_OWNER_PID LAB_PEER_IP LAB_PEER_NS LAB_PEER_OWNER_PID LAB_DIR

if ((${#CMD[@]} == 0)); then
  cat <<EOF
Lab '$LAB' is up. In another shell:

  export LAB_NS=$LAB_NS LAB_DEV=$LAB_DEV LAB_OWNER_PID=$LAB_OWNER_PID
  export LAB_PEER_IP=$LAB_PEER_IP LAB_PEER_NS=$LAB_PEER_NS LAB_DIR=$LAB_DIR

  sudo build/tunlat trace --netns \$LAB_NS --dev \$LAB_DEV
  sudo ip netns exec \$LAB_NS ping -c 5 \$LAB_PEER_IP
EOF
  if [[ -n $LAB_PEER_NS ]]; then
    echo "  sudo ip netns exec \$LAB_NS iperf3 -c \$LAB_PEER_IP -t 5"
  fi
  echo
  echo "Press Ctrl-C to tear the lab down."
else
  echo "$ME: lab $LAB up (ns $LAB_NS, dev $LAB_DEV, owner pid $LAB_OWNER_PID)" >&2
fi
run_lab_cmd "${CMD[@]}"

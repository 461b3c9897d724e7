# SPDX-License-Identifier: MIT
# bench/lib.sh - shell helpers shared by the bench scripts (sourced, not run).
# Process handling (alive, wait_gone, stop_tree, run_lab_cmd...) is tools/proc.sh, shared
# with tools/lab.sh: only ever signal processes we started.
# shellcheck shell=bash disable=SC2317,SC2086

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tools/proc.sh
source "$BENCH_DIR/../tools/proc.sh"

# A namespace with only loopback and no IPv6, so nothing chatters on our devices.
bench_make_ns() {
  ip netns add "$1" || return 1
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  ip -n "$1" link set lo up
}

# Kill whatever still runs inside a namespace, then delete it.
bench_del_ns() {
  local p
  p=$(ip netns pids "$1" 2>/dev/null || true)
  [[ -n $p ]] && kill -KILL $p 2>/dev/null
  ip netns del "$1" 2>/dev/null || true
}

# wait_for_line FILE REGEX TENTHS PID: until FILE matches, PID dies, or time runs out.
wait_for_line() {
  local f=$1 re=$2 n=$3 pid=$4
  while ((n-- > 0)); do
    grep -qE "$re" "$f" 2>/dev/null && return 0
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# wait_listen NS PORT TENTHS PID [tcp|udp]: until something listens on PORT in NS.
wait_listen() {
  local ns=$1 port=$2 n=$3 pid=$4
  while ((n-- > 0)); do
    ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# Finds or builds bench/fwd (no deps beyond libc+pthreads). Prints its path.
find_fwd() {
  local out=$1 f
  for f in "${FWD:-}" "$BENCH_DIR/build/bench/fwd" "$REPO_ROOT/build/bench/fwd"; do
    [[ -n $f && -x $f && $f -nt $BENCH_DIR/fwd.c ]] && { echo "$f"; return 0; }
  done
  gcc -Wall -Wextra -O2 -pthread -o "$out/fwd" "$BENCH_DIR/fwd.c" >"$out/fwd-build.log" 2>&1 || {
    cat "$out/fwd-build.log" >&2
    return 1
  }
  echo "$out/fwd"
}

# The bpf prog ids a process holds (from /proc/PID/fdinfo: works without bpftool's pid support).
prog_ids_of() {
  grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# The bpf map ids a process holds.
map_ids_of() {
  grep -h '^map_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# Whole-machine busy CPU ticks (user+nice+system+irq+softirq) from /proc/stat.
cpu_busy_ticks() {
  awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat
}

# tx_packets+rx_packets of DEV in NS.
dev_packets() {
  ip -n "$1" -s -j link show dev "$2" | jq '.[0].stats64 | .tx.packets + .rx.packets'
}

# Processes other than ours that use much CPU right now (for the "machine is busy" check).
busy_others() { # busy_others THRESHOLD_PERCENT
  top -bn2 -d1 | awk -v t="$1" '/^top -/{n++} n==2 && $1 ~ /^[0-9]+$/ && $9+0 >= t {print $1, $9"%", $12}'
}

# Network namespaces other than the ones named in $OURS_NS (space-separated): another
# lab or kernel test running at the same time.
foreign_netns() {
  local n
  for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ " $OURS_NS " == *" $n "* ]] || echo "$n"
  done
}

# wait_quiet MAXSECS: until no other process uses >= 25 % CPU and no foreign namespace
# exists, at most MAXSECS. Prints what was busy (if anything) and returns 1 on timeout.
wait_quiet() {
  local deadline=$((SECONDS + $1)) busy
  while :; do
    busy="$(busy_others 25 | tr '\n' ';')$(foreign_netns | sed 's/^/netns /' | tr '\n' ';')"
    [[ -z $busy ]] && return 0
    if ((SECONDS >= deadline)); then
      echo "$busy"
      return 1
    fi
    sleep 5
  done
}

# utime+stime (clock ticks) of a whole process, all threads; empty if it is gone.
proc_cpu_ticks() {
  sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | awk '{print $12 + $13}'
}

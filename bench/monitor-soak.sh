#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# monitor-soak.sh - does `tunlat monitor` stay small while devices come and go? (issue 26)
#
#   bench/monitor-soak.sh [MINUTES]     (default 30)
#
# Every 10 s a namespace of its own gets a tap read by tools/tapreader (replying), carries
# 100 pings a second for 5 s, and is deleted; the monitor watches those namespaces. Every
# 30 s: the monitor's RSS, its CPU time so far, how long /metrics took and its lines.
# Prints a line per sample and a last verdict line. Must run as root; needs a build
# (TUNLAT, TAPREADER: default build/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TUNLAT=${TUNLAT:-$ROOT/build/tunlat}
TAPREADER=${TAPREADER:-$ROOT/build/tools/tapreader}
SECS=$(( ${1:-30} * 60 ))
PORT=${PORT:-29555}
PFX=soak$$
[[ $(id -u) == 0 ]] || { echo "monitor-soak.sh: needs root" >&2; exit 1; }
[[ -x $TUNLAT && -x $TAPREADER ]] || { echo "monitor-soak.sh: build first ($TUNLAT, $TAPREADER)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/tunlat-soak.XXXXXX)

"$TUNLAT" monitor --listen "127.0.0.1:$PORT" --dev "$PFX-*/*" >"$WORK/monitor.err" 2>&1 &
MON=$!
cleanup() {
  kill "$MON" 2>/dev/null || true
  for n in $(ip netns list | awk -v p="$PFX-" 'index($1, p) == 1 { print $1 }'); do
    ip netns pids "$n" | xargs -r kill 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
sleep 2
kill -0 "$MON" 2>/dev/null || { cat "$WORK/monitor.err" >&2; exit 1; }

hz=$(getconf CLK_TCK)
first_rss=
sample() {
  local rss cpu t0 t1 lines
  rss=$(awk '/VmRSS/ { print $2 }' "/proc/$MON/status")
  cpu=$(awk -v hz="$hz" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$MON/stat")
  t0=$(date +%s%N)
  lines=$(curl -s "127.0.0.1:$PORT/metrics" | wc -l)
  t1=$(date +%s%N)
  : "${first_rss:=$rss}"
  last_rss=$rss last_cpu=$cpu
  echo "t=${SECONDS}s rss_kb=$rss cpu_s=$cpu metrics_ms=$(((t1 - t0) / 1000000)) lines=$lines"
}

i=0 next=0
while ((SECONDS < SECS)); do
  i=$((i + 1))
  ns=$PFX-$i dev=tap$((i % 7))
  ip netns add "$ns"
  ip netns exec "$ns" "$TAPREADER" --dev "$dev" --reply --ready-file "$WORK/$i.pid" >/dev/null 2>&1 &
  for _ in $(seq 30); do [[ -s $WORK/$i.pid ]] && break; sleep 0.1; done
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add 1.1.1.2/30 dev "$dev"
  ip -n "$ns" link set "$dev" up
  ip -n "$ns" neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev "$dev" nud permanent
  ip netns exec "$ns" ping -q -i 0.01 -c 400 1.1.1.1 >/dev/null 2>&1 &
  sleep 5
  ip netns pids "$ns" | xargs -r kill
  sleep 0.2
  ip netns del "$ns"
  sleep 5
  if ((SECONDS >= next)); then sample; next=$((SECONDS + 30)); fi
done
sample
echo "monitor-soak: $i devices came and went in $((SECS / 60)) min; RSS ${first_rss} -> ${last_rss} kB;" \
  "CPU $(awk -v c="$last_cpu" -v s="$SECONDS" 'BEGIN { printf "%.2f", 100 * c / s }') % of one"

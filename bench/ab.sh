#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ab.sh - compare tunlat builds on the kernel's own clock: each binary traces the
# forwarder lab in turn (alternated, REPS rounds) under iperf3, with bpf_stats on, and
# prints BPF ns per device packet, ns/hit per program, the tracer's CPU, throughput and
# the whole machine's busy CPU seconds per million device packets, then each binary's
# medians. For judging one change (build it, copy the
# binary, build the other): the VM's noise moves whole rounds together, so compare
# binaries within a round. bpf_stats itself reads the clock twice per hit, which slows
# the traced path: --no-stats leaves it off, for throughput that means something.
#
#   bench/ab.sh [--reps N] [--secs S] [--udp] [--no-stats] BINARY...
#
# Must run as root.
# shellcheck disable=SC2317,SC2086
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ME=ab.sh
PORT=5302

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Inside the lab (bench/fwdlab.sh exports LAB_*): the rounds.
inner() {
  local rep b tr srv c0 c1 m0 m1 p0 p1 pk ids stats mbps cpm args=()
  [[ $AB_UDP == 1 ]] && args=(-u -b 0 -l 64)
  trap 'stop_tree "${tr:-}" KILL 5; stop_tree "${srv:-}" KILL 5; sysctl -qw kernel.bpf_stats_enabled=0' EXIT
  for rep in $(seq "$AB_REPS"); do
    for b in $AB_BINS; do
      ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p $PORT >/dev/null 2>&1 &
      srv=$!
      wait_listen "$LAB_PEER_NS" $PORT 100 "$srv" || { echo "$ME: iperf3 server did not start" >&2; exit 1; }
      "$b" trace --netns "$LAB_NS" --dev "$LAB_DEV" -q --json "$AB_OUT/out.json" >"$AB_OUT/tracer.err" 2>&1 &
      tr=$!
      wait_for_line "$AB_OUT/tracer.err" '^tunlat: tracing' 300 "$tr" || { cat "$AB_OUT/tracer.err" >&2; exit 1; }
      [[ $AB_STATS == 1 ]] && sysctl -qw kernel.bpf_stats_enabled=1
      c0=$(proc_cpu_ticks "$tr") m0=$(cpu_busy_ticks) p0=$(dev_packets "$LAB_NS" "$LAB_DEV")
      ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p $PORT -t "$AB_SECS" "${args[@]}" -J >"$AB_OUT/iperf.json"
      c1=$(proc_cpu_ticks "$tr") m1=$(cpu_busy_ticks) p1=$(dev_packets "$LAB_NS" "$LAB_DEV")
      pk=$((p1 - p0))
      stats="(bpf_stats off)"
      if [[ $AB_STATS == 1 ]]; then
        ids=$(prog_ids_of "$tr" | jq -s -c .)
        stats=$(bpftool prog show -j | jq -r --argjson ids "$ids" --argjson pk "$pk" '
        [.[] | select(.id as $i | $ids | index($i)) | select(.run_cnt > 0)] as $p
        | "\([$p[].run_time_ns] | add / $pk | floor) ns/pkt  "
          + ([$p[] | select(.run_cnt * 100 > $pk)
              | "\(.name | sub("^on_"; ""))=\(.run_cnt / $pk * 100 | floor / 100)x\(.run_time_ns / .run_cnt | floor)"]
             | join(" "))')
      fi
      sysctl -qw kernel.bpf_stats_enabled=0
      mbps=$(jq -r '(.end.sum_received.bits_per_second // .end.sum.bits_per_second) / 1e6 | floor' "$AB_OUT/iperf.json")
      stop_tree "$tr" INT 10
      wait "$srv" 2>/dev/null || true
      # Busy CPU seconds of the whole machine per million device packets.
      cpm=$(awk -v t=$((m1 - m0)) -v hz="$(getconf CLK_TCK)" -v pk="$pk" 'BEGIN { printf "%.2f", t / hz / pk * 1e6 }')
      printf '%-28s round %d  %s Mbit/s  %s CPU s/Mpkt  tracer %d%% CPU  %s\n' "$(basename "$b")" "$rep" "$mbps" \
        "$cpm" $(( (c1 - c0) * 100 / $(getconf CLK_TCK) / AB_SECS )) "$stats"
      echo "$(basename "$b") $mbps $cpm" >>"$AB_OUT/mbps"
    done
  done
  for b in $AB_BINS; do
    b=$(basename "$b")
    paste <(awk -v b="$b" '$1 == b { print $2 }' "$AB_OUT/mbps" | sort -n) \
      <(awk -v b="$b" '$1 == b { print $3 }' "$AB_OUT/mbps" | sort -n) |
      awk -v b="$b" '{ v[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2)
        printf "%-28s median %s Mbit/s (%s-%s), %s CPU s/Mpkt (%s-%s), %d rounds\n", b, v[m], v[1], v[NR], c[m], c[1], c[NR], NR }'
  done
}

if [[ ${1:-} == --_inner ]]; then
  inner
  exit 0
fi

REPS=3 SECS=6 UDP=0 STATS=1 BINS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) REPS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --udp) UDP=1; shift ;;
    --no-stats) STATS=0; shift ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) BINS+=("$(realpath "$1")"); shift ;;
  esac
done
((${#BINS[@]})) || usage
[[ $REPS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ ]] || usage
[[ $(id -u) -eq 0 ]] || { echo "$ME: must run as root" >&2; exit 1; }
for b in "${BINS[@]}"; do [[ -x $b ]] || { echo "$ME: no tunlat binary at $b" >&2; exit 1; }; done
for t in iperf3 bpftool jq; do
  command -v "$t" >/dev/null || { echo "$ME: '$t' not found (run tools/setup.sh)" >&2; exit 1; }
done
AB_OUT=$(mktemp -d /tmp/tunlat-ab.XXXXXX)
export AB_OUT AB_REPS=$REPS AB_SECS=$SECS AB_UDP=$UDP AB_STATS=$STATS AB_BINS="${BINS[*]}"
"$BENCH_DIR/fwdlab.sh" -- "$BENCH_DIR/ab.sh" --_inner

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memory.sh - does tunlat's memory stay flat under a long full-rate trace?
#
#   bench/memory.sh [MINUTES] [--quick]        (default 10 minutes; --quick: 1 minute)
#
# Runs tunlat on the forwarder lab (bench/fwdlab.sh) while iperf3 sends 64-byte UDP
# datagrams at full rate for MINUTES, samples tunlat's RSS every 10 s and writes the table
# (time, RSS, packets through the device, events lost) to bench/memory.md with a verdict.
# Must run as root.
# shellcheck disable=SC2317,SC2086
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ME=memory.sh
PORT=5302
INTERVAL=10

die() {
  echo "$ME: $1" >&2
  [[ -n ${2:-} && -s $2 ]] && { echo "--- tail of $2 ---" >&2; tail -n 20 "$2" >&2; }
  exit 1
}

# Sum over CPUs of tunlat's BPF counter TL_CNT_LOST (events not written: their ring was full).
lost_now() { # lost_now MAP_ID IDX
  bpftool map lookup id "$1" key "$2" 0 0 0 -j 2>/dev/null |
    jq '[(.formatted.values // .values)[] | .value | if type == "array" then 0 else . end] | add // 0' 2>/dev/null || echo null
}

inner() {
  : "${MEM_OUT:?}" "${MEM_SECS:?}" "${TUNLAT:?}"
  local d=$MEM_OUT tr srv cli
  pids=() # global: the EXIT trap may run after inner() has returned
  inner_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    set +e
    for p in "${pids[@]}"; do stop_tree "$p" KILL 5; done
    exit "$rc"
  }
  trap inner_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  "$TUNLAT" trace --netns "$LAB_NS" --dev "$LAB_DEV" -q --json "$d/tunlat.json" \
    </dev/null >"$d/tunlat.out" 2>"$d/tunlat.err" &
  tr=$!
  pids+=("$tr")
  wait_for_line "$d/tunlat.err" '^tunlat: tracing' 300 "$tr" || die "tunlat did not start" "$d/tunlat.err"

  # The counters map (by name) among the maps tunlat holds; TL_CNT_LOST's index from tunlat.h.
  local map="" m idx
  for m in $(map_ids_of "$tr"); do
    [[ $(bpftool map show id "$m" -j | jq -r .name) == counters ]] && map=$m
  done
  idx=$(sed -n 's/.*TL_CNT_LOST *= *\([0-9]*\).*/\1/p' "$REPO_ROOT/bpf/tunlat.h" | head -1)
  [[ -n $map && -n $idx ]] || echo "$ME: warning: tunlat's counters map not found; lost column empty" >&2

  ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p "$PORT" </dev/null >"$d/server.log" 2>&1 &
  srv=$!
  pids+=("$srv")
  wait_listen "$LAB_PEER_NS" "$PORT" 100 "$srv" || die "iperf3 server did not start" "$d/server.log"
  ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p "$PORT" -u -b 0 -l 64 -t "$MEM_SECS" \
    </dev/null >"$d/client.log" 2>&1 &
  cli=$!
  pids+=("$cli")

  local t0=$SECONDS p0 t rss hwm pk lost
  p0=$(dev_packets "$LAB_NS" "$LAB_DEV")
  : >"$d/samples.tsv"
  while :; do
    t=$((SECONDS - t0))
    alive "$tr" || die "tunlat died after ${t}s" "$d/tunlat.err"
    rss=$(awk '/^VmRSS:/{print $2}' /proc/"$tr"/status)
    hwm=$(awk '/^VmHWM:/{print $2}' /proc/"$tr"/status)
    pk=$(($(dev_packets "$LAB_NS" "$LAB_DEV") - p0))
    lost=null
    [[ -n $map && -n $idx ]] && lost=$(lost_now "$map" "$idx")
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$hwm" "$pk" "$lost" >>"$d/samples.tsv"
    printf '%s: %4ss  RSS %6.1f MB  packets %10s  lost %s\n' "$ME" "$t" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$pk" "$lost" >&2
    ((t >= MEM_SECS)) && break
    alive "$cli" || { echo "$ME: iperf3 client ended early" >&2; tail -3 "$d/client.log" >&2; break; }
    sleep $((INTERVAL - (SECONDS - t0) % INTERVAL))
  done
  wait_gone "$cli" 300 || stop_tree "$cli" KILL 10
  wait_gone "$srv" 100 || stop_tree "$srv" KILL 10
  stop_tree "$tr" INT 600
  wait 2>/dev/null || true
  pids=()
}

if [[ ${1:-} == --_inner ]]; then
  inner
  exit 0
fi

MINUTES=10
for a in "$@"; do
  case $a in
    --quick) MINUTES=1 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) [[ $a =~ ^[1-9][0-9]*$ ]] || { echo "usage: $ME [MINUTES] [--quick]" >&2; exit 2; }; MINUTES=$a ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root"
for t in ip jq iperf3 bpftool cmake gcc; do command -v "$t" >/dev/null || die "'$t' not found (run tools/setup.sh)"; done

OUT=$BENCH_DIR/out/memory-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
BUILD=${BENCH_BUILD:-$BENCH_DIR/build}
TUNLAT_GIVEN=${TUNLAT:-}
# The source measured, taken before the run (others may commit meanwhile).
REV=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
[[ -n ${TUNLAT_GIVEN:-} ]] && REV="$REV (tree at start; binary $TUNLAT_GIVEN given)"
if [[ -z ${TUNLAT:-} ]]; then
  echo "$ME: building tunlat (Release) in $BUILD" >&2
  { cmake -S "$REPO_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTUNLAT_TESTS=OFF &&
    cmake --build "$BUILD" -j2 --target tunlat bench_fwd; } >"$OUT/build.log" 2>&1 || die "build failed" "$OUT/build.log"
  TUNLAT=$BUILD/tunlat
fi
[[ -x $BUILD/bench/fwd ]] && export FWD=$BUILD/bench/fwd
busy=$(busy_others 50)
export MEM_OUT=$OUT MEM_SECS=$((MINUTES * 60)) TUNLAT
echo "$ME: tracing the forwarder lab under iperf3 UDP 64 B at full rate for $MINUTES min" >&2
"$BENCH_DIR/fwdlab.sh" -- "$BENCH_DIR/memory.sh" --_inner || die "the lab failed"

# Flat? After a warm-up of one third of the run (at least 20 s), RSS must not grow by more
# than max(2 MB, 5 %) up to the end.
samples=$OUT/samples.tsv
[[ -s $samples ]] || die "no samples"
verdict=$(awk -F'\t' -v secs=$((MINUTES * 60)) '
  { t[NR] = $1; r[NR] = $2 / 1024; n = NR }
  END {
    w = secs / 3; if (w < 20) w = 20
    for (i = 1; i <= n; i++) if (t[i] >= w) { k = i; break }
    if (!k) { print "too short to judge"; exit }
    lo = r[k]; hi = r[k]; for (i = k; i <= n; i++) { if (r[i] > hi) hi = r[i]; if (r[i] < lo) lo = r[i] }
    grow = r[n] - r[k]; lim = r[k] * 0.05; if (lim < 2) lim = 2
    printf "%s: after %d s of warm-up RSS went from %.1f MB to %.1f MB (min %.1f, max %.1f, change %+.1f MB; limit %.1f MB)",
      (grow <= lim && hi - r[k] <= lim) ? "FLAT" : "GROWING", t[k], r[k], r[n], lo, hi, grow, lim
  }' "$samples")
{
  echo "# tunlat memory over time"
  echo
  echo "\`bench/memory.sh $MINUTES\` on $(date -u +%FT%TZ), tunlat $REV, Linux $(uname -r), $(nproc) CPUs: \`tunlat trace -q\` on tA of"
  echo "the forwarder lab (bench/fwdlab.sh) while \`iperf3 -u -b 0 -l 64\` runs for $MINUTES min; RSS of the"
  echo "tunlat process (/proc/PID/status VmRSS) every ${INTERVAL} s. packets = tx+rx packets through tA since the"
  echo "start; lost = tunlat's BPF counter of events not written (ring full) at that moment."
  [[ -n $busy ]] && echo && echo "- **Note:** other busy processes at the start: $(echo "$busy" | tr '\n' ';')"
  echo
  echo "| time (s) | RSS (MB) | peak RSS (MB) | packets | lost events |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %d | %.1f | %.1f | %d | %s |\n", $1, $2 / 1024, $3 / 1024, $4, $5 }' "$samples"
  echo
  if [[ -s $OUT/tunlat.json ]]; then
    jq -r '"At the end tunlat reported \(.events.seen) events seen, \(.events.lost) lost, over \(.duration_s | . * 10 | round / 10) s (TX \(.directions.tx.packets) packets, RX \(.directions.rx.packets))."' "$OUT/tunlat.json"
    echo
  fi
  echo "**Verdict: $verdict.**"
} >"$OUT/memory.md"
cp "$OUT/memory.md" "$BENCH_DIR/memory.md"
cat "$BENCH_DIR/memory.md"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - what does tracing cost? tunlat vs an equivalent bpftrace script vs tcpdump vs
# nothing, side by side in one run, on two labs (bench/fwdlab.sh: a userspace tap<->tap
# forwarder; tools/lab.sh openvpn-tap: a real OpenVPN tunnel) under iperf3 TCP and iperf3
# UDP with 64-byte datagrams at full rate. Also: BPF cost per program hit (bpf_stats),
# the cost of hits for unrelated skbs, and the userspace pipeline's packets/s on one core.
#
#   bench/run.sh [--quick] [--reps N] [--secs S] [--labs fwd,openvpn] [--workloads tcp,udp]
#                [--variants untraced,tunlat,...] [--no-stats] [--no-wait] [--out DIR]
#
# Writes bench/results.md (and everything raw under bench/out/TIMESTAMP/) and prints the
# tables. See bench/README.md for what each figure means. Must run as root.
# shellcheck disable=SC2317,SC2086
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ME=run.sh

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "$ME: $1" >&2
  [[ -n ${2:-} && -s $2 ]] && { echo "--- tail of $2 ---" >&2; tail -n 20 "$2" >&2; }
  exit 1
}

VARIANTS=(untraced tunlat tunlat-s10 bpftrace tcpdump floor)
# TUNLAT_BEFORE=path/to/an/older/tunlat: that build runs too, as variant tunlat-before, so
# a change is judged before and after in one run.
[[ -n ${TUNLAT_BEFORE:-} ]] && VARIANTS+=(tunlat-before)
# --variants (BENCH_VARIANTS): these instead, e.g. untraced,floor,monitor (tunlat monitor
# watching the lab's device: its cost beside the floor's).
[[ -n ${BENCH_VARIANTS:-} ]] && read -r -a VARIANTS <<<"${BENCH_VARIANTS//,/ }"
PORT=5301

# ---------------------------------------------------------------------------------------
# Inner part: runs inside a lab (LAB_NS, LAB_DEV, LAB_PEER_IP, LAB_PEER_NS exported by
# fwdlab.sh or lab.sh); settings come from BENCH_* in the environment.
# ---------------------------------------------------------------------------------------
inner() {
  local lab=$1
  : "${BENCH_OUT:?}" "${BENCH_REPS:?}" "${BENCH_SECS:?}" "${BENCH_WORKLOADS:?}" "${TUNLAT:?}"
  local out=$BENCH_OUT/$lab
  mkdir -p "$out"
  # Globals, not locals: the EXIT trap runs after inner() has returned.
  idle_ns=bench-idle-$$ idle_dev=idle0
  STATS_MINE=0 # 1 while bpf_stats is on because we turned it on
  CUR_PIDS=()

  inner_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    set +e
    for p in "${CUR_PIDS[@]}"; do stop_tree "$p" KILL 5; done
    ((STATS_MINE)) && sysctl -qw kernel.bpf_stats_enabled=0
    bench_del_ns "$idle_ns"
    exit "$rc"
  }
  trap inner_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # The "unrelated skbs" device: a tap in a namespace of its own that carries nothing.
  bench_make_ns "$idle_ns" || die "cannot create namespace $idle_ns"
  ip netns exec "$idle_ns" ip tuntap add dev "$idle_dev" mode tap || die "cannot create $idle_dev"
  ip -n "$idle_ns" link set "$idle_dev" up

  local ifx ino idle_ifx idle_ino
  ifx=$(ip -n "$LAB_NS" -j link show dev "$LAB_DEV" | jq '.[0].ifindex')
  ino=$(stat -L -c %i "/run/netns/$LAB_NS")
  # Namespaces of this run (lab, peer, fwdlab's middle one, idle): any other means another
  # lab or test is running on the machine.
  OURS_NS="$LAB_NS $LAB_PEER_NS $idle_ns ${LAB_NS/bench-a-/bench-m-}"
  idle_ifx=$(ip -n "$idle_ns" -j link show dev "$idle_dev" | jq '.[0].ifindex')
  idle_ino=$(stat -L -c %i "/run/netns/$idle_ns")

  # start_tracer VARIANT DIR: starts it, waits until it is attached; sets TR_PID ("" = none).
  start_tracer() {
    local v=$1 d=$2
    TR_PID=""
    case $v in
      untraced) return 0 ;;
      tunlat | tunlat-idle | tunlat-s10 | tunlat-before | tunlat-nomatch | tunlat-nosched | tunlat-cs | tunlat-pcapng)
        local ns=$LAB_NS dev=$LAB_DEV extra=${TR_EXTRA:-} bin=$TUNLAT
        [[ $v == tunlat-before ]] && bin=$TUNLAT_BEFORE
        [[ $v == tunlat-idle ]] && ns=$idle_ns dev=$idle_dev
        [[ $v == tunlat-s10 ]] && extra="$extra --sample 10"
        # A pcap filter no lab packet matches (TEST-NET-1): the cost of packets passed over,
        # against the floor's packet-path programs (the scheduler part is priced apart).
        [[ $v == tunlat-nomatch ]] && extra="$extra --no-sched host 192.0.2.1"
        [[ $v == tunlat-nosched ]] && extra="$extra --no-sched"
        # --pcapng: each followed packet's first 128 bytes sent too, and the file written.
        [[ $v == tunlat-pcapng ]] && extra="$extra --pcapng $d/tunlat.pcapng"
        "$bin" trace --netns "$ns" --dev "$dev" -q --json "$d/tunlat.json" \
          $extra </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
        TR_PID=$!
        CUR_PIDS+=("$TR_PID")
        wait_for_line "$d/tracer.err" '^tunlat: tracing' 300 "$TR_PID" \
          || die "$lab: tunlat did not start" "$d/tracer.err"
        ;;
      bpftrace | bpftrace-idle)
        local i=$ifx n=$ino
        [[ $v == bpftrace-idle ]] && i=$idle_ifx n=$idle_ino
        BPFTRACE_MAP_KEYS_MAX=65536 bpftrace "$BENCH_DIR/equivalent.bt" "$i" "$n" \
          </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
        TR_PID=$!
        CUR_PIDS+=("$TR_PID")
        wait_for_line "$d/tracer.out" '^equivalent.bt: tracing' 600 "$TR_PID" \
          || die "$lab: bpftrace did not start" "$d/tracer.err"
        ;;
      floor | floor-sched-cs)
        [[ -n ${FLOOR:-} ]] || return 0 # not built: no floor figures
        local fargs=()
        [[ $v == floor-sched-cs ]] && fargs=(--sched)
        "$FLOOR" "${fargs[@]}" </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
        TR_PID=$!
        CUR_PIDS+=("$TR_PID")
        wait_for_line "$d/tracer.out" '^floor: tracing' 100 "$TR_PID" \
          || die "$lab: bench/floor did not start" "$d/tracer.err"
        ;;
      monitor | monitor-idle | monitor-before | monitor-s[0-9]*)
        local mdev=$LAB_NS/$LAB_DEV mbin=$TUNLAT margs=()
        [[ $v == monitor-idle ]] && mdev=$idle_ns/$idle_dev
        [[ $v == monitor-before ]] && mbin=$TUNLAT_BEFORE
        [[ $v == monitor-s[0-9]* ]] && margs=(--sample "${v#monitor-s}")
        "$mbin" monitor --dev "$mdev" "${margs[@]}" --listen "127.0.0.1:$((PORT + 1000))" \
          </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
        TR_PID=$!
        CUR_PIDS+=("$TR_PID")
        wait_for_line "$d/tracer.err" '^tunlat: monitoring' 300 "$TR_PID" \
          || die "$lab: tunlat monitor did not start" "$d/tracer.err"
        ;;
      tcpdump)
        ip netns exec "$LAB_NS" tcpdump -i "$LAB_DEV" -w /dev/null \
          </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
        TR_PID=$!
        CUR_PIDS+=("$TR_PID")
        wait_for_line "$d/tracer.err" 'listening on' 100 "$TR_PID" \
          || die "$lab: tcpdump did not start" "$d/tracer.err"
        ;;
      *) die "unknown variant $v" ;;
    esac
    sleep 1 # let the attachment settle
  }

  # The BPF programs a tracer process has attached, with their stats (bpf_stats counters).
  prog_stats() { # prog_stats PID VARIANT
    local pid=$1 v=$2 perf
    perf=$(bpftool perf show -j | jq -c --argjson p "$pid" '[.[] | select(.pid == $p)]')
    bpftool prog show -j | jq -c --argjson perf "$perf" --arg v "$v" '
      [ .[] as $p
        | ($perf[] | select(.prog_id == $p.id)) as $a
        | select(($v | startswith("tunlat") | not) or ($p.name | startswith("on_")))
        | {id: $p.id, tp: $a.tracepoint, run_time_ns: ($p.run_time_ns // 0),
           run_cnt: ($p.run_cnt // 0), recursion_misses: ($p.recursion_misses // 0)} ]'
  }

  # measure WORKLOAD VARIANT REP PROFILE: one iperf3 run; appends a line to runs.jsonl.
  measure() {
    local wl=$1 v=$2 rep=$3 prof=$4 d srv_pid cli_rc=0 c0 c1 p0 p1 t0 t1 s0='[]' s1='[]'
    d=$out/$wl-$v-$([[ $prof == 1 ]] && echo prof || echo "r$rep")
    mkdir -p "$d"
    # Other labs or CPU hogs on the machine distort the figures: wait for quiet (bounded).
    local disturbed="" after
    disturbed=$(wait_quiet "${BENCH_QUIET_WAIT:-300}") || echo "$ME: measuring although the machine is busy: $disturbed" >&2
    printf '%s: %-8s %-4s %-14s %s ... ' "$ME" "$lab" "$wl" "$v" \
      "$([[ $prof == 1 ]] && echo "bpf_stats" || echo "rep $rep")" >&2

    start_tracer "$v" "$d"
    # -cs variants: a process pair switching contexts on CPU 0 beside the workload.
    local sw_pid=""
    if [[ $v == *-cs ]]; then
      "$SWITCHER" 0 </dev/null >"$d/switcher.out" 2>&1 &
      sw_pid=$!
      CUR_PIDS+=("$sw_pid")
      wait_for_line "$d/switcher.out" '^switcher: running' 50 "$sw_pid" || die "$lab: switcher did not start" "$d/switcher.out"
    fi
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p "$PORT" -J </dev/null >"$d/server.json" 2>"$d/server.err" &
    srv_pid=$!
    CUR_PIDS+=("$srv_pid")
    wait_listen "$LAB_PEER_NS" "$PORT" 100 "$srv_pid" || die "$lab: iperf3 server did not start" "$d/server.err"

    local args=(-c "$LAB_PEER_IP" -p "$PORT" -t "$BENCH_SECS" -J)
    [[ $wl == udp ]] && args+=(-u -b 0 -l 64)
    if [[ $prof == 1 && -n $TR_PID ]]; then
      # Another user may have it on already: then leave it on afterwards.
      if [[ $(sysctl -n kernel.bpf_stats_enabled) == 0 ]]; then
        sysctl -qw kernel.bpf_stats_enabled=1
        STATS_MINE=1
      fi
      s0=$(prog_stats "$TR_PID" "$v")
    fi
    local tc0=0 tc1=0
    [[ -n $TR_PID ]] && tc0=$(proc_cpu_ticks "$TR_PID")
    c0=$(cpu_busy_ticks) p0=$(dev_packets "$LAB_NS" "$LAB_DEV") t0=$(date +%s.%N)
    timeout $((BENCH_SECS + 30)) ip netns exec "$LAB_NS" iperf3 "${args[@]}" \
      </dev/null >"$d/client.json" 2>"$d/client.err" || cli_rc=$?
    c1=$(cpu_busy_ticks) p1=$(dev_packets "$LAB_NS" "$LAB_DEV") t1=$(date +%s.%N)
    [[ -n $TR_PID ]] && tc1=$(proc_cpu_ticks "$TR_PID")
    after=$(foreign_netns | sed 's/^/netns /' | tr '\n' ';')
    [[ -n $after ]] && disturbed+="$after"
    if [[ $prof == 1 && -n $TR_PID ]]; then
      s1=$(prog_stats "$TR_PID" "$v")
      ((STATS_MINE)) && sysctl -qw kernel.bpf_stats_enabled=0
      STATS_MINE=0
    fi
    wait_gone "$srv_pid" 100 || stop_tree "$srv_pid" KILL 10
    wait "$srv_pid" 2>/dev/null || true
    [[ -n $sw_pid ]] && { stop_tree "$sw_pid" TERM 10; wait "$sw_pid" 2>/dev/null || true; }

    local tr_alive=1
    if [[ -n $TR_PID ]]; then
      alive "$TR_PID" || tr_alive=0
      stop_tree "$TR_PID" INT 300 # tunlat flushes and writes its JSON; bpftrace prints maps
      wait "$TR_PID" 2>/dev/null || true
    fi

    local lost=null seen=null tdrops=null
    if [[ $v == tunlat* && -s $d/tunlat.json ]]; then
      lost=$(jq '.events.lost' "$d/tunlat.json")
      seen=$(jq '.events.seen' "$d/tunlat.json")
    fi
    if [[ $v == tcpdump ]]; then
      tdrops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$d/tracer.err" | head -1)
      tdrops=${tdrops:-null}
    fi

    jq -nc --arg lab "$lab" --arg wl "$wl" --arg v "$v" --argjson rep "$rep" --argjson prof "$prof" \
      --argjson cli_rc "$cli_rc" --argjson tr_alive "$tr_alive" \
      --argjson tc0 "${tc0:-0}" --argjson tc1 "${tc1:-0}" \
      --argjson c0 "$c0" --argjson c1 "$c1" --argjson hz "$(getconf CLK_TCK)" \
      --argjson p0 "$p0" --argjson p1 "$p1" --argjson t0 "$t0" --argjson t1 "$t1" \
      --arg disturbed "$disturbed" \
      --argjson lost "$lost" --argjson seen "$seen" --argjson tdrops "$tdrops" \
      --argjson s0 "$s0" --argjson s1 "$s1" \
      --slurpfile srv <(jq -c . "$d/server.json" 2>/dev/null || echo '{}') \
      --slurpfile cli <(jq -c . "$d/client.json" 2>/dev/null || echo '{}') '
      ($srv[0] // {}) as $s | ($cli[0] // {}) as $c
      | (if $wl == "udp" then
           ($s.end.sum // {}) as $u
           | (($u.packets // 0) - ($u.lost_packets // 0)) as $rx
           | {secs: ($u.seconds // 0), rx_pkts: $rx,
              bps: (if ($u.seconds // 0) > 0 then $rx * 64 * 8 / $u.seconds else null end),
              pps: (if ($u.seconds // 0) > 0 then $rx / $u.seconds else null end),
              sent_pps: (($c.end.sum.packets // 0) / ([($c.end.sum.seconds // 1), 0.001] | max))}
         else
           {secs: ($s.end.sum_received.seconds // 0),
            bps: ($s.end.sum_received.bits_per_second // null),
            retransmits: ($c.end.sum_sent.retransmits // null)}
         end) as $m
      | (($t1 - $t0)) as $wall | (($p1 - $p0)) as $dp | ((($c1 - $c0) / $hz)) as $cpu
      | {lab: $lab, wl: $wl, variant: $v, rep: $rep, profile: ($prof == 1),
         ok: ($cli_rc == 0 and ($c.error == null) and ($s.error == null) and $m.bps != null and $tr_alive == 1),
         error: ($c.error // $s.error // (if $cli_rc != 0 then "iperf3 client rc \($cli_rc)" else null end)
                 // (if $tr_alive == 0 then "tracer died" else null end)),
         wall_s: $wall, bps: $m.bps, server_pps: $m.pps, sent_pps: $m.sent_pps,
         retransmits: $m.retransmits,
         dev_pkts: $dp, dev_pps: ($dp / $wall), cpu_s: $cpu,
         tracer_cpu_s: (($tc1 - $tc0) / $hz),
         cpu_s_per_mpkt: (if $dp > 0 then $cpu / ($dp / 1e6) else null end),
         tunlat_lost: $lost, tunlat_seen: $seen, tcpdump_drops: $tdrops,
         disturbed: (if $disturbed == "" then null else $disturbed end),
         progs: [ $s1[] as $b | ($s0[] | select(.id == $b.id)) as $a
                  | {tp: $b.tp, hits: ($b.run_cnt - $a.run_cnt), ns: ($b.run_time_ns - $a.run_time_ns),
                     recursion_misses: ($b.recursion_misses - $a.recursion_misses)} ] }' \
      >>"$BENCH_OUT/runs.jsonl"
    tail -n1 "$BENCH_OUT/runs.jsonl" | jq -r '
      if .ok then "\(.bps / 1e6 | floor) Mbit/s, \(.dev_pps / 1e3 | floor) kpps at the device, \(.cpu_s_per_mpkt * 100 | round / 100) CPU s/Mpkt"
        + (if .tunlat_lost != null then ", lost \(.tunlat_lost)" else "" end)
        + (if (.progs | length) > 0 then ", \(.progs | map(.hits) | add) BPF hits" else "" end)
      else "FAILED: \(.error)" end' >&2
    CUR_PIDS=()
  }

  local rep w wl i v
  local -a wls
  IFS=, read -r -a wls <<<"$BENCH_WORKLOADS"
  for ((rep = 1; rep <= BENCH_REPS; rep++)); do
    for w in "${!wls[@]}"; do
      wl=${wls[$w]}
      # Alternate: every repetition starts with another variant.
      for ((i = 0; i < ${#VARIANTS[@]}; i++)); do
        v=${VARIANTS[$(((i + rep + w) % ${#VARIANTS[@]}))]}
        [[ $v == floor && -z ${FLOOR:-} ]] && continue # not built: no floor figures
        measure "$wl" "$v" "$rep" 0
      done
    done
  done
  # Per-hit cost: one more run of each BPF tracer with bpf_stats on, of programs that do
  # nothing (the floor), and of the tracers on the idle device (every hit is then for an
  # unrelated skb), of tunlat with a filter that takes none of the lab's packets, and of
  # tunlat --no-sched and tunlat --pcapng; then tunlat and the floor's scheduler programs with a process pair
  # switching contexts beside the lab (switches tunlat does not follow).
  [[ ${BENCH_NO_STATS:-0} == 1 ]] && wls=() # --no-stats
  # BENCH_STATS_VARIANTS: these instead, e.g. "floor monitor" (runs.jsonl has their figures).
  local stats_variants=${BENCH_STATS_VARIANTS:-tunlat bpftrace floor tunlat-idle bpftrace-idle tunlat-nomatch tunlat-nosched tunlat-pcapng}
  for wl in "${wls[@]}"; do
    for v in $stats_variants; do
      measure "$wl" "$v" 0 1
    done
    if [[ -z ${BENCH_STATS_VARIANTS:-} && -n ${SWITCHER:-} && -n ${FLOOR:-} ]]; then
      for v in tunlat-cs floor-sched-cs; do measure "$wl" "$v" 0 1; done
    fi
  done
  # A recording of the forwarder lab for pipeline_bench.
  if [[ ${BENCH_RECORD:-0} == 1 ]]; then
    local d=$out/recording
    mkdir -p "$d"
    echo "$ME: $lab: recording ${BENCH_RECORD_SECS}s of iperf3 TCP for pipeline_bench" >&2
    TR_EXTRA="--record $BENCH_OUT/$lab-tcp.tlrec" start_tracer tunlat "$d"
    ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p "$PORT" </dev/null >"$d/server.log" 2>&1 &
    local srv=$!
    CUR_PIDS+=("$srv")
    wait_listen "$LAB_PEER_NS" "$PORT" 100 "$srv" || die "$lab: iperf3 server did not start" "$d/server.log"
    timeout $((BENCH_RECORD_SECS + 30)) ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p "$PORT" \
      -t "$BENCH_RECORD_SECS" </dev/null >"$d/client.log" 2>&1 || true
    wait_gone "$srv" 100 || stop_tree "$srv" KILL 10
    stop_tree "$TR_PID" INT 300
    wait 2>/dev/null || true
    CUR_PIDS=()
  fi
}

if [[ ${1:-} == --_inner ]]; then
  inner "$2"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# Outer part: options, checks, build, the labs, the pipeline benchmark, the tables.
# ---------------------------------------------------------------------------------------
QUICK=0 REPS="" SECS="" LABS=fwd,openvpn WORKLOADS=tcp,udp NOWAIT=0 OUT=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --labs) LABS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --no-wait) NOWAIT=1; shift ;;
    --variants) export BENCH_VARIANTS=$2; shift 2 ;;
    --no-stats) export BENCH_NO_STATS=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
[[ -n ${BENCH_VARIANTS:-} ]] && read -r -a VARIANTS <<<"${BENCH_VARIANTS//,/ }"
if ((QUICK)); then REPS=${REPS:-2} SECS=${SECS:-4}; else REPS=${REPS:-5} SECS=${SECS:-10}; fi
[[ $REPS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ ]] || usage
[[ $(id -u) -eq 0 ]] || die "must run as root"
for t in ip jq iperf3 tcpdump bpftrace bpftool cmake gcc openvpn top getconf; do
  command -v "$t" >/dev/null || die "'$t' not found (run tools/setup.sh)"
done

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$BENCH_DIR/out/$STAMP}
mkdir -p "$OUT"
: >"$OUT/runs.jsonl"
NOTES=()

# Other CPU-heavy processes distort every figure: wait (bounded) until the machine is quiet.
busy=$(busy_others 50)
if [[ -n $busy ]]; then
  if ((NOWAIT)); then
    NOTES+=("Measured while other processes were busy: $(echo "$busy" | tr '\n' ';')")
  else
    echo "$ME: waiting (up to 30 min) for other busy processes to finish: $(echo "$busy" | tr '\n' ';')" >&2
    start=$SECONDS
    while [[ -n $busy ]] && ((SECONDS - start < 1800)); do
      sleep 30
      busy=$(busy_others 50)
    done
    if [[ -n $busy ]]; then
      NOTES+=("Still busy after 30 min, measured anyway: $(echo "$busy" | tr '\n' ';')")
    else
      NOTES+=("Waited $(((SECONDS - start) / 60)) min for other CPU-heavy processes to finish before measuring.")
    fi
  fi
fi

# Build (Release, without tests) unless TUNLAT points to a binary.
# The source measured (others may commit meanwhile: taken when the build starts).
REV=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
BUILD=${BENCH_BUILD:-$BENCH_DIR/build}
if [[ -z ${TUNLAT:-} ]]; then
  echo "$ME: building tunlat, fwd, pipeline_bench (Release) in $BUILD" >&2
  {
    cmake -S "$REPO_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTUNLAT_TESTS=OFF &&
      cmake --build "$BUILD" -j2
  } >"$OUT/build.log" 2>&1 || die "build failed" "$OUT/build.log"
  TUNLAT=$BUILD/tunlat
fi
[[ -x $TUNLAT ]] || die "no tunlat binary at $TUNLAT"
[[ -x $BUILD/bench/fwd ]] && export FWD=$BUILD/bench/fwd
[[ -x $BUILD/bench/floor ]] && export FLOOR=$BUILD/bench/floor
[[ -x $BUILD/bench/switcher ]] && export SWITCHER=$BUILD/bench/switcher

export BENCH_QUIET_WAIT=$((NOWAIT ? 0 : 300))
export BENCH_OUT=$OUT BENCH_REPS=$REPS BENCH_SECS=$SECS BENCH_WORKLOADS=$WORKLOADS TUNLAT TUNLAT_BEFORE
export BENCH_RECORD_SECS=$((QUICK ? 2 : 3))
echo "$ME: $REPS repetitions of ${SECS}s, labs $LABS, workloads $WORKLOADS; raw results in $OUT" >&2
START=$(date -u +%FT%TZ)
IFS=, read -r -a labs <<<"$LABS"
for lab in "${labs[@]}"; do
  case $lab in
    fwd) BENCH_RECORD=1 "$BENCH_DIR/fwdlab.sh" -- "$BENCH_DIR/run.sh" --_inner fwd ;;
    openvpn) BENCH_RECORD=0 "$REPO_ROOT/tools/lab.sh" openvpn-tap -- "$BENCH_DIR/run.sh" --_inner openvpn ;;
    *) die "unknown lab $lab (fwd, openvpn)" ;;
  esac || NOTES+=("Lab $lab failed (exit $?): its rows are missing or incomplete; see the log above.")
done

# The userspace pipeline on one core: synthetic stream and the recording just made.
PB=$BUILD/bench/pipeline_bench
if [[ -x $PB ]]; then
  echo "$ME: pipeline_bench" >&2
  rec=$OUT/fwd-tcp.tlrec
  [[ -s $rec ]] || rec=""
  TUNLAT_BENCH_RECORDING=$rec timeout 900 "$PB" --benchmark_format=console \
    --benchmark_out="$OUT/pipeline.json" --benchmark_out_format=json >"$OUT/pipeline.txt" 2>&1 \
    || NOTES+=("pipeline_bench failed: see $OUT/pipeline.txt")
  [[ ${BENCH_KEEP_RECORDING:-0} == 1 ]] || rm -f "$OUT"/*.tlrec
else
  NOTES+=("pipeline_bench not built (libbenchmark-dev missing?)")
fi
busy=$(busy_others 50)
[[ -z $busy ]] || NOTES+=("Busy processes at the end of the run: $(echo "$busy" | tr '\n' ';')")

# ---------------------------------------------------------------------------------------
# Tables.
# ---------------------------------------------------------------------------------------
notes_json=$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}" | jq -R . | jq -sc 'map(select(. != ""))')
pipeline_json=$([[ -s $OUT/pipeline.json ]] && cat "$OUT/pipeline.json" || echo '{}')
jq -rs --arg start "$START" --arg rev "$REV" --arg reps "$REPS" --arg secs "$SECS" --arg kernel "$(uname -r)" \
  --arg cpus "$(nproc)" --arg cmd "bench/run.sh $([[ $QUICK == 1 ]] && echo --quick)" \
  --argjson notes "$notes_json" --argjson pipe "$pipeline_json" -f "$BENCH_DIR/tables.jq" \
  "$OUT/runs.jsonl" >"$OUT/results.md"
cp "$OUT/results.md" "$BENCH_DIR/results.md"
cat "$BENCH_DIR/results.md"
echo "$ME: wrote bench/results.md (raw: $OUT)" >&2

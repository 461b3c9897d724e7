#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# paths.sh - veth vs tap vs tun under small packets (issue 31, seed 002): each path's
# ceiling, the machine's CPU per packet and tunlat's TX stage breakdown, side by side.
#
#   bench/paths.sh [--secs S] [--reps N] [--rate PPS] [--out DIR]
#
# Paths between two namespaces: a veth pair; bench/fwdlab.sh (taps joined by bench/fwd);
# bench/fwdlab.sh --tun. Per path: iperf3 UDP, 64-byte datagrams, at PPS untraced, at PPS
# traced by tunlat, at full rate untraced. Writes bench/results-paths.md. Must run as root.
# shellcheck disable=SC2317,SC2086
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ME=paths.sh
PORT=5303
PATHS=(veth tap tun)
VARIANTS=(rate traced ceiling)

usage() { sed -n '3,10s/^# \{0,1\}//p' "$0"; }

# die MSG [LOG]: one line (and LOG's tail). Inside a lab the line is also left in
# $PB_OUT/failed: the outer part then knows why the lab failed and adds no line of its own.
die() {
  echo "$ME: $1" >&2
  [[ -n ${INNER:-} ]] && echo "$ME: $1" >"$PB_OUT/failed"
  [[ -n ${2:-} && -s $2 ]] && { echo "--- tail of $2 ---" >&2; tail -n 20 "$2" >&2; }
  exit 1
}
# Anything else failing under set -e: one line saying where, not a silent exit. set -E
# carries the trap into functions; subshells stay quiet and leave it to the main shell.
set -E
on_err() { [[ $BASH_SUBSHELL == 0 ]] && die "unexpected failure at line $1: ${2%%$'\n'*}"; }
trap 'on_err $LINENO "$BASH_COMMAND"' ERR

# Counter COL of the Udp: lines of /proc/net/snmp in namespace NS (per namespace).
udp_counter() { # udp_counter NS COL
  # shellcheck disable=SC2016
  ip netns exec "$1" awk -v c="$2" '$1 == "Udp:" { if (n++) print $h[c]; else for (i = 2; i <= NF; i++) h[$i] = i }' \
    /proc/net/snmp
}

# ---------------------------------------------------------------------------------------
# Inner part: runs inside a lab (LAB_NS, LAB_DEV, LAB_PEER_IP, LAB_PEER_NS exported by
# fwdlab.sh or by the veth setup below); settings come from PB_* in the environment.
# ---------------------------------------------------------------------------------------
inner() {
  local path=$1 rep=$2 v
  : "${PB_OUT:?}" "${PB_SECS:?}" "${PB_RATE:?}" "${PB_PFX:?}" "${PB_PGID:?}" "${TUNLAT:?}"
  INNER=1 ME="$ME: $path"
  # The iperf3 server and tunlat of the current run, stopped however we exit (bash runs
  # the EXIT trap on SIGINT and SIGTERM too). Global: the trap runs after inner() returns.
  CUR_PIDS=()
  trap 'trap - ERR; for p in "${CUR_PIDS[@]}"; do stop_tree "$p" INT 20; done' EXIT
  for v in "${VARIANTS[@]}"; do measure "$path" "$v" "$rep"; done
}

# measure PATH VARIANT REP: one run, tried again (PATHS_TRIES times in all, default 3) while
# it fails or other work took more than PATHS_OTHERS % of a CPU (default 10) during it. Every
# try stays in runs.jsonl; the table takes the least disturbed.
measure() {
  local try others
  for ((try = 1; try <= ${PATHS_TRIES:-3}; try++)); do
    # Not while a build or another bench runs (up to PATHS_QUIET_WAIT s, default 60).
    wait_cpu "${PATHS_QUIET_WAIT:-60}"
    measure_once "$@" "$try"
    others=$(tail -n1 "$PB_OUT/runs.jsonl" | jq 'if .error then 1e9 else .others_pct | floor end')
    if ((others < ${PATHS_OTHERS:-10})); then break; fi
  done
}

# wait_cpu S: until no other process uses >= 25 % CPU, at most S seconds.
wait_cpu() {
  local end=$((SECONDS + $1))
  while [[ -n $(busy_others 25) ]] && ((SECONDS < end)); do sleep 5; done
}

# CPU ticks of every process outside our process group (PB_PGID: all we start) but the
# kernel's threads (PF_KTHREAD), with those of the children they have reaped (cutime,
# cstime): over a run, its growth is the CPU that other work took, short-lived processes
# such as a compiler's included (their time moves to their parent when it reaps them).
other_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$PB_PGID" '{ sub(/.*\) /, "") }
    $3 != g && int($7 / 2097152) % 2 == 0 { s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

# measure_once PATH VARIANT REP TRY: one iperf3 run; appends a line to runs.jsonl.
measure_once() {
  local path=$1 v=$2 rep=$3 try=$4 d srv tr="" rc=0 bw c0 c1 u0 u1 x0 x1 o0 o1 w0 w1
  d=$PB_OUT/$path-$v-r$rep-t$try
  mkdir -p "$d"
  ip netns exec "$LAB_PEER_NS" iperf3 -s -1 -p "$PORT" -J </dev/null >"$d/server.json" 2>"$d/server.err" &
  srv=$!
  CUR_PIDS+=("$srv")
  wait_listen "$LAB_PEER_NS" "$PORT" 100 "$srv" || die "iperf3 server did not start" "$d/server.err"
  if [[ $v == traced ]]; then
    "$TUNLAT" trace --netns "$LAB_NS" --dev "$LAB_DEV" -q --json "$d/tunlat.json" \
      </dev/null >"$d/tracer.out" 2>"$d/tracer.err" &
    tr=$!
    CUR_PIDS+=("$tr")
    wait_for_line "$d/tracer.err" '^tunlat: tracing' 300 "$tr" || die "tunlat did not start" "$d/tracer.err"
    sleep 1 # let the attachment settle
  fi
  # iperf3 -b counts payload bits: 64-byte datagrams at PB_RATE/s. 0 = as fast as it can.
  bw=$([[ $v == ceiling ]] && echo 0 || echo $((PB_RATE * 64 * 8)))
  u0=$(udp_counter "$LAB_PEER_NS" RcvbufErrors) x0=$(dev_tx_dropped) o0=$(other_ticks)
  c0=$(cpu_busy_ticks) w0=$(date +%s.%N)
  # --foreground keeps iperf3 in our process group (see other_ticks).
  timeout --foreground $((PB_SECS + 30)) ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -p "$PORT" \
    -u -l 64 -b "$bw" -t "$PB_SECS" -J </dev/null >"$d/client.json" 2>"$d/client.err" || rc=$?
  c1=$(cpu_busy_ticks) w1=$(date +%s.%N)
  o1=$(other_ticks) u1=$(udp_counter "$LAB_PEER_NS" RcvbufErrors) x1=$(dev_tx_dropped)
  wait_gone "$srv" 100 || stop_tree "$srv" KILL 10
  wait "$srv" 2>/dev/null || true
  local tr_alive=1
  if [[ -n $tr ]]; then
    alive "$tr" || tr_alive=0
    stop_tree "$tr" INT 300 # tunlat writes its JSON when it stops
    wait "$tr" 2>/dev/null || true
  fi
  jq -nc --arg path "$path" --arg v "$v" --argjson rep "$rep" --argjson attempt "$try" --argjson rc "$rc" \
    --argjson tr "$([[ -n $tr ]] && echo 1 || echo 0)" --argjson tr_alive "$tr_alive" \
    --argjson hz "$(getconf CLK_TCK)" --argjson cpu $((c1 - c0)) --argjson others $((o1 - o0)) \
    --argjson wall "$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
    --argjson rcvbuf $((u1 - u0)) --argjson txdrop $((x1 - x0)) \
    --slurpfile cli <(jq -c . "$d/client.json" 2>/dev/null || echo '{}') \
    --slurpfile tl <(jq -c . "$d/tunlat.json" 2>/dev/null || echo '{}') '
    $cli[0] as $c | $tl[0] as $t | ($c.end // {}) as $e
    | ((($e.sum_received.packets // 0) - ($e.sum_received.lost_packets // 0))) as $rx
    | ($cpu / $hz) as $cpu_s | ($others / $hz) as $others_s
    | {path: $path, variant: $v, rep: $rep, attempt: $attempt,
       error: ($c.error // (if $rc != 0 then "iperf3 client exit \($rc)" else null end)
               // (if $e.sum_sent == null then "no iperf3 result" else null end)
               // (if $tr == 1 and ($tr_alive == 0 or $t.directions == null) then "tunlat died or wrote no JSON" else null end)),
       secs: $e.sum_sent.seconds, sent: $e.sum_sent.packets, rx: $rx,
       sent_pps: (($e.sum_sent.packets // 0) / ([$e.sum_sent.seconds // 1, 0.001] | max)),
       rx_pps: ($rx / ([$e.sum_received.seconds // 1, 0.001] | max)),
       loss_pct: $e.sum.lost_percent, rcvbuf_errors: $rcvbuf, tx_dropped: $txdrop,
       wall_s: $wall, others_s: $others_s, others_pct: ($others_s / $wall * 100),
       cpu_s: $cpu_s, cpu_us_per_pkt: (if $rx > 0 then $cpu_s * 1e6 / $rx else null end),
       client_cpu_pct: $e.cpu_utilization_percent.host_total, server_cpu_pct: $e.cpu_utilization_percent.remote_total,
       kind: $t.device.kind, tx_packets: $t.directions.tx.packets, events_lost: $t.events.lost,
       tunlat_tx_dropped: $t.directions.tx.dropped,
       spans: (($t.directions.tx.spans // {}) | to_entries | map(select(.value.count > 0)
               | {name: .key, p50: .value.p50_us, p99: .value.p99_us}))}' >>"$PB_OUT/runs.jsonl"
  tail -n1 "$PB_OUT/runs.jsonl" | jq -r --arg me "$ME" '"\($me): rep \(.rep) \(.variant)\(if .attempt > 1 then " (try \(.attempt))" else "" end): " + (
    if .error then "FAILED: \(.error)" else
      "sent \(.sent_pps / 1e3 | floor) kpps, got \(.rx_pps / 1e3 | floor) kpps, loss \(.loss_pct * 100 | round / 100) %, \(.cpu_us_per_pkt * 100 | round / 100) CPU us/pkt, others \(.others_pct | round) % of a CPU"
      + (if .tx_packets then ", tunlat TX \(.tx_packets) of \(.sent) sent: "
         + (.spans | map("\(.name) \(.p50 * 10 | round / 10)") | join(", ")) + " us p50" else "" end)
    end)' >&2
  CUR_PIDS=()
}

# TX drops counted by the traced device (a full tun ring, a veth peer's full backlog).
dev_tx_dropped() {
  ip -n "$LAB_NS" -s -j link show dev "$LAB_DEV" | jq '.[0].stats64.tx.dropped'
}

if [[ ${1:-} == --_inner ]]; then
  inner "$2" "$3"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# Outer part: options, checks, the labs in alternating order, the table.
# ---------------------------------------------------------------------------------------
SECS=5 REPS=3 RATE=100000 OUT="" ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case $1 in
    --secs | --reps | --rate | --out) (($# >= 2)) || die "$1 needs a value (see --help)" ;;&
    --secs) SECS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$ME: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "--secs must be a whole number of seconds >= 1"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a whole number >= 1"
[[ $RATE =~ ^[1-9][0-9]*$ ]] || die "--rate must be packets per second >= 1"
for e in PATHS_TRIES PATHS_OTHERS PATHS_QUIET_WAIT; do
  [[ -z ${!e:-} || ${!e} =~ ^[0-9]+$ ]] || die "$e must be a whole number"
done
[[ ${PATHS_TRIES:-3} -ge 1 ]] || die "PATHS_TRIES must be at least 1"
[[ $(id -u) -eq 0 ]] || die "must run as root"
for t in ip iperf3 jq gcc top getconf awk; do
  command -v "$t" >/dev/null || die "'$t' not found (run tools/setup.sh)"
done
# The command as given, with the settings taken from the environment, for the results.
CMD="bench/paths.sh${ARGS[*]:+ ${ARGS[*]}}"
for e in PATHS_OTHERS PATHS_TRIES PATHS_QUIET_WAIT; do [[ -n ${!e:-} ]] && CMD="$e=${!e} $CMD"; done
[[ -n ${TUNLAT:-} ]] && CMD="TUNLAT=$TUNLAT $CMD"
TUNLAT=${TUNLAT:-$REPO_ROOT/build/tunlat}
[[ -x $TUNLAT ]] || die "no tunlat binary at $TUNLAT (build it, or set TUNLAT=/path/to/tunlat)"

OUT=${OUT:-$BENCH_DIR/out/paths-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
[[ -e $OUT/runs.jsonl ]] && die "$OUT already holds a run (runs.jsonl): give another --out"
: >"$OUT/runs.jsonl"
rm -f "$OUT/failed"
PFX=bp-$$ # every namespace of this run starts with it: cleanup deletes only those
LAB_PID="" SIGNAL=""

cleanup() {
  local rc=$? ns
  trap - EXIT INT TERM ERR
  set +e
  if [[ -n $SIGNAL ]]; then
    rc=$([[ $SIGNAL == INT ]] && echo 130 || echo 143)
    printf '\n%s: interrupted (SIG%s): cleaning up, no results written\n' "$ME" "$SIGNAL" >&2
  fi
  # On Ctrl-C the lab got SIGINT too: let it tear itself down first.
  [[ -n $LAB_PID ]] && finish_tree "$LAB_PID" 100
  for ns in $(ip netns list 2>/dev/null | awk -v p="$PFX-" 'index($1, p) == 1 { print $1 }'); do
    bench_del_ns "$ns"
  done
  wait 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT
trap 'SIGNAL=INT; exit 130' INT
trap 'SIGNAL=TERM; exit 143' TERM

# fwd once for all labs (fwdlab.sh would otherwise look for it, or build it, every time).
FWD=$(find_fwd "$OUT") || die "cannot build bench/fwd.c"
PB_PGID=$(sed 's/.*) //' /proc/$$/stat | awk '{ print $3 }')
export FWD TUNLAT PB_PGID PB_OUT=$OUT PB_SECS=$SECS PB_RATE=$RATE PB_PFX=$PFX

# run_lab CMD...: the lab in the background (so a TERM reaches our trap at once) with
# SIGINT restored (bash ignores it in background jobs), then its status.
run_lab() {
  local rc=0
  env --default-signal=INT,QUIT "$@" </dev/null &
  LAB_PID=$!
  wait "$LAB_PID" || rc=$?
  LAB_PID=""
  return "$rc"
}

# veth_lab REP: namespaces A and B joined by a veth pair, A's end traced.
veth_lab() {
  local a=$PFX-va b=$PFX-vb rc=0 deadline
  bench_make_ns "$a" || die "cannot create namespace $a"
  bench_make_ns "$b" || die "cannot create namespace $b"
  ip -n "$a" link add vA type veth peer name vB netns "$b" || die "cannot create the veth pair"
  { ip -n "$a" addr add 10.205.0.1/24 dev vA && ip -n "$b" addr add 10.205.0.2/24 dev vB &&
    ip -n "$a" link set vA up && ip -n "$b" link set vB up; } || die "cannot configure the veth pair"
  deadline=$((SECONDS + 10))
  until ip netns exec "$a" ping -n -c1 -W1 10.205.0.2 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "no ping reply from 10.205.0.2 over the veth pair after 10 s"
    sleep 0.2
  done
  LAB_NS=$a LAB_DEV=vA LAB_PEER_IP=10.205.0.2 LAB_PEER_NS=$b run_lab "$0" --_inner veth "$1" || rc=$?
  bench_del_ns "$a"
  bench_del_ns "$b"
  return "$rc"
}

# What else ran on the machine before we started.
NOTES=()
load=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(busy_others 25 | tr '\n' ';')
others=$(ip netns list | awk '{print $1}' | tr '\n' ' ')
NOTES+=("Before the run: load average $load (1, 5, 15 min) on $(nproc) CPUs; processes at >= 25 % CPU: ${busy:-none}; other network namespaces: ${others:-none}.")

TL_VERSION=$("$TUNLAT" --version 2>/dev/null | head -1) || TL_VERSION="$TUNLAT (no --version)"
REV=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
START=$(date -u +%FT%TZ)
echo "$ME: $REPS repetitions of ${SECS}s per run, $RATE pps; raw results in $OUT" >&2
for ((rep = 1; rep <= REPS; rep++)); do
  for ((i = 0; i < ${#PATHS[@]}; i++)); do
    path=${PATHS[$(((i + rep - 1) % ${#PATHS[@]}))]} # every repetition starts with another path
    rc=0
    case $path in
      veth) veth_lab "$rep" || rc=$? ;;
      tap) LAB_NS_PREFIX=$PFX run_lab "$BENCH_DIR/fwdlab.sh" -- "$0" --_inner tap "$rep" || rc=$? ;;
      tun) LAB_NS_PREFIX=$PFX run_lab "$BENCH_DIR/fwdlab.sh" --tun -- "$0" --_inner tun "$rep" || rc=$? ;;
    esac
    if ((rc != 0)); then
      [[ -s $OUT/failed ]] && exit "$rc" # the lab said why
      die "the $path lab failed (exit $rc) in repetition $rep"
    fi
  done
done
busy=$(busy_others 25 | tr '\n' ';')
NOTES+=("After the run: load average $(cut -d' ' -f1-3 /proc/loadavg); processes at >= 25 % CPU: ${busy:-none}.")

# ---------------------------------------------------------------------------------------
# The table: medians (min–max) over the repetitions.
# ---------------------------------------------------------------------------------------
notes_json=$(printf '%s\n' "${NOTES[@]}" | jq -R . | jq -sc .)
jq -rs --arg start "$START" --arg rev "$REV" --arg tl "$TL_VERSION" --arg kernel "$(uname -r)" \
  --arg cpus "$(nproc)" --arg cmd "$CMD" --argjson secs "$SECS" \
  --argjson reps "$REPS" --argjson rate "$RATE" --argjson notes "$notes_json" \
  --argjson tries "${PATHS_TRIES:-3}" --argjson others_max "${PATHS_OTHERS:-10}" '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r($d): if . == null then "–" else (. * pow(10; $d) | round) / pow(10; $d) | tostring end;
  # median (min–max) of the values f gives over the runs given; m: the median alone
  def cell(f; $d): [.[] | f | select(. != null)]
    | if length == 0 then "–" elif (min | r($d)) == (max | r($d)) then (.[0] | r($d))
      else "\(med | r($d)) (\(min | r($d))–\(max | r($d)))" end;
  def m(f; $d): [.[] | f | select(. != null)] | med | r($d);
  # Of a run'"'"'s tries, the one with the least other work on the machine; none if all failed.
  . as $all | [group_by([.path, .variant, .rep])[] | map(select(.error == null)) | select(length > 0)
               | min_by(.others_pct)] as $ok
  | def runs($p; $v): [$ok[] | select(.path == $p and .variant == $v)];
  ($rate / 1000 | r(1)) as $k
  | "# veth vs tap vs tun under 64-byte packets at \($k) kpps\n",
    "What each path between two network namespaces carries and costs under small packets"
    + " (issue 31, seed 002): iperf3 UDP with 64-byte datagrams (`-u -l 64`) from namespace A"
    + " to B over **veth** (a veth pair; traced device: A'"'"'s end), **tap** (`bench/fwdlab.sh`:"
    + " taps joined by `bench/fwd`, a userspace forwarder; traced: tA) and **tun**"
    + " (`bench/fwdlab.sh --tun`; traced: tA). Per path and repetition, \($secs) s each: at"
    + " \($k) kpps (`-b \($rate * 512)`) untraced, the same traced by `tunlat trace --netns A"
    + " --dev DEV --json F`, and at full rate (`-b 0`) untraced for the ceiling. Paths in"
    + " another order in every repetition; figures are median (min–max) over \($reps).\n",
    "    sudo \($cmd)\n",
    "Run \($start), repo \($rev), \($tl), Linux \($kernel), \($cpus) CPUs.\n",
    "| path | ceiling kpps | at \($k) kpps: sent kpps | delivered kpps | loss % | CPU µs/pkt | traced: delivered kpps | loss % | CPU µs/pkt | tunlat TX pkts / iperf3 sent | TX span p50 (p99), µs |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ($all | map(.path) | unique as $present | ["veth", "tap", "tun"][] | select(. as $p | $present | index($p))
     | . as $p | runs($p; "rate") as $u | runs($p; "traced") as $t
     | ($t | map(.spans[].name) | reduce .[] as $n ([]; if index($n) then . else . + [$n] end)) as $names
     | "| \($p) | \(runs($p; "ceiling") | cell(.rx_pps / 1e3; 1)) | \($u | cell(.sent_pps / 1e3; 1))"
       + " | \($u | cell(.rx_pps / 1e3; 1)) | \($u | cell(.loss_pct; 2)) | \($u | cell(.cpu_us_per_pkt; 2))"
       + " | \($t | cell(.rx_pps / 1e3; 1)) | \($t | cell(.loss_pct; 2)) | \($t | cell(.cpu_us_per_pkt; 2))"
       + " | \($t | cell(if .sent > 0 and .tx_packets != null then .tx_packets / .sent else null end; 4))"
       + " | \($names | map(. as $n | "\($n) \([$t[] | .spans[] | select(.name == $n) | .p50] | med | r(1))"
                              + " (\([$t[] | .spans[] | select(.name == $n) | .p99] | med | r(1)))") | join(", ")) |"),
    "",
    "- **ceiling kpps**: datagrams/s the receiver got at `-b 0` (iperf3 end.sum_received: packets"
    + " − lost_packets, over its seconds): on two CPUs the client, the path and the receiver"
    + " share them, so this is the whole chain'"'"'s ceiling, not the device'"'"'s alone.",
    "- **sent / delivered kpps, loss %**: iperf3'"'"'s datagrams sent and received per second and"
    + " its `end.sum.lost_percent`, at the fixed rate.",
    "- **CPU µs/pkt**: busy time of the whole machine (user+nice+system+irq+softirq, /proc/stat)"
    + " while the client ran, per datagram delivered; traced, it includes tunlat'"'"'s own.",
    "- **tunlat TX pkts / iperf3 sent**: `.directions.tx.packets` of tunlat'"'"'s JSON over"
    + " iperf3'"'"'s sent count (a few more: iperf3'"'"'s control connection, ARP).",
    "- **TX spans**: medians of each span'"'"'s p50 and p99 (`.directions.tx.spans`, spans with"
    + " packets): a veth has qdisc (queue→xmit) and peer (xmit→the peer'"'"'s receive), a tap or tun"
    + " qdisc, ring (xmit→read by fwd) and copy (read→free); total is queue→read.",
    "",
    "Where the loss was, and who used the CPU (medians over the fixed-rate runs, untraced /"
    + " traced): UDP receive-buffer overflows in B (RcvbufErrors), TX drops on the traced device,"
    + " and iperf3'"'"'s own figures for its client and server (% of one CPU, user+system).\n",
    "| path | sent | lost (iperf3) | receive-buffer overflows | TX drops on the device (tunlat'"'"'s count) | tunlat events lost | iperf3 client CPU % | server CPU % |",
    "|---|---|---|---|---|---|---|---|",
    ($all | map(.path) | unique as $present | ["veth", "tap", "tun"][] | select(. as $p | $present | index($p))
     | . as $p | runs($p; "rate") as $u | runs($p; "traced") as $t
     | def both(f): "\($u | m(f; 0)) / \($t | m(f; 0))";
     "| \($p) | \(both(.sent)) | \(both(.sent - .rx)) | \(both(.rcvbuf_errors)) | \(both(.tx_dropped))"
     + " (\($t | m(.tunlat_tx_dropped; 0))) | \($t | m(.events_lost; 0)) | \(both(.client_cpu_pct)) | \(both(.server_cpu_pct)) |"),
    "",
    "## Notes\n",
    ($notes[] | "- " + .),
    "- Other work on the machine during a run (CPU time of processes outside the benchmark'"'"'s"
    + " process group and of their reaped children, kernel threads aside), in % of one CPU, over"
    + " the runs in the table: median"
    + " \([$ok[].others_pct] | med | r(1)), max \([$ok[].others_pct] | max | r(1)). A run above"
    + " \($others_max) % (or failed) was tried again, \($tries) tries at most: \($all | length) tries"
    + " for \($ok | length) runs"
    + ([$ok[] | select(.others_pct >= $others_max)] | if length == 0 then "."
       else "; still above after the last try: " + (map("\(.path) \(.variant) rep \(.rep) (\(.others_pct | r(0)) %)") | join(", ")) + "." end),
    ([$all[] | select(.error != null)] | if length == 0 then empty
     else "- Failed tries: " + (map("\(.path) \(.variant) rep \(.rep) try \(.attempt): \(.error)") | join("; ")) end),
    ($all | map([.path, .variant, .rep]) | unique | length) as $runs
    | (if $runs == ($ok | length) then empty
       else "- **\($runs - ($ok | length)) run(s) failed in every try** and are missing from the table." end),
    ([$ok[] | select(.variant == "traced" and .kind != .path)] | if length == 0 then empty
     else "- **tunlat named the device kind otherwise**: " + (map("\(.path) rep \(.rep): \(.kind)") | join("; ")) end)
  ' "$OUT/runs.jsonl" >"$OUT/results-paths.md" || die "cannot build the table from $OUT/runs.jsonl"
cp "$OUT/results-paths.md" "$BENCH_DIR/results-paths.md"
echo >&2
cat "$BENCH_DIR/results-paths.md"
echo "$ME: wrote bench/results-paths.md (raw: $OUT)" >&2
failed=$(jq -s 'group_by([.path, .variant, .rep]) | map(select(all(.error != null))) | length' "$OUT/runs.jsonl")
((failed == 0)) || die "$failed run(s) failed: see the notes in bench/results-paths.md"

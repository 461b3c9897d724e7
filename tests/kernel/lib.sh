# SPDX-License-Identifier: MIT
# Shared helpers for the kernel tests: netns tap labs, tunlat runs, JSON assertions.
# Each test sources this, builds its lab with make_tap_ns, and is cleaned up on exit.
# Exit codes: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE) with the reason printed.
set -euo pipefail

: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${TAPREADER:?TAPREADER must point at tools/tapreader}"
WORK=$(mktemp -d /tmp/tunlat-test.XXXXXX)
NSES=()
BG=()

cleanup() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${NSES[@]}"; do ip netns del "$p" 2>/dev/null || true; done
  [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "PASS: $*"; }

command -v jq >/dev/null || skip "jq not installed (tools/setup.sh installs it)"
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and BPF"

# Skips (not fails) where this kernel or sandbox cannot load the BPF programs at all.
require_bpf() {
  local out rc=0
  out=$("$TUNLAT" trace --dev lo -d 0.2 -q 2>&1 >/dev/null) || rc=$?
  if [[ $rc -ne 0 ]] && grep -qE "cannot (load|attach) BPF|no BTF|needs Linux|missing CAP" <<<"$out"; then
    skip "BPF cannot load here: $out"
  fi
  [[ $rc -eq 0 ]] || fail "tunlat cannot trace lo: $out"
}

# Skips where this build has no `tunlat monitor` (-DTUNLAT_STATIC=ON: no prometheus-cpp).
require_monitor() {
  local out
  out=$("$TUNLAT" monitor --listen not-an-address 2>&1 >/dev/null) || true
  ! grep -q "this build has no monitor" <<<"$out" || skip "$out"
}

# free_port: a loopback TCP port nobody listens on, drawn at random from 20000-39999
# (9477, 9090 and other well-known ones are others' to use; tests may run side by side).
free_port() {
  local p
  for p in $(shuf -i 20000-39999 -n 50); do
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  fail "no free loopback port"
}

# start_monitor N ARGS...: `tunlat monitor ARGS` in the background (stderr in
# $WORK/monitor.err, pid in MON_PID), waits until it watches N devices. Its BPF not
# loading fails the test: the tests that start it have required the tracer's to load
# (require_bpf), so the monitor's object is what is wrong (a verifier's refusal).
start_monitor() {
  local n=$1
  shift
  "$TUNLAT" monitor "$@" >"$WORK/monitor.out" 2>"$WORK/monitor.err" &
  MON_PID=$!
  BG+=("$MON_PID")
  for _ in $(seq $((100 * ${TUNLAT_TEST_SLOW:-1}))); do
    grep -q "tunlat: monitoring" "$WORK/monitor.err" 2>/dev/null && break
    kill -0 "$MON_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "tunlat: monitoring $n device" "$WORK/monitor.err"; then
    fail "tunlat monitor $* did not start: $(cat "$WORK/monitor.err")"
  fi
}

# prometheus_config FILE PORT: a Prometheus configuration scraping the monitor on
# 127.0.0.1:PORT every second.
prometheus_config() {
  cat >"$1" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tunlat
    static_configs:
      - targets: ['127.0.0.1:$2']
YML
}

# quiet_ns NS...: namespaces of the test's own (deleted at its end), IPv6 off and lo up:
# only the test's packets cross their devices.
quiet_ns() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
}

# make_tap_ns NS DEV [tapreader args...]: a namespace holding DEV (tap) read by tapreader,
# address 1.1.1.2/30, static ARP for 1.1.1.1, IPv6 off: only the test's packets cross it.
make_tap_ns() {
  local ns=$1 dev=$2
  shift 2
  quiet_ns "$ns"
  ip netns exec "$ns" "$TAPREADER" --dev "$dev" --ready-file "$WORK/$ns.pid" "$@" &
  BG+=($!)
  for _ in $(seq 50); do [[ -s $WORK/$ns.pid ]] && break; sleep 0.1; done
  [[ -s $WORK/$ns.pid ]] || fail "tapreader did not create $dev in $ns"
  ip netns exec "$ns" ip addr add 1.1.1.2/30 dev "$dev"
  ip netns exec "$ns" ip link set "$dev" up
  ip netns exec "$ns" ip neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev "$dev" nud permanent
}

# start_trace NAME ARGS...: runs tunlat in the background, waits until it is attached
# (10 s, times TUNLAT_TEST_SLOW in an emulated guest, where verifying takes long).
start_trace() {
  local name=$1
  shift
  "$TUNLAT" trace -q "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  TRACE_PID=$!
  BG+=("$TRACE_PID")
  for _ in $(seq $((100 * ${TUNLAT_TEST_SLOW:-1}))); do
    grep -q "tunlat: tracing" "$WORK/$name.err" 2>/dev/null && return 0
    kill -0 "$TRACE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/$name.err" >&2
  fail "tunlat did not attach"
}

# dur SECONDS: a trace duration that must outlast the test's workload, times
# TUNLAT_TEST_DURATION_SCALE (an emulated guest starts and runs the workload slowly).
dur() { awk -v d="$1" -v s="${TUNLAT_TEST_DURATION_SCALE:-1}" 'BEGIN { print d * s }'; }

# wait_trace: waits for the background tunlat, leaves its exit code in TRACE_RC.
wait_trace() {
  TRACE_RC=0
  wait "$TRACE_PID" || TRACE_RC=$?
}

# openvpn_lab NAME ARGS SCRIPT: runs SCRIPT (bash) against a fresh OpenVPN tap lab
# (tools/lab.sh; ARGS, maybe "", go to side a's openvpn), its output in $WORK/NAME.lab.
openvpn_lab() {
  local name=$1 args=$2 script=$3
  LAB_OPENVPN_ARGS=$args "$(dirname "${BASH_SOURCE[0]}")/../../tools/lab.sh" openvpn-tap -- bash -c "$script" \
    >"$WORK/$name.lab" 2>&1 || fail "lab $name: $(tail -5 "$WORK/$name.lab")"
}

# jq_eq FILE FILTER WANT: asserts a JSON value.
jq_eq() {
  local got
  got=$(jq -r "$2" "$1")
  [[ $got == "$3" ]] || fail "$2 = $got, want $3"
}

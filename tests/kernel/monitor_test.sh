#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 26: tunlat monitor on a real OpenVPN tap tunnel, scraped every second by Debian's
# own Prometheus server on loopback. Checked against independent figures: the TX ring's
# median over the run against `tunlat trace` attached at the same time (within 25 %), the
# packet counters against the device's own (ip -s link, within 1 %); the VPN stopped 1.5 s
# is one ring stall of 1.0-2.5 s; the VPN restarted (its device gone, back with another
# ifindex) and a new namespace's tap are watched within 5 s, without a restart.
source "$(dirname "$0")/lib.sh"
require_bpf
require_monitor
command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing"
command -v prometheus >/dev/null || skip "prometheus missing (tools/setup.sh installs it)"
command -v curl >/dev/null || skip "curl missing (tools/setup.sh installs it)"
LAB=$(dirname "$0")/../../tools/lab.sh

MON_PORT=$(free_port)
PROM_PORT=$(free_port)
[[ $MON_PORT != "$PROM_PORT" ]] || PROM_PORT=$(free_port)
PFX=mt$$
export TUNLAT WORK TAPREADER MON_PORT PROM_PORT PFX

prometheus_config "$WORK/prometheus.yml" "$MON_PORT"

LAB_NS_PREFIX=$PFX "$LAB" openvpn-tap -- bash -c '
set -euo pipefail
[[ -n ${TL_TRACE_TEST:-} ]] && set -x
fail() { echo "FAIL: $*" >&2; exit 1; }
metric() { # metric NAME LABELS: the value of one series on /metrics now (0 if absent)
  curl -sf "127.0.0.1:$MON_PORT/metrics" | awk -v n="$1" -v l="$2" "
    !found && (index(\$0, n \"{\") == 1 || index(\$0, n \" \") == 1) && index(\$0, l) { print \$NF; found = 1 }
    END { if (!found) print 0 }"
}
promq() { # promq QUERY: the first result'"'"'s value from Prometheus (empty if none)
  curl -sf --get "127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    jq -r ".data.result[0].value[1] // empty"
}
dev_counter() { ip -n "$1" -s -j link show "$2" | jq ".[0].stats64.$3.packets"; }
wait_until() { # wait_until SECONDS COMMAND...: true once COMMAND succeeds (run anew each time), false after SECONDS
  local end=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < end)) || return 1; sleep 0.2; done
}

"$TUNLAT" monitor --listen "127.0.0.1:$MON_PORT" --dev "$PFX*/*" --scan 1 >"$WORK/monitor.err" 2>&1 &
MON=$!
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM=$!
trap "kill $MON $PROM 2>/dev/null; wait $MON $PROM 2>/dev/null || true" EXIT
wait_until 10 curl -sf "127.0.0.1:$MON_PORT/metrics" -o /dev/null || fail "no /metrics: $(cat "$WORK/monitor.err")"
a="device=\"$LAB_DEV\",netns=\"$LAB_NS\""
both_watched() { [ "$(metric tunlat_devices "")" = 2 ]; }
scraped() { [ -n "$(promq "up{job=\"tunlat\"} == 1")" ]; }
wait_until 10 both_watched || fail "monitor watches $(metric tunlat_devices "") devices, want both taps"
wait_until 20 scraped || fail "prometheus does not scrape the monitor: $(curl -s "127.0.0.1:$PROM_PORT/api/v1/targets" | jq -c "[.data.activeTargets[] | {health, lastError, lastScrapeDuration}]")"

# 1. A transfer, traced at the same time.
"$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" -d 8 --json "$WORK/trace.json" >/dev/null 2>"$WORK/trace.err" &
TR=$!
sleep 1.5
tx0=$(dev_counter "$LAB_NS" "$LAB_DEV" tx) rx0=$(dev_counter "$LAB_NS" "$LAB_DEV" rx)
read0=$(metric tunlat_packets_total "$a,direction=\"tx\",point=\"read\"")
inject0=$(metric tunlat_packets_total "$a,direction=\"rx\",point=\"inject\"")
stk0=$(metric tunlat_span_seconds_count "$a,direction=\"rx\",span=\"stack\"")
sock0=$(metric tunlat_span_seconds_count "$a,direction=\"rx\",span=\"socket\"")
t0=$(date +%s)
ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 4 --bidir >/dev/null
sleep 0.3
tx1=$(dev_counter "$LAB_NS" "$LAB_DEV" tx) rx1=$(dev_counter "$LAB_NS" "$LAB_DEV" rx)
read1=$(metric tunlat_packets_total "$a,direction=\"tx\",point=\"read\"")
inject1=$(metric tunlat_packets_total "$a,direction=\"rx\",point=\"inject\"")
stk1=$(metric tunlat_span_seconds_count "$a,direction=\"rx\",span=\"stack\"")
sock1=$(metric tunlat_span_seconds_count "$a,direction=\"rx\",span=\"socket\"")
wait $TR
sleep 2  # the last scrapes
range=$(( $(date +%s) - t0 ))
awk -v m=$((read1 - read0)) -v d=$((tx1 - tx0)) "BEGIN { exit !(d > 1000 && m >= d * 0.99 && m <= d * 1.01) }" ||
  fail "TX packets read: monitor $((read1 - read0)), the device $((tx1 - tx0))"
awk -v m=$((inject1 - inject0)) -v d=$((rx1 - rx0)) "BEGIN { exit !(d > 300 && m >= d * 0.99 && m <= d * 1.01) }" ||
  fail "RX packets injected: monitor $((inject1 - inject0)), the device $((rx1 - rx0))"
p50=$(promq "histogram_quantile(0.5, sum by (le) (increase(tunlat_span_seconds_bucket{$a,span=\"ring\"}[${range}s])))")
t50=$(jq .directions.tx.spans.ring.p50_us "$WORK/trace.json")
[[ -n $p50 ]] || fail "no ring quantile from prometheus"
awk -v p="$p50" -v t="$t50" "BEGIN { exit !(t > 0 && p * 1e6 >= t * 0.75 && p * 1e6 <= t * 1.25) }" ||
  fail "ring p50: prometheus $p50 s, trace $t50 us"
echo "ring p50: prometheus $(awk -v p="$p50" "BEGIN { printf \"%.0f\", p * 1e6 }") us, trace $t50 us;" \
  "TX read $((read1 - read0)) of $((tx1 - tx0)), RX injected $((inject1 - inject0)) of $((rx1 - rx0))"

# RX (--bidir: data and ACKs): what an established TCP socket took (the stack span: received
# -> tcp_probe) and what iperf3 read of it (the socket span), as many as the trace counted (the counter itself, as the monitor shows it: Prometheus'"'"'s increase() extrapolates).
tstk=$(jq .directions.rx.spans.stack.count "$WORK/trace.json")
awk -v m=$((stk1 - stk0)) -v t="$tstk" "BEGIN { exit !(t > 300 && m >= t * 0.99 && m <= t * 1.01) }" ||
  fail "RX stack spans: monitor $((stk1 - stk0)), trace $tstk (the device received $((rx1 - rx0)))"
tsock=$(jq .directions.rx.spans.socket.count "$WORK/trace.json")
awk -v m=$((sock1 - sock0)) -v t="$tsock" "BEGIN { exit !(t > 300 && m >= t * 0.99 && m <= t * 1.01) }" ||
  fail "RX socket spans (data read by iperf3): monitor $((sock1 - sock0)), trace $tsock"
echo "RX stack spans: monitor $((stk1 - stk0)), trace $tstk; socket: monitor $((sock1 - sock0)), trace $tsock"

# Its owner'"'"'s CPU time, as the process'"'"'s own counters say (fields 14 and 15, in ticks).
cpu=$(metric tunlat_owner_cpu_seconds_total "$a,pid=\"$LAB_OWNER_PID\",comm=\"openvpn\"")
own=$(awk -v hz="$(getconf CLK_TCK)" "{ sub(/.*\\) /, \"\"); print (\$12 + \$13) / hz }" "/proc/$LAB_OWNER_PID/stat")
awk -v m="$cpu" -v o="$own" "BEGIN { exit !(o > 0.1 && m >= o - 0.05 && m <= o + 0.05) }" ||
  fail "owner CPU: monitor $cpu s, /proc $own s"
echo "owner CPU: monitor $cpu s, /proc $own s"

# 2. The VPN stopped 1.5 s under load: one ring stall of 1.0-2.5 s.
s0=$(metric tunlat_stalls_total "$a,direction=\"tx\",stage=\"ring\"")
secs0=$(metric tunlat_stall_seconds_total "$a,direction=\"tx\",stage=\"ring\"")
ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 4 >/dev/null &
CL=$!
sleep 1.2
kill -STOP "$LAB_OWNER_PID"; sleep 1.5; kill -CONT "$LAB_OWNER_PID"
wait $CL || true
sleep 2.5  # scraped twice since
s1=$(promq "tunlat_stalls_total{$a,stage=\"ring\"}")
secs1=$(promq "tunlat_stall_seconds_total{$a,stage=\"ring\"}")
[[ $((s1 - s0)) == 1 ]] || fail "stalls: $s0 -> $s1 over a 1.5 s stop, want one more"
awk -v d="$(awk -v a="$secs0" -v b="$secs1" "BEGIN { print b - a }")" "BEGIN { exit !(d >= 1.0 && d <= 2.5) }" ||
  fail "stall seconds $secs0 -> $secs1, want 1.0-2.5 more"
echo "the 1.5 s stop: one ring stall, $(awk -v a="$secs0" -v b="$secs1" "BEGIN { printf \"%.2f\", b - a }") s"

# 3. The VPN restarted: its device goes and comes back with another ifindex.
idx0=$(ip -n "$LAB_NS" -j link show "$LAB_DEV" | jq ".[0].ifindex")
cmd=(); while IFS= read -r -d "" w; do cmd+=("$w"); done <"/proc/$LAB_OWNER_PID/cmdline"
kill "$LAB_OWNER_PID"
gone() { [ ! -e "/proc/$LAB_OWNER_PID" ]; }
wait_until 10 gone || fail "openvpn did not exit"
ip -n "$LAB_NS" link show "$LAB_DEV" >/dev/null 2>&1 && fail "$LAB_DEV outlived its openvpn"
ip -n "$LAB_NS" link add vx$$ type veth peer name vy$$  # take the next ifindexes: the new tap gets another
ip netns exec "$LAB_NS" "${cmd[@]}" </dev/null >/dev/null 2>&1 &
NEWVPN=$!
trap "kill $MON $PROM $NEWVPN 2>/dev/null; wait $MON $PROM 2>/dev/null || true" EXIT
wait_until 15 ip -n "$LAB_NS" link show "$LAB_DEV" >/dev/null 2>&1 || fail "openvpn did not recreate $LAB_DEV"
back=$SECONDS
idx1=$(ip -n "$LAB_NS" -j link show "$LAB_DEV" | jq ".[0].ifindex")
[[ $idx1 != "$idx0" ]] || fail "the new $LAB_DEV has the old ifindex $idx0"
ping_a() { ip netns exec "$LAB_NS" ping -c 3 -i 0.2 -W 1 "$LAB_PEER_IP" >/dev/null 2>&1; }
counted() { v=$(metric tunlat_packets_total "$a,direction=\"rx\",point=\"inject\""); ping_a; [ "$v" -gt 0 ] && [ "$v" -lt "$((inject1 - inject0))" ]; }
wait_until 20 counted || fail "the new $LAB_DEV is not counted afresh: inject=$(metric tunlat_packets_total "$a,direction=\"rx\",point=\"inject\"")"
echo "restarted: $LAB_DEV ifindex $idx0 -> $idx1, counted afresh $((SECONDS - back)) s after it came back"

# 4. A new namespace with a tap: watched by itself.
ip netns add "$PFX-new"
trap "kill $MON $PROM $NEWVPN 2>/dev/null; wait $MON $PROM 2>/dev/null || true; ip netns del $PFX-new 2>/dev/null" EXIT
ip netns exec "$PFX-new" "$TAPREADER" --dev tapx --ready-file "$WORK/new.pid" >/dev/null 2>&1 &
READER=$!
trap "kill $MON $PROM $NEWVPN $READER 2>/dev/null; wait $MON $PROM 2>/dev/null || true; ip netns del $PFX-new 2>/dev/null" EXIT
started() { [ -s "$WORK/new.pid" ]; }
wait_until 5 started || fail "tapreader did not start"
ip -n "$PFX-new" addr add 1.1.1.2/30 dev tapx
ip -n "$PFX-new" link set tapx up
ip -n "$PFX-new" neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev tapx nud permanent
new=$SECONDS
seen() { ip netns exec "$PFX-new" ping -c 2 -i 0.2 -W 1 1.1.1.1 >/dev/null 2>&1 || true
  [ "$(metric tunlat_packets_total "device=\"tapx\",netns=\"$PFX-new\",direction=\"tx\",point=\"read\"")" -gt 0 ]; }
wait_until 5 seen || fail "the new namespace'"'"'s tapx is not watched within 5 s"
echo "a new namespace'"'"'s tap counted $((SECONDS - new)) s after it came up"
' >"$WORK/lab.log" 2>&1 || fail "$(grep -h FAIL "$WORK/lab.log" || tail -5 "$WORK/lab.log")"
pass "$(grep -E '^(ring p50|RX stack|owner CPU|the 1.5 s|restarted|a new)' "$WORK/lab.log" | tr '\n' ' ')"

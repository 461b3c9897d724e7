#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunlat monitor's BPF object on one tap, read straight from /metrics (no Prometheus): it
# loads (this test runs in the 6.1 and 6.12 guests too), and N pings through a tap whose
# reader sleeps a known time per packet are counted exactly at each point, each waited
# about that sleep in the ring, each reply was dropped where ping (root, a raw socket's
# reader) leaves its original, and the reader is the device's owner.
source "$(dirname "$0")/lib.sh"
require_bpf
require_monitor
command -v curl >/dev/null || skip "curl not installed (tools/setup.sh installs it)"

N=20 SLEEP_US=20000 NS=tlt-mon-$$ DEV=tap98
make_tap_ns "$NS" "$DEV" --sleep-us "$SLEEP_US" --reply
PORT=
for p in $(shuf -i 30000-39999 -n 50); do
  ss -Htln "sport = :$p" | grep -q . || { PORT=$p; break; }
done
[[ -n $PORT ]] || fail "no free port"

"$TUNLAT" monitor --dev "$NS/$DEV" --listen "127.0.0.1:$PORT" >"$WORK/monitor.out" 2>"$WORK/monitor.err" &
BG+=($!)
for _ in $(seq $((100 * ${TUNLAT_TEST_SLOW:-1}))); do
  grep -q "tunlat: monitoring" "$WORK/monitor.err" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q "tunlat: monitoring 1 device" "$WORK/monitor.err"; then
  grep -qE "cannot (load|attach) BPF|no BTF|needs Linux|missing CAP" "$WORK/monitor.err" &&
    skip "the monitor's BPF cannot load here: $(cat "$WORK/monitor.err")"
  fail "tunlat monitor did not start on $NS/$DEV: $(cat "$WORK/monitor.err")"
fi

# 100 ms apart, more than the reader's sleep: each packet waits about SLEEP_US in the ring.
ip netns exec "$NS" ping -q -c "$N" -i 0.1 -W 1 1.1.1.1 >/dev/null || fail "ping through $DEV failed"
sleep 1.5 # the owners' lookup and a stage poll since
# Twice: a series that appears late (a span's histogram, a drop) is shown empty at its
# first scrape, so that Prometheus's rate() counts from zero (docs/monitor.md).
curl -sf "127.0.0.1:$PORT/metrics" >"$WORK/metrics.first" || fail "no /metrics on port $PORT"
curl -sf "127.0.0.1:$PORT/metrics" >"$WORK/metrics" || fail "no /metrics on port $PORT"
grep -q '^tunlat_span_seconds_count{.*span="ring"} 0$' "$WORK/metrics.first" ||
  fail "the ring's histogram was not born empty: $(grep '^tunlat_span_seconds_count' "$WORK/metrics.first")"

# value NAME LABELS...: the value of the series of NAME carrying every label given.
value() {
  local name=$1
  shift
  awk -v n="$name" -v want="$*" '
    index($0, n "{") == 1 {
      split(want, w, " "); ok = 1
      for (i in w) if (!index($0, w[i])) ok = 0
      if (ok) { print $NF; found = 1 }
    }
    END { if (!found) print "none" }' "$WORK/metrics" | head -1
}
at="device=\"$DEV\",netns=\"$NS\""
check() { # check WHAT GOT WANT
  [[ $2 == "$3" ]] || fail "$1: $2, want $3"
}
for p in queue xmit read; do
  check "TX packets at $p" "$(value tunlat_packets_total "$at" "point=\"$p\"")" "$N"
done
check "RX packets injected" "$(value tunlat_packets_total "$at" 'point="inject"')" "$N"
check "ring waits" "$(value tunlat_span_seconds_count "$at" 'span="ring"')" "$N"
# Every wait between 0.8x and 2x the sleep: none at or under the bucket bound just below
# 16 ms, all of them under the one just above 40 ms (bounds are 2^(1/4) apart).
low=$(awk '/^tunlat_span_seconds_bucket\{/ && /span="ring"/ { match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5) + 0
  if (le <= 0.016) n = $NF } END { print n + 0 }' "$WORK/metrics")
high=$(awk '/^tunlat_span_seconds_bucket\{/ && /span="ring"/ { match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5) + 0
  if (le >= 0.04 && !done) { print $NF; done = 1 } }' "$WORK/metrics")
check "ring waits of 16 ms or less" "$low" 0
check "ring waits under 40 ms" "$high" "$N"
check "replies dropped at ping_rcv" \
  "$(value tunlat_drops_total "$at" 'direction="rx"' 'reason="NO_SOCKET"' 'location="ping_rcv"')" "$N"
reader=$(cat "$WORK/$NS.pid")
[[ $(value tunlat_owner_cpu_seconds_total "$at" "pid=\"$reader\"") != none ]] ||
  fail "the reader (pid $reader) is not the device's owner: $(grep owner_cpu "$WORK/metrics")"
check "devices watched" "$(awk '/^tunlat_devices / { print $2 }' "$WORK/metrics")" 1
pass "$N packets each way counted at every point, ring waits of ${SLEEP_US} us in their buckets, $N replies' drops named"

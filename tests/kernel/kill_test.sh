#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 19, case 5: SIGKILL during a slow trace leaves a recording with all but about its
# last second of events (partial chunks are handed off each second and flushed): at
# ~100 packets/s a whole 8192-event chunk never filled, and a kill left 0 readable events.
source "$(dirname "$0")/lib.sh"
require_bpf

NS=fl-kill-$$
make_tap_ns "$NS" tap43 --reply
start_trace kill --netns "$NS" --dev tap43 --record "$WORK/k.tlrec"
ip netns exec "$NS" ping -i 0.01 1.1.1.1 >"$WORK/ping.out" 2>&1 &
PING=$!
BG+=("$PING")
sleep 5
kill -KILL "$TRACE_PID"
kill -INT "$PING"
wait "$PING" || true
wait_trace
sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$WORK/ping.out")
[[ -n $sent ]] || fail "no ping summary: $(cat "$WORK/ping.out")"

"$TUNLAT" report "$WORK/k.tlrec" --json "$WORK/k.json" >/dev/null 2>"$WORK/report.err" ||
  fail "report of the killed recording failed: $(cat "$WORK/report.err")"
grep -q "truncated recording" "$WORK/report.err" || fail "no truncation warning: $(cat "$WORK/report.err")"
kept=$(jq .directions.tx.packets "$WORK/k.json")
# At 100 packets/s, the last 1.5 s (the chunk's age, the writer's flush, the rings) may be lost.
echo "sent $sent, recording holds $kept TX packets"
((kept > 0 && kept >= sent - 150)) || fail "recording holds $kept of $sent packets"
pass "SIGKILL after 5 s: $kept of $sent packets in the recording"

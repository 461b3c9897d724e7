#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 19, case 1: a recording that fills its disk stops with one line; the trace goes
# on, its report is printed and its JSON (on another file system) written; exit 1 says
# that the recording asked for is incomplete. The partial recording is still readable.
source "$(dirname "$0")/lib.sh"
require_bpf

NS=fl-full-$$
make_tap_ns "$NS" tap42 --reply
mkdir "$WORK/full"
mount -t tmpfs -o size=64k fl-full "$WORK/full" || skip "cannot mount a tmpfs"
trap 'umount "$WORK/full" 2>/dev/null || true; cleanup' EXIT

start_trace full --netns "$NS" --dev tap42 -d 6 --record "$WORK/full/t.tlrec" --json "$WORK/s.json"
ip netns exec "$NS" ping -q -f -c 20000 1.1.1.1 >/dev/null || fail "ping failed"
wait_trace
[[ $TRACE_RC -eq 1 ]] || fail "exit $TRACE_RC, want 1: $(cat "$WORK/full.err")"
[[ $(grep -c "recording stopped: cannot write $WORK/full/t.tlrec: No space left on device; the trace goes on" \
  "$WORK/full.err") -eq 1 ]] || fail "not one line saying the recording stopped: $(cat "$WORK/full.err")"
grep -q "TX (host -> tap42 -> reader): 20000 packets" "$WORK/full.out" ||
  fail "no full report: $(head -5 "$WORK/full.out")"
jq_eq "$WORK/s.json" .directions.tx.packets 20000
jq_eq "$WORK/s.json" .directions.rx.packets 20000

# What reached the disk is a truncated recording: reported, with one warning.
"$TUNLAT" report "$WORK/full/t.tlrec" --json "$WORK/partial.json" >/dev/null 2>"$WORK/partial.err" ||
  fail "the partial recording is unreadable: $(cat "$WORK/partial.err")"
grep -q "truncated recording" "$WORK/partial.err" || fail "no truncation warning: $(cat "$WORK/partial.err")"
got=$(jq .directions.tx.packets "$WORK/partial.json")
((got > 0 && got < 20000)) || fail "partial recording holds $got TX packets"
pass "disk full: recording stopped with one line, report and JSON of all 20000 packets"

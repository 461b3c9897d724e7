#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 15 on a tap read by tapreader: seed 000 (ping -f paces itself: origin upstream,
# nothing alarming), and a stopped reader behind a 10-packet txqueuelen (the ring fills:
# FULL_RING drops, critical, and an ongoing stall in the ring).
source "$(dirname "$0")/lib.sh"
require_bpf

# 1. ping -f at a peer that never answers sends every ~10 ms by itself; the reader is prompt.
NS=tlt-f1-$$
make_tap_ns "$NS" tap99
start_trace seed --netns "$NS" --dev tap99 -d 3 --json "$WORK/seed.json"
ip netns exec "$NS" ping -f -q -c 150 1.1.1.1 >/dev/null 2>&1 || true
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "seed000 trace exited $TRACE_RC: $(cat "$WORK/seed.err")"
J=$WORK/seed.json
jq_eq "$J" .directions.tx.packets 150
jq_eq "$J" .directions.tx.pacing_origin upstream
jq_eq "$J" .directions.tx.pacing.rule no_queue
awk -v p="$(jq .directions.tx.spans.total.p50_us "$J")" 'BEGIN { exit !(p < 1000) }' ||
  fail "tap spans not well under 1 ms: total p50 $(jq .directions.tx.spans.total.p50_us "$J") us"
# Nothing alarming about a healthy path: on real hardware, where the reader is prompt. An
# emulated guest (TUNLAT_TEST_SLOW) reads slowly enough that a warning would be the truth.
[[ ${TUNLAT_TEST_SLOW:-1} -gt 1 ]] || jq -e '[.findings[] | select(.severity != "info")] | length == 0' "$J" >/dev/null ||
  fail "a healthy path raised: $(jq -c '[.findings[] | select(.severity != "info") | .summary]' "$J")"
[[ $(jq '.stalls | length' "$J") == 0 ]] ||
  fail "a stall in a plain run: $(jq -c '[.stalls[] | {kind, stage, start_s, duration_ms, flow, retransmits, ended_by}]' "$J")"
jq -e '[.findings[] | select(.kind == "pacing" and (.summary | test("from upstream")))] | length == 1' "$J" \
  >/dev/null || fail "no upstream pacing finding: $(jq -c '[.findings[].summary]' "$J")"

# 7. The reader stopped, the ring 10 packets long: the 11th and later are dropped by tun.
NS=tlt-f7-$$
make_tap_ns "$NS" tap98
ip -n "$NS" link set tap98 txqueuelen 10
kill -STOP "$(cat "$WORK/$NS.pid")"
start_trace full --netns "$NS" --dev tap98 -d 2 --json "$WORK/full.json"
ip netns exec "$NS" ping -q -c 30 -i 0.01 -W 1 1.1.1.1 >/dev/null 2>&1 || true
wait_trace
kill -CONT "$(cat "$WORK/$NS.pid")"
[[ $TRACE_RC -eq 0 ]] || fail "full-ring trace exited $TRACE_RC: $(cat "$WORK/full.err")"
J=$WORK/full.json
jq_eq "$J" '[.drops[] | select(.reason == "FULL_RING")] | .[0].count' 20
jq_eq "$J" '.findings[0].severity' critical
jq_eq "$J" '.findings[0].kind' stall
jq_eq "$J" '.stalls[0].ongoing' true
jq_eq "$J" '.stalls[0].queued' 10
jq -e '[.findings[] | select(.kind == "drops")][0].summary | test("tun ring was full")' "$J" >/dev/null ||
  fail "no full-ring finding: $(jq -c .findings "$J")"

# The same with a filter that takes none of the pings: their drops are not the user's
# packets, and none is reported (scope netns included). The ring still holds 10.
sleep 0.5  # the reader empties the ring
kill -STOP "$(cat "$WORK/$NS.pid")"
start_trace fullf --netns "$NS" --dev tap98 -d 2 --json "$WORK/fullf.json" udp port 9
ip netns exec "$NS" ping -q -c 30 -i 0.01 -W 1 1.1.1.1 >/dev/null 2>&1 || true
wait_trace
kill -CONT "$(cat "$WORK/$NS.pid")"
[[ $TRACE_RC -eq 0 ]] || fail "filtered full-ring trace exited $TRACE_RC: $(cat "$WORK/fullf.err")"
jq_eq "$WORK/fullf.json" '[.drops[] | select(.reason == "FULL_RING")] | length' 0
jq_eq "$WORK/fullf.json" '.directions.tx.packets' 0
pass "seed000: upstream, total p50 $(jq .directions.tx.spans.total.p50_us "$WORK/seed.json") us; full ring: 20 drops, 10 queued"

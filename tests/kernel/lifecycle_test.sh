#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ctrl-C and SIGHUP end a trace with a full report (exit 0); a device that vanishes mid-trace ends it
# with one line, exit 1, and the packets captured so far still reported.
source "$(dirname "$0")/lib.sh"
require_bpf

NS=tlt-life-$$
make_tap_ns "$NS" tap99 --reply
start_trace sigint --netns "$NS" --dev tap99 --json "$WORK/sigint.json"
ip netns exec "$NS" ping -q -c 5 -i 0.02 1.1.1.1 >/dev/null
kill -INT "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "Ctrl-C: exit $TRACE_RC"
jq_eq "$WORK/sigint.json" ".directions.tx.packets" 5
grep -q "TX (host -> tap99 -> reader): 5 packets" "$WORK/sigint.out" || fail "Ctrl-C: no final report"

# A closed terminal or ssh session (SIGHUP, issue 19 case 5) ends it as Ctrl-C does: the
# report, the JSON and a recording with its trailer.
start_trace sighup --netns "$NS" --dev tap99 --json "$WORK/sighup.json" --record "$WORK/sighup.tlrec"
ip netns exec "$NS" ping -q -c 6 -i 0.02 1.1.1.1 >/dev/null
kill -HUP "$TRACE_PID"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "SIGHUP: exit $TRACE_RC"
jq_eq "$WORK/sighup.json" ".directions.tx.packets" 6
grep -q "TX (host -> tap99 -> reader): 6 packets" "$WORK/sighup.out" || fail "SIGHUP: no final report"
"$TUNLAT" report "$WORK/sighup.tlrec" >/dev/null 2>"$WORK/sighup-replay.err" || fail "SIGHUP: bad recording"
[[ ! -s $WORK/sighup-replay.err ]] || fail "SIGHUP: recording without trailer: $(cat "$WORK/sighup-replay.err")"

start_trace vanish --netns "$NS" --dev tap99 -d 30 --json "$WORK/vanish.json" --record "$WORK/vanish.tlrec"
ip netns exec "$NS" ping -q -c 7 -i 0.02 1.1.1.1 >/dev/null
kill "$(cat "$WORK/$NS.pid")"  # the tap goes away with its process
wait_trace
[[ $TRACE_RC -eq 1 ]] || fail "vanished device: exit $TRACE_RC, want 1"
grep -q "device tap99 vanished" "$WORK/vanish.err" || fail "no vanish message: $(cat "$WORK/vanish.err")"
jq_eq "$WORK/vanish.json" ".directions.tx.packets" 7
# The JSON says why the capture ended (issue 19, case 10), live and from the recording.
jq_eq "$WORK/vanish.json" ".device.vanished" true
jq_eq "$WORK/sigint.json" ".device.vanished" false
"$TUNLAT" report "$WORK/vanish.tlrec" --json "$WORK/vanish-replay.json" >"$WORK/vanish-replay.out" 2>&1 ||
  fail "report of the vanished trace failed: $(cat "$WORK/vanish-replay.out")"
jq_eq "$WORK/vanish-replay.json" ".device.vanished" true
grep -q "the device vanished during the trace" "$WORK/vanish-replay.out" || fail "report does not say it vanished"

# A kernel lacking a tracepoint loses that point, with one warning line, not the trace.
TUNLAT_TEST_MISSING_TP=skb_copy_datagram_iovec "$TUNLAT" trace -q --dev lo -d 0.5 --json "$WORK/old.json" \
  >/dev/null 2>"$WORK/old.err" || fail "trace without a tracepoint failed: $(cat "$WORK/old.err")"
grep -q "warning: kernel lacks tracepoint skb_copy_datagram_iovec (since Linux [0-9.]*): its point is skipped" "$WORK/old.err" ||
  fail "no warning for the missing tracepoint: $(cat "$WORK/old.err")"
# lo is not a tun/tap device: traced, with one note of what differs (issue 19, case 10).
[[ $(grep -c "note: lo is not a tun/tap device: no VPN reads or writes it" "$WORK/old.err") -eq 1 ]] ||
  fail "no note for lo: $(cat "$WORK/old.err")"
pass "Ctrl-C, a vanishing device and a missing tracepoint keep what was captured"

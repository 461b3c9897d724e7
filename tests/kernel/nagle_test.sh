#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 14, seed 003: Nagle meeting delayed ACKs, through a forwarder of our own
# (bench/fwdlab.sh). tools/wwr's client, on the traced side, writes each request as two
# 100-byte pieces and blocks reading the 100-byte reply; its server, behind the device,
# keeps Linux's delayed ACKs. With Nagle on, the second piece waits for the server's
# delayed ACK of the first (40 ms at least): the nagle_delayed_ack finding names the
# flow, TX, with a wait per exchange near the client's own latency per exchange, live and
# from the recording. With TCP_NODELAY on the client, the same exchanges take well under
# a millisecond and no such finding appears.
source "$(dirname "$0")/lib.sh"
require_bpf
: "${WWR:?WWR must point at tools/wwr}"
command -v gcc >/dev/null || skip "gcc missing (bench/fwdlab.sh builds its forwarder)"
FWDLAB=$(dirname "$0")/../../bench/fwdlab.sh
export TUNLAT WORK WWR
export LAB_NS_PREFIX=${LAB_NS_PREFIX:-ngl}

# run NAME [CLIENT ARGS...]: the client for 3 s through the lab while tunlat traces its tap.
run() {
  local name=$1
  shift
  NAME=$name CLIENT_ARGS="$*" "$FWDLAB" -- bash -c '
    set -e
    ip netns exec "$LAB_PEER_NS" "$WWR" server --port 7000 &
    server=$!
    "$TUNLAT" trace -q --netns "$LAB_NS" --dev "$LAB_DEV" --json "$WORK/$NAME.json" \
      --record "$WORK/$NAME.tlrec" >"$WORK/$NAME.txt" 2>"$WORK/$NAME.err" &
    tp=$!
    for _ in $(seq 100); do grep -q "tunlat: tracing" "$WORK/$NAME.err" && break; sleep 0.1; done
    grep -q "tunlat: tracing" "$WORK/$NAME.err" || { cat "$WORK/$NAME.err" >&2; exit 1; }
    # shellcheck disable=SC2086
    ip netns exec "$LAB_NS" "$WWR" client --host "$LAB_PEER_IP" --port 7000 --seconds 3 $CLIENT_ARGS \
      >"$WORK/$NAME.client" &
    client=$!
    # What the kernel says of the sockets meanwhile: the delayed-ACK timeout of the
    # server (ato), the piece the client holds unsent (Send-Q, notsent, unacked).
    sleep 1.5
    ip netns exec "$LAB_PEER_NS" ss -tin state established >"$WORK/$NAME.ss" 2>&1 || true
    ip netns exec "$LAB_NS" ss -tin state established >>"$WORK/$NAME.ss" 2>&1 || true
    wait $client
    sleep 0.3
    kill -INT $tp
    wait $tp
    kill $server' >"$WORK/$name.lab" 2>&1 || fail "lab $name: $(tail -5 "$WORK/$name.lab")"
}

nagle() {  # nagle FILE: the finding, or null
  jq '[.findings[] | select(.kind == "nagle_delayed_ack")] | first' "$1"
}

run nagle
J=$WORK/nagle.json
C=$WORK/nagle.client
n_client=$(jq .exchanges "$C")
p50_client=$(jq .p50_us "$C")
# The lab made the waits: each exchange took a delayed ACK, tens of ms.
awk -v p="$p50_client" 'BEGIN { exit !(p >= 30000) }' ||
  fail "the client's exchanges took $p50_client us (p50): no delayed ACK in the lab"
f=$(nagle "$J")
[[ $f != null ]] || fail "no nagle_delayed_ack finding; findings: $(jq -c '[.findings[].summary]' "$J")"
jq_eq <(echo "$f") '.where.direction' tx
jq_eq <(echo "$f") '.where.flow | test("^TCP 10\\.77\\.0\\.1:[0-9]+ <> 10\\.77\\.0\\.2:7000$")' true
jq_eq <(echo "$f") '.severity' warning
n_seen=$(jq '.evidence.exchanges' <<<"$f")
wait_p50=$(jq '.evidence.wait_p50_us' <<<"$f")
ack_p50=$(jq '.evidence.ack_delay_p50_us' <<<"$f")
# Nearly every exchange waited (the first few, in TCP's quick-ACK start, did not).
awk -v s="$n_seen" -v c="$n_client" 'BEGIN { exit !(s >= 0.8 * c && s <= c) }' ||
  fail "$n_seen exchanges held by a delayed ACK, the client made $n_client"
# The wait per exchange is what the client measured (its exchange adds one quick round trip).
awk -v w="$wait_p50" -v c="$p50_client" 'BEGIN { d = w - c; if (d < 0) d = -d; exit !(d <= 0.1 * c) }' ||
  fail "wait per exchange $wait_p50 us (p50), the client measured $p50_client us"
awk -v a="$ack_p50" 'BEGIN { exit !(a >= 30000) }' || fail "ACK delay $ack_p50 us (p50): not a delayed ACK"
grep -q "Nagle meets delayed ACK" "$WORK/nagle.txt" || fail "the text report lacks the finding"
grep -q "try: set TCP_NODELAY" "$WORK/nagle.txt" || fail "the text report lacks the remedy"
# The recording gives the same finding.
"$TUNLAT" report "$WORK/nagle.tlrec" --json "$WORK/nagle.report.json" >"$WORK/nagle.report.txt" ||
  fail "report of the recording"
cmp <(echo "$f" | jq -S .) <(nagle "$WORK/nagle.report.json" | jq -S .) >/dev/null ||
  fail "the finding differs between live and report: $(nagle "$WORK/nagle.report.json" | jq -c .)"
echo "nagle: client $n_client exchanges, p50 $p50_client us; tunlat $n_seen exchanges, wait p50 $wait_p50 us," \
  "ACK delay p50 $ack_p50 us; server: $(grep -o 'ato:[0-9]*' "$WORK/nagle.ss" | head -1)"
echo "  $(jq -r .summary <<<"$f")"

run nodelay --nodelay
J=$WORK/nodelay.json
C=$WORK/nodelay.client
n_client=$(jq .exchanges "$C")
p50_client=$(jq .p50_us "$C")
jq_eq "$C" .nodelay true
awk -v p="$p50_client" 'BEGIN { exit !(p < 5000) }' || fail "with TCP_NODELAY the exchanges took $p50_client us (p50)"
# The flow was seen, whole: every request's two pieces crossed the device.
tx=$(jq '[.tcp.flows[] | select(.peer == "10.77.0.2:7000") | .tx.data_segments] | add // 0' "$J")
[[ $tx -ge $((2 * n_client)) ]] || fail "$tx data segments seen for $n_client exchanges"
f=$(nagle "$J")
[[ $f == null ]] || fail "a Nagle finding with TCP_NODELAY: $(jq -c . <<<"$f")"
"$TUNLAT" report "$WORK/nodelay.tlrec" --json "$WORK/nodelay.report.json" >/dev/null || fail "report of the recording"
f=$(nagle "$WORK/nodelay.report.json")
[[ $f == null ]] || fail "a Nagle finding from the TCP_NODELAY recording"
echo "nodelay: client $n_client exchanges, p50 $p50_client us; $tx data segments, no finding"
pass "Nagle meeting delayed ACKs found, with the client's wait; none with TCP_NODELAY"

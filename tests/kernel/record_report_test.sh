#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live trace recorded and re-reported gives identical JSON; `tunlat report` runs as an
# unprivileged user; a truncated recording is reported with a warning, a corrupt one refused.
source "$(dirname "$0")/lib.sh"
require_bpf

NS=tlt-rec-$$
make_tap_ns "$NS" tap99 --reply --sleep-us 2000
start_trace rec --netns "$NS" --dev tap99 -d "$(dur 4)" --json "$WORK/live.json" --record "$WORK/t.tlrec"
ip netns exec "$NS" ping -q -c 200 -i 0.005 1.1.1.1 >/dev/null || fail "ping failed"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "trace exited $TRACE_RC: $(cat "$WORK/rec.err")"
jq_eq "$WORK/live.json" .directions.tx.packets 200

# Unprivileged: no capabilities, uid nobody, nothing but read access to the file.
mkdir -m 0777 "$WORK/nobody"
chmod 0755 "$WORK" && chmod 0644 "$WORK/t.tlrec"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$TUNLAT" report "$WORK/t.tlrec" --json "$WORK/nobody/r.json" >"$WORK/report.out" 2>"$WORK/report.err" ||
  fail "report as nobody failed: $(cat "$WORK/report.err")"
"$TUNLAT" report "$WORK/t.tlrec" --json "$WORK/replay.json" >/dev/null
diff <(jq -S . "$WORK/live.json") <(jq -S . "$WORK/replay.json") >"$WORK/diff" ||
  fail "live and replayed JSON differ: $(head -20 "$WORK/diff")"
grep -q "TX (host -> tap99 -> reader): 200 packets" "$WORK/report.out" || fail "report as nobody: no report"
cmp -s "$WORK/nobody/r.json" "$WORK/replay.json" || fail "report as nobody gave other numbers"

# Truncated (tunlat killed, power lost): analysed up to the last whole chunk, one warning.
size=$(stat -c %s "$WORK/t.tlrec")
head -c $((size - 100)) "$WORK/t.tlrec" >"$WORK/trunc.tlrec"
rc=0
"$TUNLAT" report "$WORK/trunc.tlrec" >/dev/null 2>"$WORK/trunc.err" || rc=$?
[[ $rc -eq 0 ]] || fail "truncated recording: exit $rc"
grep -qi "truncated" "$WORK/trunc.err" || fail "no truncation warning: $(cat "$WORK/trunc.err")"
[[ $(wc -l <"$WORK/trunc.err") -eq 1 ]] || fail "truncation warning is not one line"

# Corrupt and foreign files: one line, exit 1.
cp "$WORK/t.tlrec" "$WORK/bad.tlrec"
printf '\xff\xff\xff\xff' | dd of="$WORK/bad.tlrec" bs=1 seek=$((size / 2)) conv=notrunc status=none
rc=0
"$TUNLAT" report "$WORK/bad.tlrec" >/dev/null 2>"$WORK/bad.err" || rc=$?
[[ $rc -eq 1 ]] || fail "corrupt recording: exit $rc, want 1"
[[ $(wc -l <"$WORK/bad.err") -eq 1 ]] || fail "corrupt: not one line: $(cat "$WORK/bad.err")"
rc=0
"$TUNLAT" report /etc/passwd >/dev/null 2>"$WORK/foreign.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "not a tunlat recording" "$WORK/foreign.err" ||
  fail "foreign file: exit $rc: $(cat "$WORK/foreign.err")"
pass "recorded == replayed JSON, unprivileged report, truncated and corrupt files"

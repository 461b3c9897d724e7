#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTML report in headless Chromium: it loads with no console error, its script runs to
# the end, the findings, the summary and the flame graph are in the DOM, a screenshot is
# written. Skips (77) with the reason when chromium is not installed.
# Usage: html_chromium_test.sh TUNLAT RECORDING [SCREENSHOT]
set -euo pipefail
TUNLAT=$1 RECORDING=$2 SHOT=${3:-}
command -v chromium >/dev/null || { echo "SKIP: chromium not installed (tools/setup.sh installs it)"; exit 77; }
WORK=$(mktemp -d /tmp/tunlat-html.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -n $SHOT ]] || SHOT=$WORK/report.png

"$TUNLAT" report "$RECORDING" --html "$WORK/r.html" >/dev/null
# No network at all (--disable-background-networking & co): the page must need none.
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$WORK/profile" \
    --enable-logging=stderr --v=0 "$@"
}
start=$(date +%s%N)
chrome --dump-dom "file://$WORK/r.html" >"$WORK/dom.html" 2>"$WORK/dom.err" || fail "chromium failed: $(tail -3 "$WORK/dom.err")"
ms=$((($(date +%s%N) - start) / 1000000))
chrome --window-size=1280,2400 --screenshot="$SHOT" "file://$WORK/r.html" >/dev/null 2>"$WORK/shot.err" ||
  fail "screenshot failed: $(tail -3 "$WORK/shot.err")"

# Console messages and uncaught exceptions come out on stderr as "INFO:CONSOLE:N] ..." lines.
if grep -E "Uncaught|:CONSOLE" "$WORK/dom.err" "$WORK/shot.err" >"$WORK/console"; then
  fail "console output: $(head -5 "$WORK/console")"
fi
grep -q '<section id="findings"><h2>Findings</h2>' "$WORK/dom.html" || fail "no findings in the DOM"
grep -q '<li>TX packets wait longest' "$WORK/dom.html" || fail "no verdict in the findings"
grep -q '<section id="summary">' "$WORK/dom.html" || fail "no summary in the DOM"
grep -q '<th>p99</th>' "$WORK/dom.html" || fail "no span table in the summary"
grep -q '<svg id="tunlat-flame"' "$WORK/dom.html" || fail "no flame graph in the DOM"
grep -q 'data-ready="1"' "$WORK/dom.html" || fail "the flame graph's script did not run to its end"
[[ $(grep -o 'class="f"' "$WORK/dom.html" | wc -l) -ge 5 ]] || fail "the flame graph has no frames"
[[ -s $SHOT && $(stat -c %s "$SHOT") -gt 10000 ]] || fail "no screenshot (or an empty one) at $SHOT"
echo "PASS: HTML report loads without console errors in $ms ms (chromium start included), screenshot $(stat -c %s "$SHOT") bytes"

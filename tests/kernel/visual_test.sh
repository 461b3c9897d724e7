#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live trace writes every visual output, and a reader named "<b>x</b>" is text, not
# markup, in all of them: the text report prints it as is, the HTML, the SVG and (when
# chromium is installed) the page's DOM show it escaped.
source "$(dirname "$0")/lib.sh"
require_bpf

# TUNLAT_TEST_NS_PREFIX: engineers sharing a machine name their namespaces apart.
NS=${TUNLAT_TEST_NS_PREFIX:-tlt}-vis-$$
make_tap_ns "$NS" tap99 --reply --comm '<b>x</b>'
start_trace vis --netns "$NS" --dev tap99 -d 3 --json "$WORK/s.json" --folded "$WORK/f.folded" \
  --svg "$WORK/f.svg" --html "$WORK/r.html" --perfetto "$WORK/p.json"
ip netns exec "$NS" ping -q -c 100 -i 0.005 1.1.1.1 >/dev/null || fail "ping failed"
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "trace exited $TRACE_RC: $(cat "$WORK/vis.err")"

jq_eq "$WORK/s.json" .directions.tx.processes[0].comm '<b>x</b>'
grep -qF 'reader <b>x</b> (pid' "$WORK/vis.out" || fail "text report: $(grep reader "$WORK/vis.out")"
grep -qE '^tap99;tx;ring;<b>x</b> \(pid [0-9]+\) [0-9]+$' "$WORK/f.folded" || fail "folded: $(cat "$WORK/f.folded")"
for f in r.html f.svg; do
  grep -qF '&lt;b&gt;x&lt;/b&gt;' "$WORK/$f" || fail "$f: the reader's name is missing"
  ! grep -qF '<b>x</b>' "$WORK/$f" || fail "$f: the reader's name is markup"
done
jq -e '[.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .args.name] | index("<b>x</b>")' \
  "$WORK/p.json" >/dev/null || fail "perfetto: no thread named <b>x</b>"
[[ $(jq '[.traceEvents[] | select(.ph == "b" and .cat == "tx.ring")] | length' "$WORK/p.json") -eq 100 ]] ||
  fail "perfetto: not one ring slice per ping"

if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$WORK/profile" --dump-dom "file://$WORK/r.html" \
    >"$WORK/dom.html" 2>/dev/null || fail "chromium failed"
  # The DOM serialised again: text is escaped again, an element would come out as <b>x</b>.
  grep -qF '&lt;b&gt;x&lt;/b&gt;' "$WORK/dom.html" || fail "DOM: the reader's name is missing"
  ! grep -qF '<b>x</b>' "$WORK/dom.html" || fail "DOM: the reader's name became an element"
  pass "visual outputs of a live trace; \"<b>x</b>\" is text everywhere, DOM included"
else
  pass "visual outputs of a live trace; \"<b>x</b>\" is text everywhere (chromium not installed: DOM not checked)"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 19, case 3: `tunlat report` of a crafted recording of never-ending packets (new
# pids, drop reasons, threads and CPUs at every packet, time standing still) stays under
# 256 MB of RSS at any size: the analysis evicts and counts instead of growing.
set -euo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${HOSTILE:?HOSTILE must point at the hostile_recording generator}"
[[ -x /usr/bin/time ]] || { echo "SKIP: /usr/bin/time (package time) not installed"; exit 77; }
WORK=$(mktemp -d /tmp/tunlat-mem.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LIMIT_KB=$((256 * 1024))

for events in 2000000 8000000; do
  "$HOSTILE" "$WORK/h.tlrec" "$events"
  /usr/bin/time -f %M -o "$WORK/rss" "$TUNLAT" report "$WORK/h.tlrec" --json "$WORK/h.json" >/dev/null
  rss=$(tail -n 1 "$WORK/rss")
  echo "$events events ($(stat -c %s "$WORK/h.tlrec") bytes): max RSS $((rss / 1024)) MB," \
    "$(jq .correlation.ended_by_limit "$WORK/h.json") packets ended by the limit"
  ((rss < LIMIT_KB)) || { echo "FAIL: $events events took $((rss / 1024)) MB" >&2; exit 1; }
  [[ $(jq .correlation.ended_by_limit "$WORK/h.json") -gt 0 ]] || { echo "FAIL: nothing evicted" >&2; exit 1; }
done
echo "PASS: report of a never-ending-packets recording under 256 MB at both sizes"

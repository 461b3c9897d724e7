#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart.sh - the README's first command: install what is needed, build tunlat,
# bring up a lab (OpenVPN tap by default) in private network namespaces and trace
# its device while a workload runs through it.
#
#   sudo tools/quickstart.sh [--lab openvpn-tap|openvpn-tun|seed000]
#
# The JSON summary goes to $OUT/report.json, the HTML report to $OUT/report.html and
# the flame graph to $OUT/flame.svg (OUT defaults to ./tunlat-quickstart).
# Exits with tunlat's status.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
ME=quickstart.sh

die() { echo "$ME: $*" >&2; exit 1; }
usage() {
  echo "usage: $ME [--lab openvpn-tap|openvpn-tun|seed000]   (OUT=dir, default ./tunlat-quickstart)" >&2
  exit 2
}

LAB=openvpn-tap
while [[ $# -gt 0 ]]; do
  case $1 in
    --lab) [[ $# -ge 2 ]] || usage; LAB=$2; shift 2 ;;
    --lab=*) LAB=${1#--lab=}; shift ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
case $LAB in openvpn-tap | openvpn-tun | seed000) ;; *) usage ;; esac

[[ $(id -u) -eq 0 ]] || die "must run as root (try: sudo $0)"

# OUT is relative to where the user ran us, not to the repo: make it absolute
# before we cd anywhere.
OUT=${OUT:-./tunlat-quickstart}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

echo "== installing dependencies (tools/setup.sh)"
"$SCRIPT_DIR/setup.sh"

echo "== building (log: $OUT/build.log)"
cd "$REPO_ROOT"
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2; } \
  >"$OUT/build.log" 2>&1; then
  tail -n 30 "$OUT/build.log" >&2
  die "build failed (full log: $OUT/build.log)"
fi
[[ -x build/tunlat ]] || die "build finished but build/tunlat is missing (log: $OUT/build.log)"

# Workload through the traced device; its output goes to a file so the terminal
# shows only tunlat's live lines and report.
if [[ $LAB == seed000 ]]; then
  WORKLOAD="ping -q -f -c 2000"
else
  WORKLOAD="iperf3 -c PEER -t 8"
fi
export OUT LAB TUNLAT=$REPO_ROOT/build/tunlat
rm -f "$OUT/report.json" "$OUT/report.html" "$OUT/flame.svg"

echo "== lab $LAB: tracing 12 s while \"$WORKLOAD\" runs after 2 s"
# Runs inside the lab (LAB_* exported by lab.sh). tunlat stays in the foreground so
# Ctrl-C reaches it and it still prints its report; the workload starts after ~2 s
# so tunlat is attached before the first packet.
# shellcheck disable=SC2016 # expanded by the inner bash, not here
INNER='
  # exec: after the sleep, $wl is the workload itself, so one kill stops it.
  (
    sleep 2
    if [[ $LAB == seed000 ]]; then
      exec ip netns exec "$LAB_NS" ping -q -f -c 2000 "$LAB_PEER_IP"
    else
      exec ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 8
    fi
  ) >"$OUT/workload.log" 2>&1 &
  wl=$!
  rc=0
  "$TUNLAT" trace --netns "$LAB_NS" --dev "$LAB_DEV" -d 12 --json "$OUT/report.json" \
    --html "$OUT/report.html" --svg "$OUT/flame.svg" || rc=$?
  # tunlat may end early (e.g. failed to attach): do not leave the workload behind.
  kill "$wl" 2>/dev/null || true
  wrc=0
  wait "$wl" || wrc=$?
  echo
  echo "== workload (full output: $OUT/workload.log):"
  grep -E "sender|receiver|packets transmitted|rtt" "$OUT/workload.log" || true
  ((wrc == 0)) || echo "warning: the workload failed (exit $wrc), see $OUT/workload.log" >&2
  exit "$rc"
'
rc=0
"$SCRIPT_DIR/lab.sh" "$LAB" -- bash -c "$INNER" || rc=$?

echo
if [[ -s $OUT/report.json ]]; then
  echo "== JSON report: $OUT/report.json"
  echo "== HTML report: $OUT/report.html, flame graph: $OUT/flame.svg (open them in a browser)"
else
  echo "== no JSON report was written (tunlat exit $rc)" >&2
fi
exit "$rc"

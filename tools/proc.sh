# SPDX-License-Identifier: MIT
# tools/proc.sh - process helpers for the lab and bench scripts (sourced, not run): stop only
# the processes we started, and run a lab's command so that signals end it and its lab cleanly.
# SC2317: functions run from traps look unreachable; SC2086: pid lists split on purpose.
# shellcheck shell=bash disable=SC2317,SC2086

# All descendants of a pid (children first, found by parent pid), so we only ever
# signal processes this script started.
descendants() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    descendants "$c"
    echo "$c"
  done
}

# Running and not a zombie (an exited child stays a zombie until we reap it).
alive() {
  local st
  [[ -n ${1:-} ]] || return 1
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]]
}

# wait_ready FILE PID: wait up to 5 s for PID to write its ready file; fails if PID
# exits first or time runs out.
wait_ready() {
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $1 ]] && return 0
    alive "$2" || return 1
    sleep 0.1
  done
  [[ -s $1 ]]
}

# wait_gone "PIDS" TENTHS: wait up to TENTHS/10 s for all pids to exit.
wait_gone() {
  local pids=$1 n=$2 p any
  while ((n-- > 0)); do
    any=0
    for p in $pids; do alive "$p" && any=1; done
    ((any)) || return 0
    sleep 0.1
  done
  return 1
}

# signal_pids "PIDS" [SIGNAL] [GRACE_TENTHS]: signal the pids, KILL those left after the grace.
signal_pids() {
  local pids=$1 sig=${2:-TERM} grace=${3:-30}
  kill -"$sig" $pids 2>/dev/null || true
  wait_gone "$pids" "$grace" || kill -KILL $pids 2>/dev/null || true
}

# stop_tree PID [SIGNAL] [GRACE_TENTHS]: signal a process and its descendants (TERM),
# KILL them after the grace (3 s).
stop_tree() {
  local root=$1
  alive "$root" || return 0
  signal_pids "$(descendants "$root") $root" "${2:-TERM}" "${3:-30}"
}

# finish_tree PID WAIT_TENTHS: let PID end by itself for up to WAIT_TENTHS (on Ctrl-C it got
# SIGINT too: e.g. tunlat prints its report), then stop_tree what is left of its tree. The
# tree is taken before waiting: children orphaned while PID exits would be lost otherwise.
finish_tree() {
  local root=$1 pids
  alive "$root" || return 0
  pids="$(descendants "$root") $root"
  wait_gone "$root" "$2"
  signal_pids "$pids"
}

# run_lab_cmd [CMD ARGS...]: run CMD and exit with its status; without CMD, wait until a
# signal ends the script (exit 0 if the wait ends otherwise). Sets CMD_PID / WAIT_PID for
# the caller's cleanup trap. Background + wait so a TERM to the script is handled at once.
# Without job control bash starts background jobs with SIGINT/SIGQUIT ignored and stdin
# on /dev/null: env --default-signal restores Ctrl-C for CMD (e.g. tunlat printing its
# report) and the explicit 0<&0 keeps its stdin.
run_lab_cmd() {
  local rc=0
  if (($# == 0)); then
    sleep infinity &
    WAIT_PID=$!
    wait "$WAIT_PID" || true
    exit 0
  fi
  env --default-signal=INT,QUIT "$@" 0<&0 &
  CMD_PID=$!
  wait "$CMD_PID" || rc=$?
  CMD_PID=""
  exit "$rc"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 19, cases 4, 7, 8 and 10: bad options and outputs are refused with one line and
# the documented exit code, before anything is traced or written. No kernel needed: every
# check here runs before tunlat asks for privileges.
set -euo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${FIXTURES:?FIXTURES must point at tests/fixtures}"
WORK=$(mktemp -d /tmp/tunlat-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() {  # expect RC PATTERN CMD...: exit code, one line on stderr matching PATTERN
  local want=$1 pattern=$2 rc=0 err
  shift 2
  err=$(timeout 10 "$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq $want ]] || fail "$* exited $rc, want $want: $err"
  grep -qE -- "$pattern" <<<"$err" || fail "$*: message '$err' lacks /$pattern/"
  [[ $(wc -l <<<"$err") -eq 1 ]] || fail "$*: more than one line: $err"
}

# Case 7: seconds become ns in 64 bits; no overflow, no infinity, no NaN, no trailing junk.
for v in 1e11 inf -inf nan 1e12 0 -3 2s 1e400; do
  expect 2 "duration: must be a number of seconds above 0 and at most 31536000" "$TUNLAT" trace --dev lo -d "$v"
  expect 2 "interval: must be a number of seconds" "$TUNLAT" trace --dev lo -i "$v"
done

# Case 10: an empty value is a mistake (an unset shell variable), not "no JSON".
for opt in --json --netns --record --dev; do
  expect 2 "$opt: must not be empty" "$TUNLAT" trace --dev lo "$opt" ''
done
expect 2 "json: must not be empty" "$TUNLAT" report "$FIXTURES/seed000-ping-f.tlrec" --json ''

# Case 4: the JSON never overwrites the recording, whichever names they go by.
expect 2 "--json and --record name the same file" "$TUNLAT" trace --dev lo -d 1 --json "$WORK/x" --record "$WORK/x"
[[ ! -e $WORK/x ]] || fail "--json X --record X wrote X"
ln -s "$WORK/y" "$WORK/link"
expect 2 "--json and --record name the same file" "$TUNLAT" trace --dev lo -d 1 --json "$WORK/link" --record "$WORK/y"
(cd "$WORK" && expect 2 "same file" "$TUNLAT" trace --dev lo -d 1 --json ./z --record z)
cp "$FIXTURES/seed000-ping-f.tlrec" "$WORK/r.tlrec"
ln "$WORK/r.tlrec" "$WORK/hard.tlrec"
for j in "$WORK/r.tlrec" "$WORK/hard.tlrec" "$WORK/../$(basename "$WORK")/r.tlrec"; do
  expect 2 "is the recording itself" "$TUNLAT" report "$WORK/r.tlrec" --json "$j"
  cmp -s "$WORK/r.tlrec" "$FIXTURES/seed000-ping-f.tlrec" || fail "report R --json $j changed R"
  expect 2 "same file" "$TUNLAT" trace --dev lo -d 1 --json "$j" --record "$WORK/r.tlrec"
  cmp -s "$WORK/r.tlrec" "$FIXTURES/seed000-ping-f.tlrec" || fail "trace --json $j --record R changed R"
done

# Case 8: an unwritable JSON path is refused at once, not after an hours-long trace.
expect 1 "cannot write the JSON summary to $WORK/no/such/dir/s.json: No such file or directory" \
  "$TUNLAT" trace --dev lo -d 3600 --json "$WORK/no/such/dir/s.json"
expect 1 "cannot write the JSON summary to $WORK: it is a directory" "$TUNLAT" trace --dev lo -d 3600 --json "$WORK"
expect 1 "cannot write the recording to $WORK/no/r.tlrec" "$TUNLAT" trace --dev lo -d 3600 --record "$WORK/no/r.tlrec"
expect 1 "cannot write the JSON summary to $WORK/no/s.json" \
  "$TUNLAT" report "$FIXTURES/seed000-ping-f.tlrec" --json "$WORK/no/s.json"
echo "PASS: range-checked seconds, empty values, same-file and unwritable outputs refused up front"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets one clear line and the documented exit code.
source "$(dirname "$0")/lib.sh"

NS=tlt-err-$$
make_tap_ns "$NS" tap77

expect() {  # expect RC PATTERN CMD...
  local want=$1 pattern=$2 rc=0 err
  shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq $want ]] || fail "$* exited $rc, want $want: $err"
  grep -qE "$pattern" <<<"$err" || fail "$*: message '$err' lacks /$pattern/"
  [[ $(wc -l <<<"$err") -eq 1 ]] || fail "$*: more than one line: $err"
}

# Unknown device: exit 1, and the message names the tun/tap devices that exist.
expect 1 "no device 'nosuch0'.*tap77 \(tap, netns $NS\)" "$TUNLAT" trace --dev nosuch0
expect 1 "no device 'nosuch0' in netns '$NS'" "$TUNLAT" trace --netns "$NS" --dev nosuch0
expect 1 "network namespace 'tlt-none-$$' not found" "$TUNLAT" trace --netns "tlt-none-$$" --dev tap77
# Not a namespace at all (issue 19, case 10): said so, not "needs CAP_SYS_ADMIN".
expect 1 "'$WORK' \($WORK\) is not a network namespace: a directory" "$TUNLAT" trace --netns "$WORK" --dev tap77
# Usage errors: exit 2.
expect 2 "dev" "$TUNLAT" trace
expect 2 "duration|-d" "$TUNLAT" trace --dev tap77 -d -3
# Missing privilege: name the capability (drop every capability, stay root otherwise).
if command -v capsh >/dev/null; then
  expect 1 "missing CAP_BPF" capsh --drop=all -- -c "exec $TUNLAT trace --netns $NS --dev tap77 -d 1"
fi
# A kernel too old (pretended: its BTF lacks what 5.17 added): one line naming the
# kernel, the missing piece and the minimum.
release=$(uname -r | sed 's/[.+]/\\&/g')  # e.g. 6.12.117+deb12-amd64, as a regex
TUNLAT_TEST_MISSING_BTF=skb_drop_reason expect 1 \
  "kernel $release lacks .*skb_drop_reason, since Linux 5\.17.*needs Linux 5\.17 or later" \
  "$TUNLAT" trace --netns "$NS" --dev tap77 -d 1
pass "unknown device, unknown namespace, usage, privilege and too-old-kernel errors"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 19, case 2: a reader process named with terminal escapes and a device whose name
# holds ESC are shown escaped in the live announcement and the final text report.
source "$(dirname "$0")/lib.sh"
require_bpf

NS=fl-esc-$$
DEV=$'tx\e[2J'         # the kernel allows ESC in a device name
ip netns add "$NS"
NSES+=("$NS")
# The tap's reader: any local user can name its own process so (perl's $0 is prctl
# PR_SET_NAME on Linux): set the title, clear the screen, forge a report line.
ip netns exec "$NS" perl -e '
  my ($dev, $ready) = @ARGV;
  $0 = "\e]0;OWNED\a\e[2J\nFAKE";
  open(my $tun, "+<", "/dev/net/tun") or die "tun: $!";
  ioctl($tun, 0x400454ca, pack("Z16 s x22", $dev, 0x1002)) or die "TUNSETIFF: $!";  # IFF_TAP|IFF_NO_PI
  open(my $r, ">", $ready) or die; print $r "$$\n"; close $r;
  my $buf; 1 while sysread($tun, $buf, 65536);' "$DEV" "$WORK/ready" &
BG+=($!)
for _ in $(seq 50); do [[ -s $WORK/ready ]] && break; sleep 0.1; done
[[ -s $WORK/ready ]] || fail "the perl reader did not create the tap"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS" ip addr add 1.1.1.2/30 dev "$DEV"
ip netns exec "$NS" ip link set "$DEV" up
ip netns exec "$NS" ip neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev "$DEV" nud permanent

start_trace esc --netns "$NS" --dev "$DEV" -d 3
ip netns exec "$NS" ping -q -c 20 -i 0.02 -W 0.1 1.1.1.1 >/dev/null || true  # no reply: the reader only reads
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "trace exited $TRACE_RC: $(cat "$WORK/esc.err")"

for f in esc.out esc.err; do
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$WORK/$f"; then
    fail "$f holds control characters: $(od -c "$WORK/$f" | head)"
  fi
  grep -q '^FAKE' "$WORK/$f" && fail "$f has a forged line"
done
grep -qF 'tx\e[2J' "$WORK/esc.err" || fail "announcement lacks the escaped device: $(cat "$WORK/esc.err")"
grep -qF 'TX (host -> tx\e[2J -> reader): 20 packets' "$WORK/esc.out" ||
  fail "report lacks the escaped device: $(cat "$WORK/esc.out")"
grep -qF 'reader \e]0;OWNED\x07\e[2J\n (pid' "$WORK/esc.out" ||
  fail "report lacks the escaped reader: $(cat "$WORK/esc.out")"
grep -qF 'held by \e]0;OWNED\x07\e[2J (pid' "$WORK/esc.err" ||
  fail "announcement lacks the escaped owner: $(cat "$WORK/esc.err")"
pass "hostile comm and device name escaped in the announcement and the report"

#!/usr/bin/env bash
# Owners wherever they live, processes with their threads. nsowner lives in the host's
# namespace and holds tap0 of namespace O (as slirp4netns does), read by 3 threads; a
# decoy living in O holds a tap0 of namespace D. The owner of O's tap0 is nsowner alone,
# and its reads are one process with several threads. slirp4netns, if installed, is found
# as the owner of the tap it opens in a container's namespace.
source "$(dirname "$0")/lib.sh"
require_bpf
NSOWNER=${NSOWNER:-$(dirname "$TAPREADER")/nsowner}
[[ -x $NSOWNER ]] || fail "nsowner not built at $NSOWNER"

O=tr-own-$$ D=tr-dec-$$
for ns in "$O" "$D"; do
  ip netns add "$ns"
  NSES+=("$ns")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
"$NSOWNER" --netns "/run/netns/$O" --dev tap0 --threads 3 --hold-us 25000 --ready-file "$WORK/owner.pid" &
BG+=($!)
ip netns exec "$O" "$NSOWNER" --netns "/run/netns/$D" --dev tap0 --ready-file "$WORK/decoy.pid" &
BG+=($!)
for _ in $(seq 50); do [[ -s $WORK/owner.pid && -s $WORK/decoy.pid ]] && break; sleep 0.1; done
[[ -s $WORK/owner.pid && -s $WORK/decoy.pid ]] || fail "nsowner did not start"
owner=$(cat "$WORK/owner.pid") decoy=$(cat "$WORK/decoy.pid")
[[ $(readlink /proc/$owner/ns/net) != $(readlink /run/netns/$O 2>/dev/null || stat -L -c 'net:[%i]' "/run/netns/$O") ]] ||
  fail "nsowner lives in the device's namespace: the test proves nothing"
ip netns exec "$O" ip link set lo up
ip netns exec "$O" ip addr add 1.1.1.2/30 dev tap0
ip netns exec "$O" ip link set tap0 up
ip netns exec "$O" ip neigh replace 1.1.1.1 lladdr 11:11:11:11:11:11 dev tap0 nud permanent

start_trace own --netns "$O" --dev tap0 -d 3 --json "$WORK/own.json"
ip netns exec "$O" ping -q -c 40 -i 0.01 -W 0.1 1.1.1.1 >/dev/null || true  # no replies: fine
wait_trace
[[ $TRACE_RC -eq 0 ]] || fail "tunlat exited $TRACE_RC: $(cat "$WORK/own.err")"
jq_eq "$WORK/own.json" '[.owners[].pid] | map(tostring) | join(",")' "$owner"
jq_eq "$WORK/own.json" '.owners[0].comm' nsowner
jq_eq "$WORK/own.json" '.directions.tx.packets' 40
jq_eq "$WORK/own.json" '[.directions.tx.processes[] | select(.role == "reader")] | length' 1
jq_eq "$WORK/own.json" '.directions.tx.processes[0].pid' "$owner"
threads=$(jq -r '.directions.tx.processes[0].threads | length' "$WORK/own.json")
((threads >= 2)) || fail "the reader's 40 packets were read by $threads thread(s), want >= 2"
jq -e --argjson p "$owner" '[.directions.tx.processes[0].threads[].tid] | all(. != $p)' "$WORK/own.json" >/dev/null ||
  fail "a read by the main thread, which only waits: threads are not tids"
grep -q "held by nsowner (pid $owner)" "$WORK/own.out" || fail "the text report does not name nsowner: $(grep held "$WORK/own.out")"
grep -q "threads: " "$WORK/own.out" || fail "the text report lists no threads"
echo "owner nsowner (pid $owner) found, decoy $decoy not; reads by $threads threads"

if command -v slirp4netns >/dev/null; then
  unshare -n sleep 30 &
  child=$!
  BG+=("$child")
  # Until unshare has run, the child is in our namespace: slirp4netns must not start before.
  for _ in $(seq 50); do [[ $(readlink "/proc/$child/ns/net") != $(readlink /proc/self/ns/net) ]] && break; sleep 0.1; done
  [[ $(readlink "/proc/$child/ns/net") != $(readlink /proc/self/ns/net) ]] || fail "unshare -n did not run"
  slirp4netns --configure --mtu=65520 "$child" tap0 >"$WORK/slirp.log" 2>&1 &
  slirp=$!
  BG+=("$slirp")
  for _ in $(seq 50); do nsenter -t "$child" -n ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
  nsenter -t "$child" -n ip link show tap0 >/dev/null 2>&1 || fail "slirp4netns made no tap0: $(cat "$WORK/slirp.log")"
  "$TUNLAT" trace -q --netns "$child" --dev tap0 -d 0.3 --json "$WORK/slirp.json" >/dev/null 2>&1 ||
    fail "tunlat could not trace slirp4netns's tap0"
  jq_eq "$WORK/slirp.json" '[.owners[] | select(.comm == "slirp4netns") | .pid] | map(tostring) | join(",")' "$slirp"
  echo "slirp4netns (pid $slirp) found as the owner of its container's tap0"
else
  echo "slirp4netns not installed: its part is not run"
fi
pass "owners found by their fd's device, wherever they live; threads under their process"

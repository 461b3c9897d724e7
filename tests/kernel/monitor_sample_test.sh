#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunlat monitor --sample 8 beside a monitor that follows every packet, on a real OpenVPN
# tap tunnel under iperf3 in both directions: the counts the tracepoints name the device
# at (queue, xmit, inject, bytes) are equal; what only a followed packet tells is an
# estimate (a followed packet counts for those passed over since the last one): the read
# and receive counts within 10 % of the exact ones, the ring span's median within two
# buckets (41 %: a GSO packet's segments wait alike, so the sample is of ~1 in 8 GSO
# packets, a few hundred); the VPN stopped 1.5 s is one ring stall of 1.0-2.5 s for the
# sampled monitor too.
source "$(dirname "$0")/lib.sh"
require_bpf
require_monitor
command -v openvpn >/dev/null && command -v iperf3 >/dev/null || skip "openvpn or iperf3 missing"
command -v curl >/dev/null || skip "curl missing (tools/setup.sh installs it)"
LAB=$(dirname "$0")/../../tools/lab.sh

ALL_PORT=$(free_port)
SAMPLED_PORT=$(free_port)
[[ $ALL_PORT != "$SAMPLED_PORT" ]] || SAMPLED_PORT=$(free_port)
export TUNLAT WORK ALL_PORT SAMPLED_PORT

LAB_NS_PREFIX=ms$$ "$LAB" openvpn-tap -- bash -c '
set -euo pipefail
[[ -n ${TL_TRACE_TEST:-} ]] && set -x
fail() { echo "FAIL: $*" >&2; exit 1; }
scrape() { curl -sf "127.0.0.1:$1/metrics" >"$WORK/$2.txt"; }
metric() { # metric FILE NAME LABELS: one series'"'"' value in a scrape (0 if absent)
  awk -v n="$2" -v l="$3" "
    !found && (index(\$0, n \"{\") == 1 || index(\$0, n \" \") == 1) && index(\$0, l) { print \$NF; found = 1 }
    END { if (!found) print 0 }" "$WORK/$1.txt"
}
p50_le() { # p50_le FILE: the upper bound of the bucket holding the TX ring span'"'"'s median
  awk -v l="$a,direction=\"tx\",span=\"ring\"" "
    index(\$0, \"tunlat_span_seconds_bucket{\") == 1 && index(\$0, l) {
      match(\$0, /le=\"[^\"]*\"/); le[++n] = substr(\$0, RSTART + 4, RLENGTH - 5); c[n] = \$NF }
    END { for (i = 1; i <= n; i++) if (c[i] >= c[n] / 2) { print le[i]; exit } }" "$WORK/$1.txt"
}
within() { awk -v m="$1" -v e="$2" -v f="$3" "BEGIN { exit !(e > 0 && m >= e * (1 - f) && m <= e * (1 + f)) }"; }

"$TUNLAT" monitor --listen "127.0.0.1:$ALL_PORT" --dev "$LAB_NS/$LAB_DEV" 2>"$WORK/all.err" &
ALL=$!
"$TUNLAT" monitor --listen "127.0.0.1:$SAMPLED_PORT" --dev "$LAB_NS/$LAB_DEV" --sample 8 2>"$WORK/sampled.err" &
SAMPLED=$!
trap "kill $ALL $SAMPLED 2>/dev/null; wait $ALL $SAMPLED 2>/dev/null || true" EXIT
up() { grep -q "^tunlat: monitoring 1 " "$WORK/all.err" && grep -q "^tunlat: monitoring 1 " "$WORK/sampled.err"; }
for _ in $(seq 100); do up && break; sleep 0.1; done
up || fail "monitors did not start: $(cat "$WORK/all.err" "$WORK/sampled.err")"
a="device=\"$LAB_DEV\",netns=\"$LAB_NS\""

ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 4 --bidir >/dev/null &
CL=$!
sleep 1
scrape "$ALL_PORT" all0; scrape "$SAMPLED_PORT" sampled0  # histograms are born at zero
wait $CL
sleep 0.5
scrape "$ALL_PORT" all; scrape "$SAMPLED_PORT" sampled
[[ $(metric sampled tunlat_sample_packets "") == 8 ]] || fail "tunlat_sample_packets $(metric sampled tunlat_sample_packets "")"
for p in "tx\",point=\"queue" "tx\",point=\"xmit" "rx\",point=\"inject"; do
  e=$(metric all tunlat_packets_total "$a,direction=\"$p\"") m=$(metric sampled tunlat_packets_total "$a,direction=\"$p\"")
  [[ $e -gt 0 && $m == "$e" ]] || fail "${p//\"/} counted $m by the sampled monitor, $e by the other"
done
for d in tx rx; do
  e=$(metric all tunlat_bytes_total "$a,direction=\"$d\"") m=$(metric sampled tunlat_bytes_total "$a,direction=\"$d\"")
  [[ $m == "$e" ]] || fail "$d bytes: sampled $m, every packet $e"
done
for p in "tx\",point=\"read" "rx\",point=\"receive"; do
  e=$(metric all tunlat_packets_total "$a,direction=\"$p\"") m=$(metric sampled tunlat_packets_total "$a,direction=\"$p\"")
  within "$m" "$e" 0.10 || fail "${p//\"/}: estimated $m, counted $e (want within 10 %)"
done
e50=$(p50_le all) m50=$(p50_le sampled)
within "$m50" "$e50" 0.42 || fail "ring p50 bucket: sampled le=$m50, every packet le=$e50"
reads=$(metric all tunlat_packets_total "$a,direction=\"tx\",point=\"read\"")
echo "estimates: TX read $(metric sampled tunlat_packets_total "$a,direction=\"tx\",point=\"read\"") of $reads," \
  "RX receive $(metric sampled tunlat_packets_total "$a,direction=\"rx\",point=\"receive\"") of" \
  "$(metric all tunlat_packets_total "$a,direction=\"rx\",point=\"receive\""); ring p50 le $m50 s vs $e50 s"

# The VPN stopped 1.5 s under load: one ring stall of 1.0-2.5 s, seen through the sample.
s0=$(metric sampled tunlat_stalls_total "$a,direction=\"tx\",stage=\"ring\"")
secs0=$(metric sampled tunlat_stall_seconds_total "$a,direction=\"tx\",stage=\"ring\"")
ip netns exec "$LAB_NS" iperf3 -c "$LAB_PEER_IP" -t 4 >/dev/null &
CL=$!
sleep 1.2
kill -STOP "$LAB_OWNER_PID"; sleep 1.5; kill -CONT "$LAB_OWNER_PID"
wait $CL || true
sleep 0.5
scrape "$SAMPLED_PORT" sampled
s1=$(metric sampled tunlat_stalls_total "$a,direction=\"tx\",stage=\"ring\"")
secs1=$(metric sampled tunlat_stall_seconds_total "$a,direction=\"tx\",stage=\"ring\"")
[[ $((s1 - s0)) == 1 ]] || fail "stalls: $s0 -> $s1 over a 1.5 s stop, want one more"
d=$(awk -v a="$secs0" -v b="$secs1" "BEGIN { printf \"%.2f\", b - a }")
awk -v d="$d" "BEGIN { exit !(d >= 1.0 && d <= 2.5) }" || fail "stall seconds $secs0 -> $secs1, want 1.0-2.5 more"
echo "the 1.5 s stop: one ring stall of $d s"
' >"$WORK/lab.log" 2>&1 || fail "$(grep -h FAIL "$WORK/lab.log" || tail -5 "$WORK/lab.log")"
pass "$(grep -E '^(estimates|the 1.5 s)' "$WORK/lab.log" | tr '\n' ' ')"

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# An independent view of a TCP stall, from tcpdump's capture of the sender's device:
# the longest wait with data outstanding and nothing new acknowledged (ended by an ACK
# covering new data or the peer's FIN), the silences of 200 ms or more in it between the
# peer's packets, its duplicate ACKs and the sends of the first unacknowledged byte.
# Prints one JSON object (durations in ms). Usage: tcp_stall_view.py PCAP [SERVER_PORT]
import json
import re
import subprocess
import sys
from collections import Counter

pcap, port = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "5201"
lines = subprocess.run(["tcpdump", "-r", pcap, "-tt", "-n", "-S", "tcp port " + port],
                       capture_output=True, text=True, check=True).stdout.splitlines()


def after(a, b):  # sequence numbers wrap
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


pk = []
for l in lines:
    m = re.match(r"(\d+\.\d+) IP (\S+) > (\S+): Flags \[([^\]]*)\](.*)", l)
    if not m:
        continue
    t, src, dst, flags, rest = float(m[1]), m[2], m[3], m[4], m[5]
    from_peer = src.endswith("." + port)
    seq = re.search(r"seq (\d+):(\d+)", rest)
    ack = re.search(r"ack (\d+)", rest)
    length = re.search(r"length (\d+)", rest)
    pk.append(((dst if from_peer else src).rsplit(".", 1)[1], t, from_peer,
               (int(seq[1]), int(seq[2])) if seq else None, int(ack[1]) if ack else None,
               int(length[1]) if length else 0, flags))
if not pk:
    print(json.dumps(None))
    sys.exit()
main = Counter(p[0] for p in pk).most_common(1)[0][0]  # the data connection, not iperf3's control

acked = high = wait = best = None


def close(t, fin):
    global best
    if wait and (best is None or t - wait["start"] > best["end"] - best["start"]):
        best = dict(wait, end=t, fin=fin, acked=acked)


for _, t, from_peer, seq, ack, length, flags in (p for p in pk if p[0] == main):
    if from_peer:
        if "F" in flags:
            close(t, True)
            wait = None
            continue
        if ack is not None and (acked is None or after(ack, acked)):
            close(t, False)
            acked, wait = ack, None
            if high is not None and after(high, acked):
                wait = dict(start=t, peer=[], dups=0, resent=[])
        elif wait:
            wait["peer"].append(t)
            wait["dups"] += ack == acked and length == 0
    elif seq:
        if high is None or after(seq[1], high):
            high = seq[1]
        if wait is None and acked is not None and after(high, acked):
            wait = dict(start=t, peer=[], dups=0, resent=[])
        elif wait and not after(seq[0], acked) and after(seq[1], acked):
            wait["resent"].append(t)
if best is None:
    print(json.dumps(None))
    sys.exit()
s = best["start"]
ts = [s] + best["peer"] + [best["end"]]
print(json.dumps({
    "duration_ms": round((best["end"] - s) * 1e3, 3),
    "ended_by": "fin" if best["fin"] else "ack",
    "peer_packets": len(best["peer"]),
    "dup_acks": best["dups"],
    "silences": [{"from_ms": round((a - s) * 1e3, 3), "duration_ms": round((b - a) * 1e3, 3)}
                 for a, b in zip(ts, ts[1:]) if b - a >= 0.2],
    "hole_resent_ms": [round((t - s) * 1e3, 3) for t in best["resent"]],
}))

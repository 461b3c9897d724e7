#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tunnel_delays.py A.pcap B.pcap SRC: the median one-way delay, in us, of TCP data packets
# from SRC captured on A's device (TX, at its xmit) and then on B's (RX, at its receive),
# matched by IPv4 id and TCP sequence: an independent clock for tunlat's tunnel transit.
import statistics
import struct
import sys


def packets(path, src):
    out = {}
    with open(path, "rb") as f:
        magic = struct.unpack("<I", f.read(24)[:4])[0]
        scale = 1e-9 if magic == 0xA1B23C4D else 1e-6
        while hdr := f.read(16):
            sec, frac, caplen, _ = struct.unpack("<IIII", hdr)
            data = f.read(caplen)
            if len(data) < 54 or data[12:14] != b"\x08\x00":
                continue
            ip = data[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6 or ".".join(map(str, ip[12:16])) != src:
                continue
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:]
            if total - ihl - (tcp[12] >> 4) * 4 <= 0:
                continue  # no data: an ACK
            key = (struct.unpack(">H", ip[4:6])[0], struct.unpack(">I", tcp[4:8])[0])
            out.setdefault(key, sec + frac * scale)
    return out


a, b = packets(sys.argv[1], sys.argv[3]), packets(sys.argv[2], sys.argv[3])
delays = [(b[k] - t) * 1e6 for k, t in a.items() if k in b]
print(f"{statistics.median(delays):.1f} {len(delays)} {len(a)}")

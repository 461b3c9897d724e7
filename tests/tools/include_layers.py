#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks the include graph of userspace/core's folders: no cycle, and no edge the layering below does not allow.
"""Usage: include_layers.py CORE_DIR [--graph]

Builds the graph of core's folders from their #include "core/..." lines (a file at core's
root, pipeline.h, is the node "pipeline"), prints it with --graph, and exits 1 on a cycle,
on an edge not in ALLOWED, or on an include of the layers above core (cli/, kernel/).
"""
import os
import re
import sys

# What each folder may include, lowest first. A folder's own files are always allowed.
#   model                 plain data: events, flows, journeys, the trace's info
#   filter, format        leaves: the pcap filter; text for people and the JSON's numbers
#   ingest, record, correlate   decode, store and join what the kernel sent
#   analyse               statistics, stalls, pacing, the VPN process
#   diagnose              findings from the analysis
#   pipeline              (core/pipeline.h) routes events through the above
#   report                the JSON summary (findings handed in), text, HTML, SVG, Perfetto
#   monitor               tunlat monitor: stalls from the kernel's sums, Prometheus's metrics
ALLOWED = {
    "model": set(),
    "filter": set(),
    "format": set(),
    "ingest": {"model"},
    "record": {"model"},
    "correlate": {"model"},
    "analyse": {"model", "ingest", "record", "correlate"},
    "diagnose": {"model", "analyse", "format"},
    "tunnel": {"model", "correlate", "analyse"},
    "pipeline": {"model", "ingest", "record", "correlate", "analyse", "tunnel"},
    "report": {"model", "correlate", "analyse", "diagnose", "format", "pipeline", "tunnel"},
    "monitor": set(),
}
OUTSIDE = ("cli/", "kernel/")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def node_of(core, path):
    rel = os.path.relpath(path, core)
    head, _, rest = rel.partition(os.sep)
    return head if rest else os.path.splitext(head)[0]


def graph(core):
    edges, problems = {}, []
    for root, _, files in os.walk(core):
        for name in sorted(files):
            if not name.endswith((".h", ".cpp")):
                continue
            path = os.path.join(root, name)
            src = node_of(core, path)
            edges.setdefault(src, set())
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    where = f"{os.path.relpath(path, core)}:{n}"
                    if inc.startswith(OUTSIDE):
                        problems.append(f"{where}: core includes {inc}, a layer above it")
                    if not inc.startswith("core/"):
                        continue
                    dst = node_of(core, os.path.join(core, inc[len("core/"):]))
                    if dst == src:
                        continue
                    edges[src].add(dst)
                    if src not in ALLOWED:
                        problems.append(f"{where}: folder {src} is not in the layering (tests/tools/include_layers.py)")
                    elif dst not in ALLOWED[src]:
                        problems.append(f"{where}: {src} includes {inc}: {src} may include only "
                                        f"{', '.join(sorted(ALLOWED[src])) or 'nothing of core'}")
    return edges, problems


def cycles(edges):
    found, state = [], {}

    def visit(n, stack):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif not state.get(m):
                visit(m, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if not state.get(n):
            visit(n, [])
    return found


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    edges, problems = graph(sys.argv[1])
    for c in cycles(edges):
        problems.append("include cycle: " + " -> ".join(c))
    if "--graph" in sys.argv[2:] or problems:
        for n in sorted(edges):
            print(f"{n:<10} -> {', '.join(sorted(edges[n])) or '(nothing of core)'}")
    for p in problems:
        print("include_layers: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

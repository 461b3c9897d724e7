#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes grafana-dashboard.json, the Grafana dashboard of `tunlat monitor`'s metrics
# (docs/monitor.md): run it after changing a panel, commit both. The JSON is what users
# import and what tests/kernel/monitor_dashboard_test.sh runs against a real Prometheus.
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'device=~"$device", netns=~"$netns"'
RI = "$__rate_interval"

TX_SPANS = [("qdisc", "queued on the device -> handed to its xmit"),
            ("ring", "in the tun ring -> the VPN reads it"),
            ("copy", "read -> freed"),
            ("total", "queued -> read")]
RX_SPANS = [("backlog", "the VPN writes it -> the stack receives it"),
            ("stack", "received -> a TCP socket takes it, or it is delivered"),
            ("socket", "taken by the socket -> read by the application"),
            ("total", "written -> delivered (or taken)")]

panels = []
next_id = 1


def add(panel, x, y, w, h):
    global next_id
    panel["id"] = next_id
    next_id += 1
    panel["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
    panel.setdefault("datasource", DS)
    panels.append(panel)


def row(title, y):
    add({"type": "row", "title": title, "collapsed": False, "panels": []}, 0, y, 24, 1)
    del panels[-1]["datasource"]


def target(expr, legend, ref, fmt="time_series"):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref,
            "format": fmt, "range": True, "instant": False}


def timeseries(title, desc, targets, unit, stack=False, draw="line"):
    return {
        "type": "timeseries", "title": title, "description": desc, "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"drawStyle": draw, "lineWidth": 1, "fillOpacity": 10 if stack else 0,
                           "showPoints": "never", "spanNulls": False,
                           "stacking": {"mode": "normal" if stack else "none", "group": "A"}},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                               "calcs": ["mean", "max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def heatmap(direction, span, what):
    expr = (f'sum by (le) (rate(tunlat_span_seconds_bucket{{{SEL}, direction="{direction}", '
            f'span="{span}"}}[{RI}]))')
    return {
        "type": "heatmap",
        "title": f"{direction.upper()} {span}: time per packet",
        "description": f"Packets per second by how long they spent in the {span} span "
                       f"({what}), from tunlat_span_seconds (quarter-octave buckets).",
        "targets": [target(expr, "{{le}}", "A", "heatmap")],
        "fieldConfig": {"defaults": {"custom": {"hideFrom": {"legend": False, "tooltip": False,
                                                             "viz": False},
                                                "scaleDistribution": {"type": "linear"}}},
                        "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 0,
            "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential",
                      "exponent": 0.5, "fill": "dark-orange", "reverse": False, "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"show": True, "yHistogram": False},
            "yAxis": {"axisPlacement": "left", "unit": "s", "reverse": False},
            "cellValues": {"unit": "pps"},
        },
    }


def quantiles(direction):
    t = []
    for ref, q in (("A", "0.5"), ("B", "0.99")):
        t.append(target(
            f'histogram_quantile({q}, sum by (le, span) (rate(tunlat_span_seconds_bucket'
            f'{{{SEL}, direction="{direction}"}}[{RI}])))',
            f"{{{{span}}}} p{round(float(q) * 100)}", ref))
    t.append(target(
        f'sum by (span) (rate(tunlat_span_seconds_sum{{{SEL}, direction="{direction}"}}[{RI}]))'
        f' / sum by (span) (rate(tunlat_span_seconds_count{{{SEL}, direction="{direction}"}}[{RI}]))',
        "{{span}} mean", "C"))
    spans = TX_SPANS if direction == "tx" else RX_SPANS
    return timeseries(f"{direction.upper()} spans: p50, p99, mean",
                      "Quantiles interpolated within the quarter-octave buckets (each at most "
                      "19 % wide) of the selected devices together. Spans: "
                      + "; ".join(f"{s}: {w}" for s, w in spans) + ".",
                      t, "s")


y = 0
row("Latency by span", y)
y += 1
add(quantiles("tx"), 0, y, 12, 8)
add(quantiles("rx"), 12, y, 12, 8)
y += 8
for i, (span, what) in enumerate(TX_SPANS):
    add(heatmap("tx", span, what), 6 * i, y, 6, 8)
y += 8
for i, (span, what) in enumerate(RX_SPANS):
    add(heatmap("rx", span, what), 6 * i, y, 6, 8)
y += 8

row("Queues, stalls and drops", y)
y += 1
add(timeseries("Packets held per stage (ring occupancy)",
               "tunlat_queued_packets: packets in the stage now (TX qdisc, TX tun ring, RX "
               "backlog), sampled at each scrape.",
               [target(f"sum by (direction, stage) (tunlat_queued_packets{{{SEL}}})",
                       "{{direction}} {{stage}}", "A"),
                target(f"sum by (direction, stage) (max_over_time(tunlat_queued_packets{{{SEL}}}[{RI}]))",
                       "{{direction}} {{stage}} max", "B")],
               "short"), 0, y, 8, 8)
add(timeseries("Stalls",
               "Stalls begun (a stage holding packets and releasing none for --stall-ms), and the "
               "fraction of time each stage stood stalled (rate of tunlat_stall_seconds_total).",
               [target(f"sum by (direction, stage) (increase(tunlat_stalls_total{{{SEL}}}[{RI}]))",
                       "{{direction}} {{stage}} stalls", "A"),
                target(f"sum by (direction, stage) (rate(tunlat_stall_seconds_total{{{SEL}}}[{RI}]))",
                       "{{direction}} {{stage}} stalled (s/s)", "B")],
               "short"), 8, y, 8, 8)
add(timeseries("Drops by reason",
               "Packets of the device dropped per second, by the kernel's drop reason "
               "(tunlat_drops_total, scope device).",
               [target(f"sum by (direction, reason) (rate(tunlat_drops_total{{{SEL}}}[{RI}]))",
                       "{{direction}} {{reason}}", "A")],
               "pps", stack=True), 16, y, 8, 8)
y += 8
drops_table = {
    "type": "table", "title": "Drops by reason and kernel location (over the time range)",
    "description": "tunlat_drops_total increase over the dashboard's range; locations beyond "
                   "the 20 most frequent of a device are summed as other.",
    "targets": [target(f"sort_desc(sum by (device, netns, direction, reason, location) "
                       f"(increase(tunlat_drops_total{{{SEL}}}[$__range])))", "", "A", "table")],
    "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
    "options": {"showHeader": True},
    "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
}
drops_table["targets"][0]["instant"] = True
drops_table["targets"][0]["range"] = False
add(drops_table, 0, y, 24, 6)
y += 6

row("Traffic and CPU", y)
y += 1
add(timeseries("Packets per second at each point",
               "tunlat_packets_total: TX queue, xmit, read (by the VPN), free; RX inject (written "
               "by the VPN), receive, taken (by a TCP socket), deliver.",
               [target(f"sum by (direction, point) (rate(tunlat_packets_total{{{SEL}}}[{RI}]))",
                       "{{direction}} {{point}}", "A")],
               "pps"), 0, y, 8, 8)
add(timeseries("Throughput",
               "tunlat_bytes_total: TX bytes counted at queue, RX bytes at inject.",
               [target(f"sum by (direction) (rate(tunlat_bytes_total{{{SEL}}}[{RI}])) * 8",
                       "{{direction}}", "A")],
               "bps"), 8, y, 8, 8)
add(timeseries("Owner CPU per packet",
               "CPU time of the processes holding the device (the VPN) per packet it moved: "
               "read from the ring (TX) or written into it (RX). /proc's CPU time moves in "
               "ticks (10 ms): read it over minutes, not seconds.",
               [target(f"sum by (device, netns) (rate(tunlat_owner_cpu_seconds_total{{{SEL}}}[{RI}]))"
                       f" / sum by (device, netns) (rate(tunlat_packets_total{{{SEL}, "
                       f'point=~"read|inject"}}[{RI}]))',
                       "{{netns}}/{{device}}", "A")],
               "s"), 16, y, 8, 8)
y += 8
add(timeseries("Owner CPU",
               "CPU used by each process holding the device (1 = one CPU).",
               [target(f"sum by (device, netns, pid, comm) "
                       f"(rate(tunlat_owner_cpu_seconds_total{{{SEL}}}[{RI}]))",
                       "{{comm}} ({{pid}}) {{netns}}/{{device}}", "A")],
               "percentunit"), 0, y, 12, 8)
add(timeseries("Monitor",
               "Devices the monitor watches (all of them, whatever is selected above), and "
               "packets it stopped following because another took their slot in flight.",
               [target("sum(tunlat_devices)", "devices watched", "A"),
                target(f"sum(rate(tunlat_lost_records_total[{RI}]))", "lost records/s", "B"),
                target("count by (version) (tunlat_build_info)", "tunlat {{version}}", "C")],
               "short"), 12, y, 12, 8)


def var_query(name, label, query, multi=True):
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": query,
        "definition": query, "refresh": 2, "sort": 1, "multi": multi, "includeAll": True,
        "allValue": ".*", "current": {}, "options": [], "regex": "", "hide": 0,
    }


dashboard = {
    "__requires": [
        {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.5.0"},
        {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        {"type": "panel", "id": "heatmap", "name": "Heatmap", "version": ""},
        {"type": "panel", "id": "table", "name": "Table", "version": ""},
    ],
    "title": "tunlat monitor",
    "uid": "tunlat-monitor",
    "description": "tun/tap device latency, queues, stalls and drops from `tunlat monitor` "
                   "(docs/monitor.md)",
    "tags": ["tunlat", "vpn", "ebpf"],
    "editable": True,
    "graphTooltip": 1,
    "refresh": "10s",
    "schemaVersion": 38,
    "version": 1,
    "time": {"from": "now-1h", "to": "now"},
    "timepicker": {},
    "timezone": "",
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        var_query("netns", "Namespace", "label_values(tunlat_packets_total, netns)"),
        var_query("device", "Device", 'label_values(tunlat_packets_total{netns=~"$netns"}, device)'),
    ]},
    "panels": panels,
}

# The dashboard next to this script, or where the first argument says (the test compares).
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "grafana-dashboard.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")

#!/usr/bin/env bash
# The Grafana dashboard against a real Prometheus (issue 26): Debian's prometheus server,
# on loopback, scrapes a `tunlat monitor` every second while a tap in a namespace of the
# test's own carries pings, read slowly (packets wait in the ring) and replied to. ping, as
# root, reads a raw socket's clone of each reply and the original finds no ping socket
# (a drop: NO_SOCKET at ping_rcv); a second pinger on an ICMP datagram socket, under a
# group of its own, gets its replies through its socket (RX stack and socket spans).
# Then every query of every panel of examples/monitor/grafana-dashboard.json, with
# its template variables set to the lab's device and namespace, runs through Prometheus's
# HTTP API: none may error, each must name only metrics and labels the monitor exports,
# and the spans', packets' and queues' panels must return series. The variables' own
# label_values() queries must find the lab's device and namespace too.
source "$(dirname "$0")/lib.sh"
require_bpf
require_monitor
command -v prometheus >/dev/null || skip "prometheus not installed (tools/setup.sh installs it)"
command -v python3 >/dev/null || skip "python3 not installed (tools/setup.sh installs it)"
command -v curl >/dev/null || skip "curl not installed (tools/setup.sh installs it)"
DASHBOARD=${DASHBOARD:-$(dirname "$0")/../../examples/monitor/grafana-dashboard.json}
[[ -r $DASHBOARD ]] || fail "no dashboard at $DASHBOARD"
# The JSON is what make-dashboard.py writes: neither was edited without the other
# (DASHBOARD_EDITED=1 runs an edited copy, as when checking that this test can fail).
if [[ ${DASHBOARD_EDITED:-0} != 1 ]]; then
  python3 "$(dirname "$0")/../../examples/monitor/make-dashboard.py" "$WORK/generated.json"
  cmp -s "$DASHBOARD" "$WORK/generated.json" ||
    fail "$DASHBOARD differs from what make-dashboard.py writes: run it, commit both"
fi

MON_PORT=$(free_port)
PROM_PORT=$(free_port)
[[ $PROM_PORT != "$MON_PORT" ]] || PROM_PORT=$(free_port)

NS=md-dash-$$ DEV=mdtap0
# Replies, so that RX is traced and drops; 2 ms a packet, so that packets wait in the ring.
make_tap_ns "$NS" "$DEV" --reply --sleep-us 2000

start_monitor 1 --dev "$NS/$DEV" --listen "127.0.0.1:$MON_PORT" --stall-ms 50
prometheus_config "$WORK/prometheus.yml" "$MON_PORT"
mkdir "$WORK/tsdb"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
BG+=($!)
PROM=http://127.0.0.1:$PROM_PORT
for _ in $(seq 100); do curl -fs "$PROM/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$PROM/-/ready" >/dev/null || fail "prometheus did not start: $(tail -5 "$WORK/prometheus.log")"

# Traffic until the queries are done: 1000 pings a second, and bursts of up to 200 at once
# (as many as ping's socket buffer lets wait in the ring).
ip netns exec "$NS" ping -q -i 0.001 -s 200 -w 60 1.1.1.1 >/dev/null 2>&1 &
BG+=($!)
# ICMP datagram sockets for group 4242 only: root's ping stays raw (and drops), the pinger
# below runs with that group as its only one.
ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="4242 4242"
cat >"$WORK/dgram_ping.py" <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.setblocking(False)
end = time.time() + 60
seq = 0
while time.time() < end:
    seq = (seq + 1) & 0xffff
    s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, seq) + b"x" * 100, ("1.1.1.1", 0))
    time.sleep(0.002)
    try:
        while s.recv(2048): pass
    except BlockingIOError:
        pass
PY
ip netns exec "$NS" setpriv --regid=4242 --clear-groups python3 "$WORK/dgram_ping.py" \
  >"$WORK/dgram_ping.log" 2>&1 &
BG+=($!)
ip netns exec "$NS" bash -c 'for i in $(seq 30); do ping -q -f -l 200 -c 1000 -w 1 -s 1000 1.1.1.1; sleep 0.5; done' \
  >/dev/null 2>&1 &
BG+=($!)

# Up to 20 s for the scrapes to see the device's packets move (two samples a rate needs).
for _ in $(seq 40); do
  n=$(curl -fsG "$PROM/api/v1/query" \
    --data-urlencode "query=sum(rate(tunlat_packets_total{device=\"$DEV\",netns=\"$NS\",point=\"read\"}[5s])) > 0" |
    jq '.data.result | length')
  [[ $n == 1 ]] && break
  sleep 0.5
done
[[ $n == 1 ]] || fail "prometheus saw no packets read on $NS/$DEV: $(curl -fs "$PROM/api/v1/targets" | jq -c '.data.activeTargets[] | {health, lastError}')"
sleep 6 # drops and stalls, a few windows of 5 s

python3 - "$DASHBOARD" "$PROM" "$DEV" "$NS" <<'PY'
import json, math, re, sys, urllib.parse, urllib.request

dashboard, prom, dev, ns = sys.argv[1:]
failures = []


def api(path, **params):
    url = f"{prom}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def query(expr):
    r = api("query", query=expr)
    if r.get("status") != "success":
        return None, f"{r.get('errorType')}: {r.get('error')}"
    return r["data"]["result"], None


# What the monitor exports, as Prometheus stored it: each metric's label names.
names = api("label/__name__/values")["data"]
labels_of = {}
for name in [n for n in names if n.startswith("tunlat_")]:
    for s in api("series", **{"match[]": name})["data"]:
        labels_of.setdefault(name, set()).update(k for k in s if k != "__name__")
must_export = ["tunlat_span_seconds_bucket", "tunlat_packets_total", "tunlat_queued_packets",
               "tunlat_drops_total", "tunlat_stalls_total", "tunlat_stall_seconds_total",
               "tunlat_owner_cpu_seconds_total", "tunlat_bytes_total"]
for name in must_export:
    if name not in labels_of:
        failures.append(f"the lab made no series of {name}: the test cannot check its panels")



def regex_value(v):
    """A variable's value in a =~ matcher, escaped as Grafana escapes it for Prometheus."""
    return re.sub(r"([\\^$*+?.()|\[\]{}])", r"\\\\\1", v)


SUBST = {"$device": regex_value(dev), "$netns": regex_value(ns), "${device}": regex_value(dev),
         "${netns}": regex_value(ns), "$__rate_interval": "5s", "$__range": "1m",
         "$__interval": "1s"}


def substitute(expr):
    for k in sorted(SUBST, key=len, reverse=True):
        expr = expr.replace(k, SUBST[k])
    if "$" in expr:
        failures.append(f"a variable this test does not know in: {expr}")
    return expr


FUNCS = {"sum", "rate", "increase", "histogram_quantile", "max_over_time", "sort_desc", "count",
         "by", "without", "on", "ignoring", "group_left", "group_right", "avg", "max", "min",
         "topk", "bottomk", "irate", "delta", "label_values", "and", "or", "unless", "offset",
         "le", "clamp_min", "clamp_max", "abs", "vector", "scalar", "time"}


def check_names(where, expr):
    """Every metric the expression selects exists; every label it names is one of theirs."""
    metrics = set(re.findall(r"\b(tunlat_[a-z_]+)\b", expr))
    # A bare identifier before '{' or '[' that is not tunlat_*: a metric this test ignores.
    for m in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", expr):
        if m not in metrics and m not in FUNCS:
            failures.append(f"{where}: selects {m}, which is not the monitor's")
    if not metrics:
        failures.append(f"{where}: selects no tunlat_ metric: {expr}")
    known = set()
    for m in metrics:
        if m not in labels_of:
            failures.append(f"{where}: {m} is not exported")
        known |= labels_of.get(m, set())
    # A selector's matchers against its own metric; a grouping's labels against them all.
    for m, matchers in re.findall(r"\b(tunlat_[a-z_]+)\{([^}]*)\}", expr):
        for l in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", matchers):
            if m in labels_of and l not in labels_of[m]:
                failures.append(f"{where}: {m} has no label {l}")
    used = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", expr))
    for g in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        used |= {x.strip() for x in g.split(",") if x.strip()}
    for l in sorted(used - known):
        failures.append(f"{where}: label {l} is on none of {sorted(metrics)}")


def must_have_data(expr):
    # The socket span is TCP's (an established socket takes the segment: tcp_probe, then a
    # reader copies it) and this lab's replies are ICMP: kernel.monitor checks it (iperf3).
    if 'span="socket"' in expr:
        return False
    return any(m in expr for m in ("tunlat_span_seconds", "tunlat_packets_total",
                                   "tunlat_queued_packets"))


d = json.load(open(dashboard))
panels = []
for p in d["panels"]:
    panels.append(p)
    panels.extend(p.get("panels", []))  # a collapsed row keeps its panels
queries = nonzero_spans = 0
for p in panels:
    if p.get("type") == "row":
        continue
    if not p.get("targets"):
        failures.append(f"panel {p.get('title')!r} has no query")
    for t in p.get("targets", []):
        where = f"panel {p['title']!r} {t.get('refId')}"
        raw = t.get("expr", "")
        if not raw.strip():
            failures.append(f"{where}: an empty query")
            continue
        queries += 1
        expr = substitute(raw)
        check_names(where, expr)
        result, err = query(expr)
        if err:
            failures.append(f"{where}: {err}\n    {expr}")
            continue
        values = [float(r["value"][1]) for r in result]
        print(f"{len(result):3d} series  {where}")
        if must_have_data(raw) and not result:
            failures.append(f"{where}: no series\n    {expr}")
        if "tunlat_span_seconds" in raw and any(v > 0 and math.isfinite(v) for v in values):
            nonzero_spans += 1

if nonzero_spans == 0:
    failures.append("no span panel shows a non-zero value: the lab's packets left no time")

# The template variables: label_values(METRIC{...}, LABEL) must offer the lab's.
want = {"device": dev, "netns": ns}
for v in d["templating"]["list"]:
    if v.get("type") != "query":
        continue
    q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
    m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", q.strip())
    if not m:
        failures.append(f"variable {v['name']}: not a label_values() query: {q}")
        continue
    expr = substitute(m.group(1))
    check_names(f"variable {v['name']}", expr)
    result, err = query(f"count by ({m.group(2)}) ({expr})")
    found = {r["metric"].get(m.group(2)) for r in result or []}
    if err or want.get(v["name"]) not in found:
        failures.append(f"variable {v['name']}: {q} offers {sorted(found)}, not {want.get(v['name'])} ({err})")
    queries += 1

drops, _ = query(f'sum by (direction, reason, location) (tunlat_drops_total{{device="{dev}"}})')
for r in drops or []:
    print("drops:", r["metric"], r["value"][1])
for f in failures:
    print("FAIL:", f, file=sys.stderr)
print(f"{queries} queries run, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
PY
pass "every query of the dashboard runs, names what the monitor exports, and has its data"

# SPDX-License-Identifier: MIT
# tables.jq - turns bench/run.sh's runs.jsonl (slurped) into bench/results.md.
# Arguments: $start $rev $reps $secs $kernel $cpus $cmd $notes (array) $pipe (Google Benchmark JSON).

def med: sort | if length == 0 then null
  elif length % 2 == 1 then .[(length - 1) / 2]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r(d): if . == null then null else (. * pow(10; d) | round) / pow(10; d) end;
def f(d): if . == null then "–" else r(d) | tostring end;
# "median (min–max)" of the non-null values.
def spread(d): map(select(. != null)) | if length == 0 then "–"
  else "\(med | f(d)) (\(min | f(d))–\(max | f(d)))" end;
def ratio(a; b): if a == null or b == null or b == 0 then "–" else (a / b) | f(2) end;
def labname: {fwd: "fwd (bench/fwd.c, userspace tap↔tap forwarder)",
              openvpn: "openvpn (tools/lab.sh openvpn-tap, static key, AES-256-CBC)"}[.] // .;
def wlname: {tcp: "iperf3 TCP", udp: "iperf3 UDP, 64-byte datagrams, -b 0"}[.] // .;
# pps column: datagrams received by the server (UDP); packets through the device (TCP).
def pps: if .wl == "udp" then .server_pps else .dev_pps end;
def order: {untraced: 0, tunlat: 1, "tunlat-s10": 2, "tunlat-before": 3, bpftrace: 4, tcpdump: 5, floor: 6}[.] // 9;

. as $runs
| ($runs | map(select(.profile | not))) as $main
| ($runs | map(select(.profile))) as $prof
| ($prof | map(select(.variant == "floor"))) as $floor
| [
  "# tunlat benchmark results",
  "",
  "`\($cmd)` on \($start), tunlat \($rev): Linux \($kernel), \($cpus) CPUs; \($reps) repetitions of \($secs) s per variant and workload, variants alternated (each repetition starts with another one). Figures are median (min–max) over the repetitions.",
  "",
  ($notes[] | "- **Note:** \(.)"),
  (if ($notes | length) > 0 then "" else empty end),
  "## Cost of tracing: throughput, packet rate and CPU",
  "",
  "× = median relative to the untraced median of the same lab and workload. pps is the server's received datagrams/s for UDP and the packets/s through the traced device (TX+RX) for TCP. CPU s/Mpkt = busy CPU seconds of the whole machine (user+nice+system+irq+softirq, /proc/stat) during the workload per million packets through the traced device. tracer CPU % = user+system CPU of the tracer process itself (tunlat, bpftrace, tcpdump: its userspace side and syscalls, not its BPF programs) as % of one CPU. lost = tunlat's `.events.lost` (a kernel ring full), drops = tcpdump's \"dropped by kernel\". floor = `bench/floor`: programs that return at once on the tracepoints tunlat attaches, the least that seeing every point through them can cost. tunlat-s10 = `tunlat trace --sample 10`: follows 1 packet in 10 (per CPU and direction), for extreme rates; every hit still runs its program.",
  "",
  ( $main | group_by(.lab) | .[] | .[0].lab as $lab
    | ( "### \($lab | labname)", "",
        ( group_by(.wl) | .[] | .[0].wl as $wl
          | (map(select(.variant == "untraced" and .ok))) as $base
          | ($base | map(.bps) | med) as $bbps
          | ($base | map(pps) | med) as $bpps
          | ( "**\($wl | wlname)**", "",
              "| variant | ok/runs | Mbit/s | × | \(if $wl == "udp" then "server kpps" else "device kpps" end) | × | CPU s/Mpkt | tracer CPU % | lost / drops |",
              "|---|---|---|---|---|---|---|---|---|",
              ( group_by(.variant) | sort_by(.[0].variant | order) | .[]
                | .[0].variant as $v
                | (map(select(.ok))) as $ok
                | "| \($v) | \($ok | length)/\(length) | \($ok | map(.bps / 1e6) | spread(0)) | \(ratio($ok | map(.bps) | med; $bbps)) | \($ok | map(pps | if . == null then null else . / 1e3 end) | spread(1)) | \(ratio($ok | map(pps) | med; $bpps)) | \($ok | map(.cpu_s_per_mpkt) | spread(2)) | \(if $v == "untraced" then "–" else ($ok | map(if .tracer_cpu_s == null then null else .tracer_cpu_s / .wall_s * 100 end) | spread(0)) end) | \(
                    if $v | startswith("tunlat") then "lost \($ok | map(.tunlat_lost) | spread(0)) of \($ok | map(.tunlat_seen) | med | f(0)) events"
                    elif $v == "tcpdump" then "drops \($ok | map(.tcpdump_drops) | spread(0))"
                    else "" end) |"
              ),
              ( map(select(.ok | not)) | .[] | "", "Failed: \(.variant) rep \(.rep): \(.error)" ),
              ""
            )
        )
      )
  ),
  "## BPF cost per program hit",
  "",
  "One extra run per tracer and workload with `kernel.bpf_stats_enabled=1` (only during the workload); run_cnt, run_time_ns and recursion_misses (\"missed\": hits the kernel skipped because a BPF program was already running on that CPU) per program from `bpftool prog show -j` (programs found through `bpftool perf show` for the tracer's pid). hits/pkt is per packet through the traced device. ns/hit covers the BPF program only: a `tracepoint:` program (bpftrace) also pays for building the trace record before it runs, which bpf_stats does not see; `raw_tp` (tunlat) has no such step. bpf_stats itself adds two clock reads per hit. The floor column is a run of `bench/floor.bt`: a raw tracepoint program that returns at once on each tracepoint, so its ns/hit is what being called and measured costs on this machine, with no work at all; tunlat's own work is what lies above it.",
  "",
  ( $prof | map(select(.variant == "tunlat" or .variant == "bpftrace")) | group_by(.lab) | .[]
    | .[0].lab as $lab
    | ( group_by(.wl) | .[] | .[0].wl as $wl
        | (map(select(.variant == "tunlat")) | .[0]) as $t
        | (map(select(.variant == "bpftrace")) | .[0]) as $b
        | ($floor | map(select(.lab == $lab and .wl == $wl)) | .[0]) as $f
        | ( [($t.progs // [])[], ($b.progs // [])[]] | map(.tp) | unique ) as $tps
        | def row($x; $tp): ($x.progs // [] | map(select(.tp == $tp)) | .[0]) as $p
            | if $p == null then "– | – | – | –"
              else "\($p.hits) | \(if ($x.dev_pkts // 0) > 0 then $p.hits / $x.dev_pkts | f(2) else "–" end) | \(if $p.hits > 0 then $p.ns / $p.hits | f(0) else "–" end) | \($p.recursion_misses)" end;
          def total($x): ($x.progs // []) as $ps | ($ps | map(.hits) | add // 0) as $h | ($ps | map(.ns) | add // 0) as $n
            | "**\($h)** | **\(if ($x.dev_pkts // 0) > 0 then $h / $x.dev_pkts | f(2) else "–" end)** | **\(if $h > 0 then $n / $h | f(0) else "–" end)** | **\($ps | map(.recursion_misses) | add // 0)**";
          def perpkt($x): ($x.progs // [] | map(.ns) | add // 0) as $n
            | if ($x.dev_pkts // 0) > 0 then $n / $x.dev_pkts | f(0) else "–" end;
          def floor_ns($tp): ($f.progs // [] | map(select(.tp == $tp and .hits > 0)) | .[0]) as $p
            | if $p == null then null else $p.ns / $p.hits end;
          def floor_weighted($x): ($x.progs // [] | map(select(.hits > 0) | {h: .hits, fl: floor_ns(.tp)}) | map(select(.fl != null))) as $q
            | ($q | map(.h) | add // 0) as $h
            | if $h > 0 then ($q | map(.h * .fl) | add) / $h else null end;
          def above($x): ($x.progs // [] | map(select(.hits > 0) | select(floor_ns(.tp) != null))) as $q
            | ($q | map(.hits) | add // 0) as $h
            | if $h > 0 then (($q | map(.ns) | add) / $h) - floor_weighted($x) else null end;
          ( "**\($lab) — \($wl | wlname)** (device packets: tunlat run \($t.dev_pkts // "–"), bpftrace run \($b.dev_pkts // "–"))", "",
            "| tracepoint | tunlat hits | hits/pkt | ns/hit | missed | bpftrace hits | hits/pkt | ns/hit | missed | floor ns/hit |",
            "|---|---|---|---|---|---|---|---|---|---|",
            ( $tps[] as $tp | "| \($tp) | \(row($t; $tp)) | \(row($b; $tp)) | \(floor_ns($tp) | f(0)) |" ),
            "| all (weighted by hits) | \(total($t)) | \(total($b)) | **\(floor_weighted($t) | f(0))** (tunlat's mix) |",
            "| BPF ns per device packet | \(perpkt($t)) | | | | \(perpkt($b)) | | | | |",
            "",
            "Above the floor (average ns/hit minus the floor's on the same tracepoints, weighted by each tracer's hits): tunlat **\(above($t) | f(0))**, bpftrace \(above($b) | f(0)) (whose floor is higher still: a `tracepoint:` program also needs its trace record built).",
            "" )
      )
  ),
  "## Unrelated skbs",
  "",
  "The same tracers attached to an idle tap in a namespace of its own while the workload runs on the lab: every hit is for an skb the tracer does not follow, so this is the tax every packet on the machine pays.",
  "",
  "| lab | workload | tracer | hits | hits per lab packet | avg ns/hit | ns per lab packet |",
  "|---|---|---|---|---|---|---|",
  ( $prof | map(select(.variant | endswith("-idle"))) | sort_by(.lab, .wl, .variant) | .[]
    | (.progs | map(.hits) | add // 0) as $h | (.progs | map(.ns) | add // 0) as $n
    | "| \(.lab) | \(.wl) | \(.variant | sub("-idle$"; "")) | \($h) | \(if .dev_pkts > 0 then $h / .dev_pkts | f(2) else "–" end) | \(if $h > 0 then $n / $h | f(0) else "–" end) | \(if .dev_pkts > 0 then $n / .dev_pkts | f(0) else "–" end) |" ),
  "",
  "## A filter that matches nothing",
  "",
  "tunlat with the pcap filter `host 192.0.2.1`, which no lab packet matches, and `--no-sched` (the floor has no scheduler programs), against the floor on the same workload: what a packet passed over by the filter costs. Issue 14's budget: the floor plus 30 %. How many packets a full tun ring drops moves the hits per device packet from run to run; the last two columns weigh tunlat's ns per hit of each tracepoint by the floor run's hits.",
  "",
  "| lab | workload | tunlat ns per device packet | floor ns per device packet | ratio | on the floor's mix of hits | ratio |",
  "|---|---|---|---|---|---|---|",
  ( $prof | map(select(.variant == "tunlat-nomatch")) | sort_by(.lab, .wl) | .[]
    | . as $t
    | ($floor | map(select(.lab == $t.lab and .wl == $t.wl)) | .[0]) as $f
    | def perpkt($x): if ($x.dev_pkts // 0) > 0 then ($x.progs // [] | map(.ns) | add // 0) / $x.dev_pkts else null end;
      # How many packets a full tun ring drops moves the hits per device packet from run
      # to run: tunlat's ns per hit of each tracepoint, weighted by the floor run's hits.
      def mixed($x; $y): if $y == null or ($y.dev_pkts // 0) == 0 then null
        else ([$y.progs[] | . as $fp | ($x.progs | map(select(.tp == $fp.tp and .hits > 0)) | .[0]) as $tp
               | if $tp == null then 0 else $tp.ns / $tp.hits * $fp.hits end] | add) / $y.dev_pkts end;
      (perpkt($t)) as $a | (if $f == null then null else perpkt($f) end) as $b | (mixed($t; $f)) as $m
    | "| \(.lab) | \(.wl) | \($a | f(0)) | \($b | f(0)) | \(if $a != null and $b != null and $b > 0 then "\($a / $b | f(2))×" else "–" end) | \($m | f(0)) | \(if $m != null and $b != null and $b > 0 then "\($m / $b | f(2))×" else "–" end) |" ),
  "",
  "## The scheduler part (on by default; --no-sched)",
  "",
  "tunlat follows the device owners' threads through the scheduler's tracepoints unless `--no-sched`. Per device packet: all of tunlat's programs, in runs with `--no-sched` and without (the packet path's programs alone in brackets). Per context switch: `sched_switch` with a process pair switching contexts on CPU 0 beside the lab (`bench/switcher`, like `perf bench sched pipe`: switches tunlat does not follow), against `bench/floor --sched`'s do-nothing program in the same conditions. Issue 16's budgets: at most +10 % per device packet, at most the floor + 25 ns per unrelated switch.",
  "",
  "| lab | workload | BPF ns per device packet: --no-sched | default | ratio | switches/s | sched_switch ns/hit: tunlat | floor | above floor |",
  "|---|---|---|---|---|---|---|---|---|",
  ( $prof | map(select(.variant == "tunlat")) | sort_by(.lab, .wl) | .[]
    | . as $s
    | ($prof | map(select(.lab == $s.lab and .wl == $s.wl and .variant == "tunlat-nosched")) | .[0]) as $t
    | select($t != null)
    | ($prof | map(select(.lab == $s.lab and .wl == $s.wl and .variant == "tunlat-cs")) | .[0]) as $sc
    | ($prof | map(select(.lab == $s.lab and .wl == $s.wl and .variant == "floor-sched-cs")) | .[0]) as $fc
    | def ns($x; $path): if $x == null or ($x.dev_pkts // 0) == 0 then null
        else ($x.progs // [] | map(select(($path | not) or (.tp | startswith("sched_") | not))) | map(.ns) | add // 0) / $x.dev_pkts end;
      def sw($x): if $x == null then null else ($x.progs // [] | map(select(.tp == "sched_switch")) | .[0]) end;
      (ns($t; false)) as $a | (ns($s; false)) as $b
    | (sw($sc)) as $ps | (sw($fc)) as $pf
    | (if $ps != null and $ps.hits > 0 then $ps.ns / $ps.hits else null end) as $hs
    | (if $pf != null and $pf.hits > 0 then $pf.ns / $pf.hits else null end) as $hf
    | "| \(.lab) | \(.wl) | \($a | f(0)) (\(ns($t; true) | f(0))) | \($b | f(0)) (\(ns($s; true) | f(0))) | \(if $a != null and $b != null and $a > 0 then "\($b / $a | f(2))×" else "–" end) | \(if $pf != null and ($fc.wall_s // 0) > 0 then $pf.hits / $fc.wall_s | f(0) else "–" end) | \($hs | f(0)) | \($hf | f(0)) | \(if $hs != null and $hf != null then $hs - $hf | f(0) else "–" end) |" ),
  "",
  "## --pcapng",
  "",
  "With `--pcapng` the programs that send a packet's first record (TX net_dev_start_xmit, RX netif_receive_skb) send its first 128 bytes before it, in two records. Per device packet: all of tunlat's programs, default and with `--pcapng` (docs/pcapng.md: its budget).",
  "",
  "| lab | workload | BPF ns per device packet: default | --pcapng | ratio |",
  "|---|---|---|---|---|",
  ( $prof | map(select(.variant == "tunlat")) | sort_by(.lab, .wl) | .[]
    | . as $s
    | ($prof | map(select(.lab == $s.lab and .wl == $s.wl and .variant == "tunlat-pcapng")) | .[0]) as $t
    | select($t != null)
    | def ns($x): if $x == null or ($x.dev_pkts // 0) == 0 then null else ($x.progs // [] | map(.ns) | add // 0) / $x.dev_pkts end;
      (ns($s)) as $a | (ns($t)) as $b
    | "| \(.lab) | \(.wl) | \($a | f(0)) | \($b | f(0)) | \(if $a != null and $b != null and $a > 0 then "\($b / $a | f(2))×" else "–" end) |" ),
  "",
  ( $runs | map(select(.disturbed != null)) | if length == 0 then empty else
      ("## Disturbed runs", "", "Other processes or namespaces (another lab or test) were active around these runs; they are included in the figures above.", "",
       (.[] | "- \(.lab) \(.wl) \(.variant) \(if .profile then "bpf_stats run" else "rep \(.rep)" end): \(.disturbed)"), "") end ),
  "## Userspace pipeline on one core (bench/pipeline_bench)",
  "",
  "Correlate → analyse (pacing points reordered) → tunlat/v1 summary, single-threaded; rates per CPU second of the benchmark thread. BM_Recording: a recording of the fwd lab under iperf3 TCP made during this run, preloaded; BM_RecordingFile: the same read and decompressed by read_recording_file each iteration (what `tunlat report` does).",
  "",
  "| benchmark | packets/s | events/s | events/pkt | packets | orphan segments | evicted |",
  "|---|---|---|---|---|---|---|",
  ( ($pipe.benchmarks // [])[]
    | "| \(.name | sub("/min_time:.*"; "")) | \(.["packets/s"] / 1e6 | f(2)) M | \(.["events/s"] / 1e6 | f(2)) M | \(.["events/pkt"] | f(2)) | \(.packets | f(0)) | \(.orphans | f(0)) | \(.evicted | f(0)) |" ),
  ""
] | .[]

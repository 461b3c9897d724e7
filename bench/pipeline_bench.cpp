// SPDX-License-Identifier: MIT
// pipeline_bench: how many packets per second can tunlat's userspace analysis keep up with
// on one core? Measures the one analysis path (correlate -> analyse, pacing reordered,
// then the tunlat/v1 summary) on:
//   BM_Synthetic      a generated stream shaped like a tap VPN under TCP load (below);
//   BM_SyntheticVisuals  the same with the visual outputs' data gathered (timeline, flame,
//                     the first 50000 packets for Perfetto), as --html/--svg/--perfetto do;
//   BM_Recording      a recording (env TUNLAT_BENCH_RECORDING), events preloaded in memory;
//   BM_RecordingFile  the same, read and decompressed by read_recording_file each iteration
//                     (what `tunlat report FILE` does).
// Counters: packets/s and events/s per CPU second of the one benchmark thread (kIsRate over
// CPU time, so other load on the machine does not count), events per packet, and the
// correlator's view of the input (segments joined, orphans, evictions, late events).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/analyse/visuals.h"
#include "core/diagnose/findings.h"
#include "core/model/event.h"
#include "core/model/trace_info.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/summary.h"

namespace {

using tunlat::Event;

// A generated stream shaped like the forwarder lab under iperf3 TCP, as the kernel side
// sends it: per "send" either a GSO skb queued on the device and split into 2..8 segments
// before the driver (segments get new addresses and carry their parent's queue time), or
// a plain TX packet, or an RX packet (ACK) written by the VPN. TX packets are read by the
// VPN and freed; 1 % are dropped at xmit (ring full). Most RX packets end without a traced
// free (TCP's __kfree_skb), so they wait until the correlator evicts them; some are
// delivered and freed. A packet's points go out in one record when its path ends (RX:
// at receive, then delivery and free in records of their own), records in the order they
// were sent; comm in a record of its own, once per thread. Addresses come from a small
// LIFO pool, as a slab reuses them at once; generations are per-CPU counters.
class StreamGen {
 public:
  explicit StreamGen(uint32_t seed) : rng_(seed) {}

  std::vector<Event> generate(size_t target_events) {
    size_t events = 0;
    uint64_t t = 1'000'000'000;  // ns
    while (events < target_events) {
      t += 5'000 + rng_() % 30'000;  // 5-35 us between sends: ~2 s of trace per 1 M events
      int r = rng_() % 100;
      uint16_t cpu = rng_() % 2;
      if (r < 55)
        gso_tx(t, cpu);
      else if (r < 75)
        plain_tx(t, cpu);
      else
        rx(t, cpu);
      events = records_.size() * 3;  // about 3 events per record
    }
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& a, const Record& b) { return a.sent < b.sent; });
    std::vector<Event> out;
    for (const Record& r : records_) out.insert(out.end(), r.events.begin(), r.events.end());
    return out;
  }

 private:
  struct Record {
    uint64_t sent;  // when the path ended: the record's last event
    std::vector<Event> events;
  };

  // An address free at time t: those freed by then return to the pool first (an address is
  // reused only after its previous packet was freed, as in the kernel).
  uint64_t take(uint64_t t) {
    // Segments are generated ahead of later sends, so t is not monotonic: entries keep their
    // free time and only those freed by t qualify.
    while (!pending_.empty() && pending_.top().first <= t) {
      pool_.push_back(pending_.top());
      pending_.pop();
    }
    // LIFO: the address freed last is handed out first (slab behaviour), mostly.
    size_t n = pool_.size(), k = n;
    if (n && rng_() % 4 == 0) {
      size_t r = rng_() % n;
      if (pool_[r].first <= t) k = r;
    }
    for (size_t i = n; k == n && i > 0 && i + 8 > n; i--)
      if (pool_[i - 1].first <= t) k = i - 1;
    if (k == n) return 0xffff888100000000ull + (next_addr_++) * 256;
    uint64_t a = pool_[k].second;
    pool_[k] = pool_.back();
    pool_.pop_back();
    return a;
  }
  void give(uint64_t a, uint64_t freed_at) { pending_.emplace(freed_at, a); }
  uint32_t gen(uint16_t cpu) { return (++next_gen_[cpu] << 10) | cpu; }

  Event ev(uint64_t ts, uint64_t skb, uint32_t g, int point, tunlat::Dir d, uint16_t cpu, uint32_t pid,
           uint32_t len, uint16_t flags = 0) {
    Event e{};
    e.ts_ns = ts;
    e.skb = skb;
    e.gen = g;
    e.point = static_cast<uint8_t>(point);
    e.dir = static_cast<uint8_t>(d);
    e.cpu = cpu;
    e.pid = e.tid = pid;
    e.len = len;
    e.flags = flags;
    return e;
  }

  void send(std::vector<Event> events) {
    for (const Event& e : events) send_comm(e);
    uint64_t sent = events.back().ts_ns;
    records_.push_back({sent, std::move(events)});
  }
  // The kernel sends a thread's comm once (per CPU), before the first record naming it.
  void send_comm(const Event& e) {
    if (!e.pid || !comm_sent_.insert(e.tid).second) return;
    Event c{};
    c.ts_ns = e.ts_ns;
    c.point = TL_COMM;
    c.pid = c.tid = e.tid;
    std::strncpy(c.comm, e.pid == kIperf ? "iperf3" : "fwd", sizeof c.comm - 1);
    records_.push_back({e.ts_ns, {c}});
  }

  // One TX packet from the driver on (xmit, then read by the VPN on the other CPU, free; or
  // a drop), appended to its record so far, which is then sent.
  void tx_tail(std::vector<Event> rec, uint64_t x, uint64_t skb, uint32_t g, uint16_t cpu, uint32_t len) {
    rec.push_back(ev(x, skb, g, TL_XMIT, tunlat::Dir::Tx, cpu, 0, 0));
    uint16_t rcpu = cpu ^ 1;
    uint64_t end;
    if (rng_() % 100 == 0) {  // ring full: tun_net_xmit drops it
      Event d = ev(x + 300, skb, g, TL_FREE, tunlat::Dir::Tx, cpu, kIperf, 0, TL_F_DROP);
      d.code = 3;
      d.aux = 0xffffffff81a00000ull;
      rec.push_back(d);
      end = x + 300;
    } else {
      uint64_t r = x + 2'000 + rng_() % 60'000;  // 2-62 us waiting in the tun ring
      rec.push_back(ev(r, skb, g, TL_READ, tunlat::Dir::Tx, rcpu, kFwd, 0));
      end = r + 400 + rng_() % 800;
      rec.push_back(ev(end, skb, g, TL_FREE, tunlat::Dir::Tx, rcpu, kFwd, 0));
    }
    rec.front().len = len;
    send(std::move(rec));
    give(skb, end);
  }

  void plain_tx(uint64_t t, uint16_t cpu) {
    uint64_t skb = take(t);
    uint32_t g = gen(cpu);
    tx_tail({ev(t, skb, g, TL_QUEUE, tunlat::Dir::Tx, cpu, 0, 1514, TL_F_FIRST)}, t + 800 + rng_() % 1200,
            skb, g, cpu, 1514);
  }

  void gso_tx(uint64_t t, uint16_t cpu) {
    uint64_t parent = take(t);
    uint32_t pg = gen(cpu);
    int segs = 2 + static_cast<int>(rng_() % 7);
    uint32_t plen = static_cast<uint32_t>(segs) * 1448 + 66;
    uint64_t x = t + 5'000 + rng_() % 30'000;  // segmentation happens before the driver
    // validate_xmit_skb consumes the parent once segmented, before the segments reach the driver.
    send({ev(t, parent, pg, TL_QUEUE, tunlat::Dir::Tx, cpu, 0, plen, TL_F_FIRST | TL_F_GSO),
          ev(x - 200, parent, pg, TL_FREE, tunlat::Dir::Tx, cpu, kIperf, 0)});
    give(parent, x - 200);
    for (int i = 0; i < segs; i++) {
      uint64_t xs = x + static_cast<uint64_t>(i) * 700;
      uint64_t seg = take(xs);
      uint32_t g = gen(cpu);
      Event q = ev(t, seg, g, TL_QUEUE, tunlat::Dir::Tx, cpu, 0, 1514,
                   TL_F_FIRST | TL_F_SEGMENT | tunlat::TL_F_INHERITED);
      q.parent_skb = parent;
      q.parent_gen = pg;
      tx_tail({q}, xs, seg, g, cpu, 1514);
    }
  }

  void rx(uint64_t t, uint16_t cpu) {
    uint64_t skb = take(t);
    uint32_t g = gen(cpu);
    uint64_t r = t + 1'000 + rng_() % 3'000;
    send({ev(t, skb, g, TL_INJECT, tunlat::Dir::Rx, cpu, kFwd, 66, TL_F_FIRST),
          ev(r, skb, g, TL_RECEIVE, tunlat::Dir::Rx, cpu, 0, 0)});
    uint64_t end = r + 2'000;  // a pure ACK freed by __kfree_skb: no event, the address is reused
    if (rng_() % 5 == 0) {     // delivered to a socket and consumed
      uint64_t d = r + 10'000 + rng_() % 40'000;
      end = d + 500;
      send({ev(d, skb, g, TL_DELIVER, tunlat::Dir::Rx, cpu, kIperf, 0)});
      send({ev(d + 500, skb, g, TL_FREE, tunlat::Dir::Rx, cpu, kIperf, 0)});
    }
    give(skb, end);
  }

  static constexpr uint32_t kIperf = 5001, kFwd = 4252;
  std::mt19937_64 rng_;
  std::vector<std::pair<uint64_t, uint64_t>> pool_;  // free (freed at, address)
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      pending_;  // (freed at, address), earliest first
  uint64_t next_addr_ = 0;
  uint32_t next_gen_[2] = {0, 0};
  std::vector<Record> records_;
  std::set<uint32_t> comm_sent_;
};

tunlat::TraceInfo bench_info() {
  tunlat::TraceInfo info;
  info.tunlat_version = "bench";
  info.kernel = "bench";
  info.dev_name = "tA";
  info.ifindex = 2;
  info.kind = tunlat::DeviceKind::Tap;
  info.owners = {{4252, "fwd", {}}};
  return info;
}

struct Outcome {
  uint64_t packets = 0, events = 0;
  tunlat::CorrelatorStats corr;
  uint64_t late = 0;
};

Outcome outcome(const tunlat::Pipeline& p, uint64_t events) {
  const tunlat::Analysis& a = p.analysis();
  return {a.total(tunlat::Dir::Tx).packets + a.total(tunlat::Dir::Rx).packets, events, p.correlation(),
          p.late()};
}

// Runs the whole analysis over events, as `tunlat report` does after reading them.
Outcome analyse(const std::vector<Event>& events, const tunlat::TraceInfo& info, bool visuals = false) {
  tunlat::Pipeline p;
  tunlat::Visuals v(tunlat::VisualOptions{50'000});
  if (visuals) p.analysis().set_observer(&v);
  for (const Event& e : events) p.push(e);
  p.flush();
  tunlat::Json doc =
      tunlat::summarize(info, p, tunlat::findings_json(tunlat::diagnose(info, p.analysis(), &p.vpn())));
  benchmark::DoNotOptimize(doc);
  return outcome(p, events.size());
}

void set_counters(benchmark::State& state, const Outcome& o) {
  const uint64_t packets = o.packets, events = o.events;
  const double iters = static_cast<double>(state.iterations());
  state.counters["packets/s"] =
      benchmark::Counter(static_cast<double>(packets) * iters, benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events) * iters, benchmark::Counter::kIsRate);
  state.counters["events/pkt"] = packets ? static_cast<double>(events) / static_cast<double>(packets) : 0;
  state.counters["packets"] = static_cast<double>(packets);
  // Sanity of the input: a realistic stream joins its segments and evicts only RX packets.
  state.counters["segments"] = static_cast<double>(o.corr.segments);
  state.counters["orphans"] = static_cast<double>(o.corr.orphan_segments);
  state.counters["evicted"] = static_cast<double>(o.corr.evicted);
  state.counters["late"] = static_cast<double>(o.late);
}

void BM_Synthetic(benchmark::State& state) {
  static const std::vector<Event> events = StreamGen(42).generate(static_cast<size_t>(state.range(0)));
  const tunlat::TraceInfo info = bench_info();
  Outcome o;
  for (auto _ : state) o = analyse(events, info);
  set_counters(state, o);
}
BENCHMARK(BM_Synthetic)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_SyntheticVisuals(benchmark::State& state) {
  static const std::vector<Event> events = StreamGen(42).generate(static_cast<size_t>(state.range(0)));
  const tunlat::TraceInfo info = bench_info();
  Outcome o;
  for (auto _ : state) o = analyse(events, info, true);
  set_counters(state, o);
}
BENCHMARK(BM_SyntheticVisuals)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->MinTime(2.0);

const char* recording_path() {
  const char* p = std::getenv("TUNLAT_BENCH_RECORDING");
  return p && *p ? p : nullptr;
}

// At most this many events of a recording are used (memory: 80 bytes each).
constexpr size_t kMaxRecordingEvents = 8'000'000;

void BM_Recording(benchmark::State& state) {
  static std::vector<Event> events;
  static tunlat::TraceInfo info;
  if (events.empty()) {
    try {
      tunlat::ReadResult r = tunlat::read_recording_file(recording_path(), [&](const Event& e) {
        if (events.size() < kMaxRecordingEvents) events.push_back(e);
      });
      info = r.info;
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
  }
  Outcome o;
  for (auto _ : state) o = analyse(events, info);
  set_counters(state, o);
}

void BM_RecordingFile(benchmark::State& state) {
  Outcome o;
  for (auto _ : state) {
    tunlat::Pipeline p;
    tunlat::ReadResult r;
    try {
      r = tunlat::read_recording_file(recording_path(), [&](const Event& e) { p.push(e); });
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
    p.flush();
    tunlat::Json doc =
        tunlat::summarize(r.info, p, tunlat::findings_json(tunlat::diagnose(r.info, p.analysis(), &p.vpn())));
    benchmark::DoNotOptimize(doc);
    o = outcome(p, r.events);
  }
  set_counters(state, o);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (recording_path()) {
    benchmark::RegisterBenchmark("BM_Recording", BM_Recording)->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark("BM_RecordingFile", BM_RecordingFile)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

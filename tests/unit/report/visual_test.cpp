// SPDX-License-Identifier: MIT
// The visual outputs' data (timeline, flame) and writers, on synthetic streams and fixtures.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

#include "core/analyse/visuals.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "core/report/visual.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

std::string fixture(const std::string& name) { return std::string(TUNLAT_FIXTURES_DIR) + "/" + name; }

// A fixture analysed with the visual data gathered, as `tunlat report --folded ...` does.
struct Analysed {
  Pipeline pipeline;
  Visuals visuals{VisualOptions{50'000}};
  TraceInfo info;
  Json summary;

  explicit Analysed(const std::string& recording, size_t packet_limit = 50'000)
      : visuals(VisualOptions{packet_limit}) {
    pipeline.analysis().set_observer(&visuals);
    ReadResult r = read_recording_file(fixture(recording), [&](const Event& e) { pipeline.push(e); });
    pipeline.flush();
    visuals.finish();
    info = r.info;
    summary = summarized(info, pipeline);
  }
  std::string folded(const std::string& by) {
    std::ostringstream out;
    write_folded(out, flame_leaves(visuals.flame(), info.dev_name, info.kind, parse_flame_by(by, true).keys));
    return out.str();
  }
};

}  // namespace

// The folded stacks of recorded fixtures, byte for byte (tests/fixtures/*.folded, written
// by `tunlat report FILE --folded`). Regenerate them only after a deliberate change.
TEST(Folded, MatchesGoldenOnFixtures) {
  EXPECT_EQ(Analysed("openvpn-tap-iperf3.tlrec").folded(kDefaultFlameBy),
            slurp(fixture("openvpn-tap-iperf3.folded")));
  EXPECT_EQ(Analysed("stalled-reader.tlrec").folded("span,process,cpu"),
            slurp(fixture("stalled-reader.cpu.folded")));
}

// Watching the analysis must not move a number of the summary.
TEST(Folded, ObserverLeavesTheSummaryUnchanged) {
  Analysed a("openvpn-tap-iperf3.tlrec");
  EXPECT_EQ(a.summary.dump(2, ' ', false, Json::error_handler_t::replace) + "\n",
            slurp(fixture("openvpn-tap-iperf3.summary.json")));
}

// The weights are the spans' packet-time: per direction and span they add up to the
// histogram's sum (rounded once per line), and `total` is not among them.
TEST(Folded, WeightsAddUpToEachSpansPacketTime) {
  Analysed a("openvpn-tap-iperf3.tlrec");
  auto leaves = flame_leaves(a.visuals.flame(), a.info.dev_name, a.info.kind,
                             parse_flame_by("span,process,cpu", true).keys);
  for (Dir d : kDirs) {
    const auto spans = spans_of(d);
    for (size_t i = 0; i + 1 < spans.size(); i++) {
      double us = 0;
      int lines = 0;
      for (const FlameLeaf& l : leaves)
        if (l.frames[1] == dir_name(d) && l.frames[2] == spans[i].name) us += l.us, lines++;
      EXPECT_NEAR(us, a.pipeline.analysis().total(d).spans[i].sum() / 1000.0, lines * 0.5 + 1e-9)
          << dir_name(d) << " " << spans[i].name;
    }
  }
  for (const FlameLeaf& l : leaves) EXPECT_NE(l.frames[2], "total");
}

TEST(Folded, FlameByOrdersFramesAndSkipsThoseWithoutData) {
  FlameBy by = parse_flame_by("process,flow,span,state", true);
  ASSERT_EQ(by.keys.size(), 2u);
  EXPECT_EQ(by.keys[0], FlameKey::Process);
  EXPECT_EQ(by.keys[1], FlameKey::Span);
  EXPECT_EQ(by.notes.size(), 2u);                                     // flow and state, one line each
  EXPECT_TRUE(parse_flame_by(kDefaultFlameBy, false).notes.empty());  // not asked for: silent
  EXPECT_THROW(parse_flame_by("span,bogus", true), std::invalid_argument);
  Analysed a("openvpn-tap-iperf3.tlrec");
  const std::string f = a.folded("process,span");
  EXPECT_EQ(f.rfind("tap0;rx;openvpn (pid 11373);backlog ", 0), 0u) << f;
}

// One packet waiting 10 ms in the ring over ~1 ms bins: the ring's packet-time per bin
// adds up to 10 ms, and the bins it fully spans hold one packet waiting (a bin's width).
TEST(Timeline, OccupancyIsPacketTimePerBin) {
  V1Pipeline p;
  Visuals v;
  p.analysis().set_observer(&v);
  for (const Event& e : tx_packet(1'000'000, 0x100, 1, 5, 10'000)) p.push(e);
  p.flush();
  v.finish();
  const Timeline& t = v.timeline();
  uint64_t ring = 0, full = 0, queue = 0, read = 0;
  for (const TimeBin& b : t.bins()) {
    ring += b.waiting_ns[0][1];
    full += b.waiting_ns[0][1] == t.bin_ns();
    queue += b.passed[0][TL_QUEUE];
    read += b.passed[0][TL_READ];
  }
  EXPECT_EQ(ring, 10'000'000u);
  EXPECT_GE(full, 8u);
  EXPECT_EQ(queue, 1u);
  EXPECT_EQ(read, 1u);
}

// A long trace coarsens its bins instead of growing: memory stays bounded and no packet,
// pass or packet-time is lost on the way.
TEST(Timeline, LongTracesCoarsenWithoutLosingCounts) {
  Timeline t;
  uint64_t want_ns = 0;
  for (uint64_t s = 0; s < 600; s++) {  // 10 minutes, a packet per second waiting 300 ms
    const uint64_t at = 5'000'000'000 + s * 1'000'000'000;
    t.add_pass(Dir::Tx, TL_QUEUE, at);
    t.add_span(Dir::Tx, 1, at, at + 300'000'000);
    want_ns += 300'000'000;
  }
  t.add_drop(Dir::Tx, 4'000'000'000);  // before the first bin: grows at the front
  t.settle();
  EXPECT_LE(t.bins().size(), Timeline::kMaxBins);
  uint64_t passes = 0, ns = 0, drops = 0, latencies = 0;
  for (const TimeBin& b : t.bins()) {
    passes += b.passed[0][TL_QUEUE];
    ns += b.waiting_ns[0][1];
    drops += b.drops[0];
    latencies += std::accumulate(b.latency[0][1].begin(), b.latency[0][1].end(), 0u);
  }
  EXPECT_EQ(passes, 600u);
  EXPECT_EQ(ns, want_ns);
  EXPECT_EQ(drops, 1u);
  EXPECT_EQ(latencies, 600u);
  EXPECT_LE(t.start_ns(), 4'000'000'000u);
}

// A reader named "<b>x</b>" is text, never markup: in the text report it is printed as is,
// in the SVG and the HTML it is escaped.
TEST(Escaping, ProcessNamesAreTextNotMarkup) {
  V1Pipeline p;
  Visuals v{VisualOptions{100}};
  p.analysis().set_observer(&v);
  for (int i = 0; i < 20; i++)
    for (const Event& e : tx_packet(1000 + i * 100, 0x100 + i, i + 1, 3, 50, 4252, "<b>x</b>")) p.push(e);
  p.flush();
  v.finish();
  TraceInfo info = sample_trace_info();
  Json doc = summarized(info, p);
  std::ostringstream text, svg;
  render_report(text, doc);
  EXPECT_NE(text.str().find("reader <b>x</b> (pid 4252)"), std::string::npos) << text.str();
  write_flame_svg(
      svg, flame_leaves(v.flame(), info.dev_name, info.kind, parse_flame_by(kDefaultFlameBy, false).keys),
      info.kind, "t", true);
  EXPECT_EQ(svg.str().find("<b>"), std::string::npos);
  EXPECT_NE(svg.str().find("&lt;b&gt;x&lt;/b&gt; (pid 4252)"), std::string::npos);
  std::ostringstream page;
  write_html(page, VisualInput{doc, info, p.analysis(), v, parse_flame_by(kDefaultFlameBy, false).keys});
  EXPECT_EQ(page.str().find("<b>x"), std::string::npos);
  EXPECT_GE(count(page.str(), "&lt;b&gt;x&lt;/b&gt;"), 2u);  // the summary and the flame graph
}

namespace {

std::string perfetto(Analysed& a, const std::string& by = kDefaultFlameBy) {
  std::ostringstream out;
  write_perfetto(
      out, VisualInput{a.summary, a.info, a.pipeline.analysis(), a.visuals, parse_flame_by(by, false).keys});
  return out.str();
}

}  // namespace

// The Perfetto trace of a recorded fixture, byte for byte, with a packet limit that cuts
// it (tests/fixtures/stalled-reader.perfetto.json: tunlat report --perfetto-packets 40).
TEST(Perfetto, MatchesGoldenOnAFixture) {
  Analysed a("stalled-reader.tlrec", 40);
  EXPECT_EQ(perfetto(a), slurp(fixture("stalled-reader.perfetto.json")));
}

// Valid trace-event JSON: every async slice begins and ends (same cat, name and id, not
// backwards), the packet limit is stated in the metadata, and names are metadata events.
TEST(Perfetto, SlicesPairUpAndTheLimitIsStated) {
  Analysed a("openvpn-tap-iperf3.tlrec", 1000);
  const Json doc = Json::parse(perfetto(a));
  EXPECT_EQ(doc["otherData"]["packet_limit"], 1000);
  EXPECT_EQ(doc["otherData"]["packets_kept"], 1000);
  EXPECT_GT(doc["otherData"]["packets_left_out"].get<uint64_t>(), 0u);
  std::map<std::tuple<std::string, std::string, uint64_t>, double> open;
  size_t slices = 0, counters = 0, names = 0;
  for (const Json& e : doc["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "b") open[{e["cat"], e["name"], e["id"]}] = e["ts"].get<double>();
    if (ph == "e") {
      auto it = open.find({e["cat"], e["name"], e["id"]});
      ASSERT_NE(it, open.end()) << e.dump();
      EXPECT_GE(e["ts"].get<double>(), it->second);
      open.erase(it);
      slices++;
    }
    counters += ph == "C";
    names += ph == "M" && e["name"] == "thread_name" && e["args"]["name"] == "openvpn";
  }
  EXPECT_TRUE(open.empty());
  EXPECT_GE(slices, 3 * 900u);  // qdisc, ring, copy of (nearly) every TX packet kept
  EXPECT_GT(counters, 0u);
  EXPECT_GE(names, 1u);
}

namespace {

std::string html(Analysed& a) {
  std::ostringstream out;
  write_html(out, VisualInput{a.summary, a.info, a.pipeline.analysis(), a.visuals,
                              parse_flame_by(kDefaultFlameBy, false).keys});
  return out.str();
}

}  // namespace

// The page has its sections in order (findings and summary first), and loads nothing:
// no src, no stylesheet link, no url(), no href but in-page anchors.
TEST(Html, SectionsInOrderAndNothingLoadedFromOutside) {
  Analysed a("openvpn-tap-iperf3.tlrec");
  const std::string page = html(a);
  size_t last = 0;
  for (const char* id : {"findings", "summary", "flame", "timeline", "gaps", "flows"}) {
    const size_t at = page.find(std::string("<section id=\"") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, last) << id;
    last = at;
  }
  EXPECT_NE(page.find("TX packets wait longest in the tun ring"), std::string::npos);  // a verdict
  EXPECT_NE(page.find("<svg id=\"tunlat-flame\""), std::string::npos);
  EXPECT_NE(page.find("Aggregated for display"), std::string::npos);
  for (const char* loads : {"src=", "<link", "url(", "@import", "http-equiv"})
    EXPECT_EQ(page.find(loads), std::string::npos) << loads;
  EXPECT_EQ(count(page, "href=\""), count(page, "href=\"#"));
  EXPECT_EQ(count(page, "http"), count(page, "http://www.w3.org/2000/svg"));  // namespaces only
}

// Stalls (the summary's `stalls`, filled by the stall analysis) are shaded on every chart
// over time and listed; flows (`tcp.flows`) become a table, their names escaped.
TEST(Html, StallsAndFlowsFromTheSummaryAreDrawn) {
  Analysed a("openvpn-tap-iperf3.tlrec");
  a.summary["stalls"] = Json::array({Json{{"start_s", 2.0}, {"duration_ms", 300.0}, {"point", "read"}}});
  a.summary["tcp"]["flows"] = Json::array({Json{{"flow", "10.0.0.1:5201 <-> <i>y</i>"}, {"packets", 7}}});
  const std::string page = html(a);
  EXPECT_GE(count(page, "class=\"stall\""), 2u);
  EXPECT_NE(page.find("<th>flow</th><th>packets</th>"), std::string::npos);
  EXPECT_NE(page.find("10.0.0.1:5201 &lt;-&gt; &lt;i&gt;y&lt;/i&gt;"), std::string::npos);
  EXPECT_EQ(page.find("<i>"), std::string::npos);
}

// SPDX-License-Identifier: MIT
// Recording files: round trip, truncation, corruption, bounded reading (docs/recording.md).
#include "core/record/recording.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/report/summary.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "tunlat_recording_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TraceInfo start_info() {
  TraceInfo info = sample_trace_info();
  info.owners.push_back({4300, "ovpn-worker \"2\"", {}});
  info.clock_offset_ns = -1'795'000'000'000'000'123;  // negative on purpose: int64 survives
  info.start_ns = 1'000'000;
  info.drop_reasons[-1] = "NEGATIVE";  // the extremes of the int32 key survive too
  info.drop_reasons[INT32_MAX] = "MAX";
  return info;
}

TraceInfo final_info() {
  TraceInfo info = start_info();
  info.end_ns = 9'000'000'000;
  info.events_lost = 7;
  info.symbols[0xffffffff81234567ull] = "udp_queue_rcv_one_skb";
  info.symbols[UINT64_MAX] = "top";
  info.workqueues[66] = "wg-crypt-wg0";  // a kernel VPN's workers, named at the end
  return info;
}

// Like a TCP transfer through a VPN: increasing time, a few skb addresses reused, mostly TX.
std::vector<Event> tcp_like(size_t packets, uint64_t seed = 1) {
  std::vector<Event> out;
  uint64_t t_us = 1000, rnd = seed;
  auto next = [&rnd](uint64_t mod) {
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    return (rnd >> 33) % mod;
  };
  for (size_t i = 0; i < packets; i++) {
    t_us += 5 + next(20);
    uint64_t skb = 0xffff888104a3c000ull + 0x100 * (i % 12);
    uint32_t gen = static_cast<uint32_t>(i + 1);
    uint64_t qdisc_us = next(30), ring_us = 10 + next(200);  // in this order, whatever the compiler
    for (Event e : tx_packet(t_us, skb, gen, qdisc_us, ring_us)) {
      e.len = 1500;
      e.cpu = e.point == TL_QUEUE || e.point == TL_XMIT ? 2 : 1;
      if (!e.pid) {
        e.pid = e.tid = 1234;
        std::strncpy(e.comm, "iperf3", sizeof e.comm);
      }
      e.ts_ns += next(1000);
      out.push_back(e);
    }
    if (i % 2 == 0) {  // an ACK written back by the VPN
      uint64_t ack = 0xffff888104b00000ull + 0x100 * (i % 8);
      for (int p : {TL_INJECT, TL_RECEIVE, TL_FREE}) {
        Event e = Ev{t_us + 40 + p, ack, gen, p, Dir::Rx, 1, 4252, "openvpn"};
        e.len = 52;
        out.push_back(e);
      }
    }
  }
  Event drop =
      Ev{t_us + 100, 0xffff888104a3c000ull, 999'999, TL_FREE, Dir::Tx, 1, 4252, "openvpn", TL_F_DROP, 5};
  drop.aux = 0xffffffff81234567ull;
  out.push_back(drop);
  return out;
}

uint64_t write_file(const std::string& path, const std::vector<Event>& events, const RecordingOptions& o = {},
                    bool finish = true) {
  RecordingWriter w(path, start_info(), o);
  for (auto& e : events) w.write(e);
  EXPECT_EQ(w.events_written(), events.size());
  if (finish) w.finish(final_info());
  return w.bytes_written();
}

struct Read {
  ReadResult r;
  std::vector<Event> events;
};

Read read_string(const std::string& bytes) {
  std::istringstream in(bytes);
  Read out;
  out.r = read_recording(in, [&](const Event& e) { out.events.push_back(e); });
  return out;
}

// The error message of reading bytes ("" if none).
std::string read_error(const std::string& bytes) {
  try {
    read_string(bytes);
  } catch (const RecordingError& e) {
    return e.what();
  }
  return "";
}

bool same(const Event& a, const Event& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_info(const TraceInfo& a, const TraceInfo& b) {
  EXPECT_EQ(a.tunlat_version, b.tunlat_version);
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.dev_name, b.dev_name);
  EXPECT_EQ(a.ifindex, b.ifindex);
  EXPECT_EQ(a.netns_name, b.netns_name);
  EXPECT_EQ(a.netns_inode, b.netns_inode);
  EXPECT_EQ(a.kind, b.kind);
  ASSERT_EQ(a.owners.size(), b.owners.size());
  for (size_t i = 0; i < a.owners.size(); i++) {
    EXPECT_EQ(a.owners[i].pid, b.owners[i].pid);
    EXPECT_EQ(a.owners[i].comm, b.owners[i].comm);
    EXPECT_EQ(a.owners[i].sockets, b.owners[i].sockets);
  }
  EXPECT_EQ(a.clock_offset_ns, b.clock_offset_ns);
  EXPECT_EQ(a.start_ns, b.start_ns);
  EXPECT_EQ(a.end_ns, b.end_ns);
  EXPECT_EQ(a.events_lost, b.events_lost);
  EXPECT_EQ(a.drop_reasons, b.drop_reasons);
  EXPECT_EQ(a.symbols, b.symbols);
  EXPECT_EQ(a.workqueues, b.workqueues);
}

// Chunk boundaries of a well-formed file: {offset, type} of each chunk, then the file size.
struct Chunk {
  size_t at;
  uint32_t type;
};
uint32_t le32(const std::string& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
std::vector<Chunk> chunks_of(const std::string& b) {
  std::vector<Chunk> out;
  for (size_t at = 12; at + 16 <= b.size(); at += 16 + le32(b, at + 4)) out.push_back({at, le32(b, at)});
  return out;
}

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string preamble(uint32_t version = 1) { return std::string("TUNLATR\0", 8) + u32(version); }
std::string chunk(uint32_t type, const std::string& payload, uint32_t raw_len) {
  uint32_t sum = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
  return u32(type) + u32(static_cast<uint32_t>(payload.size())) + u32(raw_len) + u32(sum) + payload;
}
std::string chunk(uint32_t type, const std::string& payload) {
  return chunk(type, payload, static_cast<uint32_t>(payload.size()));
}
std::string raw_events(const std::vector<Event>& ev) {
  return std::string(reinterpret_cast<const char*>(ev.data()), ev.size() * sizeof(Event));
}
const std::string kHeaderJson = R"({"dev_name":"tap0","start_ns":5})";

std::string summary_of(const TraceInfo& info, const std::vector<Event>& events) {
  Pipeline p;
  for (auto& e : events) p.push(e);
  p.flush();
  return summarized(info, p).dump();
}

class RoundTrip : public ::testing::TestWithParam<int> {};

}  // namespace

TEST_P(RoundTrip, EventsInfoAndSummaryAreIdentical) {
  std::string path = temp_path("roundtrip" + std::to_string(GetParam()));
  std::vector<Event> events = tcp_like(5000);  // ~23k events: three chunks, the last partial
  RecordingOptions o;
  o.zstd_level = GetParam();
  uint64_t bytes = write_file(path, events, o);
  EXPECT_EQ(bytes, slurp(path).size());

  std::vector<Event> back;
  ReadResult r = read_recording_file(path, [&](const Event& e) { back.push_back(e); });
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.warning, "");
  EXPECT_EQ(r.events, events.size());
  ASSERT_EQ(back.size(), events.size());
  for (size_t i = 0; i < events.size(); i++) ASSERT_TRUE(same(back[i], events[i])) << "event " << i;
  expect_same_info(r.info, final_info());

  std::string live = summary_of(final_info(), events);
  EXPECT_EQ(summary_of(r.info, back), live);
  EXPECT_NE(live.find("\"tap0\""), std::string::npos);
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Recording, RoundTrip, ::testing::Values(0, 1, 3),
                         [](const auto& p) { return "zstd" + std::to_string(p.param); });

TEST(Recording, CompressionOnlyWhenItPays) {
  std::string a = temp_path("z0"), b = temp_path("z1");
  std::vector<Event> events = tcp_like(2000);
  write_file(a, events, {8192, 0});
  write_file(b, events, {8192, 1});
  size_t raw = slurp(a).size(), packed = slurp(b).size();
  EXPECT_GT(raw, events.size() * sizeof(Event));
  EXPECT_LT(packed * 3, raw);  // tl_event records compress well
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(Recording, EmptyRecordingHasHeaderAndTrailer) {
  std::string path = temp_path("empty");
  write_file(path, {});
  std::string bytes = slurp(path);
  auto chunks = chunks_of(bytes);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].type, 1u);
  EXPECT_EQ(chunks[1].type, 3u);
  Read got = read_string(bytes);
  EXPECT_EQ(got.r.events, 0u);
  EXPECT_TRUE(got.events.empty());
  EXPECT_FALSE(got.r.truncated);
  expect_same_info(got.r.info, final_info());
  std::remove(path.c_str());
}

TEST(Recording, TruncatedFilesAreReadUpToTheLastWholeChunk) {
  std::string path = temp_path("trunc");
  std::vector<Event> events = tcp_like(80);  // 80*4 + 40*3 + 1 = 441 events
  ASSERT_EQ(events.size(), 441u);
  write_file(path, events, {100, 1});
  const std::string full = slurp(path);
  auto c = chunks_of(full);
  ASSERT_EQ(c.size(), 7u);  // header, 5 x events (100,100,100,100,41), trailer
  ASSERT_EQ(c[6].type, 3u);
  uint64_t start = start_info().start_ns;

  struct Cut {
    size_t at;
    uint64_t events;
    bool partial;
  };
  const Cut cuts[] = {
      {c[1].at, 0, false},             // right after the header
      {c[1].at + 5, 0, true},          // inside a chunk header
      {c[2].at + 16 + 10, 100, true},  // inside the second events payload
      {c[3].at, 200, false},           // just after a chunk
      {c[4].at - 1, 200, true},        // one byte short of a chunk
      {c[6].at, 441, false},           // before the trailer
      {full.size() - 1, 441, true},    // inside the trailer
  };
  for (const Cut& cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut.at));
    Read got;
    ASSERT_NO_THROW(got = read_string(full.substr(0, cut.at)));
    EXPECT_TRUE(got.r.truncated);
    EXPECT_EQ(got.r.events, cut.events);
    ASSERT_EQ(got.events.size(), cut.events);
    for (size_t i = 0; i < got.events.size(); i++) ASSERT_TRUE(same(got.events[i], events[i]));
    EXPECT_EQ(got.r.warning.rfind("truncated recording: ", 0), 0u) << got.r.warning;
    EXPECT_EQ(got.r.warning.find("incomplete chunk") != std::string::npos, cut.partial) << got.r.warning;
    if (cut.partial) {
      size_t last_whole = 0;
      for (auto& ch : c)
        if (ch.at <= cut.at) last_whole = ch.at;
      EXPECT_NE(got.r.warning.find("last " + std::to_string(cut.at - last_whole) + " bytes"),
                std::string::npos)
          << got.r.warning;
    }
    uint64_t max_ts = start;
    for (auto& e : got.events) max_ts = std::max<uint64_t>(max_ts, e.ts_ns);
    EXPECT_EQ(got.r.info.end_ns, max_ts);  // no trailer: the end is the latest event
    EXPECT_EQ(got.r.info.events_lost, 0u);
    EXPECT_EQ(got.r.info.dev_name, "tap0");
  }
  std::remove(path.c_str());
}

TEST(Recording, WithoutAHeaderThereIsNothingToAnalyse) {
  std::string path = temp_path("nohead");
  write_file(path, {});
  std::string full = slurp(path);
  for (size_t cut : {8ul, 12ul, 20ul, full.size() / 2}) {
    SCOPED_TRACE(cut);
    EXPECT_NE(read_error(full.substr(0, cut)).find("truncated recording"), std::string::npos);
  }
  std::remove(path.c_str());
}

TEST(Recording, AbandonedWriterLeavesATruncatedButReadableFile) {
  std::string path = temp_path("abandoned");
  std::vector<Event> events = tcp_like(300);
  write_file(path, events, {256, 1}, /*finish=*/false);
  Read got = read_string(slurp(path));
  EXPECT_TRUE(got.r.truncated);
  EXPECT_EQ(got.r.warning, "truncated recording: trailer missing, end time taken from the last event");
  EXPECT_EQ(got.events.size(), events.size());  // the destructor wrote the partial chunk
  std::remove(path.c_str());
}

TEST(Recording, CorruptPayloadIsAChecksumError) {
  std::string path = temp_path("corrupt");
  write_file(path, tcp_like(100));
  std::string bytes = slurp(path);
  auto c = chunks_of(bytes);
  ASSERT_EQ(c[1].type, 2u);
  for (size_t at : {c[0].at + 16 + 3, c[1].at + 16 + 40, c.back().at + 16 + 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x20;
    std::string err = read_error(bad);
    EXPECT_NE(err.find("corrupt recording"), std::string::npos) << err;
    EXPECT_NE(err.find("checksum mismatch"), std::string::npos) << err;
  }
  std::remove(path.c_str());
}

TEST(Recording, ForeignFilesAreRejected) {
  EXPECT_EQ(read_error("hello world"), "not a tunlat recording (bad magic)");
  EXPECT_EQ(read_error(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)),
            "not a tunlat recording (bad magic)");
  EXPECT_EQ(read_error("TUN"), "not a tunlat recording (bad magic)");  // too short to be ours
  EXPECT_EQ(read_error(""), "empty file: not a tunlat recording");
}

TEST(Recording, UnsupportedVersionIsNamed) {
  std::string err = read_error(preamble(kRecordingVersion + 1) + chunk(1, kHeaderJson));
  EXPECT_EQ(err, "unsupported recording format version " + std::to_string(kRecordingVersion + 1) +
                     " (this tunlat reads versions 1 to " + std::to_string(kRecordingVersion) + ")");
  EXPECT_NE(read_error(preamble(0)).find("version 0"), std::string::npos);
}

TEST(Recording, ImpossibleLengthsAreRejectedBeforeAllocating) {
  std::string head = preamble() + chunk(1, kHeaderJson);
  auto header = [](uint32_t type, uint32_t plen, uint32_t rlen) {
    return u32(type) + u32(plen) + u32(rlen) + u32(0);
  };
  for (auto [plen, rlen] : {std::pair<uint32_t, uint32_t>{0xffffffffu, 0xffffffffu},
                            {100, 0xffffff00u},
                            {(4u << 20) + 80, (4u << 20) + 80},
                            {200, 80}}) {  // stored larger than raw
    std::string err = read_error(head + header(2, plen, rlen) + std::string(64, 'x'));
    EXPECT_NE(err.find("impossible length"), std::string::npos) << err;
  }
  EXPECT_NE(read_error(head + chunk(2, std::string(81, '\0'))).find("not a whole number of events"),
            std::string::npos);
  EXPECT_NE(read_error(head + chunk(9, "x")).find("unknown chunk type 9"), std::string::npos);
  // The largest legal claim on a tiny file is a truncation, read without a 4 MiB buffer.
  const uint32_t most = (4u << 20) / 80 * 80;
  Read got = read_string(head + header(2, most, most) + std::string(800, 'x'));
  EXPECT_TRUE(got.r.truncated);
  EXPECT_EQ(got.r.events, 0u);
}

TEST(Recording, StructureErrors) {
  std::vector<Event> ev = tcp_like(1);
  std::string head = preamble() + chunk(1, kHeaderJson);
  std::string trailer = chunk(3, R"({"end_ns":77,"events_lost":1})");
  EXPECT_NE(read_error(preamble() + chunk(2, raw_events(ev))).find("does not start with its header"),
            std::string::npos);
  EXPECT_NE(read_error(head + chunk(1, kHeaderJson)).find("a second header"), std::string::npos);
  EXPECT_NE(read_error(head + trailer + chunk(2, raw_events(ev))).find("after the trailer"),
            std::string::npos);
  EXPECT_NE(read_error(head + trailer + "x").find("after the trailer"), std::string::npos);

  Read ok = read_string(head + chunk(2, raw_events(ev)) + trailer);  // hand-made, stored events
  EXPECT_FALSE(ok.r.truncated);
  EXPECT_EQ(ok.r.events, ev.size());
  EXPECT_EQ(ok.r.info.dev_name, "tap0");
  EXPECT_EQ(ok.r.info.start_ns, 5u);
  EXPECT_EQ(ok.r.info.end_ns, 77u);
}

TEST(Recording, MalformedJsonIsCorrupt) {
  for (std::string json : std::vector<std::string>{
           "{", "[]", "42", R"({"ifindex":-1})", R"({"ifindex":4294967296})", R"({"dev_name":7})",
           R"({"owners":{}})", R"({"owners":[{"pid":"x"}]})", R"({"drop_reasons":{"x":"y"}})",
           R"({"drop_reasons":{"2147483648":"y"}})", R"({"symbols":{"12":"y"}})", R"({"symbols":{"0x1":3}})",
           R"({"clock_offset_ns":9223372036854775808})", R"({"a":[[[[[[[[[[[[1]]]]]]]]]]]]})",
           std::string("{\"kernel\":\"\xff\"}")}) {
    SCOPED_TRACE(json);
    std::string err = read_error(preamble() + chunk(1, json));
    EXPECT_NE(err.find("malformed header JSON"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos);
  }
  std::string err = read_error(preamble() + chunk(1, "{}") + chunk(3, R"({"end_ns":"soon"})"));
  EXPECT_NE(err.find("malformed trailer JSON"), std::string::npos) << err;
  // Unknown fields are ignored; known ones take their defaults when absent.
  Read got =
      read_string(preamble() + chunk(1, R"({"future":{"x":1},"clock_offset_ns":-5})") + chunk(3, "{}"));
  EXPECT_EQ(got.r.info.clock_offset_ns, -5);
  EXPECT_EQ(got.r.info.dev_name, "");
}

TEST(Recording, BadCompressedPayloadIsCorrupt) {
  std::string head = preamble() + chunk(1, kHeaderJson);
  std::string err = read_error(head + chunk(2, std::string(40, 'z'), 160));  // "compressed" garbage
  EXPECT_NE(err.find("corrupt recording"), std::string::npos) << err;
  EXPECT_NE(err.find("compressed"), std::string::npos) << err;
}

TEST(Recording, InvalidUtf8FromTheKernelDoesNotBreakTheHeader) {
  std::string path = temp_path("utf8");
  TraceInfo info = start_info();
  info.owners = {{1, std::string("vpn\xff\xfe"), {}}};
  {
    RecordingWriter w(path, info);
    w.finish(info);
  }
  Read got = read_string(slurp(path));
  ASSERT_EQ(got.r.info.owners.size(), 1u);
  EXPECT_EQ(got.r.info.owners[0].comm.rfind("vpn", 0), 0u);
  std::remove(path.c_str());
}

TEST(Recording, WriterErrors) {
  EXPECT_THROW(RecordingWriter("/nonexistent-dir/x.tlr", start_info()), RecordingError);
  if (FILE* f = std::fopen("/dev/full", "wb")) {
    std::fclose(f);
    try {
      RecordingWriter w("/dev/full", start_info());
      FAIL() << "header write to /dev/full succeeded";
    } catch (const RecordingError& e) {
      EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
    }
  }
  std::string path = temp_path("twice");
  RecordingWriter w(path, start_info());
  w.write(Ev{1, 2, 3, TL_QUEUE});
  w.finish(final_info());
  EXPECT_THROW(w.write(Ev{1, 2, 3, TL_QUEUE}), RecordingError);
  EXPECT_THROW(w.finish(final_info()), RecordingError);
  EXPECT_EQ(read_string(slurp(path)).r.events, 1u);
  std::remove(path.c_str());
}

TEST(Recording, ReadingAMissingFileNamesIt) {
  try {
    read_recording_file("/nonexistent-dir/x.tlr", [](const Event&) {});
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.tlr"), std::string::npos);
  }
}

// Numbers for docs/recording.md:
//   unit_tests --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
TEST(Recording, DISABLED_MeasureSizeAndThroughput) {
  std::vector<Event> events = tcp_like(250'000, 7);  // ~1.1 M events
  size_t packets = 250'000 + 125'000;                // TX packets and their ACKs
  for (int level : {0, 1, 3}) {
    std::string path = temp_path("measure");
    auto t0 = std::chrono::steady_clock::now();
    RecordingOptions o;
    o.zstd_level = level;
    RecordingWriter w(path, final_info(), o);
    for (auto& e : events) w.write(e);
    auto t1 = std::chrono::steady_clock::now();
    w.finish(final_info());
    auto t2 = std::chrono::steady_clock::now();
    double bytes = static_cast<double>(w.bytes_written());
    uint64_t n = 0;
    read_recording_file(path, [&](const Event&) { n++; });
    auto t3 = std::chrono::steady_clock::now();
    auto s = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::printf(
        "zstd %d: %zu events, %.0f bytes: %.1f B/event, %.1f B/packet; write() %.1f M ev/s, "
        "with finish %.1f M ev/s; read %.1f M ev/s\n",
        level, events.size(), bytes, bytes / events.size(), bytes / packets, events.size() / s(t1 - t0) / 1e6,
        events.size() / s(t2 - t0) / 1e6, n / s(t3 - t2) / 1e6);
    EXPECT_EQ(n, events.size());
    std::remove(path.c_str());
  }
}

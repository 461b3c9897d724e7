// SPDX-License-Identifier: MIT
// libFuzzer target: a recording is untrusted input (`tunlat report FILE` of a file from
// elsewhere). The bytes go through read_recording and, like `tunlat report`, the Pipeline,
// diagnose(), summarize() and the text report. RecordingError is the expected rejection;
// anything else escaping, a crash, a sanitizer report, a hang, a leak, memory beyond
// run.sh's -rss_limit_mb, or a text report holding a control character is a finding.
//
// TUNLAT_FUZZ_WRITE_SEEDS=DIR recording_fuzz   writes seed recordings into DIR and exits.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "../support/trace_info_sample.h"
#include "core/diagnose/findings.h"
#include "core/record/recording.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"

using namespace tunlat;

namespace {

// zstd lets a few KiB expand to millions of events; analysing them is slow, not wrong.
constexpr uint64_t kMaxAnalysed = 200'000;

void run(const std::string& bytes) {
  std::istringstream in(bytes);
  // Half the inputs meet tiny memory bounds, so that eviction by the limits gets fuzzed.
  PipelineOptions o;
  if (bytes.size() % 2) o.max_in_flight = o.max_reordered = 16;
  Pipeline p(o);
  try {
    ReadResult r = read_recording(in, [&](const Event& e) {
      if (p.seen() < kMaxAnalysed) p.push(e);
    });
    p.flush();
    Json doc = summarize(r.info, p, findings_json(diagnose(r.info, p.analysis(), &p.vpn())));
    std::string out = doc.dump(2, ' ', false, Json::error_handler_t::replace);
    if (out.empty() || (r.truncated && r.warning.empty())) std::abort();
    // Whatever the file holds, the text report must not drive the terminal (term_safe).
    std::ostringstream text;
    render_report(text, doc);
    for (char c : text.str())
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) std::abort();
  } catch (const RecordingError& e) {
    if (!*e.what() || std::strchr(e.what(), '\n')) std::abort();  // one clear line
  }
}

uint32_t le32(const std::string& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// A mutation almost never keeps a CRC right: fix them up so the decoders get fuzzed too.
std::string with_valid_crcs(std::string b) {
  for (size_t at = 12; at + 16 <= b.size();) {
    uint32_t len = le32(b, at + 4);
    if (len > b.size() - at - 16) break;
    uint32_t sum = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(b.data() + at + 16), static_cast<uInt>(len)));
    std::memcpy(&b[at + 12], &sum, 4);
    at += 16 + len;
  }
  return b;
}

Event event(uint64_t ts, uint64_t skb, uint32_t gen, int point, int dir, const char* comm) {
  Event e{};
  e.ts_ns = ts;
  e.skb = skb;
  e.gen = gen;
  e.point = static_cast<uint8_t>(point);
  e.dir = static_cast<uint8_t>(dir);
  e.pid = e.tid = 4252;
  e.len = 1500;
  e.cpu = static_cast<uint16_t>(gen % 3);
  std::strncpy(e.comm, comm, sizeof e.comm - 1);
  return e;
}

void write_seed(const std::string& path, int packets, const RecordingOptions& o, bool finish) {
  TraceInfo info = test::sample_trace_info();
  info.kernel = "6.1.0";
  info.symbols.clear();  // the seeds carry no drop locations
  info.clock_offset_ns = 1'700'000'000'000'000'000;
  info.start_ns = 1'000'000;
  RecordingWriter w(path, info, o);
  uint64_t t = info.start_ns;
  for (int i = 0; i < packets; i++) {
    uint64_t skb = 0xffff888104a3c000ull + 0x100 * (i % 4);
    uint32_t gen = static_cast<uint32_t>(i + 1);
    t += 10'000;
    for (int pt : {TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE, TL_XMIT, TL_XMIT_DONE, TL_READ, TL_FREE})
      w.write(event(t + 1000 * pt, skb, gen, pt, TL_TX, "iperf3"));
    if (i % 3 == 0)
      for (int pt : {TL_INJECT, TL_RECEIVE, TL_DELIVER, TL_FREE})
        w.write(event(t + 500 + 100 * pt, skb + 0x10000, gen, pt, TL_RX, "openvpn"));
  }
  Event drop = event(t + 20'000, 0xffff888104a3c000ull, 999, TL_FREE, TL_TX, "openvpn");
  drop.flags = TL_F_DROP;
  drop.code = 5;
  drop.aux = 0xffffffff81234567ull;
  if (packets) w.write(drop);
  info.end_ns = t + 30'000;
  info.events_lost = 3;
  info.symbols = {{0xffffffff81234567ull, "tun_net_xmit"}};
  if (finish) w.finish(info);
}

void write_seeds(const std::string& dir) {
  write_seed(dir + "/compressed.tlr", 40, {16, 1, 4}, true);
  write_seed(dir + "/stored.tlr", 6, {8, 0, 4}, true);
  write_seed(dir + "/truncated.tlr", 10, {16, 1, 4}, false);
  write_seed(dir + "/empty.tlr", 0, {16, 1, 4}, true);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TUNLAT_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  run(bytes);
  std::string fixed = with_valid_crcs(bytes);
  if (fixed != bytes) run(fixed);
  return 0;
}

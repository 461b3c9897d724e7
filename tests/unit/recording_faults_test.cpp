// SPDX-License-Identifier: MIT
// The recording under faults and hostile files: kills, versions, huge headers (issue 19).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/record/recording.h"
#include "events.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

std::string temp(const std::string& name) { return ::testing::TempDir() + "faults-" + name; }

// Events readable from path right now, as `tunlat report` would find them after a kill.
uint64_t readable_events(const std::string& path) {
  try {
    return read_recording_file(path, [](const Event&) {}).events;
  } catch (const RecordingError&) {
    return 0;
  }
}

}  // namespace

// Case 5: a partial chunk reaches the disk once it is max_chunk_age_ms old, while the
// writer is still open (as after a SIGKILL), not only when 8192 events have filled it.
TEST(RecordingFaults, TickWritesAPartialChunkOnceItIsOld) {
  const std::string path = temp("tick.tlrec");
  RecordingOptions o;
  o.max_chunk_age_ms = 50;
  RecordingWriter w(path, sample_trace_info(), o);
  for (const Event& e : tx_packet(1000, 0x100, 1, 2, 10)) w.write(e);
  w.tick();  // younger than 50 ms: kept
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(readable_events(path), 0u);
  w.tick();  // now old enough: handed to the writer thread, written and flushed
  uint64_t n = 0;
  for (int i = 0; i < 200 && n == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = readable_events(path);
  }
  EXPECT_EQ(n, 4u);
  w.finish(sample_trace_info());
  std::remove(path.c_str());
}

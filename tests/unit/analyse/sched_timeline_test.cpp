// SPDX-License-Identifier: MIT
// A thread's states over a wait: the cumulative sums give what walking every change
// gives, whatever the interval, and who ran instead is shared out as walked.
#include <gtest/gtest.h>

#include <random>

#include "core/analyse/sched_timeline.h"

using namespace tunlat;

namespace {

OwnerSched change(uint64_t ts, uint32_t tid, int state, uint32_t other = 0) {
  OwnerSched s{};
  s.ts_ns = ts;
  s.pid = 1;
  s.tid = tid;
  s.state = state;
  s.other = other;
  s.flags = state == TL_TS_RUNNABLE ? TL_SF_PREEMPTED : 0;
  return s;
}

}  // namespace

TEST(SchedTimeline, SplitEqualsAWalkOverEveryChange) {
  std::mt19937_64 rng(7);
  SchedTimeline tl;
  std::vector<std::pair<uint64_t, int>> truth;  // (from, state) as added
  uint64_t ts = 1'000'000;
  int state = TL_TS_RUNNING;
  for (int i = 0; i < 5000; i++) {
    ts += 100 + rng() % 5000;
    int next = static_cast<int>(rng() % 3);  // running, runnable, sleeping
    if (next == state) next = (next + 1) % 3;
    state = next;
    tl.add(change(ts, 42, state, state == TL_TS_RUNNABLE ? 900 + static_cast<uint32_t>(rng() % 3) : 0));
    truth.push_back({ts, state});
  }
  auto brute = [&](uint64_t from, uint64_t to) {
    std::array<uint64_t, kTaskStates> ns{};
    // The first record took it off... a switch to running first: initial unknown.
    int cur = kStateUnknown;
    uint64_t at = from;
    for (auto& [t, s] : truth) {
      if (t <= from) {
        cur = s;
        continue;
      }
      if (t >= to) break;
      ns[cur] += t - at;
      at = t;
      cur = s;
    }
    ns[cur] += to - at;
    return ns;
  };
  for (int i = 0; i < 2000; i++) {
    const uint64_t from = 1'000'000 + rng() % (ts - 1'000'000);
    const uint64_t to = from + rng() % 2'000'000;
    StateSplit got;
    tl.split(42, from, to, got);
    const auto want = brute(from, to);
    for (int s = 0; s < kTaskStates; s++)
      ASSERT_EQ(got.ns[s], want[s]) << "state " << s << " over " << from << ".." << to;
    uint64_t attributed = 0;
    for (auto& [other, ns] : got.ran_instead) attributed += ns;
    if (want[TL_TS_RUNNABLE]) {
      EXPECT_NEAR(static_cast<double>(attributed), static_cast<double>(want[TL_TS_RUNNABLE]),
                  want[TL_TS_RUNNABLE] * 0.001 + 3)
          << "every runnable stretch here names who ran";
    }
  }
}

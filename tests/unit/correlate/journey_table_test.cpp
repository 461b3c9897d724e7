// SPDX-License-Identifier: MIT
// JourneyTable: finds what was inserted and not erased, through growth and erasure.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "core/correlate/journey_table.h"

using namespace tunlat;

TEST(JourneyTable, SameAddressManyGenerationsSurviveRandomErasure) {
  // RX skbs come back at a few addresses with many generations: long probe runs, which
  // erasure must keep reachable.
  JourneyTable t;
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> model;  // key -> len
  std::mt19937 rng(3);
  uint32_t gen = 0;
  for (int round = 0; round < 20000; round++) {
    if (model.empty() || rng() % 3) {
      Journey j;
      j.skb = 0xffff888100000000ull + (rng() % 8) * 256;
      j.gen = ++gen;
      j.len = rng();
      t.insert(j);
      model[{j.skb, j.gen}] = j.len;
    } else {
      auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
      t.erase(it->first.first, it->first.second);
      model.erase(it);
    }
  }
  ASSERT_GT(model.size(), 1000u);  // grew well past its first size
  EXPECT_EQ(t.size(), model.size());
  for (auto& [key, len] : model) {
    const Journey* j = t.find(key.first, key.second);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->len, len);
  }
  EXPECT_EQ(t.find(0xffff888100000000ull, gen + 1), nullptr);
  size_t visited = 0;
  t.for_each([&](Journey&) { visited++; });
  EXPECT_EQ(visited, model.size());
}

TEST(JourneyTable, AJourneyKeepsItsAddressWhileOthersComeAndGo) {
  JourneyTable t;
  Journey first;
  first.skb = 0x1000;
  first.gen = 1;
  Journey* p = &t.insert(first);
  for (uint32_t g = 2; g < 5000; g++) {
    Journey j;
    j.skb = 0x2000 + g * 256;
    j.gen = g;
    t.insert(j);
    if (g % 2) t.erase(j.skb, j.gen);
  }
  EXPECT_EQ(t.find(0x1000, 1), p);  // the correlator holds such pointers across inserts
}

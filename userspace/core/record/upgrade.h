// SPDX-License-Identifier: MIT
// Brings an older recording's events up to the current format, one version at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model/event.h"

namespace tunlat {

// The reader hands every event of a file of version N through the steps N -> N+1, ...,
// up to kRecordingVersion (as retis-events' compat does), so that what comes out means
// what a new file would: nothing past the reader knows file versions. A step may add
// events (flagged TL_F_UPGRADE: not counted as seen) and change or drop the ones it gets.
class UpgradeStep {
 public:
  virtual ~UpgradeStep() = default;
  virtual void push(const Event& e, const EventSink& out) = 0;
};

// The format's history: each version, why it came, and the step that upgrades a file of
// the version before it (nullptr: a version that only added kinds and fields an older
// file lacks, which means the same in both).
struct FormatVersion {
  uint32_t version;
  std::string_view why;
  std::unique_ptr<UpgradeStep> (*step)();
};
extern const std::array<FormatVersion, 7> kFormatHistory;

// 1 -> 2. Version 1 files come from a kernel side that sent each point event with its
// thread's comm, and (up to 65a6250) a GSO segment without its parent's queue, enqueue
// and dequeue times, named by the parent's address and generation instead. Such a file
// becomes what a version 2 one holds: a TL_COMM event for each comm, and the parent's
// times as TL_F_INHERITED events before the segment's first (files made after 65a6250
// carry them already: from the first one seen on, segments pass as they are).
class SegmentsInheritV1 final : public UpgradeStep {
 public:
  void push(const Event& e, const EventSink& out) override;

  static constexpr size_t kMaxParents = size_t{1} << 16;   // bound: a file controls the keys
  static constexpr uint64_t kParentTtlNs = 1'000'000'000;  // segments follow parents within µs

 private:
  struct Key {
    uint64_t skb;
    uint32_t gen;
    bool operator==(const Key& o) const { return skb == o.skb && gen == o.gen; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return (k.skb >> 6) * 0x9E3779B97F4A7C15ull ^ k.gen; }
  };
  // A GSO skb's times at the points its segments inherit, as kInheritedPoints.
  struct Parent {
    std::array<uint64_t, TL_INHERITED_STAGES> ts{};
    std::array<uint16_t, TL_INHERITED_STAGES> cpu{};
    uint64_t last = 0;  // its last event
  };
  void note_parent(const Event& e);
  void inherit(const Event& seg, const EventSink& out);
  void forget_old(uint64_t now);

  std::unordered_map<Key, Parent, KeyHash> parents_;
  bool kernel_sends_parent_times_ = false;
  uint64_t next_sweep_ = 0;
};

// The steps a file of `version` needs, in order, each passing its events to the next;
// the last passes them to out.
class Upgrade {
 public:
  Upgrade(uint32_t version, EventSink out);
  Upgrade(const Upgrade&) = delete;  // its sinks hold this
  Upgrade& operator=(const Upgrade&) = delete;
  // Nothing to do: the file is of the current version, or its older versions mean the same.
  bool none() const { return steps_.empty(); }
  // Where the file's events go in.
  const EventSink& entry() const { return sinks_.front(); }

 private:
  std::vector<std::unique_ptr<UpgradeStep>> steps_;
  std::vector<EventSink> sinks_;  // sinks_[i] feeds steps_[i]; the last is out
};

}  // namespace tunlat

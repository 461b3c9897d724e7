// SPDX-License-Identifier: MIT
// Journeys waiting for more of their packet's records, found by (skb address, generation).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "core/model/journey.h"

namespace tunlat {

// Open addressing with linear probing over 16-byte slots, so a lookup touches one cache
// line; the journeys sit in a slab whose entries keep
// their address while they live. Erase shifts the probe run back: no tombstones.
class JourneyTable {
 public:
  JourneyTable() : slots_(kMinSlots, Slot{0, 0, kEmpty}), mask_(kMinSlots - 1) {}

  Journey* find(uint64_t skb, uint32_t gen) {
    for (size_t i = home(skb, gen);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.idx == kEmpty) return nullptr;
      if (s.skb == skb && s.gen == gen) return &slab_[s.idx];
    }
  }

  // Stores a copy of j, whose (skb, gen) must not be in the table yet.
  Journey& insert(const Journey& j) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    uint32_t idx;
    if (free_.empty()) {
      idx = static_cast<uint32_t>(slab_.size());
      slab_.push_back(j);
    } else {
      idx = free_.back();
      free_.pop_back();
      slab_[idx] = j;
    }
    place(Slot{j.skb, j.gen, idx});
    size_++;
    return slab_[idx];
  }

  void erase(uint64_t skb, uint32_t gen) {
    size_t i = home(skb, gen);
    while (slots_[i].idx != kEmpty && !(slots_[i].skb == skb && slots_[i].gen == gen)) i = (i + 1) & mask_;
    if (slots_[i].idx == kEmpty) return;
    free_.push_back(slots_[i].idx);
    size_--;
    // Backward shift: move up every later entry of the run that may sit in the hole.
    for (size_t j = (i + 1) & mask_; slots_[j].idx != kEmpty; j = (j + 1) & mask_) {
      size_t h = home(slots_[j].skb, slots_[j].gen);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].idx = kEmpty;
  }

  size_t size() const { return size_; }

  template <class F>
  void for_each(F&& f) {
    for (const Slot& s : slots_)
      if (s.idx != kEmpty) f(slab_[s.idx]);
  }

 private:
  struct Slot {
    uint64_t skb;
    uint32_t gen;
    uint32_t idx;  // into slab_, or kEmpty
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr int kMinSlotsLog2 = 10;
  static constexpr size_t kMinSlots = size_t{1} << kMinSlotsLog2;

  size_t home(uint64_t skb, uint32_t gen) const {
    // One address comes back with many generations (RX packets wait here long after
    // their skb was reused): spread gen over every bit before mixing, or they cluster.
    uint64_t x = (skb >> 6) ^ (uint64_t{gen} * 0xC2B2AE3D27D4EB4Full);
    return static_cast<size_t>((x * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void place(const Slot& s) {
    size_t i = home(s.skb, s.gen);
    while (slots_[i].idx != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{0, 0, kEmpty});
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    shift_--;
    for (const Slot& s : old)
      if (s.idx != kEmpty) place(s);
  }

  std::vector<Slot> slots_;
  size_t mask_;
  int shift_ = 64 - kMinSlotsLog2;  // home(): the top log2(slots) bits of the hash
  size_t size_ = 0;
  std::deque<Journey> slab_;  // a deque: growing it moves no journey
  std::vector<uint32_t> free_;
};

}  // namespace tunlat

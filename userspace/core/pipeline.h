// The one analysis path, live or from a recording: reorder -> correlate -> analyse.
#pragma once

#include <cstdint>

#include "analysis.h"
#include "correlator.h"
#include "reorder.h"

namespace tunlat {

struct PipelineOptions {
  uint64_t reorder_window_ns = 100'000'000;  // a packet's points arrive when its path ends
  uint64_t ttl_ns = 10'000'000'000;         // evict packets silent this long
  uint64_t settled_ttl_ns = 1'000'000'000;  // ... once RX protocol processing started
};

class Pipeline {
 public:
  explicit Pipeline(const PipelineOptions& o = {})
      : reorder_(o.reorder_window_ns), correlator_(analysis_, o.ttl_ns, o.settled_ttl_ns) {}

  void push(const Event& e) {
    seen_++;
    reorder_.push(e, [this](const Event& ev) { correlator_.push(ev); });
  }
  void flush() {
    reorder_.flush([this](const Event& ev) { correlator_.push(ev); });
    correlator_.flush();
  }

  uint64_t seen() const { return seen_; }
  uint64_t late() const { return reorder_.late(); }
  Analysis& analysis() { return analysis_; }
  const Analysis& analysis() const { return analysis_; }
  const CorrelatorStats& correlation() const { return correlator_.stats(); }

 private:
  Analysis analysis_;
  Reorderer reorder_;
  Correlator correlator_;
  uint64_t seen_ = 0;
};

}  // namespace tunlat

// The one analysis path, live or from a recording: correlate -> analyse, and pacing.
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
      : pacing_(o.reorder_window_ns), correlator_(analysis_, o.ttl_ns, o.settled_ttl_ns) {}

  // Events in arrival order. Packets are correlated as their records come; pacing needs
  // every point in time order across packets, so only the points are reordered.
  void push(const Event& e) {
    seen_++;
    PointPass pass;
    if (PointPass::of(e, pass)) pacing_.push(pass, [this](const PointPass& p) { analysis_.on_pass(p); });
    correlator_.push(e);
  }
  void flush() {
    pacing_.flush([this](const PointPass& p) { analysis_.on_pass(p); });
    correlator_.flush();
  }

  uint64_t seen() const { return seen_; }
  uint64_t late() const { return pacing_.late(); }
  Analysis& analysis() { return analysis_; }
  const Analysis& analysis() const { return analysis_; }
  const CorrelatorStats& correlation() const { return correlator_.stats(); }

 private:
  Analysis analysis_;
  Reorderer<PointPass> pacing_;
  Correlator correlator_;
  uint64_t seen_ = 0;
};

}  // namespace tunlat

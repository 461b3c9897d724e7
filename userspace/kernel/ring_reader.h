// SPDX-License-Identifier: MIT
// Empties the kernel's rings on a thread of its own, so that the analysis may lag.
//
// Why: on a machine the traced workload saturates (a VPN, its sender and softirq work on
// 2 CPUs) a reader at normal priority waited tens of ms for a CPU after each sleep, and
// the rings overflowed: at 64-byte UDP 1-30 % of the events were lost although the
// tracer needed ~11 % of one CPU. Copying records out is cheap, so this thread runs at
// real-time priority where allowed; the analysis stays at normal priority on the
// caller's thread, behind a bounded queue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/rings.h"

extern "C" {
#include "tunlat.h"
}

namespace tunlat {

// The records one pass over the rings found, ring after ring.
struct RecordBatch {
  uint64_t read_at = 0;  // CLOCK_MONOTONIC when the pass began
  struct Run {
    uint32_t ring, count;
  };
  std::vector<Run> runs;  // records[0 .. runs[0].count) came from runs[0].ring, and so on
  std::vector<tl_record> records;

  void clear() {
    runs.clear();
    records.clear();
  }
  // f(ring, record) for each record, in the order read.
  template <class F>
  void for_each(F&& f) const {
    size_t i = 0;
    for (const Run& r : runs)
      for (uint32_t n = 0; n < r.count; n++) f(r.ring, records[i++]);
  }
};

// Appends every record the writer has published in each ring to batch and frees their
// slots. ctl and ring are the mmapped BPF arrays, laid out by layout.
void copy_rings(const RingLayout& layout, tl_ring_ctl* ctl, const tl_record* ring, RecordBatch& batch);

// Batches between the reading thread and the analysis. At most max_records wait: past
// that the reader leaves records in the kernel's rings, which spill and then count what
// they lose, so nothing is dropped without being counted. The analysis is woken only
// once wake_records wait; else it takes the batches when its own wait ends: a wake-up
// costs ~50 us in a VM, a fifth of the tracer's CPU when it came with every batch.
class RecordQueue {
 public:
  explicit RecordQueue(size_t max_records, size_t wake_records = 1)
      : max_records_(max_records), wake_records_(wake_records) {}
  bool full() const;
  // A batch to fill, reusing the memory of one already analysed.
  RecordBatch take_empty();
  void push(RecordBatch&& b);
  // Waits up to timeout_ms, or until wake_records wait; returns every batch queued
  // (maybe none).
  std::deque<RecordBatch> pop_all(int timeout_ms);
  void recycle(std::deque<RecordBatch>&& done);

 private:
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<RecordBatch> full_, empty_;
  size_t queued_records_ = 0;
  const size_t max_records_, wake_records_;
};

class RingReader {
 public:
  // 1 Mi records (128 MiB) may wait: a second of the busiest traffic measured here.
  static constexpr size_t kQueueRecords = size_t{1} << 20;
  // The analysis is woken early when this many wait (an eighth of a small ring per ms).
  static constexpr size_t kWakeRecords = size_t{1} << 16;
  // The period stretches up to this while the busiest small ring fills less than a
  // quarter between passes, and shrinks back to period_ms once it fills half: a burst
  // of twice the rate still fits, and the spill ring takes more.
  static constexpr int kMaxPeriodMs = 40;

  // Reads every period_ms at least (the analysis may wait up to kMaxPeriodMs).
  RingReader(const RingLayout& layout, tl_ring_ctl* ctl, const tl_record* ring, int period_ms);
  // The next period after a pass that took `most` records from the busiest small ring.
  static int next_period(int period, int min_ms, uint32_t most);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  void start();
  // Stops the thread; then read_now() reads the rings on the caller's thread.
  void stop();
  std::deque<RecordBatch> pop_all(int timeout_ms) { return queue_.pop_all(timeout_ms); }
  void recycle(std::deque<RecordBatch>&& done) { queue_.recycle(std::move(done)); }
  RecordBatch read_now();
  // How the thread is scheduled: "SCHED_FIFO 1", or why it is not ("normal: ...").
  const std::string& priority() const { return priority_; }

 private:
  void run();

  const RingLayout layout_;
  tl_ring_ctl* ctl_;
  const tl_record* ring_;
  const int period_ms_;
  RecordQueue queue_{kQueueRecords, kWakeRecords};
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::string priority_ = "not started";
};

}  // namespace tunlat

// SPDX-License-Identifier: MIT
#include "kernel/ring_reader.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace tunlat {

namespace {

uint64_t monotonic_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

void copy_rings(const RingLayout& layout, tl_ring_ctl* ctl, const tl_record* ring, RecordBatch& batch) {
  batch.read_at = monotonic_ns();
  for (uint32_t c = 0; c < layout.rings(); c++) {
    const uint64_t head = __atomic_load_n(&ctl[c].head, __ATOMIC_ACQUIRE), tail = ctl[c].tail;
    if (tail >= head) continue;
    const uint32_t size = layout.size(c), count = static_cast<uint32_t>(head - tail);
    const uint32_t at = static_cast<uint32_t>(tail & (size - 1));
    const tl_record* first = ring + layout.first(c);
    batch.runs.push_back({c, count});
    // At most two stretches (the ring wraps once), each copied whole: one record at a
    // time through push_back cost a reallocation and a copy more per growth.
    const uint32_t before_wrap = std::min(count, size - at);
    batch.records.insert(batch.records.end(), first + at, first + at + before_wrap);
    batch.records.insert(batch.records.end(), first, first + (count - before_wrap));
    __atomic_store_n(&ctl[c].tail, head, __ATOMIC_RELEASE);
  }
}

bool RecordQueue::full() const {
  std::lock_guard lock(mu_);
  return queued_records_ >= max_records_;
}

RecordBatch RecordQueue::take_empty() {
  std::lock_guard lock(mu_);
  if (empty_.empty()) return {};
  RecordBatch b = std::move(empty_.front());
  empty_.pop_front();
  b.clear();
  return b;
}

void RecordQueue::push(RecordBatch&& b) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    queued_records_ += b.records.size();
    full_.push_back(std::move(b));
    wake = queued_records_ >= wake_records_;
  }
  if (wake) ready_.notify_one();
}

std::deque<RecordBatch> RecordQueue::pop_all(int timeout_ms) {
  std::unique_lock lock(mu_);
  if (timeout_ms > 0)
    ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return queued_records_ >= wake_records_; });
  std::deque<RecordBatch> out;
  out.swap(full_);
  queued_records_ = 0;
  return out;
}

void RecordQueue::recycle(std::deque<RecordBatch>&& done) {
  std::lock_guard lock(mu_);
  // Keep a few: each holds up to a pass's worth of records.
  while (!done.empty() && empty_.size() < 4) {
    empty_.push_back(std::move(done.front()));
    done.pop_front();
  }
}

RingReader::RingReader(const RingLayout& layout, tl_ring_ctl* ctl, const tl_record* ring, int period_ms)
    : layout_(layout), ctl_(ctl), ring_(ring), period_ms_(period_ms) {}

RingReader::~RingReader() { stop(); }

void RingReader::start() {
  // The thread takes no signals: SIGINT and friends reach the analysis thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // The lowest real-time priority: above every normal task, below the kernel's own.
  sched_param p{};
  p.sched_priority = 1;
  int err = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &p);
  priority_ =
      err == 0 ? "SCHED_FIFO 1" : fmt::format("normal: cannot use SCHED_FIFO: {}", std::strerror(err));
}

void RingReader::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_one();
  thread_.join();
}

RecordBatch RingReader::read_now() {
  RecordBatch b;
  copy_rings(layout_, ctl_, ring_, b);
  return b;
}

int RingReader::next_period(int period, int min_ms, uint32_t most) {
  if (most > kRingRecords / 2) return std::max(min_ms, period / 2);
  if (most < kRingRecords / 4) return std::min(kMaxPeriodMs, period * 2);
  return period;
}

void RingReader::run() {
  std::unique_lock lock(stop_mu_);
  int period = period_ms_;
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(period), [&] { return stopping_; })) {
    if (queue_.full()) continue;  // the analysis lags: the kernel's spill rings hold the rest
    RecordBatch b = queue_.take_empty();
    copy_rings(layout_, ctl_, ring_, b);
    uint32_t most = 0;  // from one small ring: the spill rings are big
    for (const RecordBatch::Run& r : b.runs)
      if (r.ring % TL_RINGS_PER_CPU != TL_RING_SPILL) most = std::max(most, r.count);
    period = next_period(period, period_ms_, most);
    queue_.push(std::move(b));  // even empty: its read_at releases records held back
  }
}

}  // namespace tunlat

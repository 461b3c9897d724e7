// SPDX-License-Identifier: MIT
// Writes recordings: the caller fills chunks, a background thread compresses and writes them.
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/record/chunk.h"
#include "core/record/info_json.h"
#include "core/record/recording.h"

namespace tunlat {

using namespace chunk;

namespace {
std::string errno_text() { return std::strerror(errno); }
uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

RecordingWriter::RecordingWriter(const std::string& path, const TraceInfo& info, const RecordingOptions& o)
    : path_(path),
      chunk_events_(std::clamp<size_t>(o.chunk_events, 1, kMaxChunkEvents)),
      level_(o.zstd_level),
      depth_(std::max<size_t>(o.queue_depth, 1)),
      max_age_ns_(o.max_chunk_age_ms * 1'000'000) {
  std::string head = dump_compact(info_header_json(info));
  if (head.size() > kMaxChunkLen) throw RecordingError("recording header too large");
  if (level_ > 0 && !(cctx_ = ZSTD_createCCtx())) throw RecordingError("out of memory (zstd)");
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) {
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
    throw RecordingError("cannot create " + path + ": " + errno_text());
  }
  try {
    unsigned char pre[kPreambleLen];
    std::memcpy(pre, kMagic, sizeof kMagic);
    put32(pre + 8, kRecordingVersion);
    if (std::fwrite(pre, 1, sizeof pre, f_) != sizeof pre)
      throw RecordingError("cannot write " + path + ": " + errno_text());
    bytes_ += sizeof pre;
    write_chunk(kHeader, head.data(), head.size(), 0);  // JSON stays readable with `strings`
    if (std::fflush(f_) != 0) throw RecordingError("cannot write " + path + ": " + errno_text());
  } catch (...) {
    std::fclose(f_);
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
    throw;
  }
  cur_.reserve(chunk_events_);
  chunk_began_ns_ = monotonic_ns();
  thread_ = std::thread([this] { run(); });
}

RecordingWriter::~RecordingWriter() {
  if (!finished_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!cur_.empty() && !failed_) queue_.push_back(std::move(cur_));
    }
    stop_thread();
    close_file();
  }
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
}

void RecordingWriter::tick() {
  if (finished_) return;
  const uint64_t now = monotonic_ns();
  if (now - chunk_began_ns_ < max_age_ns_) return;
  if (cur_.empty()) {
    chunk_began_ns_ = now;
    if (failed_) throw RecordingError(error_);  // an idle trace still learns of the failure
    return;
  }
  hand_off();
}

void RecordingWriter::hand_off() {
  if (finished_) throw RecordingError("recording " + path_ + " already finished");
  std::unique_lock<std::mutex> l(mu_);
  if (failed_) throw RecordingError(error_);
  space_.wait(l, [this] { return queue_.size() < depth_ || failed_; });
  if (failed_) throw RecordingError(error_);
  queue_.push_back(std::move(cur_));
  if (!spare_.empty()) {
    cur_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    cur_ = std::vector<Event>();
  }
  cv_.notify_one();
  l.unlock();
  cur_.clear();
  cur_.reserve(chunk_events_);
  chunk_began_ns_ = monotonic_ns();
}

void RecordingWriter::run() {
  for (;;) {
    std::vector<Event> buf;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stop_ and drained
      buf = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!failed_) {
      try {
        write_chunk(kEvents, buf.data(), buf.size() * sizeof(Event), level_);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> l(mu_);
        error_ = e.what();
        failed_ = true;
      }
    }
    buf.clear();
    std::lock_guard<std::mutex> l(mu_);
    spare_.push_back(std::move(buf));
    space_.notify_one();
  }
}

void RecordingWriter::write_chunk(uint32_t type, const void* raw, size_t raw_len, int level) {
  const void* payload = raw;
  size_t len = raw_len;
  if (level > 0 && raw_len > 0) {
    zbuf_.resize(ZSTD_compressBound(raw_len));
    size_t n =
        ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), zbuf_.data(), zbuf_.size(), raw, raw_len, level);
    if (!ZSTD_isError(n) && n < raw_len) payload = zbuf_.data(), len = n;  // else stored as is
  }
  unsigned char h[kChunkHeaderLen];
  put32(h, type);
  put32(h + 4, static_cast<uint32_t>(len));
  put32(h + 8, static_cast<uint32_t>(raw_len));
  put32(h + 12, crc(payload, len));
  // Flushed at once: a killed tunlat leaves every chunk handed off on disk, not in stdio.
  if (std::fwrite(h, 1, sizeof h, f_) != sizeof h || std::fwrite(payload, 1, len, f_) != len ||
      std::fflush(f_) != 0)
    throw RecordingError("cannot write " + path_ + ": " + errno_text());
  bytes_ += sizeof h + len;
}

void RecordingWriter::stop_thread() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RecordingWriter::close_file() {
  if (f_) std::fclose(f_);
  f_ = nullptr;
}

void RecordingWriter::finish(const TraceInfo& final_info) {
  if (finished_) throw RecordingError("recording " + path_ + " already finished");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!cur_.empty() && !failed_) queue_.push_back(std::move(cur_));
  }
  stop_thread();
  finished_ = true;
  chunk_events_ = 0;  // any further write() lands in hand_off(), which throws
  cur_ = std::vector<Event>();
  std::string err = error_;
  if (err.empty()) {
    try {
      std::string t = dump_compact(info_trailer_json(final_info));
      if (t.size() > kMaxChunkLen) throw RecordingError("recording trailer too large");
      write_chunk(kTrailer, t.data(), t.size(), 0);
    } catch (const RecordingError& e) {
      err = e.what();
    }
  }
  if (std::fflush(f_) != 0 && err.empty()) err = "cannot write " + path_ + ": " + errno_text();
  if (std::fclose(f_) != 0 && err.empty()) err = "cannot write " + path_ + ": " + errno_text();
  f_ = nullptr;
  if (!err.empty()) throw RecordingError(err);
}

}  // namespace tunlat

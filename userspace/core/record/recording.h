// SPDX-License-Identifier: MIT
// Recording files: capture now, analyse later, elsewhere, unprivileged (docs/recording.md).
//
// A recording is the header (TraceInfo known at start), every point event as captured, and a
// trailer (what is known only at the end). `tunlat report FILE` feeds the events to the same
// Pipeline as a live trace, so both give the same summary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/model/event.h"
#include "core/model/trace_info.h"

namespace tunlat {

// One line, fit for the user: a foreign file, an unsupported version, a corrupt chunk, an I/O error.
struct RecordingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The format version written (docs/recording.md, "Version policy"). Each version, why it
// came, and the step that upgrades a file of the version before it: kFormatHistory
// (core/record/upgrade.h). The reader upgrades what it reads: nothing past it knows
// file versions.
inline constexpr uint32_t kRecordingVersion = 7;
// The first version whose recordings may carry packets' bytes (TL_BYTES, --pcapng).
inline constexpr uint32_t kFirstVersionWithBytes = 7;
inline constexpr uint32_t kOldestRecordingVersion = 1;  // the oldest this tunlat still reads

struct RecordingOptions {
  size_t chunk_events = 8192;  // events per EVENTS chunk (640 KiB raw)
  int zstd_level = 1;          // 0: store events uncompressed
  size_t queue_depth = 4;      // full chunks waiting for the writer thread before write() blocks
  // tick() hands a partial chunk off once this old: a killed trace loses at most about
  // this much (plus what the writer thread has not written yet).
  uint64_t max_chunk_age_ms = 1000;
};

// Writes a recording. Not thread-safe: one producer calls write(); one background thread
// compresses and writes full chunks. Memory: (queue_depth + 2) chunk buffers at most.
class RecordingWriter {
 public:
  // Opens (truncates) path and writes the header (everything in info known at start).
  // Throws RecordingError.
  RecordingWriter(const std::string& path, const TraceInfo& info, const RecordingOptions& o = {});
  // If finish() was not called: writes out the buffered events (no trailer), never throws.
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  // Hot path: appends to the current chunk. A full chunk goes to the writer thread; if
  // queue_depth chunks are already waiting (disk too slow) this blocks until one is written.
  // Throws RecordingError once the writer thread has failed (e.g. disk full), or after finish().
  void write(const Event& e) {
    if (cur_.size() >= chunk_events_) hand_off();
    cur_.push_back(e);
    events_++;
  }

  // Call often (each poll): hands the current chunk to the writer thread, partial, once it
  // is max_chunk_age_ms old, so that events reach the disk within about that time even at
  // low rates. Throws RecordingError as write() does.
  void tick();

  // Writes the buffered events and the trailer (final_info's end_ns, events_lost, symbols),
  // joins the thread and closes the file. Throws RecordingError on any I/O error.
  void finish(const TraceInfo& final_info);

  uint64_t bytes_written() const { return bytes_.load(std::memory_order_relaxed); }  // on disk so far
  uint64_t events_written() const { return events_; }                                // accepted by write()

 private:
  void hand_off();
  void run();
  void write_chunk(uint32_t type, const void* raw, size_t raw_len, int level);  // writer thread or after join
  void stop_thread();
  void close_file();

  std::string path_;
  std::FILE* f_ = nullptr;
  size_t chunk_events_;
  int level_;
  size_t depth_;
  uint64_t max_age_ns_;
  uint64_t chunk_began_ns_ = 0;  // CLOCK_MONOTONIC of the last hand-off
  std::vector<Event> cur_;
  uint64_t events_ = 0;
  std::atomic<uint64_t> bytes_{0};
  bool finished_ = false;

  std::mutex mu_;
  std::condition_variable cv_;             // writer thread: work or stop
  std::condition_variable space_;          // producer: queue has room
  std::deque<std::vector<Event>> queue_;   // guarded by mu_
  std::vector<std::vector<Event>> spare_;  // recycled buffers, guarded by mu_
  bool stop_ = false;                      // guarded by mu_
  std::string error_;                      // first I/O error, guarded by mu_
  std::atomic<bool> failed_{false};
  std::vector<char> zbuf_;  // compression output (writer thread, then finish())
  void* cctx_ = nullptr;    // ZSTD_CCtx
  std::thread thread_;
};

struct ReadResult {
  TraceInfo info;        // header merged with trailer (if present)
  uint32_t version = 0;  // the file's format version
  uint64_t events = 0;
  bool truncated = false;  // no trailer / partial chunk at the end
  std::string warning;     // one line, set when truncated
};

// Streams the events to sink in file order, one whole chunk at a time (a chunk is verified
// before any of its events is passed on), upgraded to the current version (upgrade.h). Throws RecordingError
// (one line) for a foreign file, an unsupported version or a corrupt chunk. A truncated file is not an error:
// it is read up to its last whole chunk, with truncated = true and a warning; without a trailer, info.end_ns
// is the last event's ts_ns (start_ns if none). Memory stays bounded (a few MiB) whatever the input.
// on_header, if set, gets the header's TraceInfo before the first event (what the analysis must know first:
// the owners' sockets).
using HeaderSink = std::function<void(const TraceInfo&)>;
ReadResult read_recording(std::istream& in, const EventSink& sink, const HeaderSink& on_header = {});
// Same, errors prefixed with the path.
ReadResult read_recording_file(const std::string& path, const EventSink& sink,
                               const HeaderSink& on_header = {});

}  // namespace tunlat

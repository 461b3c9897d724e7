// The thin kernel-facing part: loads the BPF programs for one device and drains their events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"

struct tunlat_bpf;
struct ring_buffer;

namespace tunlat {

class KernelBtf;

struct TracerOptions {
  uint32_t ifindex = 0;
  uint64_t netns_inode = 0;
  uint32_t sample = 1;   // follow 1 packet in this many
  bool verbose = false;  // let libbpf's messages through
};

class Tracer {
 public:
  using Sink = std::function<void(const Event&)>;

  // Opens, loads and attaches. Points whose tracepoint the kernel lacks are skipped and
  // named in warnings. Throws Fatal with libbpf's reason and a hint on failure.
  Tracer(const TracerOptions& o, const KernelBtf& btf, Sink sink, std::vector<std::string>& warnings);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Waits up to timeout_ms, then drains whatever is in the ring buffer.
  void poll(int timeout_ms);
  // At the end: sends and drains the points of packets still in flight.
  void flush_in_flight();
  uint64_t lost() const;  // ring buffer reservations that failed

 private:
  static int on_sample(void* ctx, void* data, size_t size);
  uint64_t counter(int idx) const;

  struct SkelDeleter {
    void operator()(tunlat_bpf* s) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  std::unique_ptr<tunlat_bpf, SkelDeleter> skel_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  Sink sink_;
};

}  // namespace tunlat

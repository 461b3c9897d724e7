// SPDX-License-Identifier: MIT
// --pcapng FILE and --snaplen, the same on `trace` and `report`: the file and its hooks.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "core/report/pcapng.h"

namespace tunlat {

struct PcapngArgs {
  std::string path;  // "" : no pcapng
  uint32_t snaplen = kDefaultSnaplen;
};

// The open file and what writes it, attached to the pipeline (its bytes and its counted
// packets) for as long as it lives: after prepare_visuals, before the first event. info
// must outlive it. Throws Fatal if the file cannot be made.
class PcapngFile {
 public:
  PcapngFile(const PcapngArgs& a, Pipeline& pipeline, const TraceInfo& info, LocationName location_name);
  ~PcapngFile();
  // Once the pipeline is flushed: closes the file (Fatal on an I/O error) and says on
  // stderr how many packets it holds, and why_no_bytes if none had its bytes.
  void finish(const std::string& why_no_bytes = "");

 private:
  std::string path_;
  std::vector<char> buffer_;  // the stream's: 1 MiB, few writes for many small blocks
  std::ofstream out_;
  Pipeline& pipeline_;
  std::unique_ptr<PcapngOutput> output_;
  std::unique_ptr<ObserverPair> pair_;
};

}  // namespace tunlat

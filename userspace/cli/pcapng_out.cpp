// SPDX-License-Identifier: MIT
// --pcapng FILE and --snaplen, the same on `trace` and `report`: the file and its hooks.
#include "cli/pcapng_out.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "core/format/format.h"
#include "fatal.h"

namespace tunlat {

PcapngFile::PcapngFile(const PcapngArgs& a, Pipeline& pipeline, const TraceInfo& info,
                       LocationName location_name)
    : path_(a.path), buffer_(size_t{1} << 20), pipeline_(pipeline) {
  out_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  out_.open(a.path, std::ios::binary | std::ios::trunc);
  if (!out_) throw Fatal(fmt::format("cannot write {}: {}", a.path, std::strerror(errno)));
  output_ = std::make_unique<PcapngOutput>(out_, info, a.snaplen, std::move(location_name));
  pipeline.set_bytes_sink(output_.get());
  Analysis& analysis = pipeline.analysis();
  if (AnalysisObserver* visuals = analysis.observer()) {
    pair_ = std::make_unique<ObserverPair>(visuals, output_.get());
    analysis.set_observer(pair_.get());
  } else {
    analysis.set_observer(output_.get());
  }
}

PcapngFile::~PcapngFile() {
  // The pipeline may outlive this: it must not call into what is gone.
  pipeline_.set_bytes_sink(nullptr);
  Analysis& analysis = pipeline_.analysis();
  if (pair_ || analysis.observer() == output_.get()) analysis.set_observer(nullptr);
}

void PcapngFile::finish(const std::string& why_no_bytes) {
  out_.flush();
  out_.close();
  if (!out_) throw Fatal(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  const uint64_t n = output_->packets(), bytes = output_->with_bytes();
  std::string note;
  if (n && bytes == 0)
    note = " without their bytes: " + (why_no_bytes.empty() ? std::string("none came") : why_no_bytes);
  else if (bytes < n)
    note = fmt::format(" ({} without their bytes: lost, or their journey began before the trace)", n - bytes);
  fmt::print(stderr, "tunlat: wrote {} packets to {}{}\n", n, term_safe(path_), note);
}

}  // namespace tunlat

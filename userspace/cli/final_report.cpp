// SPDX-License-Identifier: MIT
// The end shared by `trace` and `report`: the final text report and the JSON summary.
#include "cli/final_report.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "fatal.h"

namespace tunlat {

namespace {

void write_json(const std::string& path, const Json& doc) {
  std::ofstream out(path);
  // comm is cut at 15 bytes by the kernel and may split a UTF-8 character.
  out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  if (!out) throw Fatal(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

}  // namespace

void finish_report(const TraceInfo& info, const Pipeline& pipeline, const std::string& json_path) {
  Json doc = summarize(info, pipeline);
  std::cout << "\n";
  render_report(std::cout, doc);
  std::cout.flush();
  if (!json_path.empty()) write_json(json_path, doc);
}

}  // namespace tunlat

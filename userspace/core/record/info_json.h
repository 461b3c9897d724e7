// SPDX-License-Identifier: MIT
// TraceInfo as a recording's header and trailer hold it: JSON written plainly, read strictly.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

// A header or trailer that is not what this tunlat writes: one short line, safe to print.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Json info_header_json(const TraceInfo& i);   // everything known at the start
Json info_trailer_json(const TraceInfo& i);  // what is known only at the end
// One line; invalid UTF-8 (comm is cut at 15 bytes by the kernel) replaced, never thrown.
std::string dump_compact(const Json& j);

// Fill i from a chunk's raw bytes. Throw Malformed.
void parse_info_header(const std::vector<char>& raw, TraceInfo& i);
void parse_info_trailer(const std::vector<char>& raw, TraceInfo& i);

}  // namespace tunlat

// Builds the public "tunlat/v1" JSON summary (docs/json-schema.md) from a finished pipeline.
#pragma once

#include <nlohmann/json.hpp>

#include "core/pipeline.h"
#include "core/model/trace_info.h"

namespace tunlat {

using Json = nlohmann::ordered_json;

// Pure function of its inputs: a live trace and its recording give the same document.
Json summarize(const TraceInfo& info, const Pipeline& p);

// Latency histogram object H (with extra power-of-two "buckets" for rendering).
Json histogram_json(const Histogram& h, bool with_buckets);

// "850 ns", "12.3 us", "4.56 ms", "1.23 s": for reports and verdicts alike.
std::string format_duration_us(double us);

// "SOCKET_RCVBUFF" for SKB_DROP_REASON_SOCKET_RCVBUFF; the number if unknown.
std::string drop_reason_name(const TraceInfo& info, int32_t reason);
// "udp_queue_rcv_one_skb" for an address inside it; hex if unknown.
std::string location_name(const TraceInfo& info, uint64_t addr);

}  // namespace tunlat

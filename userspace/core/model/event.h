// The event model: point events from the kernel (or a recording) and their vocabulary.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

extern "C" {
#include "tunlat.h"
}

namespace tunlat {

using Event = tl_event;
static_assert(sizeof(Event) == 80, "tl_event is the on-disk record: its layout is fixed");

enum class Dir : uint8_t { Tx = TL_TX, Rx = TL_RX };
inline constexpr std::array<Dir, 2> kDirs{Dir::Tx, Dir::Rx};
inline constexpr int kPoints = TL_POINT_COUNT;

// Public names (CLI, JSON, reports): see DESIGN.md "Points and spans".
inline std::string_view point_name(int p) {
  if (p == TL_COMM) return "comm";
  static constexpr std::array<std::string_view, kPoints> names{
      "queue", "enqueue", "dequeue", "xmit", "xmit_done",
      "read",  "inject",  "receive", "deliver", "free"};
  return p >= 0 && p < kPoints ? names[p] : "?";
}
inline std::string_view dir_name(Dir d) { return d == Dir::Tx ? "tx" : "rx"; }

// The points each direction passes, in path order.
inline constexpr std::array<int, 6> kTxPoints{TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE,
                                              TL_XMIT,  TL_READ,    TL_FREE};
inline constexpr std::array<int, 4> kRxPoints{TL_INJECT, TL_RECEIVE, TL_DELIVER, TL_FREE};

// A span: the time between two points of the same packet.
struct SpanDef {
  std::string_view name;
  int from;
  int to;
};
inline constexpr std::array<SpanDef, 4> kTxSpans{{{"qdisc", TL_QUEUE, TL_XMIT},
                                                  {"ring", TL_XMIT, TL_READ},
                                                  {"copy", TL_READ, TL_FREE},
                                                  {"total", TL_QUEUE, TL_READ}}};
inline constexpr std::array<SpanDef, 3> kRxSpans{{{"backlog", TL_INJECT, TL_RECEIVE},
                                                  {"stack", TL_RECEIVE, TL_DELIVER},
                                                  {"total", TL_INJECT, TL_DELIVER}}};

inline Dir event_dir(const Event& e) { return e.dir == TL_RX ? Dir::Rx : Dir::Tx; }

}  // namespace tunlat

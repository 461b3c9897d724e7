// SPDX-License-Identifier: MIT
#include "core/tunnel/tunnel.h"

#include <algorithm>
#include <limits>

namespace tunlat {

std::string_view segment_name(Segment s) {
  static constexpr std::array<std::string_view, kSegments> names{"from_device", "from_vpn", "underlay",
                                                                 "to_vpn", "to_device"};
  return names[static_cast<size_t>(s)];
}

namespace {

struct Matched {
  const EndPacket* from;
  const EndPacket* to;
};

// `tx`'s packets found in `rx`, by inner id and, among packets of one id (a segment sent
// again, datagrams without an IPv4 id), in order of time. Where more copies left than
// arrived (one was lost, then sent again), each arrival takes the copy sent last before
// it: rx_shift_ns puts rx's times on tx's clock, near enough to order a resend.
std::vector<Matched> match(const std::vector<EndPacket>& tx, const std::vector<EndPacket>& rx,
                           int64_t rx_shift_ns) {
  auto sorted = [](const std::vector<EndPacket>& v) {
    std::vector<const EndPacket*> out;
    out.reserve(v.size());
    for (const EndPacket& p : v) out.push_back(&p);
    std::sort(out.begin(), out.end(), [](const EndPacket* x, const EndPacket* y) {
      return x->id != y->id ? x->id < y->id : x->from_ns < y->from_ns;
    });
    return out;
  };
  const std::vector<const EndPacket*> s = sorted(tx), r = sorted(rx);
  std::vector<Matched> out;
  size_t i = 0, j = 0;
  while (i < s.size() && j < r.size()) {
    if (s[i]->id != r[j]->id) {
      (s[i]->id < r[j]->id ? i : j)++;
      continue;
    }
    const uint64_t id = s[i]->id;
    size_t ie = i, je = j;
    while (ie < s.size() && s[ie]->id == id) ie++;
    while (je < r.size() && r[je]->id == id) je++;
    size_t k = i;
    for (size_t m = j; m < je && k < ie; m++, k++) {
      const int64_t arrival = static_cast<int64_t>(r[m]->from_ns) + rx_shift_ns;
      while (k + 1 < ie && ie - (k + 1) >= je - m && static_cast<int64_t>(s[k + 1]->from_ns) <= arrival) k++;
      out.push_back({s[k], r[m]});
    }
    i = ie;
    j = je;
  }
  return out;
}

bool has_vpn_times(const std::vector<Matched>& m) {
  return std::any_of(m.begin(), m.end(), [](const Matched& x) { return x.from->vpn_ns && x.to->vpn_ns; });
}

// The least delay from `from` to `to` over the matched packets, on the common clock before
// any estimate: between the two VPNs (the underlay: the tightest), or the whole transit.
std::optional<int64_t> least_delay(const std::vector<Matched>& m, int64_t from_shift, int64_t to_shift,
                                   bool vpn) {
  std::optional<int64_t> least;
  for (const Matched& x : m) {
    const uint64_t f = vpn ? x.from->vpn_ns : x.from->from_ns;
    const uint64_t t = vpn ? x.to->vpn_ns : x.to->to_ns;
    if (!f || !t) continue;
    const int64_t d = static_cast<int64_t>(t) + to_shift - static_cast<int64_t>(f) - from_shift;
    if (!least || d < *least) least = d;
  }
  return least;
}

void add_packet(TunnelPath& p, const Matched& x, int64_t from_shift, int64_t to_shift, uint64_t stall_ns) {
  const EndPacket& f = *x.from;
  const EndPacket& t = *x.to;
  if (!f.from_ns || !f.to_ns || !f.vpn_ns || !t.from_ns || !t.to_ns || !t.vpn_ns) return;
  auto ns = [](uint64_t v) { return static_cast<int64_t>(v); };
  const std::array<int64_t, kSegments> seg{ns(f.to_ns) - ns(f.from_ns), ns(f.vpn_ns) - ns(f.to_ns),
                                           ns(t.vpn_ns) + to_shift - ns(f.vpn_ns) - from_shift,
                                           ns(t.from_ns) - ns(t.vpn_ns), ns(t.to_ns) - ns(t.from_ns)};
  if (std::any_of(seg.begin(), seg.end(), [](int64_t v) { return v < 0; })) return;
  p.timed++;
  p.transit.add(static_cast<uint64_t>(ns(t.to_ns) + to_shift - ns(f.from_ns) - from_shift));
  // Whose turn it was in each segment, and when its wait began on that end's clock.
  const std::array<SegmentWorst, kSegments> who{
      {{0, f.from_ns, f.vpn_pid, f.vpn_tid},
       {0, f.to_ns, f.vpn_pid, f.vpn_tid},
       {0, t.vpn_ns - static_cast<uint64_t>(seg[2]), t.vpn_pid, t.vpn_tid},
       {0, t.vpn_ns, t.vpn_pid, t.vpn_tid},
       {0, t.from_ns, t.app_pid, 0}}};
  for (size_t s = 0; s < kSegments; s++) {
    const auto v = static_cast<uint64_t>(seg[s]);
    p.segments[s].add(v);
    if (v >= stall_ns) p.over_stall[s]++;
    if (v > p.worst[s].ns) {
      p.worst[s] = who[s];
      p.worst[s].ns = v;
    }
  }
}

}  // namespace

TunnelResult match_tunnel(const TunnelSide& a, const TunnelSide& b, bool one_clock, uint64_t stall_ns) {
  TunnelResult r;
  r.one_clock = one_clock;
  const int64_t a_shift = one_clock ? 0 : a.to_common_ns;
  int64_t b_shift = one_clock ? 0 : b.to_common_ns;
  const std::vector<Matched> ab = match(a.end->packets(Dir::Tx), b.end->packets(Dir::Rx), b_shift - a_shift);
  const std::vector<Matched> ba = match(b.end->packets(Dir::Tx), a.end->packets(Dir::Rx), a_shift - b_shift);
  if (one_clock) {
    r.clock_offset_ns = 0;
    r.clock_error_ns = 0;
  } else {
    const bool vpn = has_vpn_times(ab) && has_vpn_times(ba);
    const auto d_ab = least_delay(ab, a_shift, b_shift, vpn);  // one-way A -> B + offset
    const auto d_ba = least_delay(ba, b_shift, a_shift, vpn);  // one-way B -> A - offset
    if (d_ab && d_ba) {
      r.clock_offset_ns = (*d_ab - *d_ba) / 2;
      r.clock_error_ns = static_cast<uint64_t>(std::max<int64_t>(0, (*d_ab + *d_ba) / 2));
      b_shift -= *r.clock_offset_ns;
    }
  }
  const std::array<const std::vector<Matched>*, 2> matched{&ab, &ba};
  for (size_t i = 0; i < 2; i++) {
    TunnelPath& p = r.paths[i];
    p.from = i == 0 ? &a : &b;
    p.to = i == 0 ? &b : &a;
    for (const EndPacket& x : p.from->end->packets(Dir::Tx)) p.packets += x.to_ns != 0;
    p.matched = matched[i]->size();
    const int64_t from_shift = i == 0 ? a_shift : b_shift, to_shift = i == 0 ? b_shift : a_shift;
    for (const Matched& x : *matched[i]) add_packet(p, x, from_shift, to_shift, stall_ns);
  }
  return r;
}

}  // namespace tunlat

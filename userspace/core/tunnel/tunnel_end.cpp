// SPDX-License-Identifier: MIT
#include "core/tunnel/tunnel_end.h"

#include <algorithm>

#include "core/analyse/analysis.h"

namespace tunlat {

namespace {

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  template <class T>
  void mix(const T& v) {
    const auto* c = reinterpret_cast<const uint8_t*>(&v);
    for (size_t i = 0; i < sizeof(T); i++) h = (h ^ c[i]) * 1099511628211ull;
  }
};

bool has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 136; }

}  // namespace

uint64_t inner_id(const FlowKey& k, Dir d, const Journey& j) {
  // A flow's `a` is the endpoint on the host's side of this end: a TX packet's source, an
  // RX packet's destination. Ports go with their addresses; an ICMP echo's id stays put.
  const bool tx = d == Dir::Tx;
  const bool ports = has_ports(k.proto);
  Fnv f;
  f.mix(k.ethertype);
  f.mix(k.proto);
  f.mix(tx ? k.a : k.b);
  f.mix(tx ? k.b : k.a);
  f.mix(ports && !tx ? k.pb : k.pa);
  f.mix(ports && !tx ? k.pa : k.pb);
  f.mix(j.ip_id);
  f.mix(j.sum.seq);
  f.mix(j.sum.ack);
  f.mix(j.sum.win);
  f.mix(j.sum.tcp_flags);
  f.mix(j.payload);
  return f.h;
}

void TunnelEnd::on_journey(const Journey& j, End) {
  if (!j.sum.flow || j.segmented_parent()) return;
  auto flow = flows_.flows().find(j.sum.flow);
  if (flow == flows_.flows().end() || !flow->second.defined) return;
  auto& staged = staged_[static_cast<int>(j.dir)];
  if (staged.size() >= kMaxPackets) {
    not_kept_++;
    return;
  }
  EndPacket p;
  p.id = inner_id(flow->second.key, j.dir, j);
  // RX ends where a socket took it: a TCP segment's wait for the application's read is
  // the application's (and a segment coalesced into the one before it is never read).
  const SpanDef& total = spans_of(j.dir, kind_).back();
  p.from_ns = j.ts[total.from];
  p.to_ns = !p.from_ns ? 0 : j.dir == Dir::Rx && j.seen(TL_TAKEN) ? j.ts[TL_TAKEN] : span_end(j, total);
  if (p.to_ns < p.from_ns) p.to_ns = 0;
  p.vpn_pid = j.pid;
  p.vpn_tid = j.tid;
  p.app_pid = j.dir == Dir::Rx ? j.recv_pid : 0;
  staged.push_back({j.skb, j.gen, p});
}

void TunnelEnd::on_pair(const VpnPair& p) {
  auto& pairs = pairs_[static_cast<int>(p.dir)][p.way & 1];
  // The VPN's end of the pair: TX the send after the read, RX the read before the write.
  if (pairs.size() < kMaxPackets) pairs.push_back({p.skb, p.gen, p.dir == Dir::Tx ? p.out_ts : p.in_ts});
}

void TunnelEnd::finish(const VpnAnalysis& vpn) {
  auto by_packet = [](const auto& x, const auto& y) {
    return x.skb != y.skb ? x.skb < y.skb : x.gen < y.gen;
  };
  for (Dir d : kDirs) {
    const int di = static_cast<int>(d);
    auto& staged = staged_[di];
    auto& pairs = pairs_[di][vpn.stats().cost[di].by_thread() ? 1 : 0];
    std::sort(pairs.begin(), pairs.end(), by_packet);
    auto& out = done_[di];
    out.clear();
    out.reserve(staged.size());
    for (Staged& s : staged) {
      auto it = std::lower_bound(pairs.begin(), pairs.end(), Pair{s.skb, s.gen, 0}, by_packet);
      if (it != pairs.end() && it->skb == s.skb && it->gen == s.gen) s.p.vpn_ns = it->vpn_ns;
      out.push_back(s.p);
    }
    staged.clear();
    staged.shrink_to_fit();
    for (auto& way : pairs_[di]) {
      way.clear();
      way.shrink_to_fit();
    }
  }
}

}  // namespace tunlat

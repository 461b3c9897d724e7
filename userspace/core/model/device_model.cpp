// SPDX-License-Identifier: MIT
// Device kinds and the names their models give the spans (core/model/device_model.h).
#include "core/model/device_model.h"

#include <array>

namespace tunlat {

namespace {

struct KindName {
  DeviceKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 7> kKindNames{{{DeviceKind::Tap, "tap"},
                                              {DeviceKind::Tun, "tun"},
                                              {DeviceKind::Macvtap, "macvtap"},
                                              {DeviceKind::WireGuard, "wireguard"},
                                              {DeviceKind::Ovpn, "ovpn"},
                                              {DeviceKind::Veth, "veth"},
                                              {DeviceKind::Other, "other"}}};

// The TX handoff span and the one after it, per model; the points are kTxSpans'.
constexpr std::array<SpanDef, 4> kTxKernelVpn{
    {kTxSpans[0], {"vpn", TL_XMIT, TL_READ, true}, {"underlay", TL_READ, TL_FREE, false}, kTxSpans[3]}};
constexpr std::array<SpanDef, 4> kTxPeer{
    {kTxSpans[0], {"peer", TL_XMIT, TL_READ, true}, {"beyond", TL_READ, TL_FREE, false}, kTxSpans[3]}};
// Nothing takes the packet: TX ends at xmit, which ends `total` too.
constexpr std::array<SpanDef, 4> kTxNone{{kTxSpans[0],
                                          {"handoff", TL_XMIT, TL_READ, false},
                                          {"after", TL_READ, TL_FREE, false},
                                          {"total", TL_QUEUE, TL_READ, false, TL_XMIT}}};
// A kernel VPN's RX starts where its underlay received the packet it decrypts in place:
// `vpn` (decryption, its NAPI poll, GRO) replaces the backlog, whose points it spans.
constexpr std::array<SpanDef, 4> kRxKernelVpn{
    {{"vpn", TL_INJECT, TL_RECEIVE, true}, kRxSpans[1], kRxSpans[2], kRxSpans[3]}};
// A macvtap's TX is what its VM reads: it arrives from the lower device's receive (`xmit`:
// the device has it) and waits in the macvtap's queue; no qdisc of ours is on its way.
constexpr std::array<SpanDef, 4> kTxMacvtap{
    {kTxSpans[0], kTxSpans[1], kTxSpans[2], {"total", TL_XMIT, TL_READ, false}}};
static_assert(kTxKernelVpn.size() == kTxSpans.size() && kTxNone.size() == kTxSpans.size());

}  // namespace

std::string_view device_kind_name(DeviceKind k) {
  for (const KindName& n : kKindNames)
    if (n.kind == k) return n.name;
  return "other";
}

DeviceKind parse_device_kind(std::string_view name) {
  for (const KindName& n : kKindNames)
    if (n.name == name) return n.kind;
  return DeviceKind::Other;
}

Handoff handoff_of(DeviceKind k) {
  switch (k) {
    case DeviceKind::Tap:
    case DeviceKind::Tun:
    case DeviceKind::Macvtap:
      return Handoff::Reader;
    case DeviceKind::WireGuard:
    case DeviceKind::Ovpn:
      return Handoff::KernelVpn;
    case DeviceKind::Veth:
      return Handoff::Peer;
    default:
      return Handoff::None;
  }
}

bool carries_ethernet(DeviceKind k) {
  return k != DeviceKind::Tun && k != DeviceKind::WireGuard && k != DeviceKind::Ovpn;
}

ListView<SpanDef> spans_of(Dir d, DeviceKind k) {
  if (d == Dir::Rx)
    return handoff_of(k) == Handoff::KernelVpn ? ListView<SpanDef>{kRxKernelVpn.data(), kRxKernelVpn.size()}
                                               : spans_of(Dir::Rx);
  if (k == DeviceKind::Macvtap) return {kTxMacvtap.data(), kTxMacvtap.size()};
  switch (handoff_of(k)) {
    case Handoff::KernelVpn:
      return {kTxKernelVpn.data(), kTxKernelVpn.size()};
    case Handoff::Peer:
      return {kTxPeer.data(), kTxPeer.size()};
    case Handoff::None:
      return {kTxNone.data(), kTxNone.size()};
    default:
      return spans_of(Dir::Tx);
  }
}

std::string path_label(Dir d, DeviceKind k, std::string_view dev) {
  const bool vm = k == DeviceKind::Macvtap;
  const std::string outside = vm ? "lower device" : "host";
  const std::string name(dev);
  return d == Dir::Tx ? outside + " -> " + name + " -> " + (vm ? "VM" : "reader")
                      : (vm ? "VM" : "writer") + (" -> " + name + " -> " + outside);
}

std::string_view handoff_place(DeviceKind k) {
  switch (k) {
    case DeviceKind::Tap:
    case DeviceKind::Tun:
      return "the tun ring";
    case DeviceKind::Macvtap:
      return "the macvtap's queue";
    case DeviceKind::WireGuard:
      return "WireGuard's queues (staging, encryption, its tx worker)";
    case DeviceKind::Ovpn:
      return "ovpn's transmit path (encryption, the underlay socket)";
    case DeviceKind::Veth:
      return "the peer's backlog";
    default:
      return "";
  }
}

}  // namespace tunlat

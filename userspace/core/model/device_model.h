// SPDX-License-Identifier: MIT
// What the traced device is, and so what its spans are: the same points on every device,
// but what hands a TX packet on after the driver's xmit differs (docs/design.md "Devices").
#pragma once

#include <string>
#include <string_view>

#include "core/model/event.h"

namespace tunlat {

// As the kernel says: the device's driver (ethtool), and a macvlan's link kind (netlink).
enum class DeviceKind { Tap, Tun, Macvtap, WireGuard, Ovpn, Veth, Other };
std::string_view device_kind_name(DeviceKind k);      // "tap" | "tun" | "macvtap" | "wireguard" ...
DeviceKind parse_device_kind(std::string_view name);  // anything unknown is Other

// Who takes a TX packet from the device after its xmit: the point `read` is that moment.
enum class Handoff : uint8_t {
  Reader,     // a process reads it out of a ring (tun, tap; a macvtap's VM, where TX is
              // what arrives for the VM from the lower device): span `ring`, then `copy`
  KernelVpn,  // the kernel encrypts it and queues the same skb on the underlay (WireGuard,
              // ovpn): span `vpn`, then `underlay` (its time there, to its end)
  Peer,       // the peer device receives it (veth): span `peer`, then `beyond`
  None,       // nothing: the driver's xmit is where TX ends (lo, a NIC's driver)
};
Handoff handoff_of(DeviceKind k);
// Do its packets start with an Ethernet header (tap, macvtap, veth)? Else with IP: a tun
// (IFF_NO_PI, or the kernel strips the packet information), WireGuard, ovpn.
bool carries_ethernet(DeviceKind k);

// Direction d's spans on a device of kind k: the points of kTxSpans / kRxSpans, under the
// names the device's model gives them; the handoff span is a queue stage only where
// something takes packets from it. A kernel VPN's RX `vpn` runs from the underlay's
// receive (its `inject`) to the device's.
ListView<SpanDef> spans_of(Dir d, DeviceKind k);

// Which way direction d goes through device dev, as report headings say it: "host -> tap0 ->
// reader", "writer -> tap0 -> host"; a macvtap's VM sits where a tap's reader does, and its
// packets come from and go to the lower device, not the host's stack.
std::string path_label(Dir d, DeviceKind k, std::string_view dev);

// Where a TX packet waits between xmit and its handoff, as a sentence says it: "the tun
// ring", "WireGuard's queues (staging, encryption, its tx worker)"... Empty for None.
std::string_view handoff_place(DeviceKind k);

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// What is known about a trace besides its events: the device, its owners, the kernel's names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/device_model.h"

namespace tunlat {

struct Owner {
  uint32_t pid = 0;
  std::string comm;
  std::vector<uint64_t> sockets;  // inodes of its sockets when the trace started: its underlay
};

struct TraceInfo {
  std::string tunlat_version;
  std::string kernel;  // uname release of the traced machine
  std::string dev_name;
  uint32_t ifindex = 0;
  std::string netns_name;  // as given (ip netns name, path or pid); empty = tunlat's own
  uint64_t netns_inode = 0;
  DeviceKind kind = DeviceKind::Other;
  std::vector<Owner> owners;
  int64_t clock_offset_ns = 0;        // CLOCK_REALTIME - CLOCK_MONOTONIC: event ts -> wall clock
  uint64_t start_ns = 0, end_ns = 0;  // CLOCK_MONOTONIC bounds of the capture
  uint64_t events_lost = 0;           // events the kernel could not write (ring full)
  bool device_vanished = false;       // the device went away during the trace, ending it
  uint32_t sample = 1;                // 1 packet in this many was followed (--sample)
  // The owners' scheduling (TL_SCHED, TL_SEND, TL_UREAD events): "on"; "off (--no-sched)";
  // else why not (a kernel without the tracepoints). Empty: a recording made before it.
  std::string sched;
  // The host's TCP sockets' own retransmissions (tcp:tcp_retransmit_skb): "on", else why
  // not. Empty: a recording made before they were counted (their count is then unknown).
  std::string host_retransmits;
  std::string filter;                           // the pcap filter packets were followed by; empty: all
  std::map<int32_t, std::string> drop_reasons;  // enum skb_drop_reason, from the kernel's BTF
  std::map<uint64_t, std::string> symbols;      // drop locations -> function name
  // Kernel workers that took TX packets from a kernel VPN device (its tx worker's kworkers):
  // pid -> the workqueue it ran last when the trace ended ("wg-crypt-wg0").
  std::map<uint32_t, std::string> workqueues;

  // "SOCKET_RCVBUFF" for SKB_DROP_REASON_SOCKET_RCVBUFF; the number if unknown.
  std::string drop_reason_name(int32_t reason) const;
  // "udp_queue_rcv_one_skb" for an address inside it; hex if unknown.
  std::string location_name(uint64_t addr) const;
  // The owner holding the socket of this inode, or nullptr.
  const Owner* owner_of_socket(uint64_t inode) const;
};

}  // namespace tunlat

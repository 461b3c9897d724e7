// SPDX-License-Identifier: MIT
// Network namespaces and devices: resolve --netns/--dev, list tun/tap devices, find owners.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/model/trace_info.h"

namespace tunlat {

struct Netns {
  std::string name;  // as the user gave it; empty = tunlat's own
  std::string path;  // /proc/self/ns/net, /run/netns/NAME, /proc/PID/ns/net
  uint64_t inode = 0;
};

struct Device {
  std::string name;
  uint32_t ifindex = 0;
  DeviceKind kind = DeviceKind::Other;
  uint64_t mac = 0;  // its Ethernet address, the 6 bytes in memory order (0: none)
};

// The path of the namespace file that spec names: "" (own) -> /proc/self/ns/net, a path
// as it is, a pid -> /proc/PID/ns/net, else an `ip netns` name -> /run/netns/NAME.
std::string netns_path(const std::string& spec);

// spec as netns_path takes it; the namespace must exist. Throws Fatal.
Netns resolve_netns(const std::string& spec);

// Runs fn with the calling thread inside ns, then returns to the original namespace.
void in_netns(const Netns& ns, const std::function<void()>& fn);

// Looks the device up inside ns. Throws Fatal naming the tun/tap devices that do exist.
Device resolve_device(const Netns& ns, const std::string& name);

// "tap0 (netns tl-a-1)" for every tun/tap device in the own and named namespaces.
std::vector<std::string> list_tun_devices();

// A tun/tap device and the namespace it lives in.
struct NetnsDevice {
  Netns ns;  // name: its `ip netns` name, "" for tunlat's own or one without a name
  Device dev;
};

// Every tun/tap device of the host: in tunlat's namespace, the named ones, and those only
// processes hold (/proc/PID/ns/net), each namespace once (by inode, named first).
std::vector<NetnsDevice> scan_tun_devices();

// The tun/tap devices process pid holds (its tun fds), in the namespaces they live in,
// each once. Throws Fatal if there is no such process.
std::vector<NetnsDevice> devices_held_by(uint32_t pid);
// The processes holding each of devs, by (namespace inode, device name): one pass over
// /proc for them all (find_owners is one pass per device), with their sockets.
std::map<std::pair<uint64_t, std::string>, std::vector<Owner>> find_all_owners(
    const std::vector<NetnsDevice>& devs);

// Processes holding a tun fd attached to dev in ns, wherever they live: the fd's own
// device namespace is asked, not the process's. A macvtap's: those holding one of its
// queues (/dev/tapN: a VM), in ns as their own namespace says (its fd cannot tell).
std::vector<Owner> find_owners(const Netns& ns, const Device& dev);

// Watches whether the device still exists (a socket kept inside its namespace).
class DeviceWatch {
 public:
  DeviceWatch(const Netns& ns, uint32_t ifindex);
  ~DeviceWatch();
  DeviceWatch(const DeviceWatch&) = delete;
  DeviceWatch& operator=(const DeviceWatch&) = delete;
  bool alive() const;

 private:
  int sock_ = -1;
  uint32_t ifindex_;
};

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// Network namespaces and devices: resolve --netns/--dev, list tun/tap devices, find owners.
#include "kernel/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "fatal.h"

namespace tunlat {

namespace {

constexpr const char* kNamedNetnsDir = "/run/netns";

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The link kind rtnetlink gives a device ("macvtap", "macvlan" ...), "" if it cannot say.
// Asked only where the driver's name does not tell: macvtap runs macvlan's driver.
std::string link_kind(unsigned ifindex) {
  Fd nl(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (nl.fd < 0) return "";
  struct {
    nlmsghdr h;
    ifinfomsg i;
  } req{};
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.i.ifi_family = AF_UNSPEC;
  req.i.ifi_index = static_cast<int>(ifindex);
  if (send(nl.fd, &req, sizeof(req), 0) < 0) return "";
  alignas(nlmsghdr) char buf[16384];
  const ssize_t n = recv(nl.fd, buf, sizeof(buf), 0);
  if (n <= 0) return "";
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != RTM_NEWLINK) return "";
  int len = static_cast<int>(IFLA_PAYLOAD(h));
  for (rtattr* a = IFLA_RTA(static_cast<ifinfomsg*>(NLMSG_DATA(h))); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type != IFLA_LINKINFO) continue;
    int inner = static_cast<int>(RTA_PAYLOAD(a));
    for (rtattr* b = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(b, inner); b = RTA_NEXT(b, inner))
      if (b->rta_type == IFLA_INFO_KIND) return std::string(static_cast<const char*>(RTA_DATA(b)));
  }
  return "";
}

// What the device is, from its driver's name (ethtool): tun/tap devices report driver "tun"
// and bus "tun" or "tap"; WireGuard, ovpn and veth their own names.
DeviceKind kind_of(int sock, const std::string& name) {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&info);
  if (ioctl(sock, SIOCETHTOOL, &ifr) != 0) return DeviceKind::Other;
  const std::string driver = info.driver;
  if (driver == "tun") return std::strcmp(info.bus_info, "tap") == 0 ? DeviceKind::Tap : DeviceKind::Tun;
  if (driver == "wireguard") return DeviceKind::WireGuard;
  if (driver == "ovpn") return DeviceKind::Ovpn;
  if (driver == "veth") return DeviceKind::Veth;
  if (driver == "macvlan" && link_kind(if_nametoindex(name.c_str())) == "macvtap") return DeviceKind::Macvtap;
  return DeviceKind::Other;
}

bool is_tun_or_tap(DeviceKind k) { return k == DeviceKind::Tap || k == DeviceKind::Tun; }

std::vector<Netns> all_netns() {
  std::vector<Netns> out{{"", "/proc/self/ns/net", inode_of("/proc/self/ns/net")}};
  if (DIR* d = opendir(kNamedNetnsDir)) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string path = std::string(kNamedNetnsDir) + "/" + e->d_name;
      out.push_back({e->d_name, path, inode_of(path)});
    }
    closedir(d);
  }
  return out;
}

// A copy of process pid's fd (pidfd_getfd, 5.6+), to ask the device it is attached to;
// -1 where that is missing or refused.
Fd fd_copy(pid_t pid, int fd) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  return Fd(pidfd.fd >= 0 ? static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.fd, fd, 0)) : -1);
}

// The inode of the namespace the device of process pid's tun fd `fd` lives in. fdinfo
// names the device, but a name is per namespace, and the process may live in another
// namespace than its device (slirp4netns opens a container's tap from the host's): the fd
// itself answers, through a copy (pidfd_getfd, 5.6+) and TUNGETDEVNETNS (5.7+). Where
// those are missing or refused, the process's own namespace is the guess.
uint64_t tun_fd_netns(pid_t pid, int fd, const std::string& base) {
  Fd copy = fd_copy(pid, fd);
  Fd dev_ns(copy.fd >= 0 ? ioctl(copy.fd, TUNGETDEVNETNS) : -1);
  struct stat st {};
  if (dev_ns.fd >= 0 && fstat(dev_ns.fd, &st) == 0) return st.st_ino;
  return inode_of(base + "/ns/net");
}

bool tun_fd_in_netns(pid_t pid, int fd, const std::string& base, uint64_t ns) {
  return tun_fd_netns(pid, fd, base) == ns;
}

}  // namespace

std::string netns_path(const std::string& spec) {
  if (spec.empty()) return "/proc/self/ns/net";
  if (spec.find('/') != std::string::npos) return spec;
  if (all_digits(spec)) return "/proc/" + spec + "/ns/net";
  return std::string(kNamedNetnsDir) + "/" + spec;
}

namespace {

// Is path a network namespace? nsfs answers NS_GET_NSTYPE; anything else (a directory, a
// file) does not, and would otherwise fail only at setns() with a misleading EINVAL.
void require_net_namespace(const std::string& spec, const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == EACCES || errno == EPERM)
      throw Fatal(fmt::format("network namespace '{}' ({}): permission denied (needs root)", spec, path));
    throw Fatal(fmt::format("cannot open network namespace '{}' ({}): {}", spec, path, std::strerror(errno)));
  }
  int type = ioctl(fd.fd, NS_GET_NSTYPE);
  if (type == CLONE_NEWNET) return;
  struct stat st {};
  fstat(fd.fd, &st);
  const char* what = type >= 0             ? "a namespace of another kind"
                     : S_ISDIR(st.st_mode) ? "a directory"
                                           : "not a namespace file";
  throw Fatal(fmt::format("'{}' ({}) is not a network namespace: {}", spec, path, what));
}

// The inodes of the sockets a process holds (its fds' links read "socket:[INODE]"): its
// underlay, whose drops hurt the tunnel wherever the socket lives.
std::vector<uint64_t> socket_inodes(const std::string& proc_dir) {
  std::vector<uint64_t> out;
  DirHandle fds(opendir((proc_dir + "/fd").c_str()));
  if (!fds) return out;
  while (dirent* f = readdir(fds.get())) {
    if (!all_digits(f->d_name)) continue;
    char link[64];
    ssize_t n = readlink((proc_dir + "/fd/" + f->d_name).c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = 0;
    unsigned long long ino = 0;
    if (std::sscanf(link, "socket:[%llu]", &ino) == 1) out.push_back(ino);
  }
  return out;
}

}  // namespace

Netns resolve_netns(const std::string& spec) {
  Netns ns;
  ns.name = spec;
  ns.path = netns_path(spec);
  ns.inode = inode_of(ns.path);
  if (!ns.inode && (errno == EACCES || errno == EPERM))  // /proc/PID/ns of another user
    throw Fatal(fmt::format("network namespace '{}' ({}): permission denied (needs root)", spec, ns.path));
  if (!ns.inode) {
    std::string known;
    for (auto& n : all_netns())
      if (!n.name.empty()) known += (known.empty() ? "" : ", ") + n.name;
    throw Fatal(fmt::format("network namespace '{}' not found ({}: {}); named namespaces: {}", spec, ns.path,
                            std::strerror(errno), known.empty() ? "none" : known));
  }
  require_net_namespace(spec, ns.path);
  return ns;
}

void in_netns(const Netns& ns, const std::function<void()>& fn) {
  if (ns.inode == inode_of("/proc/self/ns/net")) return fn();
  Fd self(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  Fd target(open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (self.fd < 0 || target.fd < 0)
    throw Fatal(fmt::format("cannot open network namespace {}: {}", ns.path, std::strerror(errno)));
  if (setns(target.fd, CLONE_NEWNET) != 0)
    throw Fatal(fmt::format("cannot enter network namespace {}: {} (needs CAP_SYS_ADMIN)", ns.path,
                            std::strerror(errno)));
  try {
    fn();
  } catch (...) {
    setns(self.fd, CLONE_NEWNET);
    throw;
  }
  if (setns(self.fd, CLONE_NEWNET) != 0)
    throw Fatal(fmt::format("cannot return to own network namespace: {}", std::strerror(errno)));
}

Device resolve_device(const Netns& ns, const std::string& name) {
  Device dev;
  dev.name = name;
  in_netns(ns, [&] {
    dev.ifindex = if_nametoindex(name.c_str());
    if (!dev.ifindex) return;
    Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    dev.kind = sock.fd >= 0 ? kind_of(sock.fd, name) : DeviceKind::Other;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (sock.fd >= 0 && ioctl(sock.fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER)
      std::memcpy(&dev.mac, ifr.ifr_hwaddr.sa_data, 6);
  });
  if (!dev.ifindex) {
    auto devs = list_tun_devices();
    std::string list;
    for (auto& d : devs) list += (list.empty() ? "" : ", ") + d;
    throw Fatal(fmt::format("no device '{}' in {}; tun/tap devices here: {}", name,
                            ns.name.empty() ? "tunlat's network namespace" : "netns '" + ns.name + "'",
                            list.empty() ? "none" : list));
  }
  return dev;
}

namespace {

// fn(device) for each tun/tap device of namespace ns (entered); nothing if it cannot be.
void for_tun_devices(const Netns& ns, const std::function<void(const Device&)>& fn) {
  try {
    in_netns(ns, [&] {
      Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      std::unique_ptr<struct if_nameindex, void (*)(struct if_nameindex*)> ifs(if_nameindex(),
                                                                               if_freenameindex);
      if (!ifs || sock.fd < 0) return;
      for (auto* i = ifs.get(); i->if_index; i++) {
        DeviceKind kind = kind_of(sock.fd, i->if_name);
        if (is_tun_or_tap(kind)) fn(Device{i->if_name, i->if_index, kind});
      }
    });
  } catch (const Fatal&) {
    // A namespace we may not enter (or that vanished meanwhile): nothing to list there.
  }
}

}  // namespace

std::vector<std::string> list_tun_devices() {
  std::vector<std::string> out;
  for (const Netns& ns : all_netns())
    for_tun_devices(ns, [&](const Device& d) {
      out.push_back(fmt::format("{} ({}, {})", d.name, device_kind_name(d.kind),
                                ns.name.empty() ? "own netns" : "netns " + ns.name));
    });
  return out;
}

std::vector<NetnsDevice> scan_tun_devices() {
  std::vector<Netns> spaces = all_netns();
  std::set<uint64_t> seen;
  for (const Netns& ns : spaces) seen.insert(ns.inode);
  if (DirHandle proc{opendir("/proc")}) {
    while (dirent* p = readdir(proc.get())) {
      if (!all_digits(p->d_name)) continue;
      const std::string path = std::string("/proc/") + p->d_name + "/ns/net";
      const uint64_t ino = inode_of(path);
      if (ino && seen.insert(ino).second) spaces.push_back({"", path, ino});
    }
  }
  std::vector<NetnsDevice> out;
  for (const Netns& ns : spaces) for_tun_devices(ns, [&](const Device& d) { out.push_back({ns, d}); });
  return out;
}

namespace {

// fn(pid, fd, /proc/PID) for each open fd of each process (tgid: threads share their fds).
void for_each_fd(const std::function<void(pid_t, int, const std::string&)>& fn) {
  DirHandle proc(opendir("/proc"));
  if (!proc) return;
  while (dirent* p = readdir(proc.get())) {
    if (!all_digits(p->d_name)) continue;
    const std::string base = std::string("/proc/") + p->d_name;
    const pid_t pid = static_cast<pid_t>(std::stol(p->d_name));
    DirHandle fds(opendir((base + "/fd").c_str()));
    if (!fds) continue;
    while (dirent* f = readdir(fds.get()))
      if (all_digits(f->d_name)) fn(pid, std::stoi(f->d_name), base);
  }
}

// fn(pid, fd, device name, /proc/PID) for each tun/tap fd of each process: fdinfo's iff.
void for_tun_fds(const std::function<void(pid_t, int, const std::string&, const std::string&)>& fn) {
  for_each_fd([&](pid_t pid, int fd, const std::string& base) {
    std::ifstream in(base + "/fdinfo/" + std::to_string(fd));
    for (std::string line; std::getline(in, line);)
      if (line.rfind("iff:\t", 0) == 0) return fn(pid, fd, line.substr(5), base);
  });
}

// The major number of macvtap's character devices (/proc/devices), 0 if it has none.
unsigned macvtap_major() {
  std::ifstream in("/proc/devices");  // "Character devices:", then "246 macvtap" ...
  for (std::string line; std::getline(in, line);) {
    unsigned major = 0;
    char name[32] = {};
    if (std::sscanf(line.c_str(), "%u %31s", &major, name) == 2 && std::strcmp(name, "macvtap") == 0)
      return major;
  }
  return 0;
}

// fn(pid, fd, device name, /proc/PID) for each macvtap queue a process holds open (a VM's
// NIC, /dev/tapN): its fdinfo names no device, the fd itself does (TUNGETIFF on a copy).
void for_macvtap_fds(const std::function<void(pid_t, int, const std::string&, const std::string&)>& fn) {
  const unsigned major_no = macvtap_major();
  if (!major_no) return;
  for_each_fd([&](pid_t pid, int fd, const std::string& base) {
    struct stat st {};
    if (stat((base + "/fd/" + std::to_string(fd)).c_str(), &st) != 0 || !S_ISCHR(st.st_mode) ||
        major(st.st_rdev) != major_no)
      return;
    Fd copy = fd_copy(pid, fd);
    ifreq ifr{};
    if (copy.fd >= 0 && ioctl(copy.fd, TUNGETIFF, &ifr) == 0) fn(pid, fd, ifr.ifr_name, base);
  });
}

Owner owner_of(pid_t pid, const std::string& base) {
  std::ifstream c(base + "/comm");
  Owner o;
  o.pid = static_cast<uint32_t>(pid);
  std::getline(c, o.comm);
  return o;
}

}  // namespace

std::vector<Owner> find_owners(const Netns& ns, const Device& dev) {
  std::vector<Owner> out;
  auto take = [&](pid_t pid, int fd, const std::string& name, const std::string& base) {
    if (name != dev.name || (!out.empty() && out.back().pid == static_cast<uint32_t>(pid))) return;
    if (!tun_fd_in_netns(pid, fd, base, ns.inode)) return;
    out.push_back(owner_of(pid, base));
    out.back().sockets = socket_inodes(base);
  };
  if (dev.kind == DeviceKind::Macvtap)
    for_macvtap_fds(take);
  else
    for_tun_fds(take);
  return out;
}

std::vector<NetnsDevice> devices_held_by(uint32_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  struct stat st {};
  if (stat(base.c_str(), &st) != 0) throw Fatal(fmt::format("no process {}", pid), kExitUsage);
  // Each tun fd's device, by (its namespace's inode, its name); then where those are.
  std::set<std::pair<uint64_t, std::string>> held;
  DirHandle fds(opendir((base + "/fd").c_str()));
  if (!fds) throw Fatal(fmt::format("cannot read the fds of process {}: {}", pid, std::strerror(errno)));
  while (dirent* f = readdir(fds.get())) {
    if (!all_digits(f->d_name)) continue;
    std::ifstream in(base + "/fdinfo/" + f->d_name);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("iff:\t", 0) != 0) continue;
      held.insert({tun_fd_netns(static_cast<pid_t>(pid), std::stoi(f->d_name), base), line.substr(5)});
    }
  }
  std::vector<NetnsDevice> out;
  for (NetnsDevice& d : scan_tun_devices())
    if (held.count({d.ns.inode, d.dev.name})) out.push_back(std::move(d));
  return out;
}

std::map<std::pair<uint64_t, std::string>, std::vector<Owner>> find_all_owners(
    const std::vector<NetnsDevice>& devs) {
  std::map<std::pair<uint64_t, std::string>, std::vector<Owner>> out;
  for_tun_fds([&](pid_t pid, int fd, const std::string& name, const std::string& base) {
    for (const NetnsDevice& d : devs) {
      if (d.dev.name != name) continue;
      auto& owners = out[{d.ns.inode, name}];
      if (!owners.empty() && owners.back().pid == static_cast<uint32_t>(pid)) continue;
      if (!tun_fd_in_netns(pid, fd, base, d.ns.inode)) continue;
      owners.push_back(owner_of(pid, base));
      owners.back().sockets = socket_inodes(base);
    }
  });
  return out;
}

DeviceWatch::DeviceWatch(const Netns& ns, uint32_t ifindex) : ifindex_(ifindex) {
  in_netns(ns, [&] { sock_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); });
}

DeviceWatch::~DeviceWatch() {
  if (sock_ >= 0) close(sock_);
}

bool DeviceWatch::alive() const {
  if (sock_ < 0) return true;  // cannot tell: assume it is
  ifreq ifr{};
  ifr.ifr_ifindex = static_cast<int>(ifindex_);
  // The socket lives in the device's namespace, so this asks that namespace.
  return ioctl(sock_, SIOCGIFNAME, &ifr) == 0;
}

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// What the running kernel tells us: capabilities, tracepoints and drop reasons (BTF), symbols.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct btf;

namespace tunlat {

// Throws Fatal naming the missing capability when this process cannot trace.
void check_privileges();

std::string kernel_release();

class KernelBtf {
 public:
  KernelBtf();  // throws Fatal when the kernel has no BTF
  ~KernelBtf();
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;

  bool has_tracepoint(const std::string& name) const;  // raw tracepoint prototype in BTF
  std::map<int32_t, std::string> drop_reasons() const;  // enum skb_drop_reason

 private:
  ::btf* btf_;
};

// Function names for kernel text addresses, from /proc/kallsyms.
std::map<uint64_t, std::string> symbolize(const std::vector<uint64_t>& addrs);

}  // namespace tunlat

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

// The oldest kernel tunlat can trace: kfree_skb's drop reason (enum skb_drop_reason, in
// its raw tracepoint's arguments since 5.17) is read by the free program. Tested from 6.1.
inline constexpr const char* kMinKernel = "5.17";

class KernelBtf {
 public:
  KernelBtf();  // throws Fatal when the kernel has no BTF
  ~KernelBtf();
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;

  bool has_tracepoint(const std::string& name) const;  // raw tracepoint prototype in BTF
  // How many arguments a raw tracepoint passes (its program's ctx), 0 if it has none.
  int tracepoint_args(const std::string& name) const;
  // A kfunc programs can call (e.g. bpf_rdonly_cast, since 6.2).
  bool has_kfunc(const std::string& name) const;
  // Can a program load from any address, guarded against faults, through
  // bpf_rdonly_cast(p, 0) (rdonly_untrusted_mem, 6.17+)? Asked by loading one that does.
  bool loads_anywhere() const;
  // Throws Fatal, naming the kernel, the missing piece and kMinKernel, if tunlat's BPF
  // programs cannot run on this kernel at all.
  void require_supported() const;
  std::map<int32_t, std::string> drop_reasons() const;  // enum skb_drop_reason

 private:
  bool has(const std::string& name, int kind) const;
  ::btf* btf_;
};

// Function names for kernel text addresses, from /proc/kallsyms.
std::map<uint64_t, std::string> symbolize(const std::vector<uint64_t>& addrs);

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// What the running kernel tells us: capabilities, tracepoints and drop reasons (BTF), symbols.
#include "kernel/kernel_info.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fatal.h"

namespace tunlat {

namespace {

constexpr int kCapSysAdmin = 21, kCapPerfmon = 38, kCapBpf = 39;

// Tests pretend an older kernel: TUNLAT_TEST_MISSING_BTF="bpf_rdonly_cast" (the compat
// programs), "skb_drop_reason" (a kernel too old), a comma-separated list.
bool pretended_missing(const std::string& name) {
  const char* missing = std::getenv("TUNLAT_TEST_MISSING_BTF");
  return missing && ("," + std::string(missing) + ",").find("," + name + ",") != std::string::npos;
}

uint64_t effective_caps() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

}  // namespace

void check_privileges() {
  uint64_t caps = effective_caps();
  auto has = [&](int c) { return (caps >> c) & 1; };
  if (has(kCapSysAdmin)) return;  // covers BPF, perf events and entering namespaces
  std::vector<std::string> missing;
  if (!has(kCapBpf)) missing.push_back("CAP_BPF");
  if (!has(kCapPerfmon)) missing.push_back("CAP_PERFMON");
  if (missing.empty()) return;
  std::string list;
  for (auto& m : missing) list += (list.empty() ? "" : " and ") + m;
  throw Fatal(
      fmt::format("missing {} (needed to load and attach BPF programs): run as root, or "
                  "grant them, e.g. setcap cap_bpf,cap_perfmon,cap_sys_admin+ep tunlat",
                  list));
}

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

KernelBtf::KernelBtf() : btf_(btf__load_vmlinux_btf()) {
  if (!btf_)
    throw Fatal(
        fmt::format("kernel {} exposes no BTF (/sys/kernel/btf/vmlinux: {}): tunlat needs "
                    "CONFIG_DEBUG_INFO_BTF=y and Linux {} or later",
                    kernel_release(), std::strerror(errno), kMinKernel));
}

KernelBtf::~KernelBtf() { btf__free(btf_); }

bool KernelBtf::has(const std::string& name, int kind) const {
  if (pretended_missing(name)) return false;
  return btf__find_by_name_kind(btf_, name.c_str(), kind) > 0;
}

bool KernelBtf::has_kfunc(const std::string& name) const { return has(name, BTF_KIND_FUNC); }

// Tests pretend a kernel before 6.17: TUNLAT_TEST_MISSING_BTF="rdonly_untrusted_mem".
bool KernelBtf::loads_anywhere() const {
  if (pretended_missing("rdonly_untrusted_mem") || !has_kfunc("bpf_rdonly_cast")) return false;
  const int cast = btf__find_by_name_kind(btf_, "bpf_rdonly_cast", BTF_KIND_FUNC);
  // r1 = 0; r2 = 0; r0 = bpf_rdonly_cast(r1, r2); r0 = *(u8 *)(r0 + 0); r0 = 0; exit:
  // before 6.17 the verifier refuses the type 0 (no struct) and the load.
  auto insn = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst;
    i.src_reg = src;
    i.off = off;
    i.imm = imm;
    return i;
  };
  const bpf_insn prog[] = {insn(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0),
                           insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
                           insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, cast),
                           insn(BPF_LDX | BPF_MEM | BPF_B, 0, 0, 0, 0),
                           insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
                           insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  const int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "tl_anywhere", "GPL", prog,
                               sizeof(prog) / sizeof(prog[0]), nullptr);
  if (fd < 0) return false;
  close(fd);
  return true;
}

void KernelBtf::require_supported() const {
  if (!has("skb_drop_reason", BTF_KIND_ENUM))
    throw Fatal(
        fmt::format("kernel {} lacks kfree_skb's drop reason "
                    "(enum skb_drop_reason, since Linux 5.17): tunlat needs Linux {} or later",
                    kernel_release(), kMinKernel));
}

bool KernelBtf::has_tracepoint(const std::string& name) const {
  // Tests pretend an older kernel: TUNLAT_TEST_MISSING_TP="qdisc_enqueue,qdisc_dequeue".
  if (const char* missing = std::getenv("TUNLAT_TEST_MISSING_TP"))
    if (("," + std::string(missing) + ",").find("," + name + ",") != std::string::npos) return false;
  // Every raw tracepoint has a "btf_trace_<name>" typedef describing its arguments.
  return btf__find_by_name_kind(btf_, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF) > 0;
}

int KernelBtf::tracepoint_args(const std::string& name) const {
  if (!has_tracepoint(name)) return 0;
  // btf_trace_<name> is a pointer to a prototype whose first argument is the probe's data.
  int id = btf__find_by_name_kind(btf_, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
  const btf_type* t = btf__type_by_id(btf_, id);
  for (int hops = 0; t && (btf_is_typedef(t) || btf_is_ptr(t)) && hops < 4; hops++)
    t = btf__type_by_id(btf_, t->type);
  return t && btf_is_func_proto(t) ? std::max(btf_vlen(t) - 1, 0) : 0;
}

std::map<int32_t, std::string> KernelBtf::drop_reasons() const {
  std::map<int32_t, std::string> out;
  int id = btf__find_by_name_kind(btf_, "skb_drop_reason", BTF_KIND_ENUM);
  if (id <= 0) return out;
  const btf_type* t = btf__type_by_id(btf_, id);
  const struct btf_enum* e = btf_enum(t);
  for (int i = 0; i < btf_vlen(t); i++) out[e[i].val] = btf__name_by_offset(btf_, e[i].name_off);
  return out;
}

std::map<uint64_t, std::string> symbolize(const std::vector<uint64_t>& addrs) {
  std::map<uint64_t, std::string> out;
  if (addrs.empty()) return out;
  std::vector<std::pair<uint64_t, std::string>> syms;
  std::ifstream in("/proc/kallsyms");
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string addr, type, name;
    ls >> addr >> type >> name;
    if (type != "t" && type != "T") continue;
    uint64_t a = std::stoull(addr, nullptr, 16);
    if (a) syms.emplace_back(a, name);  // all zeros: kptr_restrict hides addresses
  }
  std::sort(syms.begin(), syms.end());
  for (uint64_t a : addrs) {
    auto it = std::upper_bound(syms.begin(), syms.end(), std::make_pair(a, std::string()),
                               [](auto& x, auto& y) { return x.first < y.first; });
    if (it != syms.begin()) out[a] = std::prev(it)->second;
  }
  return out;
}

}  // namespace tunlat

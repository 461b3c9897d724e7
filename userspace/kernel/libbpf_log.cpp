// SPDX-License-Identifier: MIT
#include "kernel/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace tunlat {

namespace {

bool g_verbose = false;
std::string g_last_libbpf_error;  // libbpf's last warning: the reason behind a failure

int libbpf_print(enum libbpf_print_level level, const char* fmt_str, va_list args) {
  if (g_verbose) {  // whole: a verifier log is one message of many KiB
    va_list copy;
    va_copy(copy, args);
    vfprintf(stderr, fmt_str, copy);
    va_end(copy);
  }
  if (level == LIBBPF_WARN) {
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt_str, args);
    g_last_libbpf_error = buf;
    while (!g_last_libbpf_error.empty() && g_last_libbpf_error.back() == '\n') g_last_libbpf_error.pop_back();
  }
  return 0;
}

std::string load_hint(int err) {
  if (err == -EPERM || err == -EACCES)
    return "hint: needs CAP_BPF+CAP_PERFMON (or root); a locked-down kernel or seccomp may forbid BPF";
  if (err == -ENOMEM) return "hint: raise RLIMIT_MEMLOCK (ulimit -l) or free memory";
  return "hint: run with -v for libbpf's full log";
}

}  // namespace

void libbpf_log_to_stderr(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(libbpf_print);
}

std::string bpf_failure(const char* what, int err) {
  return fmt::format("cannot {} BPF programs: {} ({}); {}", what,
                     g_last_libbpf_error.empty() ? std::strerror(-err) : g_last_libbpf_error,
                     std::strerror(-err), load_hint(err));
}

}  // namespace tunlat

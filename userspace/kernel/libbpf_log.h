// SPDX-License-Identifier: MIT
// libbpf's messages: shown with -v, and the last warning kept as the reason of a failure.
#pragma once

#include <string>

namespace tunlat {

// Routes libbpf's log: everything to stderr when verbose, else kept for bpf_failure().
void libbpf_log_to_stderr(bool verbose);

// "cannot load BPF programs: REASON (ERRNO); hint: ..." for a libbpf call that returned
// err (negative errno); what is "load" or "attach".
std::string bpf_failure(const char* what, int err);

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// A fatal setup error: one line for the user and the process exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace tunlat {

enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

struct Fatal : std::runtime_error {
  Fatal(const std::string& msg, int code = kExitFailure) : std::runtime_error(msg), code(code) {}
  int code;
};

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// Output files checked before any work starts: writable, and never one of the inputs.
#pragma once

#include <string>
#include <vector>

namespace tunlat {

// Could `path` be created or overwritten now? Throws Fatal (exit 1) naming `what` and the
// reason: a missing or unwritable directory, a directory in its place, a read-only file
// system. An hours-long trace must not learn this only at its end.
void check_writable(const std::string& path, const char* what);

// Do a and b name one file? By device and inode where both exist; otherwise by the
// resolved path (symlinks followed, the directory made canonical), so `x`, `./x` and a
// link to a file not yet created all count as the same.
bool same_file(const std::string& a, const std::string& b);

// An output a command may write: its option, its path ("" when not asked for), what it is.
struct Output {
  const char* option;
  std::string path;
  const char* what;
};
// Every output asked for is writable, and no two (nor any and the input, if given) name
// one file: each would overwrite the other. Throws Fatal: exit 2 for a clash, 1 otherwise.
void check_distinct_outputs(const std::vector<Output>& outputs, const std::string& input = "",
                            const char* input_what = "");

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// Output files checked before any work starts: writable, and never one of the inputs.
#pragma once

#include <string>

namespace tunlat {

// Could `path` be created or overwritten now? Throws Fatal (exit 1) naming `what` and the
// reason: a missing or unwritable directory, a directory in its place, a read-only file
// system. An hours-long trace must not learn this only at its end.
void check_writable(const std::string& path, const char* what);

// Do a and b name one file? By device and inode where both exist; otherwise by the
// resolved path (symlinks followed, the directory made canonical), so `x`, `./x` and a
// link to a file not yet created all count as the same.
bool same_file(const std::string& a, const std::string& b);

}  // namespace tunlat

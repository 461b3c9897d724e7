// SPDX-License-Identifier: MIT
// Output files checked before any work starts: writable, and never one of the inputs.
#include "cli/outputs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "fatal.h"

namespace tunlat {

namespace {

std::string dir_of(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}
std::string base_of(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Where writing to p would land: dangling symlinks followed (writing creates their
// target), then the directory made canonical.
std::string resolved(std::string p) {
  for (int hops = 0; hops < 40; hops++) {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) break;
    char target[PATH_MAX];
    ssize_t n = readlink(p.c_str(), target, sizeof target - 1);
    if (n <= 0) break;
    target[n] = '\0';
    p = target[0] == '/' ? std::string(target) : dir_of(p) + "/" + target;
  }
  char dir[PATH_MAX];
  if (!realpath(dir_of(p).c_str(), dir)) return p;
  return std::string(dir) + "/" + base_of(p);
}

}  // namespace

void check_writable(const std::string& path, const char* what) {
  auto refuse = [&](const std::string& why) {
    throw Fatal(fmt::format("cannot write {} to {}: {}", what, path, why));
  };
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) refuse("it is a directory");
    // Effective ids, as the later open() will use.
    if (faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0) refuse(std::strerror(errno));
    return;
  }
  if (errno != ENOENT) refuse(std::strerror(errno));
  const std::string dir = dir_of(resolved(path));
  if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    refuse(fmt::format("{} ({})", std::strerror(errno), dir));
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  const bool ea = stat(a.c_str(), &sa) == 0, eb = stat(b.c_str(), &sb) == 0;
  if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ea != eb) return false;  // one exists, the other not: two files
  return resolved(a) == resolved(b);
}

void check_distinct_outputs(const std::vector<Output>& outputs, const std::string& input,
                            const char* input_what) {
  for (size_t i = 0; i < outputs.size(); i++) {
    const Output& o = outputs[i];
    if (o.path.empty()) continue;
    if (!input.empty() && same_file(o.path, input))
      throw Fatal(fmt::format("{} {} is {}: {} would overwrite it", o.option, o.path, input_what, o.what),
                  kExitUsage);
    for (size_t k = 0; k < i; k++)
      if (!outputs[k].path.empty() && same_file(o.path, outputs[k].path))
        throw Fatal(fmt::format("{} and {} name the same file ({}): one would overwrite the other",
                                outputs[k].option, o.option, o.path),
                    kExitUsage);
  }
  for (const Output& o : outputs)
    if (!o.path.empty()) check_writable(o.path, o.what);
}

}  // namespace tunlat

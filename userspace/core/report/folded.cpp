// SPDX-License-Identifier: MIT
// Folded stacks (flamegraph.pl's input) and the markup escaping every visual output shares.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/report/visual.h"

namespace tunlat {

void write_folded(std::ostream& out, const std::vector<FlameLeaf>& leaves) {
  for (const FlameLeaf& leaf : leaves) {
    std::string path;
    for (const std::string& f : leaf.frames) path += (path.empty() ? "" : ";") + f;
    fmt::print(out, "{} {}\n", path, leaf.us);
  }
}

std::string escape_markup(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0: a comm could hold one.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += "?";
        else
          out += c;
    }
  }
  return out;
}

}  // namespace tunlat

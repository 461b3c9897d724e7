// SPDX-License-Identifier: MIT
// Text for people: durations, byte counts, rates, and strings made safe for a terminal.
#include "core/format/format.h"

#include <fmt/format.h>

#include <cstdint>

namespace tunlat {

std::string format_duration_us(double v) {
  if (v >= 1e6) return fmt::format("{:.2f} s", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.2f} ms", v / 1e3);
  if (v >= 1) return fmt::format("{:.1f} us", v);
  return fmt::format("{:.0f} ns", v * 1000);
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, u++;
  return u ? fmt::format("{:.2f} {}", b, units[u]) : fmt::format("{:.0f} B", b);
}

std::string format_rate(double pps) {
  if (pps >= 1e6) return fmt::format("{:.2f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.2f} kpps", pps / 1e3);
  return fmt::format("{:.1f} pps", pps);
}

namespace {

// The length of the valid UTF-8 sequence at s[i] (2 to 4), 0 if there is none: overlong
// forms, surrogates and code points above U+10FFFF are not valid.
size_t utf8_len(std::string_view s, size_t i, uint32_t& cp) {
  auto c = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char b = c(0);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2, cp = b & 0x1f;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3, cp = b & 0x0f;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4, cp = b & 0x07;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (size_t k = 1; k < n; k++) {
    unsigned char x = c(k);
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xbf)) return 0;
    cp = cp << 6 | (x & 0x3f);
  }
  return n;
}

// Code points a terminal or a text layout acts on instead of showing: C1 controls (a lone
// U+009B is CSI to some terminals) and the bidi embeddings, overrides and isolates.
bool acts_on_display(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::string term_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      i++;
      switch (b) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case 0x1b:
          out += "\\e";
          break;
        case '\\':
          out += "\\\\";
          break;
        default:
          if (b < 0x20 || b == 0x7f)
            out += fmt::format("\\x{:02x}", b);
          else
            out += static_cast<char>(b);
      }
      continue;
    }
    uint32_t cp = 0;
    size_t n = utf8_len(s, i, cp);
    if (!n) {
      out += fmt::format("\\x{:02x}", b);
      i++;
    } else if (acts_on_display(cp)) {
      out += fmt::format("\\u{:04x}", cp);
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace tunlat

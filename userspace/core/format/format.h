// SPDX-License-Identifier: MIT
// Text for people: durations, byte counts, rates, and strings made safe for a terminal.
#pragma once

#include <string>
#include <string_view>

namespace tunlat {

// "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string format_duration_us(double us);
// "1.50 MB", "812 B" (powers of 1000).
std::string format_bytes(double bytes);
// "12.3 pps", "4.56 kpps", "1.20 Mpps".
std::string format_rate(double pps);

// A string from the system or from a file (comm, device name, a recording's header, a drop
// reason), fit to print on a terminal: it cannot move the cursor, set the title, clear
// the screen or start a line of its own. Control characters (C0, DEL, C1), bytes that are
// not UTF-8 and bidirectional overrides are shown escaped: "\e" for ESC, "\n", "\r",
// "\t", "\\" for a backslash (so an escape seen is an escape made), "\xNN" for any
// other byte, "\u202e" for a bidi control. Anything else, UTF-8 included, is kept.
std::string term_safe(std::string_view s);

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// Numbers for people: durations, byte counts and rates, in every text output.
#pragma once

#include <string>

namespace tunlat {

// "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string format_duration_us(double us);
// "1.50 MB", "812 B" (powers of 1000).
std::string format_bytes(double bytes);
// "12.3 pps", "4.56 kpps", "1.20 Mpps".
std::string format_rate(double pps);

}  // namespace tunlat

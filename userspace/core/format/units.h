// SPDX-License-Identifier: MIT
// Numbers as the JSON summary and the findings' evidence write them: one rounding each.
#pragma once

#include <cmath>

namespace tunlat {

// Three decimals: a figure's digits stable from run to run and from machine to machine.
inline double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

// Nanoseconds as microseconds, to the nanosecond: a whole count of nanoseconds is kept as
// it is (below 2^50 ns, 13 days, n / 1000 survives the rounding exactly), a mean's
// fraction of a nanosecond is rounded off.
inline double us(double ns) { return round3(ns / 1e3); }
// Nanoseconds as milliseconds, to the microsecond.
inline double ms(double ns) { return round3(ns / 1e6); }

}  // namespace tunlat

// SPDX-License-Identifier: MIT
// The flows' table in the text report.
#include <gtest/gtest.h>

#include <sstream>

#include "core/report/flows_report.h"

using namespace tunlat;

// A sender far faster than the Mathis figure: the report says the model does not hold.
TEST(Flows, AMathisBoundBeatenIsSaidSo) {
  Json total = {{"count", 20}, {"p50_us", 100.0}, {"p99_us", 200.0}};
  Json tx = {{"packets", 20}, {"bytes", 30000},   {"mbit_s", 769.3},       {"total", total},
             {"drops", 0},    {"retransmits", 2}, {"mathis_mbit_s", 10.1}, {"rtt", {{"p50_us", 4390.0}}}};
  Json rx = {{"packets", 0},          {"bytes", 0}, {"mbit_s", 0.0}, {"total", {{"count", 0}}}, {"drops", 0},
             {"retransmits", nullptr}};
  Json doc = {{"tcp",
               {{"retransmits", 2},
                {"flows_seen", 1},
                {"flows", Json::array({{{"name", "TCP a <> b"}, {"tx", tx}, {"rx", rx}}})}}}};
  std::ostringstream out;
  render_flows(out, doc);
  EXPECT_NE(out.str().find("Mathis bound 10.1 Mbit/s, beaten 76x: losses come in bursts"), std::string::npos)
      << out.str();
  doc["tcp"]["flows"][0]["tx"]["mbit_s"] = 9.0;
  std::ostringstream under;
  render_flows(under, doc);
  EXPECT_EQ(under.str().find("beaten"), std::string::npos) << under.str();
}

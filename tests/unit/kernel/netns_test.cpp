// SPDX-License-Identifier: MIT
// --netns as the user gives it: a name, a path or a pid, each to its namespace file.
#include <gtest/gtest.h>

#include "fatal.h"
#include "kernel/netns.h"

using namespace tunlat;

TEST(NetnsPath, EachFormOfTheArgument) {
  EXPECT_EQ(netns_path(""), "/proc/self/ns/net");
  EXPECT_EQ(netns_path("vpnA"), "/run/netns/vpnA");
  EXPECT_EQ(netns_path("4252"), "/proc/4252/ns/net");
  EXPECT_EQ(netns_path("/var/run/netns/x"), "/var/run/netns/x");
  EXPECT_EQ(netns_path("./ns"), "./ns");      // a relative path is a path
  EXPECT_EQ(netns_path("42a"), "/run/netns/42a");  // not all digits: a name
}

TEST(ResolveNetns, UnknownNameIsOneFatalLine) {
  try {
    resolve_netns("tunlat-no-such-netns");
    FAIL() << "no exception";
  } catch (const Fatal& e) {
    EXPECT_EQ(e.code, kExitFailure);
    EXPECT_NE(std::string(e.what()).find("tunlat-no-such-netns"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

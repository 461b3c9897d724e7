// SPDX-License-Identifier: MIT
// --netns as the user gives it: a name, a path or a pid, each to its namespace file.
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fatal.h"
#include "kernel/netns.h"

using namespace tunlat;

TEST(NetnsPath, EachFormOfTheArgument) {
  EXPECT_EQ(netns_path(""), "/proc/self/ns/net");
  EXPECT_EQ(netns_path("vpnA"), "/run/netns/vpnA");
  EXPECT_EQ(netns_path("4252"), "/proc/4252/ns/net");
  EXPECT_EQ(netns_path("/var/run/netns/x"), "/var/run/netns/x");
  EXPECT_EQ(netns_path("./ns"), "./ns");           // a relative path is a path
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

namespace {

// resolve_netns(spec) in a child process, as uid (if not 0): its Fatal message, or "ok".
std::string resolve_as(uid_t uid, const std::string& spec) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string msg = "ok";
    if (uid && (setgroups(0, nullptr) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0))
      msg = "setuid failed";
    else
      try {
        resolve_netns(spec);
      } catch (const Fatal& e) {
        msg = e.what();
      }
    if (write(fds[1], msg.data(), msg.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

}  // namespace

// Issue 19, case 10: pid 1's namespace exists; a user who may not see it is told so.
TEST(ResolveNetns, PermissionDeniedIsNotNotFound) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  std::string msg = resolve_as(65534, "1");
  EXPECT_NE(msg.find("permission denied"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("not found"), std::string::npos) << msg;
}

// A directory is not a namespace: say so, not "needs CAP_SYS_ADMIN" when setns() fails.
TEST(ResolveNetns, DirectoryIsNotANetworkNamespace) {
  std::string msg = resolve_as(0, "/tmp");
  EXPECT_NE(msg.find("'/tmp' (/tmp) is not a network namespace: a directory"), std::string::npos) << msg;
  msg = resolve_as(0, "/proc/self/ns/uts");
  EXPECT_NE(msg.find("is not a network namespace: a namespace of another kind"), std::string::npos) << msg;
  EXPECT_EQ(resolve_as(0, "/proc/self/ns/net"), "ok");
}

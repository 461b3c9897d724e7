// tunlat's command line: parses arguments and maps every failure to one line and an exit code.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/trace_cmd.h"
#include "kernel/errors.h"
#include "version.h"

using namespace tunlat;

int main(int argc, char** argv) {
  CLI::App app{"tunlat: where packets wait on the kernel path of a tun/tap device"};
  app.set_version_flag("--version", std::string("tunlat ") + TUNLAT_VERSION);
  app.require_subcommand(1);
  app.footer(R"(Examples:
  tunlat trace --dev tap0                    trace until Ctrl-C, then report
  tunlat trace --netns vpn --dev tun0 -d 10  10 s on tun0 in netns "vpn"
  tunlat trace --dev tap0 --json out.json    also write the JSON summary)");

  TraceArgs t;
  auto* trace = app.add_subcommand("trace", "trace a live tun/tap device");
  trace->add_option("--dev", t.dev, "device to trace (e.g. tap0)")->required();
  trace->add_option("--netns", t.netns,
                    "its network namespace: a name (ip netns), a path or a pid (default: own)");
  trace->add_option("-d,--duration", t.duration_s, "stop after SECONDS (default: Ctrl-C)")
      ->check(CLI::PositiveNumber);
  trace->add_option("-i,--interval", t.interval_s, "live output every SECONDS")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  trace->add_option("--json", t.json_path, "write the tunlat/v1 JSON summary to FILE");
  trace->add_flag("-q,--quiet", t.quiet, "no live output, only the final report");
  trace->add_flag("-v,--verbose", t.verbose, "show libbpf's messages");
  trace->footer(R"(Examples:
  tunlat trace --dev tap99                         until Ctrl-C
  tunlat trace --netns vpnA --dev tap0 -d 10 -i 2  10 s, live every 2 s
  tunlat trace --netns 4252 --dev tun0 --json s.json  netns of pid 4252)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (*trace) return run_trace(t);
  } catch (const Fatal& e) {
    fmt::print(stderr, "tunlat: {}\n", e.what());
    return e.code;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tunlat: {}\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

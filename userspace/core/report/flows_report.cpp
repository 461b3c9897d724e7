// SPDX-License-Identifier: MIT
// Flows in the outputs: the JSON's tcp object, the report's flow tables, the live line.
#include "core/report/flows_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <set>
#include <vector>

#include "core/format/format.h"
#include "core/report/summary.h"

namespace tunlat {

namespace {

// known: the host's own retransmissions were counted (TraceInfo::host_retransmits).
Json flow_dir_json(const FlowDirStats& d, bool known) {
  Json j{{"packets", d.packets},
         {"bytes", d.bytes},
         {"mbit_s", std::round(d.bits_per_s() / 1e3) / 1e3},
         {"total", histogram_json(d.total, false)},
         {"drops", d.drops}};
  j["retransmits"] = d.seq_valid || d.segments ? Json(d.retransmits) : Json(nullptr);
  j["data_segments"] = d.segments;
  j["mss"] = d.mss;
  j["rtt"] = d.rtt.count() ? histogram_json(d.rtt, false) : Json(nullptr);
  const double mathis = d.mathis_bits_per_s();
  j["mathis_mbit_s"] = mathis > 0 ? Json(std::round(mathis / 1e3) / 1e3) : Json(nullptr);
  j["host_retransmits"] = known ? Json(d.host_retransmits) : Json(nullptr);
  j["timeout_waits"] = d.timeout_waits;
  j["timeout_wait_max_ms"] =
      d.timeout_waits ? Json(std::round(d.timeout_wait_max_ns / 1e3) / 1e3) : Json(nullptr);
  const LocalSocket& l = d.local;
  j["local_socket"] = l.samples == 0
                          ? Json(nullptr)
                          : Json{{"samples", l.samples},
                                 {"cwnd_last", l.cwnd_last},
                                 {"cwnd_mean", std::round(l.cwnd_mean() * 10) / 10},
                                 {"cwnd_max", l.cwnd_max},
                                 {"srtt", l.srtt.count() ? histogram_json(l.srtt, false) : Json(nullptr)},
                                 {"in_flight_max", l.in_flight_max},
                                 {"peer_window_min", l.peer_window_min},
                                 {"peer_window_last", l.peer_window_last}};
  return j;
}

Json flow_json(uint32_t id, const FlowStat& f, bool known) {
  Json j;
  j["id"] = id;
  if (id == kOtherFlow || !f.defined) {
    j["protocol"] = id == kOtherFlow ? "(other flows)" : "(unknown)";
    j["name"] = j["protocol"];
    j["host"] = nullptr;
    j["peer"] = nullptr;
  } else {
    j["protocol"] = flow_protocol(f.key);
    j["name"] = flow_name(f.key);
    const std::string a = flow_endpoint(f.key, true), b = flow_endpoint(f.key, false);
    j["host"] = a.empty() ? Json(nullptr) : Json(a);
    j["peer"] = b.empty() ? Json(nullptr) : Json(b);
  }
  j["packets"] = f.packets();
  j["bytes"] = f.bytes();
  j["tx"] = flow_dir_json(f.dirs[0], known);
  j["rx"] = flow_dir_json(f.dirs[1], known);
  return j;
}

// The ids of the top n flows by key (descending; ties: the first seen).
template <class Key>
std::vector<uint32_t> top(const FlowTable& t, size_t n, Key key) {
  std::vector<std::pair<uint32_t, const FlowStat*>> all;
  for (auto& [id, f] : t.flows()) all.emplace_back(id, &f);
  std::stable_sort(all.begin(), all.end(), [&](auto& x, auto& y) { return key(*x.second) > key(*y.second); });
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < all.size() && i < n; i++)
    if (key(*all[i].second) > 0) ids.push_back(all[i].first);
  return ids;
}

uint64_t p99(const FlowStat& f, int d) {
  return f.dirs[d].total.count() >= 10 ? f.dirs[d].total.quantile(0.99) : 0;
}

// The host's own sockets behind the flows it sends: what TCP itself believed.
void render_local_sockets(std::ostream& out, const Json& flows) {
  bool header = false;
  size_t shown = 0;
  for (auto& f : flows) {
    const Json& tx = f["tx"];
    if (!tx.contains("local_socket") || !tx["local_socket"].is_object() || shown == 5) continue;
    if (!header) {
      fmt::print(out, "  the host's sockets (tcp_probe as ACKs arrived; tcp_retransmit_skb):\n");
      header = true;
    }
    shown++;
    const Json& l = tx["local_socket"];
    std::string srtt;
    if (l["srtt"].is_object())
      srtt = fmt::format(", srtt p50 {} p90 {}", format_duration_us(l["srtt"]["p50_us"].get<double>()),
                         format_duration_us(l["srtt"]["p90_us"].get<double>()));
    fmt::print(
        out,
        "  {:<52}  cwnd {:.0f} seg (max {}){}, up to {} seg in flight, peer window >= {}, {} sent again\n",
        term_safe(f["name"].get<std::string>()), l["cwnd_mean"].get<double>(), l["cwnd_max"].get<uint64_t>(),
        srtt, l["in_flight_max"].get<uint64_t>(), format_bytes(l["peer_window_min"].get<double>()),
        tx["host_retransmits"].is_number() ? fmt::to_string(tx["host_retransmits"].get<uint64_t>()) : "?");
  }
}

}  // namespace

Json flows_json(const FlowTable& t, const std::string& host_retransmits) {
  const bool known = host_retransmits == "on";
  Json tcp;
  tcp["retransmits"] = t.any() ? Json(t.retransmits()) : Json(nullptr);
  tcp["host_retransmits"] = known ? Json(t.host_retransmits()) : Json(nullptr);
  std::set<uint32_t> ids;
  for (auto id : top(t, kListedFlows, [](const FlowStat& f) { return f.packets(); })) ids.insert(id);
  for (auto id : top(t, kListedFlows / 4, [](const FlowStat& f) { return f.bytes(); })) ids.insert(id);
  for (int d = 0; d < 2; d++)
    for (auto id : top(t, kListedFlows / 4, [d](const FlowStat& f) { return p99(f, d); })) ids.insert(id);
  std::vector<uint32_t> order(ids.begin(), ids.end());
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return t.flows().at(a).packets() > t.flows().at(b).packets();
  });
  Json list = Json::array();
  for (uint32_t id : order) list.push_back(flow_json(id, t.flows().at(id), known));
  tcp["flows"] = list;
  tcp["flows_seen"] = t.flows().size();
  return tcp;
}

void render_flows(std::ostream& out, const Json& doc) {
  if (!doc.contains("tcp") || !doc["tcp"].contains("flows") || doc["tcp"]["flows"].empty()) return;
  const Json& tcp = doc["tcp"];
  const Json& flows = tcp["flows"];
  auto text = [](const Json& j) { return term_safe(j.get<std::string>()); };
  fmt::print(out, "\nflows ({} seen; {} TCP retransmissions as the device saw them), most packets first:\n",
             tcp.value("flows_seen", flows.size()),
             tcp["retransmits"].is_number() ? tcp["retransmits"].get<uint64_t>() : 0);
  fmt::print(out, "  {:<52} {:>9} {:>10} {:>9} {:>9} {:>5} {:>6}\n", "flow (host <> peer)", "tx pkts",
             "tx bytes", "rx pkts", "rx bytes", "drops", "retx");
  size_t shown = 0;
  for (auto& f : flows) {
    if (shown++ == 10) break;
    const Json &tx = f["tx"], &rx = f["rx"];
    auto retx = [](const Json& d) {
      return d["retransmits"].is_number() ? d["retransmits"].get<uint64_t>() : 0;
    };
    fmt::print(out, "  {:<52} {:>9} {:>10} {:>9} {:>10} {:>5} {:>6}\n", text(f["name"]),
               tx["packets"].get<uint64_t>(), format_bytes(tx["bytes"].get<double>()),
               rx["packets"].get<uint64_t>(), format_bytes(rx["bytes"].get<double>()),
               tx["drops"].get<uint64_t>() + rx["drops"].get<uint64_t>(), retx(tx) + retx(rx));
  }
  // By latency: the flows whose packets waited longest (total span p99), either way.
  std::vector<std::pair<double, const Json*>> slow;
  for (auto& f : flows)
    for (const char* d : {"tx", "rx"})
      if (f[d]["total"]["count"].get<uint64_t>() >= 10)
        slow.emplace_back(f[d]["total"]["p99_us"].get<double>(), &f);
  std::stable_sort(slow.begin(), slow.end(), [](auto& a, auto& b) { return a.first > b.first; });
  if (slow.empty()) return;
  fmt::print(out, "  slowest (total span):\n");
  std::set<const Json*> done;
  for (auto& [v, f] : slow) {
    if (done.size() == 5) break;
    if (!done.insert(f).second) continue;
    std::string parts;
    for (const char* d : {"tx", "rx"}) {
      const Json& fd = (*f)[d];
      const Json& h = fd["total"];
      if (h["count"].get<uint64_t>() < 10) continue;
      parts +=
          fmt::format("  {} p50 {} p99 {} ({:.2f} Mbit/s", d, format_duration_us(h["p50_us"].get<double>()),
                      format_duration_us(h["p99_us"].get<double>()), fd["mbit_s"].get<double>());
      // TCP: the round trip the device sees, and the Mathis bound beside the rate.
      if (fd.contains("rtt") && fd["rtt"].is_object())
        parts += fmt::format(", rtt {}", format_duration_us(fd["rtt"]["p50_us"].get<double>()));
      if (fd.contains("mathis_mbit_s") && fd["mathis_mbit_s"].is_number()) {
        const double bound = fd["mathis_mbit_s"].get<double>(), rate = fd["mbit_s"].get<double>();
        parts += fmt::format(", Mathis bound {:.1f} Mbit/s", bound);
        // The model takes each loss for a congestion event; losses in bursts (a full
        // ring or socket) cost one cut per window, and the sender beats it.
        if (bound > 0 && rate > 2 * bound)
          parts += fmt::format(", beaten {:.0f}x: losses come in bursts, not one by one", rate / bound);
      }
      parts += ")";
    }
    fmt::print(out, "  {:<52}{}\n", text((*f)["name"]), parts);
  }
  render_local_sockets(out, flows);
}

std::string live_flow_line(const FlowStat& f, uint64_t packets) {
  return fmt::format("busiest flow: {} ({} packets)", term_safe(flow_name(f.key)), packets);
}

}  // namespace tunlat

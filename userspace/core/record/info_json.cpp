// SPDX-License-Identifier: MIT
// TraceInfo as a recording's header and trailer hold it: JSON written plainly, read strictly.
#include "core/record/info_json.h"

#include <cstdio>

#include "core/record/chunk.h"

namespace tunlat {

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

Json owners_json(const std::vector<Owner>& owners) {
  Json a = Json::array();
  for (auto& o : owners) a.push_back({{"pid", o.pid}, {"comm", o.comm}, {"sockets", o.sockets}});
  return a;
}

Json workqueues_json(const std::map<uint32_t, std::string>& workqueues) {
  Json w = Json::object();
  for (auto& [pid, name] : workqueues) append_new(w, std::to_string(pid), name);
  return w;
}

Json symbols_json(const std::map<uint64_t, std::string>& symbols) {
  Json s = Json::object();
  for (auto& [addr, name] : symbols) append_new(s, hex(addr), name);
  return s;
}

// Parsed into std::map objects: ordered_json inserts each key after a search of all the
// keys before it, quadratic in a header's entries (100k symbols took 17 s).
using In = nlohmann::json;

const In* field(const In& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
void get(const In& j, const char* key, std::string& out) {
  if (auto* v = field(j, key)) {
    if (!v->is_string()) throw Malformed(std::string(key) + " is not a string");
    out = v->get<std::string>();
  }
}
void get(const In& j, const char* key, uint64_t& out, uint64_t max = UINT64_MAX) {
  if (auto* v = field(j, key)) {
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max)
      throw Malformed(std::string(key) + " is not an unsigned integer in range");
    out = v->get<uint64_t>();
  }
}
void get(const In& j, const char* key, bool& out) {
  if (auto* v = field(j, key)) {
    if (!v->is_boolean()) throw Malformed(std::string(key) + " is not a boolean");
    out = v->get<bool>();
  }
}
void get(const In& j, const char* key, uint32_t& out) {
  uint64_t v = out;
  get(j, key, v, UINT32_MAX);
  out = static_cast<uint32_t>(v);
}
void get(const In& j, const char* key, int64_t& out) {
  if (auto* v = field(j, key)) {
    if (v->is_number_unsigned() ? v->get<uint64_t>() > uint64_t(INT64_MAX) : !v->is_number_integer())
      throw Malformed(std::string(key) + " is not an integer in range");
    out = v->get<int64_t>();
  }
}

const In* object_field(const In& j, const char* key) {
  auto* v = field(j, key);
  if (v && !v->is_object()) throw Malformed(std::string(key) + " is not an object");
  return v;
}

// Strict parsing of map keys: the whole string, in range, no sign or space games.
bool parse_digits(const std::string& s, size_t i, int base, uint64_t& out) {
  if (i >= s.size() || s.size() - i > 20) return false;
  uint64_t v = 0;
  for (; i < s.size(); i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
    if (d >= base || v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  out = v;
  return true;
}
bool parse_address(const std::string& s, uint64_t& out) {  // "0xffffffff81000010"
  return s.compare(0, 2, "0x") == 0 && parse_digits(s, 2, 16, out);
}
bool parse_i32(const std::string& s, int32_t& out) {  // "-5", "77"
  bool neg = !s.empty() && s[0] == '-';
  uint64_t v;
  if (!parse_digits(s, neg ? 1 : 0, 10, v) || v > (neg ? 2147483648ull : 2147483647ull)) return false;
  out = static_cast<int32_t>(neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v));
  return true;
}

void get_symbols(const In& j, std::map<uint64_t, std::string>& out) {
  auto* s = object_field(j, "symbols");
  if (!s) return;
  for (auto& [k, v] : s->items()) {
    uint64_t addr;
    if (!parse_address(k, addr) || !v.is_string()) throw Malformed("bad symbols entry");
    out[addr] = v.get<std::string>();
  }
}

In parse_json(const std::vector<char>& raw) {
  // Depth is capped so hostile nesting cannot exhaust the stack or memory.
  In::parser_callback_t limit = [](int depth, In::parse_event_t, In&) {
    if (depth > chunk::kMaxJsonDepth) throw Malformed("nested too deeply");
    return true;
  };
  try {
    return In::parse(raw.begin(), raw.end(), limit);
  } catch (const In::exception& e) {
    std::string m = e.what();  // one short line whatever the input
    for (char& c : m)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    throw Malformed(m.size() > 160 ? m.substr(0, 160) + "..." : m);
  }
}

void parse_header(const In& j, TraceInfo& i) {
  if (!j.is_object()) throw Malformed("not an object");
  get(j, "tunlat_version", i.tunlat_version);
  get(j, "kernel", i.kernel);
  get(j, "dev_name", i.dev_name);
  get(j, "ifindex", i.ifindex);
  get(j, "netns_name", i.netns_name);
  get(j, "netns_inode", i.netns_inode);
  std::string kind;
  get(j, "kind", kind);
  i.kind = parse_device_kind(kind);
  if (auto* o = field(j, "owners")) {
    if (!o->is_array()) throw Malformed("owners is not an array");
    for (auto& e : *o) {
      if (!e.is_object()) throw Malformed("an owner is not an object");
      Owner ow;
      get(e, "pid", ow.pid);
      get(e, "comm", ow.comm);
      if (auto* socks = field(e, "sockets")) {  // absent before version 4
        if (!socks->is_array()) throw Malformed("an owner's sockets is not an array");
        for (auto& ino : *socks) {
          if (!ino.is_number_unsigned()) throw Malformed("a socket inode is not an unsigned integer");
          ow.sockets.push_back(ino.get<uint64_t>());
        }
      }
      i.owners.push_back(std::move(ow));
    }
  }
  get(j, "clock_offset_ns", i.clock_offset_ns);
  get(j, "start_ns", i.start_ns);
  get(j, "end_ns", i.end_ns);
  get(j, "events_lost", i.events_lost);
  get(j, "sample", i.sample);
  if (i.sample == 0) throw Malformed("sample is 0");
  get(j, "sched", i.sched);                        // absent before version 3
  get(j, "host_retransmits", i.host_retransmits);  // absent before version 6
  get(j, "filter", i.filter);
  if (auto* d = object_field(j, "drop_reasons")) {
    for (auto& [k, v] : d->items()) {
      int32_t code;
      if (!parse_i32(k, code) || !v.is_string()) throw Malformed("bad drop_reasons entry");
      i.drop_reasons[code] = v.get<std::string>();
    }
  }
  get_symbols(j, i.symbols);
}

void get_workqueues(const In& j, std::map<uint32_t, std::string>& out) {
  auto* w = object_field(j, "workqueues");  // absent before kernel VPN devices were traced
  if (!w) return;
  for (auto& [k, v] : w->items()) {
    int32_t pid;
    if (!parse_i32(k, pid) || pid <= 0 || !v.is_string()) throw Malformed("bad workqueues entry");
    out[static_cast<uint32_t>(pid)] = v.get<std::string>();
  }
}

void parse_trailer(const In& j, TraceInfo& i) {
  if (!j.is_object()) throw Malformed("not an object");
  get(j, "end_ns", i.end_ns);
  get(j, "events_lost", i.events_lost);
  get(j, "device_vanished", i.device_vanished);
  get_symbols(j, i.symbols);
  get_workqueues(j, i.workqueues);
}

}  // namespace

Json info_header_json(const TraceInfo& i) {
  Json drops = Json::object();
  for (auto& [code, name] : i.drop_reasons) append_new(drops, std::to_string(code), name);
  return Json{{"tunlat_version", i.tunlat_version},
              {"kernel", i.kernel},
              {"dev_name", i.dev_name},
              {"ifindex", i.ifindex},
              {"netns_name", i.netns_name},
              {"netns_inode", i.netns_inode},
              {"kind", device_kind_name(i.kind)},
              {"owners", owners_json(i.owners)},
              {"clock_offset_ns", i.clock_offset_ns},
              {"start_ns", i.start_ns},
              {"end_ns", i.end_ns},
              {"events_lost", i.events_lost},
              {"sample", i.sample},
              {"sched", i.sched},
              {"host_retransmits", i.host_retransmits},
              {"filter", i.filter},
              {"drop_reasons", drops},
              {"symbols", symbols_json(i.symbols)}};
}

Json info_trailer_json(const TraceInfo& i) {
  return Json{{"end_ns", i.end_ns},
              {"events_lost", i.events_lost},
              {"device_vanished", i.device_vanished},
              {"symbols", symbols_json(i.symbols)},
              {"workqueues", workqueues_json(i.workqueues)}};
}

std::string dump_compact(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void parse_info_header(const std::vector<char>& raw, TraceInfo& i) { parse_header(parse_json(raw), i); }
void parse_info_trailer(const std::vector<char>& raw, TraceInfo& i) { parse_trailer(parse_json(raw), i); }

}  // namespace tunlat

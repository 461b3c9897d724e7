// SPDX-License-Identifier: MIT
// --pcapng: the followed packets as a pcapng file, each with its stage times in a comment.
// Why a writer of our own: core/report/pcapng.h.
#include "core/report/pcapng.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <ostream>
#include <vector>

namespace tunlat {

namespace {

// Block types and option codes (draft-ietf-opsawg-pcapng, sections 4 and 3.5).
constexpr uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kEpb = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2, kIfDescription = 3, kIfTsresol = 9;
constexpr uint16_t kEpbFlags = 2, kEpbPacketId = 5;

// A block being built: its body, then written whole with its total length at both ends.
// The body's buffer is the writer's, kept from block to block: no allocation per packet.
class Block {
 public:
  Block(uint32_t type, std::vector<char>& body) : type_(type), body_(body) { body_.clear(); }
  void u16(uint16_t v) { raw(&v, 2); }  // host order: x86 and arm64 are little-endian,
  void u32(uint32_t v) { raw(&v, 4); }  // which the SHB's byte-order magic says
  void u64(uint64_t v) { raw(&v, 8); }
  void raw(const void* p, size_t n) {
    const auto* c = static_cast<const char*>(p);
    body_.insert(body_.end(), c, c + n);
  }
  void pad() { body_.resize((body_.size() + 3) & ~size_t{3}, 0); }
  void option(uint16_t code, const void* p, size_t n) {
    n = std::min<size_t>(n, 0xffff);
    u16(code);
    u16(static_cast<uint16_t>(n));
    raw(p, n);
    pad();
  }
  void option(uint16_t code, std::string_view s) { option(code, s.data(), s.size()); }
  void end_options() {
    u16(kOptEnd);
    u16(0);
  }
  void write(std::ostream& out) const {
    const auto total = static_cast<uint32_t>(body_.size() + 12);
    out.write(reinterpret_cast<const char*>(&type_), 4);
    out.write(reinterpret_cast<const char*>(&total), 4);
    out.write(body_.data(), static_cast<std::streamsize>(body_.size()));
    out.write(reinterpret_cast<const char*>(&total), 4);
  }

 private:
  uint32_t type_;
  std::vector<char>& body_;
};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the blocks are written in host order, little-endian");

// A name fit for a key=value comment: no spaces, '=' or control characters.
std::string safe_name(std::string_view s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) <= ' ' || c == '=' || c == 0x7f) ? '_' : c;
  return out.empty() ? "?" : out;
}

}  // namespace

PcapngWriter::PcapngWriter(std::ostream& out, std::string_view application) : out_(out) {
  Block b(kShb, body_);
  b.u32(0x1A2B3C4D);  // byte-order magic
  b.u16(1);           // version 1.0
  b.u16(0);
  b.u64(~uint64_t{0});  // section length: not given
  b.option(kShbUserAppl, application);
  b.end_options();
  b.write(out_);
}

uint32_t PcapngWriter::add_interface(const PcapngInterface& i) {
  Block b(kIdb, body_);
  b.u16(i.linktype);
  b.u16(0);
  b.u32(i.snaplen);
  b.option(kIfName, i.name);
  if (!i.description.empty()) b.option(kIfDescription, i.description);
  const uint8_t tsresol = 9;  // ns
  b.option(kIfTsresol, &tsresol, 1);
  b.end_options();
  b.write(out_);
  return interfaces_++;
}

void PcapngWriter::packet(uint32_t iface, uint64_t ts_ns, const uint8_t* data, uint32_t caplen,
                          uint32_t wirelen, uint32_t flags, uint64_t packet_id, std::string_view comment) {
  Block b(kEpb, body_);
  b.u32(iface);
  b.u32(static_cast<uint32_t>(ts_ns >> 32));
  b.u32(static_cast<uint32_t>(ts_ns));
  b.u32(caplen);
  b.u32(std::max(wirelen, caplen));
  if (caplen) b.raw(data, caplen);
  b.pad();
  b.option(kEpbFlags, &flags, 4);
  b.option(kEpbPacketId, &packet_id, 8);
  if (!comment.empty()) b.option(kOptComment, comment);
  b.end_options();
  b.write(out_);
}

namespace {

// Appends "26.4us", "5.70ms", "535ns", "1.20s": 3 significant digits.
void append_duration(fmt::memory_buffer& out, uint64_t ns) {
  if (ns < 1000) {
    fmt::format_to(std::back_inserter(out), "{}ns", ns);
    return;
  }
  const char* unit = "us";
  double v = ns / 1e3;
  if (ns >= 1'000'000'000) {
    unit = "s";
    v = ns / 1e9;
  } else if (ns >= 1'000'000) {
    unit = "ms";
    v = ns / 1e6;
  }
  // Rounding may carry into the next digit (999.6us): then one decimal fewer.
  fmt::format_to(std::back_inserter(out), "{:.{}f}{}", v, v < 9.995 ? 2 : v < 99.95 ? 1 : 0, unit);
}

void append_who(fmt::memory_buffer& out, const char* key, const std::array<char, TL_COMM_LEN>& comm,
                uint32_t pid) {
  fmt::format_to(std::back_inserter(out), " {}={}/{}", key, safe_name(comm_string(comm)), pid);
}

}  // namespace

std::string pcapng_duration(uint64_t ns) {
  fmt::memory_buffer out;
  append_duration(out, ns);
  return fmt::to_string(out);
}

std::string pcapng_comment(const Journey& j, const TraceInfo& info, const LocationName& location_name) {
  fmt::memory_buffer c;
  fmt::format_to(std::back_inserter(c), "tunlat dir={}", dir_name(j.dir));
  for (const SpanDef& sd : spans_of(j.dir, info.kind)) {
    const uint64_t from = j.ts[sd.from], to = span_end(j, sd);
    if (!from || !to || to < from) continue;
    fmt::format_to(std::back_inserter(c), " {}=", sd.name);
    append_duration(c, to - from);
  }
  if (j.pid) {
    const int at = j.dir == Dir::Tx ? TL_READ : TL_INJECT;
    append_who(c, j.dir == Dir::Tx ? "reader" : "writer", j.comm, j.pid);
    if (j.seen(at)) fmt::format_to(std::back_inserter(c), " cpu={}", j.cpu[at]);
  }
  if (j.recv_pid) append_who(c, "receiver", j.recv_comm, j.recv_pid);
  if (j.flags & TL_F_DROP)
    fmt::format_to(
        std::back_inserter(c), " drop={}@{}", safe_name(info.drop_reason_name(j.drop_reason)),
        safe_name(location_name ? location_name(j.drop_location) : info.location_name(j.drop_location)));
  return fmt::to_string(c);
}

PcapngOutput::PcapngOutput(std::ostream& out, const TraceInfo& info, uint32_t snaplen,
                           LocationName location_name)
    : writer_(out, "tunlat " + info.tunlat_version),
      info_(info),
      snaplen_(std::min(snaplen, kMaxPacketBytes)),
      location_name_(std::move(location_name)) {
  PcapngInterface i;
  i.name = info.dev_name;
  i.description =
      fmt::format("{} {} in netns {}", device_kind_name(info.kind), info.dev_name,
                  info.netns_name.empty() ? fmt::format("inode {}", info.netns_inode) : info.netns_name);
  i.linktype = carries_ethernet(info.kind) ? kLinktypeEthernet : kLinktypeRaw;
  i.snaplen = snaplen_;
  iface_ = writer_.add_interface(i);
}

void PcapngOutput::on_bytes(const PacketBytes& b) {
  const Key k{b.skb, b.gen, b.dir};
  auto it = pending_.find(k);
  if (it == pending_.end()) {
    if (b.offset != 0) return;  // the start of these bytes was lost
    while (pending_.size() >= kMaxPending && !order_.empty()) {
      pending_.erase(order_.front());
      order_.pop_front();
    }
    it = pending_.emplace(k, Bytes{}).first;
    order_.push_back(k);
    it->second.caplen = b.caplen;
    it->second.wirelen = b.wirelen;
  }
  Bytes& bytes = it->second;
  if (b.offset != bytes.have || b.caplen != bytes.caplen) return;  // a piece out of place
  std::copy_n(b.data.begin(), b.n, bytes.data.begin() + b.offset);
  bytes.have += b.n;
  // order_ may hold keys long gone: bounded by trimming it as the map is.
  if (order_.size() > 2 * kMaxPending) {
    std::deque<Key> kept;
    for (const Key& o : order_)
      if (pending_.count(o)) kept.push_back(o);
    order_.swap(kept);
  }
}

void PcapngOutput::on_packet(const Journey& j) {
  const Key k{j.skb, j.gen, static_cast<uint8_t>(j.dir)};
  const uint8_t* data = nullptr;
  uint32_t caplen = 0, wirelen = j.len;
  auto it = pending_.find(k);
  if (it != pending_.end()) {
    data = it->second.data.data();
    caplen = std::min(it->second.have, snaplen_);
    wirelen = it->second.wirelen;
  }
  const uint64_t first =
      j.dir == Dir::Tx ? (j.ts[TL_QUEUE] ? j.ts[TL_QUEUE] : j.ts[TL_XMIT]) : j.ts[TL_INJECT];
  const uint64_t ts = first + static_cast<uint64_t>(info_.clock_offset_ns);
  const uint32_t flags = j.dir == Dir::Tx ? kEpbOutbound : kEpbInbound;
  const uint64_t id = uint64_t{j.gen} << 32 | (j.skb >> 6 & 0xffffffffu);
  writer_.packet(iface_, ts, data, caplen, wirelen, flags, id, pcapng_comment(j, info_, location_name_));
  packets_++;
  if (caplen) with_bytes_++;
  if (it != pending_.end()) pending_.erase(it);
}

}  // namespace tunlat

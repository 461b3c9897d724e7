// Recording files: writer (one background thread) and a bounded, strict reader. See docs/recording.md.
#include "core/record/recording.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <limits>

#include "core/report/summary.h"  // Json

namespace tunlat {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "recordings store tl_event records as is: little-endian hosts only");

namespace {

constexpr char kMagic[8] = {'T', 'U', 'N', 'L', 'A', 'T', 'R', '\0'};
constexpr size_t kPreambleLen = 12;  // magic + u32 version
constexpr size_t kChunkHeaderLen = 16;
constexpr uint32_t kMaxChunkLen = 4u << 20;  // payload_len and raw_len; larger is corrupt
constexpr size_t kMaxChunkEvents = kMaxChunkLen / sizeof(Event);
constexpr int kMaxJsonDepth = 8;

enum ChunkType : uint32_t { kHeader = 1, kEvents = 2, kTrailer = 3 };

const char* type_name(uint32_t t) {
  switch (t) {
    case kHeader: return "header";
    case kEvents: return "events";
    case kTrailer: return "trailer";
    default: return "unknown";
  }
}

void put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint32_t get32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint32_t crc(const void* p, size_t n) {
  return static_cast<uint32_t>(
      ::crc32(::crc32(0L, Z_NULL, 0), static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

std::string errno_text() { return std::strerror(errno); }

// --- JSON of TraceInfo -----------------------------------------------------------------------

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

Json owners_json(const std::vector<Owner>& owners) {
  Json a = Json::array();
  for (auto& o : owners) a.push_back({{"pid", o.pid}, {"comm", o.comm}});
  return a;
}

Json symbols_json(const std::map<uint64_t, std::string>& symbols) {
  Json s = Json::object();
  for (auto& [addr, name] : symbols) s[hex(addr)] = name;
  return s;
}

Json header_json(const TraceInfo& i) {
  Json drops = Json::object();
  for (auto& [code, name] : i.drop_reasons) drops[std::to_string(code)] = name;
  return Json{{"tunlat_version", i.tunlat_version},
              {"kernel", i.kernel},
              {"dev_name", i.dev_name},
              {"ifindex", i.ifindex},
              {"netns_name", i.netns_name},
              {"netns_inode", i.netns_inode},
              {"kind", i.kind},
              {"owners", owners_json(i.owners)},
              {"clock_offset_ns", i.clock_offset_ns},
              {"start_ns", i.start_ns},
              {"end_ns", i.end_ns},
              {"events_lost", i.events_lost},
              {"sample", i.sample},
              {"drop_reasons", drops},
              {"symbols", symbols_json(i.symbols)}};
}

Json trailer_json(const TraceInfo& i) {
  return Json{{"end_ns", i.end_ns}, {"events_lost", i.events_lost}, {"symbols", symbols_json(i.symbols)}};
}

// Strings come from the kernel (comm): never let invalid UTF-8 make dump() throw.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const Json* field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
void get(const Json& j, const char* key, std::string& out) {
  if (auto* v = field(j, key)) {
    if (!v->is_string()) throw Malformed(std::string(key) + " is not a string");
    out = v->get<std::string>();
  }
}
void get(const Json& j, const char* key, uint64_t& out, uint64_t max = UINT64_MAX) {
  if (auto* v = field(j, key)) {
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max)
      throw Malformed(std::string(key) + " is not an unsigned integer in range");
    out = v->get<uint64_t>();
  }
}
void get(const Json& j, const char* key, uint32_t& out) {
  uint64_t v = out;
  get(j, key, v, UINT32_MAX);
  out = static_cast<uint32_t>(v);
}
void get(const Json& j, const char* key, int64_t& out) {
  if (auto* v = field(j, key)) {
    if (v->is_number_unsigned() ? v->get<uint64_t>() > uint64_t(INT64_MAX) : !v->is_number_integer())
      throw Malformed(std::string(key) + " is not an integer in range");
    out = v->get<int64_t>();
  }
}

const Json* object_field(const Json& j, const char* key) {
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

void get_symbols(const Json& j, std::map<uint64_t, std::string>& out) {
  auto* s = object_field(j, "symbols");
  if (!s) return;
  for (auto& [k, v] : s->items()) {
    uint64_t addr;
    if (!parse_address(k, addr) || !v.is_string()) throw Malformed("bad symbols entry");
    out[addr] = v.get<std::string>();
  }
}

void parse_header(const Json& j, TraceInfo& i) {
  if (!j.is_object()) throw Malformed("not an object");
  get(j, "tunlat_version", i.tunlat_version);
  get(j, "kernel", i.kernel);
  get(j, "dev_name", i.dev_name);
  get(j, "ifindex", i.ifindex);
  get(j, "netns_name", i.netns_name);
  get(j, "netns_inode", i.netns_inode);
  get(j, "kind", i.kind);
  if (auto* o = field(j, "owners")) {
    if (!o->is_array()) throw Malformed("owners is not an array");
    for (auto& e : *o) {
      if (!e.is_object()) throw Malformed("an owner is not an object");
      Owner ow;
      get(e, "pid", ow.pid);
      get(e, "comm", ow.comm);
      i.owners.push_back(std::move(ow));
    }
  }
  get(j, "clock_offset_ns", i.clock_offset_ns);
  get(j, "start_ns", i.start_ns);
  get(j, "end_ns", i.end_ns);
  get(j, "events_lost", i.events_lost);
  get(j, "sample", i.sample);
  if (i.sample == 0) throw Malformed("sample is 0");
  if (auto* d = object_field(j, "drop_reasons")) {
    for (auto& [k, v] : d->items()) {
      int32_t code;
      if (!parse_i32(k, code) || !v.is_string()) throw Malformed("bad drop_reasons entry");
      i.drop_reasons[code] = v.get<std::string>();
    }
  }
  get_symbols(j, i.symbols);
}

void parse_trailer(const Json& j, TraceInfo& i) {
  if (!j.is_object()) throw Malformed("not an object");
  get(j, "end_ns", i.end_ns);
  get(j, "events_lost", i.events_lost);
  get_symbols(j, i.symbols);
}

Json parse_json(const std::vector<char>& raw) {
  // Depth is capped so hostile nesting cannot exhaust the stack or memory.
  Json::parser_callback_t limit = [](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) throw Malformed("nested too deeply");
    return true;
  };
  try {
    return Json::parse(raw.begin(), raw.end(), limit);
  } catch (const Json::exception& e) {
    std::string m = e.what();  // one short line whatever the input
    for (char& c : m)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    throw Malformed(m.size() > 160 ? m.substr(0, 160) + "..." : m);
  }
}

}  // namespace

// --- Writer ----------------------------------------------------------------------------------

RecordingWriter::RecordingWriter(const std::string& path, const TraceInfo& info, const RecordingOptions& o)
    : path_(path),
      chunk_events_(std::clamp<size_t>(o.chunk_events, 1, kMaxChunkEvents)),
      level_(o.zstd_level),
      depth_(std::max<size_t>(o.queue_depth, 1)) {
  std::string head = dump(header_json(info));
  if (head.size() > kMaxChunkLen) throw RecordingError("recording header too large");
  if (level_ > 0 && !(cctx_ = ZSTD_createCCtx())) throw RecordingError("out of memory (zstd)");
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) {
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
    throw RecordingError("cannot create " + path + ": " + errno_text());
  }
  try {
    unsigned char pre[kPreambleLen];
    std::memcpy(pre, kMagic, sizeof kMagic);
    put32(pre + 8, kRecordingVersion);
    if (std::fwrite(pre, 1, sizeof pre, f_) != sizeof pre)
      throw RecordingError("cannot write " + path + ": " + errno_text());
    bytes_ += sizeof pre;
    write_chunk(kHeader, head.data(), head.size(), 0);  // JSON stays readable with `strings`
    if (std::fflush(f_) != 0) throw RecordingError("cannot write " + path + ": " + errno_text());
  } catch (...) {
    std::fclose(f_);
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
    throw;
  }
  cur_.reserve(chunk_events_);
  thread_ = std::thread([this] { run(); });
}

RecordingWriter::~RecordingWriter() {
  if (!finished_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!cur_.empty() && !failed_) queue_.push_back(std::move(cur_));
    }
    stop_thread();
    close_file();
  }
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
}

void RecordingWriter::hand_off() {
  if (finished_) throw RecordingError("recording " + path_ + " already finished");
  std::unique_lock<std::mutex> l(mu_);
  if (failed_) throw RecordingError(error_);
  space_.wait(l, [this] { return queue_.size() < depth_ || failed_; });
  if (failed_) throw RecordingError(error_);
  queue_.push_back(std::move(cur_));
  if (!spare_.empty()) {
    cur_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    cur_ = std::vector<Event>();
  }
  cv_.notify_one();
  l.unlock();
  cur_.clear();
  cur_.reserve(chunk_events_);
}

void RecordingWriter::run() {
  for (;;) {
    std::vector<Event> buf;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stop_ and drained
      buf = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!failed_) {
      try {
        write_chunk(kEvents, buf.data(), buf.size() * sizeof(Event), level_);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> l(mu_);
        error_ = e.what();
        failed_ = true;
      }
    }
    buf.clear();
    std::lock_guard<std::mutex> l(mu_);
    spare_.push_back(std::move(buf));
    space_.notify_one();
  }
}

void RecordingWriter::write_chunk(uint32_t type, const void* raw, size_t raw_len, int level) {
  const void* payload = raw;
  size_t len = raw_len;
  if (level > 0 && raw_len > 0) {
    zbuf_.resize(ZSTD_compressBound(raw_len));
    size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), zbuf_.data(), zbuf_.size(), raw,
                                 raw_len, level);
    if (!ZSTD_isError(n) && n < raw_len) payload = zbuf_.data(), len = n;  // else stored as is
  }
  unsigned char h[kChunkHeaderLen];
  put32(h, type);
  put32(h + 4, static_cast<uint32_t>(len));
  put32(h + 8, static_cast<uint32_t>(raw_len));
  put32(h + 12, crc(payload, len));
  if (std::fwrite(h, 1, sizeof h, f_) != sizeof h || std::fwrite(payload, 1, len, f_) != len)
    throw RecordingError("cannot write " + path_ + ": " + errno_text());
  bytes_ += sizeof h + len;
}

void RecordingWriter::stop_thread() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RecordingWriter::close_file() {
  if (f_) std::fclose(f_);
  f_ = nullptr;
}

void RecordingWriter::finish(const TraceInfo& final_info) {
  if (finished_) throw RecordingError("recording " + path_ + " already finished");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!cur_.empty() && !failed_) queue_.push_back(std::move(cur_));
  }
  stop_thread();
  finished_ = true;
  chunk_events_ = 0;  // any further write() lands in hand_off(), which throws
  cur_ = std::vector<Event>();
  std::string err = error_;
  if (err.empty()) {
    try {
      std::string t = dump(trailer_json(final_info));
      if (t.size() > kMaxChunkLen) throw RecordingError("recording trailer too large");
      write_chunk(kTrailer, t.data(), t.size(), 0);
    } catch (const RecordingError& e) {
      err = e.what();
    }
  }
  if (std::fflush(f_) != 0 && err.empty()) err = "cannot write " + path_ + ": " + errno_text();
  if (std::fclose(f_) != 0 && err.empty()) err = "cannot write " + path_ + ": " + errno_text();
  f_ = nullptr;
  if (!err.empty()) throw RecordingError(err);
}

// --- Reader ----------------------------------------------------------------------------------

namespace {

class Source {
 public:
  explicit Source(std::istream& in) : in_(in) {}

  // Reads up to n bytes, replacing out; returns how many were there. The buffer grows with the
  // data actually present, never with the claimed length alone.
  size_t read(std::vector<char>& out, size_t n) {
    constexpr size_t kStep = 256 << 10;
    out.clear();
    while (out.size() < n) {
      size_t want = std::min(kStep, n - out.size()), at = out.size();
      out.resize(at + want);
      in_.read(out.data() + at, static_cast<std::streamsize>(want));
      size_t got = static_cast<size_t>(in_.gcount());
      out.resize(at + got);
      offset_ += got;
      if (in_.bad()) throw RecordingError("read error at byte " + std::to_string(offset_));
      if (got < want) break;
    }
    return out.size();
  }
  uint64_t offset() const { return offset_; }

 private:
  std::istream& in_;
  uint64_t offset_ = 0;
};

struct Dctx {
  ZSTD_DCtx* p = ZSTD_createDCtx();
  Dctx() {
    if (!p) throw RecordingError("out of memory (zstd)");
    ZSTD_DCtx_setParameter(p, ZSTD_d_windowLogMax, 23);
  }
  ~Dctx() { ZSTD_freeDCtx(p); }
};

}  // namespace

ReadResult read_recording(std::istream& in, const std::function<void(const Event&)>& sink) {
  Source src(in);
  std::vector<char> buf, raw;

  if (src.read(buf, kPreambleLen) == 0) throw RecordingError("empty file: not a tunlat recording");
  if (buf.size() < sizeof kMagic || std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0)
    throw RecordingError("not a tunlat recording (bad magic)");
  if (buf.size() < kPreambleLen)
    throw RecordingError("truncated recording: it ends before its header (nothing to analyse)");
  uint32_t version = get32(reinterpret_cast<const unsigned char*>(buf.data()) + 8);
  if (version != kRecordingVersion)
    throw RecordingError("unsupported recording format version " + std::to_string(version) +
                         " (this tunlat reads version " + std::to_string(kRecordingVersion) + ")");

  ReadResult r;
  Dctx dctx;
  bool have_header = false, have_trailer = false;
  uint64_t max_ts = 0, partial = 0;
  for (int n = 1;; n++) {
    uint64_t at = src.offset();
    size_t got = src.read(buf, kChunkHeaderLen);
    if (have_trailer) {
      if (got) throw RecordingError("corrupt recording: unexpected data after the trailer at byte " + std::to_string(at));
      break;
    }
    if (got < kChunkHeaderLen) {
      partial = got;
      break;
    }
    auto* h = reinterpret_cast<const unsigned char*>(buf.data());
    uint32_t type = get32(h), plen = get32(h + 4), rlen = get32(h + 8), sum = get32(h + 12);
    auto corrupt = [&](const std::string& why) {
      return RecordingError("corrupt recording: chunk " + std::to_string(n) + " (" + type_name(type) +
                            ") at byte " + std::to_string(at) + ": " + why);
    };
    if (type != kHeader && type != kEvents && type != kTrailer)
      throw corrupt("unknown chunk type " + std::to_string(type));
    if (plen > kMaxChunkLen || rlen > kMaxChunkLen || plen > rlen)
      throw corrupt("impossible length (stored " + std::to_string(plen) + ", raw " + std::to_string(rlen) + ")");
    if (type == kEvents && rlen % sizeof(Event) != 0)
      throw corrupt("length " + std::to_string(rlen) + " is not a whole number of events");
    if ((type == kHeader) != !have_header)
      throw corrupt(have_header ? "a second header" : "the recording does not start with its header");

    got = src.read(buf, plen);
    if (got < plen) {
      partial = kChunkHeaderLen + got;
      break;
    }
    if (crc(buf.data(), buf.size()) != sum) throw corrupt("checksum mismatch");
    const std::vector<char>* data = &buf;
    if (plen < rlen) {  // zstd frame
      unsigned long long size = ZSTD_getFrameContentSize(buf.data(), buf.size());
      if (size != rlen) throw corrupt("bad compressed frame");
      raw.resize(rlen);
      size_t out = ZSTD_decompressDCtx(dctx.p, raw.data(), raw.size(), buf.data(), buf.size());
      if (ZSTD_isError(out)) throw corrupt(std::string("decompression failed: ") + ZSTD_getErrorName(out));
      if (out != rlen) throw corrupt("decompressed length differs");
      data = &raw;
    }

    if (type == kEvents) {
      for (size_t off = 0; off < data->size(); off += sizeof(Event)) {
        Event e;
        std::memcpy(&e, data->data() + off, sizeof e);
        max_ts = std::max<uint64_t>(max_ts, e.ts_ns);
        r.events++;
        sink(e);
      }
      continue;
    }
    try {
      Json j = parse_json(*data);
      if (type == kHeader) {
        parse_header(j, r.info);
        have_header = true;
      } else {
        parse_trailer(j, r.info);
        have_trailer = true;
      }
    } catch (const Malformed& e) {
      throw corrupt(std::string("malformed ") + type_name(type) + " JSON: " + e.what());
    }
  }

  if (!have_header)
    throw RecordingError("truncated recording: it ends inside its header (nothing to analyse)");
  if (!have_trailer) {
    r.truncated = true;
    r.info.end_ns = std::max(r.info.start_ns, max_ts);
    r.warning = "truncated recording: ";
    if (partial)
      r.warning += "last " + std::to_string(partial) + " bytes (an incomplete chunk) ignored; ";
    r.warning += "trailer missing, end time taken from the last event";
  }
  return r;
}

ReadResult read_recording_file(const std::string& path, const std::function<void(const Event&)>& sink) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError("cannot open " + path + ": " + errno_text());
  try {
    return read_recording(in, sink);
  } catch (const RecordingError& e) {
    throw RecordingError(path + ": " + e.what());
  }
}

}  // namespace tunlat

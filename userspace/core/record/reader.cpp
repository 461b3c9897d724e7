// SPDX-License-Identifier: MIT
// Reads recordings strictly and in bounded memory: a chunk is verified before any of its
// events is passed on; a truncated file is read up to its last whole chunk.
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>

#include "core/record/chunk.h"
#include "core/record/info_json.h"
#include "core/record/recording.h"
#include "core/record/upgrade.h"

namespace tunlat {

using namespace chunk;

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

// Checks the magic and the format version; returns the version.
uint32_t read_preamble(Source& src, std::vector<char>& buf) {
  if (src.read(buf, kPreambleLen) == 0) throw RecordingError("empty file: not a tunlat recording");
  if (buf.size() < sizeof kMagic || std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0)
    throw RecordingError("not a tunlat recording (bad magic)");
  if (buf.size() < kPreambleLen)
    throw RecordingError("truncated recording: it ends before its header (nothing to analyse)");
  uint32_t version = get32(reinterpret_cast<const unsigned char*>(buf.data()) + 8);
  // A newer file may mean something else by the same bytes: refuse it rather than guess.
  if (version < kOldestRecordingVersion || version > kRecordingVersion)
    throw RecordingError("unsupported recording format version " + std::to_string(version) +
                         " (this tunlat reads versions " + std::to_string(kOldestRecordingVersion) + " to " +
                         std::to_string(kRecordingVersion) + ")");
  return version;
}

// One chunk after another, each checked whole (lengths, order, checksum, decompression).
class ChunkReader {
 public:
  explicit ChunkReader(Source& src) : src_(src) {}

  struct Chunk {
    uint32_t type;
    const std::vector<char>* data;  // the raw (decompressed) payload
  };

  // The next whole chunk; false at the end of the data, with partial() bytes of an
  // incomplete chunk left over. Throws RecordingError for a corrupt one.
  bool next(Chunk& c) {
    n_++;
    at_ = src_.offset();
    size_t got = src_.read(buf_, kChunkHeaderLen);
    if (got < kChunkHeaderLen) {
      partial_ = got;
      return false;
    }
    auto* h = reinterpret_cast<const unsigned char*>(buf_.data());
    type_ = get32(h);
    uint32_t plen = get32(h + 4), rlen = get32(h + 8), sum = get32(h + 12);
    if (type_ != kHeader && type_ != kEvents && type_ != kTrailer)
      throw corrupt("unknown chunk type " + std::to_string(type_));
    if (plen > kMaxChunkLen || rlen > kMaxChunkLen || plen > rlen)
      throw corrupt("impossible length (stored " + std::to_string(plen) + ", raw " + std::to_string(rlen) +
                    ")");
    if (type_ == kEvents && rlen % sizeof(Event) != 0)
      throw corrupt("length " + std::to_string(rlen) + " is not a whole number of events");
    if ((type_ == kHeader) != (n_ == 1))
      throw corrupt(n_ > 1 ? "a second header" : "the recording does not start with its header");
    got = src_.read(buf_, plen);
    if (got < plen) {
      partial_ = kChunkHeaderLen + got;
      return false;
    }
    if (crc(buf_.data(), buf_.size()) != sum) throw corrupt("checksum mismatch");
    c = Chunk{type_, plen < rlen ? &decompress(rlen) : &buf_};
    return true;
  }

  // Anything after the trailer is corrupt.
  void expect_end() {
    uint64_t at = src_.offset();
    if (src_.read(buf_, 1))
      throw RecordingError("corrupt recording: unexpected data after the trailer at byte " +
                           std::to_string(at));
  }

  RecordingError corrupt(const std::string& why) const {
    return RecordingError("corrupt recording: chunk " + std::to_string(n_) + " (" + type_name(type_) +
                          ") at byte " + std::to_string(at_) + ": " + why);
  }
  uint64_t partial() const { return partial_; }

 private:
  const std::vector<char>& decompress(uint32_t rlen) {
    unsigned long long size = ZSTD_getFrameContentSize(buf_.data(), buf_.size());
    if (size != rlen) throw corrupt("bad compressed frame");
    raw_.resize(rlen);
    size_t out = ZSTD_decompressDCtx(dctx_.p, raw_.data(), raw_.size(), buf_.data(), buf_.size());
    if (ZSTD_isError(out)) throw corrupt(std::string("decompression failed: ") + ZSTD_getErrorName(out));
    if (out != rlen) throw corrupt("decompressed length differs");
    return raw_;
  }

  Source& src_;
  Dctx dctx_;
  std::vector<char> buf_, raw_;
  int n_ = 0;        // chunks begun, 1-based
  uint64_t at_ = 0;  // where the current one starts
  uint32_t type_ = 0;
  uint64_t partial_ = 0;
};

}  // namespace

ReadResult read_recording(std::istream& in, const EventSink& sink, const HeaderSink& on_header) {
  Source src(in);
  std::vector<char> buf;
  const uint32_t version = read_preamble(src, buf);

  ReadResult r;
  r.version = version;
  Upgrade upgrade(version, sink);
  const EventSink& to = upgrade.none() ? sink : upgrade.entry();
  ChunkReader chunks(src);
  bool have_header = false, have_trailer = false;
  uint64_t max_ts = 0;
  ChunkReader::Chunk c;
  while (!have_trailer && chunks.next(c)) {
    if (c.type == kEvents) {
      for (size_t off = 0; off < c.data->size(); off += sizeof(Event)) {
        Event e;
        std::memcpy(&e, c.data->data() + off, sizeof e);
        max_ts = std::max<uint64_t>(max_ts, e.ts_ns);
        r.events++;
        to(e);
      }
      continue;
    }
    try {
      if (c.type == kHeader) {
        parse_info_header(*c.data, r.info), have_header = true;
        if (on_header) on_header(r.info);
      } else
        parse_info_trailer(*c.data, r.info), have_trailer = true;
    } catch (const Malformed& e) {
      throw chunks.corrupt(std::string("malformed ") + type_name(c.type) + " JSON: " + e.what());
    }
  }
  if (have_trailer) chunks.expect_end();

  if (!have_header)
    throw RecordingError("truncated recording: it ends inside its header (nothing to analyse)");
  if (!have_trailer) {
    r.truncated = true;
    r.info.end_ns = std::max(r.info.start_ns, max_ts);
    r.warning = "truncated recording: ";
    if (chunks.partial())
      r.warning += "last " + std::to_string(chunks.partial()) + " bytes (an incomplete chunk) ignored; ";
    r.warning += "trailer missing, end time taken from the last event";
  }
  return r;
}

ReadResult read_recording_file(const std::string& path, const EventSink& sink, const HeaderSink& on_header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError("cannot open " + path + ": " + std::strerror(errno));
  try {
    return read_recording(in, sink, on_header);
  } catch (const RecordingError& e) {
    throw RecordingError(path + ": " + e.what());
  }
}

}  // namespace tunlat

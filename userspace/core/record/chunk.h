// SPDX-License-Identifier: MIT
// The recording's byte layout, shared by its writer and reader (docs/recording.md).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>

#include "core/model/event.h"

namespace tunlat::chunk {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "recordings store events as they are: little-endian hosts only");

inline constexpr char kMagic[8] = {'T', 'U', 'N', 'L', 'A', 'T', 'R', '\0'};
inline constexpr size_t kPreambleLen = 12;  // magic + u32 version
inline constexpr size_t kChunkHeaderLen = 16;
inline constexpr uint32_t kMaxChunkLen = 4u << 20;  // payload_len and raw_len; larger is corrupt
inline constexpr size_t kMaxChunkEvents = kMaxChunkLen / sizeof(Event);
inline constexpr int kMaxJsonDepth = 8;

enum ChunkType : uint32_t { kHeader = 1, kEvents = 2, kTrailer = 3 };

inline const char* type_name(uint32_t t) {
  switch (t) {
    case kHeader:
      return "header";
    case kEvents:
      return "events";
    case kTrailer:
      return "trailer";
    default:
      return "unknown";
  }
}

inline void put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline uint32_t get32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

inline uint32_t crc(const void* p, size_t n) {
  return static_cast<uint32_t>(
      ::crc32(::crc32(0L, Z_NULL, 0), static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

}  // namespace tunlat::chunk

// SPDX-License-Identifier: MIT
// The pcap filter as tunlat takes it: compiled by libpcap, refused with libpcap's own
// message, and translated into BPF instructions that fit the programs' region. Whether
// the translation judges packets as libpcap does is checked where it runs, in the kernel
// (tests/kernel/filter_region_test.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/filter/cbpf_translate.h"
#include "core/filter/pcap_filter.h"
#include "filter_cases.h"

namespace tunlat {
namespace {

using namespace filter_cases;

constexpr uint8_t kJmp = 0x05, kJmp32 = 0x06;

// Every expression, for both link types: exactly the region's length, every jump inside
// it or to the instruction right after, the machine's and the packet's registers never
// written, the packet's bytes loaded through the packet's (the machine holds only the
// lengths and scratch words then: the bytes may lie elsewhere), and the verdict set on
// the way out.
TEST(Filter, EveryExpressionTranslatesIntoTheRegion) {
  int translated = 0;
  for (bool ether : {true, false}) {
    for (const std::string& expr : kExpressions) {
      std::vector<tl_cbpf_insn> prog;
      std::string err;
      if (!compile_filter(expr, ether, prog, err)) {
        EXPECT_FALSE(ether) << expr << ": " << err;  // only link-layer expressions fail on a tun
        continue;
      }
      std::vector<EbpfInsn> code;
      ASSERT_TRUE(translate_filter(prog, FilterRegs{8, 6, 9}, TL_FILTER_REGION, code, err))
          << expr << ": " << err;
      ASSERT_EQ(code.size(), size_t{TL_FILTER_REGION}) << expr;
      bool sets_verdict = false;
      for (size_t i = 0; i < code.size(); i++) {
        const EbpfInsn& in = code[i];
        const uint8_t cls = in.code & 0x07, dst = in.regs & 0xf;
        if (cls == kJmp || cls == kJmp32) {
          const int64_t to = static_cast<int64_t>(i) + 1 + in.off;
          EXPECT_GT(to, static_cast<int64_t>(i)) << expr << ": a jump backwards at " << i;
          EXPECT_LE(to, static_cast<int64_t>(code.size())) << expr << ": a jump out of the region at " << i;
        }
        const bool writes = cls == 0x04 || cls == 0x07 || cls == 0x01 || cls == 0x00;  // ALU, ALU64, LDX, LD
        EXPECT_FALSE(writes && dst == 8) << expr << ": the machine's register written at " << i;
        EXPECT_FALSE(writes && dst == 9) << expr << ": the packet's register written at " << i;
        const uint8_t src = in.regs >> 4;
        if (in.code == (0x01 | 0x60 | 0x00) || in.code == (0x01 | 0x60 | 0x08) ||
            in.code == (0x01 | 0x60 | 0x10)) {
          EXPECT_FALSE(src == 8 && in.off < static_cast<int16_t>(offsetof(tl_cbpf, caplen)))
              << expr << ": packet bytes loaded from the machine's copy at " << i;
        }
        sets_verdict |= writes && dst == 6;
      }
      EXPECT_TRUE(sets_verdict) << expr;
      translated++;
    }
  }
  EXPECT_GE(translated, 2 * 30);
}

TEST(Filter, NonsenseGetsLibpcapsMessage) {
  std::vector<tl_cbpf_insn> prog;
  std::string err;
  EXPECT_FALSE(compile_filter("tcp prot 5201", true, prog, err));
  EXPECT_NE(err.find("syntax error"), std::string::npos) << err;
  EXPECT_FALSE(compile_filter("ether host 02:00:00:00:00:01", false, prog, err));  // no link layer on a tun
  EXPECT_FALSE(err.empty());
}

TEST(Filter, TooLongOrLinuxOnlyIsRefused) {
  std::vector<tl_cbpf_insn> prog;
  std::string err, many = "port 1";
  for (int i = 2; i < 40; i++) many += " or port " + std::to_string(i);
  EXPECT_FALSE(compile_filter(many, true, prog, err));
  EXPECT_NE(err.find("instructions"), std::string::npos) << err;
}

// A region too small is said, not overrun; registers outside r6-r9 are refused.
TEST(Filter, TranslationThatDoesNotFitIsRefused) {
  std::vector<tl_cbpf_insn> prog;
  std::string err;
  ASSERT_TRUE(compile_filter("tcp port 5201", true, prog, err)) << err;
  std::vector<EbpfInsn> code;
  EXPECT_FALSE(translate_filter(prog, FilterRegs{6, 7, 6}, 10, code, err));
  EXPECT_NE(err.find("instructions"), std::string::npos) << err;
  EXPECT_FALSE(translate_filter(prog, FilterRegs{1, 7, 6}, TL_FILTER_REGION, code, err));
  EXPECT_FALSE(translate_filter(prog, FilterRegs{6, 7, 7}, TL_FILTER_REGION, code, err));  // packet = verdict
}

}  // namespace
}  // namespace tunlat

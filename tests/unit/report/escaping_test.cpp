// SPDX-License-Identifier: MIT
// Strings from the system or a file reach a terminal escaped (issue 19, case 2).
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "core/format/format.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

// The sender's name from the issue: sets the title, clears the screen, forges a line.
const std::string kHostile = "\x1b]0;OWNED\a\x1b[2J\nFAKE";

// Nothing a terminal acts on: no byte below 0x20 but the report's own newlines, no DEL.
void expect_inert(const std::string& text) {
  for (char c : text) {
    unsigned char b = static_cast<unsigned char>(c);
    ASSERT_TRUE(b == '\n' || (b >= 0x20 && b != 0x7f)) << "raw byte " << int(b) << " in:\n" << text;
  }
  EXPECT_EQ(text.find("\nFAKE"), std::string::npos) << "a forged line:\n" << text;
}

}  // namespace

TEST(TermSafe, ShowsControlCharactersEscaped) {
  EXPECT_EQ(term_safe("openvpn"), "openvpn");
  EXPECT_EQ(term_safe(kHostile), "\\e]0;OWNED\\x07\\e[2J\\nFAKE");
  EXPECT_EQ(term_safe("a\tb\rc\x7f"
                      "d"),
            "a\\tb\\rc\\x7fd");
  EXPECT_EQ(term_safe("back\\slash"), "back\\\\slash");  // an escape seen is an escape made
  EXPECT_EQ(term_safe(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(TermSafe, KeepsUtf8AndEscapesWhatIsNot) {
  EXPECT_EQ(term_safe("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x90\x8d"),
            "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x90\x8d");
  EXPECT_EQ(term_safe("\x9b"
                      "31m"),
            "\\x9b31m");  // a raw 8-bit CSI
  EXPECT_EQ(term_safe("\xc2\x9b"
                      "31m"),
            "\\u009b31m");  // CSI as a UTF-8 C1 control
  EXPECT_EQ(term_safe("abc\xe2\x80\xae"
                      "cba"),
            "abc\\u202ecba");                               // right-to-left override
  EXPECT_EQ(term_safe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(term_safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(term_safe("cut\xe2\x80"), "cut\\xe2\\x80");     // comm cut inside a character
}

// A recording whose header and events carry hostile strings: its text report is inert and
// shows each of them escaped.
TEST(TermSafe, HostileRecordingIsEscapedInTheTextReport) {
  TraceInfo info = sample_trace_info();
  info.dev_name =
      "tap\x1b[2J"
      "0";
  info.kernel = "6.18\n FAKE: 0 drops";
  info.tunlat_version = "0.1\x1b]0;t\a";
  info.netns_name = "ns\x1b[1A";
  info.owners = {{4252, kHostile, {}}};
  info.drop_reasons[5] = "SKB_DROP_REASON_\x1b[31mRED";
  info.symbols = {{0xffffffff81000010ull, "tun_\x1b[Kxmit"}};
  info.start_ns = 1000;
  info.end_ns = 2'000'000'000;
  const std::string path = ::testing::TempDir() + "hostile.tlrec";
  {
    RecordingWriter w(path, info);
    for (int i = 0; i < 20; i++)
      for (const Event& e : tx_packet(1000 + 50 * i, 0x100 + i, i + 1, 2, 10, 4252, "\x1b[2J\nFAKE"))
        w.write(e);
    Ev drop{3000, 0x9999, 500, TL_QUEUE};
    Ev freed{3001, 0x9999, 500, TL_FREE, Dir::Tx, 0, 77, "\x1b]0;x\a", TL_F_DROP, 5};
    Event d = freed;
    d.aux = 0xffffffff81000010ull;
    w.write(drop);
    w.write(d);
    w.finish(info);
  }
  V1Pipeline p;
  ReadResult r = read_recording_file(path, [&](const Event& e) { p.push(e); });
  p.flush();
  std::remove(path.c_str());
  std::ostringstream out;
  render_report(out, summarized(r.info, p));
  const std::string text = out.str();
  expect_inert(text);
  for (const char* shown : {"tap\\e[2J0", "6.18\\n FAKE: 0 drops", "0.1\\e]0;t\\x07", "ns\\e[1A",
                            "\\e]0;OWNED\\x07\\e[2J\\nFAKE (pid 4252)", "\\e[2J\\nFAKE (pid 4252)",
                            "\\e[31mRED", "tun_\\e[Kxmit", "\\e]0;x\\x07 pid 77"})
    EXPECT_NE(text.find(shown), std::string::npos) << shown << " not in:\n" << text;
}

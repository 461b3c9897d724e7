// SPDX-License-Identifier: MIT
// unpack_record: a ring record from the kernel becomes the point events it stands for.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/ingest/record_unpack.h"

using namespace tunlat;

namespace {

// A TX slot that passed queue (t0), xmit (+3 us) and read (+40 us), queued on CPU 0 and
// read on CPU 1 by pid 77, ending at its free.
tl_record tx_record() {
  tl_record r{};
  r.slot.skb = 0xffff888012345600;
  r.slot.t0 = 1'000'000;
  r.slot.gen = 42;
  r.slot.len = 1514;
  r.slot.pid = 77;
  r.slot.tid = 78;
  r.slot.dt[0] = 0;
  r.slot.dt[3] = 3'000;
  r.slot.dt[4] = 40'000;
  r.slot.cpu[4] = 1;
  r.slot.unsent = 1 | 8 | 16;
  r.slot.start_flags = TL_F_FIRST | TL_F_GSO;
  r.end.point = TL_FREE;
  r.end.ts_ns = 1'050'000;
  r.end.cpu = 1;
  std::memset(r.end.comm, 'x', sizeof(r.end.comm));  // stale bytes of an earlier record
  return r;
}

}  // namespace

TEST(RecordUnpack, TxRecordBecomesItsStagesThenItsEnd) {
  std::vector<Event> out;
  unpack_record(tx_record(), out);
  ASSERT_EQ(out.size(), 4u);
  const int points[] = {TL_QUEUE, TL_XMIT, TL_READ, TL_FREE};
  const uint64_t ts[] = {1'000'000, 1'003'000, 1'040'000, 1'050'000};
  for (size_t i = 0; i < out.size(); i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].point, points[i]);
    EXPECT_EQ(out[i].ts_ns, ts[i]);
    EXPECT_EQ(out[i].skb, 0xffff888012345600u);
    EXPECT_EQ(out[i].gen, 42u);
    EXPECT_EQ(out[i].dir, TL_TX);
    EXPECT_EQ(out[i].comm[0], '\0');
  }
  // Only the first event carries the packet's start; only the read names the reader.
  EXPECT_EQ(out[0].flags, TL_F_FIRST | TL_F_GSO);
  EXPECT_EQ(out[0].len, 1514u);
  EXPECT_EQ(out[1].flags, 0);
  EXPECT_EQ(out[1].len, 0u);
  EXPECT_EQ(out[0].pid, 0u);
  EXPECT_EQ(out[2].pid, 77u);
  EXPECT_EQ(out[2].tid, 78u);
  EXPECT_EQ(out[2].cpu, 1);
  EXPECT_EQ(out[3].pid, 0u);
}

// As the kernel sends a TX packet handed to the device: queue and xmit, the task that
// queued it in the slot's pid (bpf/send.bpf.h mark_sender). The queue names the sender.
TEST(RecordUnpack, TxQueueNamesTheTaskThatSentIt) {
  tl_record r = tx_record();
  r.slot.unsent = 1 | 8;
  r.slot.pid = 901;
  r.slot.tid = 902;
  r.end.point = TL_POINT_COUNT;
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].point, TL_QUEUE);
  EXPECT_EQ(out[0].pid, 901u);
  EXPECT_EQ(out[0].tid, 902u);
  EXPECT_EQ(out[1].point, TL_XMIT);
  EXPECT_EQ(out[1].pid, 0u);
}

TEST(RecordUnpack, RxRecordsStageIsInjectAndInheritedMarksOnlyQdiscStages) {
  tl_record rx{};
  rx.slot.state = TL_ST_RX | TL_ST_INHERITED;
  rx.slot.unsent = 1;
  rx.slot.t0 = 500;
  rx.slot.pid = 9;
  rx.end.point = TL_RECEIVE;
  rx.end.ts_ns = 900;
  std::vector<Event> out;
  unpack_record(rx, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].point, TL_INJECT);
  EXPECT_EQ(out[0].dir, TL_RX);
  EXPECT_EQ(out[0].pid, 9u);
  EXPECT_EQ(out[0].flags, 0);  // inject is not a qdisc stage: nothing inherited
  EXPECT_EQ(out[1].point, TL_RECEIVE);
  EXPECT_EQ(out[1].dir, TL_RX);

  tl_record seg = tx_record();
  seg.slot.state = TL_ST_INHERITED;
  out.clear();
  unpack_record(seg, out);
  EXPECT_TRUE(out[0].flags & TL_F_INHERITED);   // queue: the parent's
  EXPECT_FALSE(out[1].flags & TL_F_INHERITED);  // xmit: its own
}

TEST(RecordUnpack, DropKeepsReasonLocationAndWhoDroppedIt) {
  tl_record r = tx_record();
  r.slot.unsent = 0;  // its stages went in an earlier record
  r.end.point = TL_FREE;
  r.end.flags = TL_F_DROP;
  r.end.code = 7;
  r.end.aux = 0xffffffff81234567;
  r.end.pid = 5;
  r.end.tid = 6;
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, TL_F_DROP);  // no start flags: not the packet's first event
  EXPECT_EQ(out[0].code, 7);
  EXPECT_EQ(out[0].aux, 0xffffffff81234567u);
  EXPECT_EQ(out[0].pid, 5u);
  EXPECT_EQ(out[0].tid, 6u);
}

TEST(RecordUnpack, StagesOnlyRecordHasNoEndEvent) {
  tl_record r = tx_record();
  r.end.point = TL_POINT_COUNT;  // sent early: a stall, a slot taken over, the final flush
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.back().point, TL_READ);
}

TEST(RecordUnpack, CommRecordIsOneCommEvent) {
  tl_record r = tx_record();  // a comm record reuses a ring slot: the slot part is stale
  r.end.point = TL_COMM;
  r.end.ts_ns = 123;
  r.end.pid = 100;
  r.end.tid = 101;
  std::strncpy(r.end.comm, "openvpn", sizeof(r.end.comm));
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].point, TL_COMM);
  EXPECT_EQ(out[0].skb, 0u);
  EXPECT_EQ(out[0].pid, 100u);
  EXPECT_EQ(out[0].tid, 101u);
  EXPECT_STREQ(out[0].comm, "openvpn");
}

// An owner's underlay send or read says which socket (TL_IO_SOCK: its inode in the slot);
// other lone records leave the slot's stale address behind.
TEST(RecordUnpack, SendRecordCarriesItsSocketsInode) {
  tl_record r = tx_record();
  r.slot.skb = 81234;
  r.end.point = TL_SEND;
  r.end.flags = TL_IO_SOCK;
  r.end.aux = 1480;
  r.end.pid = 100;
  r.end.tid = 103;
  r.end.comm[0] = 0;
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].point, TL_SEND);
  EXPECT_EQ(out[0].skb, 81234u);
  EXPECT_EQ(out[0].flags, TL_IO_SOCK);
  EXPECT_EQ(out[0].aux, 1480u);
  EXPECT_EQ(out[0].tid, 103u);
  r.end.point = TL_UREAD;  // from sock_recv_length: its socket too
  out.clear();
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skb, 81234u);
  r.end.flags = 0;  // guessed from an skb's copy or free: no socket
  out.clear();
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skb, 0u);
}

TEST(RecordUnpack, ARecordByAddressFlagsItsEventsForTheJoin) {
  tl_record r{};
  r.slot.skb = 0xffff888012345600;
  r.slot.t0 = 2'000'000;
  r.slot.cpu[TL_STAGE_READ] = 1;
  r.slot.pid = 77;
  r.slot.tid = 78;
  r.slot.unsent = 1u << TL_STAGE_READ;
  r.slot.state = TL_ST_BY_ADDRESS;
  r.end.point = TL_FREE;
  r.end.ts_ns = 2'000'700;
  r.end.cpu = 1;
  std::vector<Event> out;
  unpack_record(r, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].point, TL_READ);
  EXPECT_EQ(out[0].ts_ns, 2'000'000u);
  EXPECT_EQ(out[0].pid, 77u);
  EXPECT_EQ(out[1].point, TL_FREE);
  for (const Event& e : out) {
    EXPECT_EQ(e.flags & TL_F_BY_ADDRESS, TL_F_BY_ADDRESS);
    EXPECT_EQ(e.gen, 0u);
    EXPECT_EQ(e.dir, TL_TX);
  }
}

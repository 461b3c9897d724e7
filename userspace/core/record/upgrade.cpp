// SPDX-License-Identifier: MIT
// Brings an older recording's events up to the current format, one version at a time.
#include "core/record/upgrade.h"

#include <cstring>

#include "core/record/recording.h"

namespace tunlat {

namespace {
template <class Step>
std::unique_ptr<UpgradeStep> make() {
  return std::make_unique<Step>();
}
}  // namespace

// docs/recording.md, "Version policy". Each line: the version, what it brought, and what
// a reader of the version before would get wrong.
const std::array<FormatVersion, 7> kFormatHistory{{
    {1, "the first format", nullptr},
    {2,
     "a GSO segment's parent's queue/enqueue/dequeue times come with it as TL_F_INHERITED events "
     "(65a6250), which a version 1 reader counted as passages; comms only in TL_COMM events",
     make<SegmentsInheritV1>},
    {3,
     "the owners' scheduling events (TL_SCHED, TL_SEND, TL_UREAD) and the header's \"sched\": "
     "a version 2 file has none, which the report says",
     nullptr},
    {4, "drops elsewhere (TL_DROP_ELSEWHERE) and the owners' sockets in the header", nullptr},
    {5,
     "a packet's first event may carry its summary in comm (TL_F_SUMMARY) and TL_FLOW events "
     "define flows: a version 4 reader would take the summaries' bytes for comms",
     nullptr},
    {6,
     "TL_TAKEN events may carry the local socket's TCP state in comm (TL_F_TCP_SAMPLE), and "
     "TL_RETRANS events (the host's own retransmissions) a summary: a version 5 reader would "
     "take both for comms",
     nullptr},
    {7,
     "TL_BYTES events carry a followed packet's first bytes (--pcapng) in fields other kinds use "
     "otherwise: a version 6 reader would not know the kind; an older file has no packet bytes",
     nullptr},
}};
static_assert(kOldestRecordingVersion == 1 && kRecordingVersion == 7,
              "a new format version is a new line in kFormatHistory, with its step");

void SegmentsInheritV1::push(const Event& in, const EventSink& out) {
  Event e = in;
  if (e.point < kPoints && e.comm[0]) {  // its thread's comm: a comm record of its own
    Event c{};
    c.ts_ns = e.ts_ns;
    c.pid = e.pid;
    c.tid = e.tid;
    c.cpu = e.cpu;
    c.point = TL_COMM;
    c.flags = TL_F_UPGRADE;
    std::memcpy(c.comm, e.comm, TL_COMM_LEN);
    out(c);
    std::memset(e.comm, 0, TL_COMM_LEN);
  }
  if (e.flags & TL_F_INHERITED) {  // the kernel sends the parents' times: nothing to add
    kernel_sends_parent_times_ = true;
    parents_.clear();
  }
  if (!kernel_sends_parent_times_ && e.point < kPoints && e.dir == TL_TX) {
    if (e.ts_ns >= next_sweep_) {
      forget_old(e.ts_ns);
      next_sweep_ = e.ts_ns + kParentTtlNs / 2;
    }
    if (e.flags & TL_F_SEGMENT) inherit(e, out);
    note_parent(e);
  }
  e.parent_skb = 0;
  out(e);
}

// A GSO skb's first event starts its entry; its later ones fill in the points segments
// inherit, the first time each is passed.
void SegmentsInheritV1::note_parent(const Event& e) {
  auto it = parents_.find(Key{e.skb, e.gen});
  if (it == parents_.end()) {
    if (!(e.flags & TL_F_GSO)) return;
    if (parents_.size() >= kMaxParents) parents_.clear();  // segments follow within µs
    it = parents_.emplace(Key{e.skb, e.gen}, Parent{}).first;
  }
  Parent& p = it->second;
  p.last = std::max(p.last, e.ts_ns);
  for (size_t i = 0; i < kInheritedPoints.size(); i++)
    if (e.point == kInheritedPoints[i] && !p.ts[i]) {
      p.ts[i] = e.ts_ns;
      p.cpu[i] = e.cpu;
    }
}

// The parent's times, as the kernel now sends them, before the segment's first event; a
// segment whose parent is not known passes without them (an orphan).
void SegmentsInheritV1::inherit(const Event& seg, const EventSink& out) {
  auto it = parents_.find(Key{seg.parent_skb, seg.parent_gen});
  if (it == parents_.end()) return;
  const Parent& p = it->second;
  bool any = false;
  for (size_t i = 0; i < kInheritedPoints.size(); i++) {
    // One at least, even with no time: the segment is its parent's all the same.
    if (!p.ts[i] && (any || i + 1 < kInheritedPoints.size())) continue;
    Event e{};
    e.ts_ns = p.ts[i];
    e.skb = seg.skb;
    e.gen = seg.gen;
    e.parent_gen = seg.parent_gen;
    e.len = seg.len;
    e.cpu = p.cpu[i];
    e.point = static_cast<uint8_t>(kInheritedPoints[i]);
    e.dir = TL_TX;
    e.flags = (seg.flags & (TL_F_SEGMENT | TL_F_FIRST)) | TL_F_INHERITED | TL_F_UPGRADE;
    out(e);
    any = true;
  }
}

void SegmentsInheritV1::forget_old(uint64_t now) {
  for (auto it = parents_.begin(); it != parents_.end();)
    it = it->second.last + kParentTtlNs < now ? parents_.erase(it) : std::next(it);
}

Upgrade::Upgrade(uint32_t version, EventSink out) {
  for (const FormatVersion& v : kFormatHistory)
    if (v.version > version && v.step) steps_.push_back(v.step());
  sinks_.resize(steps_.size() + 1);
  sinks_.back() = std::move(out);
  for (size_t i = 0; i < steps_.size(); i++)
    sinks_[i] = [this, i](const Event& e) { steps_[i]->push(e, sinks_[i + 1]); };
}

}  // namespace tunlat

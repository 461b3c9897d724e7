/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The table of packets being followed: one 64-byte slot per packet, found from its skb
 * address through a tag byte. No programs here.
 */
#ifndef TUNLAT_SLOTS_BPF_H
#define TUNLAT_SLOTS_BPF_H

#include "common.bpf.h"
#include "skb_addr.bpf.h"

/*
 * The points a packet can pass before the one that ends its record wait in its slot
 * (a tl_slot, bpf/tunlat.h), one stage each: TX queue, enqueue, dequeue, xmit; RX inject.
 * (The read stage is a TX read's, sent by address without the slot.) Every other point
 * ends a record and is sent at once, with the slot.
 */
/* A stage's time is kept relative to the slot's t0 in 32 bits: ~4.29 s. */
#define DT_MAX 0xffffffffULL

/*
 * A slot is one cache line: the CPU that reads a packet from the tun ring and frees it
 * is mostly not the one that queued it, and each line of the slot is a miss there.
 */
_Static_assert(sizeof(struct tl_slot) == 64, "a slot is one cache line");
_Static_assert((TL_F_GSO | TL_F_SEGMENT | TL_F_LATE_START | TL_F_FIRST) <= 0xff,
	       "start flags fit tl_slot.start_flags");

/* The stage a point waits in, or -1 for a point that ends a record. */
static __always_inline int stage_of(__u8 point)
{
	if (point <= TL_XMIT)
		return point; /* TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE, TL_XMIT */
	if (point == TL_READ)
		return TL_STAGE_READ;
	if (point == TL_INJECT)
		return 0; /* an RX packet's only stage */
	return -1;
}

static __always_inline __u8 dir_of(const struct tl_slot *v)
{
	return tl_slot_dir(v->state);
}

/* An RX packet the stack has taken: its record is sent, only a delivery or a drop may
 * still come, and its free is often not traced (the entry outlives it). */
static __always_inline bool settled(const struct tl_slot *v)
{
	return (v->state & TL_ST_RX) && (v->state & TL_ST_RECEIVE);
}

/*
 * Packets in flight, in a table indexed by bits of the skb address (two slots each).
 * An array lookup is inlined by the verifier: a few ns, where a hash map costs tens
 * of ns per hit on every skb of the system. A new packet takes its slot whatever was
 * there: mostly an RX skb whose free has no tracepoint (already sent); a packet still
 * in flight there is sent first, as far as it got. Mmapable only so that its slots
 * start on a page, hence each on a cache line of its own.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << LIVE_BITS);
	__type(key, __u32);
	__type(value, struct tl_slot);
} live SEC(".maps");

/*
 * A tag byte per slot: other bits of the hash of the last skb followed there. Most hits
 * are for skbs tunlat does not follow, and 127 in 128 of them stop at this 64 KiB array,
 * which stays in cache and in the TLB, instead of reading a line of the 4 MiB table (a
 * TLB miss at many hits from process context). A tag is never cleared: one left by a
 * packet that is gone costs a slot read, and skb addresses come back so often that
 * rewriting a tag (a line the other CPU reads) is mostly skipped.
 */
__u8 live_tag[1 << LIVE_BITS] __attribute__((aligned(64)));
/* The mask is for the verifier: an index whose address went to a map lookup is reloaded
 * from the stack without its range, and 6.1's verifier loses the range of second_slot's
 * xor. barrier_var keeps the compiler from dropping the mask where it proves it useless. */
static __always_inline __u8 *live_tag_at(__u32 idx)
{
	barrier_var(idx);
	return &live_tag[idx & ((1 << LIVE_BITS) - 1)];
}
#define LIVE_TAG(idx) (*live_tag_at(idx))

/* A TX packet handed to the device: its record is sent, its read and free go by address
 * from the VPN's CPU. The slot is kept only for a drop or an error on this side. */
static __always_inline bool handed_off(const struct tl_slot *v)
{
	return (v->state & (TL_ST_RX | TL_ST_XMIT)) == TL_ST_XMIT;
}

/* Is v's packet still on its way, with points to come through its slot? */
static __always_inline bool in_flight(const struct tl_slot *v)
{
	return v->skb && !settled(v) && !handed_off(v);
}

/* Was a packet followed at address h lately? The tag alone: a line other CPUs read, but
 * one rarely written, where the slot is a line the queueing CPU writes. */
static __always_inline bool tagged(__u64 h)
{
	__u32 idx = slot_idx(h);
	__u8 tag = slot_tag(h);

	return LIVE_TAG(idx) == tag || LIVE_TAG(second_slot(idx, tag)) == tag;
}

/* The slot at idx if it holds the packet at address h. */
static __always_inline struct tl_slot *find(__u64 h, __u32 idx, __u8 tag)
{
	struct tl_slot *v;

	if (LIVE_TAG(idx) != tag)
		return NULL;
	v = bpf_map_lookup_elem(&live, &idx);
	return v && v->skb == h ? v : NULL;
}

#endif /* TUNLAT_SLOTS_BPF_H */

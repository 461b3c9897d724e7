/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where an skb's address puts it in a table of 2^LIVE_BITS slots with a tag byte each:
 * the tracer's (slots.bpf.h) and the monitor's (monitor.bpf.c). No maps here.
 */
#ifndef TUNLAT_SKB_ADDR_BPF_H
#define TUNLAT_SKB_ADDR_BPF_H

#include "kread.bpf.h"

#define LIVE_BITS 16

/*
 * skbs are slab objects >= 256 bytes apart, 16 or more to a slab page. The slot is the
 * address's next bits as they are, so the skbs of one slab page share a page of the
 * table: the few slab pages in use keep few table pages (and TLB entries) busy. The tag
 * mixes the bits above, which tell apart addresses that share a slot.
 */
static __always_inline __u32 slot_idx(__u64 addr)
{
	return (addr >> 8) & ((1 << LIVE_BITS) - 1);
}

static __always_inline __u8 slot_tag(__u64 addr)
{
	return (__u8)(((addr >> (8 + LIVE_BITS)) * 0x9E3779B97F4A7C15ULL) >> 56) | 1;
}

/*
 * An address's second slot, for when its first holds a packet in flight. Two slab pages
 * whose addresses share the slot bits collide object for object, often while a burst of
 * GSO segments from each is in flight: the second slot lies on another table page,
 * chosen by the tag, so the two pages' objects part there.
 */
static __always_inline __u32 second_slot(__u32 idx, __u8 tag)
{
	return (idx ^ ((__u32)tag << 4)) & ((1 << LIVE_BITS) - 1);
}

#endif /* TUNLAT_SKB_ADDR_BPF_H */

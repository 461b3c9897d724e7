/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-CPU event rings: tl_records written with plain stores and published by
 * advancing a counter. No programs here.
 */
#ifndef TUNLAT_RING_BPF_H
#define TUNLAT_RING_BPF_H

#include "common.bpf.h"

/*
 * Records go to userspace through rings in mmapable arrays: plain stores, no lock and no
 * helper call, where bpf_ringbuf_output costs ~160 ns a record here. Each CPU has
 * TL_RINGS_PER_CPU, one after the other in ring_records (bpf/tunlat.h):
 *  - its main ring, small enough to stay in cache: a record written into lines that left
 *    the cache waits for them to come from memory. With rings of 8 MiB that cost up to
 *    ~1 us per packet here while other tenants of the host loaded its memory;
 *  - a ring of the same size for a program that interrupts one writing the main ring (an
 *    interrupt's softirq on the same CPU), or for when the main ring is full;
 *  - a big spill ring, taken while both are full (userspace was not scheduled for a
 *    while), so that nothing is lost for it.
 * Userspace reads them in place and merges their records by the time they were sent.
 * Sizes, powers of two, are set by the loader: tl_cfg.ring_records for the first two,
 * tl_cfg.spill_records for the spill ring.
 */
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_ring_ctl);
} ring_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_record);
} ring_records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, __u32 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n;
}

/* Is ring c, of `size` records, full? tail is userspace's: read afresh. */
static __always_inline bool ring_full(const struct tl_ring_ctl *c, __u32 size)
{
	return c->head - READ_ONCE(c->tail) >= size;
}

/*
 * Claims a ring of this CPU for one record, which stands for `events` events: the first of
 * main, nested, spill that is neither being written (by a program this one interrupted)
 * nor full. Returns the record to fill, or NULL, counting the events lost, when none is.
 * ring_commit() must follow a record returned.
 */
static __always_inline struct tl_record *ring_begin(struct tl_ring_ctl **ctl, __u32 events)
{
	__u32 cpu = bpf_get_smp_processor_id();

	for (__u32 kind = TL_RING_MAIN; kind < TL_RINGS_PER_CPU; kind++) {
		__u32 size = tl_ring_size(kind, tl_cfg.ring_records, tl_cfg.spill_records);
		__u32 ring = cpu * TL_RINGS_PER_CPU + kind, idx;
		struct tl_ring_ctl *c = bpf_map_lookup_elem(&ring_ctl, &ring);
		struct tl_record *r;

		if (!c || c->busy || ring_full(c, size))
			continue;
		if (kind == TL_RING_SPILL)
			count(TL_CNT_SPILLED, 1);
		idx = tl_ring_first(cpu, kind, tl_cfg.ring_records, tl_cfg.spill_records) +
		      (c->head & (size - 1));
		r = bpf_map_lookup_elem(&ring_records, &idx);
		if (!r)
			break;
		c->busy = 1;
		*ctl = c;
		return r;
	}
	count(TL_CNT_LOST, events);
	return NULL;
}

/*
 * Publishes the record written: its stores must be visible before the new head. x86 keeps
 * stores in order, so a compiler barrier and a plain store do, where an atomic add would
 * also wait for the record's lines to arrive. Elsewhere the atomic add orders them.
 */
static __always_inline void ring_commit(struct tl_ring_ctl *ctl)
{
#if defined(__TARGET_ARCH_x86)
	asm volatile("" ::: "memory");
	WRITE_ONCE(ctl->head, ctl->head + 1);
#else
	__sync_fetch_and_add(&ctl->head, 1);
#endif
	ctl->busy = 0;
}

/*
 * Claims a record for one event alone (tl_lone_kind: a comm, an owner's doings, a drop
 * elsewhere, a retransmit; or TL_ADDR6's addresses), as ring_begin: its end zeroed, then
 * with its point, the time and this CPU; its slot zeroed too if the kind puts something
 * there (with_slot), else not written at all (see tl_record). The caller fills what its
 * kind says and nothing else: a ring's record keeps whatever the record written there
 * before left, and userspace must not meet it.
 */
static __always_inline struct tl_record *lone_begin(struct tl_ring_ctl **ctl, __u8 point,
						    bool with_slot, __u32 events)
{
	struct tl_record *r = ring_begin(ctl, events);

	if (!r)
		return NULL;
	/* The slot is the record's first cache line: writing it when nothing goes there
	 * costs a line brought over from the CPU that read it last (~20 ns a comm). */
	if (with_slot)
		__builtin_memset(&r->slot, 0, sizeof(r->slot));
	__builtin_memset(&r->end, 0, sizeof(r->end));
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.cpu = bpf_get_smp_processor_id();
	r->end.point = point;
	return r;
}

#endif /* TUNLAT_RING_BPF_H */

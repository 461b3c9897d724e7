/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-CPU event rings, for tunlat.bpf.c: tl_records written with plain stores and
 * published with one atomic add. No programs here.
 */
#ifndef TUNLAT_RING_BPF_H
#define TUNLAT_RING_BPF_H

/* Records per CPU ring: a power of two, set by the loader with the maps' sizes. */
const volatile __u32 targ_ring_records = 1 << 15;
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

/*
 * Records go to userspace through rings in mmapable arrays: plain stores, no lock and no
 * helper call, where bpf_ringbuf_output costs ~160 ns a record here. Each CPU has two:
 * one for programs, one for a program that interrupts a program writing the first (an
 * interrupt's softirq on the same CPU). Userspace reads them in place and merges their
 * records by the time they were sent. Sizes are set by the loader: TL_RINGS_PER_CPU
 * control blocks per CPU, targ_ring_records records each.
 */
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

/*
 * Claims a ring of this CPU for one record, which stands for `events` events: the first
 * ring, or the second when a program this one interrupted is writing the first. Returns
 * the record to fill, or NULL, counting the events lost, when that ring is full (or both
 * are being written). ring_commit() must follow a record returned.
 */
static __always_inline struct tl_record *ring_begin(struct tl_ring_ctl **ctl, __u32 events)
{
	__u32 ring = bpf_get_smp_processor_id() * TL_RINGS_PER_CPU;
	struct tl_ring_ctl *c = bpf_map_lookup_elem(&ring_ctl, &ring);
	struct tl_record *r;
	__u32 idx;

	if (c && c->busy) {
		ring++;
		c = bpf_map_lookup_elem(&ring_ctl, &ring);
	}
	if (!c || c->busy || c->head - READ_ONCE(c->tail) >= targ_ring_records) {
		count(TL_CNT_LOST, events);
		return NULL;
	}
	idx = ring * targ_ring_records + (c->head & (targ_ring_records - 1));
	r = bpf_map_lookup_elem(&ring_records, &idx);
	if (!r)
		return NULL;
	c->busy = 1;
	*ctl = c;
	return r;
}

/* Publishes the record written: the atomic add orders its stores before the new head. */
static __always_inline void ring_commit(struct tl_ring_ctl *ctl)
{
	__sync_fetch_and_add(&ctl->head, 1);
	ctl->busy = 0;
}

#endif /* TUNLAT_RING_BPF_H */

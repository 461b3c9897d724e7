/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-CPU event rings, for tunlat.bpf.c: records of consecutive tl_events written
 * with plain stores and published with one atomic add. No programs here.
 */
#ifndef TUNLAT_RING_BPF_H
#define TUNLAT_RING_BPF_H

/* Events per CPU ring: a power of two, set by the loader with the maps' sizes. */
const volatile __u32 targ_ring_events = 1 << 16;
/* Room a record needs in a ring: every stage once, plus the point that ends it. */
#define RECORD_MAX (STAGES + 1)
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

/*
 * Events go to userspace through rings in mmapable arrays: plain stores, no lock and no
 * helper call, where bpf_ringbuf_output costs ~160 ns a record here. Each CPU has two:
 * one for programs, one for a program that interrupts a program writing the first (an
 * interrupt's softirq on the same CPU). Userspace reads them in place and merges their
 * records by the time they were sent. Sizes are set by the loader: TL_RINGS_PER_CPU
 * control blocks per CPU, targ_ring_events events each.
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
	__type(value, struct tl_event);
} ring_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

/* A record being written into this CPU's ring. */
struct ring_writer {
	struct tl_ring_ctl *ctl;
	__u64 head;   /* where the record starts */
	__u32 base;   /* this CPU's first slot in ring_events */
};

/*
 * Claims a ring of this CPU for one record of up to RECORD_MAX events: the first, or the
 * second when a program this one interrupted is writing the first. Fails, counting the
 * loss, when that ring is full (or both are being written).
 */
static __always_inline bool ring_begin(struct ring_writer *w)
{
	__u32 ring = bpf_get_smp_processor_id() * TL_RINGS_PER_CPU;

	w->ctl = bpf_map_lookup_elem(&ring_ctl, &ring);
	if (w->ctl && w->ctl->busy) {
		ring++;
		w->ctl = bpf_map_lookup_elem(&ring_ctl, &ring);
	}
	if (!w->ctl || w->ctl->busy ||
	    w->ctl->head + RECORD_MAX - READ_ONCE(w->ctl->tail) > targ_ring_events) {
		count(TL_CNT_LOST);
		return false;
	}
	w->ctl->busy = 1;
	w->head = w->ctl->head;
	w->base = ring * targ_ring_events;
	return true;
}

static __always_inline struct tl_event *ring_slot(struct ring_writer *w, __u32 n)
{
	__u32 idx = w->base + ((w->head + n) & (targ_ring_events - 1));

	return bpf_map_lookup_elem(&ring_events, &idx);
}

/* Publishes the n events written: an atomic add orders them before the new head. */
static __always_inline void ring_commit(struct ring_writer *w, __u32 n)
{
	if (n)
		__sync_fetch_and_add(&w->ctl->head, n);
	w->ctl->busy = 0;
}

#endif /* TUNLAT_RING_BPF_H */

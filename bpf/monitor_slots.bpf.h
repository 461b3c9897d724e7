/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tunlat monitor: a watched device's packets in flight, each in a slot by its address,
 * and what a followed packet adds up per device (bpf/monitor.h): spans, points, the
 * stages' counts. No programs here (monitor.bpf.c).
 */
#ifndef TUNLAT_MONITOR_SLOTS_BPF_H
#define TUNLAT_MONITOR_SLOTS_BPF_H

#include "kread.bpf.h"
#include "skb_addr.bpf.h"
#include "monitor.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_MON_DEVS);
	__type(key, __u32);
	__type(value, struct tl_mon_dev_stats);
} mon_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_MON_DEVS);
	__type(key, __u32);
	__type(value, struct tl_mon_stage_stats);
} mon_stages SEC(".maps");

/* A packet of a watched device in flight. t[]: TX queue, xmit, read; RX inject, receive,
 * taken. */
struct mon_slot {
	__u64 skb;
	__u64 t[3];
	__u32 ifindex;
	__u32 w; /* the packets it stands for (sampling), 1 when every one is followed */
	__u16 dev;
	__u8 state; /* MS_* */
	__u8 pad;
} __attribute__((aligned(64)));

enum mon_state {
	MS_RX = 1 << 0,
	MS_QUEUED = 1 << 1, /* TX: its queue time is known (t[0]) */
	MS_P1 = 1 << 2,	    /* TX: handed to the device; RX: received */
	MS_P2 = 1 << 3,	    /* TX: read by the VPN; RX: taken by a TCP socket */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << LIVE_BITS);
	__type(key, __u32);
	__type(value, struct mon_slot);
} mon_live SEC(".maps");

/* A tag byte per slot, as the tracer's (slots.bpf.h): most skbs stop here. */
__u8 mon_tag[1 << LIVE_BITS] __attribute__((aligned(64)));

static __always_inline __u8 *tag_at(__u32 idx)
{
	barrier_var(idx);
	return &mon_tag[idx & ((1 << LIVE_BITS) - 1)];
}

static __always_inline struct tl_mon_dev_stats *stats_of(__u32 dev)
{
	return dev < TL_MON_DEVS ? bpf_map_lookup_elem(&mon_stats, &dev) : NULL;
}

/* A followed packet's span, counted for the packets it stands for. */
static __always_inline void add_span(struct tl_mon_dev_stats *s, const struct mon_slot *v,
				     __u32 span, __u64 ns)
{
	__u32 b = tl_mon_bucket(ns);

	if (span >= TL_MON_SPANS || b >= TL_MON_BUCKETS)
		return;
	s->hist[span][b] += v->w;
	s->span_ns[span] += ns * v->w;
}

/* A followed packet passes a point. */
static __always_inline void count_point(struct tl_mon_dev_stats *s, const struct mon_slot *v,
					__u32 point)
{
	if (point < TL_MON_POINTS)
		s->points[point] += v->w;
}

/* Any packet passes a point the tracepoint names its device at. */
static __always_inline void count_every(struct tl_mon_dev_stats *s, __u32 point)
{
	if (point < TL_MON_POINTS)
		s->points[point]++;
}

/* The stage a packet waits in now, or -1: what leaves when it goes. */
static __always_inline int stage_of(const struct mon_slot *v)
{
	if (v->state & MS_RX)
		return (v->state & MS_P1) ? -1 : TL_MQ_BACKLOG;
	if (v->state & MS_P2)
		return -1;
	if (v->state & MS_P1)
		return TL_MQ_RING;
	return (v->state & MS_QUEUED) ? TL_MQ_QDISC : -1;
}

/* The packet in v leaves its stage; released (true: it went on) or dropped. */
static __always_inline void leave_stage(const struct mon_slot *v, bool released, __u64 now)
{
	__u32 dev = v->dev, st = (__u32)stage_of(v); /* -1: none, as a huge index */
	struct tl_mon_stage_stats *q;

	if (st >= TL_MON_STAGES || dev >= TL_MON_DEVS ||
	    !(q = bpf_map_lookup_elem(&mon_stages, &dev)))
		return;
	barrier_var(st); /* checked above: keep the compiler from losing the bound */
	if (st >= TL_MON_STAGES)
		return;
	q->out[st] += v->w;
	if (released)
		q->last_out_ns[st] = now;
}

static __always_inline void enter_stage(const struct mon_slot *v, int st)
{
	struct tl_mon_stage_stats *q;
	__u32 dev = v->dev;

	if (st >= 0 && st < TL_MON_STAGES && dev < TL_MON_DEVS &&
	    (q = bpf_map_lookup_elem(&mon_stages, &dev)))
		q->in[st] += v->w;
}

/* Is the packet in v still on its way through a stage, or between its read and free? */
static __always_inline bool busy(const struct mon_slot *v)
{
	return v->skb && (stage_of(v) >= 0 || (v->state & (MS_RX | MS_P2)) == MS_P2);
}

static __always_inline struct mon_slot *slot_at(__u32 idx)
{
	return bpf_map_lookup_elem(&mon_live, &idx);
}

/* The slot of skb if it holds it: its first slot, or its second (see take()). */
static __always_inline struct mon_slot *find(const void *skb)
{
	__u64 h = (__u64)skb;
	__u32 idx = slot_idx(h);
	__u8 tag = slot_tag(h);
	struct mon_slot *v;

	if (*tag_at(idx) == tag && (v = slot_at(idx)) && v->skb == h)
		return v;
	idx = second_slot(idx, tag);
	if (*tag_at(idx) == tag && (v = slot_at(idx)) && v->skb == h)
		return v;
	return NULL;
}

/*
 * Takes a slot for a new packet at skb: its first, unless that one holds a packet still
 * on its way, then its second (as the tracer's slots do: ~500 packets in a tun ring make
 * a first slot busy for nearly 1 % of new packets). A packet pushed out of both is
 * counted lost, and leaves its stage.
 */
static __always_inline struct mon_slot *take(const void *skb, __u32 dev, __u32 ifindex, __u8 state,
					     __u32 w)
{
	__u64 h = (__u64)skb;
	__u32 idx = slot_idx(h);
	__u8 tag = slot_tag(h);
	struct mon_slot *v = slot_at(idx), *v2;
	struct tl_mon_dev_stats *old;

	if (!v)
		return NULL;
	if (v->skb != h && busy(v)) {
		__u32 idx2 = second_slot(idx, tag);

		if (!(v2 = slot_at(idx2)))
			return NULL;
		if (v2->skb == h || !busy(v2)) {
			v = v2;
			idx = idx2;
		}
	}
	/* Whatever packet was still there is gone: pushed out (lost), or an earlier skb at
	 * this address whose end was not seen. */
	if (busy(v)) {
		leave_stage(v, false, 0);
		if (v->skb != h && (old = stats_of(v->dev)))
			old->lost += v->w;
	}
	if (*tag_at(idx) != tag)
		*tag_at(idx) = tag;
	v->skb = h;
	v->dev = dev;
	v->ifindex = ifindex;
	v->state = state;
	v->w = w;
	v->t[0] = v->t[1] = v->t[2] = 0;
	return v;
}

static __always_inline void give_up(struct mon_slot *v)
{
	v->skb = 0;
	v->state = 0;
}

/* A packet not followed starts at skb: a slot still holding an earlier skb at this
 * address (whose end was not seen) must not pass for it. */
static __always_inline void forget(const void *skb)
{
	struct mon_slot *v = find(skb);

	if (!v)
		return;
	if (busy(v))
		leave_stage(v, false, 0);
	give_up(v);
}

#endif /* TUNLAT_MONITOR_SLOTS_BPF_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Starting to follow a packet: taking its slot, --sample, and the GSO segments that
 * inherit their parent's points. No programs here.
 */
#ifndef TUNLAT_FOLLOW_BPF_H
#define TUNLAT_FOLLOW_BPF_H

#include "common.bpf.h"
#include "cpu.bpf.h"
#include "slots.bpf.h"
#include "ring.bpf.h"
#include "send.bpf.h"
#include "packet.bpf.h"

/* Segments must follow their parent within this time on the same CPU. */
#define GSO_ADOPT_NS (5 * 1000 * 1000ULL)

/* Starts following skb from point; returns its slot. */
static __always_inline struct tl_slot *follow(const struct sk_buff *skb, __u8 dir, __u8 point,
					      __u32 len, __u16 flags, __u64 now)
{
	__u64 h = (__u64)skb;
	__u32 idx = slot_idx(h);
	struct tl_slot *v = bpf_map_lookup_elem(&live, &idx);
	struct cpu_state *st;

	if (!v)
		return NULL;
	/* An address may take either of two slots: its first unless that one holds another
	 * packet in flight, so that two packets in flight rarely push each other out. The
	 * second is read only then: each slot touched is a cache line and a page. */
	if (v->skb != h && in_flight(v)) {
		__u32 idx2 = second_slot(idx, slot_tag(h));
		struct tl_slot *v2 = bpf_map_lookup_elem(&live, &idx2);

		if (!v2)
			return NULL;
		if (v2->skb == h || !in_flight(v2)) {
			v = v2;
			idx = idx2;
		}
	}
	/* Whatever held the slot and was not sent yet goes first, as far as it got. */
	if (v->skb && v->unsent)
		send_unsent(v);
	v->skb = (__u64)skb;
	if (LIVE_TAG(idx) != slot_tag(h))
		LIVE_TAG(idx) = slot_tag(h);
	v->t0 = now;
	st = cpu_state();
	v->gen = next_gen(st);
	/* The packet passed over last at this address is gone: this one is followed. */
	if (PASSING_OVER && st && st->filtered == h)
		st->filtered = 0;
	v->unsent = 0;
	v->state = (dir == TL_RX ? TL_ST_RX : 0) | ((flags & TL_F_GSO) ? TL_ST_GSO : 0);
	v->len = len;
	v->start_flags = flags | TL_F_FIRST;
	v->parent_gen = 0;
	v->pid = 0;
	v->tid = 0;
	mark_at(v, point, now);
	return v;
}

static __always_inline void clear_skip(void)
{
	struct cpu_state *st = cpu_state();

	if (st)
		st->skip = 0;
}

/* --sample: is the next packet of this direction to be followed? */
static __always_inline bool sample(__u8 dir)
{
	struct cpu_state *st;

	if (tl_cfg.sample <= 1)
		return true;
	st = cpu_state();
	if (!st || dir > 1)
		return true;
	if (st->sampled[dir & 1]++ % tl_cfg.sample == 0)
		return true;
	count(TL_CNT_SAMPLED_OUT, 1);
	if (dir == TL_TX)
		st->skip = 1; /* segments made from it must not be adopted either */
	return false;
}

/*
 * A kernel VPN decrypts in place: the skb its device hands the stack (napi_gro_receive on
 * wg0) is the one its underlay received. Each skb any device receives leaves its arrival
 * here, by address (direct-mapped: a later one at the same index takes the entry), for
 * the device's receive to find. Written only while a kernel VPN is traced.
 */
#define UNDERLAY_RX_ENTRIES 4096
#define UNDERLAY_RX_MAX_NS (1000 * 1000 * 1000ULL) /* decrypted within a second, or not its */

struct underlay_rx {
	__u64 skb;
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNDERLAY_RX_ENTRIES);
	__type(key, __u32);
	__type(value, struct underlay_rx);
} underlay_rx SEC(".maps");

static __always_inline void note_underlay_rx(const struct sk_buff *skb)
{
	__u32 idx = slot_idx((__u64)skb) & (UNDERLAY_RX_ENTRIES - 1);
	struct underlay_rx *e = bpf_map_lookup_elem(&underlay_rx, &idx);

	if (e) {
		e->skb = (__u64)skb;
		e->ts = bpf_ktime_get_ns();
	}
}

/*
 * When a packet a kernel VPN decrypted arrived on its underlay: the RX start of the skb
 * its device now hands the stack. One whose arrival was not seen (the trace began
 * meanwhile) starts now, flagged TL_F_LATE_START (*flags): it has no `vpn` span.
 */
static __always_inline __u64 underlay_arrival(const struct sk_buff *skb, __u16 *flags)
{
	__u32 idx = slot_idx((__u64)skb) & (UNDERLAY_RX_ENTRIES - 1);
	struct underlay_rx *e = bpf_map_lookup_elem(&underlay_rx, &idx);
	__u64 now = bpf_ktime_get_ns();

	if (e && e->skb == (__u64)skb && now - e->ts < UNDERLAY_RX_MAX_NS) {
		e->skb = 0;
		return e->ts;
	}
	*flags = TL_F_LATE_START;
	return now;
}

/* Follows an RX packet from TL_INJECT at t; its writer is the current task. */
static __always_inline void follow_rx(const struct sk_buff *skb, __u64 t, __u16 flags)
{
	struct tl_slot *v =
		follow(skb, TL_RX, TL_INJECT, KREAD(struct sk_buff, skb, len), flags, t);

	if (v)
		mark_task(v);
}

/*
 * A packet written into the device, in its writer's context (a VPN's write into a tun/tap,
 * a VM's into a macvtap): followed from now, if --sample and the filter take it. A new
 * skb: any entry at its address belongs to a packet that is gone. past_link: as pkt_span
 * takes it.
 */
static __always_inline void follow_write(const struct sk_buff *skb, bool past_link)
{
	if (sample(TL_RX) && pkt_wanted(skb, past_link, false))
		follow_rx(skb, bpf_ktime_get_ns(), 0);
}

static __always_inline void remember_gso_parent(struct tl_slot *v, __u64 now)
{
	struct cpu_state *st = cpu_state();

	if (!st)
		return;
	st->skip = 0;
	st->skb = v->skb;
	st->gen = v->gen;
	st->ts_ns = now;
	st->parent_task = (__u64)v->pid << 32 | v->tid;
	/* The parent is freed as soon as it is segmented: its segments carry its times. */
	for (int i = 0; i < TL_INHERITED_STAGES; i++)
		st->parent_ts[i] = (v->unsent & (1u << i)) ? v->t0 + v->dt[i] : 0;
}

/* An skb unknown at enqueue/xmit on the traced device: a segment of the last GSO parent?
 * Returns its slot if it is followed. */
static __always_inline struct tl_slot *adopt(const struct sk_buff *skb, __u8 point)
{
	struct cpu_state *st = cpu_state();
	__u64 parent = 0;
	__u32 parent_gen = 0;
	__u16 flags = TL_F_LATE_START;
	int own = stage_of(point);
	struct tl_slot *v;
	__u64 now;

	if (PASSING_OVER && (!st || st->skip)) {
		if (st)
			st->filtered = (__u64)skb;
		return NULL; /* a segment of a packet passed over: not even the clock */
	}
	now = bpf_ktime_get_ns();
	if (st && st->skb && now - st->ts_ns < GSO_ADOPT_NS) {
		parent = st->skb;
		parent_gen = st->gen;
		flags = TL_F_SEGMENT;
	} else if (!pkt_wanted(skb, false, false)) {
		return NULL; /* not a segment of a packet the filter took: it asks */
	}
	v = follow(skb, TL_TX, point, KREAD(struct sk_buff, skb, len), flags, now);
	if (v && parent && st && own >= 0) {
		__u8 cpu = bpf_get_smp_processor_id();

		v->parent_gen = parent_gen;
		v->state |= TL_ST_INHERITED;
		v->pid = st->parent_task >> 32; /* the parent's sender sent it */
		v->tid = (__u32)st->parent_task;
		/* The parent's times come before this one: the oldest becomes the base. */
		for (int i = TL_INHERITED_STAGES - 1; i >= 0; i--)
			if (st->parent_ts[i] && now - st->parent_ts[i] <= DT_MAX)
				v->t0 = st->parent_ts[i];
		v->dt[own] = now - v->t0;
		for (int i = 0; i < TL_INHERITED_STAGES; i++) {
			if (!st->parent_ts[i] || st->parent_ts[i] < v->t0)
				continue;
			v->dt[i] = st->parent_ts[i] - v->t0;
			v->cpu[i] = cpu; /* segments are made in their parent's call chain */
			v->unsent |= 1u << i;
		}
	}
	return v;
}

#endif /* TUNLAT_FOLLOW_BPF_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sending a packet's points: its slot's stages and the point of the moment as one
 * record, the writer's comm once per thread and CPU. No programs here.
 */
#ifndef TUNLAT_SEND_BPF_H
#define TUNLAT_SEND_BPF_H

#include "common.bpf.h"
#include "cpu.bpf.h"
#include "ring.bpf.h"
#include "slots.bpf.h"
#include "packet.bpf.h"

/*
 * comm costs tens of ns: it is sent in a TL_COMM record only when this CPU did not just
 * send the same thread's. Userspace keeps comm by tid.
 */
static __always_inline void send_comm_unless(struct cpu_state *st, __u64 id, __u32 *last_tid)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;

	if (!st || *last_tid == (__u32)id || !(r = lone_begin(&ctl, TL_COMM, false, 1)))
		return;
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	bpf_get_current_comm(r->end.comm, sizeof(r->end.comm));
	*last_tid = (__u32)id;
	ring_commit(ctl);
}

static __always_inline void send_comm(struct cpu_state *st, __u64 id)
{
	if (st)
		send_comm_unless(st, id, &st->comm_tid);
}

/* The events a record of these stages stands for, counted as lost if it cannot be sent. */
static __always_inline __u32 stages_in(__u8 unsent)
{
	__u32 n = 0;

	for (int st = 0; st < TL_STAGES; st++)
		n += (unsent >> st) & 1;
	return n;
}

/* The task that ends a record: who dropped it, or who received it. The task of any other
 * end is incidental (a softirq, or the VPN already named at read/inject), and the helper
 * costs ~25 ns. */
static __always_inline __u64 end_task(__u8 point, __u16 flags)
{
	__u64 id = 0;

	if ((flags & TL_F_DROP) || point == TL_DELIVER) {
		id = bpf_get_current_pid_tgid();
		send_comm(cpu_state(), id);
	}
	return id;
}

/* Writes the point of this moment that ends record r, or none if point is COUNT. */
static __always_inline void set_end(struct tl_record *r, __u8 point, __u16 flags, __s32 code,
				    __u64 aux, __u64 id)
{
	r->end.point = point;
	if (point >= TL_POINT_COUNT)
		return;
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.aux = aux;
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	r->end.code = code;
	r->end.cpu = bpf_get_smp_processor_id();
	r->end.flags = flags;
}

/*
 * Sends v's stages not sent yet, plus the point of this moment if point < COUNT, as one
 * record: the slot's line copied whole, with the packet's summary if sum (its first
 * record), or the taking socket's state if tcp. Lost (and counted) if the ring is full.
 */
static __always_inline void send_with(struct tl_slot *v, const struct pkt_scratch *sum,
				      const struct tl_tcp_sample *tcp, __u8 point, __u16 flags,
				      __s32 code, __u64 aux)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u64 id = end_task(point, flags);

	r = ring_begin(&ctl, stages_in(v->unsent) + (point < TL_POINT_COUNT));
	if (r) {
		r->slot = *v;
		set_end(r, point, flags, code, aux, id);
		r->end.summary = sum ? TL_X_SUM : tcp ? TL_X_TCP : TL_X_NONE;
		if (sum) {
			r->end.sum = sum->sum;
			r->end.ip_id = sum->ip_id;
		} else if (tcp)
			r->end.tcp = *tcp;
		ring_commit(ctl);
	}
	/* The packet's first record carries what is known of it from the start. */
	if (v->unsent)
		v->start_flags = 0;
	v->unsent = 0;
}

static __always_inline void send_sum(struct tl_slot *v, const struct pkt_scratch *sum, __u8 point,
				     __u16 flags, __s32 code, __u64 aux)
{
	send_with(v, sum, NULL, point, flags, code, aux);
}

static __always_inline void send(struct tl_slot *v, __u8 point, __u16 flags, __s32 code, __u64 aux)
{
	send_sum(v, NULL, point, flags, code, aux);
}

/*
 * --pcapng: sends the packet's first bytes, as pkt_summary just copied them into the
 * scratch, at most tl_cfg.pcap_snap of them, in records of their own before its first
 * record (the same ring: userspace has them when the packet's journey ends). Without
 * --pcapng the verifier drops the call (tl_cfg.pcap_snap is a constant 0). Not inlined:
 * the programs that send a first record are near the 512-byte stack already, and this
 * runs once per packet.
 */
static __noinline void pkt_send_bytes(__u64 skb, __u32 gen, __u8 dir)
{
	struct pkt_scratch *s;
	__u32 caplen;

	if (!tl_cfg.pcap_snap || !(s = scratch()))
		return;
	caplen = s->m.caplen < tl_cfg.pcap_snap ? s->m.caplen : tl_cfg.pcap_snap;
	if (!caplen)
		return;
	send_bytes_at(s, skb, gen, dir, caplen, 0);
	if (caplen > TL_BYTES_PER_RECORD)
		send_bytes_at(s, skb, gen, dir, caplen, TL_BYTES_PER_RECORD);
}

/* Does v's skb start past its link header (eth_type_trans pulled it)? Those the stack
 * received: RX packets; on a macvtap the TX ones (they arrive from the lower device),
 * while its RX ones are what the VM writes, queued as a TX skb is. */
static __always_inline bool past_link(const struct tl_slot *v)
{
	bool rx = v->state & TL_ST_RX;

	return tl_cfg.handoff == TL_HO_MACVTAP ? !rx : rx;
}

/* The summary of skb if v's next record is its first (it starts with what is known of
 * the packet from the start): read when that record goes, not when the packet is first
 * seen, so that a GSO segment has its own. */
static __always_inline const struct pkt_scratch *first_sum(const struct tl_slot *v,
							   const struct sk_buff *skb)
{
	const struct pkt_scratch *sum;

	if (!(v->start_flags & TL_F_FIRST) || !v->unsent)
		return NULL;
	sum = pkt_summary(skb, past_link(v));
	/* --pcapng: its bytes, from the copy the summary was read from. */
	if (sum && tl_cfg.pcap_snap)
		pkt_send_bytes(v->skb, v->gen, tl_slot_dir(v->state));
	return sum;
}

/* Sends v's stages not sent yet, and no point of this moment. */
static __always_inline void send_unsent(struct tl_slot *v)
{
	send(v, TL_POINT_COUNT, 0, 0, 0);
}

/* Sends what v waits with: its next stage is too late for t0. Rare, so not inlined. */
static __noinline void send_stages(struct tl_slot *v)
{
	send_unsent(v);
}

/* Records that v passed point at now (the clock costs ~40 ns: read once per hit), here. */
static __always_inline void mark_at(struct tl_slot *v, __u8 point, __u64 now)
{
	int st = stage_of(point);

	if (st < 0)
		return;
	if (now - v->t0 > DT_MAX) {
		/* A stall of seconds: what came before goes in a record of its own. */
		if (v->unsent)
			send_stages(v);
		v->t0 = now;
	}
	v->dt[st] = now - v->t0;
	v->cpu[st] = bpf_get_smp_processor_id();
	v->unsent |= 1u << st;
	if (point == TL_XMIT)
		v->state |= TL_ST_XMIT;
}

/* Notes the current task as the packet's writer. */
static __always_inline void mark_task(struct tl_slot *v)
{
	__u64 id = bpf_get_current_pid_tgid();

	v->pid = id >> 32;
	v->tid = (__u32)id;
	send_comm(cpu_state(), id);
}

/*
 * Notes the current task as a TX packet's sender, at its first point (queue): the
 * application whose system call queued it, or, for a packet queued from softirq (TCP data
 * an incoming ACK clocked out, a forwarded packet), whichever task the interrupt found;
 * 0 for the idle task. One helper call (~25 ns): the slot's pid/tid are free until the VPN
 * reads the packet, whose read goes by address. The sender's comm goes once per sending
 * thread and CPU, cached apart from the VPN's (comm_tid), so that a sender and a reader
 * taking turns on one CPU do not send theirs at every packet.
 */
static __always_inline void mark_sender(struct tl_slot *v)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct cpu_state *st;

	v->pid = id >> 32;
	v->tid = (__u32)id;
	if (v->pid && (st = cpu_state()))
		send_comm_unless(st, id, &st->sender_tid);
}

#endif /* TUNLAT_SEND_BPF_H */

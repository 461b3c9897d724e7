/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VPN's read of a TX packet from the device (tun_do_read), on the VPN's CPU: held per
 * CPU until its free, and sent with it as one record named by the skb's address, without
 * the slot (a line the queueing CPU wrote). No programs here (rx.bpf.c reads, free.bpf.c
 * frees).
 */
#ifndef TUNLAT_READ_BPF_H
#define TUNLAT_READ_BPF_H

#include "common.bpf.h"
#include "cpu.bpf.h"
#include "ring.bpf.h"
#include "slots.bpf.h"
#include "send.bpf.h"

/* A tun read copies a packet out in one call (two with a VLAN tag), microseconds apart. */
#define SECOND_COPY_NS (100 * 1000ULL)

/*
 * An skb none of whose reads and frees can matter: not followed (its address carries no
 * tag of ours) while the filter or --sample passes packets over, and nothing else to
 * learn of it (the scheduler part looks for the VPN's underlay reads among them, unless
 * sock_recv_length gives those: 6.3+). Told by its address alone: the first to read one
 * of its fields pays for bringing the line over from the CPU that wrote it (~30 ns per
 * hit, measured at the VPN's read), and nothing needs to here.
 */
static __always_inline bool passed_over(const struct sk_buff *skb)
{
	return PASSING_OVER && (!tl_cfg.sched || tl_cfg.recv_tp) && !tagged((__u64)skb);
}

/*
 * Sends the TX read this CPU holds, with the point of this moment (its free) if point <
 * COUNT, as a record named by the skb's address: no slot is read, userspace finds the
 * packet (the last one handed off at that address).
 */
static __noinline void send_read(struct cpu_state *st, __u8 point, __u16 flags, __s32 code,
				 __u64 aux)
{
	struct tl_ring_ctl *ctl;
	__u64 id = end_task(point, flags);
	struct tl_record *r = ring_begin(&ctl, 1 + (point < TL_POINT_COUNT));

	if (r) {
		r->slot.skb = st->read_skb;
		r->slot.t0 = st->read_ts;
		r->slot.dt[TL_STAGE_READ] = 0;
		r->slot.cpu[TL_STAGE_READ] = bpf_get_smp_processor_id();
		r->slot.gen = 0;
		r->slot.parent_gen = 0;
		r->slot.len = 0;
		r->slot.pid = st->read_id >> 32;
		r->slot.tid = (__u32)st->read_id;
		r->slot.unsent = 1u << TL_STAGE_READ;
		r->slot.state = TL_ST_BY_ADDRESS;
		r->slot.start_flags = 0;
		set_end(r, point, flags, code, aux, id);
		r->end.summary = 0;
		ring_commit(ctl);
	}
	st->read_skb = 0;
}

/*
 * The VPN reads a TX skb from the device (tun_do_read): held on this CPU until its free,
 * which comes next in the same call, so that both go in one record. The slot is not
 * touched: it is a line the queueing CPU wrote, and reading it here cost more than all
 * the rest of the read.
 */
static __always_inline void note_read(const struct sk_buff *skb)
{
	struct cpu_state *st = cpu_state();
	__u64 id, now;

	if (!st)
		return;
	if (PASSING_OVER && !tagged((__u64)skb))
		return; /* --sample, filter: mostly a packet not followed; userspace drops the rest
			 */
	now = bpf_ktime_get_ns();
	/* A second copy from one skb comes in the same read, right after the first. The same
	 * address read later is another packet: the reader moved to another CPU between the
	 * last read here and its free, which was not seen here. */
	if (st->read_skb == (__u64)skb && now - st->read_ts < SECOND_COPY_NS)
		return;
	if (st->read_skb)
		send_read(st, TL_POINT_COUNT, 0, 0, 0); /* its free was not seen here */
	id = bpf_get_current_pid_tgid();
	st->read_skb = (__u64)skb;
	st->read_ts = now;
	st->read_id = id;
	send_comm(st, id);
}

/*
 * A TX packet taken from the device by the kernel itself (tl_cfg.handoff: a kernel VPN
 * queues the same skb on its underlay, a veth's peer receives it): sent at once, by
 * address. Not held for its free as a read is: that comes much later and elsewhere (the
 * far end of the tunnel), after the address has mostly come back as the next packet,
 * which would leave this one unmatched.
 */
static __always_inline void note_handoff(const struct sk_buff *skb)
{
	struct cpu_state *st = cpu_state();

	if (!st)
		return;
	/* A read held here goes first: its free was not seen. */
	if (st->read_skb)
		send_read(st, TL_POINT_COUNT, 0, 0, 0);
	st->read_skb = (__u64)skb;
	st->read_ts = bpf_ktime_get_ns();
	st->read_id = bpf_get_current_pid_tgid();
	send_comm(st, st->read_id);
	send_read(st, TL_POINT_COUNT, 0, 0, 0);
}

#endif /* TUNLAT_READ_BPF_H */

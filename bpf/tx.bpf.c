// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TX path's programs on the traced device: queue, qdisc enqueue and dequeue, the
 * handing to the device (xmit, whose record goes from this CPU) and its error rc. A TX
 * packet's read and free come later from the VPN's CPU (rx.bpf.c, free.bpf.c).
 */
#include "common.bpf.h"
#include "cpu.bpf.h"
#include "slots.bpf.h"
#include "packet.bpf.h"
#include "send.bpf.h"
#include "identity.bpf.h"
#include "follow.bpf.h"
#include "sched.bpf.h"
#include "read.bpf.h"

/*
 * Is skb a GSO skb, to be split into segments before the driver? Not only one longer than
 * the MTU: TCP bounds its MSS to half the peer's largest window (tcp_bound_to_half_wnd),
 * so behind a peer without window scaling (slirp4netns) on a 64 KiB-MTU tap a 32822-byte
 * skb is two segments of 32767 and 1 bytes. Asked on the traced device's queue only.
 */
static __always_inline bool skb_is_gso(const struct sk_buff *skb)
{
	/* end: an offset on 64-bit kernels */
	__u64 shinfo = (__u64)KREAD(struct sk_buff, skb, head) + KREAD(struct sk_buff, skb, end);

	return KREAD(struct skb_shared_info, shinfo, gso_size) != 0;
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(on_net_dev_queue, struct sk_buff *skb)
{
	const struct net_device *dev = KREAD(struct sk_buff, skb, dev);
	struct tl_slot *v;
	__u16 flags = 0;
	__u64 now;
	__u32 len;

	if (!is_target_dev(dev)) {
		const bool macvtap = tl_cfg.handoff == TL_HO_MACVTAP;

		/* A kernel VPN sends the packet it took from the device, encrypted in place: the
		 * same skb, queued on the underlay. The tag spares the rest a lookup. */
		if (tl_cfg.handoff == TL_HO_UNDERLAY && tagged((__u64)skb))
			note_handoff(skb);
		if (tl_cfg.sched && !macvtap)
			note_owner_io(TL_SEND, skb); /* the VPN's send on its underlay, maybe */
		/* Only a packet that came in through the traced device can be forwarded out: its
		 * skb_iif says so, which spares the lookup for everything else. A macvtap's VM's
		 * write, which its xmit queues on the lower device, carries none: its tag says. */
		if (!dev || (macvtap ? !tagged((__u64)skb)
				     : KREAD(struct sk_buff, skb, skb_iif) != tl_cfg.ifindex))
			return 0;
		/* It leaves in the netns of the device it is queued on. */
		v = lookup_in(skb, (__u64)KREAD(struct net_device, dev, nd_net.net));
		if (v && (v->state & TL_ST_RX) && !(v->state & TL_ST_DELIVER)) {
			/* A packet written into the device leaves through another: delivered. One
			 * the stack never received (a VM's write) sends its summary here. */
			send_sum(v, first_sum(v, skb), TL_DELIVER, TL_F_FORWARDED | TL_F_LAST, 0,
				 KREAD(struct net_device, dev, ifindex));
			v->skb = 0;
		}
		return 0;
	}
	if (tl_cfg.handoff == TL_HO_MACVTAP) {
		follow_write(skb, false); /* a VM's write: the macvtap's RX */
		return 0;
	}
	if (!sample(TL_TX))
		return 0;
	if (!pkt_wanted(skb, false, true)) /* its segments are not followed either */
		return 0;
	len = KREAD(struct sk_buff, skb, len);
	if (skb_is_gso(skb))
		flags = TL_F_GSO;
	/* net_dev_queue runs once per transmission: whatever was at this address is gone. */
	now = bpf_ktime_get_ns();
	v = follow(skb, TL_TX, TL_QUEUE, len, flags, now);
	if (v)
		mark_sender(v);
	if (v && (flags & TL_F_GSO))
		remember_gso_parent(v, now);
	else if (PASSING_OVER)
		clear_skip();
	return 0;
}

/*
 * Enqueue, dequeue, start_xmit and receive are points only on the traced device: its
 * pointer is compared first, which spares every other device's skbs the lookup.
 */
SEC("raw_tp/qdisc_enqueue")
int BPF_PROG(on_qdisc_enqueue, struct Qdisc *q, const struct netdev_queue *txq, struct sk_buff *skb)
{
	struct tl_slot *v;

	if (!is_target_dev(KREAD(struct netdev_queue, txq, dev)) || tl_cfg.handoff == TL_HO_MACVTAP)
		return 0; /* a macvtap's own queue and xmit carry its VM's writes: its RX */
	v = lookup_before_xmit(skb);
	if (!v)
		adopt(skb, TL_ENQUEUE); /* e.g. tbf segmenting an oversized GSO skb */
	else if (dir_of(v) == TL_TX)
		mark_at(v, TL_ENQUEUE, bpf_ktime_get_ns());
	return 0;
}

SEC("raw_tp/qdisc_dequeue")
int BPF_PROG(on_qdisc_dequeue, struct Qdisc *q, const struct netdev_queue *txq, int packets,
	     struct sk_buff *skb)
{
	struct tl_slot *v;
	__u64 now;

	if (!skb || !is_target_dev(KREAD(struct netdev_queue, txq, dev)))
		return 0;
	v = lookup_before_xmit(skb);
	if (!v || dir_of(v) != TL_TX) {
		struct cpu_state *st;

		/* Not followed (--sample, filter): its segments, made right after, are not either.
		 */
		if (PASSING_OVER && (st = cpu_state()))
			st->skip = 1;
		return 0;
	}
	now = bpf_ktime_get_ns();
	mark_at(v, TL_DEQUEUE, now);
	if (v->state & TL_ST_GSO)
		remember_gso_parent(v, now);
	return 0;
}

/*
 * The packet is handed to the device: its record goes now, from this CPU, and its slot
 * stays here. Its read and free come from the VPN's CPU by address (note_read).
 */
SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(on_net_dev_start_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	struct tl_slot *v;

	/* Passed over by the filter at its queue on this CPU: spares the lookup. */
	if (!is_target_dev(dev) || filtered_here(skb) || tl_cfg.handoff == TL_HO_MACVTAP)
		return 0;
	v = lookup_before_xmit(skb);
	if (!v) {
		v = adopt(skb, TL_XMIT);
	} else {
		if (dir_of(v) != TL_TX || (v->state & TL_ST_XMIT))
			return 0;
		mark_at(v, TL_XMIT, bpf_ktime_get_ns());
	}
	if (v)
		send_sum(v, first_sum(v, skb), TL_POINT_COUNT, 0, 0, 0);
	return 0;
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(on_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	struct tl_slot *v;

	/* The skb may already be read, freed and reused: only an error rc is worth a lookup. */
	if (rc == 0 || !is_target_dev(dev))
		return 0;
	v = lookup(skb);
	if (!v || dir_of(v) != TL_TX)
		return 0;
	send(v, TL_XMIT_DONE, 0, rc, 0);
	return 0;
}

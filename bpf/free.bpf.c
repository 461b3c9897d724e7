// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frees and drops: a followed packet's end (a TX packet's read and free by address: see
 * read.bpf.h), an owner's underlay read that ends so, and the drops elsewhere that hurt
 * the tunnel (drops.bpf.h).
 */
#include "common.bpf.h"
#include "cpu.bpf.h"
#include "slots.bpf.h"
#include "packet.bpf.h"
#include "send.bpf.h"
#include "identity.bpf.h"
#include "read.bpf.h"
#include "drops.bpf.h"
#include "sched.bpf.h"

/* A free: of a packet followed (true: sent), of an owner's underlay read, or of nothing of
 * ours. */
static __always_inline bool on_free(const struct sk_buff *skb, __u16 flags, __s32 code, __u64 aux)
{
	struct skb_marks m;
	struct tl_slot *v;
	struct cpu_state *st = cpu_state();

	/* A read noted here is followed (tagged), unless its tag was taken since. */
	if (passed_over(skb) && !(st && st->read_skb == (__u64)skb))
		return false;
	m = marks_of(skb);
	if (is_tx(m) && st && st->read_skb == (__u64)skb) {
		send_read(st, TL_FREE, flags, code, aux); /* the VPN read it: the usual end */
		return true;
	}
	if (tl_cfg.sched && !(m.on_dev || m.from_dev) && !(flags & TL_F_DROP)) {
		note_owner_io(TL_UREAD,
			      skb); /* a VPN's read of its underlay socket ends so, maybe */
		return false;
	}
	/* Anything else, mostly a drop before or in the device's xmit on the queueing CPU,
	 * is looked up. A packet handed off is only freed here while it still carries the
	 * device (a full tun ring, a purge): another skb at its address (an RX skb of
	 * another netns's device with the same ifindex) finds a slot that is stale. */
	if (!(m.on_dev || m.from_dev) || !(v = lookup(skb)))
		return false;
	if (handed_off(v) && !m.on_dev)
		return false;
	send(v, TL_FREE, flags, code, aux);
	v->skb = 0;
	return true;
}

/* A drop: of a packet followed, else one elsewhere that hurts the tunnel. rx_sk: the
 * socket it was meant for, where the kernel says (kfree_skb's fourth argument, 6.11+). */
static __always_inline int on_drop(const struct sk_buff *skb, __u64 location, __s32 reason,
				   const struct sock *rx_sk)
{
	const struct net_device *dev;
	__u64 net = 0;

	/* A packet the user's filter passed over, dropped right away (a full tun ring). */
	if (filtered_here(skb))
		return 0;
	if (on_free(skb, TL_F_DROP, reason, location))
		return 0;
	if (!rx_sk)
		rx_sk = KREAD(struct sk_buff, skb, sk);
	if (rx_sk)
		net = sk_net(rx_sk);
	else if ((dev = KREAD(struct sk_buff, skb, dev)))
		net = (__u64)KREAD(struct net_device, dev, nd_net.net);
	note_drop_elsewhere(skb, location, reason, rx_sk, net && net == target_net);
	return 0;
}

SEC("raw_tp/consume_skb")
int BPF_PROG(on_consume_skb, struct sk_buff *skb)
{
	on_free(skb, 0, 0, 0);
	return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_drop(skb, (__u64)location, reason, NULL);
}

/* The same, where kfree_skb also names the socket the skb was meant for (6.11+): the
 * loader attaches one of the two. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     const struct sock *rx_sk)
{
	return on_drop(skb, (__u64)location, reason, rx_sk);
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which skbs are the traced device's: the marks an skb carries, its netns, and the slot
 * of the packet followed at its address. No programs here.
 */
#ifndef TUNLAT_IDENTITY_BPF_H
#define TUNLAT_IDENTITY_BPF_H

#include "common.bpf.h"
#include "slots.bpf.h"
#include "send.bpf.h"

/*
 * Where an skb stands to the traced device, from two loads of the skb, which the kernel is
 * using. TX skbs carry the device in skb->dev to their end, and never its ifindex in
 * skb_iif; RX skbs carry its ifindex in skb_iif from netif_receive_skb on (skb->dev
 * changes when one is forwarded, and UDP reuses it as scratch). Neither: not ours, and
 * the tag, a line other CPUs write, is spared.
 */
struct skb_marks {
	bool on_dev;   /* skb->dev is the traced device */
	bool from_dev; /* skb_iif is its ifindex */
};

static __always_inline struct skb_marks marks_of(const struct sk_buff *skb)
{
	struct skb_marks m = {(__u64)KREAD(struct sk_buff, skb, dev) == target_dev,
			      KREAD(struct sk_buff, skb, skb_iif) == tl_cfg.ifindex};

	return m;
}

/* A TX skb, one a reader takes from the device: not received through it, except on a
 * macvtap, whose VM reads what the lower device received (skb_iif the macvtap's after
 * macvlan's receive handler passed it on); nothing the VM writes reaches a socket here. */
static __always_inline bool is_tx(struct skb_marks m)
{
	return m.on_dev && (!m.from_dev || tl_cfg.handoff == TL_HO_MACVTAP);
}

static __always_inline __u64 sk_net(const struct sock *sk)
{
	return (__u64)KREAD(struct sock, sk, __sk_common.skc_net.net);
}

/* The current task's netns: rare (an RX skb's identity without a device or a socket). */
static __always_inline __u64 task_net(void)
{
	const struct nsproxy *nsproxy = KREAD(struct task_struct, bpf_get_current_task(), nsproxy);

	return (__u64)KREAD(struct nsproxy, nsproxy, net_ns);
}

/*
 * Is an skb that carries the traced ifindex in skb_iif one of the traced device's? skb_iif
 * is an ifindex, unique only in its netns: another namespace's device numbered alike (two
 * containers' eth0 or tap0 often are) marks its skbs the same. net is the netns this point
 * knows the skb to be in (tcp_probe's socket, a forwarding device), or 0: then the skb says,
 * by its device while it has ours (skb->dev changes when forwarded; TCP clears it and UDP
 * reuses it as scratch in the socket), else by its socket (TCP's, set while queued), else
 * (a UDP skb in its socket) by the netns of the task reading it. A TCP segment of ours
 * always has one of the first two: the task is not asked for one the socket took.
 */
static __always_inline bool rx_ours(const struct sk_buff *skb, const struct tl_slot *v, __u64 net)
{
	const struct sock *sk;

	if (net)
		return net == target_net;
	if ((__u64)KREAD(struct sk_buff, skb, dev) == target_dev)
		return true;
	sk = KREAD(struct sk_buff, skb, sk);
	if (sk)
		return sk_net(sk) == target_net;
	if (v->state & TL_ST_TAKEN)
		return false;
	return task_net() == target_net;
}

/*
 * The followed packet at this address, if any. RX packets often end without a traced
 * free (TCP frees with __kfree_skb), so their entry outlives them and the address comes
 * back as another skb. After netif_receive_skb an RX skb carries the traced ifindex in
 * skb_iif for the rest of its life, and stays in the device's netns (rx_ours, net as it
 * takes it): a mismatch means the entry is stale. Both are asked only of such an entry.
 */
static __always_inline struct tl_slot *lookup_in(const struct sk_buff *skb, __u64 net)
{
	__u64 h = (__u64)skb;
	__u32 idx = slot_idx(h);
	__u8 tag = slot_tag(h);
	struct tl_slot *v = find(h, idx, tag);

	if (!v)
		v = find(h, second_slot(idx, tag), tag);
	if (!v)
		return NULL;
	if (settled(v) &&
	    (KREAD(struct sk_buff, skb, skb_iif) != tl_cfg.ifindex || !rx_ours(skb, v, net))) {
		v->skb = 0;
		return NULL;
	}
	return v;
}

static __always_inline struct tl_slot *lookup(const struct sk_buff *skb)
{
	return lookup_in(skb, 0);
}

/* An RX packet's path ends here: nothing more of it is sent, its slot is free. */
static __always_inline void send_last(struct tl_slot *v, __u8 point, __u16 flags, __u64 aux)
{
	send(v, point, flags | TL_F_LAST, 0, aux);
	v->skb = 0;
}

/* The packet at this address, if it has not been handed to the device yet: one that was
 * is gone from this side, and its address may have come back as a GSO segment. */
static __always_inline struct tl_slot *lookup_before_xmit(const struct sk_buff *skb)
{
	struct tl_slot *v = lookup(skb);

	return v && !handed_off(v) ? v : NULL;
}

#endif /* TUNLAT_IDENTITY_BPF_H */

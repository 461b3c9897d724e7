// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RX path's programs: the VPN's write (inject, at whichever entry the driver takes),
 * the stack's receive, and the copy to a socket's reader, which is also where the VPN
 * reads a TX packet from the device (read.bpf.h).
 */
#include "common.bpf.h"
#include "slots.bpf.h"
#include "packet.bpf.h"
#include "send.bpf.h"
#include "identity.bpf.h"
#include "follow.bpf.h"
#include "read.bpf.h"
#include "sched.bpf.h"

SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(on_skb_copy_datagram_iovec, const struct sk_buff *skb, int len)
{
	struct skb_marks m;
	struct tl_slot *v;

	if (passed_over(skb))
		return 0;
	m = marks_of(skb);

	if (is_tx(m)) {
		note_read(skb);
		return 0;
	}
	if (!m.from_dev) {
		if (tl_cfg.sched && !m.on_dev)
			note_owner_io(TL_UREAD, skb); /* the VPN reads its underlay socket, maybe */
		return 0;
	}
	/* An RX skb delivered */
	if (!(v = lookup(skb)))
		return 0;
	if (dir_of(v) == TL_TX)
		return 0;
	if (v->state & TL_ST_DELIVER)
		return 0;
	/* Its end: a stream socket may copy one skb in several reads, and the free that
	 * follows (TCP: __kfree_skb) mostly has no tracepoint. */
	send_last(v, TL_DELIVER, 0, 0);
	return 0;
}

/* The VPN's write: tun_get_user hands a new skb to the stack in the writer's context. */
static __always_inline int on_inject(const struct sk_buff *skb)
{
	struct tl_slot *v;

	if (!is_target_dev(KREAD(struct sk_buff, skb, dev)) || !sample(TL_RX) ||
	    !pkt_wanted(skb, true, false))
		return 0;
	/* A new skb: any entry at this address belongs to a packet that is gone. */
	v = follow(skb, TL_RX, TL_INJECT, KREAD(struct sk_buff, skb, len), 0, bpf_ktime_get_ns());
	if (v)
		mark_task(v);
	return 0;
}

SEC("raw_tp/netif_rx_entry")
int BPF_PROG(on_netif_rx_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb_entry")
int BPF_PROG(on_netif_receive_skb_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb_list_entry")
int BPF_PROG(on_netif_receive_skb_list_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/napi_gro_receive_entry")
int BPF_PROG(on_napi_gro_receive_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(on_netif_receive_skb, struct sk_buff *skb)
{
	struct tl_slot *v;

	/* The stack takes the skb from the device it arrived on: skb->dev is still ours. */
	if (!is_target_dev(KREAD(struct sk_buff, skb, dev))) {
		/* A veth's peer receives the very skb the device sent: its handoff. */
		if (tl_cfg.handoff == TL_HO_PEER && tagged((__u64)skb))
			note_handoff(skb);
		return 0;
	}
	v = lookup(skb);
	if (!v || !(v->state & TL_ST_RX) || (v->state & TL_ST_RECEIVE))
		return 0;
	/* The RX record ends here: its free is often not traced. */
	v->state |= TL_ST_RECEIVE;
	send_sum(v, first_sum(v, skb), TL_RECEIVE, 0, 0, 0);
	return 0;
}

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

/* The VPN's write: tun_get_user hands a new skb to the stack in the writer's context; a
 * kernel VPN's NAPI poll, the packet it decrypted. A macvtap's come from its lower device or
 * a macvlan beside it (their receive, below): its VM's writes are its RX (tx.bpf.c). */
static __always_inline int on_inject(const struct sk_buff *skb)
{
	__u16 flags = 0;

	if (tl_cfg.handoff == TL_HO_MACVTAP || !is_target_dev(KREAD(struct sk_buff, skb, dev)) ||
	    !sample(TL_RX) || !pkt_wanted(skb, true, false))
		return 0;
	/* A kernel VPN's: from its arrival on the underlay (RX span `vpn`). */
	follow_rx(skb,
		  tl_cfg.handoff == TL_HO_UNDERLAY ? underlay_arrival(skb, &flags)
						   : bpf_ktime_get_ns(),
		  flags);
	return 0;
}

/*
 * A frame for a macvtap's VM: received by the lower device (or, from a macvlan beside it
 * in bridge mode, by the macvtap itself) and addressed to the macvtap, whose receive
 * handler queues this skb for the VM (tap_handle_frame). Its TX starts here, at `xmit`:
 * the device has it. Broadcasts and multicasts reach the VM as copies: not followed.
 */
static __always_inline void on_vm_bound(const struct sk_buff *skb)
{
	__u16 mac = KREAD(struct sk_buff, skb, mac_header);
	__u16 net = KREAD(struct sk_buff, skb, network_header);
	__u64 dst = 0;
	struct tl_slot *v;
	__u32 len;

	if (mac == (__u16)~0U ||
	    bpf_probe_read_kernel(&dst, 6,
				  (const void *)((__u64)KREAD(struct sk_buff, skb, head) + mac)) ||
	    dst != tl_cfg.mac)
		return;
	if (!sample(TL_TX) || !pkt_wanted(skb, true, false))
		return;
	/* The frame as the VM reads it: with the Ethernet header eth_type_trans pulled. */
	len = KREAD(struct sk_buff, skb, len);
	if (net != (__u16)~0U && net > mac)
		len += net - mac;
	v = follow(skb, TL_TX, TL_XMIT, len, 0, bpf_ktime_get_ns());
	if (v)
		send_sum(v, first_sum(v, skb), TL_POINT_COUNT, 0, 0, 0);
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

	if (tl_cfg.handoff == TL_HO_MACVTAP) {
		on_vm_bound(skb);
		return 0;
	}
	/* The stack takes the skb from the device it arrived on: skb->dev is still ours. */
	if (!is_target_dev(KREAD(struct sk_buff, skb, dev))) {
		/* A veth's peer receives the very skb the device sent: its handoff. */
		if (tl_cfg.handoff == TL_HO_PEER && tagged((__u64)skb))
			note_handoff(skb);
		else if (tl_cfg.handoff == TL_HO_UNDERLAY)
			note_underlay_rx(skb); /* maybe a packet the VPN will decrypt */
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

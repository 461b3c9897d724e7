// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunlat monitor: every tun/tap device userspace names in mon_devs, at once, with nothing
 * sent per packet. A packet's slot holds the times of its points; at each point the span
 * that ends there is added to the device's per-CPU histogram (bpf/monitor.h), and the
 * stages where packets queue count what enters and leaves them, so that userspace can
 * tell a stall from the packets held and the time of the last release.
 *
 * TX: net_dev_queue -> net_dev_start_xmit -> the VPN's read (skb_copy_datagram_iovec)
 * -> its free. RX: the VPN's write (netif_rx & co) -> netif_receive_skb -> a TCP socket
 * takes it (tcp_probe) -> the application's read, or only delivered.
 *
 * Sampling (mon_sample N > 1): a packet's slot costs a cache line that crosses CPUs with
 * it, more than an always-on budget allows at high rates. Then each CPU follows 1 packet
 * in N per direction, and the next one to start after it followed none for QUIET_JIFFIES;
 * every packet is counted where the tracepoint names the device (queue, xmit, inject,
 * with bytes). A followed packet stands for those its CPU passed over since the last one
 * followed (its weight w): what only it tells (later points, spans, stages, drops, lost)
 * counts w. So a trickle is followed whole, a flood costs a count for most packets, and
 * a stage that stalls holds a followed packet within QUIET_JIFFIES of new traffic.
 */
#include "kread.bpf.h"
#include "monitor.h"
#include "monitor_devices.bpf.h"
#include "monitor_drops.bpf.h"
#include "monitor_slots.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* 1 packet in mon_sample is followed, and more at a trickle (see the top; set by the
 * loader; 1: every one). */
const volatile __u32 mon_sample = 1;

/* Per CPU: the last packet queued (or dequeued), whose GSO segments inherit its queue
 * time, its weight and whether it is followed (at 0: it is not); and the sampling's
 * state per direction (TX, RX): the packets started since the last one followed, and
 * that one's jiffy. */
struct mon_parent {
	__u64 skb, t_queue, at;
	__u32 dev;
	__u32 w;
	__u32 passed[2];
	__u64 jiffies[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mon_parent);
} mon_parent SEC(".maps");

#define GSO_ADOPT_NS (5 * 1000 * 1000ULL)

/* 100 ms at Debian's HZ=250 (25 ms at 1000, 250 ms at 100). */
#define QUIET_JIFFIES 25

/* Is the packet starting now on this CPU in direction rx one to follow? Its weight if so,
 * else 0. */
static __always_inline __u32 pick(struct mon_parent *p, bool rx)
{
	__u64 j;
	__u32 w;

	if (mon_sample <= 1)
		return 1;
	if (!p)
		return 0;
	w = ++p->passed[rx];
	j = bpf_jiffies64();
	if (w < mon_sample && j - p->jiffies[rx] < QUIET_JIFFIES)
		return 0;
	p->passed[rx] = 0;
	p->jiffies[rx] = j;
	return w;
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(mon_net_dev_queue, struct sk_buff *skb)
{
	const struct net_device *netdev = KREAD(struct sk_buff, skb, dev);
	int dev = dev_index(netdev);
	struct tl_mon_dev_stats *s;
	struct mon_parent *p;
	struct mon_slot *v;
	__u32 zero = 0, w;
	__u64 now;

	if (dev < 0 || !(s = stats_of(dev)))
		return 0;
	count_every(s, TL_MP_QUEUE);
	s->bytes[0] += KREAD(struct sk_buff, skb, len);
	p = bpf_map_lookup_elem(&mon_parent, &zero);
	w = pick(p, false);
	if (!w) {
		if (p) {
			p->skb = (__u64)skb;
			p->at = 0;
			p->dev = dev;
		}
		forget(skb);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (p) {
		p->skb = (__u64)skb;
		p->t_queue = now;
		p->at = now;
		p->dev = dev;
		p->w = w;
	}
	v = take(skb, dev, KREAD(struct net_device, netdev, ifindex), MS_QUEUED, w);
	if (!v)
		return 0;
	v->t[0] = now;
	enter_stage(v, TL_MQ_QDISC);
	return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(mon_net_dev_start_xmit, struct sk_buff *skb, struct net_device *netdev)
{
	int dev = dev_index(netdev);
	struct tl_mon_dev_stats *s;
	struct mon_parent *p;
	struct mon_slot *v;
	__u32 zero = 0, w;
	bool adopt;
	__u64 now;

	if (dev < 0 || !(s = stats_of(dev)))
		return 0;
	v = find(skb);
	if (v && ((v->state & MS_RX) || v->dev != dev))
		v = NULL; /* an earlier skb at this address, whose end was not seen */
	if (v && (v->state & MS_P1))
		return 0; /* handed to this device already: the driver asked for it again */
	count_every(s, TL_MP_XMIT);
	if (v) {
		now = bpf_ktime_get_ns();
		leave_stage(v, true, now);
	} else {
		/* A segment of a GSO packet queued just before on this CPU (followed if that
		 * one is), or a packet whose queue was not seen: its ring and read still
		 * count. */
		p = bpf_map_lookup_elem(&mon_parent, &zero);
		if (mon_sample > 1 && p && p->dev == dev && !p->at)
			return 0; /* its parent is not followed */
		now = bpf_ktime_get_ns();
		adopt = p && p->dev == dev && now - p->at < GSO_ADOPT_NS;
		w = adopt ? p->w : pick(p, false);
		if (!w)
			return 0;
		v = take(skb, dev, KREAD(struct net_device, netdev, ifindex), 0, w);
		if (!v)
			return 0;
		if (adopt) {
			v->t[0] = p->t_queue;
			v->state |= MS_QUEUED;
		}
	}
	if (v->state & MS_QUEUED)
		add_span(s, v, TL_MS_QDISC, now - v->t[0]);
	v->t[1] = now;
	v->state |= MS_P1;
	enter_stage(v, TL_MQ_RING);
	return 0;
}

/*
 * With --sample only (the loader attaches it then): the packet a qdisc hands on next on
 * this CPU, queued maybe long before and on another CPU. The GSO segments made from it
 * right after are followed if it is, and not if it is not.
 */
SEC("raw_tp/qdisc_dequeue")
int BPF_PROG(mon_qdisc_dequeue, struct Qdisc *q, const struct netdev_queue *txq, int packets,
	     struct sk_buff *skb)
{
	struct mon_parent *p;
	struct mon_slot *v;
	__u32 zero = 0;
	int dev;

	if (!skb || (dev = dev_index(KREAD(struct netdev_queue, txq, dev))) < 0 ||
	    !(p = bpf_map_lookup_elem(&mon_parent, &zero)))
		return 0;
	v = find(skb);
	p->skb = (__u64)skb;
	p->dev = dev;
	p->at = 0;
	if (v && !(v->state & MS_RX) && v->dev == dev && (v->state & MS_QUEUED)) {
		p->t_queue = v->t[0];
		p->at = bpf_ktime_get_ns();
		p->w = v->w;
	}
	return 0;
}

/* A copy to a reader: the VPN reads a TX packet, or an application an RX one. */
SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(mon_skb_copy_datagram_iovec, const struct sk_buff *skb, int len)
{
	struct tl_mon_dev_stats *s;
	struct mon_slot *v = find(skb);
	__u64 now;

	if (!v || !(s = stats_of(v->dev)))
		return 0;
	now = bpf_ktime_get_ns();
	if (!(v->state & MS_RX)) {
		if (!(v->state & MS_P1) || (v->state & MS_P2))
			return 0; /* not in the ring, or a second copy of one read */
		leave_stage(v, true, now);
		add_span(s, v, TL_MS_RING, now - v->t[1]);
		if (v->state & MS_QUEUED)
			add_span(s, v, TL_MS_TX_TOTAL, now - v->t[0]);
		v->t[2] = now;
		v->state |= MS_P2;
		count_point(s, v, TL_MP_READ);
		return 0;
	}
	/* RX: received, and on its way in the stack of the device it came in by (a slot
	 * whose packet was freed unseen may hold an address now another skb's). */
	if (!(v->state & MS_P1) || KREAD(struct sk_buff, skb, skb_iif) != v->ifindex)
		return 0;
	if (v->state & MS_P2)
		add_span(s, v, TL_MS_SOCKET, now - v->t[2]);
	else
		add_span(s, v, TL_MS_STACK, now - v->t[1]);
	add_span(s, v, TL_MS_RX_TOTAL, now - v->t[0]);
	count_point(s, v, TL_MP_DELIVER);
	give_up(v);
	return 0;
}

/* The end of an skb: a TX packet's after its read; a drop anywhere on the way. */
static __always_inline void on_free(const struct sk_buff *skb, bool drop, __u32 reason,
				    __u64 location, const struct sock *rx_sk)
{
	struct tl_mon_dev_stats *s;
	struct mon_slot *v = find(skb);
	__u64 now;

	if (!v) {
		if (drop)
			underlay_drop(skb, rx_sk, reason, location);
		return;
	}
	if (!(s = stats_of(v->dev)))
		return;
	now = bpf_ktime_get_ns();
	if (!(v->state & MS_RX) && (v->state & MS_P2)) {
		add_span(s, v, TL_MS_COPY, now - v->t[2]);
		count_point(s, v, TL_MP_FREE);
	} else {
		/* Left its stage early: consumed, it went on (a GSO packet, as its segments,
		 * which were handed on before); dropped, it did not. */
		leave_stage(v, !drop, now);
	}
	if (drop)
		count_drop(location, reason, v->dev, (v->state & MS_RX) ? 1 : 0,
			   TL_MON_SCOPE_DEVICE, v->w);
	give_up(v);
}

SEC("raw_tp/consume_skb")
int BPF_PROG(mon_consume_skb, struct sk_buff *skb)
{
	on_free(skb, false, 0, 0, NULL);
	return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(mon_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	on_free(skb, true, reason, (__u64)location, NULL);
	return 0;
}

/* The same, where kfree_skb also names the socket the skb was meant for (6.11+): the
 * loader attaches one of the two. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(mon_kfree_skb_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     const struct sock *rx_sk)
{
	on_free(skb, true, reason, (__u64)location, rx_sk);
	return 0;
}

/* The VPN's write: a new skb of the device enters the stack. */
static __always_inline int on_inject(const struct sk_buff *skb)
{
	const struct net_device *netdev = KREAD(struct sk_buff, skb, dev);
	int dev = dev_index(netdev);
	struct tl_mon_dev_stats *s;
	struct mon_slot *v;
	__u32 zero = 0, w;

	if (dev < 0 || !(s = stats_of(dev)))
		return 0;
	count_every(s, TL_MP_INJECT);
	s->bytes[1] += KREAD(struct sk_buff, skb, len);
	w = pick(bpf_map_lookup_elem(&mon_parent, &zero), true);
	if (!w) {
		forget(skb);
		return 0;
	}
	v = take(skb, dev, KREAD(struct net_device, netdev, ifindex), MS_RX, w);
	if (!v)
		return 0;
	v->t[0] = bpf_ktime_get_ns();
	enter_stage(v, TL_MQ_BACKLOG);
	return 0;
}

SEC("raw_tp/netif_rx_entry")
int BPF_PROG(mon_netif_rx_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb_entry")
int BPF_PROG(mon_netif_receive_skb_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb_list_entry")
int BPF_PROG(mon_netif_receive_skb_list_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/napi_gro_receive_entry")
int BPF_PROG(mon_napi_gro_receive_entry, const struct sk_buff *skb)
{
	return on_inject(skb);
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(mon_netif_receive_skb, struct sk_buff *skb)
{
	struct tl_mon_dev_stats *s;
	struct mon_slot *v = find(skb);
	__u64 now;

	if (!v || (v->state & (MS_RX | MS_P1)) != MS_RX || !(s = stats_of(v->dev)))
		return 0;
	now = bpf_ktime_get_ns();
	leave_stage(v, true, now);
	add_span(s, v, TL_MS_BACKLOG, now - v->t[0]);
	v->t[1] = now;
	v->state |= MS_P1;
	count_point(s, v, TL_MP_RECEIVE);
	return 0;
}

/* An established TCP socket takes a received segment: an ACK ends here (TCP frees it
 * without a tracepoint); data waits to be read. */
SEC("raw_tp/tcp_probe")
int BPF_PROG(mon_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	struct tl_mon_dev_stats *s;
	struct mon_slot *v = find(skb);
	__u64 now, cb;
	__u32 data;

	if (!v || (v->state & (MS_RX | MS_P1 | MS_P2)) != (MS_RX | MS_P1) ||
	    KREAD(struct sk_buff, skb, skb_iif) != v->ifindex || !(s = stats_of(v->dev)))
		return 0;
	now = bpf_ktime_get_ns();
	add_span(s, v, TL_MS_STACK, now - v->t[1]);
	count_point(s, v, TL_MP_TAKEN);
	cb = (__u64)skb + bpf_core_field_offset(struct sk_buff, cb);
	data = KREAD(struct tcp_skb_cb, cb, end_seq) - KREAD(struct tcp_skb_cb, cb, seq);
	if (!data) {
		add_span(s, v, TL_MS_RX_TOTAL, now - v->t[0]);
		give_up(v);
		return 0;
	}
	v->t[2] = now;
	v->state |= MS_P2;
	return 0;
}

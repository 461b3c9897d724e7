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
#include "skb_addr.bpf.h"
#include "monitor.h"
#include "monitor_devices.bpf.h"
#include "monitor_drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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

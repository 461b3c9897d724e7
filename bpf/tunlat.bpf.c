// SPDX-License-Identifier: GPL-2.0
/* Follows the skbs of one tun/tap device through the kernel path; one event per point. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tunlat.h"

char LICENSE[] SEC("license") = "GPL";

/* The traced device: set by the loader between open() and load(). */
const volatile __u32 targ_ifindex = 0;
const volatile __u32 targ_netns = 0;
/* Wake the consumer once per this many events per CPU; it also polls on a timer. */
const volatile __u32 targ_wakeup_events = 1024;

/* A packet being followed: its skb address and the generation that tells reuses apart. */
struct live {
	__u64 skb;
	__u32 gen;
	__u8 dir;
	__u8 seen; /* bitmask of points already reported, for points that may repeat */
	__u8 gso;  /* a GSO skb: its segments will inherit from it */
	__u8 pad;
};

#define SEEN(p) (1u << (p))

/*
 * Packets in flight, in a direct-mapped table indexed by a hash of the skb address.
 * An array lookup is inlined by the verifier: a few ns, where a hash map costs tens
 * of ns per hit on every skb of the system. A new packet takes its slot whatever was
 * there: mostly an RX skb whose free has no tracepoint; rarely a packet in flight,
 * which then never finishes and is counted as evicted by userspace.
 */
#define LIVE_BITS 18

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << LIVE_BITS);
	__type(key, __u32);
	__type(value, struct live);
} live SEC(".maps");

static __always_inline struct live *slot_of(const struct sk_buff *skb)
{
	/* skbs are slab objects >= 256 bytes apart: drop the low bits, then mix. */
	__u32 idx = (((__u64)skb >> 8) * 0x9E3779B97F4A7C15ULL) >> (64 - LIVE_BITS);

	return bpf_map_lookup_elem(&live, &idx);
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Per-CPU state. The last GSO parent seen on the traced device: segments made by
 * validate_xmit_skb (or tbf) get new addresses but run on the same CPU in the same call
 * chain as their parent's queue/dequeue, so they can inherit it.
 */
struct cpu_state {
	__u64 skb;
	__u64 ts_ns;
	__u32 gen;
	__u32 next_gen;  /* generation counter */
	__u32 comm_tid;  /* the thread whose comm this CPU sent last: not sent again */
	__u32 unwoken;   /* events since the consumer was last woken */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} percpu SEC(".maps");

/* Segments must follow their parent within this time on the same CPU. */
#define GSO_ADOPT_NS (5 * 1000 * 1000ULL)

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&percpu, &zero);
}

/* Unique among live packets: a per-CPU counter with the CPU in the low bits. */
static __always_inline __u32 next_gen(struct cpu_state *st)
{
	__u32 n = st ? ++st->next_gen : 0;

	return (n << 10) | (bpf_get_smp_processor_id() & 0x3ff);
}

/*
 * The traced device's struct net_device, learnt at its first full check. Every helper
 * read costs tens of ns on a raw tracepoint, so later checks compare pointers only. The
 * pointer stays valid while the device exists; tunlat stops when the device goes away.
 */
__u64 target_dev = 0;
__u32 target_mtu = 0;

static __always_inline bool is_target_dev(const struct net_device *dev)
{
	if (!dev)
		return false;
	if (target_dev)
		return (__u64)dev == target_dev;
	if (BPF_CORE_READ(dev, ifindex) != targ_ifindex ||
	    BPF_CORE_READ(dev, nd_net.net, ns.inum) != targ_netns)
		return false;
	target_mtu = BPF_CORE_READ(dev, mtu);
	target_dev = (__u64)dev;
	return true;
}

/*
 * Only an skb longer than the MTU can be GSO (TCP and UDP never mark a single segment
 * GSO), so the three reads into skb_shared_info are spent on those alone.
 */
static __always_inline bool skb_is_gso(const struct sk_buff *skb, __u32 len)
{
	if (len <= target_mtu + 64) /* room for link-layer headers */
		return false;
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 end = BPF_CORE_READ(skb, end); /* an offset on 64-bit kernels */
	struct skb_shared_info *shinfo = (void *)(head + end);

	return BPF_CORE_READ(shinfo, gso_size) != 0;
}

struct emit_args {
	__u32 len; /* skb->len, where the packet starts */
	__u64 parent_skb;
	__u64 aux;
	__u32 parent_gen;
	__s32 code;
	__u16 flags;
};

static __always_inline void emit(const struct sk_buff *skb, __u32 gen, __u8 point, __u8 dir,
				 const struct emit_args *a)
{
	struct cpu_state *st = cpu_state();
	struct tl_event *e;
	__u64 flags = BPF_RB_NO_WAKEUP;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TL_CNT_LOST);
		return;
	}
	__u64 id = bpf_get_current_pid_tgid();

	e->ts_ns = bpf_ktime_get_ns();
	e->skb = (__u64)skb;
	e->parent_skb = a ? a->parent_skb : 0;
	e->aux = a ? a->aux : 0;
	e->gen = gen;
	e->parent_gen = a ? a->parent_gen : 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	/* The length is read once, where a packet starts being followed (saves a read per point). */
	e->len = a ? a->len : 0;
	e->code = a ? a->code : 0;
	e->cpu = bpf_get_smp_processor_id();
	e->point = point;
	e->dir = dir;
	e->flags = a ? a->flags : 0;
	e->pad = 0;
	/*
	 * comm costs tens of ns: send it only where a process matters (reader, writer,
	 * receiver, dropper) and only when this CPU did not just send the same thread's.
	 * Userspace keeps comm by tid (Correlator).
	 */
	if ((point == TL_READ || point == TL_INJECT || point == TL_DELIVER || (e->flags & TL_F_DROP)) &&
	    st && st->comm_tid != e->tid) {
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		st->comm_tid = e->tid;
	} else {
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}

	/* Batch wake-ups: the consumer polls on a short timer anyway. */
	if (st && ++st->unwoken >= targ_wakeup_events) {
		st->unwoken = 0;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(e, flags);
}

/* Starts following skb in direction dir; returns its generation. */
static __always_inline __u32 follow(const struct sk_buff *skb, __u8 dir, __u8 gso)
{
	struct live *v = slot_of(skb);
	__u32 gen = next_gen(cpu_state());

	if (v) {
		v->skb = (__u64)skb;
		v->gen = gen;
		v->dir = dir;
		v->seen = 0;
		v->gso = gso;
	}
	return gen;
}

/*
 * The followed packet at this address, if any. RX packets often end without a traced
 * free (TCP frees with __kfree_skb), so their entry outlives them and the address comes
 * back as another skb. After netif_receive_skb an RX skb carries the traced device in
 * skb_iif for the rest of its life: a mismatch means the entry is stale.
 */
static __always_inline struct live *lookup(const struct sk_buff *skb)
{
	struct live *v = slot_of(skb);

	if (!v || v->skb != (__u64)skb)
		return NULL;
	if (v->dir == TL_RX && (v->seen & SEEN(TL_RECEIVE)) &&
	    BPF_CORE_READ(skb, skb_iif) != targ_ifindex) {
		v->skb = 0;
		return NULL;
	}
	return v;
}

static __always_inline void remember_gso_parent(const struct sk_buff *skb, __u32 gen)
{
	struct cpu_state *st = cpu_state();

	if (!st)
		return;
	st->skb = (__u64)skb;
	st->gen = gen;
	st->ts_ns = bpf_ktime_get_ns();
}

/* An skb unknown at enqueue/xmit on the traced device: a segment of the last GSO parent? */
static __always_inline void adopt(const struct sk_buff *skb, __u8 point)
{
	struct cpu_state *st = cpu_state();
	struct emit_args a = {};
	__u32 gen;

	if (st && st->skb && bpf_ktime_get_ns() - st->ts_ns < GSO_ADOPT_NS) {
		a.parent_skb = st->skb;
		a.parent_gen = st->gen;
		a.flags = TL_F_SEGMENT;
		count(TL_CNT_SEGMENTS);
	} else {
		a.flags = TL_F_LATE_START;
	}
	a.len = BPF_CORE_READ(skb, len);
	gen = follow(skb, TL_TX, 0);
	emit(skb, gen, point, TL_TX, &a);
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(on_net_dev_queue, struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct emit_args a = {};
	struct live *v;
	__u32 gen;

	if (!is_target_dev(dev)) {
		/* Only a packet that came in through the traced device can be forwarded out:
		 * its skb_iif says so, which spares the lookup for everything else. */
		if (BPF_CORE_READ(skb, skb_iif) != targ_ifindex)
			return 0;
		v = lookup(skb);
		if (v && v->dir == TL_RX && !(v->seen & SEEN(TL_DELIVER))) {
			/* A packet the VPN wrote leaves through another device: delivered. */
			v->seen |= SEEN(TL_DELIVER);
			a.flags = TL_F_FORWARDED;
			a.aux = BPF_CORE_READ(dev, ifindex);
			emit(skb, v->gen, TL_DELIVER, TL_RX, &a);
		}
		return 0;
	}
	a.len = BPF_CORE_READ(skb, len);
	if (skb_is_gso(skb, a.len))
		a.flags = TL_F_GSO;
	/* net_dev_queue runs once per transmission: whatever was at this address is gone. */
	gen = follow(skb, TL_TX, a.flags & TL_F_GSO);
	if (a.flags & TL_F_GSO)
		remember_gso_parent(skb, gen);
	emit(skb, gen, TL_QUEUE, TL_TX, &a);
	return 0;
}

SEC("raw_tp/qdisc_enqueue")
int BPF_PROG(on_qdisc_enqueue, struct Qdisc *q, const struct netdev_queue *txq, struct sk_buff *skb)
{
	struct live *v = lookup(skb);

	if (v) {
		if (v->dir == TL_TX)
			emit(skb, v->gen, TL_ENQUEUE, TL_TX, NULL);
		return 0;
	}
	if (is_target_dev(BPF_CORE_READ(txq, dev)))
		adopt(skb, TL_ENQUEUE); /* e.g. tbf segmenting an oversized GSO skb */
	return 0;
}

SEC("raw_tp/qdisc_dequeue")
int BPF_PROG(on_qdisc_dequeue, struct Qdisc *q, const struct netdev_queue *txq, int packets,
	     struct sk_buff *skb)
{
	struct live *v;

	if (!skb)
		return 0;
	v = lookup(skb);
	if (!v || v->dir != TL_TX)
		return 0;
	emit(skb, v->gen, TL_DEQUEUE, TL_TX, NULL);
	if (v->gso)
		remember_gso_parent(skb, v->gen);
	return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(on_net_dev_start_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	struct live *v = lookup(skb);

	if (!v) {
		if (is_target_dev(dev))
			adopt(skb, TL_XMIT);
		return 0;
	}
	if (v->dir != TL_TX || (v->seen & SEEN(TL_XMIT)))
		return 0;
	v->seen |= SEEN(TL_XMIT);
	emit(skb, v->gen, TL_XMIT, TL_TX, NULL);
	return 0;
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(on_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int skb_len)
{
	struct emit_args a = {};
	struct live *v;

	/* The skb may already be read, freed and reused: only an error rc is worth a lookup. */
	if (rc == 0 || !is_target_dev(dev))
		return 0;
	v = lookup(skb);
	if (!v || v->dir != TL_TX)
		return 0;
	a.code = rc;
	emit(skb, v->gen, TL_XMIT_DONE, TL_TX, &a);
	return 0;
}

SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(on_skb_copy_datagram_iovec, const struct sk_buff *skb, int len)
{
	struct live *v = lookup(skb);
	__u8 point;

	if (!v)
		return 0;
	point = v->dir == TL_TX ? TL_READ : TL_DELIVER;
	if (v->seen & SEEN(point))
		return 0; /* a stream socket may copy one skb in several reads */
	v->seen |= SEEN(point);
	emit(skb, v->gen, point, v->dir, NULL);
	return 0;
}

/* The VPN's write: tun_get_user hands a new skb to the stack in the writer's context. */
static __always_inline int on_inject(const struct sk_buff *skb)
{
	struct emit_args a = {};
	__u32 gen;

	if (!is_target_dev(BPF_CORE_READ(skb, dev)))
		return 0;
	a.len = BPF_CORE_READ(skb, len);
	/* A new skb: any entry at this address belongs to a packet that is gone. */
	gen = follow(skb, TL_RX, 0);
	emit(skb, gen, TL_INJECT, TL_RX, &a);
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
	struct live *v = lookup(skb);

	if (!v || v->dir != TL_RX || (v->seen & SEEN(TL_RECEIVE)))
		return 0;
	v->seen |= SEEN(TL_RECEIVE);
	emit(skb, v->gen, TL_RECEIVE, TL_RX, NULL);
	return 0;
}

static __always_inline int on_free(const struct sk_buff *skb, const struct emit_args *a)
{
	struct live *v = lookup(skb);

	if (!v)
		return 0;
	emit(skb, v->gen, TL_FREE, v->dir, a);
	v->skb = 0;
	return 0;
}

SEC("raw_tp/consume_skb")
int BPF_PROG(on_consume_skb, struct sk_buff *skb)
{
	return on_free(skb, NULL);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct emit_args a = {
		.aux = (__u64)location,
		.code = reason,
		.flags = TL_F_DROP,
	};

	return on_free(skb, &a);
}

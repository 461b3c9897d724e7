// SPDX-License-Identifier: GPL-2.0-only
/*
 * Follows the skbs of one tun/tap device through the kernel path. A packet's points are
 * kept in its slot and sent to userspace together, as one tl_record (the slot and the
 * point that ends it) in its CPU's ring, when it leaves the CPU that took it in (TX:
 * handed to the device; RX: protocol processing starts). A TX packet's read and free, on
 * the VPN's CPU, follow in a record named by its address: see note_read().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tunlat.h"
#include "slots.bpf.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * KREAD(type, ptr, field): one field of a kernel object. Where the kernel has the
 * bpf_rdonly_cast kfunc (6.2+), objects are read through its views: a field is then one
 * load the JIT guards against faults, where BPF_CORE_READ costs a bpf_probe_read_kernel
 * call (~30 ns each on a machine with return-thunk mitigations, 3-7 ns for the load).
 * The verifier turns the kfunc call into a register move, so a view per read is free.
 * This file is also built with TUNLAT_COMPAT (the tunlat_bpf_compat skeleton) for older
 * kernels, where each field is a CO-RE probe read; the loader picks by the kernel's BTF.
 * Field offsets are CO-RE relocated either way (vmlinux.h marks every struct).
 */
#ifdef TUNLAT_COMPAT
#define KREAD(type, ptr, field) BPF_CORE_READ((const type *)(ptr), field)
#else
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define VIEW(type, ptr) ((const type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))
#define KREAD(type, ptr, field) (VIEW(type, ptr)->field)
#endif

/* The traced device: set by the loader between open() and load(). */
const volatile __u32 targ_ifindex = 0;
const volatile __u32 targ_netns = 0;
/* Follow 1 packet in this many (per CPU and direction) for extreme rates; 1 = every one. */
const volatile __u32 targ_sample = 1;

#include "drops.bpf.h"
#include "sched.bpf.h"

/*
 * Per-CPU state. The last GSO parent seen on the traced device: segments made by
 * validate_xmit_skb (or tbf) get new addresses but run on the same CPU in the same call
 * chain as their parent's queue/dequeue, so they can inherit it.
 */
struct cpu_state {
	__u64 skb;
	__u64 ts_ns;
	__u64 parent_ts[TL_INHERITED_STAGES]; /* the parent's queue, enqueue, dequeue: its segments carry them */
	__u32 gen;
	__u32 next_gen;  /* generation counter */
	__u32 comm_tid;  /* the thread whose comm this CPU sent last: not sent again */
	__u32 sender_tid; /* the same for the last thread seen queueing a packet (mark_sender) */
	__u32 sampled[2];  /* packets started per direction, for --sample */
	__u32 skip;      /* the last packet queued here is not followed: nor are its segments */
	__u64 filtered;  /* the last skb here the filter passed over: its drop is not news */
	/* A TX skb this CPU's VPN thread read, waiting for its free (next, mostly). */
	__u64 read_skb;
	__u64 read_ts;
	__u64 read_id;   /* pid_tgid of the reader */
	__u64 parent_task; /* pid_tgid of the last GSO parent's sender: its segments' */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} percpu SEC(".maps");

/* A tun read copies a packet out in one call (two with a VLAN tag), microseconds apart. */
#define SECOND_COPY_NS (100 * 1000ULL)

/* Segments must follow their parent within this time on the same CPU. */
#define GSO_ADOPT_NS (5 * 1000 * 1000ULL)

static __always_inline struct cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&percpu, &zero);
}

#include "packet.bpf.h"

/* Are packets passed over (--sample, or the filter), so that their GSO segments and
 * reads must be told apart from those of packets followed? */
#define PASSING_OVER (targ_sample > 1 || targ_filter_len)

/* Unique among live packets: a per-CPU counter with the CPU in the low bits. */
static __always_inline __u32 next_gen(struct cpu_state *st)
{
	__u32 n = st ? ++st->next_gen : 0;

	return (n << 10) | (bpf_get_smp_processor_id() & 0x3ff);
}

/*
 * The traced device's struct net_device: found at start by learn_target_dev, else learnt
 * at its first full check. Every helper
 * read costs tens of ns on a raw tracepoint, so later checks compare pointers only. The
 * pointer stays valid while the device exists; tunlat stops when the device goes away.
 */
__u64 target_dev __attribute__((aligned(64))) = 0; /* a line of its own: read by every hit */
/* The device's struct net: an RX skb that has left the device is told apart from another
 * namespace's by it (ifindexes are per namespace). Learnt with target_dev. */
__u64 target_net = 0;

static __always_inline bool is_target_dev(const struct net_device *dev)
{
	if (!dev)
		return false;
	if (target_dev)
		return (__u64)dev == target_dev;
	if (KREAD(struct net_device, dev, ifindex) != targ_ifindex)
		return false;
	const struct net *net = KREAD(struct net_device, dev, nd_net.net);

	if (KREAD(struct net, net, ns.inum) != targ_netns)
		return false;
	target_net = (__u64)net;
	target_dev = (__u64)dev;
	return true;
}

/*
 * Run once by userspace after loading (BPF_PROG_TEST_RUN, from a thread inside the traced
 * device's netns): finds the device in that netns's list, so that even the first hits,
 * and every hit while the device carries nothing, compare a pointer instead of reading a
 * net_device. If it is not found there, the first hit on the device learns it.
 */
SEC("raw_tp")
int learn_target_dev(void *ctx)
{
	const struct nsproxy *nsproxy = KREAD(struct task_struct, bpf_get_current_task(), nsproxy);
	const struct net *net = KREAD(struct nsproxy, nsproxy, net_ns);
	__u64 head, pos;

	if (KREAD(struct net, net, ns.inum) != targ_netns)
		return 0;
	head = (__u64)net + bpf_core_field_offset(struct net, dev_base_head);
	pos = (__u64)KREAD(struct list_head, head, next);
	for (int i = 0; i < 4096 && pos && pos != head; i++) {
		__u64 dev = pos - bpf_core_field_offset(struct net_device, dev_list);

		if (KREAD(struct net_device, dev, ifindex) == targ_ifindex) {
			is_target_dev((const struct net_device *)dev);
			return 0;
		}
		pos = (__u64)KREAD(struct list_head, pos, next);
	}
	return 0;
}

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

/* The packet path's helpers, in the order they build on each other and on the above. */
#include "send.bpf.h"
#include "identity.bpf.h"
#include "follow.bpf.h"

SEC("raw_tp/net_dev_queue")
int BPF_PROG(on_net_dev_queue, struct sk_buff *skb)
{
	const struct net_device *dev = KREAD(struct sk_buff, skb, dev);
	struct tl_slot *v;
	__u16 flags = 0;
	__u64 now;
	__u32 len;

	if (!is_target_dev(dev)) {
		if (targ_sched)
			note_owner_io(TL_SEND, skb); /* the VPN's send on its underlay, maybe */
		/* Only a packet that came in through the traced device can be forwarded out:
		 * its skb_iif says so, which spares the lookup for everything else. */
		if (KREAD(struct sk_buff, skb, skb_iif) != targ_ifindex || !dev)
			return 0;
		/* It leaves in the netns of the device it is queued on. */
		v = lookup_in(skb, (__u64)KREAD(struct net_device, dev, nd_net.net));
		if (v && (v->state & TL_ST_RX) && !(v->state & TL_ST_DELIVER))
			/* A packet the VPN wrote leaves through another device: delivered. */
			send_last(v, TL_DELIVER, TL_F_FORWARDED, KREAD(struct net_device, dev, ifindex));
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

	if (!is_target_dev(KREAD(struct netdev_queue, txq, dev)))
		return 0;
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

		/* Not followed (--sample, filter): its segments, made right after, are not either. */
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
	if (!is_target_dev(dev) || filtered_here(skb))
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
int BPF_PROG(on_net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int skb_len)
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
	return PASSING_OVER && (!targ_sched || targ_recv_tp) && !tagged((__u64)skb);
}

/*
 * Sends the TX read this CPU holds, with the point of this moment (its free) if point <
 * COUNT, as a record named by the skb's address: no slot is read, userspace finds the
 * packet (the last one handed off at that address).
 */
static __noinline void send_read(struct cpu_state *st, __u8 point, __u16 flags, __s32 code, __u64 aux)
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
		return; /* --sample, filter: mostly a packet not followed; userspace drops the rest */
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
		if (targ_sched && !m.on_dev)
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

/*
 * An established TCP socket takes a segment (tcp_rcv_established, from softirq or from
 * its backlog at release_sock): a segment without data (an ACK) ends here, consumed and
 * freed by __kfree_skb, which has no tracepoint; one with data waits to be read.
 */
SEC("raw_tp/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	__u64 cb;
	struct tl_slot *v;
	__u32 data;

	if (KREAD(struct sk_buff, skb, skb_iif) != targ_ifindex || !sk)
		return 0;
	v = lookup_in(skb, sk_net(sk));
	if (!v || !settled(v) || (v->state & (TL_ST_TAKEN | TL_ST_DELIVER)))
		return 0;
	cb = (__u64)skb + bpf_core_field_offset(struct sk_buff, cb);
	data = KREAD(struct tcp_skb_cb, cb, end_seq) - KREAD(struct tcp_skb_cb, cb, seq); /* SYN, FIN: one */
	v->state |= TL_ST_TAKEN;
	/* The socket is this host's: its own view of the connection, for the flow. */
	struct tl_tcp_sample t = {
		.snd_cwnd = KREAD(struct tcp_sock, sk, snd_cwnd),
		.srtt_us = KREAD(struct tcp_sock, sk, srtt_us) >> 3, /* kept x8 */
		.packets_out = KREAD(struct tcp_sock, sk, packets_out),
		.snd_wnd = KREAD(struct tcp_sock, sk, snd_wnd),
	};
	if (!data) {
		send_with(v, NULL, &t, TL_TAKEN, TL_F_CONSUMED | TL_F_LAST, 0, 0);
		v->skb = 0;
	} else {
		send_with(v, NULL, &t, TL_TAKEN, 0, 0, data);
	}
	return 0;
}

/*
 * The host sends a TCP segment again (tcp:tcp_retransmit_skb, before it goes out): its
 * own count, beside the one the device sees, for sockets in the device's netns. The
 * record names the socket's flow as a packet summary would (TX: the host's side first).
 */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u16 family;

	if (!sk || sk_net(sk) != target_net)
		return 0;
	family = KREAD(struct sock, sk, __sk_common.skc_family);
	if (family != 2 /* AF_INET */ && family != 10 /* AF_INET6 */)
		return 0;
	if (!(r = ring_begin(&ctl, 1)))
		return 0;
	__builtin_memset(&r->end.sum, 0, sizeof(r->end.sum));
	if (family == 2) {
		/* Network order, as packet summaries keep addresses. */
		r->end.sum.saddr = KREAD(struct sock, sk, __sk_common.skc_rcv_saddr);
		r->end.sum.daddr = KREAD(struct sock, sk, __sk_common.skc_daddr);
		r->end.sum.ethertype = 0x0800;
	} else {
		__u8 a[16];

		bpf_probe_read_kernel(a, sizeof(a), (const void *)sk + bpf_core_field_offset(struct sock, __sk_common.skc_v6_rcv_saddr));
		r->end.sum.saddr = tl_addr6_hash(a);
		bpf_probe_read_kernel(a, sizeof(a), (const void *)sk + bpf_core_field_offset(struct sock, __sk_common.skc_v6_daddr));
		r->end.sum.daddr = tl_addr6_hash(a);
		r->end.sum.ethertype = 0x86dd;
	}
	r->end.sum.sport = KREAD(struct sock, sk, __sk_common.skc_num);
	r->end.sum.dport = bpf_ntohs(KREAD(struct sock, sk, __sk_common.skc_dport));
	r->end.sum.proto = 6;
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.aux = KREAD(struct sk_buff, skb, len);
	r->end.pid = bpf_get_current_pid_tgid() >> 32;
	r->end.tid = 0;
	/* Segments sent again: tcp_skb_pcount, what TcpRetransSegs adds (one call may
	 * resend a GSO skb of several). */
	r->end.code = KREAD(struct tcp_skb_cb, (__u64)skb + bpf_core_field_offset(struct sk_buff, cb), tcp_gso_segs);
	r->end.cpu = bpf_get_smp_processor_id();
	r->end.point = TL_RETRANS;
	r->end.flags = 0;
	r->end.summary = TL_X_SUM;
	ring_commit(ctl);
	return 0;
}

/* The VPN's write: tun_get_user hands a new skb to the stack in the writer's context. */
static __always_inline int on_inject(const struct sk_buff *skb)
{
	struct tl_slot *v;

	if (!is_target_dev(KREAD(struct sk_buff, skb, dev)) || !sample(TL_RX) || !pkt_wanted(skb, true, false))
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
	if (!is_target_dev(KREAD(struct sk_buff, skb, dev)))
		return 0;
	v = lookup(skb);
	if (!v || !(v->state & TL_ST_RX) || (v->state & TL_ST_RECEIVE))
		return 0;
	/* The RX record ends here: its free is often not traced. */
	v->state |= TL_ST_RECEIVE;
	send_sum(v, first_sum(v, skb), TL_RECEIVE, 0, 0, 0);
	return 0;
}

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
	if (targ_sched && !(m.on_dev || m.from_dev) && !(flags & TL_F_DROP)) {
		note_owner_io(TL_UREAD, skb); /* a VPN's read of its underlay socket ends so, maybe */
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

static long flush_one(struct bpf_map *map, __u32 *key, struct tl_slot *v, void *ctx)
{
	if (v->skb && v->unsent)
		send_unsent(v);
	return 0;
}

/* Run once by userspace at the end (BPF_PROG_TEST_RUN): sends the packets in flight. */
SEC("raw_tp")
int flush_in_flight(void *ctx)
{
	bpf_for_each_map_elem(&live, flush_one, NULL, 0);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device's owner processes as the scheduler sees them, for tunlat.bpf.c: their threads'
 * state changes (TL_SCHED), their sends on other devices (TL_SEND) and their reads of
 * other skbs (TL_UREAD), each a lone record in the rings. Needs KREAD, ring_begin and
 * drops.bpf.h's sock_ino.
 */
#ifndef TUNLAT_SCHED_BPF_H
#define TUNLAT_SCHED_BPF_H

/* 1 unless --no-sched: the packet path's hooks below are then compiled out by the verifier
 * (rodata is constant), and the scheduler programs are not loaded at all. */
const volatile __u32 targ_sched = 0;

/*
 * The owners' tgids, set by the loader after load. sched_switch fires on every context
 * switch of the machine: the common path must be a couple of loads. A byte per tgid modulo
 * OWNER_HINTS says whether some owner may have it; only then is the hash asked.
 */
#define OWNER_HINTS 1024
__u8 owner_hint[OWNER_HINTS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} owners SEC(".maps");

/* Task states as prev_state gives them (include/linux/sched.h; stable for years). */
#define TL_TASK_UNINTERRUPTIBLE 0x2
#define TL_TASK_STOPPED 0x4
#define TL_TASK_TRACED 0x8
#define TL_TASK_DEAD 0x80

static __always_inline bool maybe_owner(__u32 tgid)
{
	return owner_hint[tgid & (OWNER_HINTS - 1)];
}

static __always_inline bool is_owner(__u32 tgid)
{
	return maybe_owner(tgid) && bpf_map_lookup_elem(&owners, &tgid);
}

/*
 * Sends that owner thread t (of tgid) is now in state; other, if any, is the task that
 * ran instead (preempted) or before it (switched in): its tid and comm. The comm is one
 * probe read, on the owner's switches only.
 */
static __always_inline void send_sched(const struct task_struct *t, __u32 tgid, __u8 state, __u16 flags,
				       const struct task_struct *other, __u32 cpu)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r = ring_begin(&ctl, 1);

	if (!r)
		return;
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.pid = tgid;
	r->end.tid = KREAD(struct task_struct, t, pid);
	r->end.cpu = cpu;
	r->end.point = TL_SCHED;
	r->end.code = state;
	r->end.flags = flags;
	r->end.aux = 0;
	r->end.comm[0] = 0;
	if (other) {
		r->end.aux = (__u32)KREAD(struct task_struct, other, pid);
		bpf_probe_read_kernel(r->end.comm, sizeof(r->end.comm),
				      (const void *)other + bpf_core_field_offset(struct task_struct, comm));
	}
	ring_commit(ctl);
}

/*
 * A context switch: prev leaves the CPU, next takes it. prev_state is prev->__state at
 * the switch (the raw tracepoint's fourth argument since 5.18); a preempted task keeps
 * running state, or any state with preempt set (it had not gone to sleep yet).
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 prev_tgid = KREAD(struct task_struct, prev, tgid);
	__u32 next_tgid = KREAD(struct task_struct, next, tgid);
	__u32 cpu;

	if (!maybe_owner(prev_tgid) && !maybe_owner(next_tgid))
		return 0;
	cpu = bpf_get_smp_processor_id();
	if (is_owner(prev_tgid)) {
		__u8 state = TL_TS_SLEEPING;
		__u16 flags = 0;
		const struct task_struct *other = NULL;

		if (preempt || prev_state == 0) {
			state = TL_TS_RUNNABLE;
			flags = TL_SF_PREEMPTED;
			other = next;
		} else if (prev_state & (TL_TASK_STOPPED | TL_TASK_TRACED)) {
			state = TL_TS_STOPPED;
		} else if (prev_state & TL_TASK_DEAD) {
			state = TL_TS_EXITED;
		} else if (prev_state & TL_TASK_UNINTERRUPTIBLE) {
			flags = TL_SF_UNINTERRUPTIBLE;
		}
		send_sched(prev, prev_tgid, state, flags, other, cpu);
	}
	if (is_owner(next_tgid))
		send_sched(next, next_tgid, TL_TS_RUNNING, 0, prev, cpu);
	return 0;
}

/* A wakeup puts the task on a runqueue: that of the CPU it will run on. */
static __always_inline int on_wakeup(const struct task_struct *p)
{
	__u32 tgid = KREAD(struct task_struct, p, tgid);

	if (is_owner(tgid))
		send_sched(p, tgid, TL_TS_RUNNABLE, TL_SF_WOKEN, NULL, KREAD(struct task_struct, p, thread_info.cpu));
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_sched_process_exit, struct task_struct *p)
{
	__u32 tgid = KREAD(struct task_struct, p, tgid);

	if (is_owner(tgid))
		send_sched(p, tgid, TL_TS_EXITED, 0, NULL, bpf_get_smp_processor_id());
	return 0;
}

/*
 * 1 where sock:sock_recv_length exists (6.3+): the owners' underlay reads are taken there,
 * one per message received, with its socket, in the reading thread's own time. Not from
 * the copies and frees of skbs below, then: UDP copies a linear skb without a tracepoint
 * and frees it later (deferred to the softirq of the CPU that made it, in whatever task's
 * time), so those see other skbs as often as the VPN's.
 */
const volatile __u32 targ_recv_tp = 0;

#define TL_AF_INET 2
#define TL_AF_INET6 10
#define TL_MSG_PEEK 2

SEC("raw_tp/sock_recv_length")
int BPF_PROG(on_sock_recv_length, struct sock *sk, int ret, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u16 family;

	if (ret <= 0 || (flags & TL_MSG_PEEK) || !is_owner(id >> 32))
		return 0;
	/* An IP socket's: the VPN's netlink and unix sockets carry no packets of the tunnel. */
	family = KREAD(struct sock, sk, __sk_common.skc_family);
	if (family != TL_AF_INET && family != TL_AF_INET6)
		return 0;
	if (!(r = ring_begin(&ctl, 1)))
		return 0;
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	r->end.cpu = bpf_get_smp_processor_id();
	r->end.point = TL_UREAD;
	r->end.code = 0;
	r->end.flags = TL_IO_SOCK;
	r->end.aux = ret;
	r->end.comm[0] = 0;
	r->slot.skb = sock_ino(sk);
	ring_commit(ctl);
	return 0;
}

/* The last skb each CPU counted as an underlay read: its copy and its free are one read. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_uread SEC(".maps");

/*
 * An owner thread's packet of another device: a send (net_dev_queue on its underlay) or
 * a read of its underlay socket: skb_copy_datagram_iovec, or the free after it, for UDP
 * copies a linear skb without that tracepoint (copy_linear_skb) and then consumes it. Only counted, with its length, for the VPN's time per
 * packet: the packet path calls this only when targ_sched is set.
 */
static __always_inline void note_owner_io(__u8 kind, const struct sk_buff *skb)
{
	__u64 id;
	struct tl_ring_ctl *ctl;
	struct tl_record *r;

	if (kind == TL_UREAD && targ_recv_tp)
		return; /* taken at sock_recv_length instead */
	id = bpf_get_current_pid_tgid();
	if (!is_owner(id >> 32))
		return;
	if (kind == TL_UREAD) {
		__u32 zero = 0;
		__u64 *last = bpf_map_lookup_elem(&last_uread, &zero);

		if (!last || *last == (__u64)skb)
			return;
		*last = (__u64)skb;
	}
	if (!(r = ring_begin(&ctl, 1)))
		return;
	r->end.ts_ns = bpf_ktime_get_ns();
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	r->end.cpu = bpf_get_smp_processor_id();
	r->end.point = kind;
	r->end.code = 0;
	r->end.flags = 0;
	r->end.aux = KREAD(struct sk_buff, skb, len);
	r->end.comm[0] = 0;
	if (kind == TL_SEND) {
		/* Whose send: a softirq in the owner's time sends for other sockets too. */
		const struct sock *sk = KREAD(struct sk_buff, skb, sk);

		r->slot.skb = sk ? sock_ino(sk) : 0;
		r->end.flags = TL_IO_SOCK;
	}
	ring_commit(ctl);
}

#endif /* TUNLAT_SCHED_BPF_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device's owner processes as the scheduler sees them: their threads' state changes
 * (TL_SCHED), their sends on other devices (TL_SEND) and their reads of other skbs
 * (TL_UREAD), each a lone record in the rings. The programs are in sched.bpf.c.
 *
 * tl_cfg.sched is 1 unless --no-sched: the packet path's hooks below are then compiled out
 * by the verifier (rodata is constant), and the scheduler programs are not loaded at all.
 */
#ifndef TUNLAT_SCHED_BPF_H
#define TUNLAT_SCHED_BPF_H

#include "common.bpf.h"
#include "ring.bpf.h"
#include "drops.bpf.h"

/*
 * The owners' tgids, set by the loader after load. sched_switch fires on every context
 * switch of the machine: the common path must be a couple of loads. A byte per tgid modulo
 * TL_OWNER_HINTS (bpf/tunlat.h) says whether some owner may have it; only then is the
 * hash asked.
 */
__u8 owner_hint[TL_OWNER_HINTS] = {};

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
	return owner_hint[tgid & (TL_OWNER_HINTS - 1)];
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
static __always_inline void send_sched(const struct task_struct *t, __u32 tgid, __u8 state,
				       __u16 flags, const struct task_struct *other, __u32 cpu)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r = lone_begin(&ctl, TL_SCHED, false, 1);

	if (!r)
		return;
	r->end.pid = tgid;
	r->end.tid = KREAD(struct task_struct, t, pid);
	r->end.cpu = cpu;
	r->end.code = state;
	r->end.flags = flags;
	if (other) {
		r->end.aux = (__u32)KREAD(struct task_struct, other, pid);
		bpf_probe_read_kernel(r->end.comm, sizeof(r->end.comm),
				      (const void *)other +
					      bpf_core_field_offset(struct task_struct, comm));
	}
	ring_commit(ctl);
}

/*
 * tl_cfg.recv_tp is 1 where sock:sock_recv_length exists (6.3+): the owners' underlay reads
 * are taken there (sched.bpf.c), one per message received, with its socket, in the reading
 * thread's own time. Not from the copies and frees of skbs below, then: UDP copies a linear
 * skb without a tracepoint and frees it later (deferred to the softirq of the CPU that made
 * it, in whatever task's time), so those see other skbs as often as the VPN's.
 */

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
 * copies a linear skb without that tracepoint (copy_linear_skb) and then consumes it. Only counted,
 * with its length, for the VPN's time per packet: the packet path calls this only when tl_cfg.sched
 * is set.
 */
static __always_inline void note_owner_io(__u8 kind, const struct sk_buff *skb)
{
	__u64 id;
	struct tl_ring_ctl *ctl;
	struct tl_record *r;

	if (kind == TL_UREAD && tl_cfg.recv_tp)
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
	if (!(r = lone_begin(&ctl, kind, kind == TL_SEND, 1)))
		return;
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	r->end.aux = KREAD(struct sk_buff, skb, len);
	if (kind == TL_SEND) {
		/* Whose send: a softirq in the owner's time sends for other sockets too. */
		const struct sock *sk = KREAD(struct sk_buff, skb, sk);

		r->slot.skb = sk ? sock_ino(sk) : 0;
		r->end.flags = TL_IO_SOCK;
	}
	ring_commit(ctl);
}

#endif /* TUNLAT_SCHED_BPF_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The scheduler's programs: the owner threads' switches, wakeups and exits (TL_SCHED),
 * and their underlay reads at sock_recv_length (TL_UREAD, 6.3+). Loaded only with the
 * scheduler part on (tl_cfg.sched); the helpers are in sched.bpf.h.
 */
#include "common.bpf.h"
#include "ring.bpf.h"
#include "drops.bpf.h"
#include "sched.bpf.h"

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
		send_sched(p, tgid, TL_TS_RUNNABLE, TL_SF_WOKEN, NULL,
			   KREAD(struct task_struct, p, thread_info.cpu));
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
	if (!(r = lone_begin(&ctl, TL_UREAD, true, 1)))
		return 0;
	r->end.pid = id >> 32;
	r->end.tid = (__u32)id;
	r->end.flags = TL_IO_SOCK;
	r->end.aux = ret;
	r->slot.skb = sock_ino(sk);
	ring_commit(ctl);
	return 0;
}

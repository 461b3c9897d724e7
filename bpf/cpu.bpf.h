/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-CPU state of the packet path: the last GSO parent, the comm last sent, --sample's
 * counts, the packet the filter passed over last, a TX read waiting for its free. No
 * programs here.
 */
#ifndef TUNLAT_CPU_BPF_H
#define TUNLAT_CPU_BPF_H

#include "common.bpf.h"

/*
 * Per-CPU state. The last GSO parent seen on the traced device: segments made by
 * validate_xmit_skb (or tbf) get new addresses but run on the same CPU in the same call
 * chain as their parent's queue/dequeue, so they can inherit it.
 */
struct cpu_state {
	__u64 skb;
	__u64 ts_ns;
	__u64 parent_ts[TL_INHERITED_STAGES]; /* the parent's queue, enqueue, dequeue: its segments
						 carry them */
	__u32 gen;
	__u32 next_gen;	  /* generation counter */
	__u32 comm_tid;	  /* the thread whose comm this CPU sent last: not sent again */
	__u32 sender_tid; /* the same for the last thread seen queueing a packet (mark_sender) */
	__u32 sampled[2]; /* packets started per direction, for --sample */
	__u32 skip;	  /* the last packet queued here is not followed: nor are its segments */
	__u64 filtered;	  /* the last skb here the filter passed over: its drop is not news */
	/* A TX skb this CPU's VPN thread read, waiting for its free (next, mostly). */
	__u64 read_skb;
	__u64 read_ts;
	__u64 read_id;	   /* pid_tgid of the reader */
	__u64 parent_task; /* pid_tgid of the last GSO parent's sender: its segments' */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} percpu SEC(".maps");

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

#endif /* TUNLAT_CPU_BPF_H */

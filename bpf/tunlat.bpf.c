// SPDX-License-Identifier: GPL-2.0-only
/*
 * Follows the skbs of one tun/tap device through the kernel path. A packet's points are
 * kept in its slot and sent to userspace together, as one tl_record (the slot and the
 * point that ends it) in its CPU's ring, when it leaves the CPU that took it in (TX:
 * handed to the device; RX: protocol processing starts). A TX packet's read and free, on
 * the VPN's CPU, follow in a record named by its address: see note_read().
 */
#include "common.bpf.h"
#include "slots.bpf.h"
#include "send.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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

	if (KREAD(struct net, net, ns.inum) != tl_cfg.netns)
		return 0;
	head = (__u64)net + bpf_core_field_offset(struct net, dev_base_head);
	pos = (__u64)KREAD(struct list_head, head, next);
	for (int i = 0; i < 4096 && pos && pos != head; i++) {
		__u64 dev = pos - bpf_core_field_offset(struct net_device, dev_list);

		if (KREAD(struct net_device, dev, ifindex) == tl_cfg.ifindex) {
			is_target_dev((const struct net_device *)dev);
			return 0;
		}
		pos = (__u64)KREAD(struct list_head, pos, next);
	}
	return 0;
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

/*
 * The programs, by purpose. Included, not linked: one translation unit as before, so
 * that every static helper, map and variable has one copy and each program compiles to
 * the same instructions (bpftool's linker would need every shared map and variable
 * declared extern in all files but one, for no gain: every helper is inlined anyway).
 */
#include "tx.bpf.c"
#include "rx.bpf.c"
#include "tcp.bpf.c"
#include "free.bpf.c"
#include "sched.bpf.c"

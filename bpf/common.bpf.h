/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every part of the BPF programs builds on: the kernel's types and libbpf's helpers,
 * the contract with userspace (tunlat.h), KREAD, the loader's settings (tl_cfg) and the
 * traced device (the target). Every .bpf.h in bpf/ includes this first, and then the
 * headers it uses: each compiles on its own (the bpf_headers check, cmake/BpfSkeleton.cmake).
 */
#ifndef TUNLAT_COMMON_BPF_H
#define TUNLAT_COMMON_BPF_H

#include "kread.bpf.h"
#include "tunlat.h"
#include "cbpf.h"

/*
 * The loader's settings (struct tl_config), set whole between open() and load(). The
 * defaults are what a program sees if nothing is set: every packet, no filter, a tap.
 */
const volatile struct tl_config tl_cfg = {
	.sample = 1,
	.ring_records = 1 << 12,
	.spill_records = 1 << 15,
	.ether = 1,
	.filter_snap = TL_SNAP,
};

/* Are packets passed over (--sample, or the filter), so that their GSO segments and
 * reads must be told apart from those of packets followed? */
#define PASSING_OVER (tl_cfg.sample > 1 || tl_cfg.filter_len)

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
	if (KREAD(struct net_device, dev, ifindex) != tl_cfg.ifindex)
		return false;
	const struct net *net = KREAD(struct net_device, dev, nd_net.net);

	if (KREAD(struct net, net, ns.inum) != tl_cfg.netns)
		return false;
	target_net = (__u64)net;
	target_dev = (__u64)dev;
	return true;
}

#endif /* TUNLAT_COMMON_BPF_H */

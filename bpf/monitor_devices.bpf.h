/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tunlat monitor: which devices are watched, and each hit's device told as one of them
 * (its index) or not, as cheaply as the hit allows. No programs here (monitor.bpf.c).
 */
#ifndef TUNLAT_MONITOR_DEVICES_BPF_H
#define TUNLAT_MONITOR_DEVICES_BPF_H

#include "kread.bpf.h"
#include "monitor.h"

/* The devices watched: userspace's index for each, by namespace and ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TL_MON_DEVS);
	__type(key, struct tl_mon_dev_key);
	__type(value, __u32);
} mon_devs SEC(".maps");

/*
 * The index of each struct net_device met, -1 for one not watched: a hit then costs one
 * lookup, not two reads of the device and its namespace. Userspace clears it whenever it
 * changes mon_devs (a freed net_device's memory may come back as another device).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __s32);
} mon_devptr SEC(".maps");

/*
 * In front of mon_devptr, on each CPU: the last devices met (a host's packets pass few),
 * replaced in turn. Most hits are for skbs of devices not watched, which a hash lookup
 * answered at ~50 ns each; this costs a few compares (not an index made from the address:
 * the verifier forbids shifting a pointer). An entry is good for the generation of
 * mon_devs it was made in: userspace bumps mon_devgen whenever it changes them.
 */
#define DEVCACHE_WAYS 8
struct mon_devcache {
	struct {
		__u64 dev;
		__s32 idx;
		__u32 gen;
	} e[DEVCACHE_WAYS];
	__u32 next; /* the entry replaced next */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mon_devcache);
} mon_devcache SEC(".maps");

volatile __u32 mon_devgen; /* an entry's dev 0 never matches: 0 is a generation too */

/* The watched device's index, or -1. */
static __always_inline int dev_index(const struct net_device *dev)
{
	__u64 key = (__u64)dev;
	__u32 zero = 0, gen = mon_devgen, way;
	struct mon_devcache *c = bpf_map_lookup_elem(&mon_devcache, &zero);
	__s32 *known, idx = -1;
	struct tl_mon_dev_key k;
	const struct net *net;
	__u32 *found;

	if (!dev || !c)
		return -1;
	for (int i = 0; i < DEVCACHE_WAYS; i++)
		if (c->e[i].dev == key && c->e[i].gen == gen)
			return c->e[i].idx;
	known = bpf_map_lookup_elem(&mon_devptr, &key);
	if (known) {
		idx = *known;
		goto remember;
	}
	k.ifindex = KREAD(struct net_device, dev, ifindex);
	net = KREAD(struct net_device, dev, nd_net.net);
	k.netns = KREAD(struct net, net, ns.inum);
	found = bpf_map_lookup_elem(&mon_devs, &k);
	if (found && *found < TL_MON_DEVS)
		idx = *found;
	bpf_map_update_elem(&mon_devptr, &key, &idx, BPF_ANY);
remember:
	way = c->next++ & (DEVCACHE_WAYS - 1);
	c->e[way].dev = key;
	c->e[way].idx = idx;
	c->e[way].gen = gen;
	return idx;
}

#endif /* TUNLAT_MONITOR_DEVICES_BPF_H */

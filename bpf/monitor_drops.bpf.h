/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tunlat monitor's drop counters (bpf/monitor.h tl_mon_drop_key): a watched device's own
 * packets (scope device), and packets on the sockets of the processes holding it, its
 * VPN's underlay (scope underlay). No programs here (monitor.bpf.c's frees call them).
 */
#ifndef TUNLAT_MONITOR_DROPS_BPF_H
#define TUNLAT_MONITOR_DROPS_BPF_H

#include "kread.bpf.h"
#include "sock.bpf.h"
#include "monitor.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TL_MON_DROP_KEYS);
	__type(key, struct tl_mon_drop_key);
	__type(value, __u64);
} mon_drops SEC(".maps");

/* The sockets of the processes holding each device (its VPN's underlay), by inode ->
 * the device's index: set by userspace as it finds the owners. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TL_MON_OWNER_SOCKS);
	__type(key, __u64);
	__type(value, __u32);
} mon_owner_socks SEC(".maps");

/* n: the packets the drop stands for (a followed packet's, when 1 in n is followed). */
static __always_inline void count_drop(__u64 location, __u32 reason, __u16 dev, __u8 dir,
				       __u8 scope, __u64 n)
{
	struct tl_mon_drop_key k = {
		.location = location,
		.reason = reason,
		.dev = dev,
		.dir = dir,
		.scope = scope,
	};
	__u64 *count = bpf_map_lookup_elem(&mon_drops, &k);

	if (count)
		*count += n;
	else
		bpf_map_update_elem(&mon_drops, &k, &n, BPF_NOEXIST);
}

/*
 * A drop of an skb no device's: the tunnel's if it was on a socket of a device's VPN (a
 * full UDP receive buffer drops what the peer sent before the VPN reads it). rx_sk: the
 * socket it was meant for, where the kernel names it (6.11+); else the skb's own socket,
 * which only the VPN's own outgoing packets carry.
 */
static __always_inline void underlay_drop(const struct sk_buff *skb, const struct sock *rx_sk,
					  __u32 reason, __u64 location)
{
	const struct sock *sk = rx_sk ? rx_sk : KREAD(struct sk_buff, skb, sk);
	__u64 ino = sk ? sock_ino(sk) : 0;
	__u32 *dev = ino ? bpf_map_lookup_elem(&mon_owner_socks, &ino) : NULL;

	if (dev && *dev < TL_MON_DEVS)
		count_drop(location, reason, *dev, rx_sk ? 1 : 0, TL_MON_SCOPE_UNDERLAY, 1);
}

#endif /* TUNLAT_MONITOR_DROPS_BPF_H */

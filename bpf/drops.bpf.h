/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Drops that hurt the tunnel though they are not the device's own packets: in the
 * device's netns, and on the sockets of the processes holding the device (the VPN's
 * underlay: a full UDP receive buffer), wherever those live. Each is a lone
 * TL_DROP_ELSEWHERE record. No programs here (free.bpf.c calls it).
 */
#ifndef TUNLAT_DROPS_BPF_H
#define TUNLAT_DROPS_BPF_H

#include "common.bpf.h"
#include "ring.bpf.h"
#include "sock.bpf.h"

/* The owners' sockets by inode, set by the loader after load (/proc/PID/fd). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} owner_socks SEC(".maps");

/*
 * A drop of an skb tunlat does not follow: sent if it happened on an owner's socket
 * (underlay) or in the device's netns (in_netns). sk is the socket it was meant for
 * (kfree_skb's rx_sk from 6.11, else the skb's own).
 */
static __always_inline void note_drop_elsewhere(const struct sk_buff *skb, __u64 location,
						__s32 reason, const struct sock *sk, bool in_netns)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	/* tl_cfg.owner_socks: how many the loader put in owner_socks; with none, a drop
	 * elsewhere is not looked up there. */
	__u64 ino = tl_cfg.owner_socks && sk ? sock_ino(sk) : 0;
	__u16 scope = in_netns ? TL_DS_NETNS : 0;

	if (ino && bpf_map_lookup_elem(&owner_socks, &ino))
		scope = TL_DS_UNDERLAY;
	if (!scope)
		return;
	if (!tl_cfg.owner_socks && sk) /* not read yet: the record names the socket */
		ino = sock_ino(sk);
	r = lone_begin(&ctl, TL_DROP_ELSEWHERE, true, 1);
	if (!r)
		return;
	r->end.aux = location;
	r->end.code = reason;
	r->end.flags = scope;
	r->end.pid = bpf_get_current_pid_tgid() >> 32;
	r->slot.skb = ino;
	r->slot.len = KREAD(struct sk_buff, skb, len);
	ring_commit(ctl);
}

#endif /* TUNLAT_DROPS_BPF_H */

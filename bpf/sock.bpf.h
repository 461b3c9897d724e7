/* SPDX-License-Identifier: GPL-2.0-only */
/* A socket's inode, as /proc/PID/fd names it: how userspace tells BPF which sockets are
 * the VPN's (the tracer's drops.bpf.h, the monitor's underlay drops). */
#ifndef TUNLAT_SOCK_BPF_H
#define TUNLAT_SOCK_BPF_H

#include "kread.bpf.h"

/* The inode of sk's socket (what /proc/PID/fd shows as socket:[inode]), or 0. */
static __always_inline __u64 sock_ino(const struct sock *sk)
{
	const struct socket *so = KREAD(struct sock, sk, sk_socket);

	/* A socket sits at the start of its socket_alloc, its inode right after. */
	return so ? KREAD(struct socket_alloc, so, vfs_inode.i_ino) : 0;
}

#endif /* TUNLAT_SOCK_BPF_H */

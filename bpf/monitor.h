/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The contract between the monitor's BPF programs (bpf/monitor.bpf.c) and userspace
 * (tunlat monitor): the devices watched, and what the kernel adds up for each of them.
 * No record per packet leaves the kernel: each packet's spans are computed at its points
 * from the times its slot holds, and added to per-CPU histograms that userspace reads.
 * Plain fixed-width data; shared by both sides like bpf/tunlat.h.
 */
#ifndef TUNLAT_MONITOR_H
#define TUNLAT_MONITOR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Devices watched at once: an index each, given by userspace (tl_mon_dev_key -> index). */
#define TL_MON_DEVS 256

/* A device as the kernel names it: its network namespace's inode and its ifindex. */
struct tl_mon_dev_key {
	__u32 netns;
	__u32 ifindex;
};

/* The spans a packet's time is split into, as `tunlat trace` names them. */
enum tl_mon_span {
	TL_MS_QDISC = 0,    /* TX: queued on the device -> handed to its xmit */
	TL_MS_RING = 1,	    /* TX: xmit (into the tun ring) -> the VPN reads it */
	TL_MS_COPY = 2,	    /* TX: read -> freed */
	TL_MS_TX_TOTAL = 3, /* TX: queued -> read */
	TL_MS_BACKLOG = 4,  /* RX: the VPN writes it -> the stack receives it */
	TL_MS_STACK = 5,    /* RX: receive -> a TCP socket takes it, or it is delivered */
	TL_MS_SOCKET = 6,   /* RX: taken -> read by the application */
	TL_MS_RX_TOTAL = 7, /* RX: written -> delivered (or taken, for an ACK) */
	TL_MON_SPANS = 8,
};

/* The points counted, a packet each time it passes one. */
enum tl_mon_point {
	TL_MP_QUEUE = 0,
	TL_MP_XMIT = 1,
	TL_MP_READ = 2,
	TL_MP_FREE = 3, /* TX, after its read */
	TL_MP_INJECT = 4,
	TL_MP_RECEIVE = 5,
	TL_MP_TAKEN = 6,
	TL_MP_DELIVER = 7,
	TL_MON_POINTS = 8,
};

/* The stages where packets queue, whose packets held are counted for stalls. */
enum tl_mon_stage {
	TL_MQ_QDISC = 0,   /* TX: queued, not yet handed to the device */
	TL_MQ_RING = 1,	   /* TX: in the tun ring, not yet read */
	TL_MQ_BACKLOG = 2, /* RX: written, not yet received by the stack */
	TL_MON_STAGES = 3,
};

/*
 * Histogram buckets: bucket 0 holds spans under 2^TL_MON_MIN_LOG2 ns (256 ns); bucket i
 * (1 .. TL_MON_BUCKETS - 2) those in [2^(TL_MON_MIN_LOG2 + (i-1)/4), 2^(TL_MON_MIN_LOG2 +
 * i/4)) ns: a quarter octave, 19 % wide; the last those of 2^TL_MON_MAX_LOG2 ns (68.7 s)
 * and more.
 */
#define TL_MON_MIN_LOG2 8
#define TL_MON_MAX_LOG2 36
#define TL_MON_BUCKETS (4 * (TL_MON_MAX_LOG2 - TL_MON_MIN_LOG2) + 2)

/* 2^(k/4) for k = 1, 2, 3, as a fraction of 2^16: the quarter-octave thresholds. */
#define TL_MON_Q1 77936u  /* 65536 * 2^0.25 = 77935.9, rounded up */
#define TL_MON_Q2 92682u  /* 65536 * 2^0.5  = 92681.9 */
#define TL_MON_Q3 110218u /* 65536 * 2^0.75 = 110217.8 */

/* The bucket of a span of ns nanoseconds: the same function on both sides. */
static inline __u32 tl_mon_bucket(__u64 ns)
{
	__u32 log2 = 0, q;
	__u64 m;

	if (ns < (1ull << TL_MON_MIN_LOG2))
		return 0;
	if (ns >= (1ull << TL_MON_MAX_LOG2))
		return TL_MON_BUCKETS - 1;
	/* The highest bit set, by halving (the verifier wants no loop it cannot bound). */
	m = ns;
	if (m >> 32) {
		m >>= 32;
		log2 += 32;
	}
	if (m >> 16) {
		m >>= 16;
		log2 += 16;
	}
	if (m >> 8) {
		m >>= 8;
		log2 += 8;
	}
	if (m >> 4) {
		m >>= 4;
		log2 += 4;
	}
	if (m >> 2) {
		m >>= 2;
		log2 += 2;
	}
	if (m >> 1) {
		log2 += 1;
	}
	/* The mantissa as a fraction of 2^16, in [65536, 131072). */
	m = log2 >= 16 ? ns >> (log2 - 16) : ns << (16 - log2);
	q = (m >= TL_MON_Q1) + (m >= TL_MON_Q2) + (m >= TL_MON_Q3);
	return 1 + 4 * (log2 - TL_MON_MIN_LOG2) + q;
}

/*
 * What one CPU added up for one device (per-CPU array, indexed by the device's index).
 * Userspace sums the CPUs.
 */
struct tl_mon_dev_stats {
	__u64 hist[TL_MON_SPANS][TL_MON_BUCKETS];
	__u64 span_ns[TL_MON_SPANS]; /* the sum of the spans counted, ns */
	__u64 points[TL_MON_POINTS];
	__u64 bytes[2]; /* TX at queue, RX at inject */
	__u64 lost;	/* packets whose slot another packet took while in flight */
};

/*
 * The queue stages of one device on one CPU (another per-CPU array, indexed alike): what
 * userspace polls every 100 ms for stalls, 72 bytes a device where the histograms are
 * 7 KiB. A stage's packets held are in - out over all CPUs.
 */
struct tl_mon_stage_stats {
	__u64 in[TL_MON_STAGES], out[TL_MON_STAGES];
	__u64 last_out_ns[TL_MON_STAGES]; /* bpf_ktime_get_ns of the last release here */
};

/* A drop of a packet of a watched device, or on its owners' sockets: counted per CPU
 * under this key. */
struct tl_mon_drop_key {
	__u64 location; /* the kernel's return address at kfree_skb */
	__u32 reason;	/* enum skb_drop_reason */
	__u16 dev;	/* the device's index */
	__u8 dir;	/* 0 TX, 1 RX */
	__u8 scope;	/* enum tl_mon_drop_scope */
};

enum tl_mon_drop_scope {
	TL_MON_SCOPE_DEVICE = 0,   /* a packet of the device, followed from its first point */
	TL_MON_SCOPE_UNDERLAY = 1, /* on a socket of a process holding the device (its VPN):
				    * RX when the kernel names the socket it was meant for (a
				    * full receive buffer), TX when the skb is the socket's own */
};

#define TL_MON_DROP_KEYS 4096
#define TL_MON_OWNER_SOCKS 1024

#endif /* TUNLAT_MONITOR_H */

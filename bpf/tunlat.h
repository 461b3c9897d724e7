/* Plain data shared by the BPF programs and userspace: one event per point a followed skb passes. */
#ifndef TUNLAT_H
#define TUNLAT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TL_COMM_LEN 16

/* Where a packet is seen. Values are part of the recording format: append only. */
enum tl_point {
	TL_QUEUE = 0,     /* net:net_dev_queue on the traced device */
	TL_ENQUEUE = 1,   /* qdisc:qdisc_enqueue */
	TL_DEQUEUE = 2,   /* qdisc:qdisc_dequeue (first skb of a bulk only) */
	TL_XMIT = 3,      /* net:net_dev_start_xmit: tun_net_xmit is entered */
	TL_XMIT_DONE = 4, /* net:net_dev_xmit: rc only, skb may be gone */
	TL_READ = 5,      /* skb:skb_copy_datagram_iovec of a TX skb: the VPN reads it */
	TL_INJECT = 6,    /* net:netif_rx_entry & co: the VPN writes a packet into the stack */
	TL_RECEIVE = 7,   /* net:netif_receive_skb: protocol processing starts */
	TL_DELIVER = 8,   /* skb_copy_datagram_iovec of an RX skb, or queued on another device */
	TL_FREE = 9,      /* skb:consume_skb / skb:kfree_skb */
	TL_POINT_COUNT = 10,
	TL_COMM = 16,     /* not a point: a thread's comm (pid, tid, comm), sent once per CPU */
};

enum tl_dir {
	TL_TX = 0, /* host -> device -> VPN reader */
	TL_RX = 1, /* VPN writer -> device -> host stack */
};

enum tl_flags {
	TL_F_GSO = 1 << 0,       /* skb carries GSO segments (gso_size != 0) */
	TL_F_SEGMENT = 1 << 1,   /* a segment of a GSO parent (parent_gen valid) */
	TL_F_RESERVED = 1 << 2,  /* was "cloned": not informative (TCP clones every skb) */
	TL_F_DROP = 1 << 3,      /* TL_FREE via kfree_skb: reason valid */
	TL_F_FORWARDED = 1 << 4, /* TL_DELIVER because it was queued on another device */
	TL_F_LATE_START = 1 << 5,/* first seen after the direction's first point */
	TL_F_INHERITED = 1 << 6, /* a GSO segment's copy of its parent's point: not a passage */
	TL_F_FIRST = 1 << 7,     /* the packet's first event: a new packet, nothing to look up */
};

/*
 * 80 bytes, naturally aligned, no pointers: also the on-disk record (see docs/recording.md).
 * A record is one or more of them, consecutive in a CPU's ring: a packet's points, sent
 * together.
 */
struct tl_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skb;        /* skb address; with gen, the packet's identity */
	__u64 parent_skb; /* TL_F_SEGMENT, recordings before INHERITED: the parent's address; now 0 */
	__u64 aux;        /* TL_FREE+TL_F_DROP: drop location; TL_DELIVER forwarded: ifindex */
	__u32 gen;        /* generation, assigned at first sighting */
	__u32 parent_gen; /* TL_F_SEGMENT: the parent's generation */
	__u32 pid;        /* tgid of the task: at READ/INJECT (the VPN), DELIVER, FREE+DROP; else 0 */
	__u32 tid;
	__u32 len;        /* skb->len */
	__s32 code;       /* TL_FREE+TL_F_DROP: enum skb_drop_reason; TL_XMIT_DONE: rc */
	__u16 cpu;
	__u8 point;       /* enum tl_point */
	__u8 dir;         /* enum tl_dir */
	__u16 flags;      /* enum tl_flags */
	__u16 pad;
	char comm[TL_COMM_LEN];
};

/* Event rings per CPU: one for programs, one for a program interrupting one writing. */
#define TL_RINGS_PER_CPU 2

/*
 * The control block of one event ring (its events sit in a second mmapable array).
 * BPF appends whole records and then advances head; userspace reads up to head and then
 * advances tail. head and tail sit on cache lines of their own: each has one writer.
 */
struct tl_ring_ctl {
	__u64 head;    /* events written: BPF */
	__u32 busy;    /* a program is writing: one interrupting it takes the CPU's next ring */
	__u32 pad0;
	__u64 pad1[6];
	__u64 tail;    /* events read: userspace */
	__u64 pad2[7];
};

/* Counters the BPF side keeps in a per-CPU array, indexed by this enum. */
enum tl_counter {
	TL_CNT_LOST = 1,     /* events not written: their ring was full */
	TL_CNT_MAX = 4,
};

#endif /* TUNLAT_H */

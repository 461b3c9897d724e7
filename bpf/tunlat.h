/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The contract between the BPF programs and userspace, and nothing else: the points a
 * packet passes, the record that carries them out of the kernel, the rings and the
 * counters. Plain fixed-width data, explicit values. The recording's event is the core's
 * (userspace/core/model/event.h).
 */
#ifndef TUNLAT_H
#define TUNLAT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TL_COMM_LEN 16

/* Where a packet is seen. Values are part of the recording format: append only. */
enum tl_point {
	TL_QUEUE = 0,	  /* net:net_dev_queue on the traced device */
	TL_ENQUEUE = 1,	  /* qdisc:qdisc_enqueue */
	TL_DEQUEUE = 2,	  /* qdisc:qdisc_dequeue (first skb of a bulk only) */
	TL_XMIT = 3,	  /* net:net_dev_start_xmit: tun_net_xmit is entered */
	TL_XMIT_DONE = 4, /* net:net_dev_xmit: rc only, skb may be gone */
	TL_READ = 5,	  /* skb:skb_copy_datagram_iovec of a TX skb: the VPN reads it */
	TL_INJECT = 6,	  /* net:netif_rx_entry & co: the VPN writes a packet into the stack */
	TL_RECEIVE = 7,	  /* net:netif_receive_skb: protocol processing starts */
	TL_DELIVER = 8,	  /* skb_copy_datagram_iovec of an RX skb, or queued on another device */
	TL_FREE = 9,	  /* skb:consume_skb / skb:kfree_skb */
	TL_TAKEN = 10,	  /* tcp:tcp_probe of an RX skb: an established TCP socket takes it */
	TL_POINT_COUNT = 11,
	TL_COMM = 16,  /* not a point: a thread's comm (pid, tid, comm), sent once per CPU */
	TL_ADDR6 = 17, /* not a point: IPv6 addresses behind the hashes of summaries (tl_addr6) */
	TL_FLOW = 18,  /* not from the kernel: a flow's definition, made by userspace's ingest */
	/* Not points either: what the device's owner processes do (bpf/sched.bpf.h). */
	TL_SCHED = 20, /* an owner thread's scheduler state changed: code = enum tl_task_state */
	TL_SEND = 21,  /* an owner thread queued a packet on another device (its underlay send):
			* aux = length; flags TL_IO_SOCK: slot.skb = its socket's inode (0: none) */
	TL_UREAD = 22, /* an owner thread read an skb not of the device (its underlay socket):
			* aux = length; flags TL_IO_SOCK: taken at sock_recv_length (one per
			* message received), slot.skb = the socket's inode */
	TL_DROP_ELSEWHERE = 23, /* a drop of another skb that hurts the tunnel (bpf/drops.bpf.h):
				 * code = reason, aux = location, flags = scope, slot.skb = the
				 * socket's inode (or 0), slot.len = the skb's length */
	TL_RETRANS = 24,	/* tcp:tcp_retransmit_skb of a socket in the device's netns: the
				 * host sends data again; sum = the socket's flow (summary 1),
				 * code = segments (tcp_skb_pcount), aux = the skb's length */
	TL_BYTES = 25,		/* a followed packet's first bytes (--pcapng), sent just before its
				 * first record: see struct tl_bytes */
};

/* What a TL_SEND or TL_UREAD record says besides its length (tl_end.flags). */
enum tl_io_flags {
	/* slot.skb holds the inode of the socket, 0 if it has none: a send from another
	 * socket (a softirq's TCP ACK in the owner thread's time) is not the VPN's own. */
	TL_IO_SOCK = 1 << 0,
};

/* Where a TL_DROP_ELSEWHERE drop happened (tl_end.flags). */
enum tl_drop_scope {
	TL_DS_NETNS = 1,    /* in the device's network namespace */
	TL_DS_UNDERLAY = 2, /* on a socket of a process holding the device, wherever it lives */
};

/* A record of one event alone, not of a packet: a comm, or an owner's doings. */
static inline int tl_lone_kind(__u8 point)
{
	return point >= TL_COMM;
}

/*
 * An owner thread's state from a TL_SCHED record on (tl_end.code). tl_end.aux holds the
 * other task's tid of a switch (the one that ran instead when preempted, the one that ran
 * before when switched in) and tl_end.comm its comm; tl_end.flags TL_SF_*.
 */
enum tl_task_state {
	TL_TS_RUNNING = 0,  /* on a CPU */
	TL_TS_RUNNABLE = 1, /* preempted, or woken, and waiting for a CPU */
	TL_TS_SLEEPING = 2, /* blocked: poll, epoll, read, a timer, a lock */
	TL_TS_STOPPED = 3,  /* SIGSTOP, or traced */
	TL_TS_EXITED = 4,   /* the thread is gone */
	TL_TS_COUNT = 5,
};

enum tl_sched_flags {
	TL_SF_PREEMPTED = 1 << 0, /* RUNNABLE: switched out while it could still run */
	TL_SF_WOKEN = 1 << 1,	  /* RUNNABLE: woken (sched_wakeup); cpu is the one it waits on */
	TL_SF_UNINTERRUPTIBLE = 1 << 2, /* SLEEPING: in D state (disk, a lock), not poll */
};

/*
 * What a packet is, read from its headers by the BPF side when its first record goes
 * (TX: at xmit, RX: at receive; tl_end.summary = 1): 28 bytes, in the spare bytes of a
 * record that is not a comm. Addresses in network order, the rest in host order. IPv6
 * addresses do not fit: they are named by tl_addr6_hash, and a TL_ADDR6 record sent
 * before (once per pair and CPU) gives the addresses behind the hashes.
 */
struct tl_sum {
	__u32 saddr; /* IPv4 address, or tl_addr6_hash of the IPv6 one */
	__u32 daddr;
	__u16 sport;	 /* TCP/UDP; ICMP: type << 8 | code */
	__u16 dport;	 /* TCP/UDP; ICMP echo: id */
	__u32 seq;	 /* TCP; ICMP echo: sequence */
	__u32 ack;	 /* TCP */
	__u16 win;	 /* TCP, as sent (not scaled) */
	__u16 payload;	 /* TCP/UDP payload bytes (65535 at most) */
	__u16 ethertype; /* 0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP...; 0 unknown */
	__u8 proto;	 /* IP protocol (IPv6: the first next header) */
	__u8 tcp_flags;	 /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ... */
};

/*
 * A followed packet's first bytes (point TL_BYTES, only with tl_cfg.pcap_snap set), from
 * its link-layer header as pkt_span reads them: TL_BYTES_PER_RECORD in the place of a
 * record's slot, so a packet of 128 bytes takes two records, sent in order from the CPU
 * of its first record, just before it. The end says whose they are: aux = the skb's
 * address, pid = its generation, tid = its length from the link-layer header (on the
 * wire), code = offset of these bytes << 16 | bytes captured in all, flags = enum tl_dir.
 * Bytes past the captured ones mean nothing.
 */
#define TL_BYTES_PER_RECORD 64
struct tl_bytes {
	__u8 data[TL_BYTES_PER_RECORD];
};

/* The addresses behind two hashes (point TL_ADDR6), in the place of a record's slot. */
struct tl_addr6 {
	__u8 addr[2][16];
	__u32 hash[2];
};

/* An IPv6 address's name in a summary: the same function on both sides. */
static inline __u32 tl_addr6_hash(const __u8 *a)
{
	__u32 h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

enum tl_dir {
	TL_TX = 0, /* host -> device -> VPN reader */
	TL_RX = 1, /* VPN writer -> device -> host stack */
};

/*
 * What the BPF side says of a packet (tl_slot.start_flags) or of its end (tl_end.flags).
 * Values are part of the recording format. Bits 2, 6 and 8 are the core's own
 * (core/model/event.h): bit 2 is retired ("cloned", not informative).
 */
enum tl_flags {
	TL_F_GSO = 1 << 0,	  /* skb carries GSO segments (gso_size != 0) */
	TL_F_SEGMENT = 1 << 1,	  /* a segment of a GSO parent (parent_gen valid) */
	TL_F_DROP = 1 << 3,	  /* TL_FREE via kfree_skb: reason valid */
	TL_F_FORWARDED = 1 << 4,  /* TL_DELIVER because it was queued on another device */
	TL_F_LATE_START = 1 << 5, /* first seen after the direction's first point */
	TL_F_FIRST = 1 << 7,	  /* the packet's first event: a new packet, nothing to look up */
	TL_F_LAST = 1 << 9,	  /* the packet's last event: its slot is given up (RX deliver,
				   * taken and consumed): no free will be sent */
	TL_F_CONSUMED = 1 << 10,  /* TL_TAKEN of a segment without data (an ACK): TCP consumed it,
				   * nothing is left to read; aux = payload bytes otherwise */
};

/*
 * A GSO segment is made from its parent after the parent's first stages: it inherits
 * the parent's queue, enqueue and dequeue (stages 0 .. TL_INHERITED_STAGES - 1).
 */
#define TL_INHERITED_STAGES 3

/*
 * The wire format between BPF and userspace (not the recording): one 128-byte record per
 * message, which userspace unpacks into point events. A packet's slot in the kernel is a
 * tl_slot: the points it passed wait there as offsets from t0, one per stage, until a
 * point ends its record (TX: xmit, or a free before it; RX: receive, taken, deliver, free). The
 * record is the slot as it was then, plus that point whole; a copy of one cache line
 * instead of an event per point. A TX packet's read and free come from the VPN's CPU in
 * a record of their own, named by address (TL_ST_BY_ADDRESS): that CPU never touches the
 * slot, a cache line the queueing CPU wrote.
 */
#define TL_STAGES 5	/* TX queue, enqueue, dequeue, xmit, read; RX inject */
#define TL_STAGE_READ 4 /* a TX read's: only in a record by address, never kept in a slot */

/* Bits of tl_slot.state */
enum tl_slot_state {
	TL_ST_RX = 1 << 0,	  /* direction: RX, else TX */
	TL_ST_GSO = 1 << 1,	  /* a GSO skb: its segments will inherit from it */
	TL_ST_INHERITED = 1 << 2, /* the queue/enqueue/dequeue stages are its GSO parent's */
	TL_ST_XMIT = 1 << 3,	  /* passed points that may repeat: */
	TL_ST_RECEIVE = 1 << 4,
	TL_ST_DELIVER = 1 << 5,
	TL_ST_BY_ADDRESS = 1 << 6, /* a record of a packet named by its address alone (TX read
				    * and free): the slot stayed on the CPU that queued it */
	TL_ST_TAKEN = 1 << 7,	   /* RX: a TCP socket took it (its data waits to be read) */
};

/* A packet being followed. One cache line: see bpf/slots.bpf.h. */
struct tl_slot {
	__u64 skb;
	__u64 t0;	     /* time base of dt */
	__u32 dt[TL_STAGES]; /* when the stage was passed, after t0 */
	__u32 gen;
	__u32 parent_gen; /* a GSO segment's parent */
	__u32 len;
	__u32 pid; /* the reader (TX read) or writer (RX inject) */
	__u32 tid;
	__u8 cpu[TL_STAGES];
	__u8 unsent;	  /* stages passed and not sent yet: bit per stage */
	__u8 state;	  /* TL_ST_* */
	__u8 start_flags; /* the first record's: FIRST, GSO, SEGMENT, LATE_START */
} __attribute__((aligned(64)));

/* The point that ends a record, or a thread's name (point TL_COMM). */
/* TL_TAKEN: the local TCP socket's state as it takes the segment (tcp:tcp_probe runs
 * before TCP processes it). tl_end.summary == TL_X_TCP. */
struct tl_tcp_sample {
	__u32 snd_cwnd;	   /* congestion window, segments */
	__u32 srtt_us;	   /* smoothed round trip, us */
	__u32 packets_out; /* segments sent and not yet acknowledged */
	__u32 snd_wnd;	   /* the peer's receive window, bytes */
};

/* What a record's end union holds besides its point: tl_end.summary. */
enum tl_extra {
	TL_X_NONE = 0,
	TL_X_SUM = 1, /* sum: the packet's headers (its first record), or TL_RETRANS's socket */
	TL_X_TCP = 2, /* tcp: TL_TAKEN's socket state */
};

struct tl_end {
	__u64 ts_ns;
	__u64 aux;
	__u32 pid;
	__u32 tid;
	__s32 code;
	__u16 cpu;
	__u8 point;   /* enum tl_point; TL_COMM; TL_POINT_COUNT: none, stages only */
	__u8 summary; /* enum tl_extra: what the union holds besides comm */
	__u16 flags;
	__u16 ip_id; /* summary == TL_X_SUM: the IPv4 header's identification (0: none) */
	union {
		char comm[TL_COMM_LEN];	  /* TL_COMM only */
		struct tl_sum sum;	  /* summary == TL_X_SUM only */
		struct tl_tcp_sample tcp; /* summary == TL_X_TCP only */
	};
};

/*
 * A lone record (tl_lone_kind, and TL_ADDR6) has its end zeroed before its kind fills it.
 * Its slot is zeroed and filled only where its kind says (TL_ADDR6; TL_DROP_ELSEWHERE;
 * TL_SEND and TL_UREAD with TL_IO_SOCK); the other kinds leave it as the ring's last
 * record there did, a cache line not written: it means nothing.
 */
struct tl_record {
	union {
		struct tl_slot
			slot; /* its unsent stages are the record's; see above for lone ones */
		struct tl_addr6 addr6; /* TL_ADDR6 */
		struct tl_bytes bytes; /* TL_BYTES */
	};
	struct tl_end end;
};

/* A slot's direction: enum tl_dir. */
static inline __u8 tl_slot_dir(__u8 state)
{
	return (state & TL_ST_RX) ? TL_RX : TL_TX;
}

/* The point a slot's stage stands for. */
static inline __u8 tl_stage_point(__u8 state, int stage)
{
	if (state & TL_ST_RX)
		return TL_INJECT;
	return stage < TL_STAGE_READ ? stage : TL_READ;
}

/* Event rings per CPU (see bpf/ring.bpf.h), in this order in the records array. */
enum tl_ring_kind {
	TL_RING_MAIN = 0,   /* small, kept in cache: userspace reads it every few ms */
	TL_RING_NESTED = 1, /* the same size: a program interrupting one writing the main ring */
	TL_RING_SPILL = 2,  /* big: taken while the other is full */
	TL_RINGS_PER_CPU = 3,
};

/* Records in a ring of this kind: the spill ring's size, or the small rings'. */
static inline __u32 tl_ring_size(__u32 kind, __u32 ring_records, __u32 spill_records)
{
	return kind == TL_RING_SPILL ? spill_records : ring_records;
}

/* Where a CPU's ring of this kind starts in the records array, in records. */
static inline __u32 tl_ring_first(__u32 cpu, __u32 kind, __u32 ring_records, __u32 spill_records)
{
	return cpu * (2 * ring_records + spill_records) + kind * ring_records;
}

/*
 * The control block of one ring (its records sit in a second mmapable array).
 * BPF appends a record and then advances head; userspace reads up to head and then
 * advances tail. head and tail sit on cache lines of their own: each has one writer.
 */
struct tl_ring_ctl {
	__u64 head; /* records written: BPF */
	__u32 busy; /* a program is writing: one interrupting it takes the CPU's next ring */
	__u32 pad0;
	__u64 pad1[6];
	__u64 tail; /* records read: userspace */
	__u64 pad2[7];
};

/*
 * The loader's settings, fixed before load: one read-only variable of the programs
 * (tl_cfg, bpf/common.bpf.h), written whole by userspace between open and load. libbpf
 * freezes .rodata, so the verifier sees each field as a constant and drops the code a
 * setting turns off (--no-sched's hooks, the filter's call when there is none).
 */
struct tl_config {
	__u32 ifindex;	       /* the traced device, in the netns below */
	__u32 netns;	       /* the inode of the device's network namespace */
	__u32 sample;	       /* follow 1 packet in this many (per CPU and direction); 1: all */
	__u32 ring_records;    /* records per main and nested ring: a power of two */
	__u32 spill_records;   /* records per spill ring: a power of two */
	__u32 sched;	       /* 1 unless --no-sched: the owners' scheduling is traced */
	__u32 recv_tp;	       /* 1: the owners' underlay reads are taken at sock_recv_length */
	__u32 owner_socks;     /* sockets the loader puts in owner_socks (the owners' at start) */
	__u32 ether;	       /* the device's link layer: 1 Ethernet (tap), 0 IP (tun) */
	__u32 filter_len;      /* instructions of the user's pcap filter; 0: none */
	__u32 filter_snap;     /* the bytes it looks at (tl_cbpf_snap): only those are copied */
	__u32 filter_in_place; /* 1: it reads packets where they lie (6.17+, not the compat build)
				*/
	__u32 pcap_snap;       /* --pcapng: a followed packet's first bytes sent (TL_BYTES), at
				* most this many (TL_SNAP); 0: none, and no code for it */
	__u32 handoff;	       /* what a TX packet's TL_READ is: enum tl_handoff */
	__u32 pad;
	__u64 mac; /* TL_HO_MACVTAP: the device's Ethernet address, its 6 bytes in memory order */
};

/*
 * Who takes a TX packet from the device after its xmit (core/model/device_model.h): the
 * moment is the packet's TL_READ, sent by address as a tun read is (bpf/read.bpf.h).
 */
enum tl_handoff {
	TL_HO_READER = 0,   /* a process copies it out (tun, tap) */
	TL_HO_UNDERLAY = 1, /* the same skb is queued on another device: a kernel VPN
			     * (WireGuard, ovpn) encrypted it in place and sends it */
	TL_HO_PEER = 2,	    /* another device receives the same skb: a veth's peer */
	TL_HO_NONE = 3,	    /* nothing: TX ends at the driver */
	TL_HO_MACVTAP = 4,  /* a process (a VM) reads it from a macvtap's queue, where it came
			     * from the lower device's receive (its TL_XMIT); what the VM writes
			     * is the device's RX, from its queue to the lower device's */
};

/*
 * The owners' tgids are hinted at by a byte per tgid modulo TL_OWNER_HINTS (bpf/sched.bpf.h
 * owner_hint), which the loader sets: a power of two.
 */
#define TL_OWNER_HINTS 1024

/*
 * The points that ask the user's filter, each with a region of its own for the loader to
 * fill (pkt_wanted is inlined into each): a packet's first point, TX queue and RX inject
 * (netif_rx, netif_receive_skb, its list variant, napi_gro_receive), and the TX segments
 * adopted at enqueue and xmit; on a macvtap, its VM's write (queue) and a frame arriving for
 * the VM (netif_receive_skb). The loader refuses to filter with fewer.
 */
#define TL_FILTER_SITES 9

/* Counters the BPF side keeps in a per-CPU array, indexed by this enum. */
enum tl_counter {
	TL_CNT_LOST = 1,	/* events not sent: their record's ring was full */
	TL_CNT_SPILLED = 2,	/* records that went to a spill ring: userspace was behind */
	TL_CNT_SAMPLED_OUT = 3, /* packets --sample passed over (not followed) */
	TL_CNT_MAX = 4,
};

#endif /* TUNLAT_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who a packet is: the user's pcap filter run on its first bytes at the packet's first
 * point (read in place where the kernel allows, else copied), and the summary of its
 * headers (bpf/tunlat.h tl_sum) for its first record, from its first TL_SNAP bytes copied
 * (one probe read, which works on every kernel build). The user's filter is set by the
 * loader: its length in tl_cfg.filter_len (0: none), the bytes it looks at in
 * tl_cfg.filter_snap, and its code, translated, over tl_filter's regions.
 */
#ifndef TUNLAT_PACKET_BPF_H
#define TUNLAT_PACKET_BPF_H

#include "common.bpf.h"
#include "cbpf.h"
#include "filter_region.bpf.h"
#include "ring.bpf.h"
#include "cpu.bpf.h"

/* A packet's bytes and the filter's machine: per CPU, too big for the stack. */
struct pkt_scratch {
	struct tl_cbpf m;
	struct tl_sum sum;
	__u16 ip_id;	  /* the IPv4 header's identification (0: none), beside sum */
	__u32 last_v6[2]; /* the IPv6 hash pair this CPU sent the addresses of last */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_scratch);
} pkt_scratch SEC(".maps");

static __always_inline struct pkt_scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pkt_scratch, &zero);
}

/*
 * Where skb's first bytes lie, from its link-layer header (mac_header: the Ethernet header
 * of a tap's packets, the IP header of a tun's; set on TX by __dev_queue_xmit, on RX by
 * tun_get_user): their address (*at), how many a reader may look at, at most snap (0:
 * none), and the packet's length from there (*wirelen). Only the linear part counts:
 * headers live there. TX skbs start at it (skb->data); a tap's RX skbs start after it, at
 * the network header (eth_type_trans pulled it). Offsets only: pointer arithmetic on the
 * views of kernel objects is not allowed.
 */
static __always_inline __u32 pkt_span(const struct sk_buff *skb, bool rx, __u32 snap, __u64 *at,
				      __u32 *wirelen)
{
	__u16 mac = KREAD(struct sk_buff, skb, mac_header), net;
	__u32 len = KREAD(struct sk_buff, skb, len);
	__u32 linear = len - KREAD(struct sk_buff, skb, data_len);
	__u32 before = 0, n;

	if (mac == (__u16)~0U)
		return 0;
	if (rx) { /* each field read costs: only RX skbs start past the link header */
		net = KREAD(struct sk_buff, skb, network_header);
		if (net != (__u16)~0U && net > mac && net - mac <= 64)
			before = net - mac;
	}
	n = linear + before;
	if (n > snap)
		n = snap;
	if (n > TL_SNAP)
		n = TL_SNAP;
	*at = (__u64)KREAD(struct sk_buff, skb, head) + mac;
	*wirelen = len + before;
	return n;
}

/* Copies skb's first bytes (pkt_span) into s->m. Returns false if there is nothing to read. */
static __always_inline bool pkt_copy(const struct sk_buff *skb, struct pkt_scratch *s, bool rx,
				     __u32 snap)
{
	__u32 n, wirelen;
	__u64 at;

	n = pkt_span(skb, rx, snap, &at, &wirelen);
	/* The verifier loses the bound above on its way to the helper: a mask it can see on
	 * the very register, within the room pkt has (2 * TL_SNAP). */
	barrier_var(n);
	n &= 2 * TL_SNAP - 1;
	if (n == 0 || bpf_probe_read_kernel(s->m.pkt, n, (void *)at))
		return false;
	tl_cbpf_reset(&s->m, n, wirelen);
	return true;
}

/* The filter's verdict on skb, its machine in s (0: no match, or nothing to read). One
 * call of tl_filter: one region per program for the loader to fill. */
static __always_inline __u32 pkt_filter(const struct sk_buff *skb, struct pkt_scratch *s, bool rx)
{
	const void *pkt = s->m.pkt;

#ifndef TUNLAT_COMPAT
	/* Where the kernel lets a program load from any address, guarded against faults
	 * (bpf_rdonly_cast to no type: rdonly_untrusted_mem, Linux 6.17+), the filter reads
	 * the packet where it lies: no copy, whose helper call is most of what a packet
	 * passed over costs. Set by the loader after a probe; the views' build only. */
	if (tl_cfg.filter_in_place) {
		__u32 n, wirelen;
		__u64 at;

		n = pkt_span(skb, rx, tl_cfg.filter_snap, &at, &wirelen);
		if (n == 0)
			return 0;
		tl_cbpf_reset(&s->m, n, wirelen);
		pkt = bpf_rdonly_cast((void *)at, 0);
	} else
#endif
		if (!pkt_copy(skb, s, rx, tl_cfg.filter_snap))
		return 0;
	return tl_filter(&s->m, pkt);
}

/*
 * Does the packet pass the user's filter? Without one, yes, at no cost. Runs at a
 * packet's first point: a packet that fails is never followed, and this CPU remembers
 * it, so that its drop right after (a full tun ring) is not taken for news; skip_segments
 * (TX at queue): nor are the GSO segments made from it right after.
 */
static __always_inline bool pkt_wanted(const struct sk_buff *skb, bool rx, bool skip_segments)
{
	struct pkt_scratch *s;
	struct cpu_state *st;

	if (!tl_cfg.filter_len)
		return true;
	s = scratch();
	if (!s)
		return false;
	if (pkt_filter(skb, s, rx))
		return true;
	if ((st = cpu_state())) {
		st->filtered = (__u64)skb;
		if (skip_segments)
			st->skip = 1;
	}
	return false;
}

/* Is skb the last one this CPU's filter passed over? Then it is not followed (follow()
 * forgets an address it takes): its xmit and its drop right after need no lookup. */
static __always_inline bool filtered_here(const struct sk_buff *skb)
{
	struct cpu_state *st;

	return tl_cfg.filter_len && (st = cpu_state()) && st->filtered == (__u64)skb;
}

/* A byte of the copy. The mask stays in the code even where the compiler can prove it
 * redundant: 6.12's verifier lost the bound it relied on (l4 | 1 after l4 + 20 <= n) and
 * refused net_dev_start_xmit once its code around changed. */
static __always_inline __u32 snap_off(__u32 off)
{
	barrier_var(off);
	return off & (TL_SNAP - 1);
}
#define PB(off) ((__u32)m->pkt[snap_off(off)])
#define PB16(off) (PB(off) << 8 | PB((off) + 1))
#define PB32(off) (PB16(off) << 16 | PB16((off) + 2))

/* The transport header at l4 (bytes after it: ip_payload), into sum. */
static __always_inline void parse_l4(const struct tl_cbpf *m, __u32 l4, __u32 ip_payload,
				     struct tl_sum *sum)
{
	__u32 n = m->caplen, doff;

	switch (sum->proto) {
	case 6: /* TCP */
		if (l4 + 20 > n)
			return;
		sum->sport = PB16(l4);
		sum->dport = PB16(l4 + 2);
		sum->seq = PB32(l4 + 4);
		sum->ack = PB32(l4 + 8);
		doff = (PB(l4 + 12) >> 4) * 4;
		sum->tcp_flags = PB(l4 + 13);
		sum->win = PB16(l4 + 14);
		if (ip_payload > doff)
			sum->payload = ip_payload - doff > 0xffff ? 0xffff : ip_payload - doff;
		break;
	case 17: /* UDP */
		if (l4 + 8 > n)
			return;
		sum->sport = PB16(l4);
		sum->dport = PB16(l4 + 2);
		if (ip_payload > 8)
			sum->payload = ip_payload - 8 > 0xffff ? 0xffff : ip_payload - 8;
		break;
	case 1:	 /* ICMP */
	case 58: /* ICMPv6 */
		if (l4 + 8 > n)
			return;
		sum->sport = PB16(l4); /* type, code */
		sum->dport = PB16(l4 + 4);
		sum->seq = PB16(l4 + 6);
		break;
	}
}

/*
 * Reads the summary of the packet in s->m into s->sum. Returns the IPv6 header's offset
 * if the packet is IPv6 (its addresses are named by hashes), else 0.
 */
static __always_inline __u32 parse_sum(struct pkt_scratch *s)
{
	const struct tl_cbpf *m = &s->m;
	struct tl_sum *sum = &s->sum;
	__u32 n = m->caplen, off = 0, et, l3;

	__builtin_memset(sum, 0, sizeof(*sum));
	s->ip_id = 0;
	if (tl_cfg.ether) {
		if (n < 14)
			return 0;
		et = PB16(12);
		off = 14;
		if ((et == 0x8100 || et == 0x88a8) && n >= 18) { /* one VLAN tag */
			et = PB16(16);
			off = 18;
		}
	} else {
		et = n ? (PB(0) >> 4 == 6 ? 0x86dd : PB(0) >> 4 == 4 ? 0x0800 : 0) : 0;
	}
	sum->ethertype = et;
	l3 = off;
	/* The IP payload's length from the skb (a GSO packet's headers say less): what
	 * follows the IP header on the wire. */
	if (et == 0x0800 && l3 + 20 <= n) {
		__u32 ihl = (PB(l3) & 0xf) * 4, tot = m->wirelen - l3;

		sum->proto = PB(l3 + 9);
		s->ip_id = PB16(l3 + 4);
		sum->saddr = PB32(l3 + 12);
		sum->daddr = PB32(l3 + 16);
		sum->saddr = __builtin_bswap32(sum->saddr); /* network order, as stored */
		sum->daddr = __builtin_bswap32(sum->daddr);
		if ((PB16(l3 + 6) & 0x1fff) == 0 && ihl >= 20 && tot > ihl)
			parse_l4(m, l3 + ihl, tot - ihl, sum);
	} else if (et == 0x86dd && l3 + 40 <= n) {
		sum->proto = PB(l3 + 6);
		if (m->wirelen > l3 + 40)
			parse_l4(m, l3 + 40, m->wirelen - l3 - 40, sum);
		return l3;
	}
	return 0;
}

/*
 * Sends the addresses behind an IPv6 packet's hashes, unless this CPU sent this pair
 * last: userspace keeps them. Before the packet's record, in the same ring.
 */
static __always_inline void send_addr6(struct pkt_scratch *s, __u32 l3)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u8 a[2][16];

	for (int i = 0; i < 16; i++) {
		a[0][i] = s->m.pkt[(l3 + 8 + i) & (TL_SNAP - 1)];
		a[1][i] = s->m.pkt[(l3 + 24 + i) & (TL_SNAP - 1)];
	}
	s->sum.saddr = tl_addr6_hash(a[0]);
	s->sum.daddr = tl_addr6_hash(a[1]);
	if (s->last_v6[0] == s->sum.saddr && s->last_v6[1] == s->sum.daddr)
		return;
	if (!(r = lone_begin(&ctl, TL_ADDR6, true, 0)))
		return;
	__builtin_memcpy(r->addr6.addr, a, sizeof(a));
	r->addr6.hash[0] = s->sum.saddr;
	r->addr6.hash[1] = s->sum.daddr;
	s->last_v6[0] = s->sum.saddr;
	s->last_v6[1] = s->sum.daddr;
	ring_commit(ctl);
}

/*
 * Reads skb's summary for its first record: s with s->sum and s->ip_id, or NULL if there
 * is none. An IPv6 packet's addresses go first in a record of their own.
 */
static __always_inline const struct pkt_scratch *pkt_summary(const struct sk_buff *skb, bool rx)
{
	struct pkt_scratch *s = scratch();
	__u32 l3;

	if (!s || !pkt_copy(skb, s, rx, TL_SNAP))
		return NULL;
	l3 = parse_sum(s);
	if (l3)
		send_addr6(s, l3);
	return s;
}

/* One record of a packet's first bytes (TL_BYTES): at..at + TL_BYTES_PER_RECORD of s's
 * copy, at a constant offset (the verifier sees the bound). */
static __always_inline void send_bytes_at(const struct pkt_scratch *s, __u64 skb, __u32 gen,
					  __u8 dir, __u32 caplen, __u32 at)
{
	/* By words: both sides are 8-byte aligned (map values), and a memcpy of bytes is
	 * too long for clang to inline. */
	const __u64 *from = (const __u64 *)&s->m.pkt[at];
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u64 *to;

	if (!(r = lone_begin(&ctl, TL_BYTES, false, 0)))
		return;
	to = (__u64 *)r->bytes.data;
#pragma unroll
	for (int i = 0; i < TL_BYTES_PER_RECORD / 8; i++)
		to[i] = from[i];
	r->end.aux = skb;
	r->end.pid = gen;
	r->end.tid = s->m.wirelen;
	r->end.code = (__s32)(at << 16 | caplen);
	r->end.flags = dir;
	ring_commit(ctl);
}

#undef PB
#undef PB16
#undef PB32

#endif /* TUNLAT_PACKET_BPF_H */

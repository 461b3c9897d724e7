// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host's TCP: an established socket taking an RX segment of ours (tcp_probe), and the
 * host's retransmissions in the device's netns (tcp_retransmit_skb).
 */
#include "common.bpf.h"
#include "ring.bpf.h"
#include "slots.bpf.h"
#include "send.bpf.h"
#include "identity.bpf.h"

/*
 * An established TCP socket takes a segment (tcp_rcv_established, from softirq or from
 * its backlog at release_sock): a segment without data (an ACK) ends here, consumed and
 * freed by __kfree_skb, which has no tracepoint; one with data waits to be read.
 */
SEC("raw_tp/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	__u64 cb;
	struct tl_slot *v;
	__u32 data;

	if (KREAD(struct sk_buff, skb, skb_iif) != tl_cfg.ifindex || !sk)
		return 0;
	v = lookup_in(skb, sk_net(sk));
	if (!v || !settled(v) || (v->state & (TL_ST_TAKEN | TL_ST_DELIVER)))
		return 0;
	cb = (__u64)skb + bpf_core_field_offset(struct sk_buff, cb);
	data = KREAD(struct tcp_skb_cb, cb, end_seq) -
	       KREAD(struct tcp_skb_cb, cb, seq); /* SYN, FIN: one */
	v->state |= TL_ST_TAKEN;
	/* The socket is this host's: its own view of the connection, for the flow. */
	struct tl_tcp_sample t = {
		.snd_cwnd = KREAD(struct tcp_sock, sk, snd_cwnd),
		.srtt_us = KREAD(struct tcp_sock, sk, srtt_us) >> 3, /* kept x8 */
		.packets_out = KREAD(struct tcp_sock, sk, packets_out),
		.snd_wnd = KREAD(struct tcp_sock, sk, snd_wnd),
	};
	if (!data) {
		send_with(v, NULL, &t, TL_TAKEN, TL_F_CONSUMED | TL_F_LAST, 0, 0);
		v->skb = 0;
	} else {
		send_with(v, NULL, &t, TL_TAKEN, 0, 0, data);
	}
	return 0;
}

/*
 * The host sends a TCP segment again (tcp:tcp_retransmit_skb, before it goes out): its
 * own count, beside the one the device sees, for sockets in the device's netns. The
 * record names the socket's flow as a packet summary would (TX: the host's side first).
 */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	struct tl_ring_ctl *ctl;
	struct tl_record *r;
	__u16 family;

	if (!sk || sk_net(sk) != target_net)
		return 0;
	family = KREAD(struct sock, sk, __sk_common.skc_family);
	if (family != 2 /* AF_INET */ && family != 10 /* AF_INET6 */)
		return 0;
	if (!(r = lone_begin(&ctl, TL_RETRANS, false, 1)))
		return 0;
	if (family == 2) {
		/* Network order, as packet summaries keep addresses. */
		r->end.sum.saddr = KREAD(struct sock, sk, __sk_common.skc_rcv_saddr);
		r->end.sum.daddr = KREAD(struct sock, sk, __sk_common.skc_daddr);
		r->end.sum.ethertype = 0x0800;
	} else {
		__u8 a[16];

		bpf_probe_read_kernel(
			a, sizeof(a),
			(const void *)sk +
				bpf_core_field_offset(struct sock, __sk_common.skc_v6_rcv_saddr));
		r->end.sum.saddr = tl_addr6_hash(a);
		bpf_probe_read_kernel(
			a, sizeof(a),
			(const void *)sk +
				bpf_core_field_offset(struct sock, __sk_common.skc_v6_daddr));
		r->end.sum.daddr = tl_addr6_hash(a);
		r->end.sum.ethertype = 0x86dd;
	}
	r->end.sum.sport = KREAD(struct sock, sk, __sk_common.skc_num);
	r->end.sum.dport = bpf_ntohs(KREAD(struct sock, sk, __sk_common.skc_dport));
	r->end.sum.proto = 6;
	r->end.aux = KREAD(struct sk_buff, skb, len);
	r->end.pid = bpf_get_current_pid_tgid() >> 32;
	/* Segments sent again: tcp_skb_pcount, what TcpRetransSegs adds (one call may
	 * resend a GSO skb of several). */
	r->end.code = KREAD(struct tcp_skb_cb,
			    (__u64)skb + bpf_core_field_offset(struct sk_buff, cb), tcp_gso_segs);
	r->end.summary = TL_X_SUM;
	ring_commit(ctl);
	return 0;
}

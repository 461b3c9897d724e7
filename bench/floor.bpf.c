// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor under every ns/hit figure: a program that returns at once on each raw
 * tracepoint tunlat uses. What the kernel's BPF statistics report for it is the cost of
 * being called and measured (two clock reads and the calls around the program), not of
 * any work. bench/floor.c attaches them; bench/run.sh measures them like the tracers.
 * net_dev_xmit and netif_rx_entry are left out, as tunlat leaves them on a tun/tap
 * device (the only kind the labs trace).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define FLOOR(tp) \
	SEC("raw_tp/" #tp) int on_##tp(void *ctx) { return 0; }

FLOOR(net_dev_queue)
FLOOR(qdisc_enqueue)
FLOOR(qdisc_dequeue)
FLOOR(net_dev_start_xmit)
FLOOR(skb_copy_datagram_iovec)
FLOOR(netif_receive_skb_entry)
FLOOR(netif_receive_skb_list_entry)
FLOOR(napi_gro_receive_entry)
FLOOR(netif_receive_skb)
FLOOR(consume_skb)
FLOOR(kfree_skb)
FLOOR(tcp_probe)
/* tunlat --sched's: bench/floor --sched loads them. */
FLOOR(sched_switch)
FLOOR(sched_wakeup)
FLOOR(sched_wakeup_new)
FLOOR(sched_process_exit)

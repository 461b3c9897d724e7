// SPDX-License-Identifier: GPL-2.0-only
/*
 * The filter region reading its packet in place (bpf/packet.bpf.h, Linux 6.17+): as
 * filter_selftest.bpf.c, but through a pointer the verifier lets load from anywhere
 * (bpf_rdonly_cast to no type), as the programs pass a packet's own bytes. Loaded only
 * where the kernel allows such loads (KernelBtf::loads_anywhere).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "filter_region.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

struct tl_cbpf machine;
__u32 verdict;

SEC("raw_tp")
int run_filter(void *ctx)
{
	verdict = tl_filter(&machine, bpf_rdonly_cast(machine.pkt, 0));
	return 0;
}

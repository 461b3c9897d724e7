// SPDX-License-Identifier: GPL-2.0-only
/*
 * The filter region alone, for tests (tests/kernel/filter_region_test.cpp): runs
 * tl_filter on a packet userspace writes into .bss, by BPF_PROG_TEST_RUN, so that the
 * translation is checked against libpcap in the kernel that runs it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "filter_region.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct tl_cbpf machine;
__u32 verdict;

SEC("raw_tp")
int run_filter(void *ctx)
{
	verdict = tl_filter(&machine, machine.pkt);
	return 0;
}

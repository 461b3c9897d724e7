/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The user's pcap filter as compiled code: tl_filter() reserves a region of instructions
 * that the loader overwrites, before load, with the filter translated into BPF
 * (userspace/core/filter/cbpf_translate, as pwru does), so that a packet is judged without
 * an interpreter's dispatch. The region opens with a marker and two moves that name the
 * registers the compiler chose (bpf/cbpf.h); it may use r0-r5 freely. Left as compiled
 * (no filter: never reached) it matches nothing.
 */
#ifndef TUNLAT_FILTER_REGION_BPF_H
#define TUNLAT_FILTER_REGION_BPF_H

/* Not common.bpf.h: the filter's self-tests (filter_selftest*.bpf.c) take this alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "cbpf.h"

#define TL_STR2(x) #x
#define TL_STR(x) TL_STR2(x)

/* The verdict of the filter (0: no match) on the packet whose first m->caplen bytes are at
 * pkt: m->pkt (a copy), or the packet itself where the kernel reads memory in place. */
static __always_inline __u32 tl_filter(const struct tl_cbpf *m, const void *pkt)
{
	__u64 v;

	asm volatile("r0 = 0x746c6672696c7465 ll\n\t"
		     "%[v] = %[m]\n\t"
		     "%[v] = %[p]\n\t"
		     ".rept " TL_STR(TL_FILTER_ROOM) "\n\t%[v] = 0\n\t.endr"
		     : [v] "=&r"(v)
		     : [m] "r"(m), [p] "r"(pkt)
		     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
	return (__u32)v;
}

#endif /* TUNLAT_FILTER_REGION_BPF_H */

/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Classic BPF (pcap filter) as the programs take it: the machine a filter runs on (the
 * packet's first TL_SNAP bytes, as tcpdump -s 128 would see them: a load beyond them
 * rejects the packet, as libpcap's bpf_filter does beyond a capture's length), cBPF's
 * opcodes, and the region the translated filter is written over. Shared by the BPF
 * programs and userspace. Plain C, no libc.
 */
#ifndef TUNLAT_CBPF_H
#define TUNLAT_CBPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TL_SNAP 128	 /* packet bytes the filter and the summary see; a power of 2 */
#define TL_FILTER_MAX 64 /* instructions in a filter: userspace refuses longer ones */
#define TL_CBPF_MEMWORDS 16

/* The region each program reserves for the filter translated into BPF (filter_region.bpf.h,
 * userspace/core/filter/cbpf_translate): a marker (a 64-bit load of TL_FILTER_MAGIC_HI:LO
 * into r0), a move from the machine's register to the verdict's and one from the packet's,
 * then TL_FILTER_ROOM instructions: room for any TL_FILTER_MAX-instruction filter, 10 per
 * instruction at most and 7 more. */
#define TL_FILTER_MAGIC_LO 0x696c7465u /* "tlfilter", the halves of the 64-bit immediate */
#define TL_FILTER_MAGIC_HI 0x746c6672u
#define TL_FILTER_ROOM 650
#define TL_FILTER_REGION (4 + TL_FILTER_ROOM)

/* struct sock_filter / struct bpf_insn of libpcap, the same layout. */
struct tl_cbpf_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

/* The packet the filter looks at, and its scratch memory (A and X live in registers). The
 * packet's bytes are in pkt, or, where the kernel lets a program read them in place, where
 * they lie (filter_region.bpf.h): caplen counts them either way. */
struct tl_cbpf {
	__u8 pkt[2 * TL_SNAP]; /* TL_SNAP used: the rest is room for the verifier's bound */
	__u32 caplen;	       /* bytes of pkt that hold the packet: TL_SNAP at most */
	__u32 wirelen;	       /* the packet's length */
	__u32 M[TL_CBPF_MEMWORDS];
};

/* The opcodes pcap_compile emits (linux/filter.h, libpcap's bpf.h: the same values): a
 * table, kept one as such. */
/* clang-format off */
#define TL_CLASS(c) ((c) & 0x07)
#define TL_SIZE(c) ((c) & 0x18)
#define TL_MODE(c) ((c) & 0xe0)
#define TL_OP(c) ((c) & 0xf0)
#define TL_SRC(c) ((c) & 0x08)
enum {
	TL_LD = 0x00, TL_LDX = 0x01, TL_ST = 0x02, TL_STX = 0x03, TL_ALU = 0x04, TL_JMP = 0x05,
	TL_RET = 0x06, TL_MISC = 0x07,
	TL_W = 0x00, TL_H = 0x08, TL_B = 0x10,
	TL_IMM = 0x00, TL_ABS = 0x20, TL_IND = 0x40, TL_MEM = 0x60, TL_LEN = 0x80, TL_MSH = 0xa0,
	TL_ADD = 0x00, TL_SUB = 0x10, TL_MUL = 0x20, TL_DIV = 0x30, TL_OR = 0x40, TL_AND = 0x50,
	TL_LSH = 0x60, TL_RSH = 0x70, TL_NEG = 0x80, TL_MOD = 0x90, TL_XOR = 0xa0,
	TL_JA = 0x00, TL_JEQ = 0x10, TL_JGT = 0x20, TL_JGE = 0x30, TL_JSET = 0x40,
	TL_K = 0x00, TL_X = 0x08,
	TL_TAX = 0x00, TL_TXA = 0x80,
};
/* clang-format on */

/*
 * The packet bytes prog can look at: past the last constant offset it loads, a packet's
 * bytes need not be copied for it. A load at X + k may reach any: then all TL_SNAP.
 */
static inline __u32 tl_cbpf_snap(const struct tl_cbpf_insn *prog, __u32 len)
{
	__u32 need = 0, end;

	for (__u32 i = 0; i < len && i < TL_FILTER_MAX; i++) {
		__u32 c = prog[i].code, k = prog[i].k;

		if (TL_CLASS(c) != TL_LD && TL_CLASS(c) != TL_LDX)
			continue;
		if (TL_MODE(c) == TL_IND)
			return TL_SNAP;
		if (TL_MODE(c) == TL_MSH)
			end = k + 1;
		else if (TL_MODE(c) == TL_ABS)
			end = k + (TL_SIZE(c) == TL_W ? 4 : TL_SIZE(c) == TL_H ? 2 : 1);
		else
			continue;
		if (k >= TL_SNAP || end > TL_SNAP)
			return TL_SNAP;
		if (end > need)
			need = end;
	}
	return need;
}

/* Sets the machine up for a new packet (its bytes are already in s->pkt). */
static inline void tl_cbpf_reset(struct tl_cbpf *s, __u32 caplen, __u32 wirelen)
{
	s->caplen = caplen < TL_SNAP ? caplen : TL_SNAP;
	s->wirelen = wirelen;
}

#endif /* TUNLAT_CBPF_H */

/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A classic-BPF (pcap filter) interpreter, one instruction per call: the same code runs
 * in the BPF programs (under bpf_loop, so the verifier checks one step, not every path of
 * a program it cannot know) and in userspace's tests against libpcap. It sees the first
 * TL_SNAP bytes of a packet, as tcpdump -s 128 would: a load beyond them rejects the
 * packet, as libpcap's bpf_filter does beyond a capture's length. Plain C, no libc.
 */
#ifndef TUNLAT_CBPF_H
#define TUNLAT_CBPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TL_SNAP 128	 /* packet bytes the filter and the summary see; a power of 2 */
#define TL_FILTER_MAX 64 /* instructions in a filter: userspace refuses longer ones */
#define TL_CBPF_MEMWORDS 16

/* struct sock_filter / struct bpf_insn of libpcap, the same layout. */
struct tl_cbpf_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

/* The machine's state, and the packet it looks at. */
struct tl_cbpf {
	__u8 pkt[2 * TL_SNAP]; /* TL_SNAP used: the rest is room for the verifier's bound */
	__u32 caplen;	       /* bytes of pkt that hold the packet: TL_SNAP at most */
	__u32 wirelen;	       /* the packet's length */
	__u32 A, X, pc, ret;
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

static inline __u32 tl_cbpf_byte(const struct tl_cbpf *s, __u32 i)
{
#ifdef __bpf__
	/* i < caplen <= TL_SNAP already: the mask is for the verifier, which loses that bound.
	 * Hidden from the compiler, which would drop a mask it can prove useless. */
	asm volatile("" : "+r"(i));
#endif
	return s->pkt[i & (TL_SNAP - 1)];
}

/* Loads size bytes (1, 2, 4; big-endian) at off into *v; 0 if beyond what is seen. */
static inline int tl_cbpf_load(const struct tl_cbpf *s, __u32 off, __u32 size, __u32 *v)
{
	if (off >= TL_SNAP || size > s->caplen || off > s->caplen - size)
		return 0;
	if (size == 1)
		*v = tl_cbpf_byte(s, off);
	else if (size == 2)
		*v = tl_cbpf_byte(s, off) << 8 | tl_cbpf_byte(s, off + 1);
	else
		*v = tl_cbpf_byte(s, off) << 24 | tl_cbpf_byte(s, off + 1) << 16 |
		     tl_cbpf_byte(s, off + 2) << 8 | tl_cbpf_byte(s, off + 3);
	return 1;
}

static inline __u32 tl_cbpf_alu(__u32 op, __u32 a, __u32 b, int *ok)
{
	switch (op) {
	case TL_ADD:
		return a + b;
	case TL_SUB:
		return a - b;
	case TL_MUL:
		return a * b;
	case TL_DIV:
		if (!b) {
			*ok = 0;
			return 0;
		}
		return a / b;
	case TL_MOD:
		if (!b) {
			*ok = 0;
			return 0;
		}
		return a % b;
	case TL_OR:
		return a | b;
	case TL_AND:
		return a & b;
	case TL_XOR:
		return a ^ b;
	case TL_LSH:
		return b < 32 ? a << b : 0;
	case TL_RSH:
		return b < 32 ? a >> b : 0;
	case TL_NEG:
		return -a;
	}
	*ok = 0;
	return 0;
}

/*
 * Runs instruction in (the one at s->pc). Returns 1 when the program has ended: s->ret is
 * its verdict (0: no match; a fault, such as a load beyond the packet, is 0 too).
 */
static inline int tl_cbpf_step(struct tl_cbpf *s, struct tl_cbpf_insn in)
{
	__u32 c = in.code, k = in.k, v = 0, size;
	int ok = 1;

	s->pc++;
	switch (TL_CLASS(c)) {
	case TL_LD:
		size = TL_SIZE(c) == TL_W ? 4 : TL_SIZE(c) == TL_H ? 2 : 1;
		switch (TL_MODE(c)) {
		case TL_ABS:
			ok = tl_cbpf_load(s, k, size, &v);
			break;
		case TL_IND:
			ok = tl_cbpf_load(s, s->X + k, size, &v);
			break;
		case TL_LEN:
			v = s->wirelen;
			break;
		case TL_IMM:
			v = k;
			break;
		case TL_MEM:
			v = s->M[k & (TL_CBPF_MEMWORDS - 1)];
			break;
		default:
			ok = 0;
		}
		s->A = v;
		break;
	case TL_LDX:
		switch (TL_MODE(c)) {
		case TL_IMM:
			v = k;
			break;
		case TL_LEN:
			v = s->wirelen;
			break;
		case TL_MEM:
			v = s->M[k & (TL_CBPF_MEMWORDS - 1)];
			break;
		case TL_MSH:
			ok = tl_cbpf_load(s, k, 1, &v);
			v = (v & 0xf) << 2;
			break;
		default:
			ok = 0;
		}
		s->X = v;
		break;
	case TL_ST:
		s->M[k & (TL_CBPF_MEMWORDS - 1)] = s->A;
		break;
	case TL_STX:
		s->M[k & (TL_CBPF_MEMWORDS - 1)] = s->X;
		break;
	case TL_ALU:
		s->A = tl_cbpf_alu(TL_OP(c), s->A, TL_SRC(c) == TL_X ? s->X : k, &ok);
		break;
	case TL_JMP: {
		__u32 b = TL_SRC(c) == TL_X ? s->X : k, taken;

		switch (TL_OP(c)) {
		case TL_JA:
			s->pc += k;
			return 0;
		case TL_JEQ:
			taken = s->A == b;
			break;
		case TL_JGT:
			taken = s->A > b;
			break;
		case TL_JGE:
			taken = s->A >= b;
			break;
		case TL_JSET:
			taken = (s->A & b) != 0;
			break;
		default:
			ok = 0;
			taken = 0;
		}
		s->pc += taken ? in.jt : in.jf;
		break;
	}
	case TL_RET:
		s->ret = (c & 0x18) == 0x10 ? s->A : k; /* BPF_A is 0x10, BPF_K 0x00 */
		return 1;
	case TL_MISC:
		if (TL_OP(c) == TL_TXA)
			s->A = s->X;
		else
			s->X = s->A;
		break;
	}
	if (!ok) {
		s->ret = 0;
		return 1;
	}
	return 0;
}

/*
 * A load into A followed by a conditional jump on a constant, the pair pcap_compile emits
 * most ("ldh [12]; jeq #0x800"), runs as one step: tl_cbpf_fuse marks the load with
 * TL_FUSE. Each step costs a dispatch that rarely predicts well, so fewer steps are what
 * makes a filter cheap for the packets it passes over. The jump stays in place: other
 * jumps may land on it.
 */
#define TL_FUSE 0x8000

static inline int tl_cbpf_fusable(struct tl_cbpf_insn ld, struct tl_cbpf_insn j)
{
	__u32 op = TL_OP(j.code);

	return TL_CLASS(ld.code) == TL_LD && (TL_MODE(ld.code) == TL_ABS || TL_MODE(ld.code) == TL_IND) &&
	       TL_SIZE(ld.code) != 0x18 && TL_CLASS(j.code) == TL_JMP && TL_SRC(j.code) == TL_K &&
	       (op == TL_JEQ || op == TL_JGT || op == TL_JGE || op == TL_JSET);
}

/* Marks the fusable pairs of prog (len instructions, checked runnable). */
static inline void tl_cbpf_fuse(struct tl_cbpf_insn *prog, __u32 len)
{
	for (__u32 i = 0; i + 1 < len && i < TL_FILTER_MAX; i++)
		if (tl_cbpf_fusable(prog[i], prog[i + 1]))
			prog[i].code |= TL_FUSE;
}

/* Runs the fused pair ld, j (ld at s->pc); returns 1 when the program has ended. */
static inline int tl_cbpf_step_fused(struct tl_cbpf *s, struct tl_cbpf_insn ld, struct tl_cbpf_insn j)
{
	__u32 c = ld.code, size = TL_SIZE(c) == TL_W ? 4 : TL_SIZE(c) == TL_H ? 2 : 1, v = 0, taken;
	__u32 off = TL_MODE(c) == TL_IND ? s->X + ld.k : ld.k;

	if (!tl_cbpf_load(s, off, size, &v)) {
		s->ret = 0;
		return 1;
	}
	s->A = v;
	switch (TL_OP(j.code)) {
	case TL_JEQ:
		taken = v == j.k;
		break;
	case TL_JGT:
		taken = v > j.k;
		break;
	case TL_JGE:
		taken = v >= j.k;
		break;
	default: /* TL_JSET */
		taken = (v & j.k) != 0;
	}
	s->pc += 2 + (taken ? j.jt : j.jf);
	return 0;
}

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

/* Resets the machine for a new packet (its bytes are already in s->pkt). */
static inline void tl_cbpf_reset(struct tl_cbpf *s, __u32 caplen, __u32 wirelen)
{
	s->caplen = caplen < TL_SNAP ? caplen : TL_SNAP;
	s->wirelen = wirelen;
	s->A = 0;
	s->X = 0;
	s->pc = 0;
	s->ret = 0;
}

#endif /* TUNLAT_CBPF_H */

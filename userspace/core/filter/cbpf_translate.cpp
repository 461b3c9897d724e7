// SPDX-License-Identifier: MIT
// The pcap filter translated into the BPF programs' own instructions (cbpf_translate.h).
// The semantics are libpcap's bpf_filter on the first TL_SNAP bytes: a load beyond what
// was copied, or a division by zero, ends the program with no match.
#include "core/filter/cbpf_translate.h"

#include <linux/bpf.h>

#include <cstddef>

namespace tunlat {

namespace {

// Registers: cBPF's A and X, the bytes copied, and scratch. r6-r9 hold the caller's.
constexpr uint8_t kA = 2, kX = 3, kCaplen = 5, kOff = 4, kAddr = 1, kEnd = 0;

constexpr int64_t kReject = -1, kDone = -2;  // labels besides cBPF instruction indexes

struct Emitter {
  std::vector<EbpfInsn> code;
  std::vector<std::pair<size_t, int64_t>> jumps;  // instruction, label

  void raw(uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    code.push_back(EbpfInsn{op, static_cast<uint8_t>(dst | src << 4), off, imm});
  }
  void jump(uint8_t op, uint8_t dst, uint8_t src, int32_t imm, int64_t label) {
    jumps.emplace_back(code.size(), label);
    raw(op, dst, src, 0, imm);
  }
  void go(int64_t label) { jump(BPF_JMP | BPF_JA, 0, 0, 0, label); }
  void alu32(uint8_t op, uint8_t dst, uint32_t k) {
    raw(BPF_ALU | op | BPF_K, dst, 0, 0, static_cast<int32_t>(k));
  }
  void alu32x(uint8_t op, uint8_t dst, uint8_t src) { raw(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
  void load(uint8_t size, uint8_t dst, uint8_t base, size_t off) {
    raw(BPF_LDX | BPF_MEM | size, dst, base, static_cast<int16_t>(off), 0);
  }
  // Network order to the host's (and the upper bits cleared).
  void from_be(uint8_t dst, uint32_t bytes) {
    if (bytes > 1) raw(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, static_cast<int32_t>(bytes * 8));
  }
};

uint8_t size_bits(uint32_t bytes) { return bytes == 4 ? BPF_W : bytes == 2 ? BPF_H : BPF_B; }

uint32_t load_bytes(uint32_t code) { return TL_SIZE(code) == TL_W ? 4 : TL_SIZE(code) == TL_H ? 2 : 1; }

size_t mem_word(uint32_t k) { return offsetof(tl_cbpf, M) + 4 * (k & (TL_CBPF_MEMWORDS - 1)); }

// A = packet[k, k + bytes) at a constant offset, or no match if not copied.
void load_abs(Emitter& e, uint8_t packet, uint8_t dst, uint32_t k, uint32_t bytes) {
  if (k >= TL_SNAP || k + bytes > TL_SNAP) {
    e.go(kReject);
    return;
  }
  e.jump(BPF_JMP | BPF_JLT | BPF_K, kCaplen, 0, static_cast<int32_t>(k + bytes), kReject);
  e.load(size_bits(bytes), dst, packet, k);
  e.from_be(dst, bytes);
}

// A = packet[X + k, ...): the offset bounded below TL_SNAP first, which the verifier
// also needs, then against what was copied.
void load_ind(Emitter& e, uint8_t packet, uint32_t k, uint32_t bytes) {
  e.alu32x(BPF_MOV, kOff, kX);
  e.alu32(BPF_ADD, kOff, k);  // 32 bits, wrapping as bpf_filter's
  e.jump(BPF_JMP | BPF_JGT | BPF_K, kOff, 0, TL_SNAP - 1, kReject);
  e.raw(BPF_ALU64 | BPF_MOV | BPF_X, kEnd, kOff, 0, 0);
  e.raw(BPF_ALU64 | BPF_ADD | BPF_K, kEnd, 0, 0, static_cast<int32_t>(bytes));
  e.jump(BPF_JMP | BPF_JGT | BPF_X, kEnd, kCaplen, 0, kReject);
  e.raw(BPF_ALU64 | BPF_MOV | BPF_X, kAddr, packet, 0, 0);
  e.raw(BPF_ALU64 | BPF_ADD | BPF_X, kAddr, kOff, 0, 0);
  e.load(size_bits(bytes), kA, kAddr, 0);
  e.from_be(kA, bytes);
}

bool alu(Emitter& e, uint32_t code, uint32_t k) {
  const uint32_t op = TL_OP(code);
  const bool by_x = TL_SRC(code) == TL_X;
  uint8_t ebpf_op;
  switch (op) {
    case TL_ADD:
      ebpf_op = BPF_ADD;
      break;
    case TL_SUB:
      ebpf_op = BPF_SUB;
      break;
    case TL_MUL:
      ebpf_op = BPF_MUL;
      break;
    case TL_DIV:
      ebpf_op = BPF_DIV;
      break;
    case TL_MOD:
      ebpf_op = BPF_MOD;
      break;
    case TL_OR:
      ebpf_op = BPF_OR;
      break;
    case TL_AND:
      ebpf_op = BPF_AND;
      break;
    case TL_XOR:
      ebpf_op = BPF_XOR;
      break;
    case TL_LSH:
      ebpf_op = BPF_LSH;
      break;
    case TL_RSH:
      ebpf_op = BPF_RSH;
      break;
    case TL_NEG:
      e.raw(BPF_ALU | BPF_NEG, kA, 0, 0, 0);
      return true;
    default:
      return false;
  }
  const bool divides = op == TL_DIV || op == TL_MOD, shifts = op == TL_LSH || op == TL_RSH;
  if (!by_x) {
    if (divides && k == 0)
      e.go(kReject);
    else if (shifts && k >= 32)
      e.alu32(BPF_MOV, kA, 0);  // all bits shifted out
    else
      e.alu32(ebpf_op, kA, k);
    return true;
  }
  if (divides) e.jump(BPF_JMP32 | BPF_JEQ | BPF_K, kX, 0, 0, kReject);
  if (shifts) {
    // A shift by 32 or more leaves nothing (eBPF's would take it modulo 32).
    e.raw(BPF_JMP32 | BPF_JGT | BPF_K, kX, 0, 2, 31);
    e.alu32x(ebpf_op, kA, kX);
    e.raw(BPF_JMP | BPF_JA, 0, 0, 1, 0);
    e.alu32(BPF_MOV, kA, 0);
    return true;
  }
  e.alu32x(ebpf_op, kA, kX);
  return true;
}

bool jump(Emitter& e, uint32_t code, const tl_cbpf_insn& in, int64_t next) {
  const uint32_t op = TL_OP(code);
  if (op == TL_JA) {
    e.go(next + in.k);
    return true;
  }
  uint8_t cond;
  switch (op) {
    case TL_JEQ:
      cond = BPF_JEQ;
      break;
    case TL_JGT:
      cond = BPF_JGT;
      break;
    case TL_JGE:
      cond = BPF_JGE;
      break;
    case TL_JSET:
      cond = BPF_JSET;
      break;
    default:
      return false;
  }
  const int64_t t = next + in.jt, f = next + in.jf;
  if (t == f) {
    e.go(t);
    return true;
  }
  const bool by_x = TL_SRC(code) == TL_X;
  e.jump(BPF_JMP32 | cond | (by_x ? BPF_X : BPF_K), kA, by_x ? kX : 0, by_x ? 0 : static_cast<int32_t>(in.k),
         t);
  if (f != next) e.go(f);
  return true;
}

}  // namespace

bool translate_filter(const std::vector<tl_cbpf_insn>& prog, FilterRegs regs, size_t room,
                      std::vector<EbpfInsn>& out, std::string& err) {
  const uint8_t M = regs.machine, V = regs.verdict, P = regs.packet;
  auto callee_saved = [](uint8_t r) { return r >= 6 && r <= 9; };
  if (!callee_saved(M) || !callee_saved(V) || !callee_saved(P) || M == V || P == V) {
    err = "the filter's region has unexpected registers (r" + std::to_string(M) + ", r" + std::to_string(V) +
          ", r" + std::to_string(P) + ")";
    return false;
  }
  Emitter e;
  e.load(BPF_W, kCaplen, M, offsetof(tl_cbpf, caplen));
  e.alu32(BPF_MOV, kA, 0);
  e.alu32(BPF_MOV, kX, 0);
  // The verifier refuses instructions no path reaches: those of cBPF's are left out.
  std::vector<bool> reached(prog.size(), false);
  if (!prog.empty()) reached[0] = true;
  for (size_t i = 0; i < prog.size(); i++) {
    if (!reached[i]) continue;
    const tl_cbpf_insn& in = prog[i];
    const uint32_t cls = TL_CLASS(in.code);
    auto reach = [&](uint64_t to) {
      if (to < prog.size()) reached[to] = true;
    };
    if (cls == TL_JMP && TL_OP(in.code) == TL_JA) {
      reach(i + 1 + uint64_t{in.k});
    } else if (cls == TL_JMP) {
      reach(i + 1 + in.jt);
      reach(i + 1 + in.jf);
    } else if (cls != TL_RET) {
      reach(i + 1);
    }
  }
  std::vector<size_t> at(prog.size());
  for (size_t i = 0; i < prog.size(); i++) {
    at[i] = e.code.size();
    if (!reached[i]) continue;
    const tl_cbpf_insn& in = prog[i];
    const uint32_t code = in.code, k = in.k;
    bool ok = true;
    switch (TL_CLASS(code)) {
      case TL_LD:
        switch (TL_MODE(code)) {
          case TL_ABS:
            load_abs(e, P, kA, k, load_bytes(code));
            break;
          case TL_IND:
            load_ind(e, P, k, load_bytes(code));
            break;
          case TL_LEN:
            e.load(BPF_W, kA, M, offsetof(tl_cbpf, wirelen));
            break;
          case TL_IMM:
            e.alu32(BPF_MOV, kA, k);
            break;
          case TL_MEM:
            e.load(BPF_W, kA, M, mem_word(k));
            break;
          default:
            ok = false;
        }
        break;
      case TL_LDX:
        switch (TL_MODE(code)) {
          case TL_IMM:
            e.alu32(BPF_MOV, kX, k);
            break;
          case TL_LEN:
            e.load(BPF_W, kX, M, offsetof(tl_cbpf, wirelen));
            break;
          case TL_MEM:
            e.load(BPF_W, kX, M, mem_word(k));
            break;
          case TL_MSH:  // X = 4 * (packet[k] & 0xf): an IPv4 header's length
            load_abs(e, P, kX, k, 1);
            e.alu32(BPF_AND, kX, 0xf);
            e.alu32(BPF_LSH, kX, 2);
            break;
          default:
            ok = false;
        }
        break;
      case TL_ST:
      case TL_STX:
        e.raw(BPF_STX | BPF_MEM | BPF_W, M, TL_CLASS(code) == TL_ST ? kA : kX,
              static_cast<int16_t>(mem_word(k)), 0);
        break;
      case TL_ALU:
        ok = alu(e, code, k);
        break;
      case TL_JMP:
        ok = jump(e, code, in, static_cast<int64_t>(i) + 1);
        break;
      case TL_RET:
        if ((code & 0x18) == 0x10)  // BPF_A
          e.raw(BPF_ALU | BPF_MOV | BPF_X, V, kA, 0, 0);
        else
          e.alu32(BPF_MOV, V, k);
        e.go(kDone);
        break;
      case TL_MISC:
        if (TL_OP(code) == TL_TXA)
          e.alu32x(BPF_MOV, kA, kX);
        else
          e.alu32x(BPF_MOV, kX, kA);
        break;
      default:
        ok = false;
    }
    if (!ok) {
      err = "the filter has an instruction tunlat cannot translate (code " + std::to_string(code) + ")";
      return false;
    }
  }
  // No match: only if a load or a division may fail.
  const size_t reject = e.code.size();
  bool rejects = false;
  for (auto [pos, label] : e.jumps) rejects |= label == kReject;
  if (rejects) e.alu32(BPF_MOV, V, 0);
  // Done: out of the region. The instructions left over stay reachable in the verifier's
  // eyes (a branch it knows is never taken leads to them), as it requires of them all.
  const size_t done = e.code.size();
  e.raw(BPF_ALU64 | BPF_MOV | BPF_K, kEnd, 0, 0, 0);
  e.raw(BPF_JMP | BPF_JNE | BPF_K, kEnd, 0, 1, 0);
  const size_t exit_jump = e.code.size();
  e.raw(BPF_JMP | BPF_JA, 0, 0, 0, 0);
  if (e.code.size() > room) {
    err = "the filter translates to " + std::to_string(e.code.size()) +
          " instructions; the programs have room for " + std::to_string(room) + ": make it simpler";
    return false;
  }
  e.code[exit_jump].off = static_cast<int16_t>(room - exit_jump - 1);
  while (e.code.size() < room) e.raw(BPF_ALU64 | BPF_MOV | BPF_K, kEnd, 0, 0, 0);
  for (auto [pos, label] : e.jumps) {
    const size_t to = label == kReject ? reject : label == kDone ? done : at[static_cast<size_t>(label)];
    e.code[pos].off = static_cast<int16_t>(static_cast<int64_t>(to) - static_cast<int64_t>(pos) - 1);
  }
  out = std::move(e.code);
  return true;
}

}  // namespace tunlat

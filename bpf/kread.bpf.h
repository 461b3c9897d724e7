/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every BPF object of tunlat builds on: the kernel's types, libbpf's helpers and
 * KREAD. The tracer's programs add their settings and target in common.bpf.h; the
 * monitor's (monitor.bpf.c) include this alone.
 */
#ifndef TUNLAT_KREAD_BPF_H
#define TUNLAT_KREAD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/*
 * KREAD(type, ptr, field): one field of a kernel object. Where the kernel has the
 * bpf_rdonly_cast kfunc (6.2+), objects are read through its views: a field is then one
 * load the JIT guards against faults, where BPF_CORE_READ costs a bpf_probe_read_kernel
 * call (~30 ns each on a machine with return-thunk mitigations, 3-7 ns for the load).
 * The verifier turns the kfunc call into a register move, so a view per read is free.
 * The programs are also built with TUNLAT_COMPAT (the tunlat_bpf_compat skeleton) for older
 * kernels, where each field is a CO-RE probe read; the loader picks by the kernel's BTF.
 * Field offsets are CO-RE relocated either way (vmlinux.h marks every struct).
 */
#ifdef TUNLAT_COMPAT
#define KREAD(type, ptr, field) BPF_CORE_READ((const type *)(ptr), field)
#else
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define VIEW(type, ptr)                                                                            \
	((const type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))
#define KREAD(type, ptr, field) (VIEW(type, ptr)->field)
#endif

#endif /* TUNLAT_KREAD_BPF_H */

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite on a fresh machine: install what is needed, build, run every test.
# README's second Quick start command; .ci/run calls exactly this.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

"$ROOT/tools/setup.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
# The recording reader under libFuzzer for a bounded time (FUZZ_SECONDS, default 60;
# 0 skips it).
if [[ ${FUZZ_SECONDS:-60} -gt 0 ]]; then tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"; fi
# Unit tests (the core, on recorded and synthetic streams), kernel tests (live labs) and
# the kernel tests again in qemu guests on Debian 12's 6.1 and 6.12 kernels (label vm,
# ~3-4 min each).
ctest --test-dir build --output-on-failure "$@"

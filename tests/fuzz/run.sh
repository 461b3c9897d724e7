#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh [SECONDS]: build the libFuzzer targets with clang (build-fuzz/) and fuzz the
# recording reader for SECONDS (default 60). Exits non-zero on any finding (crash,
# sanitizer report, hang > 5 s, leak, > 512 MB RSS); the input that triggered it is kept
# under build-fuzz/fuzz/artifacts/ and its path printed. The corpus grown by earlier runs
# (build-fuzz/fuzz/corpus/) is reused. Needs clang, libclang-rt-14-dev (tools/setup.sh).
set -euo pipefail

SECS=${1:-60}
[[ $SECS =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TUNLAT_FUZZ_BUILD:-$ROOT/build-fuzz}
WORK=$BUILD/fuzz
LOG=$WORK/build.log
mkdir -p "$WORK/corpus" "$WORK/artifacts"
rm -rf "$WORK/seeds" && mkdir -p "$WORK/seeds"

die() {
  echo "fuzz: $1" >&2
  [[ -s $LOG ]] && tail -n 20 "$LOG" >&2
  exit 1
}

command -v clang++ >/dev/null || die "clang++ not found (tools/setup.sh installs clang)"
: >"$LOG"
CXX=clang++ CC=clang cmake -S "$ROOT" -B "$BUILD" -DTUNLAT_FUZZ=ON -DTUNLAT_TESTS=ON >>"$LOG" 2>&1 ||
  die "cmake configure failed"
cmake --build "$BUILD" --target recording_fuzz -j"$(nproc)" >>"$LOG" 2>&1 || die "build failed"
FUZZ=$BUILD/tests/fuzz/recording_fuzz

# Seeds: small valid recordings written by the real writer (compressed, stored, truncated, empty).
TUNLAT_FUZZ_WRITE_SEEDS=$WORK/seeds "$FUZZ" >>"$LOG" 2>&1 || die "seed generation failed"

# Tokens of the format, to get past the magic and into the JSON quickly.
cat >"$WORK/recording.dict" <<'DICT'
"TUNLATR\x00"
"\x01\x00\x00\x00"
"\x02\x00\x00\x00"
"\x03\x00\x00\x00"
"\x00\x00\x40\x00"
"\x28\xb5\x2f\xfd"
"\"tunlat_version\""
"\"kernel\""
"\"dev_name\""
"\"ifindex\""
"\"netns_name\""
"\"netns_inode\""
"\"kind\""
"\"owners\""
"\"pid\""
"\"comm\""
"\"clock_offset_ns\""
"\"start_ns\""
"\"end_ns\""
"\"events_lost\""
"\"drop_reasons\""
"\"symbols\""
"\"0xffffffffffffffff\""
"-9223372036854775808"
"18446744073709551615"
DICT

echo "fuzz: recording_fuzz for ${SECS} s (corpus $WORK/corpus)"
rc=0
# The analysis' memory is bounded (docs/recording.md): 512 MB is that bound plus ASan's.
"$FUZZ" -max_total_time="$SECS" -max_len=65536 -timeout=5 -rss_limit_mb=512 \
  -dict="$WORK/recording.dict" -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 \
  "$WORK/corpus" "$WORK/seeds" >"$WORK/fuzz.log" 2>&1 || rc=$?
if [[ $rc -ne 0 ]]; then
  grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==|runtime error" "$WORK/fuzz.log" | head -n 20 >&2 || true
  echo "fuzz: FINDING (exit $rc); full log: $WORK/fuzz.log" >&2
  echo "fuzz: reproduce with: $FUZZ <artifact>" >&2
  exit 1
fi
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$WORK/fuzz.log" | tail -n 3
echo "fuzz: no finding in ${SECS} s"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup.sh - idempotent installer of everything tunlat needs (build deps, lab and
# test tools) on a fresh Debian 12 machine. Quiet on success; on failure prints
# one clear line plus the tail of its log. Must run as root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang llvm clang-format libbpf-dev bpftool libelf-dev
  zlib1g-dev libzstd-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libclang-rt-14-dev libcap2-bin util-linux libpcap-dev prometheus-cpp-dev
  iproute2 iputils-ping openvpn iperf3 tcpdump tshark jq procps kmod bpftrace
  wireguard-go wireguard-tools ethtool
  qemu-system-x86 busybox-static cpio xz-utils zstd
  chromium python3 prometheus curl
  scdoc bash-completion man-db debhelper lintian
)

LOG=$(mktemp /tmp/tunlat-setup.XXXXXX.log)
die() {
  echo "setup.sh: $1 (log: $LOG)" >&2
  if [[ -s $LOG ]]; then tail -n 20 "$LOG" >&2; fi
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (try: sudo $0)"

# Only touch apt when something is actually missing: keeps reruns fast and offline.
missing=()
for p in "${PKGS[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too, so check the status line.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >>"$LOG" 2>&1 || die "apt-get update failed"
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
    || die "apt-get install failed for: ${missing[*]}"
fi

# The tracer attaches to tracepoints; tracefs is normally auto-mounted but not in
# every container. Failure is not fatal (e.g. already mounted elsewhere, no perms).
if [[ ! -e /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing >>"$LOG" 2>&1 || true
fi

rm -f "$LOG"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the kernel tests inside a qemu guest booted on one of Debian 12's own kernels.
#
# Usage: tests/vm/run.sh [6.1|6.12] [TEST...]   (default 6.1, every tests/kernel/*_test.sh)
#
# The kernel package is fetched with `apt-get download` (never installed) and unpacked
# with dpkg -x into $TUNLAT_VM_CACHE (default build/vm-cache): reruns are offline. The guest
# boots it with a small initramfs (busybox-static and the package's virtio/9p modules),
# mounts the host's / read-only over 9p, loads tun and veth, puts tmpfs over /tmp and /run,
# chroots into the host's tree and runs the tests against the host's build (TUNLAT,
# TAPREADER), printing results on the serial console. Exit: 0 all passed (or skipped with
# a reason), 1 a test failed or the guest did not finish, 77 qemu cannot run here.
#
# Measured on the 2-core CI machine: KVM guests hang after "Probing EDD" and -cpu host
# fails on MSR 0x10a, so the guest runs under TCG (-accel tcg -cpu max), slowly: tests
# run with TUNLAT_TEST_SLOW (lib.sh) to wait longer for tunlat to attach, and with
# TUNLAT_TEST_DURATION_SCALE to trace long enough for their slowed workloads.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERIES=${1:-6.1}
shift || true
TESTS=("$@")
CACHE=${TUNLAT_VM_CACHE:-$ROOT/build/vm-cache}
BUILD=${TUNLAT_BUILD:-$ROOT/build}
TUNLAT=${TUNLAT:-$BUILD/tunlat}
TAPREADER=${TAPREADER:-$BUILD/tools/tapreader}
TIMEOUT=${TUNLAT_VM_TIMEOUT:-1500}  # seconds for the whole guest run
# A guest that prints no result line this long is hung: each test has 400 s in it. Seen
# once under TCG (an RCU stall, "timer wakeup didn't happen", between two tests): the
# guest is started once more, as after a stray int3 (boot); a second failure fails.
STALL=${TUNLAT_VM_STALL:-450}
MEM=${TUNLAT_VM_MEM:-1024}
SMP=${TUNLAT_VM_SMP:-2}

skip() { echo "SKIP: vm $SERIES: $*" >&2; exit 77; }
fail() { echo "FAIL: vm $SERIES: $*" >&2; exit 1; }
log() { echo "vm $SERIES: $*" >&2; }

# The meta-package that names the newest kernel package of each series.
case $SERIES in
  6.1) META=linux-image-amd64 ;;
  6.12) META=linux-image-6.12-amd64 ;;
  *) fail "unknown kernel series '$SERIES' (6.1 or 6.12)" ;;
esac

[[ $(id -u) -eq 0 ]] || skip "needs root (apt-get download into the cache, the tests themselves)"
[[ $(uname -m) == x86_64 ]] || skip "guests are x86_64, this host is $(uname -m)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (tools/setup.sh installs qemu-system-x86)"
for tool in cpio depmod dpkg; do command -v $tool >/dev/null || skip "$tool missing (tools/setup.sh installs it)"; done
# The initramfs has no libraries: its busybox must be static.
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX && $(ldd "$BUSYBOX" 2>&1 || true) == *"not a dynamic executable"* ]] ||
  skip "no static busybox (tools/setup.sh installs busybox-static)"
[[ -x $TUNLAT && -x $TAPREADER ]] || fail "build first: no $TUNLAT or $TAPREADER"

# --- The kernel: downloaded once, unpacked once --------------------------------------
KDIR=$CACHE/$SERIES
if [[ ! -s $KDIR/release ]]; then
  command -v apt-get >/dev/null || skip "no apt-get to fetch Debian's $SERIES kernel"
  pkg=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-6/ { print $2; exit }')
  if [[ -z $pkg ]]; then
    apt-get update >/dev/null 2>&1 || true
    pkg=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-6/ { print $2; exit }')
  fi
  [[ -n $pkg ]] || skip "apt knows no $META (Debian 12's apt sources, incl. bookworm-security, needed)"
  log "fetching $pkg"
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp/debs" "$KDIR.tmp/root"
  # _apt cannot write into a root-owned build tree: download as root, quietly.
  (cd "$KDIR.tmp/debs" && apt-get download -o APT::Sandbox::User=root "$pkg" >/dev/null 2>&1) ||
    skip "apt-get download $pkg failed (offline?)"
  dpkg -x "$KDIR.tmp"/debs/*.deb "$KDIR.tmp/root"
  release=$(ls "$KDIR.tmp/root/lib/modules")
  # The package ships no modules.dep (its postinst makes one): make it here.
  depmod -b "$KDIR.tmp/root" "$release"
  echo "$pkg" >"$KDIR.tmp/package"
  echo "$release" >"$KDIR.tmp/release"
  rm -rf "$KDIR.tmp/debs" "$KDIR"
  mv "$KDIR.tmp" "$KDIR"
fi
RELEASE=$(cat "$KDIR/release")
MODDIR=$KDIR/root/lib/modules/$RELEASE
KERNEL=$KDIR/root/boot/vmlinuz-$RELEASE
[[ -f $KERNEL ]] || fail "no $KERNEL in the cache: rm -rf $KDIR and rerun"

# --- The initramfs --------------------------------------------------------------------
# Modules in load order (dependencies first), from the package's modules.dep.
declare -A LOADED=()
ORDER=()
add_module() {  # add_module NAME: the module and what it needs, unless built in
  local name=$1 line path dep
  line=$(grep -E "/${name}\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -n1) || true
  if [[ -z $line ]]; then
    grep -qE "/${name}\.ko$" "$MODDIR/modules.builtin" && return 0
    fail "$RELEASE has no module $name"
  fi
  path=${line%%:*}
  [[ -n ${LOADED[$path]:-} ]] && return 0
  for dep in ${line#*:}; do
    dep=$(basename "$dep")
    add_module "${dep%%.ko*}"
  done
  LOADED[$path]=1
  ORDER+=("$path")
}
# wireguard: kernel WireGuard, which the host's kernel lacks (kernel_wireguard_test.sh);
# macvtap (with macvlan and tap): a VM's NIC (macvtap_test.sh).
for m in virtio_pci 9pnet_virtio 9p tun veth wireguard macvtap; do add_module "$m"; done

WORK=$(mktemp -d /tmp/tunlat-vm.XXXXXX)
QEMU_PID=
cleanup() {
  if [[ -n $QEMU_PID ]]; then kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # ctest's timeout, Ctrl-C: still stop qemu
IRD=$WORK/initramfs
mkdir -p "$IRD"/{bin,dev,proc,sys,host,mods}
cp "$BUSYBOX" "$IRD/bin/busybox"
i=0
for path in "${ORDER[@]}"; do
  out=$IRD/mods/$(printf %02d $i)-$(basename "${path%%.ko*}").ko
  case $path in
    *.ko.xz) xz -dc "$MODDIR/$path" >"$out" ;;
    *.ko.zst) zstd -qdc "$MODDIR/$path" >"$out" ;;
    *.ko.gz) gzip -dc "$MODDIR/$path" >"$out" ;;
    *) cp "$MODDIR/$path" "$out" ;;
  esac
  i=$((i + 1))
done
# What the guest runs, in the host's tree: baked in rather than passed on the command line.
{
  printf 'ROOT=%q\nTUNLAT=%q\nTAPREADER=%q\nTESTS=%q\n' "$ROOT" "$TUNLAT" "$TAPREADER" "${TESTS[*]}"
  # Debugging: TUNLAT_VM_CMD='...' runs that bash command in the guest instead of the tests.
  printf 'CMD=%q\n' "${TUNLAT_VM_CMD:-bash \$ROOT/tests/vm/guest.sh \$TESTS}"
} >"$IRD/guest.conf"
cat >"$IRD/init" <<'EOF'
#!/bin/busybox sh
# The guest's pid 1: mount the host read-only, run the tests in it, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /guest.conf
# Everything but tun and veth first: they are the tests' modules, loaded after the mount.
for m in /mods/*.ko; do
  case $m in *-tun.ko|*-veth.ko) continue ;; esac
  insmod "$m" || echo "tunlat-vm: insmod $m failed"
done
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host; then
  echo "tunlat-vm: cannot mount the host over 9p"
  poweroff -f
fi
for m in /mods/*-tun.ko /mods/*-veth.ko; do insmod "$m" || echo "tunlat-vm: insmod $m failed"; done
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
# What udev/systemd would add to a devtmpfs: bash's <(...) needs /dev/fd.
ln -sf /proc/self/fd /host/dev/fd
ln -sf /proc/self/fd/0 /host/dev/stdin
ln -sf /proc/self/fd/1 /host/dev/stdout
ln -sf /proc/self/fd/2 /host/dev/stderr
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
# The guest's own /tmp hides a checkout or build under the host's /tmp (a clone made
# there): the top folder of each such path is bound back over the tmpfs.
mkdir -p /hosttmp && mount -o bind /host/tmp /hosttmp
mount -t tmpfs tmpfs /host/tmp
for p in "$ROOT" "$TUNLAT" "$TAPREADER"; do
  case $p in /tmp/?*)
    top=${p#/tmp/}
    top=${top%%/*}
    [ -d "/host/tmp/$top" ] || { mkdir -p "/host/tmp/$top" && mount -o bind "/hosttmp/$top" "/host/tmp/$top"; } ;;
  esac
done
mount -t tmpfs tmpfs /host/run
mount -t bpf bpf /host/sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /host/sys/kernel/tracing 2>/dev/null
chroot /host /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/tmp TUNLAT="$TUNLAT" TAPREADER="$TAPREADER" TUNLAT_TEST_SLOW=10 TUNLAT_TEST_DURATION_SCALE=2 \
  ROOT="$ROOT" TESTS="$TESTS" /bin/bash -c "$CMD"
echo "tunlat-vm: guest exited $?"
poweroff -f
EOF
chmod +x "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initramfs.gz"

# --- The guest ------------------------------------------------------------------------
LOG=${TUNLAT_VM_LOG:-$CACHE/$SERIES-console.log}
# boot: runs the guest to its end; 0, 2 if it hung (no result line for $STALL s), 3 if its
# kernel died of an int3 it did not place: a static key patched with int3 (text_poke_bp,
# a tracepoint attached or detached) while the other vCPU ran the site. Seen once in the
# 6.12 guest under TCG, in bpf_raw_tp_link_release; emulation, not the programs: no BPF
# program can plant an int3.
boot() {
  log "booting $RELEASE ($(cat "$KDIR/package")) under TCG, ${SMP} CPUs; console: $LOG"
  start=$(date +%s)
  : >"$LOG"
  # The host's / over 9p, read-only; multidevs=remap keeps inodes of its mounts apart.
  nice -n 10 timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg -cpu max -smp "$SMP" -m "$MEM" -nodefaults -no-reboot \
    -display none -serial stdio -monitor none \
    -kernel "$KERNEL" -initrd "$WORK/initramfs.gz" \
    -append "console=ttyS0 rdinit=/init panic=-1 loglevel=4 mitigations=off tsc=reliable" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    </dev/null >"$LOG" 2>&1 &
  QEMU_PID=$!
  # Progress on stderr while it runs: the guest's result lines.
  tail -F --pid="$QEMU_PID" "$LOG" 2>/dev/null | grep --line-buffered -aE '^(tunlat-vm|PASS|FAIL|SKIP)' >&2 &
  local lines=0 now seen=$start
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    sleep 5
    now=$(grep -ac '^tunlat-vm' "$LOG" || true)
    if ((now != lines)); then
      lines=$now seen=$(date +%s)
    elif (($(date +%s) - seen > STALL)); then
      log "the guest printed nothing for $STALL s: hung; tail of $LOG: $(tail -n 3 "$LOG" | tr -d '\r' | tr '\n' ' ')"
      kill "$QEMU_PID" 2>/dev/null
      wait "$QEMU_PID" 2>/dev/null
      QEMU_PID=
      return 2
    fi
  done
  rc=0
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=
  if ! grep -aq '^tunlat-vm: done:' "$LOG" && grep -aq 'Oops: int3' "$LOG"; then
    log "the guest's kernel died of a stray int3 (code patching under TCG); tail of $LOG: $(grep -a -m1 -A3 'Oops: int3' "$LOG" | tr -d '\r' | tr '\n' ' ')"
    return 3
  fi
  return 0
}
boot || { cp "$LOG" "$LOG.hung"; boot || fail "the guest hung or died twice (consoles: $LOG.hung, $LOG)"; }
secs=$(($(date +%s) - start))
done_line=$(grep -a '^tunlat-vm: done:' "$LOG" | tail -n1 | tr -d '\r' || true)
[[ -n $done_line ]] || fail "the guest did not finish (qemu exit $rc after ${secs} s): tail of $LOG:
$(tail -n 30 "$LOG")"
log "$RELEASE: $done_line in ${secs} s"
grep -q 'fail=0 ' <<<"$done_line " || exit 1
grep -q 'pass=0 ' <<<"$done_line " && fail "no test passed in the guest"
exit 0

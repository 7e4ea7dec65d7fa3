#!/usr/bin/env bash
# Runs C tests of libscythe on a pure cgroup v2 hierarchy, in a small VM: qemu boots a Linux kernel with cgroup v1
# switched off (cgroup_no_v1=all), so the memory and pids controllers are v2's, from an initramfs made here of
# busybox, the given test binary and scythe-guard (with the shared libraries they load). The VM's init mounts cgroup2
# at /sys/fs/cgroup, runs each test as its own process and prints "scythe-vm: N passed, N failed" on the serial
# console, then powers off.
#
#   v2-vm.sh TEST_BINARY GUARD [TEST...]      default tests: the cgroup ones (below)
#
# Called by the C test cgroup_v2_in_vm (native/test/test_cgroup_v2.c) on machines whose own cgroup v2 hierarchy has
# no memory or pids controller. Exit status 0: every test passed; 1: a test failed, or the VM did not report;
# 77: it cannot run here (the reason on a "scythe-vm: skipped: ..." line).
#
# Needs qemu-system-x86_64 (Debian: qemu-system-x86), a kernel image (Debian: linux-image-amd64, or SCYTHE_VM_KERNEL),
# busybox (Debian: busybox-static), cpio. The machine may have no KVM, or one that cannot run this guest (nested
# virtualisation): the default is qemu's software emulation (TCG); SCYTHE_VM_ACCEL=kvm to try KVM.
set -euo pipefail

skip() { echo "scythe-vm: skipped: $*"; exit 77; }

(( $# >= 2 )) || { echo "usage: v2-vm.sh TEST_BINARY GUARD [TEST...]" >&2; exit 2; }
bin=$1 guard=$2
shift 2
tests=("$@")
(( ${#tests[@]} )) || tests=(version_and_caps cgroup_v2_limits cgroup_v2_supervisor_moves_into_a_leaf
  cgroup_v2_no_move_beside_other_processes cgroup_v2_nested_supervisor cgroup_limits cgroup_catches_escapees
  guard_kills_and_removes_the_cgroups_of_a_dead_supervisor memory_peak_is_the_jobs_own)

[[ $(uname -m) == x86_64 ]] || skip "the VM is x86_64 only, this machine is $(uname -m)"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)"
kernel=${SCYTHE_VM_KERNEL:-}
if [[ -z $kernel ]]; then
  kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
fi
[[ -n $kernel && -r $kernel ]] ||
  skip "no readable kernel image (/boot/vmlinuz-*; Debian: apt-get install linux-image-amd64; or set SCYTHE_VM_KERNEL)"
busybox=${SCYTHE_VM_BUSYBOX:-$(command -v busybox || true)}
[[ -n $busybox && -x $busybox ]] || skip "busybox not found (Debian: apt-get install busybox-static)"
command -v cpio >/dev/null || skip "cpio not found (Debian: apt-get install cpio)"
[[ -x $bin && -x $guard ]] || { echo "scythe-vm: $bin or $guard is not an executable" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/scythe-v2-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,scythe}

# A binary and the shared libraries it loads, at the same paths as here.
add() {
  cp "$1" "$root/$2"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [[ -e $root$lib ]] || cp -L --parents "$lib" "$root"
  done
}
add "$busybox" bin/busybox
add "$bin" scythe/scythe_tests
add "$guard" scythe/scythe-guard
printf '%s\n' "${tests[@]}" > "$root/scythe/tests"
# The sanitizer runtime's settings, as the host run has them (values without quotes).
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
  [[ -n ${!v:-} ]] && printf "export %s='%s'\n" "$v" "${!v}"
done > "$root/scythe/env"

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp SCYTHE_GUARD=/scythe/scythe-guard SCYTHE_REQUIRE_V2=1 \
  SCYTHE_IN_VM=1
. /scythe/env
echo "scythe-vm: Linux $(uname -r) at init after $(cut -d' ' -f1 /proc/uptime) s; cgroup2 root controllers:" \
  "$(cat /sys/fs/cgroup/cgroup.controllers); cgroup v1 hierarchies mounted: $(grep -c ' - cgroup ' /proc/self/mountinfo)"
[ -n "${ASAN_OPTIONS:-}" ] && echo "scythe-vm: ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=${UBSAN_OPTIONS:-}"
passed=0
failed=0
for t in $(cat /scythe/tests); do
  /scythe/scythe_tests "$t" > /tmp/out 2>&1
  rc=$?
  grep -v '^1 passed, 0 failed$' /tmp/out
  if [ $rc -eq 0 ] && grep -q '^1 passed, 0 failed$' /tmp/out; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "scythe-vm: $t FAILED (exit status $rc)"
  fi
done
echo "scythe-vm: tests done at $(cut -d' ' -f1 /proc/uptime) s"
echo "scythe-vm: $passed passed, $failed failed"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$work/initramfs.cpio"

accel=${SCYTHE_VM_ACCEL:-tcg}
cpu=max
[[ $accel == kvm ]] && cpu=host
echo "scythe-vm: booting $kernel under $qemu (accel $accel), tests: ${tests[*]}"
start=$(date +%s.%N)
status=0
timeout "${SCYTHE_VM_TIMEOUT:-600}" "$qemu" -accel "$accel" -cpu "$cpu" -m 1024 -smp 2 -nodefaults -display none \
  -serial stdio -no-reboot -kernel "$kernel" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" \
  < /dev/null > "$work/console.log" 2>&1 || status=$?
tr -d '\r' < "$work/console.log"
end=$(date +%s.%N)
echo "scythe-vm: qemu exited with status $status after $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
summary=$(tr -d '\r' < "$work/console.log" | grep -E '^scythe-vm: [0-9]+ passed, [0-9]+ failed$' | tail -1 || true)
[[ -n $summary ]] || { echo "scythe-vm: the VM reported no result"; exit 1; }
read -r _ passed _ failed _ <<< "$summary"
(( failed == 0 && passed == ${#tests[@]} )) || exit 1

#!/bin/sh
# Runs inside the QEMU guest (see tests/vm/run-in-guest.sh): load cvm.ko
# with its default parameters, run the pinning benchmark, unload it.
# Prints figures only: the exit status says whether the benchmark ran and
# the kernel stayed quiet, never how fast anything was.
#
#   guest-bench.sh BUILD_DIR
build=${1:?usage: guest-bench.sh BUILD_DIR}
status=0

dmesg -C
# AES-GCM for page-out: the guest can't autoload modules from its chroot.
modprobe gcm || exit 1
modprobe aesni_intel 2>/dev/null
modprobe ghash_clmulni_intel 2>/dev/null
insmod "$build/kmod/cvm.ko" || exit 1
"$build/tests/bench/bench-pin" /dev/cvm || status=1
rmmod cvm || status=1

# A warning under load is a bug even when every figure came out.
bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall|Call Trace' || true)
if [ -n "$bad" ]; then
	echo "guest-bench: kernel log not clean:"
	dmesg
	status=1
fi
exit $status

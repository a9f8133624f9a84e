#!/bin/sh
# Runs inside the QEMU guest (see tests/vm/run-in-guest.sh): load cvm.ko
# with a 96 MiB secure pool, run the module's benchmarks, unload it.
# Prints figures only: the exit status says whether the benchmarks ran and
# the kernel stayed quiet, never how fast anything was.
#
#   guest-bench.sh BUILD_DIR [pin] [secure]     (default: both)
#
# CVM_BENCH_PIN_PARTS: the parts of bench-pin to run (its PART arguments:
# setup, same-set, per-page), default all.
build=${1:?usage: guest-bench.sh BUILD_DIR [pin] [secure]}
# Only in the guest tests/vm/run-in-guest.sh boots (its kernel command
# line names the job): on a host this would load modules and clear the
# kernel log.
grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
shift
which=${*:-pin secure}
status=0

dmesg -C
# AES-GCM for page-out: the guest can't autoload modules from its chroot.
modprobe -a gcm ctr ghash_generic || exit 1
modprobe aesni_intel 2>/dev/null
modprobe ghash_clmulni_intel 2>/dev/null
# 96 MiB: bench-secure pages 64 MiB in without eviction.
insmod "$build/kmod/cvm.ko" pool_mb=96 || exit 1
for b in $which; do
	parts=
	[ "$b" = pin ] && parts=${CVM_BENCH_PIN_PARTS:-}
	# shellcheck disable=SC2086 # the parts are words
	"$build/tests/bench/bench-$b" /dev/cvm $parts || status=1
done
rmmod cvm || status=1

# A warning under load is a bug even when every figure came out.
bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall|Call Trace' || true)
if [ -n "$bad" ]; then
	echo "guest-bench: kernel log not clean:"
	dmesg
	status=1
fi
exit $status

#!/bin/sh
# Runs inside the QEMU guest (tests/vm/run-in-guest.sh): the scenario
# suite against the kmod backend, then checks the module unloads and the
# kernel log is clean.
#
#   guest-scenario.sh BUILD_DIR
#
# The module is $CVM_KO if set (the debug kernel's build, tests/vm-debug),
# else BUILD_DIR/kmod/cvm.ko.
build=${1:?usage: guest-scenario.sh BUILD_DIR}
here=$(dirname "$0")
# Only in the guest (the kernel command line names the job): on a host this
# would load modules and clear the kernel log.
grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
status=0

modprobe -a gcm ctr ghash_generic
modprobe aesni_intel 2>/dev/null
modprobe ghash_clmulni_intel 2>/dev/null
dmesg -C
if insmod "${CVM_KO:-$build/kmod/cvm.ko}" pool_mb=16; then
	echo "ok - insmod cvm.ko"
else
	echo "not ok - insmod cvm.ko"
	exit 1
fi
bash "$here/scenario.sh" "$build" kmod || status=1
if rmmod cvm; then echo "ok - rmmod cvm after the scenario"; else echo "not ok - rmmod cvm"; status=1; fi
if dmesg | grep -qE 'WARNING:|BUG:|Oops|general protection|soft lockup|rcu.*stall|Call Trace'; then
	echo "not ok - kernel log clean"
	dmesg
	status=1
else
	echo "ok - kernel log clean"
fi
exit $status

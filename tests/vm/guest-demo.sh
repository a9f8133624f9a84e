#!/bin/sh
# Runs inside the QEMU guest (see run-in-guest.sh) for `make run`: load
# cvm.ko, walk one VM through its life with cvm-demo, unload it.
#
#   guest-demo.sh BUILD_DIR
build=${1:?usage: guest-demo.sh BUILD_DIR}
# Only in the guest tests/vm/run-in-guest.sh boots (its kernel command
# line names the job): on a host this would load modules.
grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
status=0

# AES-GCM for page-out: the guest can't autoload modules from its chroot.
modprobe -a gcm ctr ghash_generic || exit 1
modprobe aesni_intel 2>/dev/null
modprobe ghash_clmulni_intel 2>/dev/null
insmod "$build/kmod/cvm.ko" || exit 1
echo "cvm.ko loaded: /dev/cvm, mode $(stat -c '%a, owner %U' /dev/cvm)"
"$build/tests/vm/cvm-demo" /dev/cvm || status=1
rmmod cvm || status=1
if [ -e /dev/cvm ]; then
	echo "/dev/cvm still there after rmmod"
	status=1
else
	echo "cvm.ko unloaded"
fi
exit $status

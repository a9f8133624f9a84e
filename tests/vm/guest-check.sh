#!/bin/sh
# Runs inside the QEMU guest (see run-in-guest.sh): load cvm.ko, run the
# module's test suite, unload it, and scan the kernel log. Prints cmocka
# output plus TAP-style "ok -" / "not ok -" lines that tests/run-suite.sh
# counts.
#
#   guest-check.sh BUILD_DIR
#
# The module is $CVM_KO if set (the debug kernel's build, tests/vm-debug),
# else BUILD_DIR/kmod/cvm.ko.
build=${1:?usage: guest-check.sh BUILD_DIR}
# Only in the guest tests/vm/run-in-guest.sh boots (its kernel command
# line names the job): on a host this would load modules and clear the
# kernel log.
grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
status=0
CVM_POOL_MB=16

check() { # check DESCRIPTION COMMAND...
	what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		status=1
	fi
}

dmesg -C
# AES-GCM for page-out; the kernel can't load modules by itself from the
# chroot the guest runs in, so load them here (accelerated ones if the
# emulated CPU has the instructions).
check "modprobe gcm" modprobe gcm
# cvm.ko asks for a synchronous gcm(aes): the gcm template over ctr and
# ghash-generic, which the kernel would load on demand outside the guest.
check "modprobe ctr ghash_generic" modprobe -a ctr ghash_generic
modprobe aesni_intel 2>/dev/null || true
modprobe ghash_clmulni_intel 2>/dev/null || true
# A small pool, so the exhaustion tests reach its end quickly.
check "insmod cvm.ko pool_mb=$CVM_POOL_MB" insmod "${CVM_KO:-$build/kmod/cvm.ko}" pool_mb="$CVM_POOL_MB"
check "/dev/cvm is a character device" test -c /dev/cvm
if [ -c /dev/cvm ]; then
	"$build/tests/vm/cvm-ktest" /dev/cvm || status=1
fi
check "rmmod cvm" rmmod cvm
check "/dev/cvm gone after rmmod" test ! -e /dev/cvm

# The pool's allocation at load stops when insmod is killed (a large
# pool_mb takes seconds): SIGKILL while the module initializes, and
# nothing may stay loaded.
insmod "${CVM_KO:-$build/kmod/cvm.ko}" pool_mb=512 2>/dev/null &
pid=$!
i=0
while [ $i -lt 2000 ] && [ "$(cat /sys/module/cvm/initstate 2>/dev/null)" != coming ]; do
	sleep 0.01
	i=$((i + 1))
done
seen=$(cat /sys/module/cvm/initstate 2>/dev/null)
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
if [ "$seen" = coming ]; then
	check "insmod killed while allocating the pool leaves no module" test ! -d /sys/module/cvm
else
	echo "# insmod killed while allocating the pool: window missed ($seen), not checked"
fi
[ ! -d /sys/module/cvm ] || rmmod cvm

# Any kernel warning, oops, lockup or stall fails the run, whatever the
# tests said.
bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall|Call Trace' || true)
if [ -n "$bad" ]; then
	echo "not ok - kernel log clean"
	dmesg
	status=1
else
	echo "ok - kernel log clean"
fi
exit $status

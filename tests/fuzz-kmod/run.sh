#!/bin/sh
# Boots a guest and runs the fuzzer there (make fuzz-kmod / fuzz-kmod-cov):
# on the debug kernel when tests/vm-debug/run-debug.sh finds it (it loads
# the debug cvm.ko and scans the log), else, or with FUZZ_KMOD_KERNEL=debian,
# on the Debian kernel with tests/vm/run-in-guest.sh and BUILD_DIR/kmod/cvm.ko.
#
#   run.sh [--cov] BUILD_DIR CALLS SEED
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
cov=
[ "${1:-}" != --cov ] || { cov=1; shift; }
build=${1:?usage: run.sh [--cov] BUILD_DIR CALLS SEED}
calls=${2:?usage: run.sh [--cov] BUILD_DIR CALLS SEED}
seed=${3:?usage: run.sh [--cov] BUILD_DIR CALLS SEED}
debug=$repo/tests/vm-debug/run-debug.sh
# Boot plus a pessimistic 300 calls/s (the debug kernel under TCG).
timeout=$((900 + calls / 300))
cd "$repo" || exit 2

if [ -n "$cov" ]; then
	if [ ! -x "$debug" ]; then
		echo "fuzz-kmod-cov: skipped: needs the debug kernel's rig ($debug): KCOV is only there" >&2
		exit 1
	fi
	exec "$debug" --timeout "$timeout" -- "$here/guest-cov.sh" "$build" "$calls" "$seed"
fi
# FUZZ_KMOD_KERNEL=debian: the Debian kernel even where the debug one is
# (about ten times the calls per second, without KASAN or fault injection).
if [ "${FUZZ_KMOD_KERNEL:-}" != debian ] && [ -x "$debug" ]; then
	"$debug" --timeout "$timeout" -- "$here/guest-fuzz.sh" "$build" "$calls" "$seed"
	st=$?
	# 77: the debug kernel is not on this machine (run-debug.sh said why).
	[ $st -eq 77 ] || exit $st
fi
echo "fuzz-kmod: on the Debian kernel (no KASAN, no fault injection)" >&2
exec "$repo/tests/vm/run-in-guest.sh" --timeout "$timeout" -- /bin/sh -c '
	modprobe -a gcm ctr ghash_generic; modprobe aesni_intel 2>/dev/null; modprobe ghash_clmulni_intel 2>/dev/null
	insmod "$1/kmod/cvm.ko" pool_mb=1 || exit 1
	CVM_KO=$1/kmod/cvm.ko "$2/guest-fuzz.sh" "$1" "$3" "$4"
	st=$?
	rmmod cvm || st=1
	exit $st' sh "$build" "$here" "$calls" "$seed"

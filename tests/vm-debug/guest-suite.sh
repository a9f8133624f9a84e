#!/bin/bash
# The check-vm-debug suite, inside the debug kernel's guest (run by
# run-debug.sh, which arms and reads the checkers around it): the vm suite,
# the integration-kmod scenario and a bounded fuzzer run, all on the cvm.ko
# built for this kernel ($CVM_KO). Each part's time goes on a "# time" line.
#
#   guest-suite.sh BUILD_DIR
#
# Environment: CVM_KO (set by run-debug.sh); FUZZ_KMOD_CHECK_CALLS (default
# 100000) and FUZZ_KMOD_CHECK_SEED (default 1) for the fuzzer run;
# CVM_DEBUG_PARTS (default "vm integration fuzz") to run fewer parts;
# CVM_DEBUG_FULL=1 runs the scenario's table cells too (skipped by default:
# cvm-ktest's table group covers every cell in the vm part, and through
# cvmctl they would take over half an hour on this kernel under TCG).
build=${1:?usage: guest-suite.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
: "${CVM_KO:?CVM_KO: the cvm.ko built for this kernel (run-debug.sh sets it)}"
export CVM_KO
calls=${FUZZ_KMOD_CHECK_CALLS:-100000}
seed=${FUZZ_KMOD_CHECK_SEED:-1}
parts=${CVM_DEBUG_PARTS:-vm integration fuzz}
status=0

part() { # part NAME COMMAND...
	local name=$1 t0=$SECONDS
	shift
	echo "# part $name: start"
	"$@" || status=1
	echo "# time $name: $((SECONDS - t0)) s"
}

fuzz() {
	local f=$repo/tests/fuzz-kmod/guest-fuzz.sh
	if [ ! -e "$f" ]; then
		echo "not ok - fuzz-kmod: tests/fuzz-kmod/guest-fuzz.sh missing"
		return 1
	fi
	if ! insmod "$CVM_KO" pool_mb=16; then
		echo "not ok - fuzz-kmod: insmod $CVM_KO"
		return 1
	fi
	local st=0
	"$f" "$build" "$calls" "$seed" || st=1
	if rmmod cvm; then echo "ok - fuzz-kmod: rmmod cvm after the fuzzer"; else
		echo "not ok - fuzz-kmod: rmmod cvm after the fuzzer"; st=1; fi
	return $st
}

for p in $parts; do
	case $p in
	vm) part vm "$repo/tests/vm/guest-check.sh" "$build" ;;
	integration)
		if [ -n "${CVM_DEBUG_FULL:-}" ]; then
			part integration-kmod "$repo/tests/integration/guest-scenario.sh" "$build"
		else
			CVM_SCENARIO_NO_TABLES=1 part integration-kmod \
				"$repo/tests/integration/guest-scenario.sh" "$build"
		fi
		;;
	fuzz) part fuzz-kmod fuzz ;;
	*) echo "not ok - guest-suite: unknown part '$p'"; status=1 ;;
	esac
done
exit $status

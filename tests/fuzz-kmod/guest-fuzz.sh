#!/bin/sh
# Runs in the guest with cvm.ko loaded: the random-ioctl fuzzer over CALLS
# calls from SEED, with fault injection aimed at its threads when debugfs
# has failslab / fail_page_alloc. Prints TAP lines, faults-injected: N and
# calls/s; exits non-zero on a failure (counters or VmLck not back to their
# baseline, a hung call, a new report in the kernel log).
#
#   guest-fuzz.sh BUILD_DIR CALLS SEED
#
# Environment: FUZZ_THREADS (4), FUZZ_VMS (4), FUZZ_FAIL_RATE (percent of
# allocations failed in the fault-injection phase, 1), CVM_KO (the module
# file, loaded when /dev/cvm is missing).
build=${1:?usage: guest-fuzz.sh BUILD_DIR CALLS SEED}
calls=${2:?usage: guest-fuzz.sh BUILD_DIR CALLS SEED}
seed=${3:?usage: guest-fuzz.sh BUILD_DIR CALLS SEED}
fuzz=$build/tests/fuzz-kmod/fuzz-kmod
threads=${FUZZ_THREADS:-4}
vms=${FUZZ_VMS:-4}
rate=${FUZZ_FAIL_RATE:-1}
# The 16 TiB + 1 page memslot: whole-range operations over it allocate
# per-page state for minutes (charged to the caller, killable: by design),
# which the hang watchdog cannot tell from a hang. Off unless FUZZ_HUGE=1;
# huge counts are still thrown at the 1 GiB regions and refused there.
huge=${FUZZ_HUGE:-0}
status=0

loaded=
if [ ! -c /dev/cvm ] && [ -n "${CVM_KO:-}" ]; then
	loaded=1
	modprobe -a gcm ctr ghash_generic 2>/dev/null; modprobe aesni_intel 2>/dev/null; modprobe ghash_clmulni_intel 2>/dev/null
	# A pool smaller than RLIMIT_MEMLOCK lets the fuzzer reach eviction.
	insmod "$CVM_KO" pool_mb="${FUZZ_POOL_MB:-1}" || { echo "not ok - insmod $CVM_KO"; exit 1; }
fi
[ -c /dev/cvm ] || { echo "not ok - fuzz-kmod: no /dev/cvm (load cvm.ko first)"; exit 1; }

# Reports the kernel log gains during the run fail it (the caller may
# scan the whole log again).
reports() {
	dmesg | grep -cE 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall|INFO: task .* blocked|UBSAN:|possible .*locking|kmemleak' || true
}
before=$(reports)

# A round every 20,000 calls: each ends with every VM closed and the
# counters compared with the baseline.
rounds=$((calls / 20000))
[ "$rounds" -ge 1 ] || rounds=1

run() { # run WHAT CALLS ARGS...: one fuzzer run, TAP line
	what=$1 n=$2
	shift 2
	# straight to the console: a guest that dies mid-run still shows it
	"$fuzz" --seed "$seed" --calls "$n" --threads "$threads" --vms "$vms" --huge "$huge" "$@" 2>&1
	st=$?
	if [ "$st" -eq 0 ]; then
		echo "ok - fuzz-kmod $n calls seed $seed$what"
	else
		echo "not ok - fuzz-kmod $n calls seed $seed$what (exit $st; replay: $fuzz --seed $seed --calls $n --threads $threads --vms $vms --huge $huge $*)"
		status=1
	fi
}

if [ -d /sys/kernel/debug/failslab ] || [ -d /sys/kernel/debug/fail_page_alloc ]; then
	# A tenth of the calls with allocations failing under the fuzzing threads.
	fcalls=$((calls / 10))
	run "" $((calls - fcalls)) --rounds "$rounds"
	run " fault-injection $rate%" "$fcalls" --rounds $(((rounds + 9) / 10)) --fail-rate "$rate"
else
	echo "# fault injection: this kernel has no debugfs failslab / fail_page_alloc; going on without"
	run "" "$calls" --rounds "$rounds"
fi

if [ -n "$loaded" ]; then
	if rmmod cvm; then echo "ok - rmmod cvm"; else echo "not ok - rmmod cvm"; status=1; fi
fi
after=$(reports)
if [ "$after" -gt "$before" ]; then
	echo "not ok - kernel log clean after fuzz-kmod seed $seed"
	dmesg | grep -E -A25 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall|INFO: task .* blocked|UBSAN:|possible .*locking' | head -120
	status=1
else
	echo "ok - kernel log clean after fuzz-kmod seed $seed"
fi
exit $status

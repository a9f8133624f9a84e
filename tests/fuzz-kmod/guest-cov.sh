#!/bin/sh
# Runs in the debug kernel's guest (KCOV; cvm.ko built with
# KCOV_INSTRUMENT): the distinct PCs of cvm.ko that the functional suite's
# main thread (cvm-ktest) reaches, those the fuzzer reaches over CALLS calls
# from SEED, and the comparison (kcov-report.py).
#
#   guest-cov.sh BUILD_DIR CALLS SEED
build=${1:?usage: guest-cov.sh BUILD_DIR CALLS SEED}
calls=${2:?usage: guest-cov.sh BUILD_DIR CALLS SEED}
seed=${3:?usage: guest-cov.sh BUILD_DIR CALLS SEED}
here=$(cd "$(dirname "$0")" && pwd -P)
fuzz=$build/tests/fuzz-kmod/fuzz-kmod
work=${FUZZ_COV_DIR:-/run/fuzz-kmod-cov}
mkdir -p "$work"
status=0

[ -e /sys/kernel/debug/kcov ] || { echo "not ok - KCOV: no /sys/kernel/debug/kcov in this kernel"; exit 1; }
[ -n "${CVM_KO:-}" ] || { echo "not ok - guest-cov.sh needs CVM_KO (it reloads cvm.ko)"; exit 1; }
ko=$CVM_KO
load() { # load POOL_MB
	! grep -qw '^cvm' /proc/modules || rmmod cvm || return 1
	modprobe -a gcm ctr ghash_generic 2>/dev/null
	insmod "$ko" pool_mb="$1"
}
# The fuzzer on a pool smaller than its RLIMIT_MEMLOCK (eviction), as
# guest-fuzz.sh runs it; offsets from the module's base stay comparable
# across reloads of the same cvm.ko.
load 1 || { echo "not ok - insmod $ko"; exit 1; }
# Instrumented sites: one call to __sanitizer_cov_trace_pc each.
sites=$(objdump -dr "$ko" 2>/dev/null | grep -c 'R_X86_64_PLT32[[:space:]]*__sanitizer_cov_trace_pc') || true

if "$fuzz" --seed "$seed" --calls "$calls" --threads 4 --vms 4 \
	--rounds $(((calls + 19999) / 20000)) --huge "${FUZZ_HUGE:-1}" --kcov "$work/fuzz.pcs" \
	>"$work/fuzz.log" 2>&1; then
	echo "ok - fuzz-kmod $calls calls seed $seed under kcov"
else
	tail -n 60 "$work/fuzz.log" | sed 's/^/# /'
	echo "not ok - fuzz-kmod $calls calls seed $seed under kcov"
	status=1
fi
grep -aE '^(calls/s|kcov):' "$work/fuzz.log"
# The vm suite's pool size (its exhaustion test counts on it); the
# functions of the module as loaded now, to name what each side reaches.
load 16 || { echo "not ok - reload $ko pool_mb=16"; exit 1; }
base=$(awk '$1 == "cvm" { print $6 }' /proc/modules)
grep '\[cvm\]' /proc/kallsyms >"$work/syms"
# Bounded: on a slow guest the suite's coverage so far still counts.
# (Not through timeout(1): KCOV follows the task, not its children.)
if "$fuzz" --kcov-run "$work/vm.pcs" --timeout "${FUZZ_COV_KTEST_TIMEOUT:-1800}" -- \
	"$build/tests/vm/cvm-ktest" /dev/cvm >"$work/ktest.log" 2>&1; then
	echo "ok - vm suite (cvm-ktest) under kcov-run"
else
	tail -n 20 "$work/ktest.log" | sed 's/^/# /'
	echo "not ok - vm suite (cvm-ktest) under kcov-run (killed on timeout: coverage partial)"
	status=1
fi
grep -a 'kcov-run:' "$work/ktest.log"
python3 "$here/kcov-report.py" "$work/vm.pcs" "$work/fuzz.pcs" --syms "$work/syms" \
	--base "$base" ${sites:+--sites "$sites"} || status=1
rmmod cvm || status=1
exit $status

#!/bin/bash
# Boot the debug kernel (KASAN, UBSAN, lockdep, kmemleak, fault injection,
# KCOV; see README.md) under QEMU, run COMMAND in it with cvm.ko built for
# that kernel at $CVM_KO (not loaded), then check that no checker reported
# anything and that every checker is still on.
#
#   run-debug.sh [--timeout S] [--mem MB] [--expect-faults] [--log FILE]
#                [--env NAME=VALUE]... -- COMMAND [ARGS...]
#
# Prints COMMAND's output, the kernel log (loglevel=7) and TAP-style
# "ok -" / "not ok -" lines: the checks of guest-run.sh in the guest, then
# this script's scan of the whole console for reports. Exit status: 0 when
# COMMAND and every check passed; 1 on a failure; 77 (after a line
# "skipped: <reason>") when no debug kernel is found; 2 on bad usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
me=run-debug

timeout=1200 mem=2048 log='' gargs=()
rargs=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout | --mem | --log | --env)
		[ $# -ge 2 ] || { echo "$me: $1 needs an argument" >&2; exit 2; }
		case $1 in
		--timeout) timeout=$2 ;;
		--mem) mem=$2 ;;
		--log) log=$2 ;;
		--env) rargs+=(--env "$2") ;;
		esac
		shift 2
		;;
	--expect-faults) gargs+=(--expect-faults); shift ;;
	--) shift; break ;;
	*) echo "usage: $me [--timeout S] [--mem MB] [--expect-faults] [--log FILE] [--env N=V]... -- COMMAND..." >&2
		exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "$me: no command given" >&2; exit 2; }

build=${CVM_BUILD_DIR:-$repo/build}
mkdir -p "$build/vm-debug"
build=$(cd "$build" && pwd -P)

t0=$SECONDS
prep=$("$here/prepare.sh" "$build" 2>"$build/vm-debug/prepare.log")
rc=$?
if [ "$rc" -eq 77 ]; then
	echo "skipped: $(tail -n1 "$build/vm-debug/prepare.log")"
	exit 77
elif [ "$rc" -ne 0 ]; then
	tail -n 30 "$build/vm-debug/prepare.log" | sed 's/^/# /'
	echo "not ok - debug kernel and cvm.ko for it ($build/vm-debug/prepare.log)"
	exit 1
fi
eval "$prep"
echo "# debug kernel $KVER, cvm.ko built for it in $((SECONDS - t0)) s: $CVM_KO"

console=$build/vm-debug/console.log
# Kernel lines only (a timestamp first; it may follow a program's unfinished
# line on the console).
reports='\[ *[0-9]+\.[0-9]+\] .*(BUG: |WARNING: |UBSAN: |Oops|general protection fault|kernel BUG at|Kernel panic|INFO: task .* blocked for more than|rcu: INFO: |detected stalls? on|soft lockup|hard LOCKUP|ODEBUG: |list_(add|del) corruption|kmemleak: .*(disabl|[Cc]annot))'
# A report by the kernel itself during boot (seen under TCG on a loaded
# host) turns lockdep off before cvm.ko loads: the guest then stops at once
# and we boot again, once.
end=$((SECONDS + timeout))
for try in 1 2; do
	t1=$SECONDS
	left=$((end - SECONDS))
	[ "$left" -gt 60 ] || left=60
	"$repo/tests/vm/run-in-guest.sh" --kernel-root "$KROOT" --timeout "$left" --mem "$mem" \
		--log "$console" --env CVM_KO="$CVM_KO" "${rargs[@]}" -- \
		"$here/guest-run.sh" "${gargs[@]}" -- "$@"
	status=$?
	echo "# guest: exit $status after $((SECONDS - t1)) s (boot included)"
	grep -q '^cvm-debug: unclean boot' "$console" || break
	echo "# boot $try: the kernel reported during boot, before cvm.ko loaded:"
	grep -m3 -E "$reports" "$console" | sed 's/^/#   /'
	if [ "$try" = 2 ]; then
		echo "not ok - a clean boot of the debug kernel (two tries)"
		exit 1
	fi
done
[ -z "$log" ] || cp "$console" "$log"
case $status in
124) echo "not ok - the guest ran to the end (timed out after ${timeout}s; parts' times on '# time' lines)" ;;
125) echo "not ok - the guest ran to the end (no exit marker: panic or crash, see the console)" ;;
esac

# The whole kernel log reached the console (loglevel=7). Every report from
# the moment the checkers were armed fails the run; before it (boot), they
# are shown but are the kernel's, not cvm.ko's.
armed=$(grep -n -m1 '^cvm-debug: checks armed' "$console" | cut -d: -f1)
if [ -z "$armed" ]; then
	echo "not ok - the guest armed the checkers (no 'cvm-debug: checks armed' on the console)"
	exit 1
fi
boot=$(head -n "$armed" "$console" | grep -cE "$reports")
[ "$boot" -eq 0 ] || echo "# $boot report lines during boot, before cvm.ko (not counted)"
hits=$(tail -n +"$armed" "$console" | grep -nE "$reports" | cut -d: -f1)
if [ -z "$hits" ]; then
	echo "ok - kernel log: no KASAN, UBSAN, lockdep, WARN, BUG, hung-task, lockup or RCU stall report"
else
	echo "not ok - kernel log: $(echo "$hits" | wc -l) report lines; the first of each:"
	# Each report with the 12 lines after it, at most 10 reports.
	last=-100 n=0
	for h in $hits; do
		[ "$h" -gt $((last + 12)) ] || continue
		last=$h n=$((n + 1))
		[ "$n" -le 10 ] || break
		tail -n +"$armed" "$console" | sed -n "${h},$((h + 12))p" | sed 's/^/#   /'
		echo '#   ---'
	done
	status=1
fi
if tail -n +"$armed" "$console" | grep -q 'cvm-debug: warning-level canary'; then
	echo "ok - a warning-level line from the guest reached the console"
else
	echo "not ok - a warning-level line from the guest reached the console (WARNs hidden?)"
	status=1
fi
[ "$status" -eq 0 ] || exit 1

#!/bin/bash
# Runs inside the debug kernel's guest (tests/vm-debug/run-debug.sh): arms
# the checkers, runs COMMAND, then scans kmemleak and prints what it checked
# as TAP-style "ok -" / "not ok -" lines. The kernel log itself is scanned on
# the host, from the console (run-debug.sh).
#
#   guest-run.sh [--expect-faults] -- COMMAND [ARGS...]
#
# --expect-faults: COMMAND must report faults injected into cvm.ko
# ("faults-injected: N" lines, summed); none is a failure.
set -uo pipefail

grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
expect_faults=
while [ $# -gt 0 ]; do
	case $1 in
	--expect-faults) expect_faults=1; shift ;;
	--) shift; break ;;
	*) echo "usage: $0 [--expect-faults] -- COMMAND [ARGS...]" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "$0: no command" >&2; exit 2; }

# A report during boot (the kernel's own, before cvm.ko) turns lockdep off
# and would hide the run's: say so, and run-debug.sh boots again.
dl=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null)
if [ "$dl" != 1 ]; then
	echo "cvm-debug: unclean boot: debug_locks is '${dl:-unreadable}' before cvm.ko loads"
	exit 3
fi

status=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; status=1; }
dbg=/sys/kernel/debug
leak=$dbg/kmemleak
work=/run/cvm-debug
mkdir -p "$work"

# Only what happens from here on counts: forget the boot's objects.
if echo clear >"$leak" 2>/dev/null; then
	ok "kmemleak cleared before cvm.ko loads"
else
	not_ok "kmemleak clear (is kmemleak on? $leak)"
fi
if grep -qw '^cvm' /proc/modules; then
	not_ok "cvm.ko not loaded before the command"
fi
echo "cvm-debug: checks armed"
# A warning-level line the host must find on the console after the line
# above: proves WARNs are not hidden by the console log level.
echo '<4>cvm-debug: warning-level canary' >/dev/kmsg

t0=$SECONDS
"$@" 2>&1 | tee "$work/command.log"
st=${PIPESTATUS[0]}
echo "# command exited $st after $((SECONDS - t0)) s"
[ "$st" -eq 0 ] || status=1

# kmemleak reports an object only once it is older than 5 s and unreferenced
# in two scans.
echo scan >"$leak" 2>/dev/null
sleep 6
echo scan >"$leak" 2>/dev/null
if cat "$leak" >"$work/kmemleak" 2>/dev/null; then
	ok "kmemleak still enabled (its report reads)"
	# One report per "unreferenced object"; it names cvm.ko when a frame
	# is in the module, or is a bare module address (cvm.ko was unloaded
	# since, so the frame no longer resolves to a symbol).
	awk -v out="$work/leaks-cvm" -v other="$work/leaks-other" '
		function flush() {
			if (rep == "") return
			if (rep ~ /\[cvm\]|[^A-Za-z_]cvm_|\] 0xffffffff[a-f][0-9a-f]*/) { print rep >out; n++ }
			else { print rep >other; m++ }
			rep = ""
		}
		/^unreferenced object/ { flush() }
		{ rep = rep $0 "\n" }
		END { flush(); printf "%d %d\n", n, m }' "$work/kmemleak" >"$work/leak-counts"
	read -r ncvm nother <"$work/leak-counts"
	if [ "$ncvm" -eq 0 ]; then
		ok "kmemleak: no leak naming cvm.ko ($nother other suspected leaks)"
	else
		not_ok "kmemleak: $ncvm leaks naming cvm.ko ($nother others); the first ones:"
		head -n 60 "$work/leaks-cvm" | sed 's/^/#   /'
	fi
	[ "$nother" -eq 0 ] || head -n 30 "$work/leaks-other" | sed 's/^/# not cvm.ko: /'
else
	not_ok "kmemleak still enabled: $leak no longer reads (it turned itself off)"
fi

dl=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null)
if [ "$dl" = 1 ]; then
	ok "lockdep still on (debug_locks 1)"
else
	not_ok "lockdep still on: debug_locks is '${dl:-unreadable}' (it stops after its first report)"
fi

faults=$(sed -nE 's/^faults-injected: ([0-9]+).*/\1/p' "$work/command.log" | awk '{s += $1} END {print s + 0}')
if [ -n "$expect_faults" ]; then
	if [ "$faults" -gt 0 ]; then
		ok "faults injected into cvm.ko: $faults (failslab + fail_page_alloc)"
	else
		not_ok "faults injected into cvm.ko: none reported (faults-injected: lines)"
	fi
else
	echo "# faults injected into cvm.ko: $faults"
fi

cl=$(awk '{ print $1 }' /proc/sys/kernel/printk)
# KERN_WARNING is 4: it reaches the console when the console level is above.
if [ "${cl:-0}" -ge 5 ]; then
	ok "console log level $cl: WARN lines reach the console"
else
	not_ok "console log level ${cl:-unreadable}: WARN lines would be hidden"
fi
exit $status

#!/usr/bin/env bash
# Run one test suite, show its output, and record its counts.
#
#   tests/run-suite.sh NAME COMMAND [ARGS...]
#
# Counts come from cmocka's summary lines ("[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)") plus TAP-style lines ("ok - what" /
# "not ok - what") that shell-level checks print. A suite that exits
# non-zero without reporting a failure, or that reports no test at all,
# counts as one failure: a crash never reads as green. A suite that exits
# 77 after a line "skipped: <reason>" and reports no test is skipped: it
# counts as neither pass nor fail, and the summary names it.
set -uo pipefail

name=$1
shift
results=${CVM_BUILD_DIR:-build}/results
mkdir -p "$results"
log=$results/$name.log

"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

passed=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test\(s\)\..*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
passed=$((passed + $(grep -cE '^ok( |$)' "$log")))
failed=$((failed + $(grep -cE '^not ok( |$)' "$log")))

skip=$(sed -nE 's/^skipped: (.*)/\1/p' "$log" | head -n1)
if ((status == 77 && passed + failed == 0)) && [ -n "$skip" ]; then
	echo "0 0 skipped: $skip" >"$results/$name.count"
	echo "$name: skipped: $skip"
	exit 0
fi
if ((status != 0 && failed == 0)); then
	echo "not ok - suite '$name' exited with status $status" | tee -a "$log"
	failed=$((failed + 1))
fi
if ((passed + failed == 0)); then
	echo "not ok - suite '$name' ran no test" | tee -a "$log"
	failed=1
fi
echo "$passed $failed" >"$results/$name.count"
echo "$name: $passed passed, $failed failed"

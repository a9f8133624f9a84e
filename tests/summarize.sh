#!/usr/bin/env bash
# Sum the counts of the suites that `make check` ran and print the last
# line: "check: N passed, N failed". Exits non-zero on any failure or when
# an expected suite left no counts (it did not run to the end).
#
#   tests/summarize.sh SUITE...
set -uo pipefail

results=${CVM_BUILD_DIR:-build}/results
total_passed=0
total_failed=0
for suite in "$@"; do
	if [[ -r "$results/$suite.count" ]]; then
		read -r p f <"$results/$suite.count"
	else
		echo "suite '$suite' left no result" >&2
		p=0 f=1
	fi
	printf '  %-10s %4d passed, %d failed\n' "$suite" "$p" "$f"
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
done
echo "check: $total_passed passed, $total_failed failed"
((total_failed == 0))

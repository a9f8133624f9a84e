#!/usr/bin/env bash
# Sum the counts of the suites that `make check` ran and print the last
# line: "check: N passed, N failed" (", N skipped" added when a suite was
# skipped: it counts as neither, and its line says why). Exits non-zero on
# any failure or when an expected suite left no counts (it did not run to
# the end).
#
#   tests/summarize.sh SUITE...
set -uo pipefail

results=${CVM_BUILD_DIR:-build}/results
total_passed=0
total_failed=0
skipped=0
for suite in "$@"; do
	skip=
	if [[ -r "$results/$suite.count" ]]; then
		read -r p f skip <"$results/$suite.count"
	else
		echo "suite '$suite' left no result" >&2
		p=0 f=1
	fi
	if [[ -n "$skip" ]]; then
		printf '  %-16s %s\n' "$suite" "$skip"
		skipped=$((skipped + 1))
	else
		printf '  %-16s %4d passed, %d failed\n' "$suite" "$p" "$f"
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
done
line="check: $total_passed passed, $total_failed failed"
((skipped == 0)) || line+=", $skipped skipped"
echo "$line"
((total_failed == 0))

# tap.sh - sourced by the shell suites that drive long steps (system,
# fresh): TAP-style lines for tests/run-suite.sh and a failure count.
failures=0

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
# step DESCRIPTION LOG COMMAND...: COMMAND's output kept in LOG, its time
# on the ok line, its last lines on the not ok one; returns its success.
step() {
	local what=$1 log=$2 t0=$SECONDS
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$what ($((SECONDS - t0)) s)"
	else
		not_ok "$what (last lines of $log:)"
		tail -25 "$log" | sed 's/^/#   /'
		return 1
	fi
}

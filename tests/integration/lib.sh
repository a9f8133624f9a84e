#!/bin/bash
# lib.sh - helpers of the integration suites: start a real cvmd on a
# private socket and state directory, drive it with cvmctl, report TAP
# lines ("ok - ..." / "not ok - ...") that tests/run-suite.sh counts.
#
# Needs: BUILD (the build dir), BACKEND (sim or kmod).

: "${BUILD:?}" "${BACKEND:?}"
CVMD=$BUILD/daemon/cvmd
VMM=$BUILD/daemon/cvm-vmm
CVMCTL=$BUILD/client/cvmctl
PY=/usr/bin/python3
failures=0

# Nothing of the host's is reached from here: not a cvmd named by the
# caller's CVM_CONNECT, nor the service manager or journal of a unit that
# runs `make check` (cvmd would tell it READY=1 and STOPPING=1). Tests that
# want these set them on the command they run.
unset CVM_CONNECT NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM \
	LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

# A private world: socket, state dir, config, all under one temp dir that
# other users may enter (the access tests connect as nobody).
WORK=$(mktemp -d /tmp/cvm-it.XXXXXX)
chmod 755 "$WORK"
SOCK=$WORK/cvmd.sock
STATE=$WORK/state
LOG=$WORK/cvmd.log
CVMD_PID=

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

ctl() { "$CVMCTL" -c "unix:$SOCK" --timeout 30 "$@"; }

# expect_exit STATUS DESCRIPTION cvmctl-args...: the exit status, and
# stderr saved in $ERR, stdout in $OUT.
expect_exit() {
	local want=$1 what=$2 st
	shift 2
	OUT=$(ctl "$@" 2>"$WORK/err")
	st=$?
	ERR=$(cat "$WORK/err")
	if [ "$st" -eq "$want" ]; then
		ok "$what (exit $st)"
	else
		not_ok "$what: exit $st, want $want; stderr: $ERR"
	fi
}

# jq_is DESCRIPTION JSON FILTER EXPECTED
jq_is() {
	local got
	got=$(printf '%s' "$2" | jq -r "$3" 2>&1)
	if [ "$got" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1: $3 is '$got', want '$4'"
	fi
}

start_cvmd() {
	"$CVMD" --backend "$BACKEND" --socket "$SOCK" --state-dir "$STATE" \
		--vmm "$VMM" --config /dev/null --bus none --set libvirt_uri=none --set socket_mode=0666 \
		--set sim_pool=16M "$@" >>"$LOG" 2>&1 &
	CVMD_PID=$!
	local i
	for i in $(seq 1 200); do
		[ -S "$SOCK" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# cvmd did not come up; its log:"
	sed 's/^/# /' "$LOG"
	return 1
}

stop_cvmd() {
	[ -n "$CVMD_PID" ] || return 0
	kill -TERM "$CVMD_PID" 2>/dev/null
	wait "$CVMD_PID" 2>/dev/null
	CVMD_PID=
}

cleanup() {
	stop_cvmd
	# VMMs outlive cvmd by design: end this suite's own.
	pkill -KILL -f "cvm-vmm .*--socket $STATE/" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

finish() {
	[ "$failures" -eq 0 ]
}

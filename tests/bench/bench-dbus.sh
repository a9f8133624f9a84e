#!/bin/bash
# bench-dbus.sh - what cvmd's D-Bus API costs (see README.md): starts a
# private dbus-daemon and a cvmd (sim backend) on it, as
# tests/dbus/check-dbus.sh does, creates one VM and runs bench-dbus: a
# property read and a read-only method through dbus-daemon, next to a
# trivial sd-bus echo service on the same bus, and next to the same reads
# over cvmd's protobuf socket. Stops everything it started.
#
#   bench-dbus.sh BUILD_DIR [bench-dbus options, e.g. -n 2000]
#
# Builds nothing. Prints figures only: the exit status says whether every
# step worked, never how fast anything was.
set -u -o pipefail

BUILD=$(cd "${1:?usage: bench-dbus.sh BUILD_DIR [-n N]}" && pwd) || exit 2
shift
here=$(cd "$(dirname "$0")" && pwd)
CVMD=$BUILD/daemon/cvmd
VMM=$BUILD/daemon/cvm-vmm
CVMCTL=$BUILD/client/cvmctl
BENCH=$BUILD/tests/bench/bench-dbus
BUS_CONF=$here/../dbus/test-bus.conf
VM=bench

for f in "$CVMD" "$VMM" "$CVMCTL" "$BENCH"; do
	[ -x "$f" ] || { echo "bench-dbus.sh: $f missing: build it first" >&2; exit 2; }
done
for c in dbus-daemon busctl; do
	command -v "$c" >/dev/null || { echo "bench-dbus.sh: needs $c" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/cvm-bench-dbus.XXXXXX) || exit 1
SOCK=$WORK/cvmd.sock
STATE=$WORK/state
LOG=$WORK/cvmd.log
BUS=unix:path=$WORK/bus
CVMD_PID=
DBUS_PID=

ctl() { "$CVMCTL" -c "unix:$SOCK" --timeout 60 "$@"; }

die() {
	echo "bench-dbus.sh: $*" >&2
	local f
	for f in "$LOG" "$WORK/dbus.log"; do
		[ -s "$f" ] || continue
		echo "bench-dbus.sh: last lines of $(basename "$f"):" >&2
		tail -n 20 "$f" | sed 's/^/  /' >&2
	done
	exit 1
}

# The cvm-vmm processes of this run: that binary, serving a socket under
# this run's private state directory. Matched per process, killed by pid.
vmm_pids() {
	local f pid exe
	grep -lzsF -- "$STATE/vmm/" /proc/[0-9]*/cmdline 2>/dev/null |
	while read -r f; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		[ "$exe" = "$VMM" ] && echo "$pid"
	done
}

stop_pid() { # PID
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	local left
	trap - EXIT INT TERM
	stop_pid "$CVMD_PID"
	CVMD_PID=
	# VMMs outlive cvmd by design: end this run's own, by pid.
	mapfile -t left < <(vmm_pids)
	if [ "${#left[@]}" -gt 0 ]; then
		kill -KILL "${left[@]}" 2>/dev/null
	fi
	stop_pid "$DBUS_PID"
	DBUS_PID=
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "# bench-dbus.sh: $(uname -sr), $(nproc) CPUs," \
	"$(dbus-daemon --version | head -n 1), libsystemd" \
	"$(pkg-config --modversion libsystemd 2>/dev/null || echo '?')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
	"(other work on the machine competes for its CPUs)"

dbus-daemon --config-file="$BUS_CONF" --address="$BUS" --nofork \
	--nopidfile 2>"$WORK/dbus.log" &
DBUS_PID=$!
for _ in $(seq 1 100); do [ -S "$WORK/bus" ] && break; sleep 0.05; done
[ -S "$WORK/bus" ] || die "dbus-daemon did not come up"

DBUS_SYSTEM_BUS_ADDRESS=$BUS "$CVMD" --backend sim --socket "$SOCK" \
	--state-dir "$STATE" --vmm "$VMM" --config /dev/null --bus system --set libvirt_uri=none \
	--set sim_pool=16M >>"$LOG" 2>&1 &
CVMD_PID=$!
up=
for _ in $(seq 1 200); do
	if [ -S "$SOCK" ] && ctl status >/dev/null 2>&1 &&
	   busctl --address="$BUS" status org.cvm.Manager1 >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.05
done
[ -n "$up" ] || die "cvmd did not come up on the socket and the bus"

ctl create "$VM" --memory 4M >/dev/null || die "cvmctl create $VM failed"
echo "# cvmd pid $CVMD_PID, dbus-daemon pid $DBUS_PID," \
	"VM '$VM' of 4 MiB, VMM pid(s) $(vmm_pids | tr '\n' ' ')"
echo

"$BENCH" "$@" "$BUS" "$SOCK" "$VM" || die "bench-dbus failed"

ctl destroy "$VM" >/dev/null || die "cvmctl destroy $VM failed"
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# done"

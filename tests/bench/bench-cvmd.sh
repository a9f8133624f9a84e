#!/bin/bash
# bench-cvmd.sh - what the control plane costs (see README.md): starts a
# private cvmd (sim backend) the way tests/integration/lib.sh does, runs
# bench-cvmd against it (round trip vs raw ping-pong, pipelined
# throughput, the same with 1,000 idle connections open, durable
# transitions; max_connections is raised above its default of 1024 for
# the idle ones), then puts 1,000 running VMs on the
# host: time to create them, `cvmctl list` time, cvmd's RSS and the RSS of
# each VMM process; destroys them and stops cvmd.
#
#   bench-cvmd.sh BUILD_DIR          (builds nothing; NR_VMS=N to change 1000)
#
# Prints figures only: the exit status says whether every step worked,
# never how fast anything was.
set -u -o pipefail

BUILD=$(cd "${1:?usage: bench-cvmd.sh BUILD_DIR}" && pwd) || exit 2
CVMD=$BUILD/daemon/cvmd
VMM=$BUILD/daemon/cvm-vmm
CVMCTL=$BUILD/client/cvmctl
BENCH=$BUILD/tests/bench/bench-cvmd
NR_VMS=${NR_VMS:-1000}
VM_MEMORY=1M
WINDOW=32		# creates/destroys in flight (cvmd's max_requests: 64)
LIST_RUNS=5

for f in "$CVMD" "$VMM" "$CVMCTL" "$BENCH"; do
	[ -x "$f" ] || { echo "bench-cvmd.sh: $f missing: build it first" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "bench-cvmd.sh: needs jq" >&2; exit 2; }

# A private world on /tmp (a real disk here: the durable figures include
# its fsync).
WORK=$(mktemp -d /tmp/cvm-bench.XXXXXX) || exit 1
SOCK=$WORK/cvmd.sock
STATE=$WORK/state
LOG=$WORK/cvmd.log
CVMD_PID=

ctl() { "$CVMCTL" -c "unix:$SOCK" --timeout 60 "$@"; }

die() {
	echo "bench-cvmd.sh: $*" >&2
	if [ -s "$LOG" ]; then
		echo "bench-cvmd.sh: last lines of cvmd's log:" >&2
		tail -n 20 "$LOG" | sed 's/^/  /' >&2
	fi
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

stop_cvmd() {
	[ -n "$CVMD_PID" ] || return 0
	kill -TERM "$CVMD_PID" 2>/dev/null
	wait "$CVMD_PID" 2>/dev/null
	CVMD_PID=
}

cleanup() {
	local left
	trap - EXIT INT TERM
	stop_cvmd
	# VMMs outlive cvmd by design: end this run's own, by pid.
	mapfile -t left < <(vmm_pids)
	if [ "${#left[@]}" -gt 0 ]; then
		echo "bench-cvmd.sh: killing ${#left[@]} leftover cvm-vmm" >&2
		kill -KILL "${left[@]}" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000 )) | awk '{ printf "%.1f\n", $1 / 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nr_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

start_cvmd() {
	"$CVMD" --backend sim --socket "$SOCK" --state-dir "$STATE" \
		--vmm "$VMM" --config /dev/null --bus none --set libvirt_uri=none --set socket_mode=0666 \
		--set sim_pool=16M --set max_connections=2048 >>"$LOG" 2>&1 &
	CVMD_PID=$!
	local i
	for i in $(seq 1 200); do
		[ -S "$SOCK" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "cvmd did not come up"
}

cvmd_mem() { # LABEL
	printf '  cvmd %-26s VmRSS %6d KiB  fds %5d\n' "$1" \
		"$(rss_kb "$CVMD_PID")" "$(nr_fds "$CVMD_PID")"
}

# cvmd holds one socket per VMM (and a pipe while one starts): the soft
# nofile limit it inherits must cover NR_VMS plus clients.
need=$((NR_VMS + 256))
nofile=$(ulimit -Sn)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt "$need" ]; then
	if ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; then
		echo "# raised the soft nofile limit from $nofile to $(ulimit -Sn)"
	fi
	[ "$(ulimit -Sn)" = unlimited ] || [ "$(ulimit -Sn)" -ge "$need" ] ||
		die "nofile limit $(ulimit -Sn) is below the $need needed for $NR_VMS VMs"
fi

echo "# bench-cvmd: $(uname -sr), $(nproc) CPUs," \
	"$(awk '/^MemTotal:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)," \
	"nofile $(ulimit -Sn), pid_max $(cat /proc/sys/kernel/pid_max)," \
	"state dir on $(findmnt -n -o FSTYPE,SOURCE -T "$WORK" 2>/dev/null | tr -s ' ')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine competes for its CPUs)"

start_cvmd
echo "# cvmd $(ctl --json status | jq -r '"\(.version) backend \(.backend)"'), pid $CVMD_PID"
echo

"$BENCH" --state-dir "$STATE" "$SOCK" || die "bench-cvmd failed"

echo "== 4. $NR_VMS running VMs of $VM_MEMORY =="
cvmd_mem "before, 0 VMs"

# A few one-at-a-time creates through the CLI, for scale (process start,
# connect, request, VMM spawn and ready, two commits).
for i in 1 2 3 4 5; do
	t0=$(now_ns)
	ctl create "cli$i" --memory "$VM_MEMORY" >/dev/null || die "cvmctl create cli$i failed"
	ms_since "$t0"
done | median | awk '{ printf "  cvmctl create, one at a time:   median %s ms per VM (of 5)\n", $1 }' ||
	exit 1
for i in 1 2 3 4 5; do
	ctl destroy "cli$i" >/dev/null || die "cvmctl destroy cli$i failed"
done

"$BENCH" "$SOCK" create vm "$NR_VMS" "$VM_MEMORY" "$WINDOW" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "creating $NR_VMS VMs failed"

json=$(ctl --json list) || die "cvmctl --json list failed"
n=$(jq 'length' <<<"$json")
running=$(jq '[.[] | select(.state == "normal" and .vmm_pid > 0)] | length' <<<"$json")
if [ "$n" -ne "$NR_VMS" ] || [ "$running" -ne "$NR_VMS" ]; then
	die "list shows $n VMs, $running running; want $NR_VMS"
fi
mapfile -t pids < <(vmm_pids)
status_files=()
rollup_files=()
for p in "${pids[@]}"; do
	status_files+=("/proc/$p/status")
	rollup_files+=("/proc/$p/smaps_rollup")
done
echo "  listed: $n VMs, $running with a live VMM; ${#pids[@]} cvm-vmm processes of this run"

for i in $(seq 1 $LIST_RUNS); do
	t0=$(now_ns)
	ctl list >/dev/null || die "cvmctl list failed"
	ms_since "$t0"
done | median | awk -v n="$LIST_RUNS" -v b="$(ctl list | wc -c)" \
	'{ printf "  cvmctl list:          median %7s ms (of %d), %d bytes out\n", $1, n, b }' ||
	exit 1
for i in $(seq 1 $LIST_RUNS); do
	t0=$(now_ns)
	ctl --json list >/dev/null || die "cvmctl --json list failed"
	ms_since "$t0"
done | median | awk -v n="$LIST_RUNS" -v b="${#json}" \
	'{ printf "  cvmctl --json list:   median %7s ms (of %d), %d bytes out\n", $1, n, b }' ||
	exit 1
for i in $(seq 1 $LIST_RUNS); do
	t0=$(now_ns)
	ctl status >/dev/null || die "cvmctl status failed"
	ms_since "$t0"
done | median | awk -v n="$LIST_RUNS" \
	'{ printf "  cvmctl status:        median %7s ms (of %d; process start-up baseline)\n", $1, n }' ||
	exit 1

cvmd_mem "with $NR_VMS VMs"
# VmRSS counts shared pages (libc, the binary) in full in every process;
# Pss shares them out, so its sum is what the VMMs cost together.
awk '/^VmRSS:/ { n++; s += $2; if ($2 > m) m = $2 }
     END { printf "  cvm-vmm VmRSS  mean %6.0f KiB  max %6d KiB  sum %8.1f MiB  (n=%d)\n", s / n, m, s / 1024, n }' \
	"${status_files[@]}" 2>/dev/null
awk '/^Pss:/ { n++; s += $2; if ($2 > m) m = $2 }
     END { printf "  cvm-vmm Pss    mean %6.0f KiB  max %6d KiB  sum %8.1f MiB  (n=%d)\n", s / n, m, s / 1024, n }' \
	"${rollup_files[@]}" 2>/dev/null
echo

echo "  -- status round trip with $NR_VMS VMs (status sums the VMs' pool counters) --"
"$BENCH" --only latency -n 5000 "$SOCK" | sed -n 's/^  /  /p' ||
	die "bench-cvmd latency with $NR_VMS VMs failed"

"$BENCH" "$SOCK" destroy vm "$NR_VMS" "$WINDOW" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "destroying $NR_VMS VMs failed"
for i in $(seq 1 100); do
	nr_left=$(vmm_pids | grep -c .)
	[ "$nr_left" -eq 0 ] && break
	sleep 0.1
done
[ "$nr_left" -eq 0 ] || die "$nr_left cvm-vmm still running after destroy"
[ "$(ctl --json list | jq length)" -eq 0 ] || die "VMs left after destroy"
cvmd_mem "after destroying them"
echo
echo "# done"

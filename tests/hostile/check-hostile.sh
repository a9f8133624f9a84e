#!/bin/bash
# check-hostile.sh BUILD - cvmd against hostile clients and faults, on the
# sim backend, with cvmd and cvm-vmm built with ASan + UBSan
# (BUILD/asan/daemon). Every sanitizer report goes to a file under the
# suite's work dir (ASAN_OPTIONS=log_path), read at the end: any report
# fails the suite.
BUILD=${1:?usage: check-hostile.sh BUILD}
# This shell becomes the subreaper of what it starts: VMMs whose cvmd was
# killed are reparented to it and reaped (as systemd, PID 1, does on a host).
if [ -z "$CVM_HOSTILE_SUBREAPER" ]; then
	export CVM_HOSTILE_SUBREAPER=1
	exec /usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER
os.execvp(sys.argv[1], sys.argv[1:])' "$0" "$@"
fi
BACKEND=sim
HERE=$(dirname "$0")
. "$HERE/../integration/lib.sh"
CVMD=$BUILD/asan/daemon/cvmd
VMM=$BUILD/asan/daemon/cvm-vmm
HOSTILE="$PY $HERE/hostile.py"
mkdir -p "$WORK/san"
export ASAN_OPTIONS="log_path=$WORK/san/asan:abort_on_error=0:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$WORK/san/ubsan:print_stacktrace=1"

# vmm_pid NAME: the VMM pid cvmd reports for a VM.
vmm_pid() { ctl --json show "$1" | jq -r .vmm_pid; }
# gone PID: true once PID has exited (waits up to 10 s).
gone() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
# zombies: children of cvmd that exited and were never reaped.
zombies() { ps --ppid "$CVMD_PID" -o stat= 2>/dev/null | grep -c '^Z'; }
sql() { sqlite3 "$STATE/registry.sqlite" "$@"; }
# revive: each case starts on a running cvmd, even if the last one broke it.
revive() {
	kill -0 "$CVMD_PID" 2>/dev/null && return 0
	CVMD_PID=
	start_cvmd --set max_output=64K
}

start_cvmd --set max_output=64K || { not_ok "cvmd (ASan) starts"; exit 1; }

# --- 1. a watcher that stops reading, dropped in the middle of a fan-out ---
ctl create wf --memory 64M >/dev/null
out=$($HOSTILE "$SOCK" watch-flood wf 2000 2>&1); st=$?
check "watch flood: two watches on a connection that stopped reading are dropped, cvmd serves on ($(echo "$out" | tail -1))" \
	[ $st -eq 0 ]
check "watch flood: cvmd still runs" kill -0 "$CVMD_PID"
ctl destroy wf >/dev/null 2>&1

# --- 2. destroyed VMMs are reaped ---
revive
pids=
for i in 1 2 3; do
	ctl create z$i --memory 16M >/dev/null
	pids="$pids $(vmm_pid z$i)"
	ctl destroy z$i >/dev/null
done
for p in $pids; do gone "$p"; done
sleep 0.5
check "three create/destroy cycles leave no zombie VMM ($(zombies) found)" [ "$(zombies)" -eq 0 ]

# --- 3. destroy while the create waits for its VMM ---
revive
before=$(ctl --json status | jq -r .vms)
out=$($HOSTILE "$SOCK" destroy-during-create dc 16777216 2>&1); st=$?
check "destroy during create: the create fails, the destroy succeeds ($(echo "$out" | tail -1))" [ $st -eq 0 ]
jq_is "destroy during create: the VM count is back to $before, not below" \
	"$(ctl --json status)" .vms "$before"
expect_exit 0 "destroy during create: the next create works" create after --memory 16M
ctl destroy after >/dev/null

# --- 4. a VMM cvmd gives up on is killed ---
revive
ctl create o1 --memory 16M >/dev/null
o1=$(vmm_pid o1)
sock=$(sql "SELECT vmm_socket FROM vms WHERE name = 'o1'")
stop_cvmd
mv "$sock" "$sock.moved"	# not reachable after the restart
start_cvmd --set max_output=64K || { not_ok "cvmd restarts"; exit 1; }
jq_is "unreachable VMM after restart: its VM is failed" "$(ctl --json show o1)" .state failed
check "unreachable VMM after restart: the VMM (pid $o1) is killed" gone "$o1"
rm -f "$sock.moved"

# --- 5. a failed record whose VMM still runs: the VMM is killed ---
revive
ctl create o2 --memory 16M >/dev/null
o2=$(vmm_pid o2)
stop_cvmd
sql "UPDATE vms SET state = 3, failure = 'test' WHERE name = 'o2'"
start_cvmd --set max_output=64K || { not_ok "cvmd restarts"; exit 1; }
check "failed record at restart: its still-running VMM (pid $o2) is killed" gone "$o2"

# --- 6. a recorded pid now used by another process is never signalled ---
revive
ctl create o3 --memory 16M >/dev/null
o3=$(vmm_pid o3)
stop_cvmd
kill -KILL "$o3"; gone "$o3"
sleep 300 &
other=$!
sql "UPDATE vms SET vmm_pid = $other WHERE name = 'o3'"
start_cvmd --set max_output=64K || { not_ok "cvmd restarts"; exit 1; }
ctl destroy o3 >/dev/null 2>&1
sleep 0.5
check "a recorded pid reused by another process: that process is not signalled" kill -0 "$other"
kill "$other"; wait "$other" 2>/dev/null

# --- 7. kill -9 between a VMM's transition and its record ---
revive
ctl create s1 --memory 16M >/dev/null
ctl init-start s1 >/dev/null
kill -KILL "$CVMD_PID"; wait "$CVMD_PID" 2>/dev/null; CVMD_PID=
sql "UPDATE vms SET state = 0 WHERE name = 's1'"	# the commit that never happened
start_cvmd --set max_output=64K || { not_ok "cvmd restarts"; exit 1; }
for i in $(seq 1 50); do
	[ "$(ctl --json show s1 | jq -r .state)" = transient ] && break
	sleep 0.1
done
jq_is "after a crash before the commit: the VMM's state wins" "$(ctl --json show s1)" .state transient
check "after a crash before the commit: the registry is corrected" \
	[ "$(sql "SELECT state FROM vms WHERE name = 's1'")" = 1 ]
check "after a crash before the commit: the correction is logged" grep -q "record corrected" "$LOG"
for vm in o1 o2 s1; do ctl destroy $vm >/dev/null 2>&1; done

# --- 8. connection and input caps: one uid cannot take cvmd's memory ---
revive
AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
out=$($AS_NOBODY $HOSTILE "$SOCK" conn-flood 1000 64 2>&1); st=$?
check "1,000 connections from one uid: 64 served, the rest refused with LIMIT ($(echo "$out" | tail -1))" [ $st -eq 0 ]
check "connection caps: root still gets in" ctl status
jq_is "connection caps: every refusal counted" "$(ctl --json status)" .refused_connections 936
check "connection caps: the refusals are logged" grep -q "too many connections" "$LOG"
# RSS is measured with ASan's quarantine off, or freed buffers would count.
stop_cvmd
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 start_cvmd --set max_output=64K ||
	not_ok "cvmd restarts"
out=$($AS_NOBODY $HOSTILE "$SOCK" partial-frames 40 "$CVMD_PID" 48 2>&1); st=$?
check "40 partial 4 MiB frames from one uid: memory bounded by its input budget ($(echo "$out" | tail -1))" [ $st -eq 0 ]
check "input budget: the stalls are counted" [ "$(ctl --json status | jq -r .input_stalls)" -gt 0 ]
sleep 1.5	# paused clients' hangups are seen within a second
jq_is "connection caps: closed connections are given back" "$(ctl --json status)" .connections 1

# --- 9. another process holds the registry's lock ---
revive
ctl create q1 --memory 16M >/dev/null
$PY - "$STATE/registry.sqlite" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
time.sleep(4)
db.execute("COMMIT")
PY
locker=$!
sleep 0.5
t0=$(date +%s%N)
expect_exit 0 "registry locked: init-start still succeeds" init-start q1
t1=$(date +%s%N)
check "registry locked: init-start answered without waiting for the lock ($(( (t1 - t0) / 1000000 )) ms)" \
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
jq_is "registry locked: cvmd reports the VMM's state" "$(ctl --json show q1)" .state transient
expect_exit 1 "registry locked: a create is refused, nothing half done" create q2 --memory 16M
case $ERR in *"locked"*) ok "registry locked: the refusal says why" ;; *) not_ok "registry locked: $ERR" ;; esac
wait "$locker"
for i in $(seq 1 40); do
	[ "$(sql "SELECT state FROM vms WHERE name = 'q1'")" = 1 ] && break
	sleep 0.1
done
check "registry unlocked: the deferred record is written" [ "$(sql "SELECT state FROM vms WHERE name = 'q1'")" = 1 ]
check "registry unlocked: no record of the refused create" [ -z "$(sql "SELECT name FROM vms WHERE name = 'q2'")" ]
check "registry: integrity_check" [ "$(sql 'PRAGMA integrity_check')" = ok ]
ctl destroy q1 >/dev/null

# --- 12. an operation that is not set is refused, not taken for the zero ---
revive
ctl create u1 --memory 16M >/dev/null
out=$($HOSTILE "$SOCK" unset-op u1 2>&1); st=$?
check "unset op: refused as invalid ($(echo "$out" | tail -1))" [ $st -eq 0 ]
jq_is "unset op: the VM did not move" "$(ctl --json show u1)" .state normal
jq_is "unset op: api_version 2 says so" "$(ctl --json status)" .api_version 2
pid=$(ctl --json show u1 | jq .vmm_pid)
out=$($AS_NOBODY $HOSTILE "$SOCK" unknown-field u1 2>&1); st=$?
check "a field the schema does not know: answered ($(echo "$out" | tail -1))" [ $st -eq 0 ]
jq_is "a field the schema does not know: the VM is unharmed" "$(ctl --json show u1)" .state normal
jq_is "a field the schema does not know: the same VMM serves it" "$(ctl --json show u1)" .vmm_pid "$pid"
ctl destroy u1 >/dev/null

# --- 14. a list larger than a frame spans frames ---
stop_cvmd
CVMD_TEST_FRAME_MAX=1536 start_cvmd --set max_output=64K || not_ok "cvmd restarts"
have=$(ctl --json list | jq length)
for i in $(seq 1 30); do ctl create l$i --memory 4M >/dev/null; done
out=$($HOSTILE "$SOCK" list-frames 1536 $((have + 30)) 2>&1); st=$?
check "list of $((have + 30)) VMs with a 1.5 KiB frame cap: several frames, each within it ($(echo "$out" | tail -1))" [ $st -eq 0 ]
jq_is "cvmctl list joins the frames" "$(ctl --json list)" length $((have + 30))
for i in $(seq 1 30); do ctl destroy l$i >/dev/null; done
stop_cvmd
revive

# --- 15. a snapshot of a 64 GiB VM, from an unprivileged user ---
# A lowered frame cap (test build; cvmd's VMMs inherit it) so that 1,201
# runs need several frames; the sim maps guest memory MAP_NORESERVE.
stop_cvmd
CVMD_TEST_FRAME_MAX=2048 start_cvmd --set max_output=64K || not_ok "cvmd restarts"
ctl create big --memory 64G >/dev/null
ctl init-start big >/dev/null
big=$(vmm_pid big)
out=$($HOSTILE "$SOCK" share-alternate big 16 600 2>&1); st=$?
check "64 GiB VM: every other page of 1,200 paged in shared ($(echo "$out" | tail -1))" [ $st -eq 0 ]
out=$($AS_NOBODY $HOSTILE "$SOCK" snapshot-frames big 2048 16777216 1201 2>&1); st=$?
check "64 GiB VM: an unprivileged snapshot of 1,201 runs comes in frames under a 2 KiB cap, covering every page once ($(echo "$out" | grep result: | head -1))" [ $st -eq 0 ]
check "64 GiB VM: a reader that leaves mid-snapshot breaks nothing ($(echo "$out" | grep result: | sed -n 2p))" [ $st -eq 0 ]
snap=$(ctl --json snapshot big)
jq_is "cvmctl snapshot joins the frames: 1,201 runs" "$snap" length 1201
jq_is "cvmctl snapshot: the runs add up to the VM's 16,777,216 pages" "$snap" 'map(.nr_pages) | add' 16777216
jq_is "cvmctl snapshot: 600 shared pages" "$snap" '[.[] | select(.state == "shared") | .nr_pages] | add' 600
ctl snapshot big -o "$WORK/big.snap" >/dev/null
check "cvmctl snapshot -o: every run written" [ "$(grep -c '^0x' "$WORK/big.snap")" -eq 1201 ]
info=$(ctl --json show big)
jq_is "64 GiB VM after its snapshots: still transient, not failed" "$info" .state transient
jq_is "64 GiB VM after its snapshots: the VMM was not restarted" "$info" .vmm_pid "$big"
jq_is "64 GiB VM: normal + shared pages add up" "$info" '.pages.normal + .pages.shared' 16777216

# --- 16. a slow reader while answers and events pile up ---
before=$(ctl --json status | jq -r .dropped_slow_readers)
out=$($HOSTILE "$SOCK" slow-reader big 60 20 2>&1); st=$?
check "slow reader: dropped at max_output, the other client served all along ($(echo "$out" | tail -1))" [ $st -eq 0 ]
jq_is "slow reader: the drop is counted" "$(ctl --json status)" .dropped_slow_readers $((before + 1))

# --- 17. a pipeline past max_requests ---
before=$(ctl --json status | jq -r .refused_requests)
out=$($HOSTILE "$SOCK" pipeline big 300 64 2>&1); st=$?
check "pipeline of 300 past max_requests 64: the excess LIMIT, the rest in order ($(echo "$out" | tail -1))" [ $st -eq 0 ]
limited=$(echo "$out" | sed -n 's/.*OK (in order: [A-Za-z]*), \([0-9]*\) LIMIT.*/\1/p')
jq_is "pipeline: each LIMIT counted" "$(ctl --json status)" .refused_requests $((before + ${limited:-0}))
jq_is "pipeline: the VM is unharmed" "$(ctl --json show big)" .vmm_pid "$big"
ctl destroy big >/dev/null
gone "$big"

# --- 18. concurrent create/destroy of one name ---
stop_cvmd
start_cvmd --set max_output=64K || not_ok "cvmd restarts"
out=$($HOSTILE "$SOCK" create-destroy-race race 4 8 2>&1); st=$?
check "create/destroy race: every answer came ($(echo "$out" | grep result: | head -1))" [ $st -eq 0 ]
sleep 1	# destroyed VMMs exit after their answer
listed=$(ctl --json list | jq '[.[] | select(.name == "race")] | length')
recorded=$(sql "SELECT count(*) FROM vms WHERE name = 'race'")
vmms=$(pgrep -c -f -- "--name race --uuid .* --socket $STATE/")
check "create/destroy race: list, registry and VMM processes agree (listed $listed, recorded $recorded, VMMs $vmms)" \
	[ "$listed/$recorded" = "$vmms/$vmms" ]
if [ "$listed" = 1 ]; then
	jq_is "create/destroy race: the VM left names its running VMM" "$(ctl --json show race)" .vmm_pid \
		"$(pgrep -f -- "--name race --uuid .* --socket $STATE/")"
fi
check "create/destroy race: no zombie ($(zombies) found)" [ "$(zombies)" -eq 0 ]
ctl destroy race >/dev/null 2>&1
sleep 0.5
check "create/destroy race: no orphan VMM after the last destroy" \
	[ "$(pgrep -c -f -- "--name race --uuid .* --socket $STATE/")" = 0 ]
# D-Bus floods against the real bus: the dbus suite's bus-flood case
# (this suite runs cvmd with --bus none).
revive

# --- 13. VMMs outlive a cvmd upgrade ---
. "$HERE/upgrade.sh"
revive

# --- 10, 11. kill -9 of cvmd at every failpoint, and of VMMs ---
. "$HERE/crashes.sh"

stop_cvmd
# LeakSanitizer's note that a thread exited while it stopped the world is
# not a finding (it then checks without that thread's registers).
reports=$(cat "$WORK"/san/* 2>/dev/null | grep -v 'Unable to get registers from thread')
if [ -z "$reports" ]; then
	ok "no ASan/UBSan report from cvmd or any cvm-vmm"
else
	not_ok "sanitizer reports:"
	echo "$reports" | head -60 | sed 's/^/# /'
fi
finish

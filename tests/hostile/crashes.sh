# crashes.sh - sourced by check-hostile.sh: kill -9 of cvmd at each named
# point inside its transitions (daemon/failpoint.h), and of VMMs, many
# times; after each, the invariants below.
#
# Needs lib.sh's and check-hostile.sh's helpers.

FAILPOINTS="create-recorded create-spawned create-pid-recorded transition-acted
transition-recorded destroy-asked destroy-vmm-gone"

# The suite's VMMs now running: "PID SOCKET" lines.
running_vmms() {
	pgrep -a -f -- "--socket $STATE/vmm/" | grep cvm-vmm |
		sed -E 's/^([0-9]+) .*--socket ([^ ]+).*/\1 \2/'
}

# own_zombies: exited VMMs whose parent, this shell or its cvmd, has not
# reaped them.
own_zombies() {
	ps -e -o ppid=,stat=,args= |
		awk -v a=$$ -v b="${CVMD_PID:-0}" '($1 == a || $1 == b) && $2 ~ /^Z/ && /cvm-vmm/' |
		wc -l
}

# invariants WHEN: after a restart, what must hold. Prints the failures.
invariants() {
	local when=$1 bad="" pid sock rec state shown i
	# Restored VMs reconnect asynchronously: settle first.
	for i in $(seq 1 50); do
		[ "$(sql "SELECT group_concat(name || '=' || state) FROM (SELECT * FROM vms ORDER BY name)")" = \
		  "$(ctl --json list | jq -r '[.[] | {name, state}] | sort_by(.name) | map(.name + "=" + ({"normal":"0","transient":"1","secure":"2","failed":"3"}[.state])) | join(",")')" ] && break
		sleep 0.1
	done
	# Every VM's recorded state is what cvmd (hence its VMM) says.
	[ $i -lt 50 ] || bad="$bad registry-vs-cvmd"
	# No VMM runs without a record naming it (its pid and socket). One
	# cvmd just killed may still be tearing down (SIGKILL sent, its
	# address space going): give those a moment.
	for i in $(seq 1 30); do
		orphans=0
		while read -r pid sock; do
			[ -n "$pid" ] || continue
			[ -n "$(sql "SELECT name FROM vms WHERE vmm_socket = '$sock' AND vmm_pid = $pid AND state != 3")" ] ||
				orphans=$((orphans + 1))
		done < <(running_vmms)
		[ $orphans -eq 0 ] && break
		sleep 0.1
	done
	while read -r pid sock; do
		[ -n "$pid" ] || continue
		rec=$(sql "SELECT name FROM vms WHERE vmm_socket = '$sock' AND vmm_pid = $pid AND state != 3")
		[ -n "$rec" ] || bad="$bad orphan-vmm:$pid[$(ps -o stat=,etimes= -p "$pid" | tr -s ' ')]{$(sql "SELECT name || ':' || state || ':' || vmm_pid FROM vms WHERE vmm_socket = '$sock'")}"
	done < <(running_vmms)
	# No record names a dead VMM without saying so (failed).
	while IFS='|' read -r rec pid; do
		[ -n "$rec" ] || continue
		kill -0 "$pid" 2>/dev/null || bad="$bad dead-vmm:$rec"
	done < <(sql "SELECT name, vmm_pid FROM vms WHERE state != 3")
	# No zombie: this suite is the VMMs' subreaper and reaps them. Only
	# this suite's count (children of this shell or of its cvmd): other
	# runs on the machine leave their own.
	[ "$(own_zombies)" -eq 0 ] || bad="$bad zombie"
	[ "$(sql 'PRAGMA integrity_check')" = ok ] || bad="$bad integrity"
	[ -z "$bad" ] || echo "$when:$bad"
}

declare -A hits
crash_failures=""
stop_cvmd
for round in $(seq 0 99); do
	set -- $FAILPOINTS
	shift $((round % $#))
	fp=$1
	CVMD_FAILPOINT=$fp start_cvmd --set max_output=64K >/dev/null 2>&1 || {
		crash_failures="$crash_failures start-$round"; continue; }
	case $fp in
	create-*)
		ctl create c$round --memory 16M >/dev/null 2>&1 ;;
	transition-*)
		ctl create t$round --memory 16M >/dev/null 2>&1
		ctl init-start t$round >/dev/null 2>&1 ;;
	destroy-*)
		ctl create d$round --memory 16M >/dev/null 2>&1
		ctl destroy d$round >/dev/null 2>&1 ;;
	esac
	for i in $(seq 1 50); do kill -0 "$CVMD_PID" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$CVMD_PID" 2>/dev/null; then
		crash_failures="$crash_failures not-hit:$fp"
		stop_cvmd
	else
		wait "$CVMD_PID" 2>/dev/null
		hits[$fp]=$(( ${hits[$fp]:-0} + 1 ))
		CVMD_PID=
	fi
	start_cvmd --set max_output=64K >/dev/null || { crash_failures="$crash_failures restart-$round"; continue; }
	out=$(invariants "$fp#$round")
	[ -z "$out" ] || crash_failures="$crash_failures $out"
	# Keep the registry small: destroy what this round left.
	for vm in $(sql "SELECT name FROM vms"); do ctl destroy "$vm" >/dev/null 2>&1; done
	stop_cvmd
done
summary=""
for fp in $FAILPOINTS; do summary="$summary $fp=${hits[$fp]:-0}"; done
echo "# failpoint hits:$summary"
check "kill -9 of cvmd at each failpoint, 100 times: every point hit" \
	[ -z "$(for fp in $FAILPOINTS; do [ "${hits[$fp]:-0}" -gt 0 ] || echo x; done)" ]
if [ -z "$crash_failures" ]; then
	ok "after each of 100 crashes: records match the VMMs, no orphan VMM, no dead VMM unsaid, no zombie, integrity_check ok"
else
	not_ok "after crashes:$crash_failures"
fi

# --- kill -9 of VMMs, 100 times, with one long-lived cvmd ---
stop_cvmd
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 start_cvmd --set max_output=64K ||
	not_ok "cvmd restarts"
ctl create warm --memory 16M >/dev/null; ctl destroy warm >/dev/null
fds0=$(ls /proc/$CVMD_PID/fd | wc -l)
rss0=$(awk '/VmRSS/ {print $2}' /proc/$CVMD_PID/status)
vmm_failures=""
for round in $(seq 0 99); do
	ctl create k --memory 16M >/dev/null 2>&1 || { vmm_failures="$vmm_failures create-$round"; continue; }
	pid=$(vmm_pid k)
	case $((round % 4)) in
	1) ctl init-start k >/dev/null ;;
	2) ctl init-start k >/dev/null; ctl init-done k >/dev/null ;;
	3) ctl init-start k >/dev/null 2>&1 & ;;	# killed mid-request
	esac
	kill -KILL "$pid"
	[ $((round % 4)) -ne 3 ] || wait $! 2>/dev/null
	for i in $(seq 1 50); do
		[ "$(ctl --json show k | jq -r .state)" = failed ] && break
		sleep 0.05
	done
	[ "$(ctl --json show k | jq -r .state)" = failed ] || vmm_failures="$vmm_failures not-failed-$round"
	ctl destroy k >/dev/null 2>&1 || vmm_failures="$vmm_failures destroy-$round"
done
sleep 0.5
fds1=$(ls /proc/$CVMD_PID/fd | wc -l)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$CVMD_PID/status)
check "kill -9 of a VMM, 100 times: each VM failed, then destroyed ($vmm_failures)" [ -z "$vmm_failures" ]
check "after 100 VMM kills: no zombie ($(zombies) found)" [ "$(zombies)" -eq 0 ]
check "after 100 VMM kills: cvmd's fds back to baseline ($fds0 -> $fds1)" [ "$fds1" -le "$fds0" ]
check "after 100 VMM kills: cvmd's RSS back to baseline ($rss0 -> $rss1 KiB, ASan quarantine off)" \
	[ "$rss1" -le $((rss0 + 4096)) ]

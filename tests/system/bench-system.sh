#!/bin/bash
# bench-system.sh - figures of cvmd as a systemd service, on the booted
# system of check-system (QEMU TCG: absolute times are slow, ratios hold).
# Prints, never fails on time:
#  - `systemctl start cvmd.service` until it returns (Type=notify: READY=1
#    received), and systemd's own exec -> READY interval, against a
#    Type=exec service running sleep(1) started the same way;
#  - cvmd's idle RSS, against the system dbus-daemon's.
set -u
RUNS=${RUNS:-7}

usec_now() { echo $(($(date +%s%N) / 1000)); }
# stats LABEL: median and p99 (nearest rank) of the numbers on stdin.
stats() {
	sort -n | awk -v label="$1" '{ v[NR] = $1 } END {
		p99 = int(NR * 0.99 + 0.999); if (p99 < 1) p99 = 1
		printf "%s %d %d\n", label, v[int((NR + 1) / 2)], v[p99] }'
}
# start_times UNIT: wall time of `systemctl start`, and systemd's
# ExecMainStart -> ActiveEnter (for Type=notify: exec -> READY), in µs.
start_times() {
	local unit=$1 i t0 t1 exec_ts active_ts
	for i in $(seq 1 "$RUNS"); do
		systemctl stop "$unit" 2>/dev/null # cvmd.socket may start it again: fine
		# Seven starts in a row trip systemd's start rate limit (5 in 10 s).
		systemctl reset-failed "$unit" 2>/dev/null
		t0=$(usec_now)
		systemctl start "$unit"
		t1=$(usec_now)
		exec_ts=$(systemctl show -P ExecMainStartTimestampMonotonic "$unit")
		active_ts=$(systemctl show -P ActiveEnterTimestampMonotonic "$unit")
		echo "$((t1 - t0)) $((active_ts - exec_ts))"
	done
}

cat >/run/systemd/system/cvm-bench-baseline.service <<'EOF'
[Service]
Type=exec
ExecStart=/bin/sleep infinity
EOF
systemctl daemon-reload

start_times cvmd.service >/tmp/cvmd.times
start_times cvm-bench-baseline.service >/tmp/base.times
systemctl stop cvm-bench-baseline.service
rm -f /run/systemd/system/cvm-bench-baseline.service
systemctl daemon-reload

read -r _ c_med c_p99 < <(cut -d' ' -f1 /tmp/cvmd.times | stats x)
read -r _ b_med b_p99 < <(cut -d' ' -f1 /tmp/base.times | stats x)
read -r _ r_med r_p99 < <(cut -d' ' -f2 /tmp/cvmd.times | stats x)
vms=$(cvmctl --json list | jq length)
echo "# bench: systemctl start cvmd.service -> READY ($vms VM, $RUNS runs):" \
	"median $((c_med / 1000)) ms, p99 $((c_p99 / 1000)) ms"
echo "# bench: baseline Type=exec sleep service: median $((b_med / 1000)) ms," \
	"p99 $((b_p99 / 1000)) ms"
echo "# bench: ratio cvmd / baseline (median): $(awk -v a="$c_med" -v b="$b_med" 'BEGIN { printf "%.2f", a / b }')"
echo "# bench: cvmd exec -> READY=1 (systemd's timestamps): median $((r_med / 1000)) ms," \
	"p99 $((r_p99 / 1000)) ms"

systemctl start cvmd.service
sleep 3
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cvmd_rss=$(rss "$(systemctl show -P MainPID cvmd.service)")
dbus_rss=$(rss "$(systemctl show -P MainPID dbus.service)")
echo "# bench: idle cvmd RSS ${cvmd_rss} KiB; system dbus-daemon ${dbus_rss} KiB;" \
	"ratio $(awk -v a="$cvmd_rss" -v b="$dbus_rss" 'BEGIN { printf "%.2f", a / b }')"

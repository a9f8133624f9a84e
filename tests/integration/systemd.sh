#!/bin/bash
# systemd.sh BUILD - cvmd's systemd integration without systemd as PID 1:
# sd_notify (READY, STATUS, watchdog keep-alives, STOPPING) read from a
# notify socket of our own, and socket activation through
# systemd-socket-activate (what cvmd.socket does).
BUILD=${1:?usage: systemd.sh BUILD}
BACKEND=sim
. "$(dirname "$0")/lib.sh"

# --- sd_notify ---
$PY - "$WORK/notify" >"$WORK/notes" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(5)
end = time.time() + 4
while time.time() < end:
	try:
		print(s.recv(4096).decode().replace("\n", "|"), flush=True)
	except socket.timeout:
		break
PY
listener=$!
for _ in $(seq 1 50); do [ -S "$WORK/notify" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$WORK/notify WATCHDOG_USEC=200000 start_cvmd || not_ok "cvmd starts"
sleep 0.8
stop_cvmd
wait $listener
check "sd_notify: READY=1 once serving" grep -q "READY=1" "$WORK/notes"
check "sd_notify: STATUS says backend and VMs" grep -q "STATUS=Serving 0 VMs on the sim backend" "$WORK/notes"
n=$(grep -c "WATCHDOG=1" "$WORK/notes")
check "sd_notify: watchdog keep-alives at half the interval ($n in 0.8 s)" [ "$n" -ge 4 ]
check "sd_notify: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$WORK/notes"

# --- socket activation ---
ACT=$WORK/act.sock
systemd-socket-activate -l "$ACT" "$CVMD" --backend sim --socket "$ACT" \
	--state-dir "$STATE" --vmm "$VMM" --config /dev/null --bus none \
	--set libvirt_uri=none >>"$LOG" 2>&1 &
act_pid=$!
for _ in $(seq 1 50); do [ -S "$ACT" ] && break; sleep 0.05; done
check "activation: the first client starts cvmd and is served" \
	sh -c "'$CVMCTL' -c unix:$ACT status >/dev/null"
check "activation: cvmd used the socket it was given" grep -q "(activated)" "$LOG"
kill -TERM $act_pid 2>/dev/null
wait $act_pid 2>/dev/null
check "activation: cvmd leaves the activated socket in place" [ -S "$ACT" ]

# --- the units: systemd-analyze verifies them in a root of their own ---
here=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$WORK/root
mkdir -p "$ROOT/usr/sbin" "$ROOT/etc/cvm" "$ROOT/etc/systemd/system" "$ROOT/usr/lib/systemd"
cp "$CVMD" "$ROOT/usr/sbin/cvmd"
mkdir -p "$ROOT/bin" && cp /bin/kill "$ROOT/bin/kill"	# ExecReload=
cp -r /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
cp "$here/systemd/cvmd.service" "$here/systemd/cvmd.socket" "$ROOT/etc/systemd/system/"
out=$(systemd-analyze verify --man=no --root="$ROOT" cvmd.service cvmd.socket 2>&1); st=$?
if [ $st -eq 0 ] && [ -z "$out" ]; then ok "units: systemd-analyze verify is clean"
else not_ok "units: systemd-analyze verify: $out"; fi
score=$(systemd-analyze security --offline=yes --root="$ROOT" cvmd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for cvmd.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security: exposure $score (a figure, not a verdict)"
finish

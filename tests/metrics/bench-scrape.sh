#!/bin/bash
# bench-scrape.sh BUILD - what a scrape of GET /metrics costs with many VMs
# (NR_VMS, default 1000, on the sim backend): the exposition's size, the
# scrape time (curl, p50 and max of 50), and a scrape while requests run.
# Prints figures; never passes or fails on time.
BUILD=${1:?usage: bench-scrape.sh BUILD}
BACKEND=sim
NR_VMS=${NR_VMS:-1000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"

ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/metrics
start_cvmd --set "metrics_listen=127.0.0.1:$PORT" --set sim_pool=64K || exit 1

t0=$(date +%s)
seq 1 "$NR_VMS" | xargs -P 4 -I{} "$CVMCTL" -c "unix:$SOCK" create "b{}" --memory 4K >/dev/null
echo "# $NR_VMS VMs created in $(($(date +%s) - t0)) s; cvmd has $(ls /proc/"$CVMD_PID"/fd | wc -l) fds open"
sleep 1.5	# the next publish has them all

times() { # N: curl's total time of N scrapes, in ms, sorted
	local i
	for i in $(seq 1 "$1"); do
		curl -s -o /dev/null -w '%{time_total}\n' "$URL"
	done | awk '{ printf "%.2f\n", $1 * 1000 }' | sort -n
}
size=$(curl -s "$URL" | wc -c)
lines=$(curl -s "$URL" | grep -vc '^#')
echo "# exposition: $size bytes, $lines samples"
t=$(times 50)
echo "scrape, $NR_VMS VMs idle:   p50 $(echo "$t" | sed -n 25p) ms, max $(echo "$t" | tail -1) ms"
# The loop renders (every change, at most each 100 ms): scrapes meanwhile.
( for _ in $(seq 1 200); do "$CVMCTL" -c "unix:$SOCK" status >/dev/null; done ) &
busy=$!
t=$(times 50)
wait $busy
echo "scrape, status requests running: p50 $(echo "$t" | sed -n 25p) ms, max $(echo "$t" | tail -1) ms"
seq 1 "$NR_VMS" | xargs -P 4 -I{} "$CVMCTL" -c "unix:$SOCK" destroy "b{}" >/dev/null

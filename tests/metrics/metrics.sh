#!/bin/bash
# metrics.sh BUILD - GET /metrics of a real cvmd (sim backend): exact
# series after known operations, cross-checked with show --json; the
# Prometheus text format (promtool); 404/405; a unix socket listener; a
# scrape served while a VMM is frozen (no VMM round trip per scrape); and
# a real Prometheus scraping it (tests/fleet/prometheus.sh), up == 0 once
# cvmd is gone.
BUILD=${1:?usage: metrics.sh BUILD}
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
# cvmd under ASan + UBSan when built (make check builds it): its HTTP
# thread and the loop share the published text.
[ -x "$BUILD/asan/daemon/cvmd" ] && CVMD=$BUILD/asan/daemon/cvmd
. "$here/../fleet/prometheus.sh"
trap 'prom_stop; cleanup' EXIT

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/metrics
scrape() { curl -sf --max-time 5 "$URL"; }

# series_is DESCRIPTION 'SERIES' VALUE: the exposition has the line
# "SERIES VALUE" (published within 100 ms of a change: polled up to 3 s).
series_is() {
	local what=$1 series=$2 want=$3 i got
	for i in $(seq 1 30); do
		# ENVIRON, not -v: awk would read the backslashes as escapes.
		got=$(scrape | S=$series awk 'index($0, ENVIRON["S"] " ") == 1 {
			print substr($0, length(ENVIRON["S"]) + 2) }')
		[ "$got" = "$want" ] && { ok "$what: $series $want"; return; }
		sleep 0.1
	done
	not_ok "$what: $series is '${got:-absent}', want '$want'"
}

start_cvmd --set "metrics_listen=127.0.0.1:$PORT" || { not_ok "cvmd starts with metrics_listen"; exit 1; }
ok "cvmd starts with metrics_listen=127.0.0.1:PORT"

OUT=$(curl -s -D "$WORK/headers" --max-time 5 "$URL")
check "GET /metrics answers 200" grep -q '^HTTP/1.1 200' "$WORK/headers"
check "content type is the text format 0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$WORK/headers"
check "every family has HELP and TYPE" sh -c \
	"[ \"\$(printf '%s\n' \"\$1\" | grep -c '^# HELP')\" = \"\$(printf '%s\n' \"\$1\" | grep -c '^# TYPE')\" ]" _ "$OUT"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "another path is 404" [ "$(code "http://127.0.0.1:$PORT/")" = 404 ]
check "/metrics/x is 404" [ "$(code "http://127.0.0.1:$PORT/metrics/x")" = 404 ]
check "POST is 405" [ "$(code -X POST -d x "$URL")" = 405 ]
check "HEAD is 200" [ "$(code -I "$URL")" = 200 ]

series_is "build info" "cvm_build_info{version=\"$(cat "$here/../../VERSION")\",backend=\"sim\"}" 1
series_is "no VM yet" 'cvm_vms{state="normal"}' 0

# Known operations, then the exact counts they leave.
ctl create m1 --memory 64K >/dev/null && ctl init-start m1 >/dev/null &&
	ctl guest-write m1 0 --data hello >/dev/null && ctl init-done m1 >/dev/null
ctl create m2 --memory 16K >/dev/null
ctl init-done m2 >/dev/null 2>&1	# refused: m2 is normal (not started)
ctl init-done m1 >/dev/null 2>&1	# refused: m1 is secure (wrong state)
ctl show nosuch >/dev/null 2>&1	# not found
ctl page-out m1 0 >/dev/null
series_is "VMs by state" 'cvm_vms{state="secure"}' 1
series_is "VMs by state" 'cvm_vms{state="normal"}' 1
series_is "VMs by state" 'cvm_vms{state="transient"}' 0
series_is "m1's state" 'cvm_vm_state{name="m1",state="secure"}' 1
series_is "m1's state" 'cvm_vm_state{name="m1",state="normal"}' 0
series_is "m2's state" 'cvm_vm_state{name="m2",state="normal"}' 1
series_is "requests" 'cvm_api_requests_total{operation="create",status="ok"}' 2
series_is "requests" 'cvm_api_requests_total{operation="lifecycle",status="ok"}' 2
series_is "requests" 'cvm_api_requests_total{operation="lifecycle",status="wrong_state"}' 1
series_is "requests" 'cvm_api_requests_total{operation="lifecycle",status="not_started"}' 1
series_is "requests" 'cvm_api_requests_total{operation="show",status="not_found"}' 1
series_is "requests" 'cvm_api_requests_total{operation="guest_write",status="ok"}' 1
series_is "requests" 'cvm_api_requests_total{operation="page",status="ok"}' 1
series_is "transitions timed" 'cvm_transition_duration_seconds_count{operation="init-start"}' 1
series_is "transitions timed (the refusal is not)" 'cvm_transition_duration_seconds_count{operation="init-done"}' 1
series_is "histogram ends in +Inf" 'cvm_transition_duration_seconds_bucket{operation="init-done",le="+Inf"}' 1
series_is "page-outs" 'cvm_vm_page_outs_total{name="m1"}' 1
series_is "page-outs" 'cvm_vm_page_outs_total{name="m2"}' 0
series_is "integrity failures" 'cvm_vm_integrity_failures_total{name="m1"}' 0
series_is "refusals" 'cvm_refusals_total{cause="requests"}' 0

# A count moves by exactly what was done.
before=$(scrape | awk '$1 == "cvm_api_requests_total{operation=\"status\",status=\"ok\"}" { print $2 }')
ctl status >/dev/null && ctl status >/dev/null && ctl status >/dev/null
series_is "three more status requests" 'cvm_api_requests_total{operation="status",status="ok"}' $((before + 3))

# The per-VM series say what show says (the same cached counters).
SHOW=$(ctl --json show m1)
for st in normal shared secure secure_paged_out; do
	series_is "m1 pages agree with show" "cvm_vm_pages{name=\"m1\",state=\"$st\"}" \
		"$(printf '%s' "$SHOW" | jq -r ".pages.$st")"
done
series_is "m1 pinned agrees with show" 'cvm_vm_pinned_pages{name="m1"}' "$(printf '%s' "$SHOW" | jq -r .pinned_pages)"
series_is "m1 evictions agree with show" 'cvm_vm_evictions_total{name="m1"}' "$(printf '%s' "$SHOW" | jq -r '.evictions // 0')"
check "m1 has a page paged out" [ "$(printf '%s' "$SHOW" | jq -r .pages.secure_paged_out)" = 1 ]
pinned=$(ctl --json list | jq '[.[] | .pinned_pages] | add')
series_is "host pinned pages" 'cvm_pinned_pages' "$pinned"
series_is "charged bytes" 'cvm_charged_bytes' $((pinned * 4096))
series_is "pool total (sim: 2 VMs x 16M)" 'cvm_secure_pool_pages' 8192

if command -v promtool >/dev/null; then
	scrape >"$WORK/scrape.txt"
	if promtool check metrics <"$WORK/scrape.txt" >"$WORK/promtool" 2>&1; then
		ok "promtool check metrics: clean"
	else
		not_ok "promtool check metrics:"
		sed 's/^/#   /' "$WORK/promtool"
	fi
else
	not_ok "promtool missing (packaging/install-deps.sh test)"
fi

# A frozen VMM does not hold a scrape: scrapes read the cache.
pid=$(ctl --json show m1 | jq -r .vmm_pid)
kill -STOP "$pid"
t0=$(date +%s%N)
check "scrape while m1's VMM is stopped" sh -c "curl -sf --max-time 2 '$URL' | grep -q 'cvm_vm_state{name=\"m1\",state=\"secure\"} 1'"
ms=$((($(date +%s%N) - t0) / 1000000))
check "that scrape took under a second (${ms} ms)" [ "$ms" -lt 1000 ]
kill -CONT "$pid"

# An idle VM's counters are asked of its VMM every 5 s (kmod evictions
# change them without a request): its VMM wakes (a voluntary context
# switch), where without metrics it sleeps on.
pid=$(ctl --json show m2 | jq -r .vmm_pid)
wakes() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status"; }
w0=$(wakes "$pid")
sleep 6
w1=$(wakes "$pid")
check "an idle VM's VMM is asked for its counters within 6 s (woke $((w1 - w0)) times)" \
	[ "$((w1 - w0))" -ge 1 -a "$((w1 - w0))" -le 4 ]

# Prometheus itself (tests/fleet/prometheus.sh), against this cvmd.
PPORT=$(free_port)
if prom_start "$PPORT" 1s "127.0.0.1:$PORT"; then
	ok "prometheus starts on 127.0.0.1 (scraping this cvmd)"
	if prom_wait_up 1 40; then ok "prometheus: target up"; else not_ok "prometheus: target never up"; fi
	got=$(prom_value 'sum by (instance) (cvm_vms{state="secure"})')
	check "PromQL: secure VMs on the host = 1 (got '$got')" [ "$got" = 1 ]
	got=$(prom_value 'cvm_vm_pages{name="m1",state="secure_paged_out"}')
	check "PromQL: m1's paged-out pages = 1 (got '$got')" [ "$got" = 1 ]
else
	not_ok "prometheus starts"
fi

for vm in m1 m2; do ctl destroy "$vm" >/dev/null; done
series_is "destroyed VMs leave" 'cvm_vms{state="secure"}' 0
check "no per-VM series left" sh -c "! curl -sf '$URL' | grep -q 'name=\"m1\"'"
stop_cvmd
if [ -n "$PROM_PID" ]; then
	for i in $(seq 1 40); do
		[ "$(prom_value 'up')" = 0 ] && break
		sleep 0.5
	done
	check "PromQL: up == 0 once cvmd is gone" [ "$(prom_value 'up')" = 0 ]
fi
prom_stop

# A name no client can give (create refuses it), from a damaged registry:
# its label value escaped as the text format says.
sqlite3 "$STATE/registry.sqlite" "INSERT INTO vms (name, uuid, state, memory_bytes,
	memlock_limit_bytes, pin, vmm_pid, vmm_socket, failure) VALUES
	('q\"b\\s' || char(10) || 'x', '00000000-0000-4000-8000-000000000001', 3, 4096, 0, 0, 0, '', 'test')"
start_cvmd --set "metrics_listen=127.0.0.1:$PORT" || not_ok "cvmd restarts"
series_is "a label value with quote, backslash and newline, escaped" \
	'cvm_vm_state{name="q\"b\\s\nx",state="failed"}' 1
scrape >"$WORK/scrape.txt"
check "promtool accepts it" sh -c "promtool check metrics <'$WORK/scrape.txt' >/dev/null 2>&1"
stop_cvmd
sqlite3 "$STATE/registry.sqlite" "DELETE FROM vms WHERE uuid = '00000000-0000-4000-8000-000000000001'"

# A unix socket instead of a port.
start_cvmd --set "metrics_listen=unix:$WORK/metrics.sock" || not_ok "cvmd starts with a unix metrics socket"
check "unix:PATH: scrape over the socket" sh -c \
	"curl -sf --max-time 5 --unix-socket '$WORK/metrics.sock' http://localhost/metrics | grep -q '^cvm_build_info'"
stop_cvmd
check "unix:PATH: socket removed at exit" [ ! -e "$WORK/metrics.sock" ]

# Under systemd: cvmd.socket and cvmd-metrics.socket both passed (what
# systemd-socket-activate does here), each taken by its name.
ACT=$WORK/act.sock
APORT=$(free_port)
systemd-socket-activate -l "$ACT" -l "127.0.0.1:$APORT" --fdname=cvmd.socket:metrics \
	"$CVMD" --backend sim --socket "$ACT" --state-dir "$STATE" --vmm "$VMM" \
	--config /dev/null --bus none --set libvirt_uri=none >>"$LOG" 2>&1 &
act_pid=$!
for _ in $(seq 1 50); do [ -S "$ACT" ] && break; sleep 0.05; done
check "activation with two sockets: the API one serves" \
	sh -c "'$CVMCTL' -c unix:$ACT status >/dev/null"
check "activation: /metrics on the socket named metrics" sh -c \
	"curl -sf --max-time 5 http://127.0.0.1:$APORT/metrics | grep -q '^cvm_build_info'"
check "activation: cvmd says which socket" grep -q "the socket systemd passed (metrics)" "$LOG"
kill -TERM $act_pid 2>/dev/null
wait $act_pid 2>/dev/null

# The unit verifies beside cvmd.service (systemd-analyze, a root of its own).
ROOT=$WORK/root
mkdir -p "$ROOT/usr/sbin" "$ROOT/etc/systemd/system" "$ROOT/usr/lib/systemd"
cp "$CVMD" "$ROOT/usr/sbin/cvmd"
cp -r /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
cp "$here/../../systemd/cvmd.service" "$here/../../systemd/cvmd.socket" \
	"$here/../../systemd/cvmd-metrics.socket" "$ROOT/etc/systemd/system/"
out=$(systemd-analyze verify --man=no --root="$ROOT" cvmd-metrics.socket 2>&1)
check "cvmd-metrics.socket: systemd-analyze verify is clean${out:+: $out}" [ $? = 0 -a -z "$out" ]

# A bad listen value is a configuration error (exit 2).
"$CVMD" --config /dev/null --state-dir "$WORK/x" --socket "$WORK/x.sock" --bus none \
	--set metrics_listen=nocolon >/dev/null 2>&1
check "metrics_listen without a port: exit 2" [ $? = 2 ]

stop_cvmd
# Every start and stop above under ASan: nothing reported (a use after free
# in the metrics handles' teardown was caught this way).
if grep -q 'Sanitizer' "$LOG"; then
	not_ok "cvmd's sanitizers reported:"
	grep -A12 'Sanitizer' "$LOG" | head -30 | sed 's/^/#   /'
else
	ok "cvmd's sanitizers reported nothing"
fi
finish

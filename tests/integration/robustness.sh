#!/bin/bash
# robustness.sh BUILD - cvmd under failure and abuse, on the sim backend:
# kill -9 of cvmd with secure VMs (all come back, data readable), kill -9
# of one VMM (that VM failed, the others untouched), raw frame abuse, 200
# clients at once, and access for a non-admin uid.
BUILD=${1:?usage: robustness.sh BUILD}
BACKEND=sim
. "$(dirname "$0")/lib.sh"

# --- configuration errors: a clear message, exit 2, nothing started ---
bad_config() { # DESCRIPTION CONTENT EXPECTED-MESSAGE
	printf '%b' "$2" >"$WORK/bad.conf"
	out=$("$CVMD" --config "$WORK/bad.conf" --socket "$WORK/bad.sock" \
		--state-dir "$WORK/bad-state" --bus none --set libvirt_uri=none 2>&1)
	st=$?
	if [ $st -eq 2 ] && [[ $out == *"$3"* ]] && [ ! -e "$WORK/bad.sock" ]; then
		ok "config: $1"
	else
		not_ok "config: $1: exit $st, said: $out"
	fi
}
bad_config "unknown key" '[cvmd]\nbogus = 1\n' "unknown key 'bogus'"
bad_config "bad value" '[cvmd]\nmax_vms = -3\n' "bad value for 'max_vms'"
bad_config "unknown section" '[other]\nx = 1\n' "unknown section [other]"
bad_config "syntax" 'garbage\n' "syntax error"
bad_config "bad backend" '[cvmd]\nbackend = quantum\n' "bad value for 'backend'"
# Its own socket and state dir even so: never the host's defaults.
out=$("$CVMD" --config "$WORK/missing.conf" --socket "$WORK/missing.sock" \
	--state-dir "$WORK/missing-state" --bus none --set libvirt_uri=none 2>&1); st=$?
check "config: a missing explicit file is an error" [ $st -eq 2 ]

# --- the registry: an older schema is migrated, a newer one refused ---
mkdir -p "$STATE"
sqlite3 "$STATE/registry.sqlite" <<'SQL'
CREATE TABLE vms (name TEXT PRIMARY KEY NOT NULL, uuid TEXT UNIQUE NOT NULL,
 state INTEGER NOT NULL, memory_bytes INTEGER NOT NULL,
 memlock_limit_bytes INTEGER NOT NULL, pin INTEGER NOT NULL,
 vmm_pid INTEGER NOT NULL, vmm_socket TEXT NOT NULL,
 failure TEXT NOT NULL DEFAULT '',
 created INTEGER NOT NULL DEFAULT (strftime('%s','now')));
INSERT INTO vms VALUES ('old', '00000000-0000-0000-0000-000000000001', 3,
 4096, 0, 0, 0, '/nonexistent.sock', 'from schema 1', 0);
PRAGMA user_version = 1;
SQL
start_cvmd || { not_ok "cvmd starts on a schema-1 registry"; exit 1; }
jq_is "registry: a schema-1 record survives the migration" "$(ctl --json show old)" \
	'[.state, .failure] | join(" ")' "failed from schema 1"
check "registry: migrated to schema 2" [ "$(sqlite3 "$STATE/registry.sqlite" 'PRAGMA user_version')" = 2 ]
ctl destroy old >/dev/null
stop_cvmd
sqlite3 "$STATE/registry.sqlite" 'PRAGMA user_version = 99'
out=$("$CVMD" --socket "$WORK/new.sock" --state-dir "$STATE" --config /dev/null \
	--bus none --set libvirt_uri=none 2>&1); st=$?
check "registry: a newer schema is refused, untouched" \
	[ $st -eq 1 -a "$(sqlite3 "$STATE/registry.sqlite" 'PRAGMA user_version')" = 99 ]
case $out in *"newer cvmd"*) ok "registry: says it was written by a newer cvmd" ;; *) not_ok "registry: $out" ;; esac
rm -f "$STATE/registry.sqlite"*

start_cvmd || { not_ok "cvmd starts"; exit 1; }
for vm in r1 r2 r3; do
	ctl create $vm --memory 4M >/dev/null
	ctl init-start $vm >/dev/null
	ctl guest-write $vm 0x1000 --data "secret of $vm" >/dev/null
	ctl page-in $vm 0x1000 >/dev/null
	ctl init-done $vm >/dev/null
done
ctl page-out r2 0x1000 >/dev/null

# --- kill -9 cvmd while VMs are secure, start it again ---
kill -KILL "$CVMD_PID"
wait "$CVMD_PID" 2>/dev/null
CVMD_PID=
start_cvmd || not_ok "cvmd restarts"
for vm in r1 r2 r3; do
	jq_is "restart: $vm is back, secure" "$(ctl --json show $vm)" .state secure
	check "restart: $vm's secret still readable by the guest" \
		[ "$(ctl guest-read $vm 0x1000 --length 12)" = "secret of $vm" ]
done
jq_is "restart: the guest's read paged r2's page back in" "$(ctl --json show r2)" \
	.pages.secure_paged_out 0

# --- kill -9 one VMM ---
pid=$(ctl --json show r1 | jq .vmm_pid)
kill -KILL "$pid"
for i in $(seq 1 50); do
	[ "$(ctl --json show r1 | jq -r .state)" = failed ] && break
	sleep 0.1
done
OUT=$(ctl --json show r1)
jq_is "VMM killed: its VM is failed" "$OUT" .state failed
case $(echo "$OUT" | jq -r .failure) in
*"killed by signal 9"*|*exited*) ok "VMM killed: the reason is recorded" ;;
*) not_ok "VMM killed: failure is $(echo "$OUT" | jq -r .failure)" ;;
esac
expect_exit 1 "failed VM: operations refused" init-start r1
jq_is "the other VMs are untouched" "$(ctl --json show r3)" .state secure
check "the other VMs' data is intact" [ "$(ctl guest-read r3 0x1000 --length 12)" = "secret of r3" ]
# the failure survives a restart too
stop_cvmd
start_cvmd
jq_is "failed state is persistent" "$(ctl --json show r1)" .state failed
expect_exit 0 "a failed VM can be destroyed" destroy r1

# --- raw protocol abuse ---
for case in truncated oversized garbage unknown-field empty-op no-reader many; do
	if out=$($PY "$(dirname "$0")/frames.py" "$SOCK" $case 2>&1); then
		ok "bad input: $case ($out)"
	else
		not_ok "bad input: $case: $out"
	fi
done
check "cvmd alive after the abuse" kill -0 "$CVMD_PID"
jq_is "other VMs unaffected by the abuse" "$(ctl --json show r3)" .state secure

# --- a VMM serves only what the operation table says a VMM serves ---
vsock=$(sqlite3 "$STATE/registry.sqlite" "SELECT vmm_socket FROM vms WHERE name = 'r3'")
before=$(ctl --json show r3 | jq -c '{state, pages, vmm_pid}')
stop_cvmd	# a VMM serves one connection at a time: cvmd's while it runs
if out=$($PY "$(dirname "$0")/frames.py" "$vsock" vmm-unserved r3 2>&1); then
	ok "VMM: cvmd's own operations refused, show served ($out)"
else
	not_ok "VMM: $out"
fi
start_cvmd || not_ok "cvmd restarts"
check "VMM: r3 untouched by the refused requests" \
	[ "$(ctl --json show r3 | jq -c '{state, pages, vmm_pid}')" = "$before" ]

# --- access: a non-admin uid reads but can't mutate ---
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$CVMCTL" -c "unix:$SOCK" "$@"; }
quiet() { "$@" >/dev/null; }
check "non-admin: list works" quiet as_nobody list
check "non-admin: show works" quiet as_nobody show r3
OUT=$(as_nobody init-start r3 2>&1); st=$?
check "non-admin: init-start refused with exit 3" [ $st -eq 3 ]
case $OUT in *"access denied"*) ok "non-admin: says access denied" ;; *) not_ok "non-admin: $OUT" ;; esac
check "non-admin: says it once ($OUT)" [ "$(printf '%s' "$OUT" | grep -o 'access denied' | wc -l)" -eq 1 ]
OUT=$(as_nobody create evil --memory 4K 2>&1); st=$?
check "non-admin: create refused with exit 3" [ $st -eq 3 ]
OUT=$(as_nobody guest-read r3 0x1000 --length 4 2>&1); st=$?
check "non-admin: guest-read (VM memory) refused with exit 3" [ $st -eq 3 ]
check "non-admin: nothing was created" [ "$(ctl --json list | jq length)" = 2 ]

ctl destroy r2 >/dev/null
ctl destroy r3 >/dev/null
finish

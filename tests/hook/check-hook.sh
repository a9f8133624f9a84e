#!/bin/bash
# check-hook.sh BUILD - the libvirt hook entry point, `cvmctl hook qemu
# DOMAIN OP SUBOP EXTRA`, driven with the calls libvirt makes (calls.tsv)
# and recorded domain XML (xml/), as libvirt runs it: XML on stdin, stdout
# and stderr on pipes (a child left holding them would hang the call).
#
#   1. domains that did not opt in: every call exits 0 at once, silent,
#      and never connects (a trap socket records any connection);
#   2. opted-in domains without cvmd, and with a cvmd that never answers:
#      prepare refused with one "cvm: " line within the bound, cleanup and
#      reconnect exit 0, migrate/restore refused;
#   3. bad documents and options, names, admission refusals;
#   4. against a real cvmd (sim backend): the whole lifecycle, repeats,
#      refusals that leave nothing behind, reconnect repairs, the shim.
#
# TAP lines ("ok - ..." / "not ok - ...") for tests/run-suite.sh.
BUILD=${1:?usage: check-hook.sh BUILD}
BUILD=$(cd "$BUILD" && pwd) || exit 1
BACKEND=sim
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

XML=$HERE/xml
SHIM=$BUILD/client/cvm-libvirt-hook	# the entry libvirt runs
TRAP=$WORK/trap.sock	# accepts, records, never answers
TRAP_LOG=$WORK/trap.log
NONE=unix:$WORK/nobody-here.sock
TRAP_PID=

# Our own processes, each by its pid (lib.sh's cleanup would match VMMs by
# command line; here every VMM is found through cvmd instead).
cleanup() {
	local pid
	if [ -n "$CVMD_PID" ]; then
		for pid in $(ctl --json list 2>/dev/null | jq -r '.[].vmm_pid // empty'); do
			kill -KILL "$pid" 2>/dev/null
		done
	fi
	stop_cvmd
	[ -n "$TRAP_PID" ] && kill "$TRAP_PID" 2>/dev/null && wait "$TRAP_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run URI ARGS... < XML: `cvmctl -c URI [ARGS before --] hook -- qemu
# ARGS...`, as libvirt runs it: stdout and stderr are pipes, and the call is
# over when both are closed. Sets ST (exit status), OUT, ERR, MS.
run() {
	local uri=$1 t0
	shift
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	t0=$(now_ms)
	{
		timeout 60 "$CVMCTL" -c "$uri" "${opts[@]}" hook -- qemu "$@" \
			2>&1 1>&3 3>&- | cat >"$WORK/err" 3>&-
		echo "${PIPESTATUS[0]}" >"$WORK/st"
	} 3>&1 | cat >"$WORK/out"
	MS=$(($(now_ms) - t0))
	ST=$(cat "$WORK/st")
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

lines() { [ -z "$1" ] && echo 0 || printf '%s\n' "$1" | wc -l; }

# expect WHAT STATUS [STDERR]: STDERR "" = silent, "line" = exactly one
# line starting "cvm: ", anything else = one "cvm: " line containing it.
# stdout must always be empty (for migrate/restore it would replace the XML).
expect() {
	local what=$1 st=$2 err=${3-} bad=
	[ "$ST" = "$st" ] || bad="exit $ST, want $st"
	[ -z "$OUT" ] || bad="${bad:+$bad; }stdout not empty: $OUT"
	if [ -z "$err" ]; then
		[ -z "$ERR" ] || bad="${bad:+$bad; }stderr not empty: $ERR"
	else
		if [ "$(lines "$ERR")" != 1 ] || [ "${ERR#cvm: }" = "$ERR" ]; then
			bad="${bad:+$bad; }stderr is not one 'cvm: ' line: $ERR"
		elif [ "$err" != line ] && [[ "$ERR" != *"$err"* ]]; then
			bad="${bad:+$bad; }stderr lacks '$err': $ERR"
		fi
	fi
	if [ -n "$bad" ]; then not_ok "$what: $bad"; else ok "$what (${MS} ms)"; fi
}

# expect_fast WHAT MAX_MS
expect_fast() {
	if [ "$MS" -le "$2" ]; then ok "$1: ${MS} ms (at most $2)"; else not_ok "$1: took ${MS} ms, more than $2"; fi
}

# Every libvirt call: "OP<TAB>SUBOP<TAB>EXTRA" lines.
mapfile -t CALLS < <(grep -v '^#' "$HERE/calls.tsv")

trap_connections() { [ -f "$TRAP_LOG" ] && wc -c <"$TRAP_LOG" || echo 0; }

"$PY" - "$TRAP" "$TRAP_LOG" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("x")
    held.append(c)  # never answered, never closed
PY
TRAP_PID=$!
for _ in $(seq 1 100); do [ -S "$TRAP" ] && break; sleep 0.05; done

# --- 1. domains that did not opt in ------------------------------------------
for doc in plain wrong-namespace; do
	name=hk-$doc
	slow=0
	for call in "${CALLS[@]}"; do
		IFS=$'\t' read -r op subop extra <<<"$call"
		run "unix:$TRAP" -- "$name" "$op" "$subop" "$extra" <"$XML/$doc.xml"
		expect "not opted in ($doc): $op $subop '$extra' exits 0, silent" 0
		[ "$MS" -le 1000 ] || slow=$((slow + 1))
	done
	if [ "$slow" = 0 ]; then ok "not opted in ($doc): every call within 1 s"; else not_ok "not opted in ($doc): $slow calls took over 1 s"; fi
done
if [ "$(trap_connections)" = 0 ]; then
	ok "not opted in: cvmd was never contacted"
else
	not_ok "not opted in: $(trap_connections) connections to cvmd's socket"
fi
# A non-opted-in domain whose XML is over the cap: only prepare refuses.
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$WORK/pad"
{ sed '$d' "$XML/plain.xml"; echo "<description>"; cat "$WORK/pad"; echo "</description></domain>"; } >"$WORK/huge-plain.xml"
run "unix:$TRAP" -- hk-plain prepare begin - <"$WORK/huge-plain.xml"
expect "XML over 16 MiB: prepare refused" 1 "larger than 16 MiB"
# (Unread, it might be opted in: cleanup asks cvmd for a VM of libvirt's.)
run "$NONE" -- hk-plain stopped end - <"$WORK/huge-plain.xml"
expect "XML over 16 MiB: stopped exits 0" 0 "warning: cvmd is not running"
# Other drivers and unknown calls: nothing to do, stdin unread.
run "unix:$TRAP" -- hk-demand frobnicate begin - <"$XML/cvm-demand.xml"
expect "unknown operation: exit 0, silent" 0
run "unix:$TRAP" -- hk-demand prepare end - <"$XML/cvm-demand.xml"
expect "unknown sub-operation: exit 0, silent" 0
OUT=$("$CVMCTL" -c "unix:$TRAP" hook lxc hk-demand prepare begin - <"$XML/cvm-demand.xml" 2>&1)
ST=$?
if [ "$ST" = 0 ] && [ -z "$OUT" ]; then ok "another driver (lxc): exit 0, silent"; else not_ok "another driver: exit $ST: $OUT"; fi
if [ "$(trap_connections)" = 0 ]; then ok "unknown calls: cvmd was never contacted"; else not_ok "unknown calls contacted cvmd"; fi
"$CVMCTL" -c "$NONE" hook qemu hk-demand prepare </dev/null >/dev/null 2>"$WORK/err"
ST=$?
if [ "$ST" = 2 ] && grep -q 'missing SUBOP' "$WORK/err"; then ok "missing arguments: usage error (exit 2)"; else not_ok "missing arguments: exit $ST: $(cat "$WORK/err")"; fi

# --- 2. opted in, no cvmd, or a cvmd that never answers ---------------------------
for doc in cvm-demand launch-security; do
	name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$XML/$doc.xml")
	for call in "${CALLS[@]}"; do
		IFS=$'\t' read -r op subop extra <<<"$call"
		run "$NONE" -- "$name" "$op" "$subop" "$extra" <"$XML/$doc.xml"
		case $op in
		prepare) expect "no cvmd ($doc): prepare refused" 1 "cvm: prepare '$name' refused: cvmd is not running" ;;
		start | started) expect "no cvmd ($doc): $op fails" 1 "cvm: $op '$name' failed: cvmd is not running" ;;
		stopped | release) expect "no cvmd ($doc): $op $subop '$extra' exits 0 (warning)" 0 "warning: cvmd is not running" ;;
		migrate) expect "no cvmd ($doc): migrate refused" 1 "secure VMs can't be migrated yet" ;;
		restore) expect "no cvmd ($doc): restore refused" 1 "secure VMs can't be restored" ;;
		reconnect) expect "no cvmd ($doc): reconnect exits 0 (warning)" 0 "warning: cannot check the VM in cvmd" ;;
		*) expect "no cvmd ($doc): $op exits 0, silent" 0 ;;
		esac
		[ "$MS" -le 1000 ] || not_ok "no cvmd ($doc): $op took $MS ms"
	done
done

rm -f "$TRAP_LOG"
run "unix:$TRAP" --timeout 1 -- hk-demand prepare begin - <"$XML/cvm-demand.xml"
expect "cvmd never answers: prepare refused" 1 "no answer from cvmd at unix:$TRAP within 1 s"
if [ "$MS" -ge 900 ] && [ "$MS" -le 2500 ]; then ok "cvmd never answers: --timeout 1 bounds prepare (${MS} ms)"; else not_ok "cvmd never answers: prepare took $MS ms with --timeout 1"; fi
run "unix:$TRAP" -- hk-demand prepare begin - <"$XML/cvm-demand.xml"
expect "cvmd never answers: prepare refused (default bound)" 1 "within 5 s"
if [ "$MS" -ge 4500 ] && [ "$MS" -le 7000 ]; then ok "cvmd never answers: the default bound is 5 s (${MS} ms)"; else not_ok "cvmd never answers: default bound took $MS ms"; fi
run "unix:$TRAP" --timeout 1 -- hk-demand stopped end - <"$XML/cvm-demand.xml"
expect "cvmd never answers: stopped exits 0" 0 "warning: no answer from cvmd"
expect_fast "cvmd never answers: stopped is bounded" 2500
run "unix:$TRAP" --timeout 1 -- hk-demand release end "from snapshot" <"$XML/cvm-demand.xml"
expect "cvmd never answers: release exits 0" 0 "warning"
run "unix:$TRAP" --timeout 1 -- hk-demand reconnect begin - <"$XML/cvm-demand.xml"
expect "cvmd never answers: reconnect exits 0" 0 "warning"
run "unix:$TRAP" --timeout 1 -- hk-demand started begin - <"$XML/cvm-demand.xml"
expect "cvmd never answers: started fails" 1 "no answer from cvmd"
expect_fast "cvmd never answers: started is bounded" 2500

# --- 3. documents, options, names, local admission --------------------------------
rm -f "$TRAP_LOG"
run "unix:$TRAP" -- hk-malformed prepare begin - <"$XML/malformed.xml"
expect "malformed XML: prepare refused" 1 "the domain XML is not well-formed: line"
for op in start started; do
	run "unix:$TRAP" -- hk-malformed "$op" begin - <"$XML/malformed.xml"
	expect "malformed XML: $op fails" 1 "not well-formed"
done
run "unix:$TRAP" -- hk-malformed migrate begin - <"$XML/malformed.xml"
expect "malformed XML: migrate refused" 1 "can't tell whether it is a secure VM"
run "unix:$TRAP" -- hk-malformed reconnect begin - <"$XML/malformed.xml"
expect "malformed XML: reconnect exits 0" 0 "warning: the domain XML is not well-formed"
run "$NONE" -- hk-malformed stopped end - <"$XML/malformed.xml"
expect "malformed XML, no cvmd: stopped exits 0" 0 "warning"
printf '' >"$WORK/empty.xml"
run "unix:$TRAP" -- hk-empty prepare begin - <"$WORK/empty.xml"
expect "empty stdin: prepare refused" 1 "not well-formed"
run "unix:$TRAP" -- hk-nomem prepare begin - <"$XML/no-memory.xml"
expect "no <memory>: prepare refused" 1 "the domain XML has no <memory>"
run "unix:$TRAP" -- hk-badopt prepare begin - <"$XML/bad-option.xml"
expect "pin='sometimes': prepare refused" 1 "pin 'sometimes' is neither 'demand' nor 'upfront'"
run "unix:$TRAP" -- "hk web" prepare begin - <"$XML/cvm-demand.xml"
expect "domain name with a space: prepare refused" 1 "'hk web' can't be a cvm VM name"
long=hk-$(printf '%070d' 0)
run "unix:$TRAP" -- "$long" prepare begin - <"$XML/cvm-demand.xml"
expect "74-character domain name: prepare refused" 1 "longer than 64"
run "unix:$TRAP" -- "$(printf 'hk\nweb')" prepare begin - <"$XML/cvm-demand.xml"
expect "domain name with a newline: still one line" 1 "can't be a cvm VM name"
run "unix:$TRAP" -- "hk web" stopped end - <"$XML/cvm-demand.xml"
expect "invalid name: stopped exits 0, silent" 0
run "unix:$TRAP" -- hk-toosmall prepare begin - <"$XML/cvm-upfront-too-small.xml"
expect "upfront, memlock-limit 4M < 64 MiB: prepare refused" 1 "upfront pinning locks all 64 MiB of guest memory, more than memlock-limit 4 MiB"
{ sed '$d' "$XML/cvm-demand.xml"; echo "<description>"; cat "$WORK/pad"; echo "</description></domain>"; } >"$WORK/huge.xml"
run "unix:$TRAP" -- hk-demand prepare begin - <"$WORK/huge.xml"
expect "opted-in XML over 16 MiB: prepare refused" 1 "larger than 16 MiB"
expect_fast "XML over 16 MiB: refused quickly" 3000
if [ "$(trap_connections)" = 0 ]; then ok "bad documents and local refusals never contacted cvmd"; else not_ok "local refusals contacted cvmd"; fi

# --- 4. a real cvmd ------------------------------------------------------------------
# A default memlock limit (within this host's 8 MiB): VMs without one get it.
start_cvmd --set default_memlock_limit=8M || { not_ok "cvmd starts"; exit 1; }
ok "cvmd starts ($BACKEND, default memlock limit 8 MiB)"
URI=unix:$SOCK

field() { ctl --json show "$1" 2>/dev/null | jq -r "$2"; }
gone() { ! ctl show "$1" >/dev/null 2>&1; }
hook() { # NAME OP SUBOP EXTRA DOC
	run "$URI" -- "$1" "$2" "$3" "$4" <"$XML/$5.xml"
}
is() { # WHAT GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: '$2', want '$3'"; fi
}
secure_cycle() { # NAME DOC: prepare, start, started, all silent
	hook "$1" prepare begin - "$2" && [ "$ST" = 0 ] &&
		hook "$1" start begin - "$2" && [ "$ST" = 0 ] &&
		hook "$1" started begin - "$2" && [ "$ST" = 0 ]
}

# The lifecycle, as libvirt drives it.
hook hk-demand prepare begin - cvm-demand
expect "prepare: admitted and created" 0
is "prepare: the VM is normal" "$(field hk-demand .state)" normal
is "prepare: memory from <memory unit='KiB'>65536" "$(field hk-demand .memory_bytes)" 67108864
is "prepare: memlock-limit 8M" "$(field hk-demand .memlock_limit_bytes)" 8388608
is "prepare: pin demand" "$(field hk-demand .pin)" demand
is "prepare: the VM is libvirt's" "$(field hk-demand '.owner // "libvirt"')" libvirt
hook hk-demand start begin - cvm-demand
expect "start: INIT_START" 0
is "start: the VM is transient" "$(field hk-demand .state)" transient
hook hk-demand started begin - cvm-demand
expect "started: INIT_DONE" 0
is "started: the VM is secure" "$(field hk-demand .state)" secure
m=$(field hk-demand .measurement)
if [ -n "$m" ] && [ "$m" != null ]; then ok "started: the launch measurement is sealed ($m)"; else not_ok "started: no measurement"; fi
hook hk-demand started begin - cvm-demand
expect "started again: still fine" 0
is "started again: still secure, same measurement" "$(field hk-demand .state) $(field hk-demand .measurement)" "secure $m"
hook hk-demand migrate begin - cvm-demand
expect "migrate of a secure domain refused" 1 "cvm: migrate 'hk-demand' refused: secure VMs can't be migrated yet"
hook hk-demand restore begin - cvm-demand
expect "restore of a secure domain refused" 1 "can't be restored"
hook hk-demand attach begin - cvm-demand
expect "attach: ignored" 0
is "migrate/restore/attach left the VM secure" "$(field hk-demand .state)" secure
hook hk-demand reconnect begin - cvm-demand
expect "reconnect of a healthy secure VM: silent" 0
is "reconnect: same VM" "$(field hk-demand .measurement)" "$m"
hook hk-demand prepare begin - cvm-demand
expect "prepare while a VM of that name is secure: refused" 1 "a VM named 'hk-demand' is already secure in cvmd"
is "the refused prepare left the secure VM alone" "$(field hk-demand .state)" secure
hook hk-demand stopped end - cvm-demand
expect "stopped: terminated and destroyed" 0
if gone hk-demand; then ok "stopped: the VM is gone"; else not_ok "stopped: the VM is still there"; fi
for extra in - "from snapshot" destroyed; do
	hook hk-demand release end "$extra" cvm-demand
	expect "release end '$extra' after stopped: idempotent" 0
done
hook hk-demand stopped end - cvm-demand
expect "stopped again: idempotent" 0

# Every release reason cleans up on its own (stopped may not have run).
for call in "${CALLS[@]}"; do
	IFS=$'\t' read -r op subop extra <<<"$call"
	[ "$op" = release ] || continue
	if ! secure_cycle hk-rel cvm-demand; then not_ok "release '$extra': setup: $ERR"; continue; fi
	hook hk-rel release end "$extra" cvm-demand
	expect "release end '$extra' alone: exit 0" 0
	if gone hk-rel; then ok "release end '$extra': the VM is gone"; else not_ok "release end '$extra': the VM is still there"; fi
done

# launchSecurity alone: defaults.
hook hk-ls prepare begin - launch-security
expect "launchSecurity alone: prepare" 0
is "launchSecurity alone: demand pinning" "$(field hk-ls .pin)" demand
is "launchSecurity alone: cvmd's default memlock limit" "$(field hk-ls .memlock_limit_bytes)" 8388608
is "launchSecurity alone: <memory unit='MiB'>32" "$(field hk-ls .memory_bytes)" 33554432
# started without start: both INIT_START and INIT_DONE.
hook hk-ls started begin - launch-security
expect "started on a normal VM: INIT_START then INIT_DONE" 0
is "started on a normal VM: secure" "$(field hk-ls .state)" secure
hook hk-ls release end destroyed launch-security
expect "launchSecurity alone: release" 0
if gone hk-ls; then ok "launchSecurity alone: gone"; else not_ok "launchSecurity alone: still there"; fi

# Upfront pinning within its memlock limit.
if secure_cycle hk-upfront cvm-upfront; then ok "upfront, 4 MiB within 8M: secure cycle"; else not_ok "upfront: exit $ST: $ERR"; fi
is "upfront: pin mode" "$(field hk-upfront .pin)" upfront
is "upfront: secure" "$(field hk-upfront .state)" secure
hook hk-upfront stopped end - cvm-upfront
if gone hk-upfront; then ok "upfront: stopped destroys"; else not_ok "upfront: still there"; fi

# Admission refusals leave nothing behind.
vms=$(ctl --json status | jq .vms)
hook hk-toosmall prepare begin - cvm-upfront-too-small
expect "memlock admission: refused" 1 "more than memlock-limit 4 MiB"
if gone hk-toosmall; then ok "memlock admission: no VM left"; else not_ok "memlock admission: a VM was left"; fi
hook hk-badopt prepare begin - bad-option
expect "bad option: refused" 1 "pin 'sometimes'"
hook hk-malformed prepare begin - malformed
expect "malformed: refused" 1 "not well-formed"
# Admitted (no memlock-limit given), then refused by cvmd itself: upfront
# pinning of 64 MiB over cvmd's default 8 MiB.
hook hk-updefault prepare begin - cvm-upfront-default-limit
expect "cvmd refuses the create: prepare refused" 1 "cvm: prepare 'hk-updefault' refused: cvmd refused create:"
if gone hk-updefault; then ok "cvmd's refusal: no VM left"; else not_ok "cvmd's refusal: a VM was left"; fi
is "refusals left cvmd's VM count alone" "$(ctl --json status | jq .vms)" "$vms"
# ... and the cleanup libvirt runs after them is harmless.
for doc in cvm-upfront-too-small bad-option cvm-upfront-default-limit; do
	name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$XML/$doc.xml")
	hook "$name" stopped end - "$doc"
	expect "after a refused prepare ($doc): stopped exits 0" 0
	hook "$name" release end failed "$doc"
	expect "after a refused prepare ($doc): release exits 0" 0
done

# A VM of that name that libvirt did not create: refused, and left alone.
ctl create hk-demand --memory 4K >/dev/null
hook hk-demand prepare begin - cvm-demand
expect "prepare over a VM made with cvmctl: refused" 1 "already exists in cvmd (normal) and was not created by libvirt"
hook hk-demand stopped end - cvm-demand
expect "then stopped: exit 0" 0
hook hk-demand release end failed cvm-demand
expect "then release: exit 0" 0
hook hk-demand stopped end - malformed
expect "then stopped with malformed XML: exit 0" 0
is "the cvmctl VM survived libvirt's cleanup" "$(field hk-demand '.state + " " + (.memory_bytes|tostring)')" "normal 4096"
hook hk-demand reconnect begin - cvm-demand
expect "reconnect over a VM made with cvmctl: exit 0, left alone" 0 "was not created by libvirt: left alone"
is "reconnect left the cvmctl VM normal" "$(field hk-demand .state)" normal
hook hk-demand start begin - cvm-demand
expect "start over a VM made with cvmctl: fails" 1 "was not created by libvirt"
ctl destroy hk-demand >/dev/null

# A stale VM of libvirt's (a start that never reached release) is replaced.
hook hk-stale prepare begin - cvm-demand
u1=$(field hk-stale .uuid)
hook hk-stale prepare begin - cvm-demand
expect "prepare over a stale normal VM of libvirt's: replaced" 0
u2=$(field hk-stale .uuid)
if [ -n "$u2" ] && [ "$u2" != null ] && [ "$u1" != "$u2" ]; then ok "stale VM replaced by a new one"; else not_ok "stale VM: uuid $u1 -> $u2"; fi
hook hk-stale start begin - cvm-demand
hook hk-stale prepare begin - cvm-demand
expect "prepare over a stale transient VM of libvirt's: replaced" 0
is "replaced VM is normal" "$(field hk-stale .state)" normal
hook hk-stale release end - cvm-demand

# start and started without their VM.
hook hk-nothing start begin - cvm-demand
expect "start without prepare: fails" 1 "cvmd has no VM 'hk-nothing'"
hook hk-nothing started begin - cvm-demand
expect "started without prepare: fails" 1 "cvmd has no VM"

# INIT_DONE refused half way: INIT_ABORT, and the start fails.
hook hk-abort prepare begin - cvm-demand
hook hk-abort start begin - cvm-demand
if ctl dma-share hk-abort 0 >/dev/null 2>&1; then
	hook hk-abort started begin - cvm-demand
	expect "INIT_DONE refused: started fails" 1 "INIT_DONE"
	case $ERR in *"INIT_ABORT done"*) ok "INIT_DONE refused: INIT_ABORT ran" ;; *) not_ok "INIT_DONE refused: $ERR" ;; esac
	is "INIT_DONE refused: the VM is back to normal" "$(field hk-abort .state)" normal
else
	not_ok "INIT_DONE refusal: cannot set up a DMA share"
fi
hook hk-abort stopped end - cvm-demand
expect "after the failed start: stopped cleans up" 0
if gone hk-abort; then ok "after the failed start: gone"; else not_ok "after the failed start: still there"; fi

# Cleanup with XML it can't read still cleans up libvirt's VM by name.
secure_cycle hk-malformed cvm-demand
hook hk-malformed stopped end - malformed
expect "stopped with malformed XML: exit 0" 0
if gone hk-malformed; then ok "stopped with malformed XML: libvirt's VM destroyed"; else not_ok "stopped with malformed XML: VM left"; fi
secure_cycle hk-demand cvm-demand
run "$URI" -- hk-demand release end - <"$WORK/huge.xml"
expect "release with XML over 16 MiB: exit 0" 0
if gone hk-demand; then ok "release with XML over 16 MiB: destroyed"; else not_ok "release with huge XML: VM left"; fi

# reconnect (libvirtd restarted, the domain still runs) repairs cvmd's record.
hook hk-rc prepare begin - cvm-demand
hook hk-rc reconnect begin - cvm-demand
expect "reconnect, VM still normal: made secure" 0 "warning: repaired"
is "reconnect, VM was normal: secure" "$(field hk-rc .state)" secure
ctl destroy hk-rc >/dev/null
hook hk-rc reconnect begin - cvm-demand
expect "reconnect, no VM: created and made secure" 0 "warning: repaired cvmd's record: the VM was created"
is "reconnect, no VM: secure" "$(field hk-rc .state)" secure
is "reconnect, no VM: libvirt's" "$(field hk-rc '.owner // "libvirt"')" libvirt
pid=$(field hk-rc .vmm_pid)
u1=$(field hk-rc .uuid)
kill -KILL "$pid" 2>/dev/null
for _ in $(seq 1 100); do [ "$(field hk-rc .state)" = failed ] && break; sleep 0.05; done
is "reconnect setup: the VMM died, the VM failed" "$(field hk-rc .state)" failed
hook hk-rc reconnect begin - cvm-demand
expect "reconnect, VM failed: replaced" 0 "was created"
is "reconnect, VM failed: secure again" "$(field hk-rc .state)" secure
if [ "$(field hk-rc .uuid)" != "$u1" ]; then ok "reconnect, VM failed: a new VM"; else not_ok "reconnect, VM failed: same uuid"; fi
hook hk-rc started begin - cvm-demand
expect "started on a VM that is already secure: fine" 0
hook hk-rc release end daemon cvm-demand
if gone hk-rc; then ok "reconnect VM: released"; else not_ok "reconnect VM: left"; fi

# The shim, as libvirt runs it: its argv, its environment, pipes.
shim() { # DOMAIN OP SUBOP EXTRA < XML
	local t0
	t0=$(now_ms)
	{
		env -i LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			USER=root LOGNAME=root CVMCTL="$CVMCTL" CVM_CONNECT="$URI" \
			"$SHIM" "$@" 2>&1 1>&3 3>&- | cat >"$WORK/err" 3>&-
		echo "${PIPESTATUS[0]}" >"$WORK/st"
	} 3>&1 | cat >"$WORK/out"
	MS=$(($(now_ms) - t0))
	ST=$(cat "$WORK/st")
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}
shim hk-shim prepare begin - <"$XML/cvm-demand.xml"
expect "shim: prepare" 0
shim hk-shim start begin - <"$XML/cvm-demand.xml"
expect "shim: start" 0
shim hk-shim started begin - <"$XML/cvm-demand.xml"
expect "shim: started" 0
is "shim: secure" "$(field hk-shim .state)" secure
shim hk-shim migrate begin - <"$XML/cvm-demand.xml"
expect "shim: migrate refused" 1 "can't be migrated"
shim hk-shim stopped end - <"$XML/cvm-demand.xml"
expect "shim: stopped" 0
shim hk-shim release end "from snapshot" <"$XML/cvm-demand.xml"
expect "shim: release end 'from snapshot'" 0
if gone hk-shim; then ok "shim: gone"; else not_ok "shim: left"; fi
shim --help prepare begin - <"$XML/plain.xml"
expect "shim: a domain named '--help' is a domain name, not an option" 0
shim -c prepare begin - <"$XML/plain.xml"
expect "shim: a domain named '-c' too" 0

# The entry decides alone only for a document it is sure of: a well-formed
# domain that did not opt in. With a cvmctl that does not exist, "exit 0,
# silent" is its own decision; "cannot run" means it handed the call on.
entry() { # CVMCTL-PATH DOMAIN OP SUBOP EXTRA < XML
	local ctl=$1
	shift
	{
		env -i LC_ALL=C PATH=/nonexistent HOME=/root USER=root \
			LOGNAME=root CVMCTL="$ctl" CVM_CONNECT="$NONE" \
			"$SHIM" "$@" 2>&1 1>&3 3>&- | cat >"$WORK/err" 3>&-
		echo "${PIPESTATUS[0]}" >"$WORK/st"
	} 3>&1 | cat >"$WORK/out"
	ST=$(cat "$WORK/st")
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}
NOCTL=$WORK/no-such-cvmctl
plain_with() { # SED-SCRIPT: plain.xml changed
	sed "$1" "$XML/plain.xml"
}
META="s|<metadata>|<metadata>"
# Opted in, in every spelling: never decided by the entry alone.
plain_with "$META<x:y xmlns:x='http://cvm.org/xmlns/libvirt/1.0'/>|" >"$WORK/t-prefix.xml"
plain_with "$META<c:cvm xmlns:c='http://cvm\\&#46;org/xmlns/libvirt/1.0'/>|" >"$WORK/t-charref.xml"
plain_with "$META<c:cvm xmlns:c='http\\&#x3a;//cvm.org/xmlns/libvirt/1.0'/>|" >"$WORK/t-charref2.xml"
plain_with "$META<cvm xmlns='http://cvm.org/xmlns/libvirt/1.0'/>|" >"$WORK/t-default.xml"
plain_with "s|<domain type='qemu' id='3'>|<domain type='qemu' id='3' xmlns:c=\"http://cvm.org/xmlns/libvirt/1.0\">|;$META<c:cvm/>|" >"$WORK/t-root-decl.xml"
plain_with "s|<seclabel|<launchSecurity\n    type='sev'/>\n  <seclabel|" >"$WORK/t-ls-newline.xml"
plain_with "s|<seclabel|<!-- a comment --><launchSecurity type='sev'/><seclabel|" >"$WORK/t-ls-comment.xml"
plain_with "s|<seclabel|<![CDATA[x]]><launchSecurity type='sev'/><seclabel|" >"$WORK/t-ls-cdata.xml"
for t in prefix charref charref2 default root-decl ls-newline ls-comment ls-cdata; do
	entry "$NOCTL" hk-entry prepare begin - <"$WORK/t-$t.xml"
	expect "entry: opted in ($t): handed on to cvmctl" 1 "cannot run"
	entry "$CVMCTL" hk-entry prepare begin - <"$WORK/t-$t.xml"
	expect "entry: opted in ($t): prepare refused without cvmd" 1 "cvm"
done
# Not opted in, but outside what the entry is sure of: handed on, and
# the full hook lets them through (or refuses a malformed one, as ever).
plain_with "s|<seclabel|<!-- launchSecurity --><seclabel|" >"$WORK/u-comment.xml"
plain_with "s|<name>hk-plain</name>|<name>hk\\&#45;plain</name>|" >"$WORK/u-charref.xml"
plain_with "s|<app:app |<app:app xmlns:b='urn:x' |" >"$WORK/u-urn.xml"
plain_with '$d' >"$WORK/u-unclosed.xml"
plain_with "s|<app:app xmlns:app=\"http://example.com/app/1.0\"|<app:app|" >"$WORK/u-unbound.xml"
for t in comment charref urn; do
	entry "$NOCTL" hk-entry prepare begin - <"$WORK/u-$t.xml"
	expect "entry: unsure ($t): handed on to cvmctl" 1 "cannot run"
	entry "$CVMCTL" hk-entry prepare begin - <"$WORK/u-$t.xml"
	expect "entry: unsure ($t), not opted in: prepare exits 0" 0
done
for t in unclosed unbound; do
	entry "$CVMCTL" hk-entry prepare begin - <"$WORK/u-$t.xml"
	expect "entry: malformed ($t), not opted in: prepare still refused" 1 "not well-formed"
done
# What the entry is sure of: decided without cvmctl, for every call.
for doc in plain wrong-namespace; do
	bad=0
	for call in "${CALLS[@]}"; do
		IFS=$'\t' read -r op subop extra <<<"$call"
		entry "$NOCTL" hk-entry "$op" "$subop" "$extra" <"$XML/$doc.xml"
		[ "$ST" = 0 ] && [ -z "$OUT$ERR" ] || bad=$((bad + 1))
	done
	if [ "$bad" = 0 ]; then ok "entry: $doc decided alone, every call exits 0, silent"; else not_ok "entry: $doc: $bad calls not decided alone"; fi
done
# The scanner against libxml2 on the recorded documents, mutated.
"$BUILD/tests/hook/scan-diff" --plain "$XML/plain.xml" --plain "$XML/wrong-namespace.xml" \
	"$XML/launch-security.xml" "$WORK/u-urn.xml" "$WORK/t-root-decl.xml"

# Speed against a live cvmd: libvirt waits for every call.
t0=$(now_ms)
secure_cycle hk-speed cvm-demand
hook hk-speed stopped end - cvm-demand
hook hk-speed release end - cvm-demand
t=$(($(now_ms) - t0))
if [ "$t" -le 3000 ]; then ok "a whole start/stop cycle: $t ms"; else not_ok "a whole start/stop cycle took $t ms"; fi
is "nothing of this suite is left in cvmd" "$(ctl --json list | jq length)" 0

finish

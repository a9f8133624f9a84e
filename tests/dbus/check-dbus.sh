#!/bin/bash
# check-dbus.sh BUILD - cvmd's D-Bus API on a real, private dbus-daemon,
# driven with busctl and dbus-send: every operation, the refused table
# cells as D-Bus error names, properties and signals, objects appearing
# and disappearing, bad input, and access without polkit.
BUILD=${1:?usage: check-dbus.sh BUILD}
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"

BUS=unix:path=$WORK/bus
dbus-daemon --config-file="$here/test-bus.conf" --address="$BUS" --nofork \
	--nopidfile 2>"$WORK/dbus.log" &
DBUS_PID=$!
trap 'kill $MON_PID $DBUS_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do [ -S "$WORK/bus" ] && break; sleep 0.05; done
export DBUS_SYSTEM_BUS_ADDRESS=$BUS

# Every signal cvmd sends, from the start.
dbus-monitor --address "$BUS" "type='signal',sender='org.cvm.Manager1'" \
	>"$WORK/signals" 2>&1 &
MON_PID=$!
start_cvmd --bus system || { not_ok "cvmd starts on the bus"; exit 1; }
for _ in $(seq 1 100); do
	busctl --address="$BUS" status org.cvm.Manager1 >/dev/null 2>&1 && break
	sleep 0.05
done

B() { busctl --address="$BUS" "$@"; }
M() { B call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 "$@"; }
V() { local vm=$1; shift; B call org.cvm.Manager1 "/org/cvm/Manager1/vm/$vm" org.cvm.VM1 "$@"; }
P() { B get-property org.cvm.Manager1 "/org/cvm/Manager1/vm/$1" org.cvm.VM1 "$2"; }
# The D-Bus error name of a call (dbus-send prints it), or "ok".
err_of() { # PATH METHOD [ARGS...]
	local path=$1 method=$2 out
	shift 2
	out=$(dbus-send --bus="$BUS" --print-reply --dest=org.cvm.Manager1 \
		"$path" "$method" "$@" 2>&1) && { echo ok; return; }
	echo "$out" | sed -n 's/^Error \([^:]*\):.*/\1/p'
}
is() { # DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}

is "Manager1: Backend property" "$(B get-property org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 Backend)" 's "sim"'
is "CreateVM returns the VM's object path" "$(M CreateVM stts web1 1048576 0 demand)" 'o "/org/cvm/Manager1/vm/web1"'
is "GetVM finds it" "$(M GetVM s web1)" 'o "/org/cvm/Manager1/vm/web1"'
is "ListVMs lists it" "$(M ListVMs)" 'a(sso) 1 "web1" "normal" "/org/cvm/Manager1/vm/web1"'
check "the VM's object is in the tree" sh -c "busctl --address='$BUS' tree org.cvm.Manager1 | grep -q /org/cvm/Manager1/vm/web1"
is "State property" "$(P web1 State)" 's "normal"'
is "MemoryBytes property" "$(P web1 MemoryBytes)" "t 1048576"
is "NormalPages property" "$(P web1 NormalPages)" "t 256"
is "VMCount property" "$(B get-property org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 VMCount)" "u 1"

# Refused cells of the lifecycle table, as error names.
VMP=/org/cvm/Manager1/vm/web1
is "normal x InitDone: NotStarted" "$(err_of $VMP org.cvm.VM1.InitDone)" org.cvm.Error.NotStarted
is "normal x InitAbort: NotStarted" "$(err_of $VMP org.cvm.VM1.InitAbort)" org.cvm.Error.NotStarted
is "normal x PageIn: NotStarted" "$(err_of $VMP org.cvm.VM1.PageIn uint64:0 boolean:false)" org.cvm.Error.NotStarted
msg=$(dbus-send --bus="$BUS" --print-reply --dest=org.cvm.Manager1 $VMP org.cvm.VM1.InitDone 2>&1)
case $msg in *"InitDone 'web1' refused: VM is normal (INIT_START has not run)"*) ok "error message names the VM, state and operation" ;;
*) not_ok "error message: $msg" ;; esac
is "InitStart" "$(err_of $VMP org.cvm.VM1.InitStart)" ok
is "transient x InitStart: InvalidState" "$(err_of $VMP org.cvm.VM1.InitStart)" org.cvm.Error.InvalidState
is "GuestWrite" "$(V web1 GuestWrite tay 4096 6 115 101 99 114 101 116)" ""
is "PageIn" "$(V web1 PageIn tb 4096 false)" ""
is "secure x PageIn: InvalidState" "$(err_of $VMP org.cvm.VM1.PageIn uint64:4096 boolean:false)" org.cvm.Error.InvalidState
is "GuestRead: the guest's data" "$(V web1 GuestRead tu 4096 6)" "ay 6 115 101 99 114 101 116"
is "HostRead: zeros" "$(V web1 HostRead tu 4096 6)" "ay 6 0 0 0 0 0 0"
is "PageOut" "$(V web1 PageOut t 4096)" ""
is "SecurePagedOutPages property" "$(P web1 SecurePagedOutPages)" "t 1"
is "Share" "$(V web1 Share tt 8192 2)" ""
is "SharedPages property" "$(P web1 SharedPages)" "t 2"
is "DmaShare" "$(V web1 DmaShare tt 8192 1)" ""
is "DMA-shared x Unshare: Busy" "$(err_of $VMP org.cvm.VM1.Unshare uint64:8192 uint64:1)" org.cvm.Error.Busy
is "DmaUnshare" "$(V web1 DmaUnshare tt 8192 1)" ""
is "Unshare" "$(V web1 Unshare tt 8192 2)" ""
is "out of range: OutOfRange" "$(err_of $VMP org.cvm.VM1.PageOut uint64:1073741824)" org.cvm.Error.OutOfRange
is "unaligned: InvalidArgs" "$(err_of $VMP org.cvm.VM1.PageOut uint64:4097)" org.cvm.Error.InvalidArgs
is "InitDone" "$(err_of $VMP org.cvm.VM1.InitDone)" ok
is "State property: secure" "$(P web1 State)" 's "secure"'
case $(P web1 Measurement) in "ay 32 "*) ok "Measurement property: 32 bytes once sealed" ;; *) not_ok "Measurement: $(P web1 Measurement)" ;; esac
is "secure x InitAbort: InvalidState" "$(err_of $VMP org.cvm.VM1.InitAbort)" org.cvm.Error.InvalidState
snap=$(V web1 Snapshot)
# runs: GFN 0 untouched, 1 paged out, 2-3 unshared (resident), 4-255 untouched
is "Snapshot: runs of equal state, not one entry per page" "$snap" \
	"a(ttybbbu) 4 0 1 2 false false false 0 1 1 2 true false true 0 2 2 2 false true true 0 4 252 2 false false false 0"
is "Terminate" "$(err_of $VMP org.cvm.VM1.Terminate)" ok
is "CreateVM of a taken name: Exists" "$(err_of /org/cvm/Manager1 org.cvm.Manager1.CreateVM string:web1 uint64:4096 uint64:0 string:demand)" org.cvm.Error.Exists
is "GetVM of no VM: NotFound" "$(err_of /org/cvm/Manager1 org.cvm.Manager1.GetVM string:nosuch)" org.cvm.Error.NotFound

# Bad input: wrong signatures, huge arrays, unknown paths.
is "wrong signature" "$(err_of $VMP org.cvm.VM1.PageOut string:x)" org.freedesktop.DBus.Error.InvalidArgs
is "missing arguments" "$(err_of /org/cvm/Manager1 org.cvm.Manager1.CreateVM string:x)" org.freedesktop.DBus.Error.InvalidArgs
is "bad pin mode" "$(err_of /org/cvm/Manager1 org.cvm.Manager1.CreateVM string:x uint64:4096 uint64:0 string:sometimes)" org.cvm.Error.InvalidArgs
is "a 2 MiB GuestWrite: InvalidArgs" "$("$BUILD/tests/dbus/bus-big-write" "$BUS" $VMP $((2 << 20)))" org.cvm.Error.InvalidArgs
is "a 1 MiB GuestWrite is fine" "$("$BUILD/tests/dbus/bus-big-write" "$BUS" $VMP $((1 << 20)))" ok
is "an empty GuestWrite: InvalidArgs" "$("$BUILD/tests/dbus/bus-big-write" "$BUS" $VMP 0)" org.cvm.Error.InvalidArgs
is "unknown VM path" "$(err_of /org/cvm/Manager1/vm/ghost org.cvm.VM1.InitStart)" org.freedesktop.DBus.Error.UnknownObject
is "unknown method" "$(err_of $VMP org.cvm.VM1.Explode)" org.freedesktop.DBus.Error.UnknownMethod

# A VM being destroyed: calls racing the destroy get answers, not a crash.
M CreateVM stts doomed 4096 0 demand >/dev/null
DP=/org/cvm/Manager1/vm/doomed
err_of /org/cvm/Manager1 org.cvm.Manager1.DestroyVM string:doomed >"$WORK/race.0" &
racers=$!
for i in 1 2 3 4 5; do
	err_of $DP org.cvm.VM1.InitStart >"$WORK/race.$i" &
	racers="$racers $!"
done
# shellcheck disable=SC2086
wait $racers
is "the destroy itself succeeds" "$(cat "$WORK/race.0")" ok
bad=$(cat "$WORK"/race.[1-5] | grep -cvE '^(ok|org\.cvm\.Error\.(InvalidState|NotFound|Unavailable)|org\.freedesktop\.DBus\.Error\.UnknownObject)$')
is "calls racing the destroy: each ok or a clean error" "$bad" 0
is "after the destroy: the object is gone" "$(err_of $DP org.cvm.VM1.InitStart)" org.freedesktop.DBus.Error.UnknownObject
# A caller that leaves before cvmd looks at it is refused, not trusted.
dbus-send --bus="$BUS" --dest=org.cvm.Manager1 $VMP org.cvm.VM1.InitStart
sleep 0.2
is "a vanished caller's call is not applied" "$(P web1 State)" 's "normal"'
check "cvmd alive after the bad input" kill -0 "$CVMD_PID"

# Access without polkit on this bus: reads open, mutations denied.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "non-root: a property read works" as_nobody busctl --address="$BUS" get-property org.cvm.Manager1 $VMP org.cvm.VM1 State
check "non-root: ListVMs works" as_nobody busctl --address="$BUS" call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 ListVMs
out=$(as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.cvm.Manager1 $VMP org.cvm.VM1.InitStart 2>&1)
case $out in *org.cvm.Error.AccessDenied*) ok "non-root: InitStart denied (no polkit to ask)" ;; *) not_ok "non-root InitStart: $out" ;; esac
is "non-root: state unchanged" "$(P web1 State)" 's "normal"'
out=$(as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.cvm.Manager1 $VMP org.cvm.VM1.GuestRead uint64:0 uint32:4 2>&1)
case $out in *org.cvm.Error.AccessDenied*) ok "non-root: GuestRead denied" ;; *) not_ok "non-root GuestRead: $out" ;; esac

# What was served is what is shipped.
for i in Manager1 VM1; do
	path=/org/cvm/Manager1
	[ $i = VM1 ] && path=$VMP
	B introspect --xml-interface org.cvm.Manager1 $path | $PY "$here/extract-iface.py" org.cvm.$i >"$WORK/$i.xml"
	check "introspection of org.cvm.$i matches systemd/org.cvm.$i.xml" diff -u "$here/../../systemd/org.cvm.$i.xml" "$WORK/$i.xml"
done

# Signals seen since the start.
M DestroyVM s web1 >/dev/null
sleep 0.3
kill $MON_PID 2>/dev/null
sig() { grep -A6 "member=$1" "$WORK/signals" | tr -s ' \n' ' '; }
case $(sig StateChanged) in *'"web1" string "normal" string "transient" string "init-start"'*) ok "StateChanged(web1, normal, transient, init-start)" ;;
*) not_ok "no StateChanged for init-start" ;; esac
case $(sig StateChanged) in *'"web1" string "transient" string "secure" string "init-done"'*) ok "StateChanged(web1, transient, secure, init-done)" ;;
*) not_ok "no StateChanged for init-done" ;; esac
check "PropertiesChanged for the VM's State" grep -q 'string "State"' "$WORK/signals"
check "PropertiesChanged for page counts" grep -q 'string "SecurePagedOutPages"' "$WORK/signals"
check "InterfacesAdded on create" sh -c "grep -A1 'member=InterfacesAdded' '$WORK/signals' | grep -q 'vm/web1'"
check "InterfacesRemoved on destroy" sh -c "grep -A1 'member=InterfacesRemoved' '$WORK/signals' | grep -q 'vm/web1'"
is "objects gone with the VMs" "$(M ListVMs)" "a(sso) 0"

# --- calls in flight per sender: bounded ---
stop_cvmd
start_cvmd --bus system --set max_bus_calls_per_sender=4 || not_ok "cvmd restarts"
for _ in $(seq 1 100); do
	busctl --address="$BUS" status org.cvm.Manager1 >/dev/null 2>&1 && break
	sleep 0.05
done
ctl create fl --memory 16M >/dev/null
FLP=$(M GetVM s fl | awk '{print $2}' | tr -d '"')
vmm=$(ctl --json show fl | jq -r .vmm_pid)
kill -STOP "$vmm"	# its calls stay in flight
is "10 calls in flight from one sender over a cap of 4: 6 refused with Limit" \
	"$("$BUILD/tests/dbus/bus-flood" "$BUS" "$FLP" 10)" "limit=6 ok=0 other=0 pending=4"
is "other senders are not limited by it" "$(M ListVMs | cut -d' ' -f1-2)" "a(sso) 1"
# GetVM is answered from cvmd's record, not by the (stopped) VMM.
is "GetVM answers while its VMM is stopped" \
	"$(B --timeout=2 call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 GetVM s fl 2>&1)" \
	"o \"$FLP\""
kill -CONT "$vmm"
sleep 0.5
is "once answered, the sender's calls are counted back" \
	"$("$BUILD/tests/dbus/bus-flood" "$BUS" "$FLP" 4)" "limit=0 ok=4 other=0 pending=0"
check "the refusals are counted" [ "$(ctl --json status | jq -r .refused_bus_calls)" -ge 6 ]
ctl destroy fl >/dev/null

# --- a snapshot the VMM sends in several frames: one D-Bus reply ---
# The test build's VMM takes a lowered frame cap from the environment, so
# 301 runs span several frames.
stop_cvmd
VMM=$BUILD/asan/daemon/cvm-vmm CVMD_TEST_FRAME_MAX=1024 start_cvmd --bus system ||
	not_ok "cvmd restarts"
for _ in $(seq 1 100); do
	busctl --address="$BUS" status org.cvm.Manager1 >/dev/null 2>&1 && break
	sleep 0.05
done
ctl create sn --memory 4M >/dev/null
ctl init-start sn >/dev/null
for i in $(seq 0 149); do ctl page-in sn $(((16 + 2 * i) * 4096)) --shared >/dev/null; done
snap=$(B --json=short call org.cvm.Manager1 /org/cvm/Manager1/vm/sn org.cvm.VM1 Snapshot)
is "Snapshot in several VMM frames: one reply with all 301 runs" "$(echo "$snap" | jq '.data[0] | length')" 301
is "Snapshot in several VMM frames: the runs cover the VM's 1024 pages" \
	"$(echo "$snap" | jq '[.data[0][][1]] | add')" 1024
is "Snapshot in several VMM frames: the same runs as cvmctl's" \
	"$(echo "$snap" | jq -c '[.data[0][] | [.[0], .[1], .[2]]]')" \
	"$(ctl --json snapshot sn | jq -c '[.[] | [.gfn, .nr_pages, (if .state == "normal" then 0 elif .state == "shared" then 1 else 2 end)]]')"
ctl destroy sn >/dev/null
finish

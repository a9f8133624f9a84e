#!/bin/bash
# scenario.sh BUILD BACKEND - the scenario suite, driven only through
# cvmctl against a real cvmd: every cell of both tables, the
# confidentiality contract, the memlock limit, the launch measurement,
# JSON shapes and exit codes. Runs against sim on the host and against
# kmod in the QEMU guest, with the same expectations.
# CVM_SCENARIO_NO_TABLES=1 skips the two tables' cells (the debug kernel's
# run, where cvm-ktest's table group covers every cell in the same boot and
# each cvmctl call costs seconds).
BUILD=${1:?usage: scenario.sh BUILD BACKEND}
BACKEND=${2:?usage: scenario.sh BUILD BACKEND}
. "$(dirname "$0")/lib.sh"

start_cvmd || { not_ok "cvmd starts"; exit 1; }
ok "cvmd starts on the $BACKEND backend"
jq_is "status names the backend" "$(ctl --json status)" .backend "$BACKEND"

state_of() { ctl --json show "$1" | jq -r .state; }

# One GFN's state from the page counts of a one-page VM.
gfn_of() {
	ctl --json show "$1" | jq -r '
		if .pages.secure_paged_out == 1 then "paged-out"
		elif .pages.secure == 1 then "secure"
		elif .pages.shared == 1 then "shared"
		elif .pages.normal == 1 then "normal" else "bad" end'
}

vm_in_state() { # NAME STATE
	ctl create "$1" --memory 4K >/dev/null || return 1
	case $2 in
	transient) ctl init-start "$1" >/dev/null ;;
	secure) ctl init-start "$1" >/dev/null && ctl init-done "$1" >/dev/null ;;
	esac
}

if [ -z "${CVM_SCENARIO_NO_TABLES:-}" ]; then
# --- the VM lifecycle table, cell by cell (DESIGN §2) ---
lifecycle_cell() { # FROM OP EXIT TO
	local vm=lc-$1-$2
	vm_in_state "$vm" "$1" || { not_ok "setup $vm"; return; }
	expect_exit "$3" "vm $1 x $2" "$2" "$vm"
	local got
	got=$(state_of "$vm")
	if [ "$got" = "$4" ]; then ok "vm $1 x $2 -> $4"; else not_ok "vm $1 x $2: state $got, want $4"; fi
	if [ "$3" = 1 ]; then
		case $ERR in
		*"$2 '$vm' refused: VM is $1"*) ok "vm $1 x $2: message names VM, state and operation" ;;
		*) not_ok "vm $1 x $2: message: $ERR" ;;
		esac
	fi
	ctl destroy "$vm" >/dev/null
}
lifecycle_cell normal init-start 0 transient
lifecycle_cell normal init-done 1 normal
lifecycle_cell normal init-abort 1 normal
lifecycle_cell normal terminate 0 normal
lifecycle_cell secure init-start 1 secure
lifecycle_cell secure init-done 1 secure
lifecycle_cell secure init-abort 1 secure
lifecycle_cell secure terminate 0 normal
lifecycle_cell transient init-start 1 transient
lifecycle_cell transient init-done 0 secure
lifecycle_cell transient init-abort 0 normal
lifecycle_cell transient terminate 0 normal

# Page operations in a normal VM: "not started".
vm_in_state ns normal
for op in "page-in ns 0" "page-out ns 0" "share ns 0" "unshare ns 0"; do
	# shellcheck disable=SC2086
	expect_exit 1 "normal VM: $op refused" $op
	case $ERR in *"INIT_START has not run"*) ok "normal VM: $op says not started" ;;
	*) not_ok "normal VM: $op: $ERR" ;; esac
done
ctl destroy ns >/dev/null

# --- the GFN table, cell by cell (DESIGN §3), on one-page VMs ---
gfn_setup() { # NAME STATE
	vm_in_state "$1" transient || return 1
	case $2 in
	shared) ctl share "$1" 0 >/dev/null ;;
	secure) ctl page-in "$1" 0 >/dev/null ;;
	paged-out) ctl page-in "$1" 0 >/dev/null && ctl page-out "$1" 0 >/dev/null ;;
	esac
}
gfn_cell() { # FROM "OP ARGS" EXIT TO
	local vm=g-$1-${2%% *}${2#* } got op
	op=$(echo $2)
	vm=${vm// /}
	vm=${vm//--/}
	gfn_setup "$vm" "$1" || { not_ok "setup $vm"; return; }
	got=$(gfn_of "$vm")
	[ "$got" = "$1" ] || not_ok "setup $vm: gfn is $got"
	# shellcheck disable=SC2086
	case $2 in
	init-abort|terminate|init-done) expect_exit "$3" "gfn $1 x $op" $2 "$vm" ;;
	*) expect_exit "$3" "gfn $1 x $op" ${2%% *} "$vm" 0 ${2#* } ;;
	esac
	got=$(gfn_of "$vm")
	if [ "$got" = "$4" ]; then ok "gfn $1 x $op -> $4"; else not_ok "gfn $1 x $op: $got, want $4"; fi
	ctl destroy "$vm" >/dev/null
}
for from in secure paged-out shared normal; do
	case $from in
	secure) share=shared unshare=secure drop=normal done=secure pin=1 pin_to=secure pout=0 pout_to=paged-out ;;
	paged-out) share=shared unshare=paged-out drop=normal done=paged-out pin=0 pin_to=secure pout=1 pout_to=paged-out ;;
	shared) share=shared unshare=secure drop=normal done=shared pin=0 pin_to=secure pout=1 pout_to=shared ;;
	normal) share=shared unshare=secure drop=normal done=secure pin=0 pin_to=secure pout=1 pout_to=normal ;;
	esac
	gfn_cell $from "share " 0 $share
	gfn_cell $from "unshare " 0 $unshare
	gfn_cell $from init-abort 0 $drop
	gfn_cell $from terminate 0 $drop
	gfn_cell $from init-done 0 $done
	gfn_cell $from "page-in " $pin $pin_to
	gfn_cell $from "page-in --shared" 0 shared
	gfn_cell $from "page-out " $pout $pout_to
done
else
	echo "# tables skipped (CVM_SCENARIO_NO_TABLES)"
fi

# --- the confidentiality contract (DESIGN §3): guest view vs host view ---
ctl create conf --memory 1M >/dev/null && ctl init-start conf >/dev/null
secret="top secret $(date +%s%N)"
len=${#secret}
zeros=$(head -c "$len" /dev/zero | od -An -tx1 | tr -d ' \n')
hex() { od -An -tx1 | tr -d ' \n'; }
ctl guest-write conf 0x3000 --data "$secret" >/dev/null
check "normal: guest reads its data" [ "$(ctl guest-read conf 0x3000 --length "$len")" = "$secret" ]
check "normal: host reads the data" [ "$(ctl host-read conf 0x3000 --length "$len")" = "$secret" ]
ctl share conf 0x5000 >/dev/null && ctl guest-write conf 0x5000 --data "$secret" >/dev/null
check "shared: guest reads its data" [ "$(ctl guest-read conf 0x5000 --length "$len")" = "$secret" ]
check "shared: host reads the data" [ "$(ctl host-read conf 0x5000 --length "$len")" = "$secret" ]
ctl page-in conf 0x3000 >/dev/null
check "secure resident: guest reads its data" [ "$(ctl guest-read conf 0x3000 --length "$len")" = "$secret" ]
check "secure resident: host reads zeros" [ "$(ctl host-read conf 0x3000 --length "$len" | hex)" = "$zeros" ]
ctl page-out conf 0x3000 >/dev/null
h=$(ctl host-read conf 0x3000 --length "$len" | hex)
check "secure paged out: host reads neither the data nor zeros" \
	[ "$h" != "$zeros" -a "$h" != "$(printf '%s' "$secret" | hex)" ]
check "secure paged out: guest reads its data" [ "$(ctl guest-read conf 0x3000 --length "$len")" = "$secret" ]
ctl share conf 0x3000 >/dev/null
check "secure -> shared: guest reads zeros" [ "$(ctl guest-read conf 0x3000 --length "$len" | hex)" = "$zeros" ]
check "secure -> shared: host reads zeros" [ "$(ctl host-read conf 0x3000 --length "$len" | hex)" = "$zeros" ]
ctl guest-write conf 0x7000 --data "$secret" >/dev/null && ctl page-in conf 0x7000 >/dev/null
ctl terminate conf >/dev/null
check "terminate: host page reads zeros" [ "$(ctl host-read conf 0x7000 --length "$len" | hex)" = "$zeros" ]
OUT=$(ctl --json guest-read conf 0x10 --length 4)
jq_is "guest-read --json: gpa" "$OUT" .gpa 16
jq_is "guest-read --json: length" "$OUT" .length 4
jq_is "guest-read --json: data is base64" "$OUT" .data AAAAAA==
jq_is "snapshot --json: runs cover the VM once, in order, fewer than its pages" \
	"$(ctl --json snapshot conf)" \
	'(map(.nr_pages) | add) == 256 and .[0].gfn == 0 and length < 256 and ([range(1; length) as $i | .[$i].gfn == .[$i - 1].gfn + .[$i - 1].nr_pages] | all)' true
ctl destroy conf >/dev/null

# --- the launch measurement: the same on every backend ---
ctl create meas --memory 64K >/dev/null && ctl init-start meas >/dev/null
ctl guest-write meas 0x2000 --data "kernel" >/dev/null
ctl guest-write meas 0x0 --data "initrd" >/dev/null
ctl page-in meas 0x2000 >/dev/null
ctl init-done meas >/dev/null
want=$($PY - <<'PY'
import hashlib, struct
h = hashlib.sha256()
for gpa, data in ((0x2000, b"kernel"), (0x0, b"initrd")):
	h.update(struct.pack("<Q", gpa) + data + bytes(4096 - len(data)))
print(h.hexdigest())
PY
)
OUT=$(ctl --json show meas)
jq_is "measurement: SHA-256 of (GPA, page) in order, sealed at init-done" "$OUT" .measurement "$want"
jq_is "measurement: pages counted" "$OUT" .measured_pages 2
ctl destroy meas >/dev/null
# Upfront pinning pins every page; the measurement covers what the guest
# touched all the same.
ctl create meas-up --memory 64K --pin upfront >/dev/null && ctl init-start meas-up >/dev/null
ctl guest-write meas-up 0x2000 --data "kernel" >/dev/null
ctl guest-write meas-up 0x0 --data "initrd" >/dev/null
ctl page-in meas-up 0x2000 >/dev/null
ctl init-done meas-up >/dev/null
OUT=$(ctl --json show meas-up)
jq_is "measurement: the same with upfront pinning" "$OUT" .measurement "$want"
jq_is "upfront: every page pinned" "$OUT" .pinned_pages 16
ctl destroy meas-up >/dev/null

# --- the memlock limit, reached through guest-write ---
ctl create lim --memory 1M --memlock-limit 64K >/dev/null
for i in $(seq 0 15); do ctl guest-write lim $((i * 4096)) --data x >/dev/null || break; done
jq_is "memlock: 16 pages pinned under a 64 KiB limit" "$(ctl --json show lim)" .pinned_pages 16
expect_exit 1 "memlock: the 17th page is refused" guest-write lim 0x10000 --data x
case $ERR in *"'lim' refused"*"memlock"*) ok "memlock: the message says why" ;; *) not_ok "memlock message: $ERR" ;; esac
jq_is "memlock: still 16 pages pinned" "$(ctl --json show lim)" .pinned_pages 16
ctl destroy lim >/dev/null

# --- the watch stream: events of one VM, as they happen ---
ctl create ev --memory 4K >/dev/null
"$CVMCTL" -c "unix:$SOCK" --json events ev >"$WORK/events" 2>&1 &
ev_pid=$!
# The watch must be in place before the transitions (a loaded CI machine).
sleep 1
ctl init-start ev >/dev/null
ctl init-done ev >/dev/null 2>&1
ctl init-done ev >/dev/null 2>&1
for _ in $(seq 1 50); do [ "$(wc -l <"$WORK/events")" -ge 3 ] && break; sleep 0.1; done
kill -INT $ev_pid 2>/dev/null
wait $ev_pid 2>/dev/null
jq_is "events: init-start seen as normal -> transient" "$(sed -n 1p "$WORK/events")" \
	'[.vm, .kind, .from, .to, .operation] | join(" ")' "ev state normal transient init-start"
jq_is "events: init-done seen as transient -> secure" "$(sed -n 2p "$WORK/events")" \
	'[.kind, .from, .to] | join(" ")' "state transient secure"
jq_is "events: the refused init-done is an error event" "$(sed -n 3p "$WORK/events")" \
	'[.kind, .operation] | join(" ")' "error init-done"
ctl destroy ev >/dev/null

# --- JSON shapes and exit codes ---
ctl create shape --memory 8M >/dev/null
OUT=$(ctl --json show shape)
jq_is "show --json: every field of DESIGN §7" "$OUT" \
	'[.name, .uuid, .state, .memory_bytes, .pages.normal, .pages.shared, .pages.secure, .pages.secure_paged_out, .pinned_pages, .memlock_limit_bytes, .dma_shared_pages] | map(type) | join(",")' \
	"string,string,string,number,number,number,number,number,number,number,number"
jq_is "show --json: pages add up to memory" "$OUT" '.pages.normal + .pages.shared + .pages.secure == .memory_bytes / 4096' true
jq_is "list --json: an array with the VM" "$(ctl --json list)" '[.[] | select(.name == "shape")] | length' 1
jq_is "status --json: VM count" "$(ctl --json status)" .vms 1
jq_is "snapshot --json: an untouched 8 MiB VM is one run" "$(ctl --json snapshot shape)" \
	'[length, .[0].gfn, .[0].nr_pages, .[0].state, .[0].pinned] | map(tostring) | join(" ")' "1 0 2048 normal false"
expect_exit 2 "usage: unaligned GPA" page-in shape 0x1001
expect_exit 2 "usage: unknown command" frobnicate
expect_exit 2 "usage: SIZE garbage" create x --memory 12Q
expect_exit 1 "refused: no such VM" show nosuch
expect_exit 1 "refused: name taken" create shape --memory 4K
expect_exit 1 "refused: GPA out of range" page-in shape 0x800000
OUT=$("$CVMCTL" -c "unix:$WORK/none.sock" status 2>&1)
check "exit 3: daemon unreachable" [ $? -eq 3 ]
ctl destroy shape >/dev/null
jq_is "everything destroyed" "$(ctl --json list)" length 0

# --- a new user's first run: finding the VMM, saying why it won't start ---
# Another cvmd beside the suite's, under $STATE/ (cleanup ends its VMMs);
# ctl, expect_exit and jq_is talk to it while SOCK names its socket.
MAIN_SOCK=$SOCK
ALT_PID=
start_alt() { # DIR CVMD [ARGS...]
	local dir=$1 bin=$2 i
	shift 2
	mkdir -p "$dir"
	SOCK=$dir/cvmd.sock
	"$bin" --backend "$BACKEND" --socket "$SOCK" --state-dir "$dir" \
		--config /dev/null --bus none --set libvirt_uri=none \
		--set sim_pool=16M "$@" 2>"$dir/log" &
	ALT_PID=$!
	for i in $(seq 1 200); do
		ctl status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
stop_alt() {
	kill -TERM "$ALT_PID" 2>/dev/null
	wait "$ALT_PID" 2>/dev/null
	SOCK=$MAIN_SOCK
}
vmm_exe_of() { readlink "/proc/$(ctl --json show "$1" | jq -r .vmm_pid)/exe"; }

# Without --vmm (and no vmm key): the cvm-vmm beside cvmd's executable.
if start_alt "$STATE/novmm" "$CVMD"; then
	expect_exit 0 "cvmd without --vmm, from the build dir: create" create first --memory 4M
	check "cvmd without --vmm: the VM runs the cvm-vmm beside cvmd" \
		[ "$(vmm_exe_of first)" = "$(readlink -f "$VMM")" ]
	ctl destroy first >/dev/null
else
	not_ok "cvmd without --vmm starts: $(cat "$STATE/novmm/log")"
fi
stop_alt
# An installed layout: PREFIX/sbin/cvmd finds PREFIX/libexec/cvm/cvm-vmm.
prefix=$STATE/prefix
mkdir -p "$prefix/sbin" "$prefix/libexec/cvm"
cp "$CVMD" "$prefix/sbin/cvmd" && cp "$VMM" "$prefix/libexec/cvm/cvm-vmm"
if start_alt "$STATE/installed" "$prefix/sbin/cvmd"; then
	expect_exit 0 "installed cvmd without --vmm: create" create inst --memory 4M
	check "installed cvmd: the VM runs PREFIX/libexec/cvm/cvm-vmm" \
		[ "$(vmm_exe_of inst)" = "$(readlink -f "$prefix/libexec/cvm/cvm-vmm")" ]
	ctl destroy inst >/dev/null
else
	not_ok "installed cvmd starts: $(cat "$STATE/installed/log")"
fi
stop_alt

# A VMM that cannot start: the message names the file and the reason, and
# nothing is left behind.
if start_alt "$STATE/badvmm" "$CVMD" --vmm /nonexistent/cvm-vmm; then
	before=$(ctl --json status | jq -r .vms)
	expect_exit 1 "missing VMM: create refused" create ghost --memory 4M
	case $ERR in
	*"create 'ghost' refused: cannot start the VMM /nonexistent/cvm-vmm: No such file or directory"*)
		ok "missing VMM: the message names the file and why" ;;
	*) not_ok "missing VMM: message: $ERR" ;;
	esac
	jq_is "missing VMM: --json carries the same message" \
		"$(ctl --json create ghost --memory 4M 2>/dev/null)" .error.message \
		"cannot start the VMM /nonexistent/cvm-vmm: No such file or directory"
	jq_is "missing VMM: no record left" "$(ctl --json list)" length 0
	jq_is "missing VMM: VM count unchanged" "$(ctl --json status)" .vms "$before"
	expect_exit 1 "missing VMM: the name is free again (same refusal)" create ghost --memory 4M
	case $ERR in *"cannot start the VMM"*) ok "missing VMM: not 'name taken'" ;;
	*) not_ok "missing VMM: retry: $ERR" ;; esac
else
	not_ok "cvmd with a missing VMM starts: $(cat "$STATE/badvmm/log")"
fi
stop_alt

# --- sim: each VM's VMM has its own pool; status sums them ---
if [ "$BACKEND" = sim ]; then
	OUT=$(ctl --json status)
	jq_is "sim pool, no VMs: per-VM size (16M)" "$OUT" .pool_pages_per_vm 4096
	jq_is "sim pool, no VMs: no pool" "$OUT" '[.pool_vms, .pool_total_pages, .pool_free_pages] | join(" ")' "0 0 0"
	for v in p1 p2 p3; do ctl create $v --memory 1M >/dev/null; done
	ctl init-start p1 >/dev/null && ctl page-in p1 0 >/dev/null && ctl page-in p1 0x1000 >/dev/null
	OUT=$(ctl --json status)
	jq_is "sim pool, 3 VMs: summed" "$OUT" \
		'[.vms, .pool_vms, .pool_pages_per_vm, .pool_total_pages, .pool_free_pages] | join(" ")' \
		"3 3 4096 12288 12286"
	line=$(ctl status | grep '^secure pool:')
	case $line in
	*"per VM on the simulator: 3 VMs x 4096 pages (16 MiB) = 12288 pages, 12286 free") ok "sim pool: status says per VM and sums" ;;
	*) not_ok "sim pool: status says: $line" ;;
	esac
	# A failed VM has no VMM, hence no pool.
	kill -KILL "$(ctl --json show p3 | jq -r .vmm_pid)"
	for _ in $(seq 1 100); do [ "$(state_of p3)" = failed ] && break; sleep 0.05; done
	jq_is "sim pool: a failed VM's pool is not counted" "$(ctl --json status)" \
		'[.vms, .pool_vms, .pool_total_pages] | join(" ")' "3 2 8192"
	for v in p1 p2 p3; do ctl destroy $v >/dev/null; done

	# --- make run: no raw bytes from the host's view on the terminal ---
	nonprint() { LC_ALL=C grep -caP '[^\x20-\x7e\x1b\t]' "$1"; }
	for i in 1 2 3 4 5; do
		CVM_RUN_BACKEND=sim "$(dirname "$0")/../../client/walkthrough.sh" "$BUILD" >"$WORK/walk" 2>&1
		st=$?
		n=$(nonprint "$WORK/walk")
		if [ "$st" -eq 0 ] && [ "$n" -eq 0 ] && grep -q 'after page-out: .*host reads: [0-9a-f]*\.\.\. (hex)' "$WORK/walk"; then
			ok "walkthrough run $i: exit 0, ciphertext shown as hex, printable output"
		else
			not_ok "walkthrough run $i: exit $st, $n lines with non-printable bytes"
		fi
	done
	# A host view holding a newline between printable bytes and others
	# (as ciphertext may): a cvmctl whose host-read answers just that.
	fake=$WORK/fake-build
	mkdir -p "$fake/client"
	ln -s "$(cd "$BUILD" && pwd)/daemon" "$fake/daemon"
	cat >"$fake/client/cvmctl" <<-EOF
	#!/bin/bash
	for a; do [ "\$a" = host-read ] && { printf 'launch\n\001\200\377\033c\n'; exit 0; }; done
	exec "$CVMCTL" "\$@"
	EOF
	chmod +x "$fake/client/cvmctl"
	CVM_RUN_BACKEND=sim "$(dirname "$0")/../../client/walkthrough.sh" "$fake" >"$WORK/walk" 2>&1
	st=$?
	n=$(nonprint "$WORK/walk")
	if [ "$st" -eq 0 ] && [ "$n" -eq 0 ] &&
		grep -q 'host reads: 6c61756e63680a0180ff1b63\.\.\. (hex)' "$WORK/walk"; then
		ok "walkthrough: a host view with a newline is shown as hex, never raw"
	else
		not_ok "walkthrough with a newline in the host view: exit $st, $n bad lines"
	fi
fi

finish

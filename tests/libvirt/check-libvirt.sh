#!/bin/bash
# check-libvirt.sh BUILD - the hook and cvmd's reconciliation with a real
# libvirtd starting real (TCG) QEMU domains. Runs as root, and changes
# nothing on the host: the suite runs again in namespaces of its own with
# a libvirtd of its own (lib-libvirt.sh), and the host's /etc/libvirt,
# users and groups, libvirtd processes and domains, libvirt's directories
# and mounts, recorded before and after, are compared at the end.
BUILD=${1:?usage: check-libvirt.sh BUILD}
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/lib-libvirt.sh"

no_process_of() { ! pgrep -f "$1" >/dev/null; }

if [ -z "${CVM_LIBVIRT_HOST_MNTNS:-}" ]; then
	# On the host: record, run the suite isolated, compare.
	libvirt_host_state "$WORK/before"
	export CVM_LIBVIRT_OUTER=$WORK
	libvirt_isolate "$here/check-libvirt.sh" "$BUILD"
	st=$?
	libvirt_host_state "$WORK/after"
	libvirt_host_compare "$WORK/before" "$WORK/after" "$WORK/domains"
	inner=$(cat "$WORK/inner-work" 2>/dev/null)
	if [ -n "$inner" ]; then
		check "host: no process of the suite left" no_process_of "$inner"
		check "host: the suite's work directory is gone" [ ! -e "$inner" ]
	else
		not_ok "the suite ran in namespaces of its own"
	fi
	finish && [ "$st" -eq 0 ]
	exit
fi

# In the namespaces: the suite itself.
[ -z "${CVM_LIBVIRT_OUTER:-}" ] || echo "$WORK" >"$CVM_LIBVIRT_OUTER/inner-work"
trap 'libvirt_stop; cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
libvirt_setup || { not_ok "a libvirt of the suite's own (private namespaces, tmpfs)"; exit 1; }
ok "a libvirt of the suite's own: private namespaces, libvirt's $(libvirt_dirs | wc -w) directories on tmpfs"
libvirt_start || { not_ok "libvirtd starts"; exit 1; }
ok "libvirtd starts with the cvm hook installed"
start_cvmd --set libvirt_uri=qemu:///system || { not_ok "cvmd starts"; exit 1; }

OPT="<metadata><cvm:cvm xmlns:cvm='http://cvm.org/xmlns/libvirt/1.0' pin='demand'/></metadata>"
define() { # NAME MIB EXTRA
	domain_xml "$1" "$2" "$3" >"$WORK/$1.xml"
	libvirt_define "$1" "$WORK/$1.xml"
}
vm_state() { ctl --json show "$1" 2>/dev/null | jq -r .state; }
wait_gone() { # NAME: up to 10 s
	for _ in $(seq 1 100); do
		ctl show "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

# --- an opted-in domain: secure while it runs, gone when it stops ---
define sec1 64 "$OPT"
check "virsh start of an opted-in domain" V start sec1
OUT=$(ctl --json show sec1)
jq_is "the VM is secure" "$OUT" .state secure
jq_is "its launch measurement is sealed" "$OUT" '.measurement | length' 64
jq_is "libvirt owns it" "$OUT" .owner libvirt
jq_is "its memory is the domain's" "$OUT" .memory_bytes $((64 << 20))
check "virsh destroy" V destroy sec1
check "the VM is terminated and gone" wait_gone sec1

# --- a domain without opt-in never reaches cvmd ---
define plain 64 ""
stop_cvmd
check "with cvmd down, a domain without opt-in still starts" V start plain
V destroy plain >/dev/null
start_cvmd --set libvirt_uri=qemu:///system || not_ok "cvmd restarts"

# --- admission: refused, with our message, nothing left behind ---
define tight 64 "<metadata><cvm:cvm xmlns:cvm='http://cvm.org/xmlns/libvirt/1.0' pin='upfront' memlock-limit='1M'/></metadata>"
out=$(V start tight 2>&1); st=$?
check "admission: virsh start fails" [ $st -ne 0 ]
case $out in *"cvm: "*) ok "admission: virsh shows the hook's message" ;; *) not_ok "admission: $out" ;; esac
check "admission: no VM left" sh -c "! '$CVMCTL' -c unix:$SOCK show tight >/dev/null 2>&1"
check "admission: the domain is not running" [ "$(V domstate tight 2>/dev/null)" = "shut off" ]

# --- cvmd down: an opted-in start is refused quickly and clearly ---
define sec2 64 "$OPT"
stop_cvmd
t0=$(date +%s%N)
out=$(V start sec2 2>&1); st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "cvmd down: opted-in start refused" [ $st -ne 0 ]
case $out in *"cvm: "*"cvmd"*) ok "cvmd down: the message says cvmd is unreachable" ;; *) not_ok "cvmd down: $out" ;; esac
check "cvmd down: refused within the hook's timeout (${ms} ms)" [ $ms -lt 10000 ]
start_cvmd --set libvirt_uri=qemu:///system || not_ok "cvmd restarts"

# --- the domain's QEMU killed: cvmd cleans up from the libvirt event ---
check "start again" V start sec2
jq_is "sec2 is secure" "$(ctl --json show sec2)" .state secure
qpid=$(pgrep -f "qemu-system-x86_64.*-name guest=sec2" | head -1)
[ -n "$qpid" ] && kill -KILL "$qpid"
check "kill -9 of its QEMU: the VM is cleaned up" wait_gone sec2

# --- cvmd restarted while domains run: records reconciled ---
define sec3 64 "$OPT"
define sec4 64 "$OPT"
V start sec3 >/dev/null && V start sec4 >/dev/null
jq_is "two domains secure" "$(ctl --json list)" \
	'[.[] | select(.owner == "libvirt") | .state] | join(",")' "secure,secure"
stop_cvmd
V destroy sec3 >/dev/null 2>&1	# its hook can't reach cvmd: the record stays
start_cvmd --set libvirt_uri=qemu:///system || not_ok "cvmd restarts"
check "after restart: the record of the stopped domain is gone" wait_gone sec3
jq_is "after restart: the running domain's VM is kept, secure" "$(ctl --json show sec4)" .state secure
V destroy sec4 >/dev/null
check "and goes with its domain" wait_gone sec4
finish

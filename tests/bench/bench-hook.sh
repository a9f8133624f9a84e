#!/bin/bash
# bench-hook.sh BUILD - the libvirt hook's cost (prints figures; never
# passes or fails on time): one invocation for a domain that does not opt
# in next to /bin/true, through what libvirt runs (the installed entry,
# cvm-libvirt-hook) and through the full hook (cvmctl hook) it execs for
# the others; an opted-in prepare and stopped (p50/p99); and
# virsh start of the same domain with and without opt-in (median of 5).
# Like the libvirt suite, it runs in namespaces of its own with a libvirtd
# of its own (tests/libvirt/lib-libvirt.sh): the host is not touched.
BUILD=${1:?usage: bench-hook.sh BUILD}
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../libvirt/lib-libvirt.sh"
if [ -z "${CVM_LIBVIRT_HOST_MNTNS:-}" ]; then
	libvirt_isolate "$here/bench-hook.sh" "$@"
	exit
fi
. "$here/../integration/lib.sh"
N=${N:-200}

# Wall time of N runs of a command with stdin from a file, one per line,
# in microseconds (timed by python: no fork of date(1) in the figures).
times() { # STDIN-FILE COMMAND...
	$PY - "$N" "$@" <<'PYEOF'
import subprocess, sys, time
n, stdin, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
for _ in range(n):
	with open(stdin, "rb") as f:
		t0 = time.perf_counter_ns()
		subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL,
			       stderr=subprocess.DEVNULL)
		print((time.perf_counter_ns() - t0) // 1000)
PYEOF
}
stats() { sort -n | awk '{a[NR]=$1} END {printf "p50 %8.0f us  p99 %8.0f us  (n=%d)", a[int(NR*0.5)+1], a[int(NR*0.99)+1], NR}'; }
p50() { sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.5)+1]}'; }

trap 'libvirt_stop; cleanup' EXIT
start_cvmd --set libvirt_uri=none || exit 1
KERNEL=$(ls /boot/vmlinuz-* | sort -V | tail -1)
domain_xml plain 64 "" >"$WORK/plain.xml"
domain_xml opted 64 "<metadata><cvm:cvm xmlns:cvm='http://cvm.org/xmlns/libvirt/1.0'/></metadata>" >"$WORK/opted.xml"
HOOK_CMD=("$CVMCTL" -c "unix:$SOCK" hook qemu)

# What libvirt runs: the entry, with the environment it gets (the entry
# execs $CVMCTL for the documents it hands on).
ENTRY=$BUILD/client/cvm-libvirt-hook
export CVMCTL CVM_CONNECT="unix:$SOCK"
p99() { sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.99)+1]}'; }

echo "# bench-hook: load average $(cut -d' ' -f1-3 /proc/loadavg), $N runs per series"
# Interleaved in rounds of 20, so a slow spell of the machine falls on all.
: >"$WORK/true"; : >"$WORK/entry"; : >"$WORK/plain"
for ((round = 0; round < N / 20; round++)); do
	N=20 times /dev/null /bin/true >>"$WORK/true"
	N=20 times "$WORK/plain.xml" "$ENTRY" plain prepare begin - >>"$WORK/entry"
	N=20 times "$WORK/plain.xml" "${HOOK_CMD[@]}" plain prepare begin - >>"$WORK/plain"
done
t_true=$(p50 <"$WORK/true") t_entry=$(p50 <"$WORK/entry") t_plain=$(p50 <"$WORK/plain")
printf '  %-38s %s\n' "/bin/true" "$(stats <"$WORK/true")"
printf '  %-38s %s\n' "hook entry (installed), no opt-in" "$(stats <"$WORK/entry")"
printf '  %-38s %s\n' "full hook (cvmctl hook), no opt-in" "$(stats <"$WORK/plain")"
printf '  no opt-in, installed entry: %+d us over /bin/true at p50, %+d us at p99 (target <= +1000)\n' \
	$((t_entry - t_true)) $(($(p99 <"$WORK/entry") - $(p99 <"$WORK/true")))
printf '  no opt-in, full hook:       %+d us over /bin/true at p50, %+d us at p99\n' \
	$((t_plain - t_true)) $(($(p99 <"$WORK/plain") - $(p99 <"$WORK/true")))
# prepare then stopped, alternating, so each prepare creates a fresh VM.
$PY - "$N" "$WORK/opted.xml" "$WORK" "${HOOK_CMD[@]}" <<'PYEOF'
import subprocess, sys, time
n, xml, work, hook = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
out = {"prepare": [], "stopped": []}
for _ in range(n):
	for op, sub in (("prepare", "begin"), ("stopped", "end")):
		with open(xml, "rb") as f:
			t0 = time.perf_counter_ns()
			subprocess.run(hook + ["opted", op, sub, "-"], stdin=f,
				       stdout=subprocess.DEVNULL,
				       stderr=subprocess.DEVNULL)
			out[op].append((time.perf_counter_ns() - t0) // 1000)
for op, v in out.items():
	open("%s/%s" % (work, op), "w").write("".join("%d\n" % x for x in v))
PYEOF
printf '  %-32s %s\n' "hook, opted in: prepare" "$(stats <"$WORK/prepare")"
printf '  %-32s %s\n' "hook, opted in: stopped" "$(stats <"$WORK/stopped")"

# virsh start with and without opt-in, through a real libvirtd.
stop_cvmd
libvirt_setup
libvirt_start || { echo "libvirtd did not start"; exit 1; }
start_cvmd --set libvirt_uri=qemu:///system || exit 1
libvirt_define plain "$WORK/plain.xml" && libvirt_define opted "$WORK/opted.xml"
for d in plain opted; do
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N)
		V start "$d" >/dev/null
		echo $((($(date +%s%N) - t0) / 1000))
		V destroy "$d" >/dev/null
	done >"$WORK/virsh.$d"
done
ms() { awk '{printf "%.0f", $1 / 1000}'; }
echo "  virsh start, no opt-in:  median $(p50 <"$WORK/virsh.plain" | ms) ms (of 5)"
echo "  virsh start, opted in:   median $(p50 <"$WORK/virsh.opted" | ms) ms (of 5)"

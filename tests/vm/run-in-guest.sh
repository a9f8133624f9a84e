#!/bin/bash
# Boot the newest installed Debian kernel under QEMU (TCG) with the host's
# root filesystem visible read-only in the guest (tmpfs overlay on top), run
# one command there and exit with its status. See tests/vm/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
me=run-in-guest

usage() {
	cat <<EOF
usage: $0 [--mem MB] [--smp N] [--timeout SECONDS] [--log FILE]
          [--kernel-root DIR] [--env NAME=VALUE]... -- COMMAND [ARGS...]

Runs COMMAND as root in a QEMU guest booted from the installed Debian kernel,
in the host's current directory, with the host root mounted read-only (writes
go to a tmpfs overlay and are lost). The guest console goes to stdout (and to
FILE with --log). Exit status: COMMAND's, 124 on timeout, 125 if the guest
did not report one (panic, crash, rig failure).
Defaults: --mem 1024 --smp 2 --timeout 600. Build dir: \$CVM_BUILD_DIR or
<repo>/build; the initramfs is cached in its vm/ subdirectory.
--kernel-root DIR (or \$CVM_VM_KERNEL_ROOT): boot DIR/boot/vmlinuz-<ver>
instead, a kernel unpacked from its .debs with virtio, 9p and overlayfs built
in (the debug kernel, tests/vm-debug): loglevel=7 (acpi=off too with
CVM_VM_ACPI=off), DIR/lib/modules/<ver> bound on /lib/modules/<ver> in the
guest.
EOF
}

die() { echo "$me: $*" >&2; exit 2; }

mem=1024 smp=2 timeout=600 log=
kroot=${CVM_VM_KERNEL_ROOT:-}
envs=()
while [ $# -gt 0 ]; do
	case $1 in
	--mem | --smp | --timeout | --log | --env | --kernel-root)
		[ $# -ge 2 ] || die "$1 needs an argument"
		opt=$1 val=$2
		shift 2
		;;
	--mem=* | --smp=* | --timeout=* | --log=* | --env=* | --kernel-root=*)
		opt=${1%%=*} val=${1#*=}
		shift
		;;
	--) shift; break ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1 (the command goes after --)" ;;
	esac
	case $opt in
	--mem) mem=$val ;;
	--smp) smp=$val ;;
	--timeout) timeout=$val ;;
	--log) log=$val ;;
	--kernel-root) kroot=$val ;;
	--env)
		[[ $val =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, got: $val"
		envs+=("$val")
		;;
	esac
done
[ $# -gt 0 ] || { usage >&2; die "no command given"; }
for n in "$mem" "$smp" "$timeout"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done

if [ -n "$kroot" ]; then
	# A kernel unpacked from .debs: its one version under lib/modules.
	kroot=$(cd "$kroot" 2>/dev/null && pwd -P) || die "--kernel-root: no such directory"
	kvers=("$kroot"/lib/modules/*/modules.builtin)
	[ ${#kvers[@]} -eq 1 ] && [ -e "${kvers[0]}" ] ||
		die "$kroot: want exactly one lib/modules/<ver>/modules.builtin"
	kver=${kvers[0]%/modules.builtin}
	kver=${kver##*/}
	kernel=$kroot/boot/vmlinuz-$kver
	kconfig=$kroot/boot/config-$kver
	kmods=$kroot/lib/modules/$kver
else
	kver=$("$here/kver.sh")
	kernel=/boot/vmlinuz-$kver
	kconfig=/boot/config-$kver
	kmods=/lib/modules/$kver
fi
[ -r "$kernel" ] || die "$kernel is not readable"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (install qemu-system-x86)"

build=${CVM_BUILD_DIR:-$repo/build}
mkdir -p "$build/vm"
vmdir=$(cd "$build/vm" && pwd -P)

# Rebuild the cached initramfs when the rig or the kernel changed.
# A kernel with the rig's drivers built in gets one without modules.
if [ -n "$kroot" ]; then
	initrd=$vmdir/initramfs-builtin.gz
	deps=("$here/mkinitramfs.sh" "$here/run-in-guest.sh")
	mkargs=(--no-modules)
else
	initrd=$vmdir/initramfs.gz
	deps=("$here/kver.sh" "$here/mkinitramfs.sh" "$here/run-in-guest.sh"
		"$kernel" "$kmods/modules.dep")
	mkargs=()
fi
stale=
[ -s "$initrd" ] || stale=1
for f in "${deps[@]}"; do
	[ ! "$f" -nt "$initrd" ] || stale=1
done
if [ -n "$stale" ]; then
	echo "$me: building $initrd for $kver" >&2
	CVM_KVER=$kver "$here/mkinitramfs.sh" "${mkargs[@]}" "$initrd"
fi

# Boot the uncompressed vmlinux through its PVH entry point when the kernel
# has one: under TCG, decompressing the bzImage alone takes ~4.5 s.
# CVM_VM_NO_PVH=1 boots the bzImage as is.
boot=$kernel
if [ -z "${CVM_VM_NO_PVH:-}" ] && grep -qx 'CONFIG_PVH=y' "$kconfig" 2>/dev/null; then
	vmlinux=$vmdir/vmlinux-$kver
	if [ ! -s "$vmlinux" ] || [ "$kernel" -nt "$vmlinux" ]; then
		# The payload is the first compressed stream in the bzImage.
		off=$(LC_ALL=C grep -aboP -m1 '\xFD7zXZ\x00' "$kernel" | head -n1 | cut -d: -f1) || off=
		t=$(mktemp "$vmdir/.vmlinux.XXXXXX")
		# Process substitution, not a pipe: xz stops at the end of the
		# stream and tail's SIGPIPE must not count as a failure.
		if [ -n "$off" ] &&
			xz -dc --single-stream <(tail -c +"$((off + 1))" "$kernel") >"$t" 2>/dev/null &&
			[ "$(head -c 4 "$t")" = $'\x7fELF' ]; then
			chmod 644 "$t"
			mv -f "$t" "$vmlinux"
		else
			rm -f "$t"
			echo "$me: cannot extract vmlinux from $kernel; booting the bzImage (slower)" >&2
		fi
	fi
	[ ! -s "$vmlinux" ] || boot=$vmlinux
fi

tmp=$(mktemp -d "$vmdir/run.XXXXXX")
qemu_live=
# shellcheck disable=SC2317 # called from traps
kill_qemu() {
	if [ -s "$tmp/qemu.pid" ]; then
		kill "$(cat "$tmp/qemu.pid")" 2>/dev/null || true
	fi
}
# shellcheck disable=SC2317 # called from traps
cleanup() {
	[ -z "$qemu_live" ] || kill_qemu
	rm -rf "$tmp"
}
trap cleanup EXIT

# The job: a bash script the guest runs in the chroot (with the host's bash,
# so printf %q quoting is safe). Passed by path: the host root is visible.
# shellcheck disable=SC2016 # the $ in single quotes are for the guest
{
	echo "# written by run-in-guest.sh"
	# Start from an empty environment, then add only what is asked for.
	echo 'for _v in $(compgen -e); do unset "$_v"; done'
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root'
	for e in "${envs[@]}"; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	if [ -n "$kroot" ]; then
		# modprobe/modinfo in the guest need the booted kernel's tree
		# (modules.builtin for what is built in); the host root has none.
		printf 'mkdir -p %q && mount --bind %q %q\n' "/lib/modules/$kver" "$kmods" "/lib/modules/$kver"
	fi
	printf '_d=%q\n' "$PWD"
	# /run, /proc, /sys, /dev are fresh in the guest: the host's cwd
	# may not exist there. Say so and run from / rather than not at all.
	echo 'cd -- "$_d" 2>/dev/null || { echo "run-in-guest: cannot cd to $_d in the guest, using /" >&2; cd /; }'
	printf 'exec'
	printf ' %q' "$@"
	printf ' </dev/null\n'
} >"$tmp/job"

# Base64: the path may hold characters the kernel command line cannot.
jobarg=$(printf '%s' "$tmp/job" | base64 -w0)
# Not "cvm.": the kernel would hand cvm.* parameters to the cvm module.
append="console=ttyS0 quiet panic=-1 cvmrig.job=$jobarg"
if [ -n "$kroot" ]; then
	# loglevel=7: every warning on the console, none hidden.
	# kasan_multi_shot: KASAN reports every bad access, not only the first.
	append="console=ttyS0 loglevel=7 kasan_multi_shot panic=-1 cvmrig.job=$jobarg"
	# CVM_VM_ACPI=off boots faster (ACPI's AML loops time out under KASAN
	# + TCG) but gives one CPU, and on a loaded host the TSC and the APIC
	# timer may fail calibration against the PIT (no HPET without ACPI):
	# the boot can then stall. It cannot power off: init reboots instead
	# (-no-reboot exits).
	[ "${CVM_VM_ACPI:-on}" != off ] || append="acpi=off cvmrig.reboot $append"
fi

qemu=(
	qemu-system-x86_64
	-accel tcg -cpu max -smp "$smp" -m "$mem"
	-nodefaults -display none -no-reboot
	-serial stdio -monitor none
	-kernel "$boot" -initrd "$initrd" -append "$append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-pidfile "$tmp/qemu.pid"
)

outs=("$tmp/console")
[ -z "$log" ] || outs+=("$log")

# Run in the background and wait: bash runs traps during "wait" but not
# while a foreground pipeline runs, and Ctrl-C must not leave qemu behind.
interrupted=
trap 'interrupted=130; kill_qemu' INT
trap 'interrupted=143; kill_qemu' TERM
trap 'interrupted=129; kill_qemu' HUP
qemu_live=1
{
	rc=0
	timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 || rc=$?
	echo "$rc" >"$tmp/rc"
} |
	# Serial output has CRLF line ends. The marker must start a line even if
	# the command's output did not end with a newline.
	sed -u -e 's/\r$//' -e 's/\(.\)\(CVM-GUEST-EXIT: [0-9]*\)$/\1\n\2/' | tee "${outs[@]}" &
pipe=$!
wait "$pipe" || true
# A trapped signal ends "wait" early: let the pipeline drain after the kill.
[ -z "$interrupted" ] || wait "$pipe" 2>/dev/null || true
qemu_live=
if [ -n "$interrupted" ]; then
	echo "$me: interrupted, qemu killed" >&2
	exit "$interrupted"
fi

status=$(grep -aoE 'CVM-GUEST-EXIT: [0-9]+' "$tmp/console" | tail -n1 | cut -d' ' -f2) || true
qrc=$(cat "$tmp/rc" 2>/dev/null) || qrc=
if [ -n "$status" ]; then
	exit "$status"
elif [ "$qrc" = 124 ] || { [ "$qrc" = 137 ] && [ "$SECONDS" -ge "$timeout" ]; }; then
	# 137: qemu ignored SIGTERM and timeout's -k SIGKILL ended it.
	echo "$me: timed out after ${timeout}s, qemu killed" >&2
	exit 124
else
	echo "$me: no CVM-GUEST-EXIT marker from the guest (kernel panic, crash or rig failure; qemu exit ${qrc:-unknown}); see the console output above" >&2
	exit 125
fi

#!/bin/bash
# Build the initramfs of the cvm test VM into OUT.gz: static busybox, the
# modules needed to mount the host root over virtio-9p with an overlay on
# top (taken from the guest kernel's own /lib/modules), and /init.
#
# usage: mkinitramfs.sh [--no-modules] OUT.gz
#        (kernel version: $CVM_KVER or kver.sh)
#
# --no-modules: for a kernel with virtio, 9p and overlayfs built in (the
# debug kernel, tests/vm-debug): no module is packed or loaded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }

mods=1
[ "${1:-}" != --no-modules ] || { mods=; shift; }
[ $# -eq 1 ] || die "usage: mkinitramfs.sh [--no-modules] OUT.gz"
out=$1
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing (install busybox-static)"
if [ -n "$mods" ]; then
	kver=${CVM_KVER:-$("$here/kver.sh")}
	[ -d "/lib/modules/$kver" ] || die "/lib/modules/$kver missing"
fi

outdir=$(dirname "$out")
mkdir -p "$outdir"
stage=$(mktemp -d)
tmpout=
cleanup() { rm -rf "$stage"; [ -z "$tmpout" ] || rm -f "$tmpout"; }
trap cleanup EXIT

mkdir -p "$stage"/{bin,dev,proc,sys,mnt,newroot,lib/modules}

# Busybox must be static: the initramfs has no libc.
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done

# Modules, dependencies first. modprobe resolves the order (virtio_ring,
# virtio, virtio_pci_*_dev, virtio_pci, netfs, fscache, 9pnet, ...) so a
# kernel update that moves things around needs no change here. Only one
# module per modprobe call: further words would be taken as parameters.
declare -A seen=()
: >"$stage/modules.list"
for root in ${mods:+virtio_pci 9pnet_virtio 9p overlay}; do
	deps=$(modprobe -S "$kver" --show-depends --ignore-install "$root") ||
		die "modprobe cannot resolve $root for $kver"
	while read -r verb path _; do
		# "builtin NAME" lines need nothing; anything else is unexpected.
		[ "$verb" = insmod ] || continue
		name=$(basename "$path")
		name=${name%%.ko*}
		[ -z "${seen[$name]:-}" ] || continue
		seen[$name]=1
		# busybox insmod cannot decompress: store plain .ko files.
		case $path in
		*.ko) cp "$path" "$stage/lib/modules/$name.ko" ;;
		*.ko.xz) xz -dc "$path" >"$stage/lib/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$path" >"$stage/lib/modules/$name.ko" ;;
		*.ko.gz) gzip -dc "$path" >"$stage/lib/modules/$name.ko" ;;
		*) die "unknown module file type: $path" ;;
		esac
		echo "$name.ko" >>"$stage/modules.list"
	done <<<"$deps"
done

cat >"$stage/init" <<'EOF'
#!/bin/sh
# PID 1 of the cvm test VM (busybox sh). Mounts the host root read-only over
# virtio-9p under a tmpfs overlay, runs the job written by run-in-guest.sh
# in a chroot of it, prints "CVM-GUEST-EXIT: <status>" and powers off.
PATH=/bin
export PATH
set -f

# cvmrig.reboot on the command line (a kernel booted with acpi=off, which
# cannot power off): reboot instead; qemu's -no-reboot then exits.
off() {
	case " $(cat /proc/cmdline 2>/dev/null) " in
	*" cvmrig.reboot "*) reboot -f ;;
	*) poweroff -f ;;
	esac
}

# No marker on a rig failure: the host then reports "no marker" (125).
die() {
	echo "cvm-init: FATAL: $*"
	sync
	off
	# If power-off fails, PID 1 exiting panics; panic=-1 + -no-reboot ends qemu.
	exit 1
}

mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys

job=
for w in $(cat /proc/cmdline); do
	case $w in
	cvmrig.job=*) job=$(echo "${w#cvmrig.job=}" | base64 -d) ;;
	esac
done
[ -n "$job" ] || die "no cvmrig.job= on the kernel command line"

while read -r m; do
	insmod "/lib/modules/$m" || die "insmod $m failed"
done </modules.list

mkdir -p /mnt/lower /mnt/rw
# msize: bigger 9p messages, far fewer round trips. cache=loose: the host
# root is read-only for the guest, so caching is safe and much faster.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /mnt/lower ||
	die "cannot mount the host root (9p)"
mount -t tmpfs -o mode=755 tmpfs /mnt/rw
mkdir /mnt/rw/upper /mnt/rw/work
# Writes in the guest land in tmpfs and vanish at power-off.
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
	die "cannot mount the overlay"

r=/newroot
mkdir -p $r/proc $r/sys $r/dev $r/tmp $r/run
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
# /tmp stays the overlay's: the caller's checkout may live under the
# host's /tmp (CI clones anywhere), and writes still land in the tmpfs upper.
mount -t tmpfs -o mode=755 tmpfs $r/run
# Best effort: useful to module tests, not needed by the rig.
mount -t debugfs debugfs $r/sys/kernel/debug 2>/dev/null
ip link set lo up 2>/dev/null

# Read the job from the raw 9p mount: its path may be under /run, which
# the guest now covers with tmpfs.
mkdir -p $r/run/cvm
cp "/mnt/lower$job" $r/run/cvm/job || die "cannot read job file $job"

chroot $r /bin/bash /run/cvm/job </dev/null
st=$?

sync
echo "CVM-GUEST-EXIT: $st"
# Drain the serial line before power-off so the tail of the output and the
# marker reach the host: tcsetattr(TCSADRAIN) waits until it is sent.
stty -F /dev/console onlcr 2>/dev/null
sleep 0.1
off
exit "$st"
EOF
chmod 755 "$stage/init"

# /dev/console must exist in the initramfs before /init runs, or the kernel
# starts init without stdin/stdout. A character device cannot be packed from
# a plain directory without root, so append it as a hand-written newc cpio
# archive (the kernel unpacks concatenated archives).
cpio_chardev() { # NAME MAJOR MINOR
	local name=$1 namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0xC0DE 0x2180 0 0 1 0 0 0 0 "$2" "$3" "$namesize" 0
	printf '%s\0' "$name"
	# header (110 bytes) + name is padded to a multiple of 4.
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}
cpio_trailer() {
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 0 0 0 1 0 0 0 0 0 0 11 0
	printf 'TRAILER!!!\0'
	head -c 3 /dev/zero
}

tmpout=$(mktemp "$outdir/.initramfs.XXXXXX")
{
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc --owner=0:0 --reproducible)
	cpio_chardev dev/console 5 1
	cpio_trailer
} | gzip -6n >"$tmpout"
chmod 644 "$tmpout"
# Atomic replace: concurrent runs may read the old file meanwhile.
mv -f "$tmpout" "$out"
tmpout=

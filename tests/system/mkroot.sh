#!/bin/bash
# mkroot.sh BASE ROOT - a minimal Debian 12 for check-system: systemd as
# init, the Debian kernel with its headers and DKMS (so cvm-dkms builds
# cvm.ko on install), dbus, polkitd and libvirtd, and nothing of cvm yet.
# It starts from a copy of BASE, the run's one debootstrap (mkbase.sh).
#
# Everything that needs /proc, /sys or /dev runs in a mount namespace of
# its own (in-root.sh): no mount outlives the script, and an interrupted
# run never leaves the host's /dev bound under the build directory.
set -euo pipefail

BASE=${1:?usage: mkroot.sh BASE ROOT}
ROOT=${2:?usage: mkroot.sh BASE ROOT}
here=$(cd "$(dirname "$0")" && pwd)

# What a host running cvm has, beyond the base system (procps: /bin/kill,
# which libvirtd.service's reload runs). jq for the checks.
PACKAGES="systemd-sysv udev dbus kmod linux-image-amd64 linux-headers-amd64
	dkms polkitd procps libvirt-daemon-system libvirt-daemon-driver-qemu jq"

"$here/mkbase.sh" "$BASE"
rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
cp -a "$BASE" "$ROOT"

# A VM image boots from virtio: an initramfs with what that needs, made
# once (the default, MODULES=most, takes minutes and 40 MB).
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
echo MODULES=list >"$ROOT/etc/initramfs-tools/conf.d/cvm-check"
# 9p: the results share's channel exists before systemd mounts it.
printf '%s\n' virtio_pci virtio_blk ext4 9pnet_virtio 9p >"$ROOT/etc/initramfs-tools/modules"

"$here/in-root.sh" "$ROOT" sh -c "apt-get update -qq &&
	apt-get install -y -qq --no-install-recommends $(echo $PACKAGES)" \
	>"$ROOT.apt.log" 2>&1 || { tail -20 "$ROOT.apt.log" >&2; exit 1; }
"$here/in-root.sh" "$ROOT" apt-get clean

#!/usr/bin/env bash
# Install the Debian packages that building and testing cvm need, and only
# those that are missing. Idempotent and silent when nothing is missing.
#
#   packaging/install-deps.sh [build] [vm] ...
#
# build: compiler, libraries and test framework for userspace;
# vm:    the Debian kernel, its headers and QEMU, for tests in a booted kernel;
# libvirt: a libvirtd that starts QEMU domains (check-libvirt);
# system: what builds the .deb and .rpm packages and a Debian root to boot.
set -euo pipefail

declare -A groups=(
	[build]="gcc make pkg-config libc6-dev linux-libc-dev libcmocka-dev libssl-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev libinih-dev libjson-c-dev sqlite3 clang jq python3 dbus polkitd libvirt-dev libxml2-dev systemd"
	[libvirt]="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86"
	[system]="debhelper dh-dkms dpkg-dev lintian rpm rpmlint debootstrap e2fsprogs qemu-system-x86"
	[vm]="linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static cpio kmod"
)

wanted=()
for group in "${@:-build}"; do
	[[ -v "groups[$group]" ]] || { echo "install-deps: unknown group '$group'" >&2; exit 2; }
	read -ra pkgs <<<"${groups[$group]}"
	wanted+=("${pkgs[@]}")
done

missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if ((EUID != 0)); then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

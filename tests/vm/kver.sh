#!/bin/bash
# Print the version of the newest installed Debian kernel that the VM rig
# can use: it needs both the bootable image (/boot/vmlinuz-<ver>) and a
# build tree (/lib/modules/<ver>/build) so that out-of-tree modules can be
# built for it and booted.
#
#   kver.sh [--headers]
#
# --headers: a build tree is enough (a machine that builds cvm.ko without
# booting it, such as a fresh root running `make all`).
set -euo pipefail

need_image=1
[ "${1:-}" = --headers ] && need_image=

best=
for tree in /lib/modules/*/build; do
	[ -d "$tree" ] || continue
	ver=${tree#/lib/modules/}
	ver=${ver%/build}
	[ -z "$need_image" ] || [ -e "/boot/vmlinuz-$ver" ] || continue
	# sort -V picks the newest among candidates (6.1.0-9 < 6.1.0-56).
	if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$ver" | sort -V | tail -n1)" = "$ver" ]; then
		best=$ver
	fi
done

if [ -z "$best" ]; then
	echo "kver.sh: no kernel with ${need_image:+both /boot/vmlinuz-<ver> and }/lib/modules/<ver>/build;" \
		"install linux-headers-amd64${need_image:+ and linux-image-amd64}" >&2
	exit 1
fi
printf '%s\n' "$best"

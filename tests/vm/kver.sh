#!/bin/bash
# Print the version of the newest installed kernel that the VM rig can use:
# it needs both the bootable image (/boot/vmlinuz-<ver>) and a build tree
# (/lib/modules/<ver>/build) so that out-of-tree modules can be built for it.
set -euo pipefail

best=
for img in /boot/vmlinuz-*; do
	[ -e "$img" ] || continue
	ver=${img#/boot/vmlinuz-}
	[ -d "/lib/modules/$ver/build" ] || continue
	# sort -V picks the newest among candidates (6.1.0-9 < 6.1.0-56).
	if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$ver" | sort -V | tail -n1)" = "$ver" ]; then
		best=$ver
	fi
done

if [ -z "$best" ]; then
	echo "kver.sh: no kernel with both /boot/vmlinuz-<ver> and /lib/modules/<ver>/build;" \
		"install linux-image-amd64 and linux-headers-amd64" >&2
	exit 1
fi
printf '%s\n' "$best"

#!/bin/bash
# Find the debug kernel's .debs, unpack them once under BUILD_DIR and build
# cvm.ko against their headers (with KCOV instrumentation). On success prints
# shell assignments for run-debug.sh:
#
#   KROOT=<unpacked root>  KVER=<kernel version>  CVM_KO=<cvm.ko path>
#
#   prepare.sh BUILD_DIR
#
# The .debs are looked for in order in: $CVM_DEBUG_KERNEL_DIR (make's
# DEBUG_KERNEL_DIR) if set; ../shared/debug-kernel beside the checkout;
# $CVM_DEBUG_KERNEL_OUT or /var/cache/cvm/debug-kernel (where `make
# debug-kernel` puts them). A directory qualifies when it holds one
# linux-image-*-cvmdebug*.deb and one linux-headers-*.deb; its SHA256SUMS, if
# any, must match. Exit status: 0; 77 when no directory qualifies (the reason
# on stderr: a skip, not a failure); 1 on any other error (bad checksum,
# build failure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
me=prepare.sh
build=${1:?usage: prepare.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd -P)

err() { echo "$me: $*" >&2; exit 1; }

# qualifies DIR: sets image/headers, or returns 1 with $why set.
qualifies() {
	local d=$1 im hd
	[ -d "$d" ] || { why="$d: no such directory"; return 1; }
	im=("$d"/linux-image-*-cvmdebug*.deb)
	hd=("$d"/linux-headers-*.deb)
	[ -e "${im[0]}" ] || { why="$d: no linux-image-*-cvmdebug*.deb"; return 1; }
	[ -e "${hd[0]}" ] || { why="$d: no linux-headers-*.deb"; return 1; }
	[ ${#im[@]} -eq 1 ] && [ ${#hd[@]} -eq 1 ] ||
		{ why="$d: more than one image or headers .deb"; return 1; }
	image=${im[0]} headers=${hd[0]}
}

dirs=()
[ -z "${CVM_DEBUG_KERNEL_DIR:-}" ] || dirs+=("$CVM_DEBUG_KERNEL_DIR")
dirs+=("$(dirname "$repo")/shared/debug-kernel" "${CVM_DEBUG_KERNEL_OUT:-/var/cache/cvm/debug-kernel}")
found='' reasons=''
for d in "${dirs[@]}"; do
	why=
	if qualifies "$d"; then
		found=$d
		break
	fi
	reasons+="${reasons:+; }$why"
done
if [ -z "$found" ]; then
	echo "no debug kernel ($reasons); 'make debug-kernel' builds one" >&2
	exit 77
fi
found=$(cd "$found" && pwd -P)

if [ -e "$found/SHA256SUMS" ]; then
	(cd "$found" && sha256sum --quiet -c SHA256SUMS) >&2 ||
		err "$found/SHA256SUMS does not match its .debs"
fi

# Unpack once per pair of .debs (keyed by their checksums).
dk=$build/debug-kernel
stamp=$(sha256sum <"$image")$(sha256sum <"$headers")
stamp=${stamp//[^0-9a-f]/}
if [ "$(cat "$dk/root.sha256" 2>/dev/null)" != "$stamp" ]; then
	echo "$me: unpacking the debug kernel from $found" >&2
	rm -rf "$dk/root" "$dk/root.sha256" "$dk/root.tmp" "$build/kmod-debug"
	mkdir -p "$dk/root.tmp"
	dpkg-deb -x "$image" "$dk/root.tmp"
	dpkg-deb -x "$headers" "$dk/root.tmp"
	mv "$dk/root.tmp" "$dk/root"
	echo "$stamp" >"$dk/root.sha256"
fi
root=$dk/root
kvers=("$root"/lib/modules/*/modules.builtin)
[ ${#kvers[@]} -eq 1 ] && [ -e "${kvers[0]}" ] || err "$root: want exactly one lib/modules/<ver>"
kver=${kvers[0]%/modules.builtin}
kver=${kver##*/}
kdir=$root/usr/src/linux-headers-$kver
[ -e "$kdir/Makefile" ] || err "$kdir: no headers tree"

# A copy of kmod/, like `make module`, plus KCOV_INSTRUMENT: the kernel has
# KCOV but not KCOV_INSTRUMENT_ALL, and the fuzzer measures cvm.ko's coverage.
# cp -p keeps the times of unchanged sources: kbuild rebuilds only what changed.
mod=$build/kmod-debug
mkdir -p "$mod/uapi"
cp -p "$repo"/kmod/*.c "$repo"/kmod/*.h "$mod/"
cp -p "$repo"/kmod/uapi/*.h "$mod/uapi/"
{ cat "$repo/kmod/Kbuild"; echo 'KCOV_INSTRUMENT := y'; } >"$mod/Kbuild.new"
if cmp -s "$mod/Kbuild.new" "$mod/Kbuild"; then rm -f "$mod/Kbuild.new"; else mv "$mod/Kbuild.new" "$mod/Kbuild"; fi
make -C "$kdir" M="$mod" modules >&2 || err "cvm.ko does not build against $kdir"

printf 'KROOT=%q\nKVER=%q\nCVM_KO=%q\n' "$root" "$kver" "$mod/cvm.ko"

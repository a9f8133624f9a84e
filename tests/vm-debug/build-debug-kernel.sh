#!/bin/bash
# Build the debug kernel cvm.ko is tested on (tests/vm-debug/README.md) from
# Debian's linux-source-6.1, or install prebuilt .debs of it, into OUT_DIR:
# linux-image-*-cvmdebug*.deb, linux-headers-*.deb, SHA256SUMS and the config
# fragment. `make debug-kernel` runs it (OUT_DIR: DEBUG_KERNEL_OUT, by default
# /var/cache/cvm/debug-kernel, the last place check-vm-debug looks).
#
#   build-debug-kernel.sh [--work DIR] [--config-only] OUT_DIR
#   build-debug-kernel.sh --from DIR OUT_DIR
#
# The build: x86_64_defconfig + kvm_guest.config + cvm-debug.config (beside
# this script), `make bindeb-pkg`; about 31 minutes on 2 cores, in --work
# (default /var/tmp/cvm-debug-kernel, emptied first). --config-only stops
# after the configuration and checks every line of the fragment took effect.
# --from DIR: copy DIR's .debs after checking them against DIR/SHA256SUMS
# (required), so a machine is provisioned without the build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
me=build-debug-kernel
die() { echo "$me: $*" >&2; exit 1; }

work=/var/tmp/cvm-debug-kernel from='' config_only=''
while [ $# -gt 1 ]; do
	case $1 in
	--work) work=$2; shift 2 ;;
	--from) from=$2; shift 2 ;;
	--config-only) config_only=1; shift ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: $me [--work DIR] [--config-only] OUT_DIR | --from DIR OUT_DIR"
out=$1
frag=$here/cvm-debug.config

# Copy the .debs and SHA256SUMS into OUT_DIR through a temporary directory
# beside it, so OUT_DIR never holds half a kernel.
install_debs() { # SRC_DIR
	local src=$1 tmp
	mkdir -p "$(dirname "$out")"
	tmp=$(mktemp -d "$out.new.XXXXXX")
	(cd "$src" && cp linux-image-*-cvmdebug*.deb linux-headers-*-cvmdebug*.deb SHA256SUMS "$tmp/")
	cp "$frag" "$tmp/cvm-debug.config"
	(cd "$tmp" && sha256sum --quiet -c SHA256SUMS) || die "copied .debs do not match SHA256SUMS"
	chmod 755 "$tmp"
	rm -rf "$out.old"
	[ ! -e "$out" ] || mv "$out" "$out.old"
	mv "$tmp" "$out"
	rm -rf "$out.old"
	echo "$me: debug kernel in $out:"
	ls -l "$out"
}

if [ -n "$from" ]; then
	[ -r "$from/SHA256SUMS" ] || die "$from/SHA256SUMS missing: refusing unverified .debs"
	im=("$from"/linux-image-*-cvmdebug*.deb)
	hd=("$from"/linux-headers-*-cvmdebug*.deb)
	[ -e "${im[0]}" ] && [ -e "${hd[0]}" ] || die "$from: no linux-image/linux-headers *-cvmdebug*.deb"
	for f in "${im[0]}" "${hd[0]}"; do
		grep -q " [* ]\?$(basename "$f")\$" "$from/SHA256SUMS" || die "$f is not in SHA256SUMS"
	done
	(cd "$from" && sha256sum --quiet -c SHA256SUMS) || die "$from: .debs do not match SHA256SUMS"
	install_debs "$from"
	exit 0
fi

# What the build needs (Debian 12): installed when missing and root.
need=(linux-source-6.1 bc bison flex libelf-dev libssl-dev dwarves rsync cpio kmod dpkg-dev
	xz-utils gcc make)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	((EUID == 0)) || die "missing packages, install them as root: ${missing[*]}"
	echo "$me: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.1.tar.* (package linux-source-6.1)"

rm -rf "$work"
mkdir -p "$work"
echo "$me: unpacking $tarball into $work"
tar -C "$work" -xf "$tarball"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -n1)
[ -n "$src" ] || die "$tarball holds no linux-source-* directory"
cd "$src"
make -s x86_64_defconfig
make -s kvm_guest.config
scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null
make -s olddefconfig

# Every line of the fragment must have survived olddefconfig: a symbol that
# lost its dependencies would silently leave a checker off. (=n: not set.)
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) ! grep -q "^${line%=n}=" .config ;;
	# An emptied string whose symbol is gone is as good as empty.
	CONFIG_*=\"\") grep -qxF "$line" .config || ! grep -q "^${line%%=*}=" .config ;;
	CONFIG_*) grep -qxF "$line" .config ;;
	*) continue ;;
	esac || { echo "$me: not applied: $line" >&2; bad=1; }
done <"$frag"
[ "$bad" -eq 0 ] || die "the configuration lost lines of $frag"
kver=$(make -s kernelversion)
echo "$me: configured $kver$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"/\1/p' .config) in $src"
[ -z "$config_only" ] || exit 0

t0=$SECONDS
make -j"$(nproc)" bindeb-pkg KDEB_PKGVERSION="$kver-cvmdebug1"
echo "$me: built in $(((SECONDS - t0) / 60)) min"
cd "$work"
rm -f SHA256SUMS
sha256sum linux-image-*-cvmdebug_*.deb linux-headers-*-cvmdebug_*.deb >SHA256SUMS
install_debs "$work"

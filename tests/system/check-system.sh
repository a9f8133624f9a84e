#!/bin/bash
# check-system.sh BUILD - cvm as a host installs it (`make check-system`):
#  1. the .debs (and a rebuilt version for the upgrade), lintian on them,
#     the .rpms and their file lists against the .debs';
#  2. a minimal Debian 12 root (mkroot.sh, once per run) where apt installs
#     the .debs: DKMS builds cvm.ko for the root's Debian kernel;
#  3. that root as an ext4 image, booted under QEMU TCG with systemd as
#     PID 1, where guest-system.sh checks the service, a VM, access,
#     restart, upgrade, the hook, hardening and purge.
set -uo pipefail
BUILD=$(cd "${1:?usage: check-system.sh BUILD}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
SYS=$BUILD/system
PKG=$BUILD/packages
ROOT=$SYS/root
VERSION=$(cat "$top/VERSION")
V1=$VERSION
V2=$VERSION+rebuild1
. "$top/tests/tap.sh" # ok, not_ok, step; failures
bail() { # the rest cannot run without what failed
	echo "# check-system: stopping here"
	exit 1
}

rm -rf "$SYS" "$PKG"
mkdir -p "$SYS/results"

# --- 1. packages ---
step "make deb ($V1)" "$SYS/deb1.log" make -C "$top" BUILD="$BUILD" deb || bail
step "make deb DEB_VERSION=$V2 (the upgrade)" "$SYS/deb2.log" \
	make -C "$top" BUILD="$BUILD" DEB_VERSION="$V2" deb || bail
step "make rpm" "$SYS/rpm.log" make -C "$top" BUILD="$BUILD" rpm
if lintian --fail-on error,warning \
	"$PKG/cvm_${V1}_amd64.deb" "$PKG/cvm-dkms_${V1}_all.deb" >"$SYS/lintian.log" 2>&1; then
	ok "lintian: no error or warning on the .debs (overrides justified in packaging/README.md)"
else
	not_ok "lintian on the .debs:"
	sed 's/^/#   /' "$SYS/lintian.log"
fi
# the rebuilt .debs stay for the upgrade; the file lists compare one version
mkdir -p "$SYS/v2"
mv "$PKG/cvm_${V2}_amd64.deb" "$PKG/cvm-dkms_${V2}_all.deb" "$SYS/v2/"
rm -f "$PKG"/*dbgsym*
"$here/rpm-vs-deb.sh" "$PKG" || failures=$((failures + 1))

# --- 2. the root, with the packages installed as on a host ---
t0=$(date +%s)
step "a Debian 12 root (the run's minbase) with its kernel, headers, DKMS, polkitd, libvirtd" \
	"$SYS/mkroot.log" "$here/mkroot.sh" "$BUILD/roots/base" "$ROOT" || bail
echo "# bench: root built in $(($(date +%s) - t0)) s"
mkdir -p "$ROOT/root/cvm-system"
cp "$PKG/cvm_${V1}_amd64.deb" "$PKG/cvm-dkms_${V1}_all.deb" "$ROOT/root/cvm-system/"
step "apt-get install ./cvm_${V1}_amd64.deb ./cvm-dkms_${V1}_all.deb in the root" \
	"$SYS/install.log" "$here/in-root.sh" "$ROOT" apt-get install -y --no-install-recommends \
	"/root/cvm-system/cvm_${V1}_amd64.deb" "/root/cvm-system/cvm-dkms_${V1}_all.deb" || bail
KVER=$(ls "$ROOT/lib/modules" | head -1)
if [ -f "$ROOT/lib/modules/$KVER/updates/dkms/cvm.ko" ]; then
	ok "DKMS built cvm.ko for $KVER during the install"
else
	not_ok "DKMS built no cvm.ko for $KVER"
	bail
fi
grep -E 'Created symlink' "$SYS/install.log" | sed 's/^/# /'

# The machine: its name, its disk, where results go, the checks as a unit.
echo cvmhost >"$ROOT/etc/hostname"
cat >"$ROOT/etc/fstab" <<EOT
/dev/vda / ext4 rw,errors=remount-ro 0 1
results /mnt/results 9p trans=virtio,version=9p2000.L,nofail 0 0
EOT
mkdir -p "$ROOT/mnt/results"
cp "$here/guest-system.sh" "$here/bench-system.sh" "$SYS/v2/cvm_${V2}_amd64.deb" \
	"$SYS/v2/cvm-dkms_${V2}_all.deb" "$ROOT/root/cvm-system/"
printf 'V1=%s\nV2=%s\n' "$V1" "$V2" >"$ROOT/root/cvm-system/env"
cp "$here/cvm-system-check.service" "$ROOT/etc/systemd/system/"
ln -sf /etc/systemd/system/cvm-system-check.service \
	"$ROOT/etc/systemd/system/multi-user.target.wants/"
# Nothing else may hold dpkg's lock or the console during the checks.
for unit in serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
	man-db.timer e2scrub_all.timer fstrim.timer; do
	ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done

IMG=$SYS/root.img
step "an ext4 image of the root" "$SYS/mkfs.log" \
	mkfs.ext4 -q -F -L cvmroot -d "$ROOT" "$IMG" 4G || bail

# --- 3. boot it: systemd as PID 1 ---
t0=$(date +%s)
timeout 1500 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
	-nographic -no-reboot \
	-kernel "$ROOT/boot/vmlinuz-$KVER" -initrd "$ROOT/boot/initrd.img-$KVER" \
	-drive "file=$IMG,if=virtio,format=raw" \
	-virtfs "local,path=$SYS/results,mount_tag=results,security_model=none" \
	-append "root=/dev/vda rw console=ttyS0 quiet panic=-1" \
	>"$SYS/console.log" 2>&1
st=$?
echo "# bench: boot, checks and power-off took $(($(date +%s) - t0)) s (QEMU TCG)"
if [ -s "$SYS/results/out.log" ]; then
	cat "$SYS/results/out.log"
else
	not_ok "the booted system wrote no results (QEMU exit $st; console:)"
	tail -30 "$SYS/console.log" | sed 's/^/#   /'
fi
grep -q '^ok - no /dev/cvm' "$SYS/results/out.log" 2>/dev/null ||
	not_ok "the checks in the booted system did not run to the end (QEMU exit $st)"
grep -q '^not ok' "$SYS/results/out.log" 2>/dev/null && failures=$((failures + 1))
((failures == 0))

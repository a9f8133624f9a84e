#!/bin/bash
# in-root.sh ROOT COMMAND... - run COMMAND chrooted in ROOT as a package
# installation would run there: /proc, a read-only /sys and a small /dev
# of its own, in a private mount namespace that ends with the command.
# Services are not started (policy-rc.d; no systemd runs in the root).
set -euo pipefail

ROOT=${1:?usage: in-root.sh ROOT COMMAND...}
shift
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
trap 'rm -f "$ROOT/usr/sbin/policy-rc.d"' EXIT

unshare --mount --propagation private -- /bin/sh -ec '
	root=$1
	shift
	mount -t proc proc "$root/proc"
	mount -t sysfs -o ro sysfs "$root/sys"
	mount -t tmpfs -o mode=0755,size=1m dev "$root/dev"
	mknod -m 0666 "$root/dev/null" c 1 3
	mknod -m 0666 "$root/dev/zero" c 1 5
	mknod -m 0666 "$root/dev/full" c 1 7
	mknod -m 0666 "$root/dev/random" c 1 8
	mknod -m 0666 "$root/dev/urandom" c 1 9
	mknod -m 0666 "$root/dev/tty" c 5 0
	ln -s /proc/self/fd "$root/dev/fd"
	exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
' in-root "$ROOT" "$@"

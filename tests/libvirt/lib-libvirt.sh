#!/bin/bash
# lib-libvirt.sh - a libvirtd of the suite's own (RIG.md's recipe,
# scripted), the cvm hook installed where that libvirtd looks for it, and
# TCG domains that boot a tiny busybox initramfs. Sourced after
# tests/integration/lib.sh (which gives cvmd, cvmctl and TAP helpers).
#
# The host is never touched: libvirt_isolate runs the suite in new mount,
# PID and network namespaces, where libvirt_setup covers libvirt's
# directories with empty tmpfs mounts, adds the user and groups libvirtd
# looks up to private copies of /etc/passwd and /etc/group, and hides the
# host's system bus, cgroup and hugetlbfs mounts (libvirtd would register
# its domains with machined, make cgroups for them and write into
# hugetlbfs). libvirtd is stopped by its pid; only the domains the suite
# defined are destroyed. When the namespaces end, whatever is left in
# them ends too. libvirt_host_state records what the host has, for
# check-libvirt.sh to prove it unchanged.

HOOK_DIR=/etc/libvirt/hooks/qemu.d
HOOK=$HOOK_DIR/cvm
LIBVIRTD_PID=
DOMAINS=()

# libvirt's directories on the host, each covered by an empty tmpfs.
libvirt_dirs() {
	echo /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt \
		/var/cache/libvirt
	[ "$(readlink -f /var/run)" = /run ] || echo /var/run/libvirt
}

# libvirt_isolate SCRIPT ARGS...: run SCRIPT in namespaces of its own
# (see above) and return its status. Refuses to run it anywhere else.
libvirt_isolate() {
	[ "$(id -u)" = 0 ] || { echo "# the libvirt suite needs root" >&2; return 1; }
	CVM_LIBVIRT_HOST_MNTNS=$(readlink /proc/self/ns/mnt) \
		unshare --mount --propagation private --pid --kill-child \
		--mount-proc --net -- "$BASH" "$@"
}

# True in the namespaces libvirt_isolate made, false on the host.
libvirt_isolated() {
	[ -n "${CVM_LIBVIRT_HOST_MNTNS:-}" ] &&
		[ "$(readlink /proc/self/ns/mnt)" != "$CVM_LIBVIRT_HOST_MNTNS" ] &&
		[ "$(findmnt -no PROPAGATION /)" = private ]
}

# ns_graft DIR: a missing DIR made to exist in this namespace only: its
# parent is covered by a tmpfs holding DIR and, bind-mounted, every entry
# the parent has (which read and write through to the host as before).
ns_graft() {
	local dir=$1 parent=${1%/*} shim e name
	[ -n "$parent" ] || return 1	# never a tmpfs over /
	[ -d "$parent" ] || ns_graft "$parent" || return 1
	shim=$(mktemp -d "$WORK/graft.XXXXXX") || return 1
	mount -t tmpfs -o "mode=$(stat -c %a "$parent")" cvm-test "$shim" || return 1
	chown "$(stat -c %u:%g "$parent")" "$shim" || return 1
	for e in "$parent"/* "$parent"/.[!.]* "$parent"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		name=${e##*/}
		if [ -L "$e" ]; then
			cp -P "$e" "$shim/$name"
		elif [ -d "$e" ]; then
			mkdir "$shim/$name" && mount --rbind "$e" "$shim/$name"
		else
			: >"$shim/$name" && mount --bind "$e" "$shim/$name"
		fi || return 1
	done
	mkdir "$shim/${dir##*/}" && mount --move "$shim" "$parent"
}

# ns_tmpfs DIR: an empty tmpfs at DIR, in this namespace only.
ns_tmpfs() {
	[ -d "$1" ] || ns_graft "$1" || return 1
	mount -t tmpfs -o mode=755 cvm-test "$1"
}

# The highest system id (999 down to 100) that neither NSS nor FILE uses.
free_id() { # passwd|group FILE
	local used i
	used=$( (getent "$1"; cat "$2") | cut -d: -f3)
	for ((i = 999; i >= 100; i--)); do
		grep -qx "$i" <<<"$used" || { echo "$i"; return 0; }
	done
	return 1
}

# libvirtd's QEMU driver looks up its user and group (Debian's build:
# libvirt-qemu) even when qemu.conf says root; RIG.md adds kvm. The ones
# the host lacks go into private copies of /etc/passwd and /etc/group.
ns_identities() {
	local g gid
	cp /etc/passwd "$WORK/passwd" && cp /etc/group "$WORK/group" || return 1
	for g in kvm libvirt-qemu; do
		getent group "$g" >/dev/null ||
			echo "$g:x:$(free_id group "$WORK/group"):" >>"$WORK/group" || return 1
	done
	if ! getent passwd libvirt-qemu >/dev/null; then
		gid=$(getent group libvirt-qemu | cut -d: -f3)
		[ -n "$gid" ] || gid=$(grep '^libvirt-qemu:' "$WORK/group" | cut -d: -f3)
		echo "libvirt-qemu:x:$(free_id passwd "$WORK/passwd"):$gid:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" \
			>>"$WORK/passwd" || return 1
	fi
	if ! cmp -s /etc/group "$WORK/group"; then
		mount --bind "$WORK/group" /etc/group || return 1
	fi
	if ! cmp -s /etc/passwd "$WORK/passwd"; then
		mount --bind "$WORK/passwd" /etc/passwd || return 1
	fi
}

# The namespace's own view: libvirt's directories empty, the identities,
# and none of the host's system bus, nscd, cgroups or hugetlbfs.
ns_setup() {
	local d m
	libvirt_isolated || { echo "# not in a private mount namespace: refusing" >&2; return 1; }
	for d in $(libvirt_dirs); do
		ns_tmpfs "$d" || return 1
	done
	for d in /run/dbus /run/nscd; do
		[ ! -d "$d" ] || mount -t tmpfs -o mode=755 cvm-test "$d" || return 1
	done
	findmnt -rn -o TARGET -t cgroup,cgroup2,hugetlbfs | sort -r |
		while read -r m; do umount -l "$m" || exit 1; done || return 1
	if mountpoint -q /sys/fs/cgroup; then
		umount -R -l /sys/fs/cgroup || return 1
	fi
	ip link set lo up
	ns_identities
}

libvirt_setup() {
	ns_setup || return 1
	mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu \
		/var/cache/libvirt "$HOOK_DIR"
	# Root QEMU without security drivers or virtlogd: a test host.
	cat >/etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
CONF
	# The hook: this build's cvmctl on this run's cvmd (libvirt gives
	# hooks only LC_ALL, PATH, HOME, USER and LOGNAME).
	cat >"$HOOK" <<HOOKSH
#!/bin/sh
exec "$CVMCTL" -c "unix:$SOCK" hook qemu "\$@"
HOOKSH
	chmod 755 "$HOOK"
	# A tiny guest: busybox that sleeps.
	mkdir -p "$WORK/initrd/bin"
	cp /bin/busybox "$WORK/initrd/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox sleep 100000\n' >"$WORK/initrd/init"
	chmod 755 "$WORK/initrd/init"
	(cd "$WORK/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$WORK/initrd.gz"
	KERNEL=$(ls /boot/vmlinuz-* | sort -V | tail -1)
}

# libvirtd in the foreground, in the background: its pid is $!, and no
# pid file or log of it is written outside $WORK. No system bus for it.
libvirt_start() {
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/no-system-bus \
		/usr/sbin/libvirtd --pid-file "$WORK/libvirtd.pid" \
		>>"$WORK/libvirtd.log" 2>&1 &
	LIBVIRTD_PID=$!
	for _ in $(seq 1 100); do
		kill -0 "$LIBVIRTD_PID" 2>/dev/null || break
		V version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# libvirtd did not come up; its log:"
	sed 's/^/# /' "$WORK/libvirtd.log"
	return 1
}

# libvirt_define NAME XML-FILE: define a domain and remember it as ours.
libvirt_define() {
	V define "$2" >/dev/null || return 1
	DOMAINS+=("$1")
	[ -z "${CVM_LIBVIRT_OUTER:-}" ] || echo "$1" >>"$CVM_LIBVIRT_OUTER/domains"
}

# Our domains destroyed and undefined, then our libvirtd stopped by pid.
libvirt_stop() {
	local d
	for d in "${DOMAINS[@]}"; do
		V destroy "$d" >/dev/null 2>&1
		V undefine "$d" >/dev/null 2>&1
	done
	DOMAINS=()
	[ -n "$LIBVIRTD_PID" ] || return 0
	kill -TERM "$LIBVIRTD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$LIBVIRTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$LIBVIRTD_PID" 2>/dev/null
	wait "$LIBVIRTD_PID" 2>/dev/null
	LIBVIRTD_PID=
}

# libvirt_host_state DIR: what the suite must leave as it is, recorded on
# the host (outside the namespaces) into DIR.
libvirt_host_state() {
	local out=$1 f d
	mkdir -p "$out"
	if [ -e /etc/libvirt ]; then
		(cd /etc/libvirt && find . -printf '%p %y %m %u:%g %s %l\n' | sort &&
			find . -type f -print0 | sort -z | xargs -0r sha256sum)
	else
		echo "no /etc/libvirt"
	fi >"$out/etc-libvirt"
	for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow; do
		if [ -e "$f" ]; then sha256sum "$f"; else echo "no $f"; fi
	done >"$out/identities"
	{ pgrep -x libvirtd; pgrep -x virtqemud; } | sort -n >"$out/daemons"
	# The host daemon's domains, when one runs and answers on the host's
	# socket (a socket alone might start one through systemd: not that).
	: >"$out/domains"
	if [ -s "$out/daemons" ] &&
		{ [ -S /run/libvirt/libvirt-sock ] || [ -S /run/libvirt/virtqemud-sock ]; }; then
		timeout 30 virsh -c qemu:///system list --all --name 2>&1 |
			sort >"$out/domains"
	fi
	for d in $(libvirt_dirs); do
		[ "$d" = /etc/libvirt ] && continue
		if [ -e "$d" ]; then find "$d" | sort; else echo "no $d"; fi
	done >"$out/trees"
	# Mounts at the places the namespace mounts over.
	for d in $(libvirt_dirs) /etc/passwd /etc/group /run /run/dbus /run/nscd \
		/var /var/lib /var/log /var/cache /sys/fs/cgroup; do
		awk -v d="$d" '$5 == d' /proc/self/mountinfo
	done >"$out/mounts"
}

# libvirt_host_compare BEFORE AFTER DOMAINS: TAP lines, one per part of
# the host (DOMAINS: the names of the domains the suite defined).
libvirt_host_compare() {
	local b=$1 a=$2 domains=$3 new dirs
	same() { # DESCRIPTION FILE
		if cmp -s "$b/$2" "$a/$2"; then
			ok "$1"
		else
			not_ok "$1"
			diff "$b/$2" "$a/$2" | sed 's/^/# /'
		fi
	}
	same "host unchanged: /etc/libvirt" etc-libvirt
	same "host unchanged: /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow" identities
	same "host unchanged: its libvirtd processes ($(wc -l <"$b/daemons") running)" daemons
	if [ -s "$b/domains" ] || [ -s "$a/domains" ]; then
		same "host unchanged: the host libvirtd's domains" domains
	else
		echo "# no host libvirtd answers: no host domain list to compare"
	fi
	same "host unchanged: none of the suite's mounts on the host" mounts
	# libvirt's runtime, state, log and cache trees: the same entries when
	# no host daemon runs; when one does (and may add files of its own
	# meanwhile), nothing new that names a domain of the suite.
	dirs=$(libvirt_dirs | tr ' ' '\n' | grep -v '^/etc/' | paste -sd ' ')
	if [ ! -s "$b/daemons" ]; then
		same "host unchanged: the entries under $dirs" trees
		return
	fi
	new=$(comm -13 "$b/trees" "$a/trees" |
		grep -E -f <(sed 's#.*#[/-]&([./]|$)#' "$domains" 2>/dev/null))
	if [ -z "$new" ]; then
		ok "host unchanged: nothing of the suite's domains under $dirs"
	else
		not_ok "host changed: paths of the suite's domains under $dirs"
		sed 's/^/# /' <<<"$new"
	fi
}

# domain_xml NAME MEMORY_MIB [EXTRA_XML_IN_DOMAIN]
domain_xml() {
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$WORK/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  ${3:-}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$WORK/$1.console'/></serial>
  </devices>
</domain>
XML
}

V() { virsh -c qemu:///system "$@"; }

#!/bin/bash
# lib-libvirt.sh - a real libvirtd for the libvirt suite (RIG.md's recipe,
# scripted), the cvm hook installed where libvirtd looks for it, and TCG
# domains that boot a tiny busybox initramfs. Sourced after
# tests/integration/lib.sh (which gives cvmd, cvmctl and TAP helpers).

HOOK_DIR=/etc/libvirt/hooks/qemu.d
HOOK=$HOOK_DIR/cvm
LIBVIRTD_PID=

libvirt_setup() {
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu libvirt-qemu
	mkdir -p /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/qemu \
		/var/cache/libvirt /etc/libvirt "$HOOK_DIR"
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

libvirt_start() {
	if pgrep -x libvirtd >/dev/null; then
		echo "# libvirtd already running: restarting it to read the hook"
		pkill -x libvirtd
		sleep 1
	fi
	/usr/sbin/libvirtd -d -p "$WORK/libvirtd.pid" || return 1
	for _ in $(seq 1 100); do
		virsh -c qemu:///system version >/dev/null 2>&1 && break
		sleep 0.1
	done
	LIBVIRTD_PID=$(cat "$WORK/libvirtd.pid" 2>/dev/null)
	virsh -c qemu:///system version >/dev/null 2>&1
}

libvirt_stop() {
	local d
	for d in $(virsh -c qemu:///system list --name 2>/dev/null); do
		virsh -c qemu:///system destroy "$d" >/dev/null 2>&1
	done
	for d in $(virsh -c qemu:///system list --all --name 2>/dev/null); do
		virsh -c qemu:///system undefine "$d" >/dev/null 2>&1
	done
	[ -n "$LIBVIRTD_PID" ] && kill "$LIBVIRTD_PID" 2>/dev/null
	rm -f "$HOOK"
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

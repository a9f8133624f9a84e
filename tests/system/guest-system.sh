#!/bin/bash
# guest-system.sh - the checks inside the Debian 12 that check-system.sh
# built and booted under QEMU, with systemd as PID 1 and the cvm packages
# installed the way a host gets them. Runs as root from
# cvm-system-check.service; writes TAP lines and figures to
# /mnt/results/out.log (a 9p share the host reads), then powers off.
#
# Order: the service as installed -> one VM through its secure lifecycle
# -> who may do what -> cvmd restart -> package upgrade -> the libvirt
# hook -> hardening and figures -> removal, then purge.
set -u
DIR=/root/cvm-system
. "$DIR/env" # V1, V2: the installed and the upgrade package versions
RESULTS=/mnt/results
# The share's virtio channel may come up after fstab's mount was tried on
# a slow boot: try again for a minute, and never hang the run without it.
for _ in $(seq 60); do
	mountpoint -q "$RESULTS" || mount "$RESULTS" 2>/dev/null
	mountpoint -q "$RESULTS" && break
	sleep 1
done
mountpoint -q "$RESULTS" || {
	echo "guest-system.sh: no results share at $RESULTS" >/dev/console
	systemctl poweroff --force
	exit 1
}
exec >"$RESULTS/out.log" 2>&1
export CVM_CONNECT=unix:/run/cvmd/cvmd.sock

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else not_ok "$what"; fi
}
is() { # is DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}
ctl() { cvmctl --timeout 30 "$@"; }
eventually() { # COMMAND succeeds within 30 s
	local i
	for i in $(seq 1 30); do
		"$@" && return 0
		sleep 1
	done
	return 1
}
as_alice() { runuser -u alice -- "$@"; }
main_pid() { systemctl show -P MainPID cvmd.service; }
vmm_pids() { # the running cvm-vmm processes, by their executable
	local exe
	for exe in /proc/[0-9]*/exe; do
		case $(readlink "$exe" 2>/dev/null) in
		/usr/libexec/cvm/cvm-vmm*) exe=${exe#/proc/}; echo "${exe%/exe}" ;;
		esac
	done
}
state_of() { ctl --json show "$1" 2>/dev/null | jq -r .state; }
finish() {
	journalctl -b --no-pager -o short-monotonic -u cvmd.service >"$RESULTS/cvmd.journal" 2>&1
	journalctl -b --no-pager -o short-monotonic -u libvirtd.service >"$RESULTS/libvirtd.journal" 2>&1
	systemctl poweroff --no-block
	exit 0
}

# Boot has settled when no job is left but this one.
for _ in $(seq 1 600); do
	[ -z "$(systemctl list-jobs --no-legend | grep -v cvm-system-check)" ] && break
	sleep 1
done
echo "# kernel $(uname -r); system: $(systemctl is-system-running)"
systemctl --failed --no-legend --plain | sed 's/^/# failed unit: /'

# --- the service as the packages installed it ---
check "cvmd.service and cvmd.socket are enabled" \
	systemctl -q is-enabled cvmd.service cvmd.socket
check "cvmd.service is active after boot" systemctl -q is-active cvmd.service
check "cvmd.socket is listening" systemctl -q is-active cvmd.socket
is "cvmd.service is Type=notify with a 30 s watchdog" \
	"$(systemctl show -P Type cvmd.service) $(systemctl show -P WatchdogUSec cvmd.service)" \
	"notify 30s"
status_text=$(systemctl show -P StatusText cvmd.service)
check "cvmd reports its status to systemd ('$status_text')" \
	sh -c "echo '$status_text' | grep -q '^Serving 0 VMs on the kmod backend'"
KVER=$(uname -r)
check "DKMS built cvm.ko for the booted kernel ($KVER)" \
	test -f "/lib/modules/$KVER/updates/dkms/cvm.ko"
check "cvm.ko was loaded at boot (modules-load.d)" test -d /sys/module/cvm
is "the secure pool size comes from modprobe.d" \
	"$(cat /sys/module/cvm/parameters/pool_mb 2>&1)" 256
is "/dev/cvm is root:cvm 0660 (udev rule, sysusers group)" \
	"$(stat -c '%F %U %G %a' /dev/cvm 2>&1)" "character special file root cvm 660"
status=$(ctl --json status 2>&1)
is "cvmd runs on the kmod backend" "$(echo "$status" | jq -r .backend)" kmod
is "/run/cvmd/cvmd.sock comes from cvmd.socket, mode 0666" \
	"$(stat -c '%F %a' /run/cvmd/cvmd.sock 2>&1)" "socket 666"
check "busctl introspects org.cvm.Manager1 on the system bus" \
	sh -c 'busctl introspect org.cvm.Manager1 /org/cvm/Manager1 | grep -q "^org.cvm.Manager1 *interface"'
check "cvmd reached libvirtd (journal: 'libvirt: connected to qemu:///system')" \
	eventually sh -c "journalctl -b -u cvmd.service | grep -q 'libvirt: connected to qemu:///system'"
is "D-Bus Backend property" \
	"$(busctl get-property org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 Backend 2>&1)" \
	's "kmod"'

# --- one VM through its secure lifecycle, as root ---
GPA=0x2000
SECRET="check-system secret $$"
LEN=${#SECRET}
check "create vm1 (64 MiB, 16 MiB memlock)" ctl create vm1 --memory 64M --memlock-limit 16M
check "init-start vm1" ctl init-start vm1
check "guest-write vm1" ctl guest-write vm1 $GPA --data "$SECRET"
check "page-in vm1" ctl page-in vm1 $GPA
check "init-done vm1" ctl init-done vm1
is "vm1 is secure" "$(state_of vm1)" secure
is "the guest reads its data" "$(ctl guest-read vm1 $GPA --length "$LEN" 2>&1)" "$SECRET"
check "the host does not read it" \
	sh -c "! cvmctl host-read vm1 $GPA --length $LEN 2>/dev/null | grep -qa 'check-system secret'"
is "STATUS= follows the VM count" "$(systemctl show -P StatusText cvmd.service | cut -d' ' -f1-2)" \
	"Serving 1"
VMM=$(vmm_pids)
is "vm1 has one cvm-vmm, in cvmd.service's cgroup" \
	"$(grep -c cvmd.service "/proc/$VMM/cgroup" 2>/dev/null)" 1

# --- a user outside the cvm group reads, never mutates ---
id alice >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin alice
check "alice is not in the cvm group" sh -c '! id -nG alice | grep -qw cvm'
check "alice: cvmctl list shows vm1" sh -c 'runuser -u alice -- cvmctl list | grep -qw vm1'
is "alice: cvmctl show vm1" "$(as_alice cvmctl --json show vm1 | jq -r .state)" secure
for args in "terminate vm1" "destroy vm1" "create vm2 --memory 4M" \
	"guest-read vm1 $GPA --length 4" "page-out vm1 $GPA"; do
	as_alice cvmctl $args >/dev/null 2>&1
	is "alice: cvmctl $args is refused (exit 3)" "$?" 3
done
is "vm1 is still secure after alice's attempts" "$(state_of vm1)" secure
check "alice: D-Bus properties are readable" \
	runuser -u alice -- busctl get-property org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 VMCount
err=$(as_alice busctl call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 DestroyVM s vm1 2>&1)
check "alice: D-Bus DestroyVM is refused by polkit ($err)" \
	sh -c "echo '$err' | grep -qi 'denied\|not authorized\|interactive'"
is "vm1 is still secure after alice's D-Bus call" "$(state_of vm1)" secure

# --- systemctl restart cvmd keeps the VM ---
pid0=$(main_pid)
check "systemctl restart cvmd" systemctl restart cvmd.service
check "cvmd came back with a new process" test "$(main_pid)" != "$pid0"
is "vm1's cvm-vmm survived the restart (KillMode=process)" "$(vmm_pids)" "$VMM"
is "vm1 is secure after the restart" "$(state_of vm1)" secure
is "vm1's data after the restart" "$(ctl guest-read vm1 $GPA --length "$LEN" 2>&1)" "$SECRET"

# --- without cvmd.socket, cvmd binds the API socket itself ---
systemctl stop cvmd.socket 2>/dev/null
systemctl mask -q cvmd.socket
check "cvmd restarts with cvmd.socket masked" systemctl restart cvmd.service
is "cvmd made /run/cvmd/cvmd.sock itself, mode 0666" \
	"$(stat -c '%F %a' /run/cvmd/cvmd.sock 2>&1)" "socket 666"
is "vm1 is served without cvmd.socket" "$(state_of vm1)" secure
systemctl unmask -q cvmd.socket
systemctl start cvmd.socket
systemctl restart cvmd.service
is "with cvmd.socket back, cvmd serves vm1 through it" "$(state_of vm1)" secure
check "and cvmd.socket is listening again" systemctl -q is-active cvmd.socket

# --- a package upgrade to a rebuilt version keeps the VM ---
pid0=$(main_pid)
since=$(date '+%Y-%m-%d %H:%M:%S')
t0=$(date +%s)
if apt-get install -y --no-install-recommends "$DIR/cvm_${V2}_amd64.deb" \
	"$DIR/cvm-dkms_${V2}_all.deb" >"$RESULTS/upgrade.log" 2>&1; then
	ok "apt-get install upgrades cvm and cvm-dkms to $V2 ($(($(date +%s) - t0)) s)"
else
	not_ok "apt-get install $V2: $(tail -5 "$RESULTS/upgrade.log" | tr '\n' ' ')"
fi
is "dpkg has cvm $V2" "$(dpkg-query -W -f '${Version}' cvm)" "$V2"
check "DKMS built cvm $V2 for $KVER" sh -c "dkms status cvm/$V2 -k $KVER | grep -q installed"
check "the upgrade restarted cvmd" test "$(main_pid)" != "$pid0"
check "cvmd runs the upgraded binary" \
	sh -c "readlink /proc/$(main_pid)/exe | grep -qx /usr/sbin/cvmd"
is "vm1's cvm-vmm survived the upgrade" "$(vmm_pids)" "$VMM"
is "vm1 is secure after the upgrade" "$(state_of vm1)" secure
is "vm1's data after the upgrade" "$(ctl guest-read vm1 $GPA --length "$LEN" 2>&1)" "$SECRET"
check "the upgrade reloaded libvirtd (it rereads its hooks)" \
	sh -c "journalctl --since '$since' -u libvirtd.service | grep -q 'Reloaded libvirtd'"

# --- the libvirt hook, where libvirtd looks for it ---
HOOK=/etc/libvirt/hooks/qemu.d/cvm
check "the hook is $HOOK, executable" test -x "$HOOK"
check "libvirtd is active" systemctl -q is-active libvirtd.service
plain="<domain type='qemu'><name>plain</name><memory unit='MiB'>64</memory></domain>"
check "the hook lets a domain that did not opt in through" \
	sh -c "echo \"$plain\" | $HOOK plain prepare begin -"
lv="<domain type='qemu'><name>lv1</name><memory unit='MiB'>32</memory><launchSecurity type='sev'/></domain>"
for call in "prepare begin -" "start begin -" "started begin -"; do
	check "the hook: lv1 $call" sh -c "echo \"$lv\" | env -i PATH=/usr/bin:/bin $HOOK lv1 $call"
done
is "lv1 is secure and libvirt's" "$(ctl --json show lv1 | jq -r '.state + " " + .owner')" \
	"secure libvirt"
for call in "stopped end -" "release end destroyed"; do
	check "the hook: lv1 $call" sh -c "echo \"$lv\" | env -i PATH=/usr/bin:/bin $HOOK lv1 $call"
done
check "lv1 is gone after release" sh -c '! cvmctl show lv1 >/dev/null 2>&1'

# --- hardening and figures (printed; never a pass or fail on time) ---
echo "# systemd-analyze security cvmd.service:"
systemd-analyze security --no-pager cvmd.service 2>&1 | sed 's/^/#   /'
score=$(systemd-analyze security --no-pager cvmd.service 2>/dev/null |
	sed -n 's/.*exposure level for cvmd.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
check "systemd-analyze security gives an exposure score ($score)" test -n "$score"
echo "# bench: exposure score $score (target <= 3.0 OK)"
"$DIR/bench-system.sh"

# --- removal keeps the registry; purge removes everything ---
dpkg -L cvm cvm-dkms 2>/dev/null | sort -u >"$RESULTS/installed-files"
check "apt-get remove cvm" sh -c "apt-get remove -y cvm >'$RESULTS/remove.log' 2>&1"
check "removal stopped cvmd" sh -c '! systemctl -q is-active cvmd.service cvmd.socket'
is "removal ended the VMs' cvm-vmm processes" "$(vmm_pids)" ""
check "removal unloaded cvm.ko (nothing used it)" test ! -d /sys/module/cvm
check "removal kept the VM registry" test -s /var/lib/cvm/registry.sqlite
check "removal took the hook" test ! -e "$HOOK"
check "removal took the units" sh -c '! systemctl cat cvmd.service >/dev/null 2>&1'
check "the bus no longer offers org.cvm.Manager1" \
	sh -c '! busctl list --activatable --no-legend | grep -q org.cvm'
check "apt-get purge cvm cvm-dkms" \
	sh -c "apt-get purge -y cvm cvm-dkms >'$RESULTS/purge.log' 2>&1"
is "dpkg has neither package installed" \
	"$(dpkg-query -W -f '${db:Status-Status}\n' cvm cvm-dkms 2>/dev/null | grep -vc '^not-installed$')" 0
left=$(while read -r f; do [ -d "$f" ] || [ ! -e "$f" ] || echo "$f"; done <"$RESULTS/installed-files")
is "purge left none of the packages' files" "$left" ""
check "purge deleted the registry and configuration" test ! -e /var/lib/cvm -a ! -e /etc/cvm
check "purge took the module from every kernel" \
	sh -c '! find /lib/modules -name "cvm.ko*" | grep -q . && ! dkms status | grep -q cvm'
check "purge left no module source" sh -c '! ls -d /usr/src/cvm-* 2>/dev/null'
check "no /dev/cvm" test ! -e /dev/cvm
finish

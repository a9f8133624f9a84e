#!/bin/bash
# guest-polkit.sh BUILD - runs inside the QEMU guest (a disposable root):
# the shipped bus policy and polkit actions installed, a real system
# dbus-daemon and polkitd, cvmd on that bus. A non-root caller is denied a
# mutating call, a member of the admin group passes without polkit (as on
# the socket), a polkit rule lets others through, reads work for everyone,
# and callers vanishing in the middle of a check don't hurt cvmd.
BUILD=${1:?usage: guest-polkit.sh BUILD}
# Only in the guest tests/vm/run-in-guest.sh boots (its kernel command
# line names the job): on a host this would install the bus policy and a
# polkit rule, and start a second system dbus-daemon.
grep -q 'cvmrig\.job=' /proc/cmdline ||
	{ echo "$0: runs only in the QEMU guest (tests/vm/run-in-guest.sh)" >&2; exit 2; }
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
. "$here/../integration/lib.sh"

install -m 644 "$top/systemd/org.cvm.Manager1.conf" /usr/share/dbus-1/system.d/
install -m 644 "$top/systemd/org.cvm.policy" /usr/share/polkit-1/actions/
mkdir -p /run/dbus /etc/polkit-1/rules.d
dbus-daemon --system --fork --nopidfile || { not_ok "system dbus-daemon starts"; exit 1; }
/usr/lib/polkit-1/polkitd --no-debug >"$WORK/polkitd.log" 2>&1 &
has_owner() {
	[ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null)" = "b true" ]
}
for _ in $(seq 1 100); do has_owner org.freedesktop.PolicyKit1 && break; sleep 0.1; done
quiet() { "$@" >/dev/null 2>&1; }
check "polkitd is on the system bus" has_owner org.freedesktop.PolicyKit1

# An admin group of its own (the guest is disposable): its members skip
# polkit on D-Bus as on the socket.
ADMIN_GID=4242
echo "cvmtestadm:x:$ADMIN_GID:" >>/etc/group
start_cvmd --bus system --set admin_group=cvmtestadm || { not_ok "cvmd starts"; exit 1; }
for _ in $(seq 1 100); do has_owner org.cvm.Manager1 && break; sleep 0.05; done
check "cvmd owns org.cvm.Manager1 under the shipped bus policy" has_owner org.cvm.Manager1
VMP=/org/cvm/Manager1/vm/web1
busctl --system call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 CreateVM stts web1 1048576 0 demand >/dev/null

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
state() { busctl --system get-property org.cvm.Manager1 $VMP org.cvm.VM1 State; }

out=$(nobody busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 InitStart 2>&1)
case $out in *"not authorized"*|*"access denied"*) ok "non-root denied by polkit (auth_admin_keep, no agent)" ;;
*) not_ok "non-root InitStart: $out" ;; esac
check "non-root denied: nothing changed" [ "$(state)" = 's "normal"' ]
check "non-root: reads work" quiet nobody busctl --system get-property org.cvm.Manager1 $VMP org.cvm.VM1 NormalPages
check "non-root: ListVMs works" quiet nobody busctl --system call org.cvm.Manager1 /org/cvm/Manager1 org.cvm.Manager1 ListVMs
check "root: no polkit needed" quiet busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 DmaShare tt 0 1
quiet busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 DmaUnshare tt 0 1

# No polkit rule yet: only the admin group's membership lets these through.
member() { setpriv --reuid=65534 --regid=65534 --groups=$ADMIN_GID "$@"; }
primary() { setpriv --reuid=65534 --regid=$ADMIN_GID --clear-groups "$@"; }
out=$(member busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 DmaShare tt 0 1 2>&1)
check "admin group (supplementary): a mutating call needs no polkit rule ($out)" [ -z "$out" ]
out=$(primary busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 DmaUnshare tt 0 1 2>&1)
check "admin group (primary): a mutating call needs no polkit rule ($out)" [ -z "$out" ]
check "admin group: VM memory reads too, as on the socket" \
	quiet member busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 GuestRead tu 0 4
out=$(nobody busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 DmaShare tt 0 1 2>&1)
case $out in *"not authorized"*) ok "a non-member is still asked polkit" ;;
*) not_ok "non-member DmaShare: $out" ;; esac

cat >/etc/polkit-1/rules.d/50-cvm-test.rules <<'RULES'
polkit.addRule(function(action, subject) {
	if (action.id == "org.cvm.manage" && subject.user == "nobody")
		return polkit.Result.YES;
});
RULES
# polkitd reloads rules on change; wait until the rule answers.
for _ in $(seq 1 50); do
	nobody busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 InitStart >/dev/null 2>&1 && break
	sleep 0.2
done
check "a polkit rule lets non-root through" [ "$(state)" = 's "transient"' ]
out=$(nobody busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 GuestRead tu 0 4 2>&1)
case $out in *"not authorized"*|*"access denied"*) ok "the rule grants org.cvm.manage only, not org.cvm.access-memory" ;;
*) not_ok "non-root GuestRead: $out" ;; esac

# Callers killed while cvmd waits for polkit about them.
callers=
for i in $(seq 1 30); do
	nobody timeout -s KILL 0.0$((i % 9 + 1)) busctl --system call org.cvm.Manager1 \
		$VMP org.cvm.VM1 PageIn tb $((i * 4096)) false >/dev/null 2>&1 &
	callers="$callers $!"
done
# shellcheck disable=SC2086
wait $callers
sleep 1
check "cvmd alive after callers vanished mid-check" kill -0 "$CVMD_PID"
check "cvmd still answers" quiet busctl --system get-property org.cvm.Manager1 $VMP org.cvm.VM1 State
check "and still applies authorized calls" quiet nobody busctl --system call org.cvm.Manager1 $VMP org.cvm.VM1 InitDone
check "the VM is secure" [ "$(state)" = 's "secure"' ]
finish

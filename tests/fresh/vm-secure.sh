#!/bin/sh
# vm-secure.sh BUILD - run inside the fresh root after `make run`: cvmd
# from the build tree, started without --vmm (it must find the cvm-vmm
# beside itself), takes one VM to secure; prints `cvmctl --json show`.
set -eu
build=${1:?usage: vm-secure.sh BUILD}
work=$(mktemp -d)
sock=$work/cvmd.sock
"$build/daemon/cvmd" --backend sim --socket "$sock" --state-dir "$work/state" \
	--config /dev/null --bus none --set libvirt_uri=none 2>"$work/cvmd.log" &
cvmd=$!
trap 'kill $cvmd 2>/dev/null; wait $cvmd 2>/dev/null; cat "$work/cvmd.log" >&2; rm -rf "$work"' EXIT
ctl() { "$build/client/cvmctl" -c "unix:$sock" "$@"; }
i=0
until ctl status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "cvmd did not answer" >&2; exit 1; }
	sleep 0.05
done
ctl create fresh --memory 64M --memlock-limit 4M
ctl init-start fresh
ctl guest-write fresh 0x10000 --data "first run"
ctl page-in fresh 0x10000
ctl init-done fresh
ctl --json show fresh
ctl terminate fresh
ctl destroy fresh

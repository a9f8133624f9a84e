#!/bin/bash
# walkthrough.sh BUILD_DIR - `make run`: start cvmd on a private socket and
# state directory (backend auto: the module when /dev/cvm exists, the
# simulator otherwise), walk one VM through its secure lifecycle with
# cvmctl, and show side by side what the guest and the host read from a
# secret page at each step. Then shut everything down.
set -euo pipefail
build=${1:?usage: walkthrough.sh BUILD_DIR}
work=$(mktemp -d)
sock=$work/cvmd.sock
cvmd_pid=

cleanup() {
	[ -z "$cvmd_pid" ] || { kill "$cvmd_pid" 2>/dev/null; wait "$cvmd_pid" 2>/dev/null || true; }
	pkill -f "cvm-vmm .*--socket $work/" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

ctl() { "$build/client/cvmctl" -c "unix:$sock" "$@"; }
say() { printf '\n\033[1m$ cvmctl %s\033[0m\n' "$*"; }
run() { say "$@"; ctl "$@"; }

secret="The launch codes are 0000"
gpa=0x10000
len=${#secret}
# What one side reads: the text when every byte is printable ASCII
# (0x20-0x7e), else the first bytes in hex. Read once and decided from the
# hex, so ciphertext (which may hold a newline or any other byte) never
# reaches the terminal raw.
view() {
	local hex
	hex=$(ctl "$1" demo $gpa --length "$len" | od -An -v -tx1 | tr -d ' \n')
	if [[ $hex =~ ^(2[0-9a-f]|[3-6][0-9a-f]|7[0-9a-e])+$ ]]; then
		# shellcheck disable=SC2001 # one \xHH escape per byte
		printf '%b\n' "$(sed 's/../\\x&/g' <<<"$hex")"
	else
		echo "${hex:0:24}... (hex)"
	fi
}
# The host looks first: a guest access pages a paged-out page back in.
side_by_side() {
	local host
	host=$(view host-read)
	printf '  %-20s guest reads: %-27s | host reads: %s\n' "$1" \
		"$(view guest-read)" "$host"
}

# No --vmm: cvmd finds the cvm-vmm beside its own executable. The backend
# is auto unless CVM_RUN_BACKEND says otherwise (the test suites pin sim,
# so they never touch a host's real /dev/cvm). cvmd is not the service:
# it must not talk to a systemd that may be running `make run`.
env -u NOTIFY_SOCKET -u JOURNAL_STREAM -u WATCHDOG_USEC -u WATCHDOG_PID \
	-u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES \
	"$build/daemon/cvmd" --backend "${CVM_RUN_BACKEND:-auto}" --socket "$sock" --state-dir "$work/state" \
	--config /dev/null --bus none --set libvirt_uri=none 2>"$work/cvmd.log" &
cvmd_pid=$!
for _ in $(seq 1 100); do ctl status >/dev/null 2>&1 && break; sleep 0.05; done

run status
run create demo --memory 64M --memlock-limit 4M
run init-start demo
run guest-write demo $gpa --data "$secret"
echo
echo "What each side sees of the secret page, step by step:"
side_by_side "normal page:"
ctl page-in demo $gpa >/dev/null
side_by_side "after page-in:"
ctl page-out demo $gpa >/dev/null
side_by_side "after page-out:"
side_by_side "guest read it back:"
run init-done demo
run show demo
ctl share demo $gpa >/dev/null
side_by_side "after share:"
run terminate demo
run destroy demo
echo
echo "cvmd's log (journal fields when run under systemd):"
sed 's/^/  /' "$work/cvmd.log"

#!/bin/bash
# bench-fleet.sh BUILD_DIR - what the remote API costs (see README.md):
# three private cvmds (sim backend) with TLS on loopback ports, one test
# CA made with openssl (tests/fleet/pki.sh); bench-fleet against the first
# (TLS vs unix round trip after the handshake, handshakes per second),
# then `cvmctl list` over three hosts against one host (median of RUNS).
#
# Prints figures only: the exit status says whether every step worked,
# never how fast anything was.
set -u -o pipefail

BUILD=$(cd "${1:?usage: bench-fleet.sh BUILD_DIR}" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
CVMD=$BUILD/daemon/cvmd
CVMCTL=$BUILD/client/cvmctl
BENCH=$BUILD/tests/bench/bench-fleet
RUNS=${RUNS:-30}
VMS_PER_HOST=${VMS_PER_HOST:-10}
PORT0=${PORT0:-16530}

for f in "$CVMD" "$CVMCTL" "$BENCH"; do
	[ -x "$f" ] || { echo "bench-fleet.sh: $f missing: build it first" >&2; exit 2; }
done
unset CVM_CONNECT NOTIFY_SOCKET LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
WORK=$(mktemp -d /tmp/cvm-bench-fleet.XXXXXX) || exit 1
PKI=$WORK/pki
PIDS=()
cleanup() {
	local p vmms
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	# The VMMs outlive their cvmd by design: these hosts' go too.
	vmms=$(ps -e -o pid=,args= | awk -v w="--socket $WORK/" 'index($0, w) { print $1 }')
	[ -n "$vmms" ] && kill -KILL $vmms 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

"$HERE/../fleet/pki.sh" "$PKI" ca ca &&
	"$HERE/../fleet/pki.sh" "$PKI" server ca srv 127.0.0.1 &&
	"$HERE/../fleet/pki.sh" "$PKI" client ca ops "/O=cvm bench/CN=ops" || exit 1

for n in 1 2 3; do
	d=$WORK/h$n
	mkdir -p "$d"
	"$CVMD" --backend sim --bus none --vmm "$BUILD/daemon/cvm-vmm" \
		--socket "$d/cvmd.sock" --state-dir "$d/state" \
		--set libvirt_uri=none --set "listen_tls=127.0.0.1:$((PORT0 + n))" \
		--set "tls_ca=$PKI/ca/cacert.pem" --set "tls_cert=$PKI/srv/cert.pem" \
		--set "tls_key=$PKI/srv/key.pem" --set 'tls_allow_manage=CN=ops*' \
		>"$d/cvmd.log" 2>&1 &
	PIDS+=($!)
done
for n in 1 2 3; do
	for i in $(seq 100); do
		"$CVMCTL" -c "unix:$WORK/h$n/cvmd.sock" status >/dev/null 2>&1 && break
		sleep 0.1
	done
done
TLS=(); for n in 1 2 3; do TLS+=(-c "tls://127.0.0.1:$((PORT0 + n))"); done
for n in 1 2 3; do
	for i in $(seq "$VMS_PER_HOST"); do
		"$CVMCTL" --pki-dir "$PKI/ops" -c "tls://127.0.0.1:$((PORT0 + n))" \
			create "h$n-vm$i" --memory 1M >/dev/null || exit 1
	done
done

echo "== bench-fleet: cvmd $(cat "$BUILD/../VERSION" 2>/dev/null), $(nproc) CPUs, loopback =="
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" "unix:$WORK/h1/cvmd.sock" "tls://127.0.0.1:$((PORT0 + 1))" "$PKI/ops" 20000 \
	"${PIDS[0]}" || exit 1

median_ms() { # cvmctl ARGS...: median wall time of RUNS runs, in ms
	local i t0 t1
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		"$CVMCTL" --pki-dir "$PKI/ops" "$@" list >/dev/null || return 1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}
one=$(median_ms "${TLS[@]:0:2}") || exit 1
three=$(median_ms "${TLS[@]}") || exit 1
echo "cvmctl list over TLS, $VMS_PER_HOST VMs per host, median of $RUNS runs (a whole process each):"
echo "  one host     $one ms"
echo "  three hosts  $three ms  ($(awk -v a="$three" -v b="$one" 'BEGIN { printf "%.2f", a / b }')x)"

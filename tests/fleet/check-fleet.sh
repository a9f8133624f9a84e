#!/usr/bin/env bash
# check-fleet.sh BUILD - three cvmd hosts on this machine, one cvmctl
# driving them over mutual TLS (DESIGN §9).
#
# Each host is a network namespace of this test's with its own cvmd (sim
# backend, --bus none), state directory and server certificate, all from
# one test CA that the test makes with openssl (tests/fleet/pki.sh). A veth
# pair joins the root namespace to each host: root 192.0.2.(4N+1), host
# 192.0.2.(4N+2), a /30 of TEST-NET-1 (RFC 5737) each. Nothing else is
# contacted.
#
# Each host also serves metrics on its own address, scraped by a real
# Prometheus on a loopback port of the root namespace (prometheus.sh).
#
# Steps are functions, so more can be added:
# start_host N, stop_host N, ctl_as CERT ARGS..., expect CODE WHAT CERT ARGS...
set -uo pipefail

BUILD=${1:?usage: check-fleet.sh BUILD}
# This shell becomes the subreaper of what it starts: the VMMs outlive
# their cvmd (by design), are reparented here and killed and reaped at the
# end, so no VMM of this test is left running or a zombie.
if [ -z "${CVM_FLEET_SUBREAPER:-}" ]; then
	export CVM_FLEET_SUBREAPER=1
	exec /usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER
os.execvp(sys.argv[1], sys.argv[1:])' "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tap.sh"
. "$HERE/prometheus.sh"
# CVM_FLEET_CVMD: another cvmd (the ASan one: build/asan/daemon/cvmd).
CVMD=${CVM_FLEET_CVMD:-$BUILD/daemon/cvmd}
CVMCTL=$BUILD/client/cvmctl
NHOSTS=3

unset CVM_CONNECT NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM \
	LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "skipped: needs root and ip netns"
	exit 77
fi
for t in openssl jq sqlite3 curl; do
	command -v $t >/dev/null || { echo "skipped: needs $t"; exit 77; }
done

WORK=$(mktemp -d /tmp/cvm-fleet.XXXXXX)
PKI=$WORK/pki
TAG=cvmf$$
declare -a PIDS

host_ns() { echo "$TAG-h$1"; }
host_ip() { echo "192.0.2.$((4 * $1 + 2))"; }
root_ip() { echo "192.0.2.$((4 * $1 + 1))"; }
host_uri() { echo "tls://$(host_ip "$1")"; }	# the default port, 16520
host_dir() { echo "$WORK/h$1"; }
METRICS_PORT=9742
host_metrics() { echo "$(host_ip "$1"):$METRICS_PORT"; }	# a Prometheus target

# The VMMs of this test's hosts (their sockets are under $WORK).
vmm_pids() {
	ps -e -o pid=,args= | awk -v w="--socket $WORK/" 'index($0, w) { print $1 }'
}

cleanup() {
	local n pids
	prom_stop
	for n in $(seq 1 $NHOSTS); do
		stop_host "$n"
		ip link del "$TAG-v$n" 2>/dev/null
		ip netns del "$(host_ns "$n")" 2>/dev/null
	done
	jobs -p | xargs -r kill 2>/dev/null
	pids=$(vmm_pids)
	# bash reaps the VMMs reparented to it as they die.
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The namespace and its veth pair.
make_host_net() { # N
	local n=$1 ns
	ns=$(host_ns "$n")
	ip netns add "$ns" || return 1
	ip link add "$TAG-v$n" type veth peer name eth0 netns "$ns" || return 1
	ip addr add "$(root_ip "$n")/30" dev "$TAG-v$n" || return 1
	ip link set "$TAG-v$n" up || return 1
	ip -n "$ns" addr add "$(host_ip "$n")/30" dev eth0 || return 1
	ip -n "$ns" link set eth0 up || return 1
	ip -n "$ns" link set lo up
}

# Start host N's cvmd in its namespace; wait until it serves.
start_host() { # N [CVMD-OPTION...], e.g. --set KEY=VALUE
	local n=$1 d ns i
	shift
	d=$(host_dir "$n")
	ns=$(host_ns "$n")
	mkdir -p "$d"
	[ -f "$d/crl.pem" ] || cp "$PKI/ca/crl.pem" "$d/crl.pem"
	ip netns exec "$ns" "$CVMD" --backend sim --bus none --vmm "$BUILD/daemon/cvm-vmm" \
		--socket "$d/cvmd.sock" --state-dir "$d/state" \
		--set libvirt_uri=none \
		--set "listen_tls=$(host_ip "$n")" \
		--set "metrics_listen=$(host_metrics "$n")" \
		--set "tls_ca=$PKI/ca/cacert.pem" \
		--set "tls_cert=$PKI/srv$n/cert.pem" \
		--set "tls_key=$PKI/srv$n/key.pem" \
		--set "tls_crl=$d/crl.pem" \
		--set 'tls_allow_manage=CN=ops*' \
		--set 'tls_allow_memory=CN=ops1\,*' \
		--set max_connections_per_uid=4 \
		"$@" >>"$d/cvmd.log" 2>&1 &
	PIDS[$n]=$!
	for i in $(seq 100); do
		"$CVMCTL" -c "unix:$d/cvmd.sock" --timeout 2 status >/dev/null 2>&1 &&
			grep -q "tls: listening" "$d/cvmd.log" && return 0
		kill -0 "${PIDS[$n]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_host() { # N [SIGNAL]
	local pid=${PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PIDS[$1]=
}

# cvmctl with client certificate CERT (a --pki-dir under $PKI); stdout in
# $OUT, stderr in $ERR, exit status in $RC.
ctl_as() { # CERT ARGS...
	local cert=$1
	shift
	OUT=$("$CVMCTL" --pki-dir "$PKI/$cert" --timeout 10 "$@" 2>"$WORK/err")
	RC=$?
	ERR=$(cat "$WORK/err")
}

# expect CODE WHAT CERT ARGS...: ok when cvmctl exits CODE.
expect() {
	local want=$1 what=$2
	shift 2
	ctl_as "$@"
	if [ "$RC" = "$want" ]; then
		ok "$what (exit $RC)"
	else
		not_ok "$what: exit $RC, want $want; stderr: $ERR"
	fi
}

# The VM's state as host N's own unix socket says, and its registry row.
state_on() { # N VM
	"$CVMCTL" -c "unix:$(host_dir "$1")/cvmd.sock" --json show "$2" 2>/dev/null |
		jq -r .state
}
registry_on() { # N: "name|state" rows of the registry, sorted
	sqlite3 "$(host_dir "$1")/state/registry.sqlite" \
		"SELECT name, state FROM vms ORDER BY name" 2>/dev/null
}
status_on() { # N FIELD
	"$CVMCTL" -c "unix:$(host_dir "$1")/cvmd.sock" --json status | jq -r ".$2"
}

# --- the PKI: one CA for the fleet, another CA for a rogue ---
make_pki() {
	local p=$HERE/pki.sh n
	"$p" "$PKI" ca ca &&
	"$p" "$PKI" ca other &&
	for n in $(seq 1 $NHOSTS); do
		"$p" "$PKI" server ca "srv$n" "$(host_ip "$n")" || return 1
	done &&
	"$p" "$PKI" client ca ops "/O=cvm test/CN=ops1" &&
	"$p" "$PKI" client ca viewer "/O=cvm test/CN=viewer" &&
	"$p" "$PKI" client ca revokee "/O=cvm test/CN=ops-revokee" &&
	"$p" "$PKI" client ca expired "/O=cvm test/CN=ops-expired" \
		20200101000000Z 20200201000000Z &&
	"$p" "$PKI" client other rogue "/O=cvm test/CN=ops1" &&
	"$p" "$PKI" trust ca rogue &&
	"$p" "$PKI" server ca srvlo 127.0.0.1 &&
	mkdir -p "$PKI/nocert" && cp "$PKI/ca/cacert.pem" "$PKI/nocert/"
}

step "a test CA, three server and five client certificates (openssl)" \
	"$WORK/pki.log" make_pki || exit 1
for n in $(seq 1 $NHOSTS); do
	if make_host_net "$n" && start_host "$n"; then
		ok "host $n: cvmd in namespace $(host_ns "$n") on $(host_uri "$n")"
	else
		not_ok "host $n starts"
		tail -20 "$(host_dir "$n")/cvmd.log" | sed 's/^/#   /'
		exit 1
	fi
done
ALL=()
for n in $(seq 1 $NHOSTS); do ALL+=(-c "$(host_uri "$n")"); done

# A real Prometheus in the root namespace, on a loopback port, scraping
# the three hosts' metrics_listen over the veth pairs, every second.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
TARGETS=()
for n in $(seq 1 $NHOSTS); do TARGETS+=("$(host_metrics "$n")"); done
if prom_start "$(free_port)" 1s "${TARGETS[@]}" && prom_wait_up $NHOSTS 30; then
	ok "prometheus on 127.0.0.1:$PROM_PORT scrapes the three hosts: all up"
else
	not_ok "prometheus scraping ${TARGETS[*]}: up $(prom_value 'count(up == 1)')"
fi

# --- one cvmctl drives all three over mTLS ---
# What each host gets, VM:STATE: host 1 one secure VM, host 2 two, host 3
# none (its VM stays transient), so that a per-host figure read under the
# wrong host or summed over hosts fails.
HOST_VMS=([1]="vm1:secure" [2]="vm2:secure vm2b:secure" [3]="vm3:transient")
secure_made() { # N: secure VMs this test made on host N
	tr ' ' '\n' <<<"${HOST_VMS[$1]}" | grep -c ':secure$'
}
for n in $(seq 1 $NHOSTS); do
	for v in ${HOST_VMS[$n]}; do
		vm=${v%%:*}
		expect 0 "host $n: create $vm" ops -c "$(host_uri "$n")" create "$vm" --memory 4M
		expect 0 "host $n: init-start $vm" ops -c "$(host_uri "$n")" init-start "$vm"
		[ "${v##*:}" = secure ] &&
			expect 0 "host $n: init-done $vm" ops -c "$(host_uri "$n")" init-done "$vm"
	done
done
# "HOST:VM:STATE" of every VM made, sorted, joined by SEP.
made() { # SEP
	local n v
	for n in $(seq 1 $NHOSTS); do
		for v in ${HOST_VMS[$n]}; do echo "$(host_ip "$n")$1${v%%:*}$1${v##*:}"; done
	done | sort | paste -sd ' '
}
NVMS=$(made : | wc -w)
expect 0 "list over three hosts" ops "${ALL[@]}" list
rows=$(awk 'NR > 1 { print $1 ":" $2 ":" $3 }' <<<"$OUT" | sort | paste -sd ' ')
want=$(made :)
if [ "$(head -1 <<<"$OUT" | awk '{ print $1 }')" = HOST ] && [ "$rows" = "$want" ]; then
	ok "list: a HOST column, each host's VMs on their own rows"
else
	not_ok "list: got '$rows', want '$want'; output: $OUT"
fi
expect 0 "list --json over three hosts" ops --json "${ALL[@]}" list
got=$(jq -r '[.[] | "\(.host)=\(.name)=\(.state)"] | sort | join(" ")' <<<"$OUT")
want=$(made =)
if [ "$got" = "$want" ]; then ok "list --json: a host field on each VM"; else not_ok "list --json: $got, want $want"; fi
expect 0 "status --json over three hosts" ops --json "${ALL[@]}" status
if [ "$(jq -r 'map(.host) | length' <<<"$OUT")" = "$NHOSTS" ] &&
	[ "$(jq -r 'map(.vms) | add' <<<"$OUT")" = "$NVMS" ]; then
	ok "status --json: one object per host, each with host"
else
	not_ok "status --json: $OUT"
fi
expect 0 "status over three hosts" ops "${ALL[@]}" status
got=$(sed -n 's/^host: *//p' <<<"$OUT" | paste -sd ' ')
if [ "$got" = "$(for n in $(seq 1 $NHOSTS); do host_ip "$n"; done | paste -sd ' ')" ]; then
	ok "status: one block per host, in -c order, each naming its host"
else
	not_ok "status over three hosts: $OUT"
fi

# --- Prometheus: the secure VMs per host, as each host's cvmd reports ---
# Each instance's figure must be what the test made there; polled while
# the hosts publish (<= 1 s) and Prometheus scrapes (1 s).
prom_secure() {
	local n i got want
	want=$(for n in $(seq 1 $NHOSTS); do echo "$(host_metrics "$n")=$(secure_made "$n")"; done |
		sort | paste -sd ' ')
	for i in $(seq 75); do
		got=$(prom_query 'sum by (instance) (cvm_vms{state="secure"})' |
			jq -r '.data.result | map("\(.metric.instance)=\(.value[1])") | sort | join(" ")')
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	for n in $(seq 1 $NHOSTS); do
		got=$(prom_value "sum by (instance) (cvm_vms{state=\"secure\",instance=\"$(host_metrics "$n")\"})")
		if [ "$got" = "$(secure_made "$n")" ]; then
			ok "PromQL: host $n has $got secure VMs, as made there"
		else
			not_ok "PromQL: host $n has '$got' secure VMs, made $(secure_made "$n")"
		fi
	done
	got=$(prom_value "cvm_vms{state=\"transient\",instance=\"$(host_metrics 3)\"}")
	if [ "$got" = 1 ]; then ok "PromQL: host 3's VM is counted as transient"
	else not_ok "PromQL: host 3's transient VMs: '$got'"; fi
}
prom_secure

# --- attest over mTLS; the report verifies offline against the test CA ---
attest_host1() {
	local nonce other meas r=$WORK/report.pem subj
	nonce=$(openssl rand -hex 16)
	other=$(openssl rand -hex 16)
	meas=$("$CVMCTL" --pki-dir "$PKI/ops" -c "$(host_uri 1)" --json show vm1 | jq -r .measurement)
	expect 0 "attest vm1 over mTLS (--nonce, -o FILE)" ops -c "$(host_uri 1)" \
		attest vm1 --nonce "$nonce" -o "$r"
	expect 0 "verify-report: the test CA, the nonce and vm1's measurement" ops \
		verify-report "$r" --ca "$PKI/ca/cacert.pem" --nonce "$nonce" --measurement "$meas"
	[ "${#meas}" = 64 ] && ok "vm1's measurement from show --json: $meas" ||
		not_ok "vm1's measurement from show --json: '$meas'"
	expect 1 "verify-report with another nonce" ops \
		verify-report "$r" --ca "$PKI/ca/cacert.pem" --nonce "$other" --measurement "$meas"
	case $ERR in *"nonce mismatch"*) ok "verify-report says why: $ERR" ;;
	*) not_ok "verify-report with another nonce says: $ERR" ;; esac
	expect 1 "verify-report with another CA" ops \
		verify-report "$r" --ca "$PKI/other/cacert.pem" --nonce "$nonce" --measurement "$meas"
	case $ERR in *"unknown CA"*) ok "verify-report says why: $ERR" ;;
	*) not_ok "verify-report with another CA says: $ERR" ;; esac
	# The host identity is host 1's TLS server certificate (attest_key
	# defaults to tls_key): its subject in the payload, itself first in
	# the chain.
	subj=$(openssl x509 -in "$PKI/srv1/cert.pem" -noout -subject -nameopt RFC2253 |
		sed 's/^subject=//')
	ctl_as ops --json verify-report "$r" --ca "$PKI/ca/cacert.pem"
	if [ "$(jq -r .host_certificate_subject <<<"$OUT")" = "$subj" ] &&
		[ "$(openssl x509 -in "$r" -noout -fingerprint -sha256)" = \
		  "$(openssl x509 -in "$PKI/srv1/cert.pem" -noout -fingerprint -sha256)" ]; then
		ok "the report names host 1's certificate ($subj) and carries it"
	else
		not_ok "the report's host: $(jq -r .host_certificate_subject <<<"$OUT"), want $subj;" \
			"its first certificate: $(openssl x509 -in "$r" -noout -fingerprint -sha256)"
	fi
}
attest_host1

expect 0 "a read-only DN may read" viewer -c "$(host_uri 1)" show vm1
expect 0 "host 2: create a normal VM" ops -c "$(host_uri 2)" create mem --memory 4M
expect 0 "a DN in tls_allow_memory reads VM memory" ops --json -c "$(host_uri 2)" guest-read mem 0 --length 16
expect 3 "a read-only DN may not read VM memory" viewer -c "$(host_uri 2)" guest-read mem 0 --length 16
expect 3 "a manage DN outside tls_allow_memory may not read VM memory" \
	revokee -c "$(host_uri 2)" guest-read mem 0 --length 16
expect 0 "a manage DN destroys" revokee -c "$(host_uri 2)" destroy mem

# --- a DN is an identity: its own connection cap (max_connections_per_uid) ---
dn_cap() {
	local i pids=()
	for i in 1 2 3 4; do
		"$CVMCTL" --pki-dir "$PKI/viewer" -c "$(host_uri 2)" events >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in $(seq 50); do
		[ "$(status_on 2 tls_connections)" = 4 ] && break
		sleep 0.1
	done
	# cvmd answers LIMIT and closes; the request may cross the close, and
	# the answer be lost to the reset: "connection lost" (3) then.
	ctl_as viewer -c "$(host_uri 2)" list
	case $RC:$ERR in
	1:*"too many connections"* | 3:*"connection to cvmd"*"lost"*)
		ok "a DN over its connection cap is refused (exit $RC)" ;;
	*) not_ok "a DN over its connection cap: exit $RC: $ERR" ;;
	esac
	expect 0 "another DN is served meanwhile" ops -c "$(host_uri 2)" list
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	for i in $(seq 50); do
		[ "$(status_on 2 tls_connections)" = 0 ] && break
		sleep 0.1
	done
	expect 0 "the DN is served again once its connections close" viewer -c "$(host_uri 2)" list
}
dn_cap

# --- hostile peers: the loop never waits on a handshake ---
hostile_tls() {
	local c0 i t0
	c0=$(status_on 1 tls_refused_other)
	# One peer connects and says nothing, another sends plain text.
	exec 7<>"/dev/tcp/$(host_ip 1)/16520"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 bash -c \
		"exec 8<>/dev/tcp/$(host_ip 1)/16520; cat >&8; cat <&8 >/dev/null" 2>/dev/null
	t0=$SECONDS
	expect 0 "a silent peer mid-handshake does not hold up others" ops -c "$(host_uri 1)" list
	for i in $(seq 150); do
		[ "$(status_on 1 tls_refused_other)" -ge $((c0 + 2)) ] && break
		sleep 0.1
	done
	if [ "$(status_on 1 tls_refused_other)" -ge $((c0 + 2)) ] &&
		grep -q "handshake timed out" "$(host_dir 1)/cvmd.log"; then
		ok "plain text and a silent peer refused, the silent one dropped after the handshake timeout ($((SECONDS - t0)) s)"
	else
		not_ok "hostile peers: tls_refused_other $(status_on 1 tls_refused_other) (was $c0)"
	fi
	exec 7>&-
}
hostile_tls

# --- refusals: exit 3, and nothing changes ---
before=$(registry_on 1)
refused() { # CERT WHAT COUNTER
	local cert=$1 what=$2 counter=$3 c0 c1
	c0=$(status_on 1 "$counter")
	expect 3 "$what: terminate refused" "$cert" -c "$(host_uri 1)" terminate vm1
	expect 3 "$what: create refused" "$cert" -c "$(host_uri 1)" create intruder --memory 4M
	expect 3 "$what: list refused" "$cert" -c "$(host_uri 1)" list
	c1=$(status_on 1 "$counter")
	if [ "$(state_on 1 vm1)" = secure ] && [ "$(registry_on 1)" = "$before" ]; then
		ok "$what: vm1 still secure, the registry unchanged"
	else
		not_ok "$what: vm1 $(state_on 1 vm1), registry $(registry_on 1)"
	fi
	if [ "$c1" -ge $((c0 + 2)) ]; then
		ok "$what: counted in status ($counter $c0 -> $c1)"
	else
		not_ok "$what: $counter $c0 -> $c1"
	fi
}
refused nocert "no certificate" tls_refused_no_cert
refused rogue "another CA's certificate" tls_refused_unknown_ca
refused expired "an expired certificate" tls_refused_expired
if grep -q "tls: refused $(root_ip 1):[0-9]*: no client certificate" "$(host_dir 1)/cvmd.log" &&
	grep -q "tls: refused $(root_ip 1):[0-9]*: certificate expired" "$(host_dir 1)/cvmd.log"; then
	ok "refusals logged with the peer's address"
else
	not_ok "refusals logged with the peer's address"
fi

c0=$(status_on 1 tls_refused_denied)
expect 3 "a read-only DN: terminate refused" viewer -c "$(host_uri 1)" terminate vm1
case $ERR in *"CN=viewer,O=cvm test"*) ok "the refusal names the DN (RFC 4514 order)" ;;
*) not_ok "refusal message: $ERR" ;; esac
expect 3 "a read-only DN: create refused" viewer -c "$(host_uri 1)" create intruder --memory 4M
expect 3 "a read-only DN: destroy refused" viewer -c "$(host_uri 1)" destroy vm1
if [ "$(state_on 1 vm1)" = secure ] && [ "$(registry_on 1)" = "$before" ] &&
	[ "$(status_on 1 tls_refused_denied)" = $((c0 + 3)) ]; then
	ok "a read-only DN: vm1 still secure, the registry unchanged, 3 counted"
else
	not_ok "a read-only DN: vm1 $(state_on 1 vm1), registry $(registry_on 1)"
fi

# --- revocation on SIGHUP: new handshakes and open connections ---
expect 0 "the revokee may act before" revokee -c "$(host_uri 1)" create rv --memory 4M
"$CVMCTL" --pki-dir "$PKI/revokee" -c "$(host_uri 1)" events >"$WORK/ev-rv" 2>&1 &
EV_RV=$!
"$CVMCTL" --pki-dir "$PKI/ops" -c "$(host_uri 1)" events >"$WORK/ev-ops" 2>&1 &
EV_OPS=$!
for i in $(seq 50); do
	[ "$(status_on 1 tls_connections)" = 2 ] && break
	sleep 0.1
done
before=$(registry_on 1)
"$HERE/pki.sh" "$PKI" revoke ca revokee && cp "$PKI/ca/crl.pem" "$(host_dir 1)/crl.pem"
kill -HUP "${PIDS[1]}"
for i in $(seq 50); do
	kill -0 "$EV_RV" 2>/dev/null || break
	sleep 0.1
done
if ! kill -0 "$EV_RV" 2>/dev/null; then
	wait "$EV_RV"
	rc=$?
	if [ "$rc" = 3 ]; then ok "SIGHUP with a new CRL: the revoked client's open connection is closed (exit 3)"
	else not_ok "the revoked client's events exited $rc: $(cat "$WORK/ev-rv")"; fi
else
	not_ok "SIGHUP with a new CRL: the revoked client's connection stays open"
fi
if kill -0 "$EV_OPS" 2>/dev/null; then
	ok "SIGHUP: another client's connection stays open"
else
	not_ok "SIGHUP dropped a valid client: $(cat "$WORK/ev-ops")"
fi
expect 3 "a revoked certificate: destroy refused" revokee -c "$(host_uri 1)" destroy rv
expect 3 "a revoked certificate: list refused" revokee -c "$(host_uri 1)" list
if [ "$(state_on 1 rv)" = normal ] && [ "$(registry_on 1)" = "$before" ] &&
	[ "$(status_on 1 tls_refused_revoked)" -ge 2 ]; then
	ok "a revoked certificate: rv still there, the registry unchanged, refusals counted"
else
	not_ok "revoked: rv $(state_on 1 rv), counted $(status_on 1 tls_refused_revoked)"
fi
expect 0 "after SIGHUP a valid client still connects" ops -c "$(host_uri 1)" destroy rv
kill "$EV_OPS" 2>/dev/null
wait "$EV_OPS" 2>/dev/null
grep -q "rv.*normal\|destroy" "$WORK/ev-ops" &&
	ok "the open events stream saw the destroy after the reload" ||
	not_ok "events after reload: $(cat "$WORK/ev-ops")"

# --- events from several hosts, each event naming its host ---
fanout_events() {
	local i
	"$CVMCTL" --pki-dir "$PKI/ops" --json -c "$(host_uri 1)" -c "$(host_uri 2)" \
		events >"$WORK/ev-fan" 2>&1 &
	local pid=$!
	for i in $(seq 50); do
		[ "$(status_on 2 tls_connections)" = 1 ] && break
		sleep 0.1
	done
	ctl_as ops -c "$(host_uri 2)" create fan2 --memory 4M
	ctl_as ops -c "$(host_uri 1)" create fan1 --memory 4M
	for i in $(seq 50); do
		[ "$(grep -c '"host"' "$WORK/ev-fan")" -ge 2 ] && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid"
	if jq -se 'map(select(.vm == "fan1" and .host == "'"$(host_ip 1)"'")) | length > 0' "$WORK/ev-fan" >/dev/null &&
		jq -se 'map(select(.vm == "fan2" and .host == "'"$(host_ip 2)"'")) | length > 0' "$WORK/ev-fan" >/dev/null; then
		ok "events over two hosts: each event with its host"
	else
		not_ok "events over two hosts: $(cat "$WORK/ev-fan")"
	fi
	ctl_as ops -c "$(host_uri 1)" destroy fan1
	ctl_as ops -c "$(host_uri 2)" destroy fan2
}
fanout_events

# --- a fan-out asks its hosts at once ---
# Two peers that accept TCP and never answer the TLS handshake, between
# hosts 1 and 2: asked one after another they would cost --timeout each;
# asked at once, one --timeout in all. Output and errors keep the -c order.
fanout_concurrent() {
	local t=3 ms ports s1 s2 pid i
	python3 -c 'import socket, time
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0)); x.listen(8)
print(*(x.getsockname()[1] for x in s), flush=True)
time.sleep(120)' >"$WORK/silent" &
	pid=$!
	for i in $(seq 50); do [ -s "$WORK/silent" ] && break; sleep 0.1; done
	read -r s1 s2 <"$WORK/silent"
	s1=tls://127.0.0.1:$s1 s2=tls://127.0.0.1:$s2
	ms=$(date +%s%N)
	OUT=$("$CVMCTL" --pki-dir "$PKI/ops" --timeout $t -c "$s1" -c "$(host_uri 1)" \
		-c "$s2" -c "$(host_uri 2)" list 2>"$WORK/err")
	RC=$?
	ms=$((($(date +%s%N) - ms) / 1000000))
	ERR=$(cat "$WORK/err")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$RC" = 3 ] && [ "$(grep -o 'tls://127.0.0.1:[0-9]*' <<<"$ERR" | paste -sd ' ')" = "$s1 $s2" ]; then
		ok "two silent hosts: exit 3, both named in -c order"
	else
		not_ok "two silent hosts: exit $RC: $ERR"
	fi
	if [ "$(awk 'NR > 1 { print $1 }' <<<"$OUT" | uniq | paste -sd ' ')" = "$(host_ip 1) $(host_ip 2)" ]; then
		ok "the hosts that answer are listed in -c order"
	else
		not_ok "list with two silent hosts: $OUT"
	fi
	if [ "$ms" -lt $((t * 1000 * 3 / 2)) ]; then
		ok "the hosts were asked at once: $ms ms for two silent ones at --timeout $t"
	else
		not_ok "the hosts were asked in turn: $ms ms for two silent ones at --timeout $t"
	fi
}
fanout_concurrent

# --- a host that goes down is named, the others still answer ---
stop_host 3 KILL
expect 3 "list with host 3's cvmd killed" ops "${ALL[@]}" list
case $ERR in *"$(host_uri 3)"*) ok "cvmctl names the host that is down" ;;
*) not_ok "stderr does not name $(host_uri 3): $ERR" ;; esac
if grep -q "vm1" <<<"$OUT" && grep -q "vm2" <<<"$OUT"; then
	ok "the hosts that are up are still listed"
else
	not_ok "list with a host down: $OUT"
fi
# ... and Prometheus sees it down at its next scrape, the others up.
for i in $(seq 50); do
	[ "$(prom_value "up{instance=\"$(host_metrics 3)\"}")" = 0 ] && break
	sleep 0.2
done
ups=$(for n in $(seq 1 $NHOSTS); do prom_value "up{instance=\"$(host_metrics "$n")\"}"; done | paste -sd ' ')
if [ "$ups" = "1 1 0" ]; then
	ok "prometheus: host 3 up == 0, hosts 1 and 2 up == 1"
else
	not_ok "prometheus after host 3's cvmd was killed: up of hosts 1..3 = $ups"
fi

# --- under systemd: the TLS port passed as a socket named "tls" ---
# systemd-socket-activate does what cvmd.socket and cvmd-tls.socket do
# together: both fds, named; cvmd takes the unix one for its API socket and
# the "tls" one for the remote API. In host 3's namespace, on its loopback.
activated_host() {
	local ns d i
	ns=$(host_ns 3)
	d=$WORK/act
	mkdir -p "$d"
	ip netns exec "$ns" systemd-socket-activate -l "$d/cvmd.sock" -l 127.0.0.1:16520 \
		--fdname=cvmd.socket:tls "$CVMD" --backend sim --bus none \
		--vmm "$BUILD/daemon/cvm-vmm" --config /dev/null \
		--socket "$d/cvmd.sock" --state-dir "$d/state" --set libvirt_uri=none \
		--set "tls_ca=$PKI/ca/cacert.pem" --set "tls_cert=$PKI/srvlo/cert.pem" \
		--set "tls_key=$PKI/srvlo/key.pem" --set 'tls_allow_manage=CN=ops*' \
		>>"$d/cvmd.log" 2>&1 &
	ACT_PID=$!
	for i in $(seq 50); do
		ip netns exec "$ns" ss -ltn | grep -q 127.0.0.1:16520 && break
		sleep 0.1
	done
	OUT=$(ip netns exec "$ns" "$CVMCTL" --pki-dir "$PKI/ops" -c tls://127.0.0.1 \
		--json status 2>&1)
	RC=$?
}
if command -v systemd-socket-activate >/dev/null; then
	activated_host
	if [ "$RC" = 0 ] && grep -q "tls: listening on cvmd-tls.socket" "$WORK/act/cvmd.log" &&
		grep -q "(activated)" "$WORK/act/cvmd.log"; then
		ok "activation: the first TLS client starts cvmd, which serves both passed sockets"
	else
		not_ok "activation: exit $RC: $OUT; $(cat "$WORK/act/cvmd.log")"
	fi
	kill "$ACT_PID" 2>/dev/null
	wait "$ACT_PID" 2>/dev/null
fi
root=$WORK/units
mkdir -p "$root/usr/sbin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp "$CVMD" "$root/usr/sbin/cvmd"
mkdir -p "$root/bin" && cp /bin/kill "$root/bin/kill"	# ExecReload=
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$HERE/../../systemd/cvmd.service" "$HERE/../../systemd/cvmd.socket" \
	"$HERE/../../systemd/cvmd-tls.socket" "$root/etc/systemd/system/"
out=$(systemd-analyze verify --man=no --root="$root" cvmd-tls.socket cvmd.service 2>&1)
if [ $? = 0 ] && [ -z "$out" ]; then ok "units: systemd-analyze verify cvmd-tls.socket is clean"
else not_ok "units: systemd-analyze verify: $out"; fi
score=$(systemd-analyze security --offline=yes --root="$root" cvmd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for cvmd.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security cvmd.service: exposure $score"

# Every cvmd stopped: nothing for a sanitizer to say (CVM_FLEET_CVMD).
for n in $(seq 1 $NHOSTS); do stop_host "$n"; done
bad=$(grep -l "Sanitizer\|runtime error" "$WORK"/h*/cvmd.log "$WORK"/act/cvmd.log 2>/dev/null)
if [ -z "$bad" ]; then ok "cvmd logs: no sanitizer report"
else not_ok "sanitizer reports in: $bad"; grep -h -A12 "Sanitizer\|runtime error" $bad | sed 's/^/#   /' | head -60; fi

echo "# $failures failed"
[ "$failures" = 0 ]

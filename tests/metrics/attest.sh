#!/bin/bash
# attest.sh BUILD - signed launch reports from a real cvmd (sim backend):
# cvmctl attest, cvmctl verify-report (valid; and each way to be invalid:
# another nonce, another measurement, a changed byte, another CA, an
# expired certificate), the openssl-only verification of
# docs/attestation.md run as written there, an Ed25519 key, and attest as
# a reader who may not mutate.
BUILD=${1:?usage: attest.sh BUILD}
BACKEND=sim
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
# cvmd under ASan + UBSan when built (make check builds it): its HTTP
# thread and the loop share the published text.
[ -x "$BUILD/asan/daemon/cvmd" ] && CVMD=$BUILD/asan/daemon/cvmd

PKI=$WORK/pki
mkdir -p "$PKI"
# mk_ca NAME: NAME.key, NAME.pem (self-signed, P-256).
mk_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 \
		-subj "/CN=$1/O=cvm test" 2>/dev/null
}
# mk_cert NAME CA KEYTYPE [X509-ARGS...]: NAME.key and NAME.pem signed by CA.
mk_cert() {
	local name=$1 ca=$2 type=$3
	shift 3
	if [ "$type" = ed25519 ]; then
		openssl genpkey -algorithm ed25519 -out "$PKI/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 \
			-out "$PKI/$name.key" 2>/dev/null
	fi
	openssl req -new -key "$PKI/$name.key" -subj "/CN=$name/O=cvm test" \
		-out "$PKI/$name.csr" 2>/dev/null &&
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.pem" \
		-CAkey "$PKI/$ca.key" -CAcreateserial -out "$PKI/$name.pem" "$@" 2>/dev/null
}
mk_ca ca && mk_ca otherca && mk_cert host1 ca ec -days 1 && mk_cert edhost ca ed25519 -days 1 ||
	{ not_ok "test PKI made with openssl"; exit 1; }
ok "test PKI made with openssl (two CAs, P-256 and Ed25519 host keys)"

start_cvmd --set "attest_key=$PKI/host1.key" --set "attest_cert=$PKI/host1.pem" ||
	{ not_ok "cvmd starts with attest_key"; exit 1; }

ctl create v1 --memory 64K >/dev/null && ctl init-start v1 >/dev/null &&
	ctl guest-write v1 0 --data "launch image" >/dev/null && ctl init-done v1 >/dev/null ||
	not_ok "v1 launched"
MEAS=$(ctl --json show v1 | jq -r .measurement)
check "v1 is sealed with a measurement" [ "${#MEAS}" = 64 ]
NONCE=$(openssl rand -hex 16)
R=$WORK/report.pem

expect_exit 0 "attest v1 --nonce -o FILE" attest v1 --nonce "$NONCE" -o "$R"
check "the report has its three parts" sh -c "grep -q 'BEGIN CVM LAUNCH REPORT' '$R' &&
	grep -q 'BEGIN CVM REPORT SIGNATURE' '$R' && grep -q 'BEGIN CERTIFICATE' '$R'"

verify() { "$CVMCTL" verify-report "$@" 2>"$WORK/err"; }
OUT=$(verify "$R" --ca "$PKI/ca.pem" --nonce "$NONCE" --measurement "$MEAS")
check "verify-report: valid (exit 0)" [ $? = 0 ]
for f in "uuid $(ctl --json show v1 | jq -r .uuid)" "name v1" "state secure" \
	"measurement $MEAS" "nonce $NONCE" "measured_pages $(ctl --json show v1 | jq -r .measured_pages)" \
	"cvm_version $(cat "$here/../../VERSION")" "host $(hostname)" \
	"host_certificate_subject O=cvm test,CN=host1"; do
	check "the report binds ${f%% *}" sh -c 'printf "%s\n" "$1" | grep -qE "^  ${2%% *} +${2#* }\$"' _ "$OUT" "$f"
done
check "the root of trust is stated as software, no hardware" sh -c \
	"printf '%s' \"\$1\" | grep -q 'root_of_trust.*host kernel.*no hardware'" _ "$OUT"
OUT=$("$CVMCTL" --json verify-report "$R" --ca "$PKI/ca.pem")
jq_is "verify-report --json: valid" "$OUT" .valid true
jq_is "verify-report --json: signature algorithm" "$OUT" .signature_algorithm ecdsa-p256-sha256

# expect_invalid DESCRIPTION REASON-PATTERN verify-report-args...
expect_invalid() {
	local what=$1 pat=$2 st
	shift 2
	verify "$@" >/dev/null
	st=$?
	if [ $st = 1 ] && grep -q "$pat" "$WORK/err"; then
		ok "$what: exit 1, says '$pat'"
	else
		not_ok "$what: exit $st, stderr: $(cat "$WORK/err")"
	fi
}
expect_invalid "another nonce" "nonce mismatch" "$R" --ca "$PKI/ca.pem" --nonce "$(openssl rand -hex 16)"
expect_invalid "another measurement" "measurement mismatch" "$R" --ca "$PKI/ca.pem" \
	--measurement "$(printf 'x' | sha256sum | cut -c1-64)"
expect_invalid "another CA" "unknown CA" "$R" --ca "$PKI/otherca.pem"

# One changed byte of the payload: re-encoded, so only the signature can tell.
changed() { # REPORT SED-EXPRESSION > NEW-REPORT
	local p
	p=$(sed -n '/^-----BEGIN CVM LAUNCH REPORT-----$/,/^-----END CVM LAUNCH REPORT-----$/p' "$1" |
		sed '1d;$d' | openssl base64 -d | sed "$2" | openssl base64)
	echo "-----BEGIN CVM LAUNCH REPORT-----"
	echo "$p"
	echo "-----END CVM LAUNCH REPORT-----"
	sed -n '/^-----BEGIN CVM REPORT SIGNATURE-----$/,$p' "$1"
}
changed "$R" 's/^state: secure$/state: securf/' >"$WORK/changed.pem"
payload_of() {
	sed -n '/^-----BEGIN CVM LAUNCH REPORT-----$/,/^-----END CVM LAUNCH REPORT-----$/p' "$1" |
		sed '1d;$d' | openssl base64 -d
}
ndiff=$(cmp -l <(payload_of "$R") <(payload_of "$WORK/changed.pem") | wc -l)
check "the changed report differs in one byte of its payload ($ndiff)" [ "$ndiff" = 1 ]
expect_invalid "a changed byte" "bad signature" "$WORK/changed.pem" --ca "$PKI/ca.pem"
changed "$R" "s/^nonce: .*/nonce: $NONCE/" >"$WORK/same.pem"
verify "$WORK/same.pem" --ca "$PKI/ca.pem" >/dev/null
check "the same payload re-encoded still verifies (the test's splice is sound)" [ $? = 0 ]
head -c 100 "$R" >"$WORK/cut.pem"
expect_invalid "a truncated file" "malformed report" "$WORK/cut.pem" --ca "$PKI/ca.pem"

# The openssl-only verification of docs/attestation.md, as written there.
awk '/^## Verifying with openssl alone/ { on = 1 } on && /^```sh$/ { code = 1; next }
	code && /^```$/ { exit } code { print }' "$here/../../docs/attestation.md" >"$WORK/openssl.sh"
check "docs/attestation.md has the openssl commands" [ -s "$WORK/openssl.sh" ]
mkdir -p "$WORK/o"
cp "$R" "$WORK/o/report.pem"
cp "$PKI/ca.pem" "$WORK/o/cacert.pem"
if (cd "$WORK/o" && NONCE=$NONCE MEASUREMENT=$MEAS bash -e "$WORK/openssl.sh") >"$WORK/o.log" 2>&1; then
	ok "openssl alone verifies the report (docs/attestation.md)"
else
	not_ok "openssl alone: $(tail -5 "$WORK/o.log")"
fi
cp "$WORK/changed.pem" "$WORK/o/report.pem"
(cd "$WORK/o" && NONCE=$NONCE MEASUREMENT=$MEAS bash -e "$WORK/openssl.sh") >/dev/null 2>&1
check "openssl alone refuses the changed byte" [ $? != 0 ]
cp "$R" "$WORK/o/report.pem"
cp "$PKI/otherca.pem" "$WORK/o/cacert.pem"
(cd "$WORK/o" && NONCE=$NONCE MEASUREMENT=$MEAS bash -e "$WORK/openssl.sh") >/dev/null 2>&1
check "openssl alone refuses another CA" [ $? != 0 ]

# Any reader may attest (it is a read); no nonce gives an empty one.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$CVMCTL" -c "unix:$SOCK" "$@"; }
if as_nobody attest v1 >"$WORK/nobody.pem" 2>"$WORK/err"; then
	ok "a non-admin reader may attest"
	verify "$WORK/nobody.pem" --ca "$PKI/ca.pem" >/dev/null
	check "that report verifies" [ $? = 0 ]
	expect_invalid "a report without nonce, checked against one" "nonce mismatch" \
		"$WORK/nobody.pem" --ca "$PKI/ca.pem" --nonce "$NONCE"
else
	not_ok "a non-admin reader may attest: $(cat "$WORK/err")"
fi

# Refusals before signing.
expect_exit 2 "attest: a nonce over 64 bytes is a usage error" attest v1 --nonce "$(openssl rand -hex 65)"
expect_exit 2 "attest: a nonce that is not hex is a usage error" attest v1 --nonce xyz
expect_exit 1 "attest: no such VM" attest nosuch
"$CVMCTL" verify-report "$R" >/dev/null 2>&1
check "verify-report without --ca: usage error (exit 2)" [ $? = 2 ]
stop_cvmd

# An expired host certificate (openssl ca with past dates) fails as such.
mkdir -p "$PKI/db/new" && : >"$PKI/db/index.txt" && echo 1000 >"$PKI/db/serial"
cat >"$PKI/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
dir = $PKI/db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
[any]
commonName = supplied
organizationName = optional
EOF
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/old.key" 2>/dev/null
openssl req -new -key "$PKI/old.key" -subj "/CN=old/O=cvm test" -out "$PKI/old.csr" 2>/dev/null
openssl ca -batch -config "$PKI/ca.cnf" -cert "$PKI/ca.pem" -keyfile "$PKI/ca.key" \
	-startdate 20200101000000Z -enddate 20200102000000Z -in "$PKI/old.csr" \
	-out "$PKI/old.pem" >/dev/null 2>&1 || not_ok "expired certificate made with openssl ca"
start_cvmd --set "attest_key=$PKI/old.key" --set "attest_cert=$PKI/old.pem" || not_ok "cvmd restarts"
expect_exit 0 "attest with an expired host certificate" attest v1 -o "$WORK/old.pem"
expect_invalid "an expired host certificate" "not valid now" "$WORK/old.pem" --ca "$PKI/ca.pem"
stop_cvmd

# Ed25519.
start_cvmd --set "attest_key=$PKI/edhost.key" --set "attest_cert=$PKI/edhost.pem" || not_ok "cvmd restarts"
expect_exit 0 "attest with an Ed25519 key" attest v1 --nonce "$NONCE" -o "$WORK/ed.pem"
OUT=$("$CVMCTL" --json verify-report "$WORK/ed.pem" --ca "$PKI/ca.pem" --nonce "$NONCE" --measurement "$MEAS")
jq_is "Ed25519 report verifies" "$OUT" .signature_algorithm ed25519
changed "$WORK/ed.pem" 's/^name: v1$/name: v2/' >"$WORK/ed-changed.pem"
expect_invalid "Ed25519: a changed byte" "bad signature" "$WORK/ed-changed.pem" --ca "$PKI/ca.pem"
stop_cvmd

# A name with a newline (only a damaged registry can hold one) would forge
# a field of its own: refused, not signed.
sqlite3 "$STATE/registry.sqlite" "INSERT INTO vms (name, uuid, state, memory_bytes,
	memlock_limit_bytes, pin, vmm_pid, vmm_socket, failure) VALUES
	('bad' || char(10) || 'nonce: 00', '00000000-0000-4000-8000-000000000002', 3, 4096, 0, 0, 0, '', 'test')"
start_cvmd --set "attest_key=$PKI/host1.key" --set "attest_cert=$PKI/host1.pem" || not_ok "cvmd restarts"
expect_exit 1 "attest: a VM name holding a newline is refused" attest "$(printf 'bad\nnonce: 00')"
case $ERR in *"not printable"*) ok "and says so" ;; *) not_ok "message: $ERR" ;; esac
stop_cvmd
sqlite3 "$STATE/registry.sqlite" "DELETE FROM vms WHERE uuid = '00000000-0000-4000-8000-000000000002'"

# A key that does not match the certificate, or none at all: refused.
start_cvmd --set "attest_key=$PKI/edhost.key" --set "attest_cert=$PKI/host1.pem" || not_ok "cvmd restarts"
expect_exit 1 "attest: a key that is not the certificate's is refused" attest v1
case $ERR in *"not the attestation key's"*) ok "and says so" ;; *) not_ok "message: $ERR" ;; esac
stop_cvmd
start_cvmd --set "attest_key=$PKI/none.key" --set "attest_cert=$PKI/host1.pem" || not_ok "cvmd restarts"
expect_exit 1 "attest: no key file" attest v1
case $ERR in *"cannot read the attestation key"*) ok "and says so" ;; *) not_ok "message: $ERR" ;; esac
ctl destroy v1 >/dev/null
stop_cvmd
# Every start and stop above under ASan: nothing reported (a use after free
# in the metrics handles' teardown was caught this way).
if grep -q 'Sanitizer' "$LOG"; then
	not_ok "cvmd's sanitizers reported:"
	grep -A12 'Sanitizer' "$LOG" | head -30 | sed 's/^/#   /'
else
	ok "cvmd's sanitizers reported nothing"
fi
finish

#!/usr/bin/env bash
# A test PKI made with openssl alone (docs/remote.md shows the same steps):
#
#   tests/fleet/pki.sh DIR ca NAME                  a CA in DIR/NAME
#   tests/fleet/pki.sh DIR server CA NAME IP        server cert for IP
#   tests/fleet/pki.sh DIR client CA NAME DN [START END]
#                                                   client cert (dates
#                                                   YYYYMMDDHHMMSSZ: past
#                                                   ones give an expired one)
#   tests/fleet/pki.sh DIR revoke CA NAME           revoke, new DIR/CA/crl.pem
#   tests/fleet/pki.sh DIR trust CA NAME            NAME trusts CA's servers
#
# Each certificate goes to DIR/NAME/{cert,key}.pem, with the CA as
# DIR/NAME/cacert.pem, and as cvmctl's --pki-dir layout (cacert.pem,
# clientcert.pem, clientkey.pem).
set -euo pipefail

dir=$1 what=$2
shift 2

ca_conf() {	# CADIR
	cat >"$1/ca.conf" <<CONF
[ca]
default_ca = test
[test]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/cacert.pem
private_key = \$dir/cakey.pem
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
copy_extensions = copy
unique_subject = no
# the request's DN order, not the policy's
preserve = yes
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
CONF
}

case $what in
ca)
	name=$1 d=$dir/$1
	mkdir -p "$d/newcerts"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	echo 1000 >"$d/crlnumber"
	ca_conf "$d"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/cakey.pem" -out "$d/cacert.pem" -days 30 \
		-subj "/O=cvm test/CN=$name" 2>/dev/null
	openssl ca -config "$d/ca.conf" -gencrl -out "$d/crl.pem" 2>/dev/null
	;;
server|client)
	ca=$1 name=$2 subj=$3 d=$dir/$2
	mkdir -p "$d"
	if [ "$what" = server ]; then
		san="subjectAltName=IP:$subj"
		subj="/O=cvm test/CN=$subj"
	else
		san="subjectAltName=email:test@example.invalid"
	fi
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/key.pem" -out "$d/req.pem" -subj "$subj" \
		-addext "$san" 2>/dev/null
	dates=()
	[ $# -ge 5 ] && dates=(-startdate "$4" -enddate "$5")
	openssl ca -batch -config "$dir/$ca/ca.conf" -extensions "$what" \
		-notext "${dates[@]}" -in "$d/req.pem" -out "$d/cert.pem" 2>/dev/null
	cp "$dir/$ca/cacert.pem" "$d/cacert.pem"
	ln -sf cert.pem "$d/clientcert.pem"
	ln -sf key.pem "$d/clientkey.pem"
	;;
trust)
	cp "$dir/$1/cacert.pem" "$dir/$2/cacert.pem"
	;;
revoke)
	ca=$1 name=$2
	openssl ca -config "$dir/$ca/ca.conf" -revoke "$dir/$name/cert.pem" 2>/dev/null
	openssl ca -config "$dir/$ca/ca.conf" -gencrl -out "$dir/$ca/crl.pem" 2>/dev/null
	;;
*)
	echo "pki.sh: unknown step '$what'" >&2
	exit 2
	;;
esac

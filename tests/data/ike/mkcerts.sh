#!/bin/sh
# Test PKI for IKE_AUTH, made with the openssl command line only (no
# network, nothing committed): mkcerts.sh DIR
#
#   ca.crt/.key          "mipsec test CA" (ECDSA P-256), trusted
#   ca.crl               its CRL, revoking revoked.crt
#   inter.crt/.key       intermediate CA signed by ca (sent, not trusted)
#   ca2.crt/.key         "mipsec other CA", trusted in some tests only
#   ha.crt/.key          ECDSA P-256 leaf of ca: DNS ha.example.org,
#                        IP 2001:db8::1, IP 192.0.2.1, email ha@example.org
#   mn.crt/.key          RSA-2048 leaf of ca: DNS mn.example.org,
#                        IP 2001:db8:30::100
#   leaf-inter.crt/.key  ECDSA leaf of inter: DNS inter.example.org
#   expired.crt/.key     leaf of ca, valid 2020-01-01 .. 2021-01-01
#   future.crt/.key      leaf of ca, valid from 2099-01-01
#   revoked.crt/.key     leaf of ca, listed in ca.crl
#   other.crt/.key       leaf of ca2: DNS ha.example.org
#   wrongsan.crt/.key    leaf of ca: DNS other.example.org only
#   bundle.crt           ha.crt followed by inter.crt (a cert file with a chain)
set -eu
D=${1:?usage: mkcerts.sh DIR}
mkdir -p "$D"
cd "$D"
export OPENSSL_CONF=/dev/null

ca_conf() {	# name
	mkdir -p "$1.db/new"
	: >"$1.db/index.txt"
	echo 1000 >"$1.db/serial"
	echo 1000 >"$1.db/crlnumber"
	cat >"$1.cnf" <<EOF
[ca]
default_ca = ca_default
[ca_default]
dir = $D/$1.db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $D/$1.crt
private_key = $D/$1.key
default_md = sha256
default_days = 365
default_crl_days = 3650
policy = pol
copy_extensions = copy
unique_subject = no
[pol]
organizationName = optional
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[subca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

root_ca() {	# name CN
	ec_key "$1"
	openssl req -x509 -new -key "$1.key" -subj "/O=mipsec/CN=$2" -days 3650 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
	ca_conf "$1"
}

leaf() {	# name ca ext-section san [ca options...]
	n=$1 ca=$2 ext=$3 san=$4
	shift 4
	[ -f "$n.key" ] || ec_key "$n"
	if [ -n "$san" ]; then
		openssl req -new -key "$n.key" -subj "/O=mipsec/CN=$n" -addext "subjectAltName=$san" \
			-out "$n.csr"
	else
		openssl req -new -key "$n.key" -subj "/O=mipsec/CN=$n" -out "$n.csr"
	fi
	openssl ca -batch -notext -config "$ca.cnf" -extensions "$ext" -in "$n.csr" \
		-out "$n.crt" "$@" 2>/dev/null
}

root_ca ca "mipsec test CA"
root_ca ca2 "mipsec other CA"
leaf inter ca subca ""
ca_conf inter
leaf ha ca leaf "DNS:ha.example.org,IP:2001:db8::1,IP:192.0.2.1,email:ha@example.org"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out mn.key 2>/dev/null
leaf mn ca leaf "DNS:mn.example.org,IP:2001:db8:30::100"
leaf leaf-inter inter leaf "DNS:inter.example.org"
leaf expired ca leaf "DNS:ha.example.org" -startdate 20200101000000Z -enddate 20210101000000Z
leaf future ca leaf "DNS:ha.example.org" -startdate 20990101000000Z -enddate 20991231000000Z
leaf revoked ca leaf "DNS:ha.example.org"
leaf other ca2 leaf "DNS:ha.example.org"
leaf wrongsan ca leaf "DNS:other.example.org"
openssl ca -batch -config ca.cnf -revoke revoked.crt 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -out ca.crl 2>/dev/null
cat ha.crt inter.crt >bundle.crt
rm -f ./*.csr

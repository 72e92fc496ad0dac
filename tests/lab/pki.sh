#!/bin/bash
# pki.sh DIR: the certificate factory of the IPsec/IKEv2 lab tests and benches.
#
# Makes, with `openssl` only (no strongSwan code, so that interop tests do
# not validate strongSwan against itself), everything under DIR.  File names
# are fixed; a second run with everything present does nothing (the stamp
# DIR/.pki-v1 is written last), so tests may share one DIR.  Prints nothing
# on success; on failure, openssl's output and a non-zero exit.
#
#   ca.key  ca.crt  ca.der       CA "C=XX, O=mipsec, CN=mipsec test CA" (ECDSA P-256)
#   ca2.key ca2.crt ca2.der      an unrelated CA "C=XX, O=other, CN=other test CA"
#   gw-a.key gw-a.crt            ECDSA P-256, CN=gw-a.mipsec.test,
#                                SAN DNS:gw-a.mipsec.test IP:10.0.0.1 IP:fd00::1
#   gw-a-rsa.key gw-a-rsa.crt    the same identity with an RSA-2048 key
#   gw-b.key gw-b.crt            ECDSA, CN=gw-b.mipsec.test,
#                                SAN DNS:gw-b.mipsec.test IP:10.0.0.2 IP:fd00::2
#   gw-b-rsa.key gw-b-rsa.crt    the same identity with an RSA-2048 key
#   mn4.key mn4.crt              ECDSA, CN=mn4.mipsec.test, SAN IP:2001:db8:8::4
#                                (the home address of FIG. 1) DNS:mn4.mipsec.test
#   The bad certificates all claim gw-b's identity (same subject and SAN) so
#   that a peer expecting gw-b refuses them for the one reason in their name:
#   expired.key expired.crt      valid 2020-01-01 .. 2021-01-01
#   notyet.key notyet.crt        valid 2040-01-01 .. 2041-01-01
#   revoked.key revoked.crt      revoked (keyCompromise) in the CRL below
#   otherca.key otherca.crt      issued by ca2, not ca
#   wrongid.key wrongid.crt      valid, from ca, but for CN=gw-x.mipsec.test,
#                                SAN DNS:gw-x.mipsec.test IP:10.0.0.99 IP:fd00::99
#   ca.crl.pem ca.crl.der        ca's CRL listing revoked.crt (valid 10 years)
#   ca2.crl.pem                  ca2's (empty) CRL
#
# Keys are unencrypted PKCS#8 PEM; certificates PEM (X.509 v3, SHA-256,
# serial numbers fixed per file, end entities: digitalSignature,
# serverAuth + clientAuth + ipsecIKE).  The other files in DIR (openssl.cnf,
# index*, serial*, *.csr) are the CA's bookkeeping.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: pki.sh DIR" >&2; exit 2; }
dir=$1
[ -f "$dir/.pki-v1" ] && exit 0
command -v openssl >/dev/null || { echo "pki.sh: openssl not found" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "pki.sh: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

# One openssl.cnf for both CAs: `openssl ca` keeps an index, which the CRL
# needs, and accepts explicit start/end dates (OpenSSL 3.0's `x509 -req`
# does not).
cat > openssl.cnf <<'EOF'
[ ca ]
default_ca = ca_ca
[ ca_ca ]
database = ./index-ca.txt
serial = ./serial-ca
certificate = ./ca.crt
private_key = ./ca.key
new_certs_dir = .
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
[ ca_ca2 ]
database = ./index-ca2.txt
serial = ./serial-ca2
certificate = ./ca2.crt
private_key = ./ca2.key
new_certs_dir = .
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
[ policy_any ]
countryName = optional
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_ee ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth, 1.3.6.1.5.5.7.3.17
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::PKI_SAN
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
export PKI_SAN=DNS:unused

eckey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
rsakey() { run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"; }

# mkca NAME SUBJECT
mkca() {
	eckey "$1"
	run openssl req -new -x509 -config openssl.cnf -extensions v3_ca -key "$1.key" \
		-subj "$2" -days 3650 -set_serial 1 -out "$1.crt"
	run openssl x509 -in "$1.crt" -outform DER -out "$1.der"
	: > "index-$1.txt"
	echo 1000 > "serial-$1"
}

# issue CA NAME SERIAL SUBJECT SAN [START END]: NAME.key must exist.
issue() {
	local ca=$1 name=$2 serial=$3 subj=$4 san=$5 start=${6:-} end=${7:-}
	local dates=()
	[ -z "$start" ] || dates=(-startdate "$start" -enddate "$end")
	echo "$serial" > "serial-$ca"
	run openssl req -new -config openssl.cnf -key "$name.key" -subj "$subj" -out "$name.csr"
	PKI_SAN=$san run openssl ca -batch -notext -config openssl.cnf -name "ca_$ca" \
		-extensions v3_ee "${dates[@]}" -in "$name.csr" -out "$name.crt"
	rm -f "$serial.pem"
}

gw_san() { echo "DNS:gw-$1.mipsec.test,IP:$2,IP:$3"; }
gw_subj() { echo "/C=XX/O=mipsec/CN=gw-$1.mipsec.test"; }

mkca ca "/C=XX/O=mipsec/CN=mipsec test CA"
mkca ca2 "/C=XX/O=other/CN=other test CA"

eckey gw-a;     issue ca gw-a     1001 "$(gw_subj a)" "$(gw_san a 10.0.0.1 fd00::1)"
rsakey gw-a-rsa; issue ca gw-a-rsa 1002 "$(gw_subj a)" "$(gw_san a 10.0.0.1 fd00::1)"
eckey gw-b;     issue ca gw-b     1003 "$(gw_subj b)" "$(gw_san b 10.0.0.2 fd00::2)"
rsakey gw-b-rsa; issue ca gw-b-rsa 1004 "$(gw_subj b)" "$(gw_san b 10.0.0.2 fd00::2)"
eckey mn4;      issue ca mn4      1005 "/C=XX/O=mipsec/CN=mn4.mipsec.test" \
	"IP:2001:db8:8::4,DNS:mn4.mipsec.test"

bsubj=$(gw_subj b)
bsan=$(gw_san b 10.0.0.2 fd00::2)
eckey expired; issue ca expired 1010 "$bsubj" "$bsan" 20200101000000Z 20210101000000Z
eckey notyet;  issue ca notyet  1011 "$bsubj" "$bsan" 20400101000000Z 20410101000000Z
eckey revoked; issue ca revoked 1012 "$bsubj" "$bsan"
eckey wrongid; issue ca wrongid 1013 "$(gw_subj x)" "$(gw_san x 10.0.0.99 fd00::99)"
eckey otherca; issue ca2 otherca 2001 "$bsubj" "$bsan"

run openssl ca -config openssl.cnf -name ca_ca -revoke revoked.crt -crl_reason keyCompromise
run openssl ca -config openssl.cnf -name ca_ca -gencrl -crlexts crl_ext -out ca.crl.pem
run openssl crl -in ca.crl.pem -outform DER -out ca.crl.der
run openssl ca -config openssl.cnf -name ca_ca2 -gencrl -crlexts crl_ext -out ca2.crl.pem

chmod 0644 ./*.crt ./*.der ./*.pem
chmod 0600 ./*.key
touch .pki-v1

#!/bin/sh
# Regenerates the IKE test PKI (run from this directory; the outputs are
# committed). CA "mipsec test CA" (ECDSA P-256) with a CRL; end entities
# for a.example / b.example in ECDSA and RSA; the bad ones: from another
# CA, expired, revoked, naming another identity.
set -eu
cd "$(dirname "$0")"
rm -rf ca.db && mkdir -p ca.db && : > ca.db/index.txt && echo 1000 > ca.db/serial
echo 1000 > ca.db/crlnumber
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = ca.db
database = ca.db/index.txt
serial = ca.db/serial
crlnumber = ca.db/crlnumber
new_certs_dir = ca.db
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
default_crl_days = 7300
[ anything ]
commonName = supplied
organizationName = optional
[ ee ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
CNF
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name cn
	ec "$1.key"
	openssl req -new -x509 -key "$1.key" -out "$1.pem" -days 7300 -subj "/O=mipsec/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
}
ee() { # name san keyalg cakey cacert [startdate enddate]
	if [ "$3" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
	else
		ec "$1.key"
	fi
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/O=mipsec/CN=$2" -addext "subjectAltName=DNS:$2"
	if [ $# -ge 7 ]; then
		openssl ca -batch -config ca.cnf -extensions ee -keyfile "$4" -cert "$5" -in "$1.csr" \
			-out "$1.pem" -startdate "$6" -enddate "$7" -notext 2>/dev/null
	else
		openssl ca -batch -config ca.cnf -extensions ee -keyfile "$4" -cert "$5" -in "$1.csr" \
			-out "$1.pem" -days 7300 -notext 2>/dev/null
	fi
	rm -f "$1.csr"
}
ca ca "mipsec test CA"
ca other_ca "mipsec other CA"
ee a a.example ec ca.key ca.pem
ee b b.example ec ca.key ca.pem
ee a_rsa a.example rsa ca.key ca.pem
ee b_rsa b.example rsa ca.key ca.pem
ee a_other a.example ec other_ca.key other_ca.pem
ee a_expired a.example ec ca.key ca.pem 20200101000000Z 20210101000000Z
ee a_revoked a.example ec ca.key ca.pem
ee a_wrongid mallory.example ec ca.key ca.pem
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke a_revoked.pem 2>/dev/null
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem 2>/dev/null
rm -rf ca.db ca.cnf

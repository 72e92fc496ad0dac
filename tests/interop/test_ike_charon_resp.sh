#!/bin/sh
# Our IKE engine (tests/tools/ike_udp_tool) initiating to strongSwan's
# charon (responder, swanctl configuration) over a veth between two
# network namespaces: ECDSA P-256 certificates with RFC 7427 signatures
# verified both ways, CERTREQ, INITIAL_CONTACT, liveness checks (dpd = 2)
# answered, and our DELETE at shutdown honoured. charon may fail to put
# the CHILD SA in this kernel: the IKE SA must come up regardless.
# Exits 77 without charon/swanctl or without root.
set -u
CHARON=/usr/lib/ipsec/charon
[ -x $CHARON ] && command -v swanctl >/dev/null || { echo "SKIP: strongSwan charon/swanctl not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
BUILD=${MIPSEC_BUILD:-$(dirname "$0")/../../build}
SRC=${MIPSEC_SRC:-$(dirname "$0")/../..}
TOOL=$BUILD/tests/ike_udp_tool
PKI=$(cd "$SRC/tests/data/config/ike" && pwd)
[ -x "$TOOL" ] || { echo "SKIP: $TOOL not built"; exit 77; }
dir=$(mktemp -d)
A=ikea$$ B=ikeb$$
cleanup() {
	[ -n "${cp:-}" ] && kill "$cp" 2>/dev/null
	sleep 0.3
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/swanctl/x509" "$dir/swanctl/x509ca" "$dir/swanctl/private"
cp "$PKI/b.pem" "$dir/swanctl/x509/"
cp "$PKI/b.key" "$dir/swanctl/private/"
cp "$PKI/ca.pem" "$dir/swanctl/x509ca/"
cat > "$dir/strongswan.conf" <<CONF
charon {
  install_routes = no
  plugins {
    kernel-libipsec { load = no }
    vici { socket = unix://$dir/charon.vici }
  }
  filelog { log { path = $dir/charon.log
    flush_line = yes
    default = 1
    ike = 2
    cfg = 2 } }
}
swanctl { socket = unix://$dir/charon.vici }
CONF
cat > "$dir/swanctl/swanctl.conf" <<CONF
connections {
  mip {
    local_addrs = 10.99.0.2
    local {
      auth = pubkey
      certs = b.pem
      id = b.example
    }
    remote {
      auth = pubkey
      id = a.example
    }
    children {
      net {
        local_ts = 10.2.0.0/16
        remote_ts = 10.1.0.0/16
        esp_proposals = aes128gcm16-ecp256
      }
    }
    proposals = aes128gcm16-prfsha256-curve25519-ecp256
  }
}
CONF
cat > "$dir/init.conf" <<CONF
ike = {
  certificate = "$PKI/a.pem"; private_key = "$PKI/a.key";
  ca = ["$PKI/ca.pem"]; crl = ["$PKI/crl.pem"]; local_id = "fqdn:a.example";
  peers = ( { name = "charon"; remote = "10.99.0.2"; local = "10.99.0.1";
              remote_id = "fqdn:b.example"; auth = "pubkey"; dpd = 2;
              local_ts = ["10.1.0.0/16"]; remote_ts = ["10.2.0.0/16"];
              esp_proposals = ["aes128gcm16-ecp256"]; } );
};
CONF
ip netns add $A && ip netns add $B && ip link add va netns $A type veth peer name vb netns $B &&
ip -n $A addr add 10.99.0.1/24 dev va && ip -n $B addr add 10.99.0.2/24 dev vb &&
ip -n $A link set va up && ip -n $B link set vb up && ip -n $A link set lo up &&
ip -n $B link set lo up || { echo "SKIP: cannot make network namespaces"; exit 77; }
ip netns exec $B env STRONGSWAN_CONF="$dir/strongswan.conf" $CHARON > "$dir/charon.out" 2>&1 &
cp=$!
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S "$dir/charon.vici" ] && break; sleep 0.5; done
ip netns exec $B env STRONGSWAN_CONF="$dir/strongswan.conf" swanctl --load-all \
	--file "$dir/swanctl/swanctl.conf" > "$dir/swanctl.out" 2>&1
ip netns exec $A env ASAN_OPTIONS=detect_leaks=0 "$TOOL" "$dir/init.conf" 10.99.0.1 7 charon \
	> "$dir/ours.log" 2> "$dir/ours.err"
sleep 0.5
fail=0
check() { # pattern file what
	if grep -q "$1" "$2"; then echo "ok   $3"; else echo "FAIL $3"; fail=1; fi
}
check "authentication of 'a.example' with ECDSA_WITH_SHA256_DER successful" "$dir/charon.log" \
	"charon verified our RFC 7427 ECDSA signature"
check "IKE_SA mip\[1\] established" "$dir/charon.log" "charon: IKE SA established"
check "parsed IKE_AUTH request 1 .*N(INIT_CONTACT)" "$dir/charon.log" "we sent INITIAL_CONTACT"
check "parsed INFORMATIONAL request 2 \[ \]" "$dir/charon.log" "our liveness check reached charon"
check "received DELETE for IKE_SA mip" "$dir/charon.log" "charon honoured our DELETE"
check "^ike_up 1 charon fqdn:b.example" "$dir/ours.log" "engine: IKE SA up, charon's identity verified"
if [ $fail != 0 ]; then
	echo "--- engine"; grep -v '^ *#' "$dir/ours.err" | head -40
	echo "--- charon"; tail -40 "$dir/charon.log"
fi
exit $fail

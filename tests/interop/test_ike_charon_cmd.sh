#!/bin/sh
# strongSwan's charon-cmd (initiator, RSA certificate) against our IKE
# engine (responder, tests/tools/ike_udp_tool on UDP 500/4500) in a network
# namespace of its own: IKE_SA_INIT with INVALID_KE renegotiation (charon
# sends curve25519 first, we ask for another group), IKE_AUTH fragmented by
# strongSwan (RFC 7383), RSA signatures verified both ways against the test
# CA, the CHILD SA selected and its keys handed to the owner. charon-cmd
# cannot install the SA in this namespace's kernel and deletes it: our
# engine must take that DELETE too. Exits 77 without charon-cmd.
set -u
command -v charon-cmd >/dev/null || { echo "SKIP: charon-cmd not installed"; exit 77; }
BUILD=${MIPSEC_BUILD:-$(dirname "$0")/../../build}
SRC=${MIPSEC_SRC:-$(dirname "$0")/../..}
TOOL=$BUILD/tests/ike_udp_tool
PKI=$(cd "$SRC/tests/data/config/ike" && pwd)
[ -x "$TOOL" ] || { echo "SKIP: $TOOL not built"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/resp.conf" <<CONF
ike = {
  certificate = "$PKI/b_rsa.pem"; private_key = "$PKI/b_rsa.key";
  ca = ["$PKI/ca.pem"]; crl = ["$PKI/crl.pem"];
  local_id = "fqdn:b.example"; fragment_mtu = 1280;
  peers = ( { name = "charon"; remote = "any"; remote_id = "fqdn:a.example"; auth = "pubkey";
              local_ts = ["10.2.0.0/16"]; remote_ts = ["10.1.0.0/16"]; dpd = 0;
              ike_proposals = ["aes128gcm16-prfsha256-ecp256", "aes256-sha256-modp2048"]; } );
};
CONF
# charon-cmd on ports of its own, so that both fit on one loopback.
cat > "$dir/strongswan.conf" <<CONF
charon-cmd {
  port = 5000
  port_nat_t = 5500
  filelog { stderr { default = 1 ike = 2 cfg = 2 } }
}
CONF
export dir TOOL PKI
unshare -n sh -c '
ip link set lo up
ASAN_OPTIONS=detect_leaks=0 "$TOOL" "$dir/resp.conf" 127.0.0.1 10 > "$dir/ours.log" 2> "$dir/ours.err" &
sleep 0.5
STRONGSWAN_CONF="$dir/strongswan.conf" timeout 8 charon-cmd --host 127.0.0.1 \
  --identity a.example --remote-identity b.example --cert "$PKI/ca.pem" \
  --cert "$PKI/a_rsa.pem" --rsa "$PKI/a_rsa.key" --local-ts 10.1.0.0/16 \
  --remote-ts 10.2.0.0/16 > "$dir/charon.log" 2>&1
wait' || true
fail=0
check() { # pattern file what
	if grep -q "$1" "$2"; then echo "ok   $3"; else echo "FAIL $3"; fail=1; fi
}
check "peer didn't accept DH group" "$dir/charon.log" "charon renegotiated the DH group (INVALID_KE)"
check "splitting IKE message" "$dir/charon.log" "charon fragmented its IKE_AUTH"
check "authentication of 'b.example' with RSA" "$dir/charon.log" "charon verified our RSA signature"
check "IKE_SA cmd\[1\] established" "$dir/charon.log" "charon: IKE SA established"
check "selected proposal: ESP" "$dir/charon.log" "charon: CHILD SA proposal selected"
check "^ike_up 1 charon fqdn:a.example" "$dir/ours.log" "engine: IKE SA up with charon's identity"
check "^child_up 1 " "$dir/ours.log" "engine: CHILD SA handed to the owner"
check "^ike_down 1 charon" "$dir/ours.log" "engine: charon's DELETE honoured"
if [ $fail != 0 ]; then
	echo "--- engine"; grep -v '^ *#' "$dir/ours.err" | head -40
	echo "--- charon"; tail -40 "$dir/charon.log"
fi
exit $fail

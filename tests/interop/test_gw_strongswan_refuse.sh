#!/bin/bash
# Refusals by mipsecd's IKE responder (role ipsec in a) of strongSwan
# initiators (charon + kernel-libipsec in b) presenting tests/lab/pki.sh's
# bad certificates: expired, not yet valid, revoked (in the CRL mipsecd
# loads), issued by the other CA, and a valid certificate for the wrong
# identity. For each: charon's log shows the AUTHENTICATION_FAILED notify
# from us, mipsecd's counter for that reason rises by one and its log
# names the reason; no CHILD SA is installed. Then the good certificate
# still gets through (the refusals left nothing behind). The PAD: gw-b may
# claim 10.10.0.2 and fd10::2 only (the peer's remote_ts is wider), so a
# CHILD SA for 10.10.0.3 is refused with TS_UNACCEPTABLE, counted and
# logged, while the IKE SA stays.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../lab/lib.sh"
source "$here/../../lab/strongswan.sh"
source "$here/gw_strongswan_lib.sh"

gw_topology "$LAB_STATE/topo.toml" "
    certificate = \"$pki/gw-a.crt\"; private_key = \"$pki/gw-a.key\";
    ca = [\"$pki/ca.crt\"]; crl = [\"$pki/ca.crl.pem\"];
    local_id = \"fqdn:gw-a.mipsec.test\";
    peers = ( {
      name = \"gw-b\"; remote = \"any\"; remote_id = \"fqdn:gw-b.mipsec.test\"; auth = \"pubkey\";
      ike_proposals = [\"aes128gcm16-prfsha256-ecp256\"]; esp_proposals = [\"aes128gcm16\"];
      mode = \"tunnel\"; local_ts = [\"10.10.0.1/32\", \"fd10::1/128\"];
      remote_ts = [\"10.10.0.0/24\", \"fd10::/64\"]; dpd = 0;
    } );" "  pad = ( { id = \"fqdn:gw-b.mipsec.test\"; ts = [\"10.10.0.2/32\", \"fd10::2/128\"]; } );"

say "up"
need "lab up" lab up "$LAB_STATE/topo.toml"
need "a reaches b" ping_ok a 10.0.0.2
need "b's tunnel addresses" ss_b_addrs
ss_gw_conf "$LAB_STATE/ss-b" gw-b
need "charon starts in b" ss_start b "$LAB_STATE/ss-b"

# bad CERT COUNTER LOG-REGEX [ID]
bad() {
	local cert=$1 ctr=mipsec_ike_$2_total why=$3 id=${4:-gw-b} c0 n0 t0
	say "$cert.crt as $id"
	GW_B_ID=$id ss_gw_conf "$LAB_STATE/ss-b" "$cert"
	ss_load b > /dev/null 2>&1
	c0=$(metric a "$ctr")
	n0=$(wc -l < "$LAB_STATE/ss-b/charon.log")
	l0=$(wc -l < "$LAB_STATE/a.log")
	t0=$(now_ms)
	check_not "b with $cert.crt: IKE_AUTH fails" ss_initiate b net gw
	echo "refused in $(( $(now_ms) - t0 )) ms"
	tail -n +"$((n0 + 1))" "$LAB_STATE/ss-b/charon.log" > "$LAB_STATE/charon-$cert.log"
	tail -n +"$((l0 + 1))" "$LAB_STATE/a.log" > "$LAB_STATE/a-$cert.log"
	check "charon received AUTHENTICATION_FAILED from us ($cert)" \
		grep -q "received AUTHENTICATION_FAILED notify error" "$LAB_STATE/charon-$cert.log"
	check "$ctr rose by one" test "$(metric a "$ctr")" = $((c0 + 1))
	echo "    mipsecd: $(grep -iE "$why" "$LAB_STATE/a-$cert.log" | head -n1 | cut -c1-200)"
	check "mipsecd logged why ($why)" grep -qiE "$why" "$LAB_STATE/a-$cert.log"
	check "no CHILD SA on a" rows_is a child_sa 0
}
bad expired rx_cert_expired "expired|not yet valid"
bad notyet rx_cert_expired "expired|not yet valid"
bad revoked rx_cert_revoked "revoked"
bad otherca rx_cert_untrusted "untrusted|issuer|chain"
bad wrongid rx_no_peer "no peer|no configured peer|identity" gw-x

say "PAD: gw-b asks for 10.10.0.3"
ss_gw_conf "$LAB_STATE/ss-b" gw-b
GW_B_TS=10.10.0.3/32 ss_gw_conf "$LAB_STATE/ss-b" gw-b
ss_load b > /dev/null 2>&1
c0=$(metric a mipsec_ipsec_ike_pad_refused_total)
n0=$(wc -l < "$LAB_STATE/ss-b/charon.log")
check_not "b's CHILD SA for 10.10.0.3 fails" ss_initiate b net gw
check "charon received TS_UNACCEPTABLE" sh -c \
	"tail -n +$((n0 + 1)) '$LAB_STATE/ss-b/charon.log' | grep -q 'TS_UNACCEPTABLE'"
check "PAD refusal counted" test "$(metric a mipsec_ipsec_ike_pad_refused_total)" = $((c0 + 1))
check "PAD refusal logged" grep -q "PAD: identity fqdn:gw-b.mipsec.test .*refused" "$LAB_STATE/a.log"
check "no CHILD SA on a" rows_is a child_sa 0
check "the PAD table lists gw-b" sh -c "'$MIPSECCTL' -s '$LAB_STATE/a.sock' show pad | grep -q gw-b"
ss_terminate b gw > /dev/null 2>&1 || true
wait_for 5 "a: no IKE SA" rows_is a ike_sa 0

say "the good certificate still works"
ss_gw_conf "$LAB_STATE/ss-b" gw-b
ss_load b > /dev/null 2>&1
need "b initiates with gw-b.crt" ss_initiate b net gw
wait_for 5 "a: one CHILD SA" rows_is a child_sa 1
check "b pings 10.10.0.1" nsx b ping -n -q -c 2 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
[ "$LAB_FAILS" = 0 ] || { echo "--- mipsecd a"; grep -E "mod=(ike|ipsec)" "$LAB_STATE"/a.log | tail -n 30; }
need "charon in b stops" ss_stop b
finish

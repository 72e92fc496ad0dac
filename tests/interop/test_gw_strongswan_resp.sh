#!/bin/bash
# strongSwan (charon + kernel-libipsec in b) initiates to mipsecd's `ipsec`
# role with its IKE engine (a, responder), ECDSA P-256 certificates from
# tests/lab/pki.sh:
#   - IKE SA and CHILD SA up on both ends (mipsecctl show ike_sa/child_sa,
#     the child's SPIs equal charon's crossed), the esp_sa file written,
#     show spd lists the negotiated selectors as PROTECT policies;
#   - ping both ways over IPv4 and IPv6, 1 MB TCP both ways compared;
#   - CHILD rekey and IKE rekey by charon while a 50/s ping runs: no echo
#     request lost, new SPIs, the old child removed after the overlap;
#     (rekeys started by mipsecd: test_gw_strongswan_init.sh);
#   - our liveness checks (dpd = 1 s) answered by charon: nobody dead;
#   - swanctl --terminate: DELETE removes our IKE SA, CHILD SA and ESP SAs;
#   - the RSA case: charon presents gw-b-rsa.crt, a ping goes through.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../lab/lib.sh"
source "$here/../../lab/strongswan.sh"
source "$here/gw_strongswan_lib.sh"

gw_topology "$LAB_STATE/topo.toml" "
    certificate = \"$pki/gw-a.crt\"; private_key = \"$pki/gw-a.key\";
    ca = [\"$pki/ca.crt\"]; crl = [\"$pki/ca.crl.pem\"];
    local_id = \"fqdn:gw-a.mipsec.test\";
    decryption_table = \"@STATE@/a.ikev2_decryption_table\";
    peers = ( {
      name = \"gw-b\"; remote = \"any\"; remote_id = \"fqdn:gw-b.mipsec.test\"; auth = \"pubkey\";
      ike_proposals = [\"aes128gcm16-prfsha256-ecp256\"];
      esp_proposals = [\"aes128gcm16\", \"aes256gcm16\"];
      mode = \"tunnel\"; local_ts = [\"10.10.0.1/32\", \"fd10::1/128\"];
      remote_ts = [\"10.10.0.2/32\", \"fd10::2/128\"];
      child_rekey_time = 0; dpd = 1;
    } );"

say "up"
need "lab up" lab up "$LAB_STATE/topo.toml"
need "a reaches b" ping_ok a 10.0.0.2
need "b's tunnel addresses" ss_b_addrs
ss_gw_conf "$LAB_STATE/ss-b" gw-b
need "charon starts in b" ss_start b "$LAB_STATE/ss-b"
t0=$(now_ms)
need "b initiates" ss_initiate b net gw
echo "IKE_SA_INIT + IKE_AUTH with mipsecd: $(( $(now_ms) - t0 )) ms"
wait_for 5 "b: gw ESTABLISHED, net INSTALLED" ss_has_sa b gw net
wait_for 5 "a: one IKE SA" rows_is a ike_sa 1
wait_for 5 "a: one CHILD SA" rows_is a child_sa 1
wait_for 5 "a: two ESP SAs" rows_is a esp_sa 2
ctl a show child_sa | head -c 600; echo
read -r bin bout <<< "$(ss_child_spis b net)"
has_spi() { ctl a show esp_sa | grep -qi "$1"; }
check "a holds charon's outbound SPI as inbound ($bout)" has_spi "${bout#0x}"
check "a holds charon's inbound SPI as outbound ($bin)" has_spi "${bin#0x}"
check "esp_sa file written" test -s "$LAB_STATE/a.esp_sa"
check "a's SPD: two PROTECT policies (v4, v6)" rows_is a spd 2
check "ikev2_decryption_table written" test -s "$LAB_STATE/a.ikev2_decryption_table"
check "charon authenticated gw-a (ECDSA)" grep -q "remote-id=gw-a.mipsec.test" <(ss_sas b)

say "traffic"
check "b pings 10.10.0.1" nsx b ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
check "a pings 10.10.0.2" nsx a ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.1 10.10.0.2
check "b pings fd10::1" nsx b ping -n -q -c 3 -i 0.2 -W 2 -I fd10::2 fd10::1
check "a pings fd10::2" nsx a ping -n -q -c 3 -i 0.2 -W 2 -I fd10::1 fd10::2
transfer a b 4 10.10.0.2 5001 10.10.0.1
transfer b a 4 10.10.0.1 5002 10.10.0.2
transfer a b 6 "[fd10::2]" 5003 "[fd10::1]"

say "CHILD rekey by charon under ping"
spis0=$(ctl a show esp_sa)
ping_run b 10.10.0.2 10.10.0.1 3 "$LAB_STATE/ping1"; p=$!
sleep 0.5
need "b rekeys the CHILD SA" ss_rekey_child b net
new_spis() { [ "$(ss_child_spis b net)" != "$bin $bout" ]; }
wait_for 5 "charon has new CHILD SPIs" new_spis
wait "$p" || true
tail -n 2 "$LAB_STATE/ping1" | sed 's/^/    /'
check "no echo request lost across the CHILD rekey" test "$(lost "$LAB_STATE/ping1")" = 0
wait_for 6 "a: old child gone, one CHILD SA left" rows_is a child_sa 1
wait_for 6 "a: two ESP SAs left" rows_is a esp_sa 2
read -r bin bout <<< "$(ss_child_spis b net)"
check "a has the new inbound SPI" has_spi "${bout#0x}"

say "IKE rekey by charon under ping"
ike0=$(ss_ike_spis b gw)
ping_run a 10.10.0.1 10.10.0.2 3 "$LAB_STATE/ping2"; p=$!
sleep 0.5
need "b rekeys the IKE SA" ss_rekey_ike b gw
ike_new() { local s; s=$(ss_ike_spis b gw) && [ -n "$s" ] && [ "$s" != "$ike0" ]; }
wait_for 5 "charon's IKE SA has new SPIs" ike_new
wait "$p" || true
tail -n 2 "$LAB_STATE/ping2" | sed 's/^/    /'
check "no echo request lost across the IKE rekey" test "$(lost "$LAB_STATE/ping2")" = 0
wait_for 5 "a: one IKE SA after the rekey" rows_is a ike_sa 1
check "a: the CHILD SA survived" rows_is a child_sa 1
check "b pings through after the IKE rekey" ping_ok b 10.10.0.1

say "liveness checks from a (dpd = 1 s)"
dpd0=$(metric a mipsec_ike_dpd_sent_total)
dpd_sent_twice() { [ $(( $(metric a mipsec_ike_dpd_sent_total) - dpd0 )) -ge 2 ]; }
wait_for 15 "a sent two liveness checks to charon" dpd_sent_twice
check "charon answered them: no peer declared dead" test "$(metric a mipsec_ike_dpd_dead_total)" = 0
check "a: the IKE SA is still up" rows_is a ike_sa 1
check "b pings through after the liveness checks" ping_ok b 10.10.0.1

say "terminate by charon"
need "b terminates gw" ss_terminate b gw
wait_for 5 "a: no IKE SA (DELETE received)" rows_is a ike_sa 0
wait_for 5 "a: no CHILD SA" rows_is a child_sa 0
wait_for 5 "a: no ESP SA" rows_is a esp_sa 0
check "a's SPD empty" rows_is a spd 0
check_not "no ping through the torn-down tunnel" ping_ok b 10.10.0.1

say "RSA certificate from charon"
ss_gw_conf "$LAB_STATE/ss-b" gw-b-rsa
need "b reloads with gw-b-rsa" ss_load b
need "b initiates (RSA)" ss_initiate b net gw
wait_for 5 "a: CHILD SA with the RSA-authenticated peer" rows_is a child_sa 1
check "b pings 10.10.0.1 (RSA)" nsx b ping -n -q -c 2 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
need "b terminates gw" ss_terminate b gw
wait_for 5 "a: no CHILD SA" rows_is a child_sa 0
[ "$LAB_FAILS" = 0 ] || { echo "--- mipsecd a"; grep -E "ipsec|ike" "$LAB_STATE"/a.log 2>/dev/null | tail -n 40; }
need "charon in b stops" ss_stop b
finish

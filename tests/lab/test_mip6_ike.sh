#!/bin/bash
# Issue 5, Mobile IPv6 keyed by IKEv2 (RFC 4877) on FIG. 1 (fig1-mip6.toml
# turned into fig1-mip6-ike by tests/lab/mip6_ike_topo.py; certificates
# from tests/lab/pki.sh, ECDSA P-256, one CA on both sides):
#  - mn4 finds ha1 by DHAAD, runs IKE from its CoA (identity = its home
#    address, certificate SAN IP 2001:db8:8::4), gets the transport CHILD
#    SA (MH types BU/BA) in IKE_AUTH and the tunnel CHILD SA after; the BU
#    leaves only then: ike_sa / child_sa / mip6_sa tables on both sides;
#  - BU/BA are ESP on the wire; tshark decrypts IKE with the exported
#    ikev2_decryption_table and ESP with the esp_sa records, and shows the
#    BU and the BA inside;
#  - a node with a valid certificate for ANOTHER home address (::5)
#    claiming mn4's HoA is refused by ha1's PAD and counted; a BU in no SA
#    is dropped and counted;
#  - a TCP stream through the tunnel while the CHILD SAs are rekeyed
#    (child_rekey_time 8 s at mn4; the IKE SA every 20 s) and mn4 moves 3
#    times: no record lost, SPIs change on rekey and not on a move;
#  - kill -9 of mn4 and a new start: it registers again through a new IKE
#    SA (INITIAL_CONTACT replaces the old SAs at ha1);
#  - ha1 restarts (its DELETE removes mn4's SAs): mn4 runs a new IKE SA
#    and registers again at once.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
for t in tshark openssl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
"$PY" -c "import scapy.layers.inet6" 2>/dev/null || { echo "SKIP: scapy needed"; exit 77; }
TOOL=${MIPSECD%/*}/tests/ike_udp_tool
[ -x "$TOOL" ] || TOOL=$(dirname "$MIPSECD")/tests/ike_udp_tool
[ -x "$TOOL" ] || { echo "SKIP: ike_udp_tool not built"; exit 77; }

mip6_ike_topology 8 20
TOPO=$MIP6_TOPO
# A valid certificate from the same CA for another home address (::5).
need "::5's key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/mn5.key"
need "::5's certificate" openssl req -new -x509 -key "$PKI/mn5.key" -out "$PKI/mn5.crt" -days 30 \
	-subj "/C=XX/O=mipsec/CN=mn5.mipsec.test" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
	-addext "subjectAltName=IP:2001:db8:8::5" -addext "keyUsage=digitalSignature" \
	-addext "extendedKeyUsage=serverAuth,clientAuth"
chmod -R a+rX "$PKI"
FORGE=("$PY" "$LAB_SRC/tests/lab/mip6_forge.py")
CN_ADDR=2001:db8:7::c
SA_SET="[s for s in d if s['home_address'] == '$HOA'][0]"

say "up: IKE, then the BU"
need "lab up" lab up "$TOPO" --capture
wait_for 30 "mn4 registered through IKE" mn_bound
need "mn4 bound" mn_bound
coa=$(mn_coa)
echo "mn4 care-of address: $coa"
check "ha1 binds $HOA -> $coa" ha_binding_at "$coa"
check "mn4 has one established IKE SA" jtest mn4 "len([s for s in d if s['state'] == 'established']) == 1" show ike_sa
check "ha1 has one established IKE SA, peer identity = the HoA" \
	jtest ha1 "len([s for s in d if s['state'] == 'established']) == 1" show ike_sa
wait_for 15 "mn4's tunnel CHILD SA up" jtest mn4 "${SA_SET}['tun_out'] is not None" show mip6_sa
check "mn4 has 2 CHILD SAs (transport + tunnel)" jtest mn4 "len(d) >= 2" show child_sa
check "ha1's SA set for $HOA: transport and tunnel, peer = the CoA" \
	jtest ha1 "${SA_SET}['peer'] == '$coa' and ${SA_SET}['mh_in'] is not None and ${SA_SET}['tun_in'] is not None" show mip6_sa
check "ha1 took the BU from the transport SA" test "$(counter ha1 mipsec_mip6_sec_mh_accepted_total)" -ge 1
check "mn4 took the BA from the transport SA" test "$(counter mn4 mipsec_mip6_sec_mh_accepted_total)" -ge 1
check "mn4 logged that the BU waited for IKE" grep -q 'BU waits for the IKE transport SA' "$LAB_STATE/mn4.log"
ctl ha1 show ike_sa | head -30 || true
ctl mn4 show mip6_sa | head -30 || true
check "cn pings the home address" ping_ok cn "$HOA"

say "the wire, as tshark reads it"
lab capture link5b1 stop
PCAP=$LAB_STATE/link5b1.pcap
WSHOME=$LAB_STATE/wshome
mkdir -p "$WSHOME/.config/wireshark" "$LAB_STATE/nohome"
cp "$LAB_STATE/ha1.esp_sa" "$WSHOME/.config/wireshark/esp_sa"
cp "$LAB_STATE/ha1.ikev2_decryption_table" "$WSHOME/.config/wireshark/ikev2_decryption_table"
tsh() { env -u XDG_CONFIG_HOME HOME="$LAB_STATE/nohome" tshark -n -r "$PCAP" -d udp.port==4191,ipv6 "$@" 2>/dev/null; }
tshd() {
	env -u XDG_CONFIG_HOME HOME="$WSHOME" tshark -n -r "$PCAP" -d udp.port==4191,ipv6 \
		-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "$@" 2>/dev/null
}
check "IKE_SA_INIT and IKE_AUTH on link5b1" test "$(tsh -Y "isakmp.exchangetype == 35" | wc -l)" -ge 2
check "tshark decrypts IKE_AUTH: IDi = ID_IPV6_ADDR $HOA" \
	test "$(tshd -Y "isakmp.exchangetype == 35 && isakmp.id.type == 5" | wc -l)" -ge 1
check "no cleartext Mobility Header between mn4 and ha1" test "$(tsh -Y "mip6" | wc -l)" = 0
check "tshark decrypts the BU in ESP: HAO = HoA" \
	test "$(tshd -Y "esp && mip6.mhtype == 5 && ipv6.opt.mipv6.home_address == $HOA" | wc -l)" -ge 1
check "tshark decrypts ha1's BA in ESP: status 0" \
	test "$(tshd -Y "esp && mip6.mhtype == 6 && mip6.ba.status == 0" | wc -l)" -ge 1
check "no ICV failure in tshark" test "$(tshd -Y "esp.icv_bad == 1" | wc -l)" = 0

say "the PAD: a valid certificate for ::5 claiming mn4's home address"
pad0=$(counter ha1 'mipsec_mip6_ike_pad_refused_total{reason="home_address"}')
cat > "$LAB_STATE/mn5-ike.conf" <<CONF
ike = { certificate = "$PKI/mn5.crt"; private_key = "$PKI/mn5.key"; ca = [ "$PKI/ca.crt" ];
  local_id = "ipv6:2001:db8:8::5";
  peers = ( { name = "ha"; remote = "$HA"; local = "$CN_ADDR";
    ike_proposals = [ "aes128gcm16-prfsha256-ecp256" ]; esp_proposals = [ "aes128gcm16" ];
    children = ( { name = "mh"; mode = "transport"; local_ts = [ "$HOA/128[mh/5]" ];
                   remote_ts = [ "$HA/128[mh/6]" ]; } ); } ); };
CONF
out=$(nsx cn "$TOOL" "$LAB_STATE/mn5-ike.conf" "$CN_ADDR" 4 ha 2>&1 || true)
echo "$out" | tail -n 5
check "the impostor authenticates (its certificate is valid)" grep -q '^ike_up' <<< "$out"
check "... but gets no CHILD SA for $HOA" bash -c '! grep -q "^child_up" <<< "$1"' _ "$out"
check "ha1 counted the PAD refusal" \
	test "$(counter ha1 'mipsec_mip6_ike_pad_refused_total{reason="home_address"}')" -ge $((pad0 + 1))
check "ha1 logged it" grep -q 'CHILD SA refused by the PAD' "$LAB_STATE/ha1.log"
check "mn4's binding untouched ($coa)" ha_binding_at "$coa"

say "a BU in no SA"
bu_unp0=$(counter ha1 mipsec_ha_bu_unprotected_total)
out=$(nsx cn "${FORGE[@]}" plain-bu "$CN_ADDR" "$HA" "$HOA")
check "plain BU for $HOA from cn: no answer ($out)" grep -q silence <<< "$out"
check "... dropped and counted" test "$(counter ha1 mipsec_ha_bu_unprotected_total)" = $((bu_unp0 + 1))

say "TCP stream: CHILD SA rekeys (8 s) and 3 moves"
spi_tun() { jget mn4 "${SA_SET}['tun_out']['spi']" show mip6_sa; }
stream_start 5003
t=$(date +%s%N)
wait_for 10 "stream records arrive" stream_flowing_since "$t"
need "stream running" stream_flowing_since "$t"
: > "$MOVES"
s0=$(spi_tun)
rk0=$(counter mn4 mipsec_mip6_ike_children_installed_total)
spi_changed() { [ "$(spi_tun)" != "$1" ]; }
wait_for 30 "a CHILD SA rekey" spi_changed "$s0"
check "the tunnel SPI changed on rekey ($s0 -> $(spi_tun))" test "$(spi_tun)" != "$s0"
prefix_of() {
	case $1 in
	link5a1) echo 2001:db8:5a:1: ;; link5a2) echo 2001:db8:5a:2: ;;
	link5b1) echo 2001:db8:5b:1: ;; link5b2) echo 2001:db8:5b:2: ;;
	esac
}
i=0
for link in link5a1 link5b2 link5b1; do
	i=$((i + 1))
	p=$(prefix_of "$link")
	say "move $i/3: mn4 -> $link"
	sb=$(spi_tun)
	rb=$(counter mn4 mipsec_mip6_ike_children_installed_total)
	move_to "$link" "$link"
	wait_for 15 "move $i: mn4 bound at $p" mn_bound_at "$p"
	wait_for 15 "move $i: ha1 binds $HOA to $p..." ha_binding_at "$p"
	c=$(mn_coa)
	check "move $i: ha1's SAs point at the new CoA $c" jtest ha1 "${SA_SET}['peer'] == '$c' and ${SA_SET}['tun_out']['dst'] == '$c'" show mip6_sa
	check "move $i: ha1's IKE SA follows ($c)" jtest ha1 "any('$c' in str(s) for s in d)" show ike_sa
	sa=$(spi_tun)
	if [ "$(counter mn4 mipsec_mip6_ike_children_installed_total)" = "$rb" ]; then
		check "move $i: same tunnel SPI across the move ($sb)" test "$sa" = "$sb"
	else
		echo "move $i: tunnel SPI $sb -> $sa (a rekey fell in the move)"
	fi
	wait_for 20 "move $i: TCP records sent after the move arrive" stream_flowing_since "$MOVE_END"
done
# Both children rekey every 8 s (with jitter): keep the stream running until
# the second install rather than betting on the moves' duration.
rekeys_at_least() { [ $(($(counter mn4 mipsec_mip6_ike_children_installed_total) - rk0)) -ge "$1" ]; }
wait_for 30 "a second CHILD SA install during the stream" rekeys_at_least 2
wait_for 20 "TCP records still arriving after the rekeys" stream_flowing_since "$(date +%s%N)"
stream_stop
rk1=$(counter mn4 mipsec_mip6_ike_children_installed_total)
check "CHILD SAs were rekeyed during the stream ($((rk1 - rk0)) installs)" test $((rk1 - rk0)) -ge 2
check "the IKE SA was rekeyed too (id > 1 at mn4)" jtest mn4 "max(s['id'] for s in d) > 1" show ike_sa
check "still one IKE SA on mn4 (moves need no new one)" jtest mn4 "len([s for s in d if s['state'] == 'established']) == 1" show ike_sa
"${STREAM[@]}" gaps "$STREAM_LOG" "$MOVES" "$LAB_STATE/mn4.log" | tail -n 3 || true
check "no ESP authentication failure anywhere" \
	test "$(counter ha1 mipsec_esp_auth_fail_total)" = 0 -a "$(counter mn4 mipsec_esp_auth_fail_total)" = 0

say "mn4 restarts (kill -9): a new IKE SA replaces the old SAs"
ike_old=$(jget ha1 "[s['id'] for s in d if s['state'] == 'established']" show ike_sa)
need "kill -9 mn4" lab kill mn4
need "start mn4" lab start mn4
wait_for 40 "mn4 registered again" mn_bound
check "mn4 bound after the restart" mn_bound
check "ha1 runs one IKE SA, a new one (old: $ike_old)" \
	jtest ha1 "len([s for s in d if s['state'] == 'established']) == 1 and [s['id'] for s in d if s['state'] == 'established'] != $ike_old" show ike_sa
check "cn pings the home address again" ping_ok cn "$HOA"

say "ha1 restarts (SIGTERM: DELETE to mn4; no binding store): mn4 registers again"
mn_ike_old=$(jget mn4 "[s['id'] for s in d if s['state'] == 'established']" show ike_sa)
proxy_ndp() { nsx ha1 cat /proc/sys/net/ipv6/conf/eth1/proxy_ndp; }
check "ha1 runs proxy NDP on its home link" test "$(proxy_ndp)" = 1
need "stop ha1" lab stop ha1
check "ha1 put the home link's proxy_ndp back at stop" test "$(proxy_ndp)" = 0
need "start ha1" lab start ha1
wait_for 60 "ha1 binds $HOA again" ha_binding_at 2001:db8:5b:1:
check "mn4 logged the lost transport SA" grep -q 'transport SA with the home agent gone' "$LAB_STATE/mn4.log"
check "mn4 runs a new IKE SA (old: $mn_ike_old)" \
	jtest mn4 "len([s for s in d if s['state'] == 'established']) == 1 and [s['id'] for s in d if s['state'] == 'established'] != $mn_ike_old" show ike_sa
wait_for 15 "cn pings the home address through the new SAs" ping_ok cn "$HOA"

say "the daemons stay clean"
for n in ha1 mn4 cn; do
	check_not "$n's log has no sanitizer report" grep -q 'Sanitizer' "$LAB_STATE/$n.log"
done
# Debugging aid: keep the state (logs, captures, key exports).
if [ -n "${LAB_KEEP_STATE:-}" ]; then cp -r "$LAB_STATE" "$LAB_KEEP_STATE" || true; fi
finish

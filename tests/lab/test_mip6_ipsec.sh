#!/bin/bash
# Issue 5, Mobile IPv6 over IPsec (RFC 4877) on FIG. 1 (fig1-mip6.toml
# turned into fig1-mip6-ipsec by tests/lab/mip6_ipsec_topo.py: ha1 requires
# IPsec, mn4 and ha1 share manually keyed SAs for 2001:db8:8::4, ha1 also
# holds the SAs of a second home address ::5):
#  - power-on and registration with IPsec on: BU/BA on link5b1 are ESP
#    (tshark, not our decoder: no cleartext Mobility Header at all), and
#    tshark, given the esp_sa records ha1 exported, decrypts them to a BU
#    with HAO = HoA and a BA status 0, and decrypts the tunnel to TCP
#    between cn and the HoA with no extra IPv6 header;
#  - pings and a 2 MiB TCP transfer through the ESP tunnel;
#  - forgeries from cn (scapy): a BU for mn4's HoA without ESP, one in the
#    SA of ::5, a plain BA to mn4 -- each dropped, counted, unanswered,
#    mn4's binding untouched; replayed ESP (a captured BU and tunnel
#    packets) dropped by the anti-replay window and counted;
#  - 5 moves under a TCP stream, one of them home (deregistration in the
#    transport SA) and back: after each the SAs' outer endpoints are the
#    new CoA on both sides, with the same SPIs and sequence numbers that
#    keep growing (no rekey), and the stream ends with every record.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
for t in tshark; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
"$PY" -c "import scapy.layers.ipsec, cryptography" 2>/dev/null ||
	{ echo "SKIP: scapy with python3-cryptography needed"; exit 77; }

SEC_TOPO=$LAB_STATE/fig1-mip6-ipsec.toml
KEYS=$LAB_STATE/mip6-ipsec-keys.json
need "IPsec topology from $TOPO" "$PY" "$LAB_SRC/tests/lab/mip6_ipsec_topo.py" "$TOPO" "$SEC_TOPO" "$KEYS"
TOPO=$SEC_TOPO
FORGE=("$PY" "$LAB_SRC/tests/lab/mip6_forge.py")
CN_ADDR=2001:db8:7::c
SA_SET="[s for s in d if s['home_address'] == '$HOA'][0]"

say "up"
need "lab up" lab up "$TOPO" --capture
wait_for 15 "mn4 registered with IPsec on" mn_bound
need "mn4 bound" mn_bound
coa=$(mn_coa)
echo "mn4 care-of address: $coa"
check "mn4 runs IPsec" jtest mn4 "${MN_STATE}['ipsec'] is True" status
check "ha1 binds $HOA -> $coa" ha_binding_at "$coa"
check "ha1 took the BU from the transport SA" test "$(counter ha1 mipsec_mip6_sec_mh_accepted_total)" -ge 1
check "mn4 took the BA from the transport SA" test "$(counter mn4 mipsec_mip6_sec_mh_accepted_total)" -ge 1
check "ha1's SA set for $HOA follows the CoA ($coa)" \
	jtest ha1 "$SA_SET['peer'] == '$coa' and $SA_SET['mh_in']['spi'] == '0x00004101'" show mip6_sa
check "mn4's SA set runs from the CoA to the HA it found by DHAAD" \
	jtest mn4 "$SA_SET['local'] == '$coa' and $SA_SET['peer'] == '$HA' and $SA_SET['tun_out']['dst'] == '$HA'" show mip6_sa
ctl ha1 show mip6_sa | head -20

say "traffic through the ESP tunnel"
tp0=$(counter ha1 mipsec_mip6_sec_tunnel_protected_total)
ta0=$(counter ha1 mipsec_mip6_sec_tunnel_accepted_total)
check "cn pings the home address" ping_ok cn "$HOA"
check "mn4 pings cn from its home address" nsx mn4 ping -n -q -c 1 -W 2 -I "$HOA" "$CN"
src=$LAB_STATE/tcp.src
dst=$LAB_STATE/tcp.dst
head -c 2097152 /dev/urandom > "$src"
nsx mn4 socat -u "TCP6-LISTEN:5001,bind=[$HOA],reuseaddr" "OPEN:$dst,creat,trunc" \
	> "$LAB_STATE/socat-server.log" 2>&1 &
srv=$!
check "socat cn -> [$HOA]:5001 (2 MiB)" nsx cn timeout 60 socat -u "OPEN:$src" \
	"TCP6:[$HOA]:5001,retry=100,interval=0.1"
rc=0; timeout 30 tail --pid="$srv" -f /dev/null || rc=$?
check "the receiving socat finished" test "$rc" = 0
check "the home address received the 2 MiB intact" cmp -s "$src" "$dst"
tp1=$(counter ha1 mipsec_mip6_sec_tunnel_protected_total)
ta1=$(counter ha1 mipsec_mip6_sec_tunnel_accepted_total)
echo "ha1: +$((tp1 - tp0)) packets into the tunnel SA, +$((ta1 - ta0)) out of it"
# 2 MiB in segments of at most 1260 octets (TUN MTU 1320) is >= 1665 packets.
check "ha1 sent the stream in the tunnel SA (>= 1665, got $((tp1 - tp0)))" test $((tp1 - tp0)) -ge 1665
check "ha1 took mn4's ACKs from the tunnel SA (>= 100, got $((ta1 - ta0)))" test $((ta1 - ta0)) -ge 100
check "no plain tunnel packet reached either side" \
	test "$(counter ha1 mipsec_ha_tunnel_unprotected_total)" = 0 -a "$(counter mn4 mipsec_mn_tunnel_unprotected_total)" = 0

say "the wire, as tshark reads it"
lab capture link5b1 stop
PCAP=$LAB_STATE/link5b1.pcap
WSHOME=$LAB_STATE/wshome
mkdir -p "$WSHOME/.config/wireshark"
cp "$LAB_STATE/ha1.esp_sa" "$WSHOME/.config/wireshark/esp_sa"
check "ha1 exported one esp_sa record per SA (8)" \
	test "$(grep -c '^"IPv6"' "$WSHOME/.config/wireshark/esp_sa")" = 8
check "mn4 exported its 4 records" test "$(grep -c '^"IPv6"' "$LAB_STATE/mn4.esp_sa")" = 4
# Without keys (an empty profile): ESP only, never a Mobility Header.
tsh() { env -u XDG_CONFIG_HOME HOME="$LAB_STATE/nohome" tshark -n -r "$PCAP" -d udp.port==4191,ipv6 "$@" 2>/dev/null; }
# With the esp_sa records ha1 exported.
tshd() {
	env -u XDG_CONFIG_HOME HOME="$WSHOME" tshark -n -r "$PCAP" -d udp.port==4191,ipv6 \
		-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "$@" 2>/dev/null
}
mkdir -p "$LAB_STATE/nohome"
n_esp=$(tsh -Y "esp" | wc -l)
check "ESP between mn4 and ha1 on link5b1 (got $n_esp frames)" test "$n_esp" -ge 1700
check "no cleartext Mobility Header between mn4 and ha1" test "$(tsh -Y "mip6" | wc -l)" = 0
check "no cleartext TCP in UDP 4191" test "$(tsh -Y "udp.port == 4191 && tcp" | wc -l)" = 0
check "tshark decrypts the BU: HAO = HoA, ESP next header 135, transport SPI 0x4101" \
	test "$(tshd -Y "esp.spi == 0x4101 && esp.pad_len >= 0 && mip6.mhtype == 5 && mip6.bu.h_flag == 1 && ipv6.opt.mipv6.home_address == $HOA" | wc -l)" -ge 1
check "tshark decrypts ha1's BA: status 0, RH2 = HoA, SPI 0x4102" \
	test "$(tshd -Y "esp.spi == 0x4102 && mip6.mhtype == 6 && mip6.ba.status == 0 && ipv6.routing.mipv6.home_address == $HOA" | wc -l)" -ge 1
check "the ICVs verify in tshark" test "$(tshd -Y "esp.icv_good == 1" | wc -l)" -ge 1700
check "no ICV failure in tshark" test "$(tshd -Y "esp.icv_bad == 1" | wc -l)" = 0
# The lab's capturer (a Python AF_PACKET reader) misses frames while the
# 2 MiB burst lasts on a loaded machine: every tunnel frame it kept must
# decrypt, and a substantial part of the stream must be there; the pings
# (no burst) must all be there.
n_tun=$(tsh -Y "esp.spi == 0x4202" | wc -l)
n_dec=$(tshd -Y "esp.spi == 0x4202 && ipv6.dst == $HOA" | wc -l)
n_tcp=$(tshd -Y "esp.spi == 0x4202 && ipv6.src == $CN && ipv6.dst == $HOA && tcp.dstport == 5001" | wc -l)
echo "tunnel SA frames HA -> mn4 captured: $n_tun, decrypted to packets for the HoA: $n_dec, TCP to 5001: $n_tcp"
check "tshark decrypts every tunnel frame to a packet for the HoA ($n_dec of $n_tun)" test "$n_dec" = "$n_tun"
check "tshark decrypts the tunnel to cn -> HoA TCP (>= 1000 of the >= 1665 segments, got $n_tcp)" \
	test "$n_tcp" -ge 1000
check "tshark decrypts cn's echo request to the HoA in the tunnel SA" \
	test "$(tshd -Y "esp.spi == 0x4202 && icmpv6.type == 128 && ipv6.src == $CN && ipv6.dst == $HOA" | wc -l)" -ge 1
check "tshark decrypts mn4's echo request to cn in the reverse tunnel SA" \
	test "$(tshd -Y "esp.spi == 0x4201 && icmpv6.type == 128 && ipv6.src == $HOA && ipv6.dst == $CN" | wc -l)" -ge 1
check "header elimination: one IPv6 header inside ESP (no IPv6-in-IPv6)" \
	test "$(tshd -Y "esp.spi == 0x4202 && ipv6.nxt == 41" | wc -l)" = 0
check "no malformed packet" test "$(tshd -Y _ws.malformed | wc -l)" = 0

say "forgeries and replays (scapy on cn)"
bu_unp0=$(counter ha1 mipsec_ha_bu_unprotected_total)
bu_wsa0=$(counter ha1 mipsec_ha_bu_wrong_sa_total)
rep0=$(counter ha1 mipsec_esp_replay_total)
drop0=$(counter ha1 mipsec_ha_esp_dropped_total)
ba_unp0=$(counter mn4 mipsec_mn_ba_unprotected_total)
out=$(nsx cn "${FORGE[@]}" plain-bu "$CN_ADDR" "$HA" "$HOA")
check "plain BU for $HOA from cn: no answer ($out)" grep -q silence <<< "$out"
check "... dropped and counted (mipsec_ha_bu_unprotected_total +1)" \
	test "$(counter ha1 mipsec_ha_bu_unprotected_total)" = $((bu_unp0 + 1))
out=$(nsx cn "${FORGE[@]}" wrong-sa-bu "$CN_ADDR" "$HA" "$HOA" "$KEYS" 2001:db8:8::5)
check "BU for $HOA in the SA of 2001:db8:8::5: no answer ($out)" grep -q silence <<< "$out"
check "... dropped and counted (mipsec_ha_bu_wrong_sa_total +1)" \
	test "$(counter ha1 mipsec_ha_bu_wrong_sa_total)" = $((bu_wsa0 + 1))
check "ha1 logged the refusal" grep -q 'Binding Update without IPsec dropped' "$LAB_STATE/ha1.log"
out=$(nsx cn "${FORGE[@]}" plain-ba "$HA" "$coa" "$HOA")
check "plain BA to mn4: no answer ($out)" grep -q silence <<< "$out"
check "... dropped and counted (mipsec_mn_ba_unprotected_total +1)" \
	test "$(counter mn4 mipsec_mn_ba_unprotected_total)" = $((ba_unp0 + 1))
check "mn4 still bound after the forged BA" mn_bound
out=$(nsx cn "${FORGE[@]}" replay "$PCAP" "$HA" 5)
check "replayed protected BU + 5 tunnel packets: no answer ($out)" grep -q silence <<< "$out"
check "... dropped by the anti-replay window (mipsec_esp_replay_total +6)" \
	test "$(counter ha1 mipsec_esp_replay_total)" = $((rep0 + 6))
check "... and counted as dropped ESP (mipsec_ha_esp_dropped_total +6)" \
	test "$(counter ha1 mipsec_ha_esp_dropped_total)" = $((drop0 + 6))
check "the SA's own replay count shows them" jtest ha1 "$SA_SET['mh_in']['replay'] >= 1 and $SA_SET['tun_in']['replay'] >= 5" show mip6_sa
check "mn4's binding untouched ($coa)" ha_binding_at "$coa"
check "mn4 still bound" mn_bound

say "moves under a TCP stream: the SAs follow the CoA, no rekey"
stream_start 5003
t=$(date +%s%N)
wait_for 10 "stream records arrive" stream_flowing_since "$t"
need "stream running" stream_flowing_since "$t"
prefix_of() {
	case $1 in
	link5a1) echo 2001:db8:5a:1: ;; link5a2) echo 2001:db8:5a:2: ;;
	link5b1) echo 2001:db8:5b:1: ;; link5b2) echo 2001:db8:5b:2: ;;
	link8) echo home ;;
	esac
}
: > "$MOVES"
seq_prev=$(jget mn4 "$SA_SET['mh_out']['seq']" show mip6_sa)
hmoves0=$(jget ha1 "$SA_SET['moves']" show mip6_sa)
i=0
for link in link5a1 link5b2 link8 link5a2 link5b1; do
	i=$((i + 1))
	p=$(prefix_of "$link")
	say "move $i/5: mn4 -> $link"
	move_to "$link" "$link"
	if [ "$p" = home ]; then
		wait_for 10 "move $i: mn4 at home" mn_at_home
		wait_for 10 "move $i: ha1 dropped the binding (deregistration in the transport SA)" ha_no_binding
		check "move $i: mn4's SAs leave from the home address" jtest mn4 "$SA_SET['local'] == '$HOA'" show mip6_sa
	else
		wait_for 10 "move $i: mn4 bound at $p" mn_bound_at "$p"
		wait_for 10 "move $i: ha1 binds $HOA to $p..." ha_binding_at "$p"
		c=$(mn_coa)
		check "move $i: ha1's SAs point at the new CoA $c" jtest ha1 "$SA_SET['peer'] == '$c' and $SA_SET['tun_out']['dst'] == '$c' and $SA_SET['mh_in']['src'] == '$c'" show mip6_sa
		check "move $i: mn4's SAs leave from $c" jtest mn4 "$SA_SET['local'] == '$c' and $SA_SET['tun_out']['src'] == '$c'" show mip6_sa
	fi
	wait_for 15 "move $i: TCP records sent after the move arrive" stream_flowing_since "$MOVE_END"
	seq_now=$(jget mn4 "$SA_SET['mh_out']['seq']" show mip6_sa)
	check "move $i: same SPIs, BU sequence keeps growing ($seq_prev -> $seq_now: no rekey)" \
		jtest mn4 "$SA_SET['tun_out']['spi'] == '0x00004201' and $SA_SET['mh_out']['spi'] == '0x00004101' and $SA_SET['mh_out']['seq'] > $seq_prev" show mip6_sa
	seq_prev=$seq_now
	if [ "$LAB_OK" = 0 ]; then
		ctl mn4 show bul || true; ctl ha1 show mip6_sa || true
		tail -n 8 "$LAB_STATE/mn4.log"
		echo "ABORT: the stream does not recover"
		break
	fi
done
stream_stop
check "ha1 moved the SA set 4 times (the home visit needs none)" \
	test "$(jget ha1 "$SA_SET['moves']" show mip6_sa)" -ge $((hmoves0 + 4))
"${STREAM[@]}" gaps "$STREAM_LOG" "$MOVES" "$LAB_STATE/mn4.log" | tail -n 1 || true
check "no ESP authentication failure anywhere" \
	test "$(counter ha1 mipsec_esp_auth_fail_total)" = 0 -a "$(counter mn4 mipsec_esp_auth_fail_total)" = 0
echo "counters:"; { ctl mn4 stats; ctl ha1 stats; } | grep -E 'esp|mip6_sec|unprotected|wrong_sa' | grep -v ' 0$' || true

say "the daemons stay clean"
for n in ha1 mn4 cn; do
	check_not "$n's log has no sanitizer report" grep -q 'Sanitizer' "$LAB_STATE/$n.log"
done
finish

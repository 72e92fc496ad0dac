#!/bin/bash
# Issue 4, power-on in visited network 5b (FIG. 1, lab/topologies/fig1-mip6.toml):
# mn4 starts on link5b1 knowing only its home address and prefix, finds ha1
# by DHAAD, registers; `show bindings` on ha1 and `show bul` on mn4 hold the
# entry; pings both ways and a 2 MiB TCP transfer (socat) from cn to the home
# address arrive intact, and ha1's tunnel counters show the traffic went
# through the home agent (both directions).  Reports the first registration
# time (daemon start -> accepted BA, from mn4's log).
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight

say "up"
need "lab up" lab up "$TOPO" --capture
wait_for 15 "mn4 registered (mn role state bound)" mn_bound
need "mn4 bound" mn_bound

say "registration"
coa=$(mn_coa)
echo "mn4 care-of address: $coa"
check "care-of address is on link5b1 (2001:db8:5b:1::/64)" grep -q '^2001:db8:5b:1:' <<< "$coa"
check "mn4 learnt the home agent by DHAAD" \
	jtest mn4 "${MN_STATE}[\"home_agent\"] == \"$HA\"" status
check "mn4 sent a DHAAD request" test "$(counter mn4 mipsec_mn_dhaad_requests_total)" -ge 1
check "ha1 answered DHAAD" test "$(counter ha1 mipsec_ha_dhaad_replies_total)" -ge 1
check "ha1 show bindings: $HOA -> $coa" \
	jtest ha1 "any(b['home_address'] == '$HOA' and b['care_of_address'] == '$coa' and 'H' in b['flags'] and b['lifetime_remaining_s'] > 0 for b in d)" show bindings
check "mn4 show bul: home entry to $HA, bound, CoA $coa, status 0" \
	jtest mn4 "any(e['peer'] == '$HA' and e['home_address'] == '$HOA' and e['care_of_address'] == '$coa' and e['kind'] == 'home' and e['state'] == 'bound' and e['last_status'] == 0 for e in d)" show bul
ctl ha1 show bindings
ctl mn4 show bul
start_ts=$(grep -m1 'mod=mn started' "$LAB_STATE/mn4.log" | sed 's/^ts=\([^ ]*\).*/\1/')
done_ts=$(grep -m1 'handover done' "$LAB_STATE/mn4.log" | sed 's/^ts=\([^ ]*\).*/\1/')
if [ -n "$start_ts" ] && [ -n "$done_ts" ]; then
	reg_ms=$(( ($(date -d "$done_ts" +%s%N) - $(date -d "$start_ts" +%s%N)) / 1000000 ))
	echo "first registration: ${reg_ms} ms from daemon start to accepted BA (incl. RS/RA and DHAAD)"
fi
check "home address 2001:db8:8::4 is on mn4's TUN" has_addr mn4 mip6mn0 "$HOA"

say "the registration on the wire, as tshark (not our decoder) reads it"
lab capture link5b1 stop
PCAP=$LAB_STATE/link5b1.pcap
# UDP 4191 carries a whole IPv6 packet (RFC 5555); checksums are verified.
tsh() { tshark -r "$PCAP" -d udp.port==4191,ipv6 -o udp.check_checksum:TRUE "$@" 2>/dev/null; }
check "tshark sees our Binding Update (H, A flags, HAO = HoA)" \
	test "$(tsh -Y "mip6.mhtype == 5 && mip6.bu.h_flag == 1 && mip6.bu.a_flag == 1 && ipv6.opt.mipv6.home_address == $HOA" | wc -l)" -ge 1
check "tshark sees ha1's Binding Acknowledgement, status 0, RH2 = HoA" \
	test "$(tsh -Y "mip6.mhtype == 6 && mip6.ba.status == 0 && ipv6.routing.mipv6.home_address == $HOA" | wc -l)" -ge 1
check "no malformed packet" test "$(tsh -Y _ws.malformed | wc -l)" = 0
check "no bad UDP checksum" test "$(tsh -Y "udp.checksum.status == 2" | wc -l)" = 0
check "every Mobility Header checksum verified by scapy" \
	/usr/bin/python3 "$LAB_SRC/tests/lab/check_mh_checksums.py" "$PCAP"

say "traffic through the home agent"
tun0=$(counter ha1 mipsec_ha_tunnel_packets_total)
rev0=$(counter ha1 mipsec_ha_reverse_tunnel_packets_total)
drop0=$(counter mn4 mipsec_mn_tunnel_dropped_total)
in0=$(counter mn4 mipsec_mn_tunnel_in_total)
out0=$(counter mn4 mipsec_mn_tunnel_out_total)
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
tun1=$(counter ha1 mipsec_ha_tunnel_packets_total)
rev1=$(counter ha1 mipsec_ha_reverse_tunnel_packets_total)
echo "ha1 tunnel packets: +$((tun1 - tun0)) to the CoA, +$((rev1 - rev0)) reverse-tunnelled"
# 2 MiB in segments of at most 1340 octets (TUN MTU 1400) is >= 1565 packets.
check "ha1 tunnelled the stream to the CoA (>= 1565 packets, got $((tun1 - tun0)))" \
	test $((tun1 - tun0)) -ge 1565
check "ha1 reverse-tunnelled mn4's ACKs (>= 100 packets, got $((rev1 - rev0)))" \
	test $((rev1 - rev0)) -ge 100
# The MN's side of the same tunnel.  (Its drop counter also counts the
# TUN's own link-local MLD/RS packets, which the kernel sends at random
# times, so it is only reported.)
in1=$(counter mn4 mipsec_mn_tunnel_in_total)
out1=$(counter mn4 mipsec_mn_tunnel_out_total)
echo "mn4: +$((in1 - in0)) from the tunnel, +$((out1 - out0)) into it," \
     "+$(( $(counter mn4 mipsec_mn_tunnel_dropped_total) - drop0 )) dropped"
for n in mn4 ha1; do
	echo "$n UDP receive buffer overflows: $(nsx "$n" cat /proc/net/snmp6 | awk '$1 == "Udp6RcvbufErrors" { print $2 }')"
done
check "mn4 received the stream from the tunnel (>= 1565 packets)" test $((in1 - in0)) -ge 1565
check "mn4 sent its ACKs into the tunnel (>= 100 packets)" test $((out1 - out0)) -ge 100

say "the daemons stay clean"
for n in ha1 mn4 cn; do
	check_not "$n's log has no sanitizer report" grep -q 'Sanitizer' "$LAB_STATE/$n.log"
done
finish

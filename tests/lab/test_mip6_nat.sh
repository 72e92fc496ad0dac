#!/bin/bash
# Issue 4, mobile node behind an IPv4 NAT with an IPv4 care-of address
# (RFC 5555) on the FIG. 1 lab (fig1-mip6.toml): nat5 masquerades link5n
# (192.168.5.0/24, no IPv6 router) behind 10.91.0.5 with nftables.  mn4,
# configured with home_agent 2001:db8:8::1 and home_agent_ipv4 10.8.0.1,
# starts on link5n with only 192.168.5.4: it registers over IPv4 UDP, ha1
# binds the home address to the NAT's outer address and port and reports
# the NAT (BA with NAT Detection); pings both ways and TCP both ways
# (socat, cn -> home address and home address -> cn) arrive intact through
# the NAT, whose masquerade rule counts the packets.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight

say "up"
need "lab up" lab up "$TOPO"
wait_for 15 "mn4 registered over IPv6 first" mn_bound

say "NAT on nat5 (masquerade link5n behind 10.91.0.5)"
need "nftables masquerade on nat5" nsx nat5 nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 192.168.5.0/24 counter masquerade
	}
}
NFT
masq_packets() {
	nsx nat5 nft list chain ip nat post | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

say "mn4 to link5n with an IPv4 address only"
need "lab stop mn4" lab stop mn4
conf=$LAB_STATE/mn4.conf
sed -i 's|home_prefix = "2001:db8:8::/64";|home_prefix = "2001:db8:8::/64";\n  home_agent = "2001:db8:8::1";\n  home_agent_ipv4 = "10.8.0.1";|' "$conf"
need "mn4.conf has home_agent_ipv4" grep -q 'home_agent_ipv4 = "10.8.0.1"' "$conf"
need "lab move mn4 eth0 link5n" lab move mn4 eth0 link5n
# Whatever the kernel configured from RAs while the daemon was stopped (and
# the IPv4 address of link5b1) must go: link5n has no IPv6 router.
nsx mn4 ip -6 addr flush dev eth0 scope global
nsx mn4 ip -6 route flush proto ra 2>/dev/null || true
nsx mn4 ip -4 addr flush dev eth0
need "192.168.5.4 on mn4" nsx mn4 ip addr add 192.168.5.4/24 dev eth0
need "IPv4 default via nat5" nsx mn4 ip route replace default via 192.168.5.1
check "mn4 reaches ha1's IPv4 address through the NAT" ping_ok mn4 10.8.0.1
m0=$(masq_packets)
need "lab start mn4" lab start mn4
wait_for 20 "mn4 registered with an IPv4 care-of address" mn_bound_at 192.168.5.4
if [ "$LAB_OK" = 0 ]; then
	ctl mn4 status || true
	ctl mn4 show bul || true
	tail -n 15 "$LAB_STATE/mn4.log"
	finish
fi
ctl mn4 show bul
ctl ha1 show bindings
check "mn4 detected the NAT (BA with NAT Detection option)" \
	jtest mn4 "${MN_STATE}[\"nat_detected\"]" status
check "ha1 binds $HOA to the NAT's outer address 10.91.0.5" ha_binding_at 10.91.0.5
check_not "ha1's binding is not the private address" ha_binding_at 192.168.5.4
check "ha1 counted the NAT" test "$(counter ha1 mipsec_ha_nat_detected_total)" -ge 1
check "the BU went through the masquerade rule" test "$(masq_packets)" -gt "$m0"

say "traffic both ways"
tun0=$(counter ha1 mipsec_ha_tunnel_packets_total)
rev0=$(counter ha1 mipsec_ha_reverse_tunnel_packets_total)
check "cn pings the home address" ping_ok cn "$HOA"
check "mn4 pings cn from its home address" nsx mn4 ping -n -q -c 1 -W 2 -I "$HOA" "$CN"
src=$LAB_STATE/nat.src
head -c 524288 /dev/urandom > "$src"
nsx mn4 socat -u "TCP6-LISTEN:5003,bind=[$HOA],reuseaddr" "OPEN:$LAB_STATE/nat.in,creat,trunc" \
	> /dev/null 2>&1 &
srv=$!
check "socat cn -> [$HOA]:5003 (512 KiB)" nsx cn timeout 60 socat -u "OPEN:$src" \
	"TCP6:[$HOA]:5003,retry=100,interval=0.1"
rc=0; timeout 30 tail --pid="$srv" -f /dev/null || rc=$?
check "the receiving socat on mn4 finished" test "$rc" = 0
check "cn -> home address: received intact" cmp -s "$src" "$LAB_STATE/nat.in"
nsx cn socat -u "TCP6-LISTEN:5004,bind=[$CN],reuseaddr" "OPEN:$LAB_STATE/nat.out,creat,trunc" \
	> /dev/null 2>&1 &
srv=$!
check "socat [$HOA] -> cn:5004 (512 KiB)" nsx mn4 timeout 60 socat -u "OPEN:$src" \
	"TCP6:[$CN]:5004,bind=[$HOA],retry=100,interval=0.1"
rc=0; timeout 30 tail --pid="$srv" -f /dev/null || rc=$?
check "the receiving socat on cn finished" test "$rc" = 0
check "home address -> cn: received intact" cmp -s "$src" "$LAB_STATE/nat.out"
tun1=$(counter ha1 mipsec_ha_tunnel_packets_total)
rev1=$(counter ha1 mipsec_ha_reverse_tunnel_packets_total)
echo "ha1: +$((tun1 - tun0)) tunnelled, +$((rev1 - rev0)) reverse-tunnelled, masquerade packets $(masq_packets)"
check "ha1 tunnelled >= 390 packets to the NAT" test $((tun1 - tun0)) -ge 390
check "ha1 reverse-tunnelled >= 390 packets from the NAT" test $((rev1 - rev0)) -ge 390

# test_mip6_nat_ike.sh adds its checks here.
if [ -n "${MIP6_NAT_AFTER:-}" ]; then "$MIP6_NAT_AFTER"; fi
for n in ha1 mn4 cn; do
	check_not "$n's log has no sanitizer report" grep -q 'Sanitizer' "$LAB_STATE/$n.log"
done
finish

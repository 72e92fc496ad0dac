#!/bin/bash
# test_mip6_nat.sh with RFC 4877 IPsec keyed by IKEv2 on (the topology of
# test_mip6_ike.sh): mn4 registers over IPv6 through an IKE SA, is stopped
# (SIGTERM), moved behind nat5 with an IPv4 address only and started
# again: its new IKE SA runs over IPv4 to ha1's 10.8.0.1, detects the NAT
# and moves to UDP 4500, its INITIAL_CONTACT replaces the old SAs at ha1,
# and the BU, the BA and the tunnel traffic through the NAT are ESP.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
mip6_ike_topology
export MIP6_TOPO
MIP6_NAT_AFTER=nat_ike_checks  # read by test_mip6_nat.sh
export MIP6_NAT_AFTER
nat_ike_checks() {
	say "IKE through the NAT"
	check "mn4's IKE SA runs over IPv4 with a NAT in front of it" \
		jtest mn4 "len([s for s in d if s['state'] == 'established' and s['nat_local'] in (True, 'yes') and s['local_port'] == 4500]) == 1" show ike_sa
	check "ha1 runs one IKE SA for mn4 (INITIAL_CONTACT replaced the IPv6 one)" \
		jtest ha1 "len([s for s in d if s['state'] == 'established']) == 1" show ike_sa
	check "mn4 keeps the NAT mapping open: ha1 got its keepalives on 4500" \
		test "$(counter ha1 mipsec_mip6_ike_natt_keepalives_total)" -ge 1
	check "ha1's SAs for $HOA point at the NAT (10.91.0.5)" \
		jtest ha1 "[s for s in d if s['home_address'] == '$HOA'][0]['peer'] == '10.91.0.5'" show mip6_sa
	check "ha1 took the BU from the transport SA" test "$(counter ha1 mipsec_mip6_sec_mh_accepted_total)" -ge 2
	check "ha1 sent the tunnel in the tunnel SA" test "$(counter ha1 mipsec_mip6_sec_tunnel_protected_total)" -ge 390
	check "no plain tunnel packet reached either side" \
		test "$(counter ha1 mipsec_ha_tunnel_unprotected_total)" = 0 -a "$(counter mn4 mipsec_mn_tunnel_unprotected_total)" = 0
	ctl mn4 show ike_sa || true
}
# shellcheck source=tests/lab/test_mip6_nat.sh
source "$(dirname "$0")/test_mip6_nat.sh"

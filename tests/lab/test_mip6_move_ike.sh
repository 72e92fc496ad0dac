#!/bin/bash
# test_mip6_move.sh with RFC 4877 IPsec keyed by IKEv2 on (the topology of
# test_mip6_ike.sh): two stop/start cycles of mn4's daemon (each one a
# new IKE SA that replaces the SAs at ha1: the restart limitation of
# manual keys is gone), then 8 moves under the TCP stream, home visits
# (deregistration in the transport SA from the home address) included,
# with the IKE SA following the care-of address and no record lost.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
mip6_ike_topology
export MIP6_TOPO
export MIP6_REG_RUNS=${MIP6_REG_RUNS:-2} MIP6_MOVES=${MIP6_MOVES:-8}
move_ike_checks() {
	say "IKE after the restarts and the moves"
	check "ha1 runs one IKE SA, the one of the last start (id >= $((MIP6_REG_RUNS + 1)))" \
		jtest ha1 "[s['id'] for s in d if s['state'] == 'established'] == [max(s['id'] for s in d)] and max(s['id'] for s in d) >= $((MIP6_REG_RUNS + 1))" show ike_sa
	check "mn4 runs one IKE SA" jtest mn4 "len([s for s in d if s['state'] == 'established']) == 1" show ike_sa
	check "the stream went through the tunnel SAs" \
		test "$(counter ha1 mipsec_mip6_sec_tunnel_protected_total)" -ge 1000
	check "no plain tunnel packet reached either side" \
		test "$(counter ha1 mipsec_ha_tunnel_unprotected_total)" = 0 -a "$(counter mn4 mipsec_mn_tunnel_unprotected_total)" = 0
	check "no ESP authentication failure or replay anywhere" \
		test "$(counter ha1 mipsec_esp_auth_fail_total)" = 0 -a "$(counter mn4 mipsec_esp_auth_fail_total)" = 0 -a "$(counter ha1 mipsec_esp_replay_total)" = 0
}
MIP6_MOVE_AFTER=move_ike_checks  # read by test_mip6_move.sh
export MIP6_MOVE_AFTER
# shellcheck source=tests/lab/test_mip6_move.sh
source "$(dirname "$0")/test_mip6_move.sh"

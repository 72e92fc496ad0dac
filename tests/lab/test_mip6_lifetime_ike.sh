#!/bin/bash
# Byte lifetimes of the RFC 4877 SAs (the topology of test_mip6_ike.sh,
# mn4 with child_rekey_bytes = 2 MB and no time limits): 12 MB of TCP from
# cn to mn4's home address through the tunnel SA
#  - mn4 rekeys its tunnel CHILD SA each time an SA of it carried 2 MB
#    (counted, logged), make-before-break: the data arrive intact, no ICV
#    failure or replay drop on either side, no SA reaches its hard limit;
#  - afterwards both ends hold one transport and one tunnel SA pair again,
#    ha1's tunnel SAs are mn4's new ones, and the transport SA (a few BUs)
#    was never rekeyed.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
mip6_ike_topology 0 0 2000000
TOPO=$MIP6_TOPO
SA_SET="[s for s in d if s['home_address'] == '$HOA'][0]"
spi_of() { jget "$1" "${SA_SET}['$2']['spi']" show mip6_sa; }
metric_sum() { ctl "$1" stats | awk -v n="$2" '{ split($1, k, "{") } k[1] == n { v += $2 } END { print v + 0 }'; }

say "up"
need "lab up" lab up "$TOPO"
wait_for 30 "mn4 registered through IKE" mn_bound
wait_for 15 "mn4's tunnel CHILD SA up" jtest mn4 "${SA_SET}['tun_out'] is not None" show mip6_sa
need "cn pings the home address" ping_ok cn "$HOA"
tun0=$(spi_of mn4 tun_out)
mh0=$(spi_of mn4 mh_out)

say "12 MB cn -> mn4 across byte-triggered rekeys"
head -c 12000000 /dev/urandom > "$LAB_STATE/data.bin"
t0=$(now_ms)
tcp_copy cn mn4 6 "[$HOA]" 5020 "" "$LAB_STATE/data.bin" 120
echo "12 MB in $(( $(now_ms) - t0 )) ms"
soft=$(counter mn4 mipsec_mip6_ike_lifetime_rekeys_total)
echo "rekeys on the soft byte lifetime at mn4: $soft"
check "mn4 rekeyed on bytes more than twice (12 MB, 2 MB soft limit)" test "$soft" -ge 3
check "mn4 logged the soft lifetime" grep -q "soft lifetime reached: rekeying" "$LAB_STATE/mn4.log"
check "no SA reached its hard limit" \
	test "$(counter mn4 mipsec_mip6_ike_lifetime_deletes_total)" = 0 -a "$(counter ha1 mipsec_mip6_ike_lifetime_deletes_total)" = 0
check "no ESP authentication failure anywhere" \
	test "$(metric_sum ha1 mipsec_esp_auth_fail_total)" = 0 -a "$(metric_sum mn4 mipsec_esp_auth_fail_total)" = 0
check "no ESP replay drop anywhere" \
	test "$(metric_sum ha1 mipsec_esp_replay_total)" = 0 -a "$(metric_sum mn4 mipsec_esp_replay_total)" = 0
check "no plain tunnel packet reached either side" \
	test "$(counter ha1 mipsec_ha_tunnel_unprotected_total)" = 0 -a "$(counter mn4 mipsec_mn_tunnel_unprotected_total)" = 0

say "after the overlaps"
wait_for 15 "mn4: back to two CHILD SAs" jtest mn4 "len(d) == 2" show child_sa
wait_for 15 "ha1: back to two CHILD SAs" jtest ha1 "len(d) == 2" show child_sa
check "the tunnel SPI changed ($tun0 -> $(spi_of mn4 tun_out))" test "$(spi_of mn4 tun_out)" != "$tun0"
check "ha1 receives in mn4's current tunnel SA" test "$(spi_of ha1 tun_in)" = "$(spi_of mn4 tun_out)"
check "ha1 sends in the SA mn4 receives in" test "$(spi_of ha1 tun_out)" = "$(spi_of mn4 tun_in)"
check "the transport SA was not rekeyed" test "$(spi_of mn4 mh_out)" = "$mh0"
check "cn still reaches the home address" ping_ok cn "$HOA"

finish

#!/bin/bash
# Two mipsecd gateways (role ipsec) keyed by their own IKEv2 engines (PSK,
# group 31, AES-256-GCM ESP) on one link, b initiating, a with a byte
# lifetime (child_rekey_bytes = 4 MB) on its CHILD SA:
#   - IKE SA and CHILD SA up on both ends, the SPIs crossed;
#   - 40 MB of TCP a -> b through the tunnel arrive byte for byte while a's
#     outbound SA crosses its soft byte limit again and again: each time
#     a's data plane wakes the loop (lifetime_poll_ms = 0: no poll, the
#     wake-up alone) and the engine rekeys make-before-break
#     (soft expiries and new SPIs counted, no hard expiry, no ICV or replay
#     failure at b), and the old children are gone afterwards;
#   - a NAT keepalive is not sent without a NAT (nothing to keep open);
#   - at stop a sends DELETE and b's tables empty.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
PY=/usr/bin/python3
skip_without_daemon
command -v socat >/dev/null || { echo "SKIP: socat not installed"; exit 77; }

gw_conf() {	# NODE TUN-ADDRS LOCAL-TS REMOTE-TS PEER-BLOCK
	cat <<CONF
node = { name = "@NODE@"; };
log = { level = "info"; };
control = { socket = "@STATE@/@NODE@.sock"; };
roles = ["ipsec"];
ipsec = {
  tun = "ipsec0"; tun_mtu = 1400; tun_addresses = [$1];
  listen = "::"; workers = 2; lifetime_poll_ms = 0;
  ike = {
    local_id = "fqdn:$2.mipsec.test";
    peers = ( { $3
      auth = "psk"; psk = "lab secret for the two gateways";
      ike_proposals = ["aes256gcm16-prfsha256-curve25519"];
      esp_proposals = ["aes256gcm16"];
      mode = "tunnel"; dpd = 0; } );
  };
};
CONF
}
topo=$LAB_STATE/topo.toml
{
	cat <<TOPO
name = "ipsec-ike"
[link.link0]
ipv6 = "fd00::/64"
ipv4 = "10.0.0.0/24"
[node.a]
accept_ra = false
iface = [ { name = "eth0", link = "link0", addr = ["10.0.0.1/24", "fd00::1/64"] } ]
[node.a.mipsecd]
config = '''
TOPO
	gw_conf '"10.10.0.1/32"' gw-a 'name = "gw-b"; remote = "any"; remote_id = "fqdn:gw-b.mipsec.test";
      local_ts = ["10.10.0.1/32"]; remote_ts = ["10.10.0.2/32"];
      child_rekey_time = 0; child_rekey_bytes = 4000000;'
	cat <<TOPO
'''
[node.b]
accept_ra = false
iface = [ { name = "eth0", link = "link0", addr = ["10.0.0.2/24", "fd00::2/64"] } ]
[node.b.mipsecd]
config = '''
TOPO
	gw_conf '"10.10.0.2/32"' gw-b 'name = "gw-a"; remote = "10.0.0.1"; local = "10.0.0.2";
      remote_id = "fqdn:gw-a.mipsec.test"; initiate = true;
      local_ts = ["10.10.0.2/32"]; remote_ts = ["10.10.0.1/32"]; child_rekey_time = 0;'
	echo "'''"
} > "$topo"

ctl() { "$MIPSECCTL" -s "$LAB_STATE/$1.sock" --json "${@:2}"; }
rows() { ctl "$1" show "$2" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
rows_is() { [ "$(rows "$1" "$2")" = "$3" ]; }
# metric NODE NAME: sum of the counter NAME over its labels
metric() {
	"$MIPSECCTL" -s "$LAB_STATE/$1.sock" stats |
		awk -v n="$2" '{ split($1, k, "{") } k[1] == n { v += $2 } END { print v + 0 }'
}
spis() { ctl "$1" show esp_sa | $PY -c 'import json,sys; print(" ".join(sorted(s["spi"] for s in json.load(sys.stdin))))'; }

say "up"
need "lab up" lab up "$topo"
wait_for 10 "a: one IKE SA" rows_is a ike_sa 1
wait_for 5 "a: one CHILD SA" rows_is a child_sa 1
wait_for 5 "b: one CHILD SA" rows_is b child_sa 1
check "a and b hold the same two ESP SPIs" test "$(spis a)" = "$(spis b)"
need "ping through the tunnel" nsx b ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1

say "40 MB a -> b across byte-triggered rekeys"
soft0=$(metric a mipsec_ipsec_ike_soft_expiries_total)
spis0=$(spis a)
head -c 40000000 /dev/urandom > "$LAB_STATE/data.bin"
t0=$(now_ms)
tcp_copy a b 4 10.10.0.2 5001 10.10.0.1 "$LAB_STATE/data.bin" 100
echo "40 MB in $(( $(now_ms) - t0 )) ms"
soft=$(( $(metric a mipsec_ipsec_ike_soft_expiries_total) - soft0 ))
echo "soft byte-lifetime expiries at a: $soft"
check "a rekeyed on bytes more than once (40 MB, 4 MB soft limit)" test "$soft" -ge 2
check "no CHILD SA reached its hard limit" test "$(metric a mipsec_ipsec_ike_hard_expiries_total)" = 0
check "b: no ICV failure" test "$(metric b mipsec_esp_auth_fail_total)" = 0
check "b: no replay drop" test "$(metric b mipsec_esp_replay_total)" = 0
wait_for 10 "a: back to one CHILD SA after the overlaps" rows_is a child_sa 1
wait_for 10 "b: back to one CHILD SA" rows_is b child_sa 1
check "the SPIs changed" test "$(spis a)" != "$spis0"
check "a and b agree on the final SPIs" test "$(spis a)" = "$(spis b)"
check "no NAT keepalive without a NAT" test "$(metric a mipsec_ipsec_natt_keepalives_sent_total)" = 0

say "stop a: DELETE"
need "a stops" lab stop a
wait_for 10 "b: no IKE SA" rows_is b ike_sa 0
wait_for 5 "b: no ESP SA" rows_is b esp_sa 0

finish

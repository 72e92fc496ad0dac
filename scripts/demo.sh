#!/bin/sh
# The mipsec demo: builds everything, brings up the FIG. 1 network of the
# first specification document (000) in network namespaces and walks the
# terminal MN4 through power-on in visited network 5b (router advertisement,
# home agent discovery, registration), traffic from the correspondent node
# to its home address through HA1, and handovers 5b -> 5a -> home.
# Run as root, or unprivileged inside `unshare -r -n`.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export MIPSECD="$PWD/build/mipsecd"
CTL="$PWD/build/mipsecctl"
LAB="$PWD/lab/lab"
state=$(mktemp -d /tmp/mipsec-demo.XXXXXX)
export LAB_STATE="$state"
trap '"$LAB" down >/dev/null 2>&1 || true' EXIT INT TERM
HOA=2001:db8:8::4

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# until SECONDS CMD...: wait for a condition (no fixed sleeps).
until_ok() {
	t=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$t" ] || { echo "(still not true: $*)"; return 0; }
		sleep 0.1
	done
}
mn_state() { "$CTL" -s "$state/mn4.sock" --json status | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
s = [r for r in d["roles"] if r["name"] == "mn"][0]["state"]
print(s.get("state"), s.get("care_of_address"), s.get("home_agent"))'; }
bound_at() { mn_state | grep -q "^bound $1"; }

step "FIG. 1 of 000: home network 8 (HA1), IP network 7 (CA3, CN), visited networks 5a/5b, MN4 powers on in 5b"
"$LAB" up lab/topologies/fig1-mip6.toml --capture
"$LAB" status

step "MN4 hears ar6c's Router Advertisement, forms a care-of address, finds HA1 by DHAAD and registers"
until_ok 20 bound_at 2001:db8:5b:1:
echo "mn4: $(mn_state)"
"$CTL" -s "$state/mn4.sock" show bul
"$CTL" -s "$state/ha1.sock" show bindings

step "The Binding Update / Acknowledgement on the wire (link5b1), decoded by mipsecctl"
"$CTL" decode --pcap "$state/link5b1.pcap" | /usr/bin/python3 -c '
import json, sys
def find(o):
	if isinstance(o, dict):
		if "mh" in o:
			yield o
		for v in o.values():
			yield from find(v)
shown = 0
for line in sys.stdin:
	for ip in find(json.loads(line)):
		if ip["mh"]["type"] in ("binding_update", "binding_acknowledgement") and shown < 2:
			print(json.dumps({k: ip[k] for k in ("source_address", "destination_address",
			      "extension_headers", "mh")}))
			shown += 1' || true

step "The correspondent node reaches MN4's home address; the packets go through HA1's tunnel"
"$LAB" exec cn ping -c 3 -i 0.2 "$HOA"
"$CTL" -s "$state/ha1.sock" stats | grep -E "mipsec_mip6_(udp|tun)_(rx|tx)_packets_total"

step "MN4 moves to visited network 5a (ar6a's link) and re-registers"
"$LAB" move mn4 eth0 link5a1
until_ok 20 bound_at 2001:db8:5a:1:
echo "mn4: $(mn_state)"
"$LAB" exec cn ping -c 3 -i 0.2 "$HOA"
grep -m 3 "handover done" "$state/mn4.log" || true

step "MN4 returns to its home network 8 and deregisters"
"$LAB" move mn4 eth0 link8
until_ok 20 sh -c "'$CTL' -s '$state/mn4.sock' --json status | grep -q '\"at_home\": true'"
echo "mn4: $(mn_state)"
"$CTL" -s "$state/ha1.sock" show bindings
"$LAB" exec cn ping -c 3 -i 0.2 "$HOA"

step "Prometheus metrics of HA1"
"$LAB" exec ha1 curl -s "http://[2001:db8:8::1]:9100/metrics" | grep -E '^mipsec_ha_(bu_received|ba_sent)' | head -n 6 || true

step "Tearing down: no namespace, process or file left behind"
"$LAB" down
trap - EXIT INT TERM
echo "done"

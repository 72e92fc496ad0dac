#!/bin/sh
# The mipsec demo: builds everything, brings up the FIG. 1 network of the
# first specification document (000) in network namespaces and walks
# through what runs today. Run as root, or unprivileged inside `unshare -r -n`.
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

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "FIG. 1 of 000: home network 8 (HA1), IP network 7 (CA3, CN), visited networks 5a/5b, MN4 in 5b"
t0=$(date +%s%N)
"$LAB" up lab/topologies/fig1-000.toml --capture
echo "network up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
"$LAB" status | head -n 40

step "Access router ar6c (visited network 5b): status and tables over its control socket"
"$CTL" -s "$state/ar6c.sock" status
"$CTL" -s "$state/ar6c.sock" show ar

step "Router Advertisements heard on MN4's link, decoded by mipsecctl (RFC 4861/6275/5380 fields)"
i=0
while [ $i -lt 100 ] && [ ! -s "$state/link5b1.pcap" ]; do i=$((i + 1)); sleep 0.1; done
sleep 0.5
"$CTL" decode --pcap "$state/link5b1.pcap" 2>/dev/null | grep '"type":134' | head -n 2 || true

step "HA1 advertises the home link with the Home Agent flag and Home Agent Information"
"$CTL" decode --pcap "$state/link8.pcap" 2>/dev/null | grep '"type":134' | head -n 1 || true

step "MN4 reaches the correspondent node across the visited and IP networks"
"$LAB" exec mn4 ping -c 3 -i 0.2 2001:db8:7::c

step "MN4 moves from ar6c's link to ar6d's and autoconfigures there"
"$LAB" move mn4 eth0 link5b2
i=0
until "$LAB" exec mn4 ip -6 addr show dev eth0 | grep -q "2001:db8:5b:2:"; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
done
"$LAB" exec mn4 ip -6 addr show dev eth0 | grep inet6

step "Prometheus metrics of ar6d"
"$LAB" exec ar6d curl -s "http://[2001:db8:5b::6d]:9100/metrics" | grep -E '^mipsec_ar_(ra_sent|rs_received)' || true

step "Tearing down: no namespace, process or file left behind"
"$LAB" down
trap - EXIT INT TERM
echo "done"

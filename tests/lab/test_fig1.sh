#!/bin/bash
# FIG. 1 of seed 000 as a lab: bring-up time, reachability over every link
# (IPv6 and IPv4) and end to end, the access routers' RAs on the wire
# (checked by scapy), control socket and metrics, daemon address cleanup on
# SIGTERM, a terminal moving between links, packet loss, kill/restart, and a
# teardown that leaves nothing behind.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
TOPO=$LAB_SRC/lab/topologies/fig1-000.toml
CHECK_RA=(/usr/bin/python3 "$LAB_SRC/tests/lab/check_ra.py")
PY=/usr/bin/python3
skip_without_daemon

# Until the ar role is linked into mipsecd there is nothing to run here.
probe=$LAB_STATE/probe.conf
printf 'node = { name = "probe"; };\nroles = [ "ar" ];\n' > "$probe"
if "$MIPSECD" -n -c "$probe" 2>&1 | grep -q "unknown role 'ar'"; then
	echo "SKIP: this mipsecd has no ar role"; exit 77
fi
rm -f "$probe"

links_before=$(ip -o link | awk -F': ' '{print $2}' | sort)

say "up"
t0=$(now_ms)
need "lab up" lab up "$TOPO"
elapsed=$(( $(now_ms) - t0 ))
echo "up took ${elapsed} ms"
if [ "$elapsed" -ge 10000 ]; then fail "lab up took ${elapsed} ms (>= 10 s)"; fi
lab status
status_json=$(lab status --json)
holders=$(printf '%s' "$status_json" |
	$PY -c 'import json,sys; print(" ".join(str(h["pid"]) for h in json.load(sys.stdin)["holders"].values()))')

say "every node pings every neighbour on every link (IPv6 and IPv4)"
pairs=$(printf '%s' "$status_json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
for link in d["links"]:
	on = [(k.split("/")[0], p["addr"]) for k, p in sorted(d["ports"].items())
	      if p["link"] == link]
	for a, _ in on:
		for b, addrs in on:
			if a != b:
				for addr in addrs:
					print(link, a, b, addr.split("/")[0])
')
n=0
while read -r link from to addr; do
	n=$((n + 1))
	LAB_CHECKS=$((LAB_CHECKS + 1))
	ping_ok "$from" "$addr" || fail "$link: $from -> $to ($addr)"
done <<< "$pairs"
echo "$n neighbour pings"
[ "$n" -ge 60 ] || fail "only $n neighbour pairs: topology incomplete?"

say "end to end"
for t in "mn4 2001:db8:7::c" "mn4 10.7.0.12" "mn4 2001:db8:8::1" "mn4 10.8.0.1" \
	 "cn 2001:db8:5b:1::4" "cn 10.91.1.4" "ca3 2001:db8:5a:2::1" \
	 "ha1 2001:db8:5b:2::1" "ar6a 10.91.2.1" "mn4 2001:db8:5a:1::1"; do
	set -- $t
	check "end to end $1 -> $2" ping_ok "$1" "$2"
done

say "RAs on the access links (scapy)"
ra_links="link5a1 link5a2 link5b1 link5b2 link8"
for l in $ra_links; do need "capture $l" lab capture "$l" start; done
for l in $ra_links; do
	wait_for 10 "8 RAs captured on $l" "${CHECK_RA[@]}" "$LAB_STATE/$l.pcap" --count 8
done
for l in $ra_links; do need "stop capture $l" lab capture "$l" stop; done
common=(--lifetime 1800 --mtu 1500 --advint 150 --interval 50,150
	--valid 86400 --preferred 14400)
check "RAs of ar6a on link5a1" "${CHECK_RA[@]}" "$LAB_STATE/link5a1.pcap" "${common[@]}" \
	--src "$(mac ar6a eth1)" --prefix 2001:db8:5a:1::/64 --M 0 --O 0 --H 0
check "RAs of ar6b on link5a2" "${CHECK_RA[@]}" "$LAB_STATE/link5a2.pcap" "${common[@]}" \
	--src "$(mac ar6b eth1)" --prefix 2001:db8:5a:2::/64 --M 1 --O 1 --H 0
check "RAs of ar6c on link5b1 (MAP option)" "${CHECK_RA[@]}" "$LAB_STATE/link5b1.pcap" \
	"${common[@]}" --src "$(mac ar6c eth1)" --prefix 2001:db8:5b:1::/64 \
	--M 0 --O 0 --H 0 --map 2001:db8:5b::2b,1,7,1,3600
check "RAs of ar6d on link5b2" "${CHECK_RA[@]}" "$LAB_STATE/link5b2.pcap" "${common[@]}" \
	--src "$(mac ar6d eth1)" --prefix 2001:db8:5b:2::/64 --M 0 --O 0 --H 0
check "RAs of ha1 on the home link (H flag, HA info)" "${CHECK_RA[@]}" \
	"$LAB_STATE/link8.pcap" "${common[@]}" --src "$(mac ha1 eth1)" \
	--prefix 2001:db8:8::1/64 --R 1 --M 0 --O 0 --H 1 --hainfo 10,1200
check_not "the checker notices a missing MAP option" "${CHECK_RA[@]}" \
	"$LAB_STATE/link5b2.pcap" --map 2001:db8:5b::2b,1,7,1,3600

say "control socket and metrics"
ctl_status() {	# NODE: status over the control socket names NODE and role ar
	"$MIPSECCTL" -s "$LAB_STATE/$1.sock" status --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["node"] == sys.argv[1], d["node"]
assert "ar" in [r["name"] if isinstance(r, dict) else r for r in d["roles"]], d["roles"]
' "$1"
}
for node in ha1 ar6a ar6b ar6c ar6d; do
	check "mipsecctl status of $node" ctl_status "$node"
done
metrics_ok() {
	local out
	out=$(lab exec ar6c curl -sf --max-time 5 'http://[2001:db8:5b::6c]:9100/metrics') || return 1
	grep -q '^mipsec_ar_ra_sent_total' <<< "$out"
}
check "ar6c serves mipsec_ar_ra_sent_total" metrics_ok

say "SIGTERM removes the address the daemon added"
check "ar6c added 2001:db8:5b:1::100" has_addr ar6c eth1 2001:db8:5b:1::100
check "lab stop ar6c (SIGTERM)" lab stop ar6c
check_not "2001:db8:5b:1::100 gone after SIGTERM" has_addr ar6c eth1 2001:db8:5b:1::100
check "lab start ar6c" lab start ar6c
wait_for 10 "2001:db8:5b:1::100 back after start" has_addr ar6c eth1 2001:db8:5b:1::100

say "mn4 moves from link5b1 to link5b2"
slaac_5b2() {
	local out
	out=$(nsx mn4 ip -6 addr show dev eth0) || return 1
	grep -q 'inet6 2001:db8:5b:2:' <<< "$out"
}
default_via_ar6d() {
	local out
	out=$(nsx mn4 ip -6 route show default) || return 1
	grep -q "via $ar6d_ll " <<< "$out"
}
check_not "mn4 has no 2001:db8:5b:2:: address yet" slaac_5b2
ar6d_ll=$(lladdr ar6d eth1)
need "lab move" lab move mn4 eth0 link5b2
wait_for 10 "mn4 autoconfigured from ar6d's RA" slaac_5b2
wait_for 10 "mn4 has a default route via ar6d ($ar6d_ll)" default_via_ar6d
check "mn4 reaches ar6d on link5b2" ping_ok mn4 2001:db8:5b:2::1
check_not "mn4 no longer reaches ar6c on link5b1" ping_ok mn4 2001:db8:5b:1::1
need "lab move back" lab move mn4 eth0 link5b1
wait_for 10 "mn4 reaches ar6c again" ping_ok mn4 2001:db8:5b:1::1

say "impairment"
check "loss=100% on link5b1" lab impair link5b1 loss=100%
check_not "ping over link5b1 fails at 100% loss" ping_ok mn4 2001:db8:5b:1::1
check "loss=0 on link5b1" lab impair link5b1 loss=0
wait_for 10 "ping over link5b1 works again" ping_ok mn4 2001:db8:5b:1::1

say "kill and restart"
old=$(lab daemon-pid ar6d)
check "lab kill ar6d" lab kill ar6d
check_not "ar6d's mipsecd is gone" pid_alive "$old"
check_not "status reports no daemon on ar6d" lab daemon-pid ar6d
check "lab restart ar6d" lab restart ar6d
check "ar6d answers after restart" ctl_status ar6d
new=$(lab daemon-pid ar6d || true)
if [ -z "$new" ] || [ "$new" = "$old" ]; then
	fail "restart gave no new pid ($old -> $new)"
fi
ras_sent() {
	"$MIPSECCTL" -s "$LAB_STATE/ar6d.sock" status --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
n = sum(i["ras_sent"] for r in d["roles"] if isinstance(r, dict)
	for i in r.get("state", {}).get("interfaces", []))
sys.exit(0 if n >= 3 else 1)'
}
wait_for 10 "restarted ar6d advertises again" ras_sent
check "lab restart of a running daemon" lab restart ar6c
check "ar6c answers after restart" ctl_status ar6c

say "down"
check "lab down" lab down
pids_gone holder $holders
check_not "state directory removed" test -e "$LAB_STATE"
check "a second down is a no-op" lab down
links_after=$(ip -o link | awk -F': ' '{print $2}' | sort)
[ "$links_before" = "$links_after" ] ||
	fail "interfaces in the caller's namespace changed: $(diff <(echo "$links_before") <(echo "$links_after") | tr '\n' ' ')"
finish

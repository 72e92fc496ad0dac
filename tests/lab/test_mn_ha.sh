#!/bin/bash
# Our mobile node against our home agent (tests/lab/mn_ha.toml): the MN
# registers from an access link advertised by our access router, host
# traffic reaches a correspondent through the HA both ways, a move to the
# other access link re-registers (handover time read from the MN's log, a
# ping running across it), the home link brings deregistration and native
# traffic, and leaving home registers again.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
TOPO=$LAB_SRC/tests/lab/mn_ha.toml
PY=/usr/bin/python3
HOA=2001:db8:8::4
CN=2001:db8:7::c
skip_without_daemon
probe=$LAB_STATE/probe.conf
printf 'node = { name = "probe"; };\nroles = [ "ha" ];\n' > "$probe"
if "$MIPSECD" -n -c "$probe" 2>&1 | grep -qE "unknown role '(ha|mn)'"; then
	echo "SKIP: this mipsecd lacks the ha or mn role"; exit 77
fi
rm -f "$probe"

ctl() { "$MIPSECCTL" -s "$LAB_STATE/$1.sock" --json "${@:2}"; }
# field of the MN's only BUL entry
bul() { ctl mn show bul | $PY -c "import json,sys; b=json.load(sys.stdin); print(b[0]['$1'] if b else '')"; }
mnstate() { ctl mn status | $PY -c "import json,sys
print(next(r['state'] for r in json.load(sys.stdin)['roles'] if r['name']=='mn')['$1'])"; }
bound_in() { [ "$(bul state)" = bound ] && [[ "$(bul care_of_address)" == $1* ]]; }
ha_binding() { ctl ha show bindings | $PY -c "import json,sys
b=[e for e in json.load(sys.stdin) if e.get('home_address')=='$HOA']
print(b[0].get('care_of_address','') if b else '')"; }
# predicates for wait_for (re-evaluated at every poll)
bul_is() { [ "$(bul "$1")" = "$2" ]; }
mn_is() { [ "$(mnstate "$1")" = "$2" ]; }
ha_binding_is() { [ "$(ha_binding)" = "$1" ]; }
handover_ms() { grep 'handover done' "$LAB_STATE/mn.log" | tail -1 | sed -n 's/.* ms=\([0-9]*\).*/\1/p'; }

say "up"
need "lab up" lab up "$TOPO"

say "registration from acc1"
wait_for 15 "MN bound with a CoA from acc1" bound_in 2001:db8:1:
coa1=$(bul care_of_address)
echo "CoA $coa1, handover $(handover_ms) ms"
wait_for 5 "HA binding HoA -> CoA1" ha_binding_is "$coa1"
check "host routing on the MN" mn_is host_routing True
check "ping MN(HoA) -> CN through the HA" nsx mn ping -n -q -c 3 -i 0.2 -W 2 $CN
check "ping CN -> HoA through the HA" nsx cn ping -n -q -c 3 -i 0.2 -W 2 $HOA

say "move to acc2 with a ping running"
nsx mn ping -n -i 0.05 -c 200 -W 1 $CN > "$LAB_STATE/ping-move.txt" 2>&1 &
pingpid=$!
sleep 1
lab move mn eth0 acc2
wait_for 15 "MN bound with a CoA from acc2" bound_in 2001:db8:2:
coa2=$(bul care_of_address)
ms=$(handover_ms)
echo "CoA $coa2, handover $ms ms"
check "handover under 3 s" test "${ms:-99999}" -lt 3000
wait_for 5 "HA binding HoA -> CoA2" ha_binding_is "$coa2"
wait "$pingpid" || true
tail -2 "$LAB_STATE/ping-move.txt"
check "ping replies after the move" \
	$PY -c "import re,sys; t=open('$LAB_STATE/ping-move.txt').read(); m=re.search(r'(\d+) received', t); sys.exit(0 if m and int(m.group(1)) > 100 else 1)"
check_not "old CoA gone from the MN" has_addr mn eth0 "$coa1"

say "home"
lab move mn eth0 home
wait_for 15 "MN at home" mn_is at_home True
wait_for 10 "BUL idle after deregistration" bul_is state idle
wait_for 5 "HA binding removed" ha_binding_is ""
check "HoA on the home interface" has_addr mn eth0 $HOA
check "no host routing at home" mn_is host_routing False
wait_for 10 "ping MN -> CN natively from home" ping_ok mn $CN

say "leave home for acc1"
lab move mn eth0 acc1
wait_for 15 "MN bound again from acc1" bound_in 2001:db8:1:
check_not "HoA off the access interface" has_addr mn eth0 $HOA
check "ping MN -> CN through the HA again" nsx mn ping -n -q -c 3 -i 0.2 -W 2 $CN
grep -E 'handover done|movement|home' "$LAB_STATE/mn.log" | sed 's/^/    /' | tail -12
if [ "$LAB_FAILS" -gt 0 ]; then
	for n in mn ha; do
		echo "---- $n.log (mobility lines)"
		grep -vE 'RS not sent|level=debug mod=(ar|netlink)' "$LAB_STATE/$n.log" | tail -60
	done
fi
finish

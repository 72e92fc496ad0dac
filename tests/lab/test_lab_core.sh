#!/bin/bash
# The lab itself, without daemons: bring-up, forwarding, exec, move,
# impairment, capture, error handling, and a teardown that leaves nothing.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
TOPO=$LAB_SRC/tests/lab/core.toml
PY=/usr/bin/python3
links_before=$(ip -o link | awk -F': ' '{print $2}' | sort)

say "errors are reported, and a failed up is cleaned up by down"
bad=$HOME/bad.toml
printf '[node.x]\niface = [ { name = "eth0", link = "nowhere" } ]\n' > "$bad"
out=$(lab up "$bad" 2>&1 || true)
check "unknown link named in the error" grep -q "unknown link 'nowhere'" <<< "$out"
sed 's|"default via 10.0.2.1"|"default via 10.9.9.9"|' "$TOPO" > "$bad"
check_not "up with an unreachable gateway fails" lab up "$bad"
check "the failed up left holders to clean" lab pid r1
check "down after a failed up" lab down
check_not "state directory removed" test -e "$LAB_STATE"
check "down is idempotent" lab down

say "up"
t0=$(now_ms)
need "lab up" lab up "$TOPO"
echo "up took $(( $(now_ms) - t0 )) ms"
check_not "a second up on the same state is refused" lab up "$TOPO"
holders=$(lab status --json | $PY -c 'import json,sys
print(" ".join(str(h["pid"]) for h in json.load(sys.stdin)["holders"].values()))')
check "h2 has the MAC from the file" test "$(mac h2 up0)" = 02:00:00:00:00:20
check "interface named up0 in h2" nsx h2 ip link show dev up0
lo_up() { local out; out=$(nsx h1 ip -o link show dev lo); grep -q 'LOOPBACK,UP' <<< "$out"; }
check "lo is up" lo_up
check "h1 does not forward" test "$(lab exec h1 cat /proc/sys/net/ipv6/conf/all/forwarding)" = 0
check "r1 forwards" test "$(lab exec r1 cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1
check "no DAD in nodes" test "$(lab exec h1 cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" = 0
for t in "h1 2001:db8:b::20" "h1 10.0.2.20" "h2 2001:db8:a::10" "h2 10.0.1.10" \
	 "h1 127.0.0.1" "h1 ::1"; do
	set -- $t
	check "ping $1 -> $2" ping_ok "$1" "$2"
done
check_not "the caller's namespace cannot reach the lab" \
	ping -n -q -c 1 -W 1 2001:db8:a::1
check_not "exec in an unknown node fails" lab exec nosuch true
check "exec passes the exit status" bash -c "! $LAB exec h1 false"

say "capture"
need "capture start" lab capture a start
check "ping while capturing" ping_ok h1 2001:db8:b::20
need "capture stop" lab capture a stop
count_echo() {
	$PY -c '
import sys
from scapy.all import rdpcap
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6EchoReply
p = rdpcap(sys.argv[1])
n = sum(1 for x in p if ICMPv6EchoRequest in x or ICMPv6EchoReply in x)
sys.exit(0 if n >= 2 else 1)' "$1"
}
check "the capture holds the echo request and reply" count_echo "$LAB_STATE/a.pcap"

say "move"
need "move h2 to link c" lab move h2 up0 c
check_not "h2 unreachable on c" ping_ok h1 2001:db8:b::20
need "move h2 back to b" lab move h2 up0 b
wait_for 10 "h2 reachable again" ping_ok h1 2001:db8:b::20
check_not "move to an unknown link fails" lab move h2 up0 nosuch

say "impair"
check "neighbours resolved before the lossy burst" ping_ok h1 10.0.2.20
check "loss=50%" lab impair b loss=50%
lost=$(nsx h1 ping -n -q -c 100 -i 0.01 -W 1 10.0.2.20 | sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p' || true)
echo "loss at 50% per frame: ${lost}%"
# Two frames per exchange, each dropped with p=0.5: about 75% of pings lost.
if [ -z "$lost" ] || [ "$lost" -lt 45 ] || [ "$lost" -gt 97 ]; then
	fail "loss=50% gave ${lost:-?}% ping loss (expected about 75%)"
fi
check "loss=100%" lab impair b loss=100%
check_not "no ping at 100% loss" ping_ok h1 10.0.2.20
check_not "loss=150% rejected" lab impair b loss=150%
check_not "unknown impairment rejected" lab impair b delay=10ms
check "loss=0" lab impair b loss=0
wait_for 10 "pings again" ping_ok h1 10.0.2.20

say "gc takes down a lab whose owner is gone, and only that one"
orphan=$HOME/orphan
# pid 1 with another start time: an owner that no longer runs.
olab() { MIPSEC_LAB_OWNER=1:0 lab --state "$orphan" "$@"; }
need "a second lab, orphaned" olab up "$TOPO"
orphans=$(olab status --json | $PY -c 'import json,sys
print(" ".join(str(h["pid"]) for h in json.load(sys.stdin)["holders"].values()))')
olab exec h1 sleep 603 >/dev/null 2>&1 &
wait_for 10 "a process in the orphaned lab" pgrep -f "^sleep 603$"
check "lab gc" lab gc
pids_gone "orphaned holder" $orphans
check_not "the orphaned lab's process is gone" pgrep -f "^sleep 603$"
for p in $holders; do
	LAB_CHECKS=$((LAB_CHECKS + 1))
	pid_alive "$p" || fail "gc killed holder $p of the running lab"
done
check "the running lab still works" ping_ok h1 2001:db8:b::20
check "down on the collected lab" olab down
check "gc with nothing to collect" lab gc

say "down kills what exec started"
lab exec h1 sleep 600 >/dev/null 2>&1 &
lab exec r1 sh -c 'sleep 601 & sleep 602 & wait' >/dev/null 2>&1 &
# Wait for all three: `lab exec` runs in the background, and a process
# that only starts after `down` would outlive it.
wait_for 10 "exec'd process in h1 running" pgrep -f "^sleep 600$"
wait_for 10 "exec'd processes in r1 running" bash -c '[ "$(pgrep -fc "^sleep 60[12]$")" -ge 2 ]'
check "lab down" lab down
pids_gone holder $holders
check_not "no exec'd process left" pgrep -f "sleep 60[012]"
check_not "state directory removed" test -e "$LAB_STATE"
links_after=$(ip -o link | awk -F': ' '{print $2}' | sort)
[ "$links_before" = "$links_after" ] ||
	fail "caller's interfaces changed: $(diff <(echo "$links_before") <(echo "$links_after") | tr '\n' ' ')"
wait || true
finish

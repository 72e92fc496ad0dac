#!/bin/bash
# Issue 4, movement with a running TCP stream (FIG. 1, fig1-mip6.toml):
# cn streams to mn4's home address (TCP records every 2 ms, checked for
# loss and order, plus UDP probes every 2 ms) while mn4 moves
# link5b1 (5b) -> link5a1 (5a) -> link5b1 -> link8 (home) -> link5b1 -> ...
# After every move: the MN is bound at the new CoA (or at home with no
# binding left on ha1), ha1's binding follows, and stream records flow
# again.  At the end the TCP stream closes cleanly with every record in
# order, and the handover gap of each move is reported: the longest
# silence of the UDP probes around the move (link down -> first packet at
# the new CoA), the TCP stall, and the MN's own link change -> BA time.
#
#   MIP6_MOVES   number of moves (default 20, as issue 4 asks)
#   MIP6_PATH    the cycle of links (default "link5a1 link5b1 link8 link5b1")
#   MIP6_REPORT  file that receives the JSON gap report
#   MIP6_REG_RUNS  before the stream, stop and start mn4's daemon this many
#                times on link5b1 and report each first registration time
#                (daemon start -> accepted BA, from mn4's log; default 0)
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
source "$(dirname "$0")/mip6_common.sh"
mip6_preflight
nmoves=${MIP6_MOVES:-20}
read -r -a cycle <<< "${MIP6_PATH:-link5a1 link5b1 link8 link5b1}"

say "up"
need "lab up" lab up "$TOPO"
wait_for 15 "mn4 registered" mn_bound
need "mn4 bound on link5b1" mn_bound_at 2001:db8:5b:1:

reg_runs=${MIP6_REG_RUNS:-0}
reg_ms() {
	# the last 'mod=mn started' line and the first 'handover done' after it
	awk '/mod=mn started/ { s = $1; d = "" } /handover done/ && s != "" && d == "" { d = $1 }
	     END { print s, d }' "$LAB_STATE/mn4.log" | sed 's/ts=//g'
}
regs=()
for ((r = 0; r < reg_runs; r++)); do
	check "lab stop mn4" lab stop mn4
	wait_for 10 "ha1 dropped the binding after mn4's deregistration" ha_no_binding
	check "mn4 put eth0's accept_ra back at stop (the kernel's 1)" \
		test "$(nsx mn4 cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" = 1
	check "lab start mn4" lab start mn4
	wait_for 10 "mn4 registered again (run $((r + 1)))" mn_bound
	read -r a b <<< "$(reg_ms)"
	if [ -n "$b" ]; then
		regs+=($(( ($(date -d "$b" +%s%N) - $(date -d "$a" +%s%N)) / 1000000 )))
	fi
done
if [ "$reg_runs" -gt 0 ]; then
	echo "first registration times (ms): ${regs[*]}"
	printf '%s\n' "${regs[@]}" > "${MIP6_REPORT:-$LAB_STATE/gaps.json}.reg"
	check "every restart registered" test "${#regs[@]}" = "$reg_runs"
fi

say "TCP stream cn -> [$HOA]"
stream_start 5002
t=$(date +%s%N)
wait_for 10 "stream records arrive" stream_flowing_since "$t"
need "stream running" stream_flowing_since "$t"

prefix_of() {
	case $1 in
	link5a1) echo 2001:db8:5a:1: ;; link5a2) echo 2001:db8:5a:2: ;;
	link5b1) echo 2001:db8:5b:1: ;; link5b2) echo 2001:db8:5b:2: ;;
	link8) echo home ;;
	esac
}
: > "$MOVES"
for ((i = 0; i < nmoves; i++)); do
	link=${cycle[$((i % ${#cycle[@]}))]}
	p=$(prefix_of "$link")
	say "move $((i + 1))/$nmoves: mn4 -> $link"
	move_to "$link" "$link"
	if [ "$p" = home ]; then
		wait_for 10 "move $((i + 1)): mn4 at home" mn_at_home
		wait_for 10 "move $((i + 1)): ha1 dropped the binding (deregistration from home)" ha_no_binding
	else
		wait_for 10 "move $((i + 1)): mn4 bound at $p" mn_bound_at "$p"
		wait_for 10 "move $((i + 1)): ha1 binds $HOA to $p..." ha_binding_at "$p"
	fi
	wait_for 15 "move $((i + 1)): TCP records sent after the move arrive" stream_flowing_since "$MOVE_END"
	if [ "$LAB_OK" = 0 ]; then
		ctl mn4 show bul || true
		ctl ha1 show bindings || true
		tail -n 8 "$LAB_STATE/mn4.log"
		echo "ABORT: the stream does not recover"
		break
	fi
done

say "stream end"
stream_stop

say "handover gaps"
report=${MIP6_REPORT:-$LAB_STATE/gaps.json}
"${STREAM[@]}" gaps "$STREAM_LOG" "$MOVES" "$LAB_STATE/mn4.log" > "$report"
cat "$report"
echo "mn4 'handover done' times (link change -> accepted BA, ms):" \
	"$(grep 'handover done' "$LAB_STATE/mn4.log" | sed -n 's/.* ms=\([0-9]*\).*/\1/p' | tail -n "$nmoves" | tr '\n' ' ')"
echo "counters:"; { ctl mn4 stats; ctl ha1 stats; } | grep -E '_(tunnel|reverse)_|dropped' | grep -v ' 0$' || true
check "every move has a gap measurement" "$PY" -c "
import json, sys
r = [json.loads(l) for l in open('$report')]
sys.exit(0 if r[-1]['summary']['udp_gap_ms']['n'] == $nmoves else 1)"
# test_mip6_move_ike.sh adds its checks here.
if [ -n "${MIP6_MOVE_AFTER:-}" ]; then "$MIP6_MOVE_AFTER"; fi
for n in ha1 mn4 cn; do
	check_not "$n's log has no sanitizer report" grep -q 'Sanitizer' "$LAB_STATE/$n.log"
done
finish

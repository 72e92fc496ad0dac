#!/bin/bash
# Issue 4 handover benchmark on the FIG. 1 lab (lab/topologies/fig1-mip6.toml):
# runs tests/lab/test_mip6_move.sh with 20 moves (5b -> 5a -> 5b -> home,
# repeated) under a TCP stream and 10 daemon restarts for the first
# registration time, then prints median / p90 of
#   - the handover gap: longest silence of 2 ms UDP probes cn -> home
#     address around each move (link down -> first packet at the new CoA);
#   - the TCP stall around each move;
#   - the first registration time (mn role start -> accepted BA, incl.
#     RS/RA and DHAAD, from mn4's log).
# Goals (issue 4): gap median <= 50 ms with RAs every 30-70 ms, registration
# <= 200 ms without IPsec.
#
# usage: bench/handover_bench.sh [BUILD_DIR]
#   env MOVES (20), REG_RUNS (10), MOVE_PATH (default "link5a1 link5b1 link8
#   link5b1"; e.g. "link5a1 link5b1" to leave home out), KEEP=DIR to keep
#   the raw results.  Runs as root (or rootless when not root).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
export MIPSECD=$build/mipsecd MIPSECCTL=$build/mipsecctl
mode=root
[ "$(id -u)" = 0 ] || mode=rootless
out=${KEEP:-$(mktemp -d /tmp/mipsec-hobench.XXXXXX)}
mkdir -p "$out"
chmod 0777 "$out"	# rootless run-test drops to nobody
export MIP6_MOVES=${MOVES:-20} MIP6_REG_RUNS=${REG_RUNS:-10} MIP6_REPORT=$out/gaps.json
[ -z "${MOVE_PATH:-}" ] || export MIP6_PATH=$MOVE_PATH
"$src/lab/run-test" "$mode" "$src/tests/lab/test_mip6_move.sh" > "$out/run.log" 2>&1
rc=$?
grep -E '^(FAIL|RESULT|ABORT)' "$out/run.log"
[ -s "$out/gaps.json" ] || { echo "no gap report (run-test exit $rc), see $out/run.log"; exit 1; }
/usr/bin/python3 - "$out/gaps.json" "$out/gaps.json.reg" "${MIP6_PATH:-link5a1 link5b1 link8 link5b1}" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
moves, summ = rows[:-1], rows[-1]["summary"]
def pct(v, q):
	v = sorted(v)
	return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else None
print("moves: %d over %s" % (summ["moves"], sys.argv[3]))
for m in moves:
	print("  %2d %-8s udp gap %7s ms (link down %5s ms, probes lost %4s, sent over %6s ms)  tcp stall %7s ms" % (
		m["move"], m["label"], m["udp_gap_ms"], m.get("link_down_ms"), m.get("udp_lost"),
		m.get("udp_send_span_ms"), m["tcp_gap_ms"]))
u, t = summ["udp_gap_ms"], summ["tcp_gap_ms"]
print("handover gap (UDP probes): median %s ms, p90 %s ms, max %s ms (goal: median <= 50 ms)" % (u["median"], u["p90"], u["max"]))
print("TCP stall:                 median %s ms, p90 %s ms, max %s ms" % (t["median"], t["p90"], t["max"]))
for label in sorted(set(m["label"] for m in moves)):
	v = [m["udp_gap_ms"] for m in moves if m["label"] == label and m["udp_gap_ms"] is not None]
	print("  to %-8s median %s ms over %d" % (label, pct(v, 0.5), len(v)))
try:
	r = [int(x) for x in open(sys.argv[2]).read().split()]
	print("first registration: median %s ms, p90 %s ms over %d starts (goal <= 200 ms)" % (pct(r, 0.5), pct(r, 0.9), len(r)))
except OSError:
	pass
PY
echo "raw: $out (run.log, gaps.json)"
exit $rc

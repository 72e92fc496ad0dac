#!/bin/bash
# Issue 5 throughput benchmark: mipsec's ESP tunnel (role ipsec, manual
# AES-128-GCM SAs, lab/topologies/ipsec-pair.toml: nodes a and b on one
# veth link) against wireguard-go on the same two namespaces, one run.
# For each tunnel, direction (a->b, b->a) and protocol (iperf3 TCP, iperf3
# UDP unlimited with 1300-byte datagrams) it prints
#   Gbit/s            received goodput
#   vpn cpu s/Gbit    CPU seconds (user+system) of the tunnel processes of
#                     both nodes per Gbit carried
#   total cpu s/Gbit  CPU seconds of the whole machine per Gbit (iperf3,
#                     kernel and everything else running)
# and the mipsec/wireguard-go TCP ratio (issue goal >= 2x the userspace
# VPNs, never below 1.3x).
#
# usage: bench/ipsec_tput.sh [BUILD_DIR]     (default build-rel, else build)
#   env DUR (seconds per measurement, 10), WG=0 to skip wireguard-go,
#   KEEP=DIR to keep the lab state and raw iperf3 output.
# Runs as root, or rootless inside `unshare -r -n` (re-executes itself).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ] && [ -z "${IPSEC_TPUT_NS:-}" ]; then
	IPSEC_TPUT_NS=1 exec unshare -r -n "$0" "$@"
fi
build=${1:-}
if [ -z "$build" ]; then
	build=$src/build-rel
	[ -x "$build/mipsecd" ] || build=$src/build
fi
export MIPSECD=$build/mipsecd MIPSECCTL=$build/mipsecctl
DUR=${DUR:-10}
for t in iperf3 "$MIPSECD"; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found"; exit 77; }
done
LAB=$src/lab/lab
out=${KEEP:-$(mktemp -d /tmp/mipsec-tput.XXXXXX)}
mkdir -p "$out"
export LAB_STATE=$out/lab
cleanup() {
	"$LAB" down ${KEEP:+--keep} >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$out"
}
trap cleanup EXIT
"$LAB" up "$src/lab/topologies/ipsec-pair.toml" > "$out/up.log" 2>&1 ||
	{ cat "$out/up.log"; exit 1; }
nsx() { local n=$1; shift; nsenter --net="/proc/$("$LAB" pid "$n")/ns/net" "$@"; }

# CPU ticks (user+system) of a set of pids; of the machine (busy).
proc_ticks() {
	local t=0 p
	for p in "$@"; do
		# fields 14, 15 after the command name (which may hold spaces)
		t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo $t
}
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
HZ=$(getconf CLK_TCK)

# measure LABEL SRC DST DSTADDR PROTO PIDS...
measure() {
	local label=$1 from=$2 to=$3 addr=$4 proto=$5; shift 5
	local pids=("$@") j=$out/$label-$from-$to-$proto.json args=()
	[ "$proto" = udp ] && args=(-u -b 0 -l 1300)
	nsx "$to" timeout $((DUR + 30)) iperf3 -s -1 -B "$addr" > "$out/server.log" 2>&1 &
	local srv=$!
	for _ in $(seq 50); do
		nsx "$to" ss -ltn 2>/dev/null | grep -q ":5201 " && break
		sleep 0.1
	done
	local p0 m0 p1 m1
	p0=$(proc_ticks "${pids[@]}"); m0=$(machine_ticks)
	nsx "$from" timeout $((DUR + 30)) iperf3 -c "$addr" -t "$DUR" -J "${args[@]}" > "$j" 2>&1
	p1=$(proc_ticks "${pids[@]}"); m1=$(machine_ticks)
	wait $srv 2>/dev/null
	/usr/bin/python3 - "$j" "$label" "$from->$to" "$proto" $((p1 - p0)) $((m1 - m0)) "$HZ" <<'PY'
import json, sys
j, label, d, proto, pt, mt, hz = sys.argv[1:]
try:
	r = json.load(open(j))
	e = r["end"]
	if proto == "tcp":
		bits = e["sum_received"]["bytes"] * 8
		secs = e["sum_received"]["seconds"]
	else:
		s = e["sum"]
		secs = s["seconds"]
		bits = s["bytes"] * 8 * (1 - s.get("lost_percent", 0) / 100)
		if "sum_received" in e:
			bits, secs = e["sum_received"]["bytes"] * 8, e["sum_received"]["seconds"]
except Exception as ex:
	print("%-12s %-5s %-4s failed: %s" % (label, d, proto, ex))
	sys.exit(0)
gbit = bits / 1e9
rate = gbit / secs if secs else 0
vpn = int(pt) / int(hz) / gbit if gbit else 0
tot = int(mt) / int(hz) / gbit if gbit else 0
print("%-12s %-5s %-4s %7.3f Gbit/s  vpn cpu %6.3f s/Gbit  total cpu %6.3f s/Gbit" %
      (label, d, proto, rate, vpn, tot))
with open(j + ".rate", "w") as f:
	f.write("%f\n" % rate)
PY
}

run_set() {
	local label=$1 a_addr=$2 b_addr=$3; shift 3
	for proto in tcp udp; do
		measure "$label" a b "$b_addr" $proto "$@"
		measure "$label" b a "$a_addr" $proto "$@"
	done
}

echo "ipsec_tput: $DUR s per run, $(nproc) CPUs, mipsecd $MIPSECD"
# ---- mipsec
mp=("$(cat "$LAB_STATE/a.pid")" "$(cat "$LAB_STATE/b.pid")")
for _ in $(seq 50); do
	nsx a ping -c 1 -W 1 10.10.0.2 >/dev/null 2>&1 && break
done
run_set mipsec 10.10.0.1 10.10.0.2 "${mp[@]}"

# ---- wireguard-go on the same link (mipsecd idles meanwhile); the
# interfaces are wga/wgb: the UAPI socket path is not per namespace
if [ "${WG:-1}" = 1 ] && command -v wireguard-go >/dev/null && command -v wg >/dev/null; then
	declare -A key pub wgpid
	for n in a b; do
		key[$n]=$(wg genkey)
		pub[$n]=$(echo "${key[$n]}" | wg pubkey)
	done
	i=1
	for n in a b; do
		o=b; [ $n = b ] && o=a
		oi=2; [ $n = b ] && oi=1
		WG_PROCESS_FOREGROUND=1 nsx $n wireguard-go wg$n > "$out/wg-$n.log" 2>&1 &
		for _ in $(seq 50); do nsx $n ip link show wg$n >/dev/null 2>&1 && break; sleep 0.1; done
		wgpid[$n]=$(pgrep -f "^wireguard-go wg$n\$" | while read -r p; do
			[ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/$("$LAB" pid $n)/ns/net)" ] && echo $p; done | head -1)
		echo "${key[$n]}" > "$out/wg-$n.key"
		nsx $n wg set wg$n private-key "$out/wg-$n.key" listen-port 51820 \
			peer "${pub[$o]}" allowed-ips 10.20.0.$oi/32 endpoint 10.0.0.$oi:51820
		nsx $n ip addr add 10.20.0.$i/24 dev wg$n
		nsx $n ip link set wg$n mtu 1420 up
		i=$((i + 1))
	done
	for _ in $(seq 50); do
		nsx a ping -c 1 -W 1 10.20.0.2 >/dev/null 2>&1 && break
	done
	run_set wireguard-go 10.20.0.1 10.20.0.2 "${wgpid[a]}" "${wgpid[b]}"
	kill "${wgpid[a]}" "${wgpid[b]}" 2>/dev/null
	/usr/bin/python3 - "$out" <<'PY'
import glob, sys
def rate(l, d):
	try:
		return float(open("%s/%s-%s-tcp.json.rate" % (sys.argv[1], l, d)).read())
	except OSError:
		return 0
for d in ("a-b", "b-a"):
	m, w = rate("mipsec", d), rate("wireguard-go", d)
	print("TCP %s: mipsec / wireguard-go = %s" % (d.replace("-", "->"), "%.2fx" % (m / w) if w else "n/a"))
PY
fi
[ -z "${KEEP:-}" ] || echo "raw: $out"

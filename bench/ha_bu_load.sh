#!/bin/bash
# HA Binding Update rate and memory per binding (issue 4 bench).
# Starts mipsecd with the ha role alone in a fresh network namespace
# (veth home link eth1 2001:db8:8::1/64, the load generator's care-of
# address 2001:db8:99::2 on lo), pinned to CPU 0 with taskset, and runs
# bench/ha_bu_load pinned to CPU 1: round 1 creates N bindings, round 2
# refreshes them. Prints the BA/s of each round and the HA's RSS growth per
# binding (VmRSS after round 1 minus before, / N).
#
# usage: bench/ha_bu_load.sh BUILD_DIR [N] [extra ha settings]
#   BUILD_DIR is a CMake build directory (Release) holding mipsecd and
#   bench/ha_bu_load_bench (built by bench/CMakeLists.txt)
#   e.g. bench/ha_bu_load.sh build-rel 1000000 'proxy_nd = false;'
set -eu
build=$(cd "${1:?usage: ha_bu_load.sh BUILD_DIR [N] [settings]}" && pwd)
n=${2:-100000}
extra=${3:-}
if [ -z "${HA_BU_INNER:-}" ]; then
	flag=-n
	[ "$(id -u)" = 0 ] || flag="-r -n"
	# shellcheck disable=SC2086
	exec unshare $flag env HA_BU_INNER=1 "$0" "$@"
fi
dir=$(mktemp -d /tmp/mipsec-habench.XXXXXX)
ip link set lo up
ip link add eth1 type veth peer name eth1p
ip link set eth1p up
ip addr add 2001:db8:8::1/64 dev eth1 nodad
ip link set eth1 up
ip -6 addr add 2001:db8:99::2/128 dev lo nodad
cat > "$dir/ha.conf" <<CONF
node = { name = "habench"; };
log = { level = "notice"; };
control = { socket = "$dir/ha.sock"; };
interfaces = ( { name = "eth1"; } );
roles = [ "ha" ];
ha = {
  home_link = "eth1";
  home_prefixes = [ "2001:db8:8::/64" ];
  address = "2001:db8:8::1";
  max_bindings = $((n + 1000));
  max_lifetime = 3600;
  $extra
};
CONF
taskset -c 0 "$build/mipsecd" -c "$dir/ha.conf" -p "$dir/ha.pid" 2> "$dir/ha.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	"$build/mipsecctl" -s "$dir/ha.sock" status > /dev/null 2>&1 && break
	sleep 0.1
done
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
r0=$(rss)
printf "create:  "; taskset -c 1 "$build/bench/ha_bu_load_bench" -a 2001:db8:8::1 -c 2001:db8:99::2 -n "$n" -r 1 -S 1000 -t 5 || true
r1=$(rss)
printf "refresh: "; taskset -c 1 "$build/bench/ha_bu_load_bench" -a 2001:db8:8::1 -c 2001:db8:99::2 -n "$n" -r 1 -S 1001 -t 5 || true
echo "bindings: $("$build/mipsecctl" -s "$dir/ha.sock" stats | awk '$1 == "mipsec_ha_bindings_created_total" { print $2 }') created," \
     "HA RSS ${r0} kB -> ${r1} kB: $(( (r1 - r0) * 1024 / n )) bytes per binding" \
     "($(( (r1 - r0) * 1024 * 1000000 / n / 1048576 )) MiB per million)"
"$build/mipsecctl" -s "$dir/ha.sock" stats | grep -E 'mipsec_ha_(bu_received|ba_sent|route_errors|proxy_nd_errors|bu_apply)' | grep -v ' 0$' || true
kill "$pid"; wait "$pid" || true
grep -E 'level=(error|warn)' "$dir/ha.log" | head -5 || true

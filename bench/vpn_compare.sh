#!/bin/bash
# VPN comparison (issue 5): one script, one run, the same two lab namespaces
# (lab/topologies/vpn-pair.toml: a 10.0.0.1 and b 10.0.0.2 on one link),
# one tunnel at a time between inner addresses 10.10.0.1 (a) and 10.10.0.2 (b):
#
#   wireguard   wireguard-go -f wg0 + wg set (ChaCha20-Poly1305), MTU 1420
#   openvpn     OpenVPN 2.6 TLS p2p (tls-server in a, tls-client in b), UDP,
#               tun, --data-ciphers AES-256-GCM, ECDSA certs from pki.sh,
#               tun-mtu 1400, DCO off (userspace data plane)
#   strongswan  charon + kernel-libipsec (userspace ESP in UDP 4500),
#               IKE aes128gcm16-prfsha256-ecp256, ESP aes128gcm16, ECDSA certs
#   mipsec      mipsecd role `ipsec` keyed by IKE (ECDSA certs from pki.sh;
#               MIPSEC_KEYING=manual: static SAs), aes128gcm16, TUN MTU 1400
#               (skipped with a message if mipsecd has no ipsec role)
#   plain       no tunnel: the inner addresses on the link itself, for scale
#
# Through each: iperf3 TCP a->b and b->a (DURATION s, 1 stream) and UDP a->b
# (-b UDP_RATE, 1200-byte datagrams, 4 MB socket buffers: with the default
# 208 KB the receiving iperf3 alone drops most datagrams; the received rate
# and loss are reported); if more than 1 % was lost, the highest offered
# rate that loses < 1 % (a few short probes stepping down from what arrived).  CPU: utime+stime (/proc/PID/stat) of the VPN processes of both
# ends during each run, so "CPU-s/Gbit" is the VPN's own cost (the kernel's
# work for veth/TUN/UDP in softirq context of other tasks is not in it).
# Then the IKE handshake rate of a strongSwan responder (ECDSA P-256
# certificates, group 19, IKE_SA_INIT + IKE_AUTH, no CHILD SA): a strongSwan
# initiator in b opens IKE_N IKE SAs at once through vici (Debian builds no
# load-tester plugin, see bench/README.md), counted at the initiator;
# IKE_RESPONDER=mipsec measures mipsecd's responder the same way.
#
# usage: bench/vpn_compare.sh [BUILD_DIR]
#   BUILD_DIR: where mipsecd is (default build-rel, then build)
#   env DURATION (10), UDP_RATE (2G), UDP_ARGS (-l 1200 -w 4M), UDP_SEARCH
#   (1: search the rate that loses < 1 % if UDP_RATE lost more, UDP_PROBE
#   (3) s per probe; 0: no search), VPNS ("wireguard openvpn strongswan
#   mipsec"), IKE_N (500, 0 = no IKE bench), IKE_RESPONDER (strongswan;
#   mipsec once the IKE responder exists), KEEP=DIR to keep logs/JSON.
#   Runs as root (or rootless through lab/run-test when not root).
# shellcheck disable=SC2086 # UDP_ARGS is meant to split into words
set -u
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -z "${VPN_COMPARE_INNER:-}" ]; then
	build=${1:-}
	if [ -z "$build" ]; then
		build=$src/build-rel
		[ -x "$build/mipsecd" ] || build=$src/build
	fi
	out=${KEEP:-$(mktemp -d /tmp/mipsec-vpncmp.XXXXXX)}
	mkdir -p "$out" && chmod 0777 "$out"	# rootless run-test drops to nobody
	mode=root
	[ "$(id -u)" = 0 ] || mode=rootless
	export VPN_COMPARE_INNER=1 VPN_OUT=$out MIPSECD=$build/mipsecd
	"$src/lab/run-test" "$mode" "$src/bench/vpn_compare.sh" 2>&1 | tee "$out/run.log"
	rc=${PIPESTATUS[0]}
	echo "raw: $out (run.log, results.json, logs)"
	exit "$rc"
fi

# ---- inside lab/run-test: LAB, LAB_STATE set --------------------------------
source "$src/lab/lib.sh"
source "$src/lab/strongswan.sh"
DURATION=${DURATION:-10}
UDP_RATE=${UDP_RATE:-2G}
UDP_SEARCH=${UDP_SEARCH:-1}
UDP_PROBE=${UDP_PROBE:-3}
UDP_ARGS=${UDP_ARGS:--l 1200 -w 4M}
VPNS=${VPNS-plain wireguard openvpn strongswan mipsec}
IKE_N=${IKE_N:-500}
IKE_RESPONDER=${IKE_RESPONDER:-strongswan mipsec}
W=$LAB_STATE
OUT=${VPN_OUT:-$W}
RES=$OUT/results.json
: > "$RES"
HZ=$(getconf CLK_TCK)

need "iperf3 installed" command -v iperf3
pki=$W/pki
need "pki.sh" "$src/tests/lab/pki.sh" "$pki"
need "lab up vpn-pair" lab up "$src/lab/topologies/vpn-pair.toml"
need "a reaches b" ping_ok a 10.0.0.2
nsx b iperf3 -s > "$W/iperf3-server.log" 2>&1 &

ns_of() { echo "/proc/$(lab pid "$1")/ns/net"; }

# cpu PID...: utime+stime of the processes, in clock ticks.
cpu() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + v))
	done
	echo "$t"
}

alive_all() { local p; for p in "$@"; do pid_alive "$p" || return 1; done; }
stop_pids() {
	local p
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$@"; do _ss_poll 10 _ss_gone "$p" || kill -KILL "$p" 2>/dev/null || true; done
}

# spawn_mnt NODE DIR NAME CMD...: CMD in NODE with DIR/run over /run (for
# daemons that insist on /var/run: wireguard-go's UAPI socket).
spawn_mnt() {
	local node=$1 dir=$2 name=$3; shift 3
	mkdir -p "$dir/run"
	nsenter --net="$(ns_of "$node")" unshare -m --propagation private \
		sh -c 'mount --bind "$0" /run && exec "$@"' "$dir/run" "$@" \
		> "$dir/$name.log" 2>&1 &
	echo $! > "$dir/$name.pid"
}
# in_mnt PID CMD...: CMD in the network and mount namespaces of PID.
in_mnt() { local p=$1; shift; nsenter --net="/proc/$p/ns/net" --mount="/proc/$p/ns/mnt" "$@"; }

# ---- no VPN: the same iperf3 runs on the bare link, for scale --------------
plain_up() {
	nsx a ip addr add 10.10.0.1/32 dev eth0 && nsx b ip addr add 10.10.0.2/32 dev eth0 &&
	nsx a ip route add 10.10.0.2/32 dev eth0 src 10.10.0.1 &&
	nsx b ip route add 10.10.0.1/32 dev eth0 src 10.10.0.2
}
plain_down() {
	nsx a ip addr del 10.10.0.1/32 dev eth0 2>/dev/null
	nsx b ip addr del 10.10.0.2/32 dev eth0 2>/dev/null
	return 0
}

# ---- wireguard-go -----------------------------------------------------------
wg_up() {
	local n me peer port pa pb
	command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
		{ echo "wireguard-go/wg not installed"; return 1; }
	for n in a b; do
		mkdir -p "$W/wg-$n"
		wg genkey > "$W/wg-$n/key"
		wg pubkey < "$W/wg-$n/key" > "$W/wg-$n/pub"
		WG_PROCESS_FOREGROUND=1 spawn_mnt "$n" "$W/wg-$n" wireguard-go wireguard-go -f wg0
	done
	pa=$(cat "$W/wg-a/wireguard-go.pid"); pb=$(cat "$W/wg-b/wireguard-go.pid")
	echo "$pa $pb" > "$W/vpn.pids"
	for n in a b; do
		_ss_poll 10 test -S "$W/wg-$n/run/wireguard/wg0.sock" ||
			{ echo "wireguard-go in $n: no UAPI socket"; cat "$W/wg-$n/wireguard-go.log"; return 1; }
	done
	for n in a b; do
		if [ $n = a ]; then me=1 peer=b port=2; else me=2 peer=a port=1; fi
		in_mnt "$(cat "$W/wg-$n/wireguard-go.pid")" wg set wg0 private-key "$W/wg-$n/key" \
			listen-port 51820 peer "$(cat "$W/wg-$peer/pub")" \
			endpoint "10.0.0.$port:51820" allowed-ips "10.10.0.$port/32" || return 1
		nsx $n ip addr add "10.10.0.$me/32" peer "10.10.0.$port/32" dev wg0 || return 1
		nsx $n ip link set wg0 mtu 1420 up || return 1
	done
}

# ---- OpenVPN ----------------------------------------------------------------
ovpn_up() {
	local n me peer role gw pgw pids=""
	command -v openvpn >/dev/null || { echo "openvpn not installed"; return 1; }
	for n in a b; do
		if [ $n = a ]; then me=1 peer=2 role=--tls-server gw=gw-a pgw=gw-b
		else me=2 peer=1 role=--tls-client gw=gw-b pgw=gw-a; fi
		mkdir -p "$W/ovpn-$n"
		local extra=()
		[ $n = a ] && extra=(--dh none)
		nsenter --net="$(ns_of $n)" openvpn --dev tun0 --dev-type tun --proto udp --port 1194 \
			--remote "10.0.0.$peer" 1194 --ifconfig "10.10.0.$me" "10.10.0.$peer" \
			"$role" "${extra[@]}" --ca "$pki/ca.crt" --cert "$pki/$gw.crt" --key "$pki/$gw.key" \
			--verify-x509-name "$pgw.mipsec.test" name \
			--data-ciphers AES-256-GCM --cipher AES-256-GCM --disable-dco \
			--tun-mtu 1400 --ping 10 --verb 3 > "$W/ovpn-$n/log" 2>&1 &
		pids="$pids $!"
	done
	echo "$pids" > "$W/vpn.pids"
	for n in a b; do
		_ss_poll 20 grep -q "Initialization Sequence Completed" "$W/ovpn-$n/log" ||
			{ echo "openvpn in $n did not come up"; tail -n 15 "$W/ovpn-$n/log"; return 1; }
	done
	grep -q "AES-256-GCM" "$W/ovpn-a/log" || { echo "openvpn: AES-256-GCM not in use"; return 1; }
}

# ---- strongSwan kernel-libipsec ---------------------------------------------
ss_conf_pair() {	# ss_conf_pair DIR ME PEER ADDR PEERADDR LTS RTS [EXTRA-CONN-LINES]
	local dir=$1 me=$2 peer=$3 addr=$4 paddr=$5 lts=$6 rts=$7
	mkdir -p "$dir"/{x509,x509ca,x509crl,private}
	cp "$pki/$me.crt" "$dir/x509/"; cp "$pki/$me.key" "$dir/private/"
	cp "$pki/ca.crt" "$dir/x509ca/"; cp "$pki/ca.crl.pem" "$dir/x509crl/"
	cat > "$dir/swanctl.conf" <<EOF
connections {
	gw {
		version = 2
		local_addrs = $addr
		remote_addrs = $paddr
		proposals = aes128gcm16-prfsha256-ecp256
		encap = yes
		${8:-}
		# (one setting a line: swanctl.conf takes no ';' separators)
		local {
			auth = pubkey
			certs = $me.crt
			id = $me.mipsec.test
		}
		remote {
			auth = pubkey
			id = $peer.mipsec.test
		}
		children {
			net {
				local_ts = $lts
				remote_ts = $rts
				esp_proposals = aes128gcm16
				start_action = none
			}
		}
	}
}
EOF
}
ss_up() {
	ss_available >/dev/null || { ss_available; return 1; }
	nsx a ip addr add 10.10.0.1/32 dev lo; nsx b ip addr add 10.10.0.2/32 dev lo
	ss_conf_pair "$W/ss-a" gw-a gw-b 10.0.0.1 10.0.0.2 10.10.0.1/32 10.10.0.2/32
	ss_conf_pair "$W/ss-b" gw-b gw-a 10.0.0.2 10.0.0.1 10.10.0.2/32 10.10.0.1/32
	ss_start a "$W/ss-a" || return 1
	ss_start b "$W/ss-b" || return 1
	echo "$(cat "$W/ss-a/charon.pid") $(cat "$W/ss-b/charon.pid")" > "$W/vpn.pids"
	ss_initiate b net gw > "$W/ss-b/initiate.log" 2>&1 || { tail "$W/ss-b/initiate.log"; return 1; }
	ss_wait_sa a gw net
}
ss_down() {
	nsx a ip addr del 10.10.0.1/32 dev lo 2>/dev/null
	nsx b ip addr del 10.10.0.2/32 dev lo 2>/dev/null
	return 0
}

# ---- mipsec -----------------------------------------------------------------
# MIPSEC_KEYING=ike (default): both ends keyed by their IKE engines (the
# ipsec role's `ike` block, pki.sh certificates, b initiates, aes128gcm16,
# no rekey during the run); manual: static SAs from random keys.
MIPSEC_KEYING=${MIPSEC_KEYING:-ike}
mipsec_ike_block() {	# mipsec_ike_block ME PEER ADDR PEERADDR LHOST RHOST INITIATE
	cat <<EOF
  ike = {
    certificate = "$pki/gw-$1.crt"; private_key = "$pki/gw-$1.key";
    ca = ["$pki/ca.crt"]; crl = ["$pki/ca.crl.pem"];
    local_id = "fqdn:gw-$1.mipsec.test";
    peers = ( {
      name = "gw-$2"; remote = "$4"; local = "$3";
      remote_id = "fqdn:gw-$2.mipsec.test"; auth = "pubkey";
      ike_proposals = ["aes128gcm16-prfsha256-ecp256"]; esp_proposals = ["aes128gcm16"];
      mode = "tunnel"; local_ts = ["10.10.0.$5/32"]; remote_ts = ["10.10.0.$6/32"];
      initiate = $7; rekey_time = 0; child_rekey_time = 0; dpd = 0;
    } );
  };
EOF
}
mipsec_conf() {	# mipsec_conf NODE ME PEER SPI_IN SPI_OUT KEY_IN KEY_OUT
	cat <<EOF
node = { name = "$1"; };
control = { socket = "$W/mipsec-$1.sock"; };
roles = ["ipsec"];
ipsec = {
  tun = "ipsec0";
  tun_mtu = 1400;
  tun_addresses = ["10.10.0.$2/32"];
  listen = "0.0.0.0";
  workers = 2;
EOF
	if [ "$MIPSEC_KEYING" = ike ]; then
		local init=false peer=b
		[ "$1" = b ] && init=true peer=a
		mipsec_ike_block "$1" "$peer" "10.0.0.$2" "10.0.0.$3" "$2" "$3" "$init"
	else
		cat <<EOF
  manual = ( {
    remote = "10.0.0.$3"; mode = "tunnel"; xform = "aes128gcm16"; esn = false;
    spi_in = $4; spi_out = $5;
    key_in = "$6"; key_out = "$7";
    local_ts = ["10.10.0.$2/32"]; remote_ts = ["10.10.0.$3/32"];
  } );
EOF
	fi
	echo "};"
}
mipsec_up() {
	local ka kb n pids=""
	[ -x "${MIPSECD:-}" ] || { echo "mipsecd not built (${MIPSECD:-unset})"; return 2; }
	ka=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
	kb=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
	mipsec_conf a 1 2 0x1001 0x2001 "$kb" "$ka" > "$W/mipsec-a.conf"
	mipsec_conf b 2 1 0x2001 0x1001 "$ka" "$kb" > "$W/mipsec-b.conf"
	if ! "$MIPSECD" -n -c "$W/mipsec-a.conf" > "$W/mipsec-check.log" 2>&1; then
		echo "mipsecd has no usable ipsec role yet: $(head -n 3 "$W/mipsec-check.log" | tr '\n' ' ')"
		return 2
	fi
	# a (the IKE responder) first, so that b's first IKE_SA_INIT is answered.
	for n in a b; do
		nsenter --net="$(ns_of $n)" "$MIPSECD" -c "$W/mipsec-$n.conf" > "$W/mipsec-$n.log" 2>&1 &
		pids="$pids $!"
		_ss_poll 10 nsx $n ip link show ipsec0 ||
			{ echo "mipsecd made no ipsec0 in $n"; tail -n 5 "$W/mipsec-$n.log"; return 1; }
	done
	echo "$pids" > "$W/vpn.pids"
	_ss_poll 15 nsx a ping -n -q -c 1 -W 1 10.10.0.2 ||
		{ echo "no tunnel between the mipsecds"; tail -n 5 "$W"/mipsec-?.log; return 1; }
}

# ---- measuring --------------------------------------------------------------
# iperf NAME LABEL ARGS...: one iperf3 run from a, prints "Gbit/s CPU-s lost%".
iperf() {
	local name=$1 label=$2; shift 2
	local pids c0 c1 j
	read -r -a pids < "$W/vpn.pids"
	j=$W/$name-$label.json
	c0=$(cpu "${pids[@]}")
	nsx a iperf3 -c 10.10.0.2 -t "$DURATION" -J "$@" > "$j" 2>&1
	c1=$(cpu "${pids[@]}")
	/usr/bin/python3 - "$j" $(( c1 - c0 )) "$HZ" "$name" "$label" "$RES" <<'PY'
import json, sys
path, ticks, hz, name, label, res = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
cpu = ticks / hz
try:
    d = json.load(open(path))
    end = d["end"]
    if "sum_received" in end:      # TCP (and UDP in iperf3 >= 3.11)
        bps = end["sum_received"]["bits_per_second"]
        secs = end["sum_received"]["seconds"]
    else:
        bps = end["sum"]["bits_per_second"] * (1 - end["sum"].get("lost_percent", 0) / 100)
        secs = end["sum"]["seconds"]
    lost = end.get("sum", {}).get("lost_percent")
    if lost is None and "sum_received" in end:
        lost = end["sum_received"].get("lost_percent")
    if "error" in d:
        raise ValueError(d["error"])
except Exception as e:
    print("error: %s" % e)
    sys.exit(1)
r = {"vpn": name, "run": label, "gbps": bps / 1e9, "seconds": secs, "cpu_s": cpu,
     "lost_percent": lost}
with open(res, "a") as f:
    f.write(json.dumps(r) + "\n")
print("%.3f Gbit/s, VPN CPU %.2f s%s" % (bps / 1e9, cpu,
      "" if lost is None else ", lost %.2f %%" % lost))
PY
}

_udp_ok() {	# _udp_ok NAME RUN: that run lost < 1 %
	/usr/bin/python3 -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
d = [x for x in rows if x.get("vpn") == sys.argv[2] and x.get("run") == sys.argv[3]][-1]
sys.exit(0 if d["lost_percent"] is not None and d["lost_percent"] < 1 else 1)' "$RES" "$1" "$2"
}
_udp_keep() {	# _udp_keep NAME RUN: record RUN as udp_1pct
	/usr/bin/python3 -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
d = dict([x for x in rows if x.get("vpn") == sys.argv[2] and x.get("run") == sys.argv[3]][-1])
d["run"] = "udp_1pct"
open(sys.argv[1], "a").write(json.dumps(d) + "\n")
print("  UDP a->b, < 1 %% loss: %.3f Gbit/s" % d["gbps"])' "$RES" "$1" "$2"
}

# udp_search NAME: the highest offered rate that loses < 1 %, starting from
# 1.1 x what arrived at UDP_RATE, stepping down by 0.75 (at most 6 probes
# of UDP_PROBE s), or up by 1.25 while the first probe is already below 1 %
# (at most 4); the best probe is recorded as run udp_1pct.
udp_search() {
	local name=$1 r i out
	r=$(/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("vpn") == sys.argv[2] and d.get("run") == "udp_ab":
        print(int(d["gbps"] * 1.1e9))' "$RES" "$name")
	[ -n "$r" ] || return 0
	for i in 1 2 3 4 5 6; do
		out=$(DURATION=$UDP_PROBE iperf "$name" "udp_probe$i" -u -b "$r" $UDP_ARGS) || break
		echo "    probe -b $((r / 1000000))M: $out"
		if [ "$i" = 1 ] && _udp_ok "$name" "udp_probe$i"; then
			# fine at once: go up while it stays below 1 %
			local j=1 good=$i
			while [ $j -le 4 ]; do
				r=$((r * 5 / 4))
				out=$(DURATION=$UDP_PROBE iperf "$name" "udp_up$j" -u -b "$r" $UDP_ARGS) || break
				echo "    probe -b $((r / 1000000))M: $out"
				_udp_ok "$name" "udp_up$j" || break
				good=up$j; j=$((j + 1))
			done
			_udp_keep "$name" "udp_$([ "$good" = 1 ] && echo probe1 || echo "$good")"
			return 0
		fi
		if _udp_ok "$name" "udp_probe$i"; then
			_udp_keep "$name" "udp_probe$i"
			return 0
		fi
		r=$((r * 3 / 4))
	done
	echo "  UDP a->b: no rate with < 1 % loss found"
}

bench_vpn() {	# bench_vpn NAME UPFN DOWNFN
	local name=$1 up=$2 down=$3 msg rc=0
	say "$name"
	: > "$W/vpn.pids"
	msg=$($up 2>&1) || rc=$?
	if [ $rc != 0 ]; then
		printf '%s\n' "$msg" | sed 's/^/    /'
		echo "{\"vpn\": \"$name\", \"skipped\": $(printf '%s' "$msg" | head -n1 |
			/usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" >> "$RES"
		[ $rc = 2 ] && echo "SKIP: $name" || fail "$name did not come up"
	else
		if ping_ok a 10.10.0.2 || { sleep 1; ping_ok a 10.10.0.2; }; then
			echo "  TCP a->b: $(iperf "$name" tcp_ab)"
			echo "  TCP b->a: $(iperf "$name" tcp_ba -R)"
			echo "  UDP a->b: $(iperf "$name" udp_ab -u -b "$UDP_RATE" $UDP_ARGS)"
			if _udp_ok "$name" udp_ab; then
				_udp_keep "$name" udp_ab
			elif [ "$UDP_SEARCH" != 0 ]; then
				udp_search "$name"
			fi
		else
			fail "$name: no ping through the tunnel"
		fi
	fi
	# shellcheck disable=SC2046
	stop_pids $(cat "$W/vpn.pids" 2>/dev/null)
	$down
	_ss_poll 5 bash -c "! nsenter --net=$(ns_of a) ip -o link | grep -qE ' (wg0|tun0|ipsec0):'" || true
}

for v in $VPNS; do
	case $v in
	plain) bench_vpn plain plain_up plain_down ;;
	wireguard) bench_vpn wireguard wg_up true ;;
	openvpn) bench_vpn openvpn ovpn_up true ;;
	strongswan) bench_vpn strongswan ss_up ss_down ;;
	mipsec) bench_vpn mipsec mipsec_up true ;;
	*) fail "unknown VPN $v" ;;
	esac
done

# ---- IKE handshakes ---------------------------------------------------------
# vici: the strongSwan control protocol (length-prefixed packets, a command
# name and key/value elements); `initiate` with timeout -1 returns at once,
# so one client can start IKE_N IKE SAs as fast as charon takes them.
# The mipsec IKE responder: role ipsec with the `ike` block of the IKE
# engine's brief (docs/config-ike.md once it lands; MIPSEC_IKE_CONF=FILE
# overrides, @PKI@ and @STATE@ replaced).  Returns 2 (skip) while mipsecd
# does not accept it.
ike_mipsec_up() {
	local conf=$W/ike-mipsec.conf
	[ -x "${MIPSECD:-}" ] || { echo "mipsecd not built (${MIPSECD:-unset})"; return 2; }
	if [ -n "${MIPSEC_IKE_CONF:-}" ]; then
		sed -e "s|@PKI@|$pki|g" -e "s|@STATE@|$W|g" "$MIPSEC_IKE_CONF" > "$conf"
	else
		cat > "$conf" <<EOF
node = { name = "a"; };
control = { socket = "$W/ike-mipsec.sock"; };
roles = ["ipsec"];
ipsec = {
  tun = "ipsec0";
  tun_addresses = ["10.10.0.1/32"];
  listen = "0.0.0.0";
  ike = {
    certificate = "$pki/gw-a.crt"; private_key = "$pki/gw-a.key";
    ca = ["$pki/ca.crt"]; crl = ["$pki/ca.crl.pem"];
    local_id = "fqdn:gw-a.mipsec.test";
    cookie_threshold = 100000;
    peers = ( {
      name = "gw-b"; remote = "any"; remote_id = "fqdn:gw-b.mipsec.test"; auth = "pubkey";
      ike_proposals = ["aes128gcm16-prfsha256-ecp256"]; esp_proposals = ["aes128gcm16"];
      mode = "tunnel"; local_ts = ["10.10.0.1/32"]; remote_ts = ["10.10.0.2/32"];
      initiate = false;
    } );
  };
};
EOF
	fi
	if ! "$MIPSECD" -n -c "$conf" > "$W/ike-mipsec-check.log" 2>&1; then
		echo "mipsecd has no IKE responder yet: $(head -n 2 "$W/ike-mipsec-check.log" | tr '\n' ' ')"
		return 2
	fi
	nsenter --net="$(ns_of a)" "$MIPSECD" -c "$conf" > "$W/ike-mipsec.log" 2>&1 &
	echo $! > "$W/ike-mipsec.pid"
	_ss_poll 10 test -S "$W/ike-mipsec.sock" || { echo "mipsecd did not start"; tail -n 5 "$W/ike-mipsec.log"; return 1; }
}

ike_bench() {
	local resp=$1 n=$IKE_N rp t0 c0 c1 t1 ip="" msg rc=0
	say "IKE handshakes: $resp responder in a, strongSwan initiator in b, $n IKE SAs"
	ss_available >/dev/null || { echo "SKIP: $(ss_available)"; return 0; }
	# No CHILD SAs (childless, RFC 6023), so no kernel-libipsec (its TUN
	# threads stay out of the measurement).
	local SS_PLUGINS=${SS_PLUGINS/kernel-libipsec /}
	case $resp in
	strongswan)
		ss_conf_pair "$W/ike-a" gw-a gw-b 10.0.0.1 10.0.0.2 10.10.0.1/32 10.10.0.2/32
		# The responder must not throttle one busy peer (block_threshold
		# is 5 half-open SAs per IP by default, cookies from 30): the
		# point is its handshake cost, not its DoS defence.
		ss_start a "$W/ike-a" "	dos_protection = no
	block_threshold = 100000
	cookie_threshold = 100000
	init_limit_half_open = 0" > "$W/ike-a/start.log" 2>&1 ||
			{ cat "$W/ike-a/start.log"; fail "IKE responder"; return 0; }
		rp=$(cat "$W/ike-a/charon.pid") ;;
	mipsec)
		msg=$(ike_mipsec_up 2>&1) || rc=$?
		if [ $rc = 2 ]; then echo "SKIP: $msg"; return 0; fi
		[ $rc = 0 ] || { echo "$msg"; fail "mipsec IKE responder"; return 0; }
		rp=$(cat "$W/ike-mipsec.pid") ;;
	*) fail "unknown IKE responder $resp"; return 0 ;;
	esac
	ss_conf_pair "$W/ike-b" gw-b gw-a 10.0.0.2 10.0.0.1 10.10.0.2/32 10.10.0.1/32 \
		"childless = force
		encap = no"
	ss_start b "$W/ike-b" "	reuse_ikesa = no
	retransmit_timeout = 15.0" > "$W/ike-b/start.log" 2>&1 ||
		{ cat "$W/ike-b/start.log"; fail "IKE initiator"; return 0; }
	: > "$W/ike-b/charon.log"	# (charon appends: truncating is safe)
	ip=$(cat "$W/ike-b/charon.pid")
	c0=$(cpu "$rp"); local ci0; ci0=$(cpu "$ip")
	t0=$(date +%s%N)
	/usr/bin/python3 - "$W/ike-b/charon.vici" "$n" <<'PY' || { fail "vici initiate"; return 0; }
import socket, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
def kv(k, v):
    k, v = k.encode(), v.encode()
    return bytes([3, len(k)]) + k + struct.pack(">H", len(v)) + v
def packet(payload):
    return struct.pack(">I", len(payload)) + payload
def request(name, body):
    name = name.encode()
    return packet(bytes([0, len(name)]) + name + body)
def recv_exact(s, k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c:
            raise EOFError("vici closed")
        b += c
    return b
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
req = request("initiate", kv("ike", "gw") + kv("timeout", "-1") + kv("init-limits", "no"))
for i in range(n):
    s.sendall(req)
    ln, = struct.unpack(">I", recv_exact(s, 4))
    resp = recv_exact(s, ln)
    if resp[0] != 1 or b"success\x00\x03yes" not in resp:
        sys.exit("initiate %d: unexpected answer %r" % (i, resp[:80]))
PY
	# Counted at the initiator, so that any responder can be measured.
	established() {
		local e
		e=$(grep -c "IKE_SA gw\[[0-9]*\] established" "$W/ike-b/charon.log" 2>/dev/null) || e=0
		[ "$e" -ge "$n" ]
	}
	if ! _ss_poll 120 established; then
		fail "only $(grep -c 'IKE_SA gw\[[0-9]*\] established' "$W/ike-b/charon.log") of $n IKE SAs were established"
	fi
	t1=$(date +%s%N)
	c1=$(cpu "$rp"); local ci1; ci1=$(cpu "$ip")
	local done_n; done_n=$(grep -c "IKE_SA gw\[[0-9]*\] established" "$W/ike-b/charon.log")
	/usr/bin/python3 - "$done_n" "$t0" "$t1" $((c1 - c0)) $((ci1 - ci0)) "$HZ" "$RES" "$resp" <<'PY'
import json, sys
n, t0, t1, cr, ci, hz = (int(x) for x in sys.argv[1:7])
res, resp = sys.argv[7], sys.argv[8]
wall = (t1 - t0) / 1e9
r = {"ike": resp, "handshakes": n, "wall_s": wall, "rate": n / wall,
     "responder_cpu_s": cr / hz, "initiator_cpu_s": ci / hz,
     "rate_per_responder_cpu_s": n / (cr / hz) if cr else None}
open(res, "a").write(json.dumps(r) + "\n")
print("%d IKE SAs in %.2f s: %.0f handshakes/s; responder CPU %.2f s (%.0f handshakes per CPU-second), initiator CPU %.2f s"
      % (n, wall, n / wall, cr / hz, r["rate_per_responder_cpu_s"] or 0, ci / hz))
PY
	check_not "no retransmissions by the initiator" grep -q "retransmit" "$W/ike-b/charon.log"
	ss_stop b
	if [ "$resp" = mipsec ]; then	# its counters, for the record
		"$(dirname "$MIPSECD")/mipsecctl" -s "$W/ike-mipsec.sock" stats 2>/dev/null |
			grep -E "mipsec_(ike|ipsec)_" | grep -v " 0$" > "$W/ike-mipsec-stats.log" || true
	fi
	if [ "$resp" = strongswan ]; then ss_stop a; else stop_pids "$rp"; fi
}
if [ "$IKE_N" != 0 ]; then
	for r in $IKE_RESPONDER; do ike_bench "$r"; done
fi

# ---- table ------------------------------------------------------------------
say "summary ($(nproc) CPUs, DURATION=${DURATION}s, UDP -b $UDP_RATE)"
/usr/bin/python3 - "$RES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
vpns, skipped = [], {}
for r in rows:
    if "vpn" not in r:
        continue
    if "skipped" in r:
        skipped[r["vpn"]] = r["skipped"]
    elif r["vpn"] not in vpns:
        vpns.append(r["vpn"])
def get(v, run):
    for r in rows:
        if r.get("vpn") == v and r.get("run") == run:
            return r
tab = {}
for v in vpns:
    t = [get(v, k) for k in ("tcp_ab", "tcp_ba", "udp_ab", "udp_1pct")]
    def per_gbit(rs):
        gb = sum(r["gbps"] * r["seconds"] for r in rs if r)
        cpu = sum(r["cpu_s"] for r in rs if r)
        return cpu / gb if gb else None
    tab[v] = t + [per_gbit(t[0:2]), per_gbit(t[2:3])]
print("Gbit/s received; CPU-s/Gbit = VPN processes' CPU seconds (both ends) per Gbit carried")
print("%-11s %9s %9s %9s %6s %9s %9s %9s" % ("VPN", "TCP a>b", "TCP b>a", "UDP@" + "max", "loss", "UDP<1%",
      "CPU/Gb", "CPU/Gb"))
print("%-11s %9s %9s %9s %6s %9s %9s %9s" % ("", "", "", "", "", "", "TCP", "UDP@max"))
f = lambda r: "%9.3f" % r["gbps"] if r else "%9s" % "-"
g = lambda x: "%9.2f" % x if x else "%9s" % "-"
for v in vpns:
    a, b, u, u1, ct, cu = tab[v]
    print("%-11s %s %s %s %5s%% %s %s %s" % (v, f(a), f(b), f(u),
          "%.0f" % u["lost_percent"] if u and u.get("lost_percent") is not None else "-",
          f(u1), g(ct), g(cu)))
for v, why in skipped.items():
    print("%-11s skipped: %s" % (v, why.strip()))
if "mipsec" in tab:
    others = [v for v in tab if v not in ("mipsec", "plain")]
    for i, what in ((0, "TCP a->b"), (1, "TCP b->a"), (2, "UDP at UDP_RATE"), (3, "UDP < 1 % loss")):
        m = tab["mipsec"][i]
        cand = [(tab[o][i]["gbps"], o) for o in others if tab[o][i]]
        best = max(cand) if cand else None
        if m and best and best[0] > 0:
            print("mipsec / best other (%s), %s: %.2fx" % (best[1], what, m["gbps"] / best[0]))
    ct = [tab[o][4] for o in others if tab[o][4]]
    if tab["mipsec"][4] and ct:
        print("mipsec CPU-s/Gbit (TCP) / best other: %.2fx" % (tab["mipsec"][4] / min(ct)))
for r in rows:
    if "ike" in r:
        print("IKE %s responder: %.0f handshakes/s (%d in %.2f s), %.0f per responder CPU-second"
              % (r["ike"], r["rate"], r["handshakes"], r["wall_s"], r["rate_per_responder_cpu_s"] or 0))
PY
# keep the per-run JSON and the daemons' logs (LAB_STATE goes with the lab)
cp "$W"/*.json "$W"/*.log "$W"/*.conf "$OUT/" 2>/dev/null || true
for d in ss-a ss-b ike-a ike-b wg-a wg-b ovpn-a ovpn-b; do
	[ -d "$W/$d" ] || continue
	mkdir -p "$OUT/$d"
	cp "$W/$d"/*.log "$W/$d"/*.conf "$W/$d/log" "$OUT/$d/" 2>/dev/null || true
done
finish

# shellcheck shell=bash
# Common part of tests/interop/test_gw_strongswan_*.sh: mipsecd (role
# ipsec with an `ike` block) in lab node a, strongSwan's charon with
# kernel-libipsec (lab/strongswan.sh) in node b, on the vpn-pair link:
#
#   a 10.0.0.1 (TUN ipsec0 10.10.0.1, fd10::1) --- link --- b 10.0.0.2
#                                       (lo 10.10.0.2, fd10::2)
#
# Certificates from tests/lab/pki.sh. Sourced after lab/lib.sh and
# lab/strongswan.sh; exits 77 when a tool is missing.
PY=/usr/bin/python3
GW_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
skip_without_daemon
if ! why=$(ss_available); then
	echo "SKIP: $why (strongswan-charon strongswan-swanctl libcharon-extra-plugins)"; exit 77
fi
for t in openssl socat ping; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
pki=$LAB_STATE/pki
"$GW_SRC/tests/lab/pki.sh" "$pki" || { echo "pki.sh failed"; exit 1; }

ctl() { "$MIPSECCTL" -s "$LAB_STATE/$1.sock" --json "${@:2}"; }
# rows NODE TABLE: number of rows of a control table
rows() { ctl "$1" show "$2" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
rows_is() { [ "$(rows "$1" "$2")" = "$3" ]; }
# metric NODE NAME: the sum of the counters named NAME (any labels)
metric() {
	ctl "$1" stats | $PY -c "import json,sys
t = 0
def walk(o):
	global t
	if isinstance(o, dict):
		for k, v in o.items():
			if (k == '$2' or k.startswith('$2{')) and isinstance(v, (int, float)): t += v
			elif k == 'name' and v == '$2' and isinstance(o.get('value'), (int, float)): t += o['value']
			else: walk(v)
	elif isinstance(o, list):
		for v in o: walk(v)
walk(json.load(sys.stdin))
print(int(t))"
}

# gw_topology FILE IKE_BLOCK [IPSEC_LINES]: vpn-pair with mipsecd in a.
gw_topology() {
	cat > "$1" <<TOPO
name = "gw-ike"
[link.link]
ipv6 = "fd00::/64"
ipv4 = "10.0.0.0/24"
[node.a]
accept_ra = false
iface = [ { name = "eth0", link = "link", addr = ["10.0.0.1/24", "fd00::1/64"] } ]
[node.a.mipsecd]
config = '''
node = { name = "@NODE@"; };
log = { level = "debug"; };
control = { socket = "@STATE@/@NODE@.sock"; };
roles = ["ipsec"];
ipsec = {
  tun = "ipsec0";
  tun_mtu = 1400;
  tun_addresses = ["10.10.0.1/32", "fd10::1/128"];
  listen = "::";
  workers = 2;
  esp_sa_file = "@STATE@/@NODE@.esp_sa";
  ike = {
$2
  };
${3:-}
};
'''
[node.b]
accept_ra = false
iface = [ { name = "eth0", link = "link", addr = ["10.0.0.2/24", "fd00::2/64"] } ]
TOPO
}

# ss_gw_conf DIR KEY [EXTRA-CONN] [EXTRA-CHILD]: charon in b as gw-b
# (GW_B_ID) with certificate KEY.crt, child `net` 10.10.0.2 <-> 10.10.0.1
# and fd10::2 <-> fd10::1.
ss_gw_conf() {
	local dir=$1 key=$2 me=${GW_B_ID:-gw-b}
	rm -rf "$dir"/x509 "$dir"/private
	mkdir -p "$dir"/{x509,x509ca,x509crl,private}
	cp "$pki/$key.crt" "$dir/x509/"; cp "$pki/$key.key" "$dir/private/"
	cp "$pki/ca.crt" "$dir/x509ca/"; cp "$pki/ca.crl.pem" "$dir/x509crl/"
	cat > "$dir/swanctl.conf" <<SWAN
connections {
	gw {
		version = 2
		local_addrs = 10.0.0.2
		remote_addrs = 10.0.0.1
		proposals = ${GW_IKE_PROP:-aes128gcm16-prfsha256-ecp256}
		encap = yes
		rekey_time = 0
		${3:-}
		local {
			auth = pubkey
			certs = $key.crt
			id = $me.mipsec.test
		}
		remote {
			auth = pubkey
			id = gw-a.mipsec.test
		}
		children {
			net {
				local_ts = ${GW_B_TS:-10.10.0.2/32,fd10::2/128}
				remote_ts = 10.10.0.1/32,fd10::1/128
				esp_proposals = ${GW_ESP_PROP:-aes128gcm16}
				mode = tunnel
				rekey_time = 0
				start_action = none
				${4:-}
			}
		}
	}
}
SWAN
}

# b's addresses inside the tunnel (libipsec routes them through its TUN).
ss_b_addrs() {
	nsx b ip addr add 10.10.0.2/32 dev lo
	nsx b ip addr add fd10::2/128 dev lo nodad
}

# ping_run NODE SRC DST SECONDS OUT: 50 echo requests a second in the
# background; a count (not a deadline) so that the last replies are waited
# for instead of counted lost when the deadline cuts them off in flight.
ping_run() { nsx "$1" ping -n -i 0.02 -W 1 -c $(($4 * 50)) -I "$2" "$3" > "$5" 2>&1 & }
lost() {	# lost OUT: transmitted - received
	sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$1" |
		{ read -r t r; echo $((t - r)); }
}
# transfer FROM TO FAMILY DST PORT SRC: 1 MB through the tunnel, compared.
transfer() {
	[ -f "$LAB_STATE/data.bin" ] || head -c 1000000 /dev/urandom > "$LAB_STATE/data.bin"
	tcp_copy "$@" "$LAB_STATE/data.bin" 20
}

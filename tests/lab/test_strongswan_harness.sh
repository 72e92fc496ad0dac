#!/bin/bash
# The strongSwan harness (lab/strongswan.sh) and the PKI (tests/lab/pki.sh),
# proven on strongSwan alone before the interop tests put mipsec on one side.
# vpn-pair.toml: charon in a (responder, gw-a.mipsec.test) and b (initiator,
# gw-b.mipsec.test), ECDSA P-256 certificates from pki.sh's CA with its CRL
# loaded, IKE aes128gcm16-prfsha256-ecp256, ESP tunnel 10.10.0.1 <-> 10.10.0.2
# (aes128gcm16, UDP-encapsulated by kernel-libipsec's TUN).  Checks: both
# ends ESTABLISHED/INSTALLED with matching SPIs, the identities each side
# authenticated, pings both ways through the tunnel (and ESP on the wire:
# the libipsec TUN counters rise), a CHILD rekey and an IKE rekey while a
# ping runs (new SPIs, old SAs gone, at most 2 echo requests lost), and
# `terminate` removes the SAs on both ends (DELETE reached the responder).
# pki.sh's bad certificates (expired, not yet valid, revoked, other CA,
# wrong identity) presented by b are each refused by a with
# AUTHENTICATION_FAILED and the matching reason in its log.  Then charon-cmd as an alternative initiator (RSA certificate) against the
# same responder.  Exit 77 if strongSwan is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../lab/lib.sh"
source "$here/../../lab/strongswan.sh"

if ! why=$(ss_available); then
	echo "SKIP: $why (Debian: strongswan-charon strongswan-swanctl" \
	     "libcharon-extra-plugins libstrongswan-standard-plugins)" >&2
	exit 77
fi
for t in openssl ping; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found" >&2; exit 77; }
done

pki=$LAB_STATE/pki
say "PKI"
t0=$(now_ms)
need "pki.sh" "$here/pki.sh" "$pki"
check "pki.sh prints nothing when everything exists" test -z "$("$here/pki.sh" "$pki" 2>&1)"
echo "pki: $(( $(now_ms) - t0 )) ms"

say "up"
need "lab up vpn-pair" lab up "$LAB_SRC/lab/topologies/vpn-pair.toml"
need "a reaches b" ping_ok a 10.0.0.2
need "10.10.0.1 on a" nsx a ip addr add 10.10.0.1/32 dev lo
need "10.10.0.2 on b" nsx b ip addr add 10.10.0.2/32 dev lo

# conf DIR NODE PEER ADDR PEERADDR LTS RTS: one connection `gw` with child `net`.
conf() {
	local dir=$1 me=$2 peer=$3 addr=$4 paddr=$5 lts=$6 rts=$7 pool=${8:-} key=${9:-$2}
	mkdir -p "$dir"/{x509,x509ca,x509crl,private}
	cp "$pki/$key.crt" "$dir/x509/"
	cp "$pki/$key.key" "$dir/private/"
	cp "$pki/ca.crt" "$dir/x509ca/"
	cp "$pki/ca.crl.pem" "$dir/x509crl/"
	cat > "$dir/swanctl.conf" <<EOF
connections {
	gw {
		version = 2
		local_addrs = $addr
		remote_addrs = $paddr
		proposals = aes128gcm16-prfsha256-ecp256
		encap = yes
		rekey_time = 0
		${pool:+pools = $pool}
		local {
			auth = pubkey
			certs = $key.crt
			id = $me.mipsec.test
		}
		remote {
			auth = pubkey
			id = $peer.mipsec.test
			revocation = strict
		}
		children {
			net {
				local_ts = $lts
				remote_ts = $rts
				esp_proposals = aes128gcm16
				mode = tunnel
				rekey_time = 0
				start_action = none
			}
		}
	}
}
EOF
	[ -z "$pool" ] || cat >> "$dir/swanctl.conf" <<EOF
pools {
	$pool {
		addrs = 10.10.0.2/32
	}
}
EOF
}
conf "$LAB_STATE/ss-a" gw-a gw-b 10.0.0.1 10.0.0.2 10.10.0.1/32 10.10.0.2/32
conf "$LAB_STATE/ss-b" gw-b gw-a 10.0.0.2 10.0.0.1 10.10.0.2/32 10.10.0.1/32

say "charon in a (responder) and b (initiator)"
t0=$(now_ms)
need "charon starts in a" ss_start a "$LAB_STATE/ss-a"
need "charon starts in b" ss_start b "$LAB_STATE/ss-b"
echo "both charons up and configured: $(( $(now_ms) - t0 )) ms"
check "charon.pid is in a's private /run" test -s "$LAB_STATE/ss-a/run/charon.pid"
check "the pid file names the charon we started" \
	test "$(cat "$LAB_STATE/ss-a/run/charon.pid")" = "$(cat "$LAB_STATE/ss-a/charon.pid")"
check "charon a holds the CA certificate" \
	grep -q 'subject: *"C=XX, O=mipsec, CN=mipsec test CA"' <(ss_swanctl a --list-certs)
check "charon a holds the CA's CRL listing revoked.crt" \
	grep -q "$(openssl x509 -in "$pki/revoked.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')" \
	<(ss_swanctl a --list-certs --type x509crl | tr 'A-F:' 'a-f ' | tr -d ' ')

t0=$(now_ms)
need "b initiates" ss_initiate b net gw
echo "IKE_SA_INIT + IKE_AUTH: $(( $(now_ms) - t0 )) ms"
wait_for 5 "b: gw ESTABLISHED, net INSTALLED" ss_has_sa b gw net
wait_for 5 "a: gw ESTABLISHED, net INSTALLED" ss_has_sa a gw net
ss_sas b | sed 's/^/    /' | cut -c1-400
spis_a=$(ss_child_spis a net || true)
spis_b=$(ss_child_spis b net || true)
read -r ain aout <<< "$spis_a"
read -r bin bout <<< "$spis_b"
check "CHILD SPIs pair up (a in = b out, a out = b in)" \
	test -n "$ain" -a "$ain" = "$bout" -a "$aout" = "$bin"
check "a authenticated gw-b.mipsec.test" grep -q "remote-id=gw-b.mipsec.test" <(ss_sas a)
check "b authenticated gw-a.mipsec.test" grep -q "remote-id=gw-a.mipsec.test" <(ss_sas b)
check "ECP_256 was negotiated" grep -q "dh-group=ECP_256" <(ss_sas a)
check "AES_GCM_16 128 ESP with UDP encapsulation" \
	grep -q "encap=yes.*encr-alg=AES_GCM_16 encr-keysize=128" <(ss_sas a)

say "traffic"
tun_a=$(nsx a ip -o link show | sed -n 's/^[0-9]*: \(ipsec[0-9]*\):.*/\1/p' | head -n1)
check "kernel-libipsec made a TUN device in a" test -n "$tun_a"
# (not /sys/class/net: nsenter --net keeps the host's sysfs)
rx() {
	nsx a ip -j -s link show dev "$tun_a" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}
r0=$(rx)
check "b pings 10.10.0.1 from 10.10.0.2" nsx b ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
check "a pings 10.10.0.2 from 10.10.0.1" nsx a ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.1 10.10.0.2
check "the pings went through a's libipsec TUN" test "$(rx)" -ge $((r0 + 6))
bytes_in() {
	ss_sas a | grep -o "net-[0-9]* {[^{}]*state=INSTALLED[^{}]*" |
		sed -n 's/.*bytes-in=\([0-9]*\).*/\1/p' | tail -n1
}
check "a's CHILD SA counted the ESP payload" test "${bytes_in:-0}" != "" -a "$(bytes_in)" -gt 0

# ping_run NODE SRC DST SECONDS OUT: a 20/s ping in the background ($!).
ping_run() { nsx "$1" ping -n -i 0.05 -W 1 -w "$4" -I "$2" "$3" > "$5" 2>&1 & }
lost() {	# lost OUT: transmitted - received
	sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$1" |
		{ read -r t r; echo $((t - r)); }
}

say "CHILD rekey under ping"
ping_run b 10.10.0.2 10.10.0.1 2 "$LAB_STATE/ping1"; p=$!
sleep 0.5
need "b rekeys the CHILD SA" ss_rekey_child b net
new_ok() {
	local s
	s=$(ss_child_spis a net) || return 1
	[ "$s" != "$spis_a" ]
}
wait_for 5 "a's installed CHILD SA has new SPIs" new_ok
wait "$p" || true
tail -n 2 "$LAB_STATE/ping1" | sed 's/^/    /'
check "at most 2 echo requests lost across the CHILD rekey" test "$(lost "$LAB_STATE/ping1")" -le 2
old_gone() { ! ss_sas a | grep -q "spi-in=$ain"; }
wait_for 5 "the old CHILD SA is deleted on a" old_gone
check "b pings through the rekeyed CHILD SA" ping_ok b 10.10.0.1

say "IKE rekey under ping"
ike0=$(ss_ike_spis a gw || true)
ping_run a 10.10.0.1 10.10.0.2 2 "$LAB_STATE/ping2"; p=$!
sleep 0.5
need "b rekeys the IKE SA" ss_rekey_ike b gw
ike_new() {
	local s
	s=$(ss_ike_spis a gw) || return 1
	[ -n "$s" ] && [ "$s" != "$ike0" ]
}
wait_for 5 "a's IKE SA has new SPIs" ike_new
wait "$p" || true
tail -n 2 "$LAB_STATE/ping2" | sed 's/^/    /'
check "at most 2 echo requests lost across the IKE rekey" test "$(lost "$LAB_STATE/ping2")" -le 2
check "the CHILD SA survived the IKE rekey" ss_has_sa a gw net
check "a pings through after the IKE rekey" ping_ok a 10.10.0.2
one_ike() { [ "$(ss_sas a | grep -c '^list-sa event {gw {')" = 1 ]; }
wait_for 5 "exactly one IKE SA left on a" one_ike

say "terminate"
need "b terminates gw" ss_terminate b gw
no_sa() { ! ss_sas "$1" | grep -q "gw {"; }
wait_for 5 "b has no SA" no_sa b
wait_for 5 "a has no SA (DELETE received)" no_sa a
check_not "no ping through a torn-down tunnel" ping_ok b 10.10.0.1
cp "$LAB_STATE/ss-a/charon.log" "$LAB_STATE/ss-a/charon.log.swanctl"
cp "$LAB_STATE/ss-b/charon.log" "$LAB_STATE/ss-b/charon.log.swanctl"
check "a logged the DELETE" grep -q "received DELETE for IKE_SA" "$LAB_STATE/ss-a/charon.log"

say "bad certificates from pki.sh are refused by a"
# b presents each bad certificate in turn; a must refuse it for the reason
# in its name (log line) and answer AUTHENTICATION_FAILED.
declare -A why=(
	[expired]="certificate invalid \(valid from .* 2020 to .* 2021\)"
	[notyet]="certificate invalid \(valid from .* 2040 to .* 2041\)"
	[revoked]="certificate was revoked"
	[otherca]="no trusted issuer|no issuer certificate found"
	[wrongid]="no peer config found|no matching peer config found"
)
for bad in expired notyet revoked otherca wrongid; do
	me=gw-b
	[ $bad = wrongid ] && me=gw-x
	conf "$LAB_STATE/ss-b" $me gw-a 10.0.0.2 10.0.0.1 10.10.0.2/32 10.10.0.1/32 "" $bad
	ss_load b > /dev/null 2>&1
	n0=$(wc -l < "$LAB_STATE/ss-a/charon.log")
	t0=$(now_ms)
	check_not "b with $bad.crt: IKE_AUTH fails" ss_initiate b net gw
	took=$(( $(now_ms) - t0 ))
	tail -n +"$((n0 + 1))" "$LAB_STATE/ss-a/charon.log" > "$LAB_STATE/bad-$bad.log"
	echo "$bad: refused in $took ms: $(grep -E "${why[$bad]}" "$LAB_STATE/bad-$bad.log" |
		tail -n1 | cut -d' ' -f3- | cut -c1-150)"
	check "a says why for $bad.crt (${why[$bad]})" grep -qE "${why[$bad]}" "$LAB_STATE/bad-$bad.log"
	check "a answered AUTHENTICATION_FAILED for $bad.crt" \
		grep -q "generating IKE_AUTH response 1 \[ N(AUTH_FAILED) \]" "$LAB_STATE/bad-$bad.log"
	[ "$LAB_OK" = 1 ] || grep -E "\[(CFG|IKE)\]" "$LAB_STATE/bad-$bad.log" | tail -n 30
done

say "charon-cmd (RSA certificate) as the initiator"
need "charon in b stops" ss_stop b
check "b's charon removed its pid file" test ! -e "$LAB_STATE/ss-b/run/charon.pid"
# charon-cmd always asks for a virtual IP: a's pool hands out 10.10.0.2,
# which libipsec puts on b's TUN.  (Loaded now: with a pool, a insists on
# a configuration payload, which swanctl's initiator did not send.)
conf "$LAB_STATE/ss-a" gw-a gw-b 10.0.0.1 10.0.0.2 10.10.0.1/32 10.10.0.2/32 cmdpool
need "a reloads its configuration with the pool" ss_load a
mkdir -p "$LAB_STATE/cmd-b"
need "10.10.0.2 off b's lo" nsx b ip addr del 10.10.0.2/32 dev lo
need "charon-cmd starts in b" ss_cmd_start b "$LAB_STATE/cmd-b" \
	--host 10.0.0.1 --identity gw-b.mipsec.test --remote-identity gw-a.mipsec.test \
	--cert "$pki/ca.crt" --cert "$pki/gw-b-rsa.crt" --rsa "$pki/gw-b-rsa.key" \
	--ike-proposal aes128gcm16-prfsha256-ecp256 --esp-proposal aes128gcm16 \
	--local-ts 10.10.0.2/32 --remote-ts 10.10.0.1/32
cmd_up() { grep -q "CHILD_SA cmd{[0-9]*} established" "$LAB_STATE/cmd-b/charon-cmd.log"; }
wait_for 10 "charon-cmd established its CHILD SA" cmd_up
[ "$LAB_OK" = 1 ] || tail -n 20 "$LAB_STATE/cmd-b/charon-cmd.out" "$LAB_STATE/cmd-b/charon-cmd.log"
wait_for 5 "a accepted the RSA-authenticated gw-b" ss_has_sa a gw net
check "b (charon-cmd) pings 10.10.0.1" nsx b ping -n -q -c 2 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
need "charon-cmd stops" ss_cmd_stop b
wait_for 5 "a has no SA after charon-cmd left" no_sa a

need "charon in a stops" ss_stop a
for n in a b; do
	check_not "$n: charon logged no error" grep -E "\[(IKE|CFG|LIB|KNL|NET|ENC)\] .*(error|failed)" \
		"$LAB_STATE/ss-$n/charon.log.swanctl"
done
finish

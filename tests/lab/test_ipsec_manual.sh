#!/bin/bash
# Two gateways (role ipsec) with manual AES-128-GCM SAs on one link
# (lab/topologies/ipsec-pair.toml; node a runs without TUN offload so that
# its TUN capture shows the very packets ESP carries, b with TSO/GRO):
#   - ping both ways over IPv4 and IPv6 through the tunnel;
#   - TCP transfers both ways over IPv4 and IPv6 (1 MB of random data)
#     arrive byte for byte, through b's TSO segmentation and its coalescing
#     of received segments into super-packets; a UDP burst coalesced on b
#     arrives intact;
#   - tshark, given nothing but a's esp_sa file, decrypts every ESP
#     datagram on the link (ICV good) and the inner packets are exactly
#     the packets seen on a's TUN device (byte for byte, both directions);
#   - a transport-mode pair (CBC + HMAC) carries ping and 1 MB of TCP;
#   - a captured ESP datagram sent again is dropped, the SA's replay
#     counter rises by one and nothing reaches the TUN;
#   - packets from a peer with the wrong key (beyond the window) are
#     counted as ICV failures, while the same packets under the right key
#     (the control) are accepted;
#   - a NAT keepalive (0xff) is counted, a non-ESP-marker datagram goes to
#     the IKE hook (counted as dropped: no IKE engine yet);
#   - c behind an IPv4 masquerading NAT (n) talks to b (ChaCha20-Poly1305,
#     c's data plane inline in its event loop: workers = 1);
#   - a reload that drops one manual SA pair removes it (SAs, route) and
#     leaves the other running with its sequence numbers;
#   - routes for the remote selectors exist while running and go at stop.
set -euo pipefail
source "$(dirname "$0")/../../lab/lib.sh"
PY=/usr/bin/python3
skip_without_daemon
probe=$LAB_STATE/probe.conf
printf 'node = { name = "probe"; };\nroles = [ "ipsec" ];\n' > "$probe"
if "$MIPSECD" -n -c "$probe" 2>&1 | grep -q "unknown role 'ipsec'"; then
	echo "SKIP: this mipsecd lacks the ipsec role"; exit 77
fi
rm -f "$probe"
for t in tshark dumpcap socat; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
ESP_TOOL=${MIPSEC_BUILD:-$LAB_SRC/build}/tests/esp_tool
[ -x "$ESP_TOOL" ] || { echo "SKIP: $ESP_TOOL not built"; exit 77; }
$PY -c 'import scapy' 2>/dev/null || { echo "SKIP: python3-scapy missing"; exit 77; }

# a without offload: its TUN sees single packets, not super-packets.
TOPO=$LAB_STATE/ipsec-pair.toml
$PY - "$LAB_SRC/lab/topologies/ipsec-pair.toml" "$TOPO" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("workers = 2;", "workers = 2; offload = false;", 1)
open(sys.argv[2], "w").write(t)
PY

ctl() { "$MIPSECCTL" -s "$LAB_STATE/$1.sock" --json "${@:2}"; }
# sa NODE SPI DIR FIELD: a field of one SA from `show esp_sa`
sa() { ctl "$1" show esp_sa | $PY -c "import json,sys
print(next(s['$4'] for s in json.load(sys.stdin) if s['spi']=='$2' and s['direction']=='$3'))"; }
# dp NODE COUNTER: a data-plane counter of the role
dp() { ctl "$1" status | $PY -c "import json,sys
print(next(r for r in json.load(sys.stdin)['roles'] if r['name']=='ipsec')['state']['dataplane']['$2'])"; }
sa_is() { [ "$(sa "$1" "$2" "$3" "$4")" = "$5" ]; }
sa_ge() { [ "$(sa "$1" "$2" "$3" "$4")" -ge "$5" ]; }
sa_ge_dp() { [ "$(dp "$1" "$2")" -ge "$3" ]; }
dp_is() { [ "$(dp "$1" "$2")" = "$3" ]; }
# send_udp NODE DST PORT HEX...: datagrams from an ephemeral port
send_udp() {
	local n=$1 dst=$2 port=$3; shift 3
	nsx "$n" $PY -c "import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for h in sys.argv[1:]:
	s.sendto(bytes.fromhex(h), ('$dst', $port))" "$@"
}

say "up"
need "lab up" lab up "$TOPO"
wait_for 10 "a reaches b through the tunnel" ping_ok a 10.10.0.2
check "route to b's selector via ipsec0 on a" sh -c \
	"nsenter --net=/proc/$(lab pid a)/ns/net ip route get 10.10.0.2 | grep -q 'dev ipsec0'"
check "IPv6 route to b's selector via ipsec0 on a" sh -c \
	"nsenter --net=/proc/$(lab pid a)/ns/net ip -6 route get fd10::2 | grep -q 'dev ipsec0'"
need "a's esp_sa file" test -s "$LAB_STATE/a.esp_sa"

say "captures: link0, a's eth0 and a's TUN"
# The link capture (the lab's own capturer) is kept as the record of the
# run; the comparison reads dumpcap's capture on a's eth0, whose kernel
# ring keeps up with a 1 MB burst (tcpdump cannot drop to its user inside
# a user namespace; dumpcap runs in both lab modes). Not through the nsx
# function: $! must be dumpcap itself (nsenter execs).
lab capture link0 start
dcap=()
for c in "ipsec0 tun" "eth0 eth0"; do
	set -- $c
	nsenter --net="/proc/$(lab pid a)/ns/net" dumpcap -P -B 32 -i $1 \
		-w "$LAB_STATE/$2.pcap" 2> "$LAB_STATE/dumpcap-$2.log" &
	dcap+=($!)
	wait_for 10 "dumpcap on a's $1" grep -q "^Capturing on" "$LAB_STATE/dumpcap-$2.log"
done

say "pings both ways, IPv4 and IPv6"
check "ping a -> b IPv4" nsx a ping -n -q -c 3 -i 0.2 -W 2 10.10.0.2
check "ping a -> b IPv6" nsx a ping -n -q -c 3 -i 0.2 -W 2 fd10::2
check "ping b -> a IPv4" nsx b ping -n -q -c 3 -i 0.2 -W 2 10.10.0.1
check "ping b -> a IPv6" nsx b ping -n -q -c 3 -i 0.2 -W 2 fd10::1

say "TCP transfers"
head -c 1000000 /dev/urandom > "$LAB_STATE/data.bin"
# transfer FROM TO FAMILY DST PORT [SRC]: 1 MB through the tunnel, compared.
transfer() { tcp_copy "$1" "$2" "$3" "$4" "$5" "${6:-}" "$LAB_STATE/data.bin" 60; }
# IPv4 and IPv6 each way: b's TSO segmentation and coalescing, both families.
transfer a b 4 10.10.0.2 7001
transfer b a 6 '[fd10::1]' 7002
transfer b a 4 10.10.0.1 7003
transfer a b 6 '[fd10::2]' 7004
# b runs with offload: its TX cut TSO super-packets, its RX coalesced.
check "b segmented TCP super-packets from its TUN" sa_ge_dp b tun_rx_super_packets 1
check "b coalesced TCP segments into super-packets for its TUN" sa_ge_dp b tun_tx_super_packets 1

say "UDP burst a -> b: coalesced on b's TUN, every datagram intact"
s0=$(dp b tun_tx_super_packets)
nsx b timeout 30 $PY - "$LAB_STATE/udp-recv.txt" <<'PY' &
import hashlib, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("10.10.0.2", 7005))
open(sys.argv[1] + ".ready", "w").close()
got = {}
s.settimeout(10)
try:
	while len(got) < 200:
		d = s.recv(2000)
		i = int.from_bytes(d[:4], "big")
		if d[4:] == hashlib.sha256(d[:4]).digest() * 37:
			got[i] = True
except socket.timeout:
	pass
open(sys.argv[1], "w").write("%d\n" % len(got))
PY
udprx=$!
wait_for 10 "b's UDP receiver ready" test -e "$LAB_STATE/udp-recv.txt.ready"
nsx a $PY -c "import hashlib, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
	h = i.to_bytes(4, 'big')
	s.sendto(h + hashlib.sha256(h).digest() * 37, ('10.10.0.2', 7005))"
wait $udprx || true
check "all 200 UDP datagrams arrived intact" test "$(cat "$LAB_STATE/udp-recv.txt")" = 200
check "b wrote UDP super-packets" sa_ge_dp b tun_tx_super_packets $((s0 + 1))

# Everything sent has arrived (the transfers completed); wait until the
# captures stop growing for longer than dumpcap's 1 s block timeout (its
# ring hands packets over block by block), then stop them.
stable() { local a; a=$(stat -c %s "$@"); sleep 1.5; [ "$a" = "$(stat -c %s "$@")" ]; }
wait_for 20 "captures settled" stable "$LAB_STATE/tun.pcap" "$LAB_STATE/eth0.pcap"
kill -INT "${dcap[@]}"
wait "${dcap[@]}" || true
check "dumpcap dropped nothing" sh -c "! grep -h 'received/dropped' $LAB_STATE/dumpcap-*.log | grep -qv ': [0-9]*/0 '"
grep -h 'received/dropped' "$LAB_STATE"/dumpcap-*.log
lab capture link0 stop

say "tshark decrypts the link with a's esp_sa file; inner packets = TUN packets"
mkdir -p "$LAB_STATE/ws/.config/wireshark"
cp "$LAB_STATE/a.esp_sa" "$LAB_STATE/ws/.config/wireshark/esp_sa"
HOME=$LAB_STATE/ws XDG_CONFIG_HOME=$LAB_STATE/ws/.config tshark -n -r "$LAB_STATE/eth0.pcap" \
	-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
	-Y "udp.port == 4500 && esp" -T fields -E separator='|' \
	-e esp.spi -e esp.icv_good -e esp.decrypted_data > "$LAB_STATE/decrypted.txt" 2> "$LAB_STATE/tshark.err"
check "tshark ran" test -s "$LAB_STATE/decrypted.txt"
check "decrypted inner packets equal the TUN packets" $PY - "$LAB_STATE/decrypted.txt" "$LAB_STATE/tun.pcap" <<'PY'
import collections, sys
from scapy.all import rdpcap, raw
def ip_len(b):
	return (b[2] << 8 | b[3]) if b[0] >> 4 == 4 else 40 + (b[4] << 8 | b[5])
link = []
bad = 0
for line in open(sys.argv[1]):
	spi, good, data = line.rstrip("\n").split("|")
	if good not in ("1", "True") or not data:
		bad += 1
		continue
	b = bytes.fromhex(data.replace(":", ""))
	link.append(b[:ip_len(b)])
tun = []
for p in rdpcap(sys.argv[2]):
	b = raw(p)
	v4 = b[0] >> 4 == 4
	src, dst = (b[12:16], b[16:20]) if v4 else (b[8:24], b[24:40])
	# only the tunnelled traffic (the TUN also sees RS/MLD, which no SA takes)
	if v4 and src[:3] == dst[:3] == bytes([10, 10, 0]) or \
	   not v4 and src[:2] == dst[:2] == bytes([0xfd, 0x10]):
		tun.append(b)
L, T = collections.Counter(link), collections.Counter(tun)
print("link ESP decrypted: %d (undecryptable %d), TUN packets: %d" % (len(link), bad, len(tun)))
only_l, only_t = L - T, T - L
for k in list(only_l)[:3]:
	print("  only on the link:", k[:48].hex())
for k in list(only_t)[:3]:
	print("  only on the TUN: ", k[:48].hex())
sys.exit(0 if not bad and not only_l and not only_t and len(link) > 500 else 1)
PY

say "transport mode (AES-CBC + HMAC-SHA-256) between 10.10.1.1 and 10.10.1.2"
check "ping a(10.10.1.1) -> b(10.10.1.2) in transport mode" \
	nsx a ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.1.1 10.10.1.2
check "b's transport SA took a's packets" sa_ge b 0x00002101 in packets 3
check "a's transport SA took b's answers" sa_ge a 0x00001101 in packets 3
transfer a b 4 10.10.1.2 7006 10.10.1.1

say "replayed ESP is dropped"
replay=$($PY - "$LAB_STATE/eth0.pcap" <<'PY'
import sys
from scapy.all import rdpcap, IP, UDP, raw
last = None
for p in rdpcap(sys.argv[1]):
	if IP in p and UDP in p and p[IP].src == "10.0.0.2" and p[UDP].dport == 4500:
		b = raw(p[UDP].payload)
		if b[:4] == bytes.fromhex("00001001"):
			last = b
print(last.hex() if last else "")
PY
)
need "an ESP datagram b -> a in the capture" test -n "$replay"
r0=$(sa a 0x00001001 in replay)
t0=$(dp a tun_tx_packets)
send_udp b 10.0.0.1 4500 "$replay"
wait_for 5 "a's inbound SA replay counter +1" sa_is a 0x00001001 in replay $((r0 + 1))
check "the replayed packet did not reach a's TUN" dp_is a tun_tx_packets "$t0"

say "NAT keepalive and the IKE hook on the NAT-T port"
k0=$(dp a natt_keepalives)
i0=$(dp a ike_rx_natt)
send_udp b 10.0.0.1 4500 ff 00000000deadbeef
wait_for 5 "keepalive counted" dp_is a natt_keepalives $((k0 + 1))
wait_for 5 "non-ESP marker went to the IKE hook" dp_is a ike_rx_natt $((i0 + 1))

say "NAT: c behind n (masquerade), ChaCha20-Poly1305, c's data plane inline"
need "nftables masquerade on n" nsx n nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" counter masquerade
	}
}
NFT
wait_for 10 "ping c -> b through the NAT" ping_ok c 10.10.0.2
check "ping b -> c (the NAT mapping c opened)" nsx b ping -n -q -c 3 -i 0.2 -W 2 10.10.0.3
check "b's inbound SA for c took c's packets" sa_ge b 0x00003001 in packets 4
check "c's inbound SA took b's answers (back through the NAT)" sa_ge c 0x00003002 in packets 4
masq() { nsx n nft list chain ip nat post | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
check "the NAT mapped c's flow (one rule hit per connection)" test "$(masq)" -ge 1
check_not "a does not reach c (no SA between them)" nsx a ping -n -q -c 1 -W 1 10.10.0.3

say "reload: b drops its SA for c, keeps the one with a"
$PY - "$LAB_STATE/b.conf" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
n = re.sub(r"\}, \{\n    remote = \"10\.0\.0\.9:4500\".*?\n  \} \);", "} );", t, flags=re.S)
assert n != t
open(sys.argv[1], "w").write(n)
PY
sa_absent() { ! ctl "$1" show esp_sa | grep -q "\"$2\""; }
seq0=$(sa b 0x00001001 out seq)
check "mipsecctl reload on b" ctl b reload
wait_for 10 "b's SAs for c are gone" sa_absent b 0x00003001
check_not "b's route to c's selector is gone" sh -c \
	"nsenter --net=/proc/$(lab pid b)/ns/net ip route show | grep -q 10.10.0.3"
check "ping a -> b still works after b's reload" nsx a ping -n -q -c 2 -i 0.2 -W 2 10.10.0.2
check "b's SA towards a kept its sequence numbers" sa_ge b 0x00001001 out seq $((seq0 + 2))
check_not "c no longer reaches b" nsx c ping -n -q -c 1 -W 1 10.10.0.2

# Last: the control packet (right key, sequence 200000) moves a's window
# far beyond b's own sequence numbers, so b -> a is dead afterwards.
say "a peer with the wrong key: ICV failures; the right key: accepted"
inner=$($PY -c "from scapy.all import IP, ICMP, raw
print(raw(IP(src='10.10.0.2', dst='10.10.0.1')/ICMP(id=7, seq=1)/b'wrong key test').hex())")
esp() { "$ESP_TOOL" encap --xform aes128gcm16 --spi 1001 --key "$1" --seq "$2" --count "$3" \
	--nh 4 --payload "$inner" | sed -n 's/^packet //p'; }
mapfile -t wrong < <(esp 00112233445566778899aabbccddeeff00112233 100000 5)
check "esp_tool built 5 packets" test ${#wrong[@]} -eq 5
f0=$(sa a 0x00001001 in auth_fail)
p0=$(sa a 0x00001001 in packets)
send_udp b 10.0.0.1 4500 "${wrong[@]}"
wait_for 5 "a counts 5 ICV failures" sa_is a 0x00001001 in auth_fail $((f0 + 5))
check "nothing accepted from the wrong key" sa_is a 0x00001001 in packets "$p0"
mapfile -t right < <(esp a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4 200000 1)
send_udp b 10.0.0.1 4500 "${right[@]}"
wait_for 5 "the same packet under the right key is accepted" \
	sa_is a 0x00001001 in packets $((p0 + 1))
check "no further ICV failure" sa_is a 0x00001001 in auth_fail $((f0 + 5))

say "stop removes routes and the TUN"
lab stop a
check_not "no route to b's selector after stop" sh -c \
	"nsenter --net=/proc/$(lab pid a)/ns/net ip route show | grep -q 10.10.0.2"
check_not "ipsec0 gone after stop" nsx a ip link show ipsec0
finish

#!/bin/bash
# mipsecd's `ipsec` role initiates (a, IKE engine, initiate = true) to
# strongSwan's charon with kernel-libipsec (b, responder); ECDSA P-256
# certificates from tests/lab/pki.sh. Short lifetimes on our side
# (child_rekey_time = 5, rekey_time = 9), so mipsecd rekeys both SA kinds
# itself while traffic flows:
#   - IKE SA and CHILD SA up, ping both ways v4 and v6, 1 MB TCP both ways;
#   - a 50/s ping for 13 s across at least two CHILD rekeys and one IKE
#     rekey started by us: no echo request lost, charon follows (new SPIs);
#   - SIGTERM to mipsecd: our DELETE removes charon's SAs;
#   - the whole run is captured on b's eth0 and tshark, given only the
#     key files mipsecd left (ikev2_decryption_table and esp_sa, which keep
#     the records of rekeyed and deleted SAs), decrypts IKE (IDi/IDr, the CREATE_CHILD_SA
#     exchanges and the DELETE) and every ESP datagram (ICV good); the
#     decrypted inner ICMP echo requests and TCP bytes are the ones sent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../lab/lib.sh"
source "$here/../../lab/strongswan.sh"
source "$here/gw_strongswan_lib.sh"
for t in tshark dumpcap; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

gw_topology "$LAB_STATE/topo.toml" "
    certificate = \"$pki/gw-a.crt\"; private_key = \"$pki/gw-a.key\";
    ca = [\"$pki/ca.crt\"]; crl = [\"$pki/ca.crl.pem\"];
    local_id = \"fqdn:gw-a.mipsec.test\";
    decryption_table = \"@STATE@/a.ikev2_decryption_table\";
    peers = ( {
      name = \"gw-b\"; remote = \"10.0.0.2\"; local = \"10.0.0.1\";
      remote_id = \"fqdn:gw-b.mipsec.test\"; auth = \"pubkey\";
      ike_proposals = [\"aes128gcm16-prfsha256-ecp256\"];
      esp_proposals = [\"aes128gcm16\"];
      mode = \"tunnel\"; local_ts = [\"10.10.0.1/32\", \"fd10::1/128\"];
      remote_ts = [\"10.10.0.2/32\", \"fd10::2/128\"];
      initiate = true; rekey_time = 9; child_rekey_time = 5; dpd = 0;
    } );"

say "up"
need "lab up" lab up "$LAB_STATE/topo.toml"
need "mipsecd in a stops until charon runs" lab stop a
need "a reaches b" ping_ok a 10.0.0.2
need "b's tunnel addresses" ss_b_addrs
ss_gw_conf "$LAB_STATE/ss-b" gw-b
need "charon starts in b" ss_start b "$LAB_STATE/ss-b"
nsenter --net="/proc/$(lab pid b)/ns/net" dumpcap -P -B 32 -i eth0 \
	-w "$LAB_STATE/link.pcap" 2> "$LAB_STATE/dumpcap.log" &
dcap=$!
wait_for 10 "dumpcap on b's eth0" grep -q "^Capturing on" "$LAB_STATE/dumpcap.log"
t0=$(now_ms)
need "mipsecd in a starts and initiates" lab start a
wait_for 10 "b: gw ESTABLISHED, net INSTALLED" ss_has_sa b gw net
echo "mipsecd start to charon's CHILD SA: $(( $(now_ms) - t0 )) ms"
wait_for 5 "a: one CHILD SA" rows_is a child_sa 1
check "charon authenticated gw-a" grep -q "remote-id=gw-a.mipsec.test" <(ss_sas b)

say "traffic"
check "a pings 10.10.0.2" nsx a ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.1 10.10.0.2
check "b pings 10.10.0.1" nsx b ping -n -q -c 3 -i 0.2 -W 2 -I 10.10.0.2 10.10.0.1
check "a pings fd10::2" nsx a ping -n -q -c 3 -i 0.2 -W 2 -I fd10::1 fd10::2
transfer a b 4 10.10.0.2 5011 10.10.0.1
transfer b a 4 10.10.0.1 5012 10.10.0.2

say "our rekeys under a ping (13 s)"
spis0=$(ss_child_spis b net)
ike0=$(ss_ike_spis b gw)
ping_run a 10.10.0.1 10.10.0.2 13 "$LAB_STATE/ping1"; p=$!
wait "$p" || true
tail -n 2 "$LAB_STATE/ping1" | sed 's/^/    /'
check "no echo request lost across our rekeys" test "$(lost "$LAB_STATE/ping1")" = 0
n_child=$(grep -c "IKE child up .*replaces=[1-9]" "$LAB_STATE/a.log" || true)
n_ike=$(grep -c "IKE SA up id=" "$LAB_STATE/a.log" || true)
echo "CHILD rekeys by mipsecd: $n_child, IKE SAs made: $n_ike"
check "mipsecd rekeyed the CHILD SA at least twice" test "$n_child" -ge 2
check "mipsecd rekeyed the IKE SA" test "$n_ike" -ge 2
check "charon's CHILD SPIs changed" test "$(ss_child_spis b net)" != "$spis0"
check "charon's IKE SPIs changed" test "$(ss_ike_spis b gw)" != "$ike0"
check "charon still has one IKE SA" test "$(ss_sas b | grep -c '^list-sa event {gw {')" = 1
wait_for 4 "a: one CHILD SA (old ones deleted)" rows_is a child_sa 1
check "b pings through" ping_ok b 10.10.0.1

say "DELETE from us"
need "mipsecd in a stops (SIGTERM)" lab stop a
no_sa() { ! ss_sas b | grep -q "gw {"; }
wait_for 5 "charon has no SA (our DELETE)" no_sa
check "charon logged our DELETE" grep -q "received DELETE for IKE_SA gw" "$LAB_STATE/ss-b/charon.log"

say "tshark decrypts the capture with our exported keys"
stable() { local s; s=$(stat -c %s "$1"); sleep 1.2; [ "$s" = "$(stat -c %s "$1")" ]; }
wait_for 10 "capture settled" stable "$LAB_STATE/link.pcap"
kill -INT "$dcap"; wait "$dcap" || true
ws=$LAB_STATE/ws/.config/wireshark
mkdir -p "$ws"
# The files as mipsecd left them: key logs keep the SAs rekeyed or deleted.
cp "$LAB_STATE/a.esp_sa" "$ws/esp_sa"
cp "$LAB_STATE/a.ikev2_decryption_table" "$ws/ikev2_decryption_table"
n_esp=$(grep -c '^"IPv' "$ws/esp_sa" || true)
n_ikek=$(wc -l < "$ws/ikev2_decryption_table")
echo "keys: $n_esp ESP SAs, $n_ikek IKE SAs"
check "the esp_sa file kept every CHILD SA's pair ($n_esp)" test "$n_esp" -ge $(( 2 * (n_child + 1) ))
check "the ikev2_decryption_table kept every IKE SA ($n_ikek)" test "$n_ikek" -ge "$n_ike"
tsh() { HOME=$LAB_STATE/ws XDG_CONFIG_HOME=$LAB_STATE/ws/.config tshark -n -r "$LAB_STATE/link.pcap" \
	-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "$@" 2>/dev/null; }
n_id=$(tsh -Y "isakmp.typepayload == 35 || isakmp.typepayload == 36" | wc -l)
n_cc=$(tsh -Y "isakmp.exchangetype == 36 && isakmp.typepayload == 33" | wc -l)
n_del=$(tsh -Y "isakmp.typepayload == 42" | wc -l)
echo "IKE decrypted: $n_id messages with IDi/IDr, $n_cc CREATE_CHILD_SA with SA, $n_del with DELETE"
check "tshark decrypted IKE_AUTH (IDi/IDr seen)" test "$n_id" -ge 2
check "tshark decrypted the CREATE_CHILD_SA exchanges" test "$n_cc" -ge 6
check "tshark decrypted a DELETE" test "$n_del" -ge 1
tsh -Y "esp" -T fields -E separator='|' -e esp.spi -e esp.icv_good -e ip.src -e ip.dst \
	-e icmp.type -e tcp.dstport -e tcp.len > "$LAB_STATE/esp.txt"
check "tshark saw ESP" test -s "$LAB_STATE/esp.txt"
$PY - "$LAB_STATE/esp.txt" "$LAB_STATE/ping1" <<'PY' || fail "decrypted ESP matches what was sent"
import sys, re
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
bad = [r for r in rows if r[1] not in ("1", "True")]
# ip.src/ip.dst list outer then inner addresses
echo = sum(1 for r in rows if "10.10.0.1" in r[2] and "10.10.0.2" in r[3] and r[4] == "8")
tcp = sum(int(r[6] or 0) for r in rows if r[5] == "5011")
sent = int(re.search(r"(\d+) packets transmitted", open(sys.argv[2]).read()).group(1))
print("ESP datagrams %d, ICV not good %d, inner echo requests a->b %d (ping sent %d + 3), TCP bytes to 5011 %d"
      % (len(rows), len(bad), echo, sent, tcp))
ok = not bad and echo >= sent + 3 and tcp >= 1000000
sys.exit(0 if ok else 1)
PY
[ "$LAB_FAILS" = 0 ] || { echo "--- mipsecd a"; grep -E "ipsec|ike" "$LAB_STATE"/a.log | tail -n 40; }
need "charon in b stops" ss_stop b
finish

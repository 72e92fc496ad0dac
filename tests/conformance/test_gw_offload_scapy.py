#!/usr/bin/python3
"""TUN offload of the ipsec gateway (src/ipsec/gw_offload.c, through
tests/tools/offload_tool) checked by scapy:

1. segmentation: scapy builds IPv4 and IPv6 TCP super-packets (with IP and
   TCP options, every flag) and their virtio_net_hdr; every segment the
   tool makes is parsed by scapy, whose recomputed IPv4 header and TCP
   checksums must equal ours, with the IP length, IPv4 ID (incremented per
   segment), sequence number, size (gso_size but for the last), flags
   (FIN/PSH on the last only, CWR on the first only) and the other header
   fields right, and the payloads concatenated are the original;
   malformed super-packets are refused with the right reason;
2. partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM): the TCP/UDP checksum
   we fill in equals scapy's;
3. coalescing: scapy-made TCP segments and UDP datagrams come out as one
   super-packet whose payload is the concatenation, with the vnet header
   (NEEDS_CSUM, gso_type, gso_size, hdr_len, csum_start/offset), IP and
   UDP lengths, IPv4 header checksum and pseudo-header sum scapy expects;
   a change of flow, size or flags ends it; cut again by the segmenter
   the super-packet gives the original segments back byte for byte.
"""
import os
import random
import struct
import subprocess
import sys

from scapy.all import IP, IPv6, TCP, UDP, Raw, raw
from scapy.layers.inet import IPOption_Router_Alert
from scapy.utils import checksum

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "offload_tool")
F_NEEDS_CSUM = 1
GSO_TCPV4, GSO_UDP_L4, GSO_TCPV6, GSO_ECN = 1, 5, 4, 0x80
FIN, PSH, CWR = 0x01, 0x08, 0x80
failures = []
rnd = random.Random(4242)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start,
                       csum_offset)


def unvnet(b):
    k = ("flags", "gso_type", "hdr_len", "gso_size", "csum_start", "csum_offset")
    return dict(zip(k, struct.unpack("<BBHHHH", b[:10])))


def tool(op, lines, *args):
    out = subprocess.run([TOOL, op, *args], input="".join(x.hex() + "\n" for x in lines),
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.splitlines()


def ip_of(b):
    return IPv6(b) if b[0] >> 4 == 6 else IP(b)


def l3(pkt):
    return pkt[IPv6] if IPv6 in pkt else pkt[IP]


def recomputed(b):
    """b parsed with every checksum and length left to scapy to compute."""
    p = ip_of(b)
    q = p.copy()
    if IP in q:
        del q[IP].chksum
        del q[IP].len
    else:
        del q[IPv6].plen
    for layer in (TCP, UDP):
        if layer in q:
            del q[layer].chksum
            if layer is UDP:
                del q[UDP].len
    return ip_of(raw(q))


def pseudo_sum(b, proto, l4len):
    """Folded pseudo-header sum, not inverted (what CHECKSUM_PARTIAL holds)."""
    if b[0] >> 4 == 6:
        ph = b[8:40] + struct.pack("!IxxxB", l4len, proto)
    else:
        ph = b[12:20] + struct.pack("!xBH", proto, l4len)
    return (~checksum(ph)) & 0xffff


# ---- 1. segmentation --------------------------------------------------------

def super_packet(v6, payload, flags="PA", seq=1000, ipopts=False, tcpopts=True, ecn=False):
    topts = [("NOP", None), ("NOP", None), ("Timestamp", (123456, 654321))] if tcpopts else []
    t = TCP(sport=40000, dport=5201, seq=seq, ack=0x11223344, flags=flags, window=501,
            options=topts)
    if v6:
        ip = IPv6(src="2001:db8:1::10", dst="2001:db8:2::20", tc=0x28, fl=0x12345, hlim=63)
    else:
        ip = IP(src="192.0.2.10", dst="198.51.100.20", id=0xfffd, flags="DF", tos=0x10,
                ttl=63, options=[IPOption_Router_Alert()] if ipopts else [])
    p = ip_of(raw(ip / t / Raw(payload)))
    b = bytearray(raw(p))
    iphl = 40 if v6 else (b[0] & 15) * 4
    hl = iphl + (b[iphl + 12] >> 4) * 4
    # As the kernel hands it over: the TCP checksum field holds the
    # pseudo-header sum (our code must not rely on it).
    struct.pack_into("!H", b, iphl + 16, pseudo_sum(bytes(b), 6, len(b) - iphl))
    return bytes(b), iphl, hl


def segment(v6, size, mss, name, **kw):
    payload = bytes(rnd.getrandbits(8) for _ in range(size))
    b, iphl, hl = super_packet(v6, payload, **kw)
    orig = ip_of(b)
    gt = (GSO_TCPV6 if v6 else GSO_TCPV4) | (GSO_ECN if kw.get("ecn") else 0)
    out = tool("segment", [vnet(F_NEEDS_CSUM, gt, hl, mss, iphl, 16) + b])
    n_exp = max(1, -(-size // mss))
    check(out and out[0] == "ok %d" % n_exp, "%s: %d segments (%s)" % (name, n_exp,
                                                                       out[:1]))
    segs = [bytes.fromhex(x.split()[1]) for x in out[1:] if x.startswith("seg ")]
    check(len(segs) == n_exp, "%s: as many segments printed" % name)
    got = b""
    oflags = int(orig[TCP].flags)
    for i, s in enumerate(segs):
        p, r = ip_of(s), recomputed(s)
        last = i == len(segs) - 1
        pl = bytes(p[TCP].payload)
        what = "%s seg %d" % (name, i)
        if v6:
            check(p[IPv6].plen == len(s) - 40 == r[IPv6].plen, what + ": IPv6 payload length")
            check((p.tc, p.fl, p.hlim, p.src, p.dst) ==
                  (orig.tc, orig.fl, orig.hlim, orig.src, orig.dst), what + ": IPv6 fields")
        else:
            check(p[IP].len == len(s) and p[IP].chksum == r[IP].chksum,
                  what + ": IPv4 length and header checksum %#x" % p[IP].chksum)
            check(p[IP].id == (orig.id + i) & 0xffff, what + ": IPv4 ID %d" % p[IP].id)
            check((p.tos, p.flags, p.ttl, p.src, p.dst, p.options) ==
                  (orig.tos, orig.flags, orig.ttl, orig.src, orig.dst, orig.options),
                  what + ": IPv4 fields and options")
        check(p[TCP].chksum == r[TCP].chksum, what + ": TCP checksum %#x" % p[TCP].chksum)
        check(p[TCP].seq == (orig[TCP].seq + len(got)) & 0xffffffff, what + ": sequence")
        check(len(pl) == mss or (last and 0 < len(pl) <= mss) or size == 0,
              what + ": size %d" % len(pl))
        want = oflags & ~((0 if last else FIN | PSH) | (CWR if i else 0))
        check(int(p[TCP].flags) == want, what + ": flags %s" % p[TCP].flags)
        check((p.sport, p.dport, p.ack, p.window, p[TCP].options) ==
              (orig.sport, orig.dport, orig.ack, orig.window, orig[TCP].options),
              what + ": TCP fields and options")
        got += pl
    check(got == payload, "%s: payloads concatenated are the original" % name)
    return segs


def segmentation():
    segment(False, 4 * 1448, 1448, "v4 exact multiple", flags="FPAC")
    segment(False, 3 * 1400 + 1, 1400, "v4 one-byte tail", flags="PA", seq=0xffffff00)
    segment(False, 9000, 1000, "v4 with IP options", ipopts=True, flags="A", tcpopts=False)
    segment(False, 500, 1448, "v4 single segment", flags="FPAC")
    segment(False, 3000, 1000, "v4 ECN", flags="AC", ecn=True)
    segment(True, 60000, 1208, "v6 60000 bytes", flags="PAC")
    segment(True, 2 * 1208 + 1, 1208, "v6 one-byte tail", flags="FA", tcpopts=False)


def malformed():
    b, iphl, hl = super_packet(False, bytes(3000))
    b6, iphl6, hl6 = super_packet(True, bytes(3000))
    udp = raw(IP(src="192.0.2.1", dst="192.0.2.2") / UDP() / Raw(bytes(3000)))
    cases = [
        ("gso_size 0", vnet(1, GSO_TCPV4, hl, 0, iphl, 16) + b, "bad_gso"),
        ("TCPV6 type on IPv4", vnet(1, GSO_TCPV6, hl, 1000, iphl, 16) + b, "bad_gso"),
        ("UDP_L4 type", vnet(1, GSO_UDP_L4, hl, 1000, iphl, 16) + udp, "bad_gso"),
        ("UDP with TCPV4 type", vnet(1, GSO_TCPV4, 28, 1000, 20, 6) + udp, "not_tcp"),
        ("csum_start beyond", vnet(1, GSO_TCPV4, hl, 1000, len(b), 16) + b, "bad_csum"),
        ("truncated TCP header", vnet(1, GSO_TCPV4, hl, 1000, iphl, 16) + b[:iphl + 10],
         "truncated"),
        ("truncated TCP options", vnet(1, GSO_TCPV4, hl, 1000, iphl, 16) + b[:hl - 1],
         "truncated"),
        ("truncated IPv6 header", vnet(1, GSO_TCPV6, hl6, 1000, 40, 16) + b6[:39],
         "truncated"),
        ("IHL 4", vnet(1, GSO_TCPV4, hl, 1000, iphl, 16) + bytes([0x44]) + b[1:], "bad_hdr"),
        ("TCP data offset 4", vnet(1, GSO_TCPV4, hl, 1000, iphl, 16) + b[:iphl + 12] +
         bytes([0x40]) + b[iphl + 13:], "bad_hdr"),
        ("version 7", vnet(1, GSO_TCPV4, hl, 1000, iphl, 16) + bytes([0x75]) + b[1:],
         "bad_hdr"),
    ]
    out = tool("segment", [c[1] for c in cases])
    for (name, _, want), line in zip(cases, out):
        check(line.split()[:2] == ["error", want], "malformed %s: %s" % (name, line))
    check(len(out) == len(cases), "malformed: one answer each")
    out = tool("segment", [vnet(1, GSO_TCPV4, hl, 1448, iphl, 16) + b], "--room",
               str(hl + 1447))
    check(out[0].split()[:2] == ["error", "too_big"], "segment larger than the room refused")


# ---- 2. partial checksums ----------------------------------------------------

def partial_checksums():
    pkts = [
        ("v4 TCP", IP(src="192.0.2.1", dst="192.0.2.2") / TCP(flags="PA", seq=9) /
         Raw(bytes(range(200)) * 3), 16),
        ("v4 UDP", IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1, dport=2) /
         Raw(b"x" * 333), 6),
        ("v6 TCP", IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(flags="A") /
         Raw(b"y" * 1001), 16),
        ("v6 UDP", IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=3, dport=4) /
         Raw(b"z" * 77), 6),
    ]
    for name, p, off in pkts:
        good = raw(p)
        iphl = 40 if IPv6 in p else 20
        b = bytearray(good)
        struct.pack_into("!H", b, iphl + off, pseudo_sum(good, 6 if TCP in p else 17,
                                                          len(good) - iphl))
        out = tool("csum", [vnet(F_NEEDS_CSUM, 0, 0, 0, iphl, off) + bytes(b)])
        check(out == ["ok " + good.hex()], "partial checksum %s equals scapy's" % name)
    out = tool("csum", [vnet(F_NEEDS_CSUM, 0, 0, 0, 20, 1000) + raw(pkts[0][1])])
    check(out[0].split()[:2] == ["error", "bad_csum"], "partial checksum beyond the packet refused")


# ---- 3. coalescing -----------------------------------------------------------

def tcp_segments(v6, sizes, seq=77, last_psh=True, sport=40000, id0=300):
    segs, data, off = [], b"", 0
    for i, n in enumerate(sizes):
        pl = bytes(rnd.getrandbits(8) for _ in range(n))
        fl = "PA" if last_psh and i == len(sizes) - 1 else "A"
        t = TCP(sport=sport, dport=5201, seq=(seq + off) & 0xffffffff, ack=5, flags=fl,
                window=1000, options=[("NOP", None), ("NOP", None),
                                      ("Timestamp", (7, 8))])
        ip = IPv6(src="2001:db8:2::20", dst="2001:db8:1::10", hlim=60) if v6 else \
            IP(src="198.51.100.20", dst="192.0.2.10", id=id0 + i, flags="DF", ttl=60)
        segs.append(raw(ip / t / Raw(pl)))
        data += pl
        off += n
    return segs, data


def writes(out):
    return [(int(x.split()[1]), bytes.fromhex(x.split()[2])) for x in out
            if x.startswith("write ")]


def check_super(name, segs_n, b, v6, udp, mss, data):
    vh = unvnet(b)
    p = b[10:]
    iphl = 40 if v6 else 20
    hl = iphl + (8 if udp else (p[iphl + 12] >> 4) * 4)
    gt = GSO_UDP_L4 if udp else GSO_TCPV6 if v6 else GSO_TCPV4
    check(vh == dict(flags=F_NEEDS_CSUM, gso_type=gt, hdr_len=hl, gso_size=mss,
                     csum_start=iphl, csum_offset=6 if udp else 16),
          "%s: vnet header %s" % (name, vh))
    q = ip_of(p)
    r = recomputed(p)
    if v6:
        check(q[IPv6].plen == len(p) - 40, "%s: IPv6 payload length" % name)
    else:
        check(q[IP].len == len(p) and q[IP].chksum == r[IP].chksum,
              "%s: IPv4 length and header checksum" % name)
    l4 = q[UDP] if udp else q[TCP]
    if udp:
        check(l4.len == len(p) - iphl, "%s: UDP length of the whole" % name)
    check(l4.chksum == pseudo_sum(p, 17 if udp else 6, len(p) - iphl),
          "%s: pseudo-header sum in the checksum field" % name)
    check(bytes(l4.payload) == data, "%s: payload is the concatenation (%d bytes)" %
          (name, len(data)))


def coalescing():
    for v6 in (False, True):
        fam = "v6" if v6 else "v4"
        segs, data = tcp_segments(v6, [1400] * 6 + [321])
        w = writes(tool("coalesce", segs))
        check(len(w) == 1 and w[0][0] == 7, "%s TCP: one super-packet of 7 segments" % fam)
        check_super(fam + " TCP", 7, w[0][1], v6, False, 1400, data)
        p = ip_of(w[0][1][10:])
        check(str(p[TCP].flags) == "PA", "%s TCP: PSH of the last segment kept" % fam)
        # cut again, the segments come back byte for byte
        out = tool("segment", [w[0][1]])
        back = [bytes.fromhex(x.split()[1]) for x in out if x.startswith("seg ")]
        check(back == segs, "%s TCP: segmenting the super-packet gives the segments back" %
              fam)

        # flow, size and flag changes end super-packets
        a, da = tcp_segments(v6, [1000] * 3, last_psh=False)
        b2, _ = tcp_segments(v6, [1000] * 2, sport=40001, last_psh=False)
        c, _ = tcp_segments(v6, [1000, 1200], seq=77 + 3000, last_psh=False)
        w = writes(tool("coalesce", a + b2 + c + [b""]))
        check([n for n, _ in w] == [3, 2, 1, 1],
              "%s TCP: flow change, then a larger segment, end super-packets %s" %
              (fam, [n for n, _ in w]))
        check_super(fam + " TCP first flow", 3, w[0][1], v6, False, 1000, da)
        # a FIN goes alone, between the two halves of a flow
        s, d = tcp_segments(v6, [800] * 4, last_psh=False)
        f = ip_of(s[2])
        f[TCP].flags = "FA"
        del f[TCP].chksum
        s[2] = raw(f)
        w = writes(tool("coalesce", s))
        check([n for n, _ in w] == [2, 1, 1] and unvnet(w[1][1])["gso_type"] == 0 and
              w[1][1][10:] == s[2],
              "%s TCP: a FIN segment ends the super-packet and goes alone %s" %
              (fam, [n for n, _ in w]))
        # out of order
        s, _ = tcp_segments(v6, [800] * 3, last_psh=False)
        w = writes(tool("coalesce", [s[0], s[2], s[1]]))
        check([n for n, _ in w] == [1, 1, 1], "%s TCP: out-of-order segments not joined" % fam)
        # without TCP coalescing: written as they came
        w = writes(tool("coalesce", s, "--no-tcp"))
        check([x for _, x in w] == [bytes(10) + x for x in s],
              "%s TCP: --no-tcp writes segments singly with a zero vnet header" % fam)

        # UDP: equal-size datagrams, a shorter one ends it
        dg, data = [], b""
        for i, n in enumerate([1300] * 4 + [99]):
            pl = bytes(rnd.getrandbits(8) for _ in range(n))
            ip = IPv6(src="2001:db8:2::20", dst="2001:db8:1::10") if v6 else \
                IP(src="198.51.100.20", dst="192.0.2.10", flags="DF")
            dg.append(raw(ip / UDP(sport=5000, dport=6000) / Raw(pl)))
            data += pl
        w = writes(tool("coalesce", dg))
        check(len(w) == 1 and w[0][0] == 5, "%s UDP: one super-packet of 5 datagrams" % fam)
        check_super(fam + " UDP", 5, w[0][1], v6, True, 1300, data)
        w = writes(tool("coalesce", dg, "--no-udp"))
        check(len(w) == 5, "%s UDP: --no-udp writes datagrams singly" % fam)


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"offload_tool not built at {TOOL}")
        return 77
    segmentation()
    malformed()
    partial_checksums()
    coalescing()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Route optimisation of our mobile node with a correspondent played by scapy.

Same private namespace and veth pair as test_mn_scapy.py (whose harness this
reuses): scapy is access router, home agent and correspondent node CN.
The MN is configured with `route_optimisation = true` and CN as a
correspondent, so right after the home registration:

  1. HoTI (src HoA, dst CN) arrives through the reverse tunnel to the HA,
     CoTI (src CoA) in UDP straight to CN:4191;
  2. scapy answers HoT (through the "HA", tunnelled to the CoA) and CoT
     with keygen tokens computed here with hmac/hashlib (RFC 6275 §5.2.5);
     a HoT with a cookie the MN did not send is dropped and counted;
  3. the BU to CN carries the HAO, the A flag (not H), the nonce indices
     we gave and a Binding Authorization Data option whose authenticator
     verifies here with Kbm = SHA1(home token | care-of token);
  4. a BA with a valid BAD binds the entry ("show bul": kind cn, bound); a
     BA with a wrong authenticator before it is dropped and counted;
  5. ping from the host: the echo requests leave in UDP straight to CN
     (not via the HA) as IPv6(src=CoA, dst=CN)/DestOpt(HAO=HoA)/ICMPv6
     with a checksum valid over the HoA pseudo-header; CN's replies with a
     RH2 naming the HoA reach ping.
"""
import hashlib
import hmac
import os
import shutil
import struct
import subprocess
import sys
import unittest

NS_MARK = "MIPSEC_MN_SCAPY_NS"     # the same as test_mn_scapy.py's, imported below
if not os.environ.get(NS_MARK):
    if not shutil.which("unshare"):
        print("unshare missing: skipped")
        sys.exit(77)
    env = dict(os.environ, **{NS_MARK: "1"})
    rc = subprocess.call(["unshare", "-r", "-n", sys.executable, os.path.abspath(__file__)]
                         + sys.argv[1:], env=env)
    sys.exit(rc)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mn_scapy as base  # noqa: E402
from scapy.all import Ether, Raw, sendp  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, HAO,  # noqa: E402
                                ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_RS, in6_chksum)

HOA, HA, CN = base.HOA, base.HA, "2001:db8:7::c"


def a16(a):
    return __import__("ipaddress").IPv6Address(a).packed


def token(kcn, addr, nonce, kind):
    return hmac.new(kcn, a16(addr) + nonce + bytes([kind]), hashlib.sha1).digest()[:8]


def mh_csum(src, dst, mh):
    return in6_chksum(135, IPv6(src=src, dst=dst), bytes(mh[:4]) + b"\0\0" + bytes(mh[6:]))


def auth(kbm, coa, cn, mh, off):
    data = a16(coa) + a16(cn) + bytes(mh[:4]) + b"\0\0" + bytes(mh[6:off]) + bytes(mh[off + 12:])
    return hmac.new(kbm, data, hashlib.sha1).digest()[:12]


def mh_of(inner):
    """Raw Mobility Header bytes after the IPv6 header and any DestOpt."""
    raw = bytes(inner)
    nh, off = raw[6], 40
    while nh != 135:
        if nh not in (0, 43, 60):
            return None
        nh, off = raw[off], off + (raw[off + 1] + 1) * 8
    return raw[off:]


def is_mh(p, mhtype, dst):
    if UDP not in p or p[UDP].dport != 4191 or p[IPv6].dst != dst:
        return False
    mh = mh_of(base.inner_of(p))
    return mh is not None and mh[2] == mhtype


class RouteOptimisation(base.MnCase):
    MN_EXTRA = (f'home_agent = "{HA}"; route_optimisation = true; '
                f'correspondents = [ "{CN}" ];')

    def send_from_cn(self, inner):
        sendp(Ether(src=base.ROUTER_MAC, dst=self.mn_mac) / IPv6(src=CN, dst=self.coa) /
              UDP(sport=4191, dport=4191) / Raw(bytes(inner)), iface="haA")

    def ba(self, status, seq, units, kbm, corrupt=False):
        # 12 octets + PadN(4) so that the BAD sits at 8n+2, then BAD.
        mh = bytearray(bytes([59, 3, 6, 0, 0, 0, status, 0]) + struct.pack("!HH", seq, units)
                       + bytes([1, 4, 0, 0, 0, 0, 5, 12]) + bytes(12))
        mh[20:32] = auth(kbm, self.coa, CN, mh, 20)
        if corrupt:
            mh[31] ^= 1
        mh[4:6] = mh_csum(CN, HOA, mh).to_bytes(2, "big")
        return (IPv6(src=CN, dst=self.coa, nh=43) /
                IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) / Raw(bytes(mh)))

    def test_return_routability_and_ro_data(self):
        peer = self.peer
        peer.take(lambda p: ICMPv6ND_RS in p, 15, "RS")
        sendp(base.ra("2001:db8:1::"), iface="haA")
        self.register()
        self.bound_entry()

        # 1. HoTI through the tunnel, CoTI direct.
        p = peer.take(lambda q: is_mh(q, 1, HA), 10, "HoTI tunnelled to the HA")
        self.assertEqual(p[IPv6].src, self.coa)
        inner = base.inner_of(p)
        self.assertEqual((inner.src, inner.dst), (HOA, CN))
        hoti = mh_of(inner)
        self.assertEqual(hoti[4:6], mh_csum(HOA, CN, hoti).to_bytes(2, "big"))
        p = peer.take(lambda q: is_mh(q, 2, CN), 10, "CoTI to the CN")
        self.assertEqual(p[IPv6].src, self.coa)
        inner = base.inner_of(p)
        self.assertEqual((inner.src, inner.dst), (self.coa, CN))
        coti = mh_of(inner)
        self.assertEqual(coti[4:6], mh_csum(self.coa, CN, coti).to_bytes(2, "big"))
        self.assertEqual(len(hoti), 16)
        self.assertEqual(len(coti), 16)

        # 2. HoT via the HA (tunnelled to the CoA), CoT direct.
        kcn, hn, cn_ = os.urandom(20), os.urandom(8), os.urandom(8)
        hi, ci = 0x1234, 0x2345
        htok, ctok = token(kcn, HOA, hn, 0), token(kcn, self.coa, cn_, 1)
        # A HoT with a cookie we did not send: dropped and counted.
        bad0 = self.ctl("stats").get("mipsec_mn_rx_dropped_total", 0)
        mh = bytearray(bytes([59, 2, 3, 0, 0, 0]) + struct.pack("!H", hi) +
                       bytes(b ^ 0xff for b in hoti[8:16]) + htok)
        mh[4:6] = mh_csum(CN, HOA, mh).to_bytes(2, "big")
        self.send_udp(IPv6(src=CN, dst=HOA, nh=135) / Raw(bytes(mh)))
        base.wait_for(lambda: self.ctl("stats").get("mipsec_mn_rx_dropped_total", 0) > bad0,
                      5, "HoT with a wrong cookie dropped")
        self.assertEqual(self.ctl("stats").get("mipsec_mn_hot_received_total"), 0)
        for mtype, idx, cookie, tok, dst in ((3, hi, hoti[8:16], htok, HOA),
                                             (4, ci, coti[8:16], ctok, self.coa)):
            mh = bytearray(bytes([59, 2, mtype, 0, 0, 0]) + struct.pack("!H", idx) + cookie + tok)
            mh[4:6] = mh_csum(CN, dst, mh).to_bytes(2, "big")
            if mtype == 3:
                self.send_udp(IPv6(src=CN, dst=HOA, nh=135) / Raw(bytes(mh)))
            else:
                self.send_from_cn(IPv6(src=CN, dst=self.coa, nh=135) / Raw(bytes(mh)))

        # 3. The BU to CN, verified here.
        p = peer.take(lambda q: is_mh(q, 5, CN), 10, "BU to the CN")
        self.assertEqual(p[IPv6].src, self.coa)
        inner = base.inner_of(p)
        self.assertEqual((inner.src, inner.dst), (self.coa, CN))
        haos = [o for o in inner[IPv6ExtHdrDestOpt].options if isinstance(o, HAO)]
        self.assertEqual([h.hoa for h in haos], [HOA])
        bu = mh_of(inner)
        self.assertEqual(bu[4:6], mh_csum(HOA, CN, bu).to_bytes(2, "big"))
        seq, flags, units = struct.unpack("!HHH", bu[6:12])
        self.assertTrue(flags & 0x8000, "A flag")
        self.assertFalse(flags & 0x4000, "no H flag to a CN")
        self.assertEqual(units, 105)            # min(600, 420) s
        i = bu.find(bytes([4, 4]) + struct.pack("!HH", hi, ci), 12)
        self.assertGreater(i, 0, "Nonce Indices option with our indices")
        self.assertEqual((bu[-14], bu[-13]), (5, 12), "BAD is the last option")
        kbm = hashlib.sha1(htok + ctok).digest()
        self.assertEqual(bu[-12:], auth(kbm, self.coa, CN, bu, len(bu) - 12),
                         "BU authenticator verifies (hmac)")

        # 4. A BA with a wrong authenticator is dropped; the right one binds.
        self.send_from_cn(self.ba(0, seq, 105, kbm, corrupt=True))
        base.wait_for(lambda: self.ctl("stats").get("mipsec_mn_cn_ba_bad_total") == 1, 5,
                      "bad BA counted")
        self.send_from_cn(self.ba(0, seq, 105, kbm))
        base.wait_for(lambda: any(e["kind"] == "cn" and e["peer"] == CN and
                                  e["state"] == "bound" for e in self.ctl("show", "bul")),
                      5, "CN entry bound")

        # 5. Data: straight to CN with a HAO; replies with RH2 reach ping.
        ping = subprocess.Popen(["ping", "-6", "-n", "-c", "3", "-i", "0.3", "-W", "3", CN],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(3):
            p = peer.take(lambda q: UDP in q and q[UDP].dport == 4191 and
                          ICMPv6EchoRequest in base.inner_of(q), 10, "echo request")
            self.assertEqual((p[IPv6].src, p[IPv6].dst), (self.coa, CN), "not via the HA")
            inner = base.inner_of(p)
            self.assertEqual((inner.src, inner.dst), (self.coa, CN))
            haos = [o for o in inner[IPv6ExtHdrDestOpt].options if isinstance(o, HAO)]
            self.assertEqual([h.hoa for h in haos], [HOA])
            req = inner[ICMPv6EchoRequest]
            icmp = bytearray(bytes(req))
            got = int.from_bytes(icmp[2:4], "big")
            icmp[2:4] = b"\0\0"
            self.assertEqual(got, in6_chksum(58, IPv6(src=HOA, dst=CN), bytes(icmp)),
                             "checksum over the HoA pseudo-header")
            rep = bytearray(bytes(ICMPv6EchoReply(id=req.id, seq=req.seq, data=req.data,
                                                  cksum=0)))
            rep[2:4] = in6_chksum(58, IPv6(src=CN, dst=HOA), bytes(rep)).to_bytes(2, "big")
            self.send_from_cn(IPv6(src=CN, dst=self.coa, nh=43) /
                              IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=58) /
                              Raw(bytes(rep)))
        out, _ = ping.communicate(timeout=15)
        self.assertEqual(ping.returncode, 0, out)
        st = self.ctl("stats")
        self.assertGreaterEqual(st["mipsec_mn_ro_sent_total"], 3)
        self.assertGreaterEqual(st["mipsec_mn_ro_received_total"], 3)
        self.assertEqual(st["mipsec_mn_hoti_sent_total"], 1)
        self.assertEqual(st["mipsec_mn_coti_sent_total"], 1)

        # 6. BRR from the CN (§11.7.4): return routability again, both tests.
        brr = bytearray(bytes([59, 0, 0, 0, 0, 0, 0, 0]))
        brr[4:6] = mh_csum(CN, HOA, brr).to_bytes(2, "big")
        self.send_from_cn(IPv6(src=CN, dst=self.coa, nh=43) /
                          IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) /
                          Raw(bytes(brr)))
        hoti = mh_of(base.inner_of(peer.take(lambda q: is_mh(q, 1, HA), 5, "HoTI after BRR")))
        coti = mh_of(base.inner_of(peer.take(lambda q: is_mh(q, 2, CN), 5, "CoTI after BRR")))
        hn, cn_ = os.urandom(8), os.urandom(8)
        htok, ctok = token(kcn, HOA, hn, 0), token(kcn, self.coa, cn_, 1)
        self.send_hot(hi + 1, hoti[8:16], htok)
        self.send_cot(ci + 1, coti[8:16], ctok)
        bu = mh_of(base.inner_of(peer.take(lambda q: is_mh(q, 5, CN), 5, "BU after BRR")))
        kbm = hashlib.sha1(htok + ctok).digest()
        self.assertEqual(bu[-12:], auth(kbm, self.coa, CN, bu, len(bu) - 12))
        # 7. Status 137 (expired care-of nonce, no BAD): CoTI again, not HoTI;
        # the BU then reuses the home token.
        seq = struct.unpack("!H", bu[6:8])[0]
        mh = bytearray(bytes([59, 1, 6, 0, 0, 0, 137, 0]) + struct.pack("!HH", seq, 0)
                       + bytes([1, 2, 0, 0]))
        mh[4:6] = mh_csum(CN, HOA, mh).to_bytes(2, "big")
        self.send_from_cn(IPv6(src=CN, dst=self.coa, nh=43) /
                          IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) /
                          Raw(bytes(mh)))
        coti = mh_of(base.inner_of(peer.take(lambda q: is_mh(q, 2, CN), 5, "CoTI after 137")))
        cn_ = os.urandom(8)
        ctok = token(kcn, self.coa, cn_, 1)
        self.send_cot(ci + 2, coti[8:16], ctok)
        bu = mh_of(base.inner_of(peer.take(lambda q: is_mh(q, 5, CN), 5, "BU after 137")))
        self.assertGreater(bu.find(bytes([4, 4]) + struct.pack("!HH", hi + 1, ci + 2), 12), 0)
        kbm = hashlib.sha1(htok + ctok).digest()
        self.assertEqual(bu[-12:], auth(kbm, self.coa, CN, bu, len(bu) - 12))
        self.assertEqual(self.ctl("stats")["mipsec_mn_hoti_sent_total"], 2, "no HoTI after 137")
        self.send_from_cn(self.ba(0, struct.unpack("!H", bu[6:8])[0], 105, kbm))
        base.wait_for(lambda: any(e["kind"] == "cn" and e["state"] == "bound"
                                  for e in self.ctl("show", "bul")), 5, "bound again")

    def send_hot(self, idx, cookie, tok):
        mh = bytearray(bytes([59, 2, 3, 0, 0, 0]) + struct.pack("!H", idx) + cookie + tok)
        mh[4:6] = mh_csum(CN, HOA, mh).to_bytes(2, "big")
        self.send_udp(IPv6(src=CN, dst=HOA, nh=135) / Raw(bytes(mh)))

    def send_cot(self, idx, cookie, tok):
        mh = bytearray(bytes([59, 2, 4, 0, 0, 0]) + struct.pack("!H", idx) + cookie + tok)
        mh[4:6] = mh_csum(CN, self.coa, mh).to_bytes(2, "big")
        self.send_from_cn(IPv6(src=CN, dst=self.coa, nh=135) / Raw(bytes(mh)))


if __name__ == "__main__":
    base.setup_links()
    unittest.main()

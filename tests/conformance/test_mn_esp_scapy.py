#!/usr/bin/python3
"""Our mobile node with RFC 4877 IPsec against a home agent played by scapy
with scapy's own ESP (SecurityAssociation, python3-cryptography).

Same private namespace and veth pair as test_mn_scapy.py (whose harness
this reuses); the MN has an `ipsec` block (AES-GCM-16, manual keys):

  1. the BU leaves as IPv6(CoA -> HA) / DestOpt(HAO = HoA) / ESP with the
     transport SPI; scapy decrypts it to a BU (A, H) whose checksum over
     the HoA pseudo-header verifies;
  2. a BA without ESP is dropped and counted (mipsec_mn_ba_unprotected_total),
     the entry stays unbound; the BA that scapy puts in the transport SA
     (IPv6 / RH2 / ESP / MH) binds it; the same ESP BA again is refused by
     the anti-replay window;
  3. host traffic: ping's echo request arrives as IPv6(CoA -> HA) / ESP
     tunnel (no IPv6-in-IPv6 inside), scapy decrypts it to HoA -> CN; the
     replies scapy sends in the tunnel SA reach ping, a plain tunnelled
     packet is dropped and counted.
"""
import os
import shutil
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
try:
    from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402
    import cryptography  # noqa: F401,E402
except ImportError as e:
    print("SKIP: scapy with python3-cryptography needed (%s)" % e)
    sys.exit(77)
from scapy.all import raw  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, HAO,  # noqa: E402
                                ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_RS,
                                MIP6MH_BA, MIP6MH_BU, in6_chksum)

HOA, HA, CN = base.HOA, base.HA, "2001:db8:7::c"
# As the HA names them: in = MN -> HA.
MH_IN, MH_OUT, TUN_IN, TUN_OUT = 0x1001, 0x1002, 0x2001, 0x2002
K = {s: bytes((s * 7 + i) & 0xff for i in range(20)) for s in (MH_IN, MH_OUT, TUN_IN, TUN_OUT)}


def gcm(spi, tunnel=None):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=K[spi],
                               tunnel_header=tunnel)


def counter(case, name):
    return (case.ctl("stats") or {}).get(name, 0)


class MnIpsec(base.MnCase):
    MN_EXTRA = (f'home_agent = "{HA}"; ipsec = {{ xform = "aes128gcm16"; '
                f'mh_spi_in = {MH_OUT}; mh_spi_out = {MH_IN}; '
                f'tun_spi_in = {TUN_OUT}; tun_spi_out = {TUN_IN}; '
                f'mh_key_in = "{K[MH_OUT].hex()}"; mh_key_out = "{K[MH_IN].hex()}"; '
                f'tun_key_in = "{K[TUN_OUT].hex()}"; tun_key_out = "{K[TUN_IN].hex()}"; }};')

    def protected_bu(self):
        def ok(q):
            if UDP not in q or q[UDP].dport != 4191 or q[IPv6].src != self.coa:
                return False
            inner = base.inner_of(q)
            return inner.dst == HA and ESP in inner and inner[ESP].spi == MH_IN
        return base.inner_of(self.peer.take(ok, 10, "ESP-protected BU from the CoA"))

    def test_protected_registration_and_tunnel(self):
        peer = self.peer
        peer.take(lambda p: ICMPv6ND_RS in p, 15, "RS")
        from scapy.all import sendp
        sendp(base.ra("2001:db8:1::"), iface="haA")

        # 1. The BU in the transport SA.
        inner = self.protected_bu()
        self.assertEqual((inner.src, inner.dst), (self.coa, HA))
        dopt = inner[IPv6ExtHdrDestOpt]
        self.assertEqual([o.hoa for o in dopt.options if isinstance(o, HAO)], [HOA])
        self.assertEqual(dopt.nh, 50, "ESP right after the HAO (RFC 4877 §4.1)")
        self.assertNotIn(MIP6MH_BU, inner, "no cleartext BU")
        mh_in = gcm(MH_IN)
        bu = mh_in.decrypt(IPv6(src=self.coa, dst=HA) / inner[ESP]).payload
        self.assertIsInstance(bu, MIP6MH_BU)
        self.assertTrue(bu.flags.A and bu.flags.H)
        b = bytearray(raw(bu))
        got = int.from_bytes(b[4:6], "big")
        b[4:6] = b"\0\0"
        self.assertEqual(got, in6_chksum(135, IPv6(src=HOA, dst=HA), bytes(b)),
                         "BU checksum over the HoA pseudo-header")

        # 2. A plain BA is refused; the protected one binds; its replay is refused.
        unp = counter(self, "mipsec_mn_ba_unprotected_total")
        self.send_ba(0, bu.seq, 150)
        base.wait_for(lambda: counter(self, "mipsec_mn_ba_unprotected_total") == unp + 1, 5,
                      "plain BA counted as unprotected")
        self.assertFalse([e for e in self.ctl("show", "bul") if e.get("state") == "bound"],
                         "a plain BA binds nothing")
        ba = gcm(MH_OUT).encrypt(self.ba_inner(0, bu.seq, 150, self.coa))
        self.assertEqual(ba[IPv6ExtHdrRouting].nh, 50, "ESP after the RH2 (RFC 4877 §4.2)")
        self.send_udp(ba)
        self.bound_entry()
        rep0 = counter(self, "mipsec_esp_replay_total")
        self.send_udp(ba)
        base.wait_for(lambda: counter(self, "mipsec_esp_replay_total") == rep0 + 1, 5,
                      "replayed BA refused by the anti-replay window")
        sas = self.ctl("show", "mip6_sa")
        self.assertEqual(sas[0]["local"], self.coa)
        self.assertEqual(sas[0]["peer"], HA)

        # 3. Host traffic in the tunnel SA, both ways.
        tun_in = gcm(TUN_IN, IPv6(src=self.coa, dst=HA))   # tunnel mode
        tun_out = gcm(TUN_OUT, IPv6(src=HA, dst=self.coa))
        ping = subprocess.Popen(["ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "3", CN],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2):
            p = peer.take(lambda q: UDP in q and q[UDP].dport == 4191 and
                          ESP in base.inner_of(q) and base.inner_of(q)[ESP].spi == TUN_IN,
                          10, "echo request in the tunnel SA")
            outer = base.inner_of(p)
            self.assertEqual((outer.src, outer.dst, outer.nh), (self.coa, HA, 50))
            req = IPv6(raw(tun_in.decrypt(outer)))
            self.assertEqual((req.src, req.dst), (HOA, CN))
            self.assertIn(ICMPv6EchoRequest, req, "the host's packet, no IPv6-in-IPv6")
            e = req[ICMPv6EchoRequest]
            rep = IPv6(src=CN, dst=HOA) / ICMPv6EchoReply(id=e.id, seq=e.seq, data=e.data)
            self.send_udp(tun_out.encrypt(IPv6(raw(rep))))
        out, _ = ping.communicate(timeout=15)
        self.assertEqual(ping.returncode, 0, out)
        unp = counter(self, "mipsec_mn_tunnel_unprotected_total")
        self.send_udp(IPv6(src=CN, dst=HOA) / ICMPv6EchoReply(id=1, seq=1))
        base.wait_for(lambda: counter(self, "mipsec_mn_tunnel_unprotected_total") == unp + 1, 5,
                      "plain tunnelled packet counted")


if __name__ == "__main__":
    base.setup_links()
    unittest.main()

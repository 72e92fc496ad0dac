#!/usr/bin/python3
"""Neighbor Discovery codecs against scapy, an implementation we did not write.

Messages built by our codec (through tests/tools/nd_oracle) are dissected by
scapy field by field, and messages scapy builds are parsed by ours, including
the ICMPv6 checksum scapy computes over the IPv6 pseudo-header.
"""
import json
import os
import random
import subprocess
import sys
import unittest

from scapy.layers.inet6 import (IPv6, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6ND_NS, ICMPv6ND_NA,
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU, ICMPv6NDOptSrcLLAddr,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptAdvInterval,
                                ICMPv6NDOptHAInfo, ICMPv6NDOptMAP, in6_chksum)

BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
ORACLE = os.path.join(BUILD, "tests", "nd_oracle")
SRC, DST = "fe80::211:22ff:fe33:4455", "ff02::1"


def oracle_build(kind, *args):
    out = subprocess.run([ORACLE, "build-" + kind, "src=" + SRC, "dst=" + DST, *args],
                         check=True, capture_output=True, text=True).stdout.strip()
    return bytes.fromhex(out)


def oracle_parse(raw, src=SRC, dst=DST):
    out = subprocess.run([ORACLE, "parse", src, dst], input=raw.hex() + "\n", check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def scapy_checksum(raw, src=SRC, dst=DST):
    """The checksum scapy computes for `raw` (its own field taken as zero)."""
    zeroed = raw[:2] + b"\0\0" + raw[4:]
    return in6_chksum(58, IPv6(src=src, dst=dst), zeroed)


def icmp_bytes(pkt):
    """The ICMPv6 part of an IPv6 packet scapy assembled (checksum filled)."""
    return bytes(pkt)[40:]


def random_ra(rng):
    ra = {
        "hop": rng.randrange(256), "M": rng.randrange(2), "O": rng.randrange(2),
        "H": rng.randrange(2), "P": rng.randrange(2), "prf": rng.randrange(4),
        "lifetime": rng.randrange(65536), "reachable": rng.randrange(1 << 32),
        "retrans": rng.randrange(1 << 32),
    }
    if rng.randrange(2):
        ra["slla"] = ":".join("%02x" % rng.randrange(256) for _ in range(6))
    if rng.randrange(2):
        ra["mtu"] = rng.randrange(1280, 65536)
    if rng.randrange(2):
        ra["advint"] = rng.randrange(1 << 32)
    if rng.randrange(2):
        ra["hapref"] = rng.randrange(-32768, 32768)
        ra["halife"] = rng.randrange(1, 65536)
    prefixes = []
    for _ in range(rng.randrange(4)):
        words = [rng.randrange(65536) for _ in range(8)]
        prefixes.append(("%x:%x:%x:%x:%x:%x:%x:%x" % tuple(words), rng.randrange(129),
                         rng.randrange(2), rng.randrange(2), rng.randrange(2),
                         rng.randrange(1 << 32), rng.randrange(1 << 32)))
    maps = []
    for _ in range(rng.randrange(3)):
        words = [0x2001, 0xdb8] + [rng.randrange(65536) for _ in range(6)]
        maps.append(("%x:%x:%x:%x:%x:%x:%x:%x" % tuple(words), rng.randrange(1, 16),
                     rng.randrange(16), rng.randrange(2), rng.randrange(1 << 32)))
    return ra, prefixes, maps


def ra_args(ra, prefixes, maps):
    args = ["%s=%s" % kv for kv in ra.items()]
    args += ["prefix=%s/%d,%d,%d,%d,%d,%d" % p for p in prefixes]
    args += ["map=%s,%d,%d,%d,%d" % m for m in maps]
    return args


def norm6(a):
    return str(IPv6(dst=a).dst)


class OursToScapy(unittest.TestCase):
    """We build; scapy dissects."""

    def check_ra(self, ra, prefixes, maps):
        raw = oracle_build("ra", *ra_args(ra, prefixes, maps))
        p = ICMPv6ND_RA(raw)
        self.assertEqual(p.type, 134)
        self.assertEqual(p.code, 0)
        self.assertEqual(p.cksum, scapy_checksum(raw))
        self.assertEqual(p.chlim, ra.get("hop", 0))
        self.assertEqual(p.M, ra.get("M", 0))
        self.assertEqual(p.O, ra.get("O", 0))
        self.assertEqual(p.H, ra.get("H", 0))
        self.assertEqual(p.prf, ra.get("prf", 0))
        self.assertEqual(p.P, ra.get("P", 0))
        self.assertEqual(p.res, 0)
        self.assertEqual(p.routerlifetime, ra.get("lifetime", 0))
        self.assertEqual(p.reachabletime, ra.get("reachable", 0))
        self.assertEqual(p.retranstimer, ra.get("retrans", 0))
        if "slla" in ra:
            o = p[ICMPv6NDOptSrcLLAddr]
            self.assertEqual(o.len, 1)
            self.assertEqual(o.lladdr, ra["slla"])
        else:
            self.assertNotIn(ICMPv6NDOptSrcLLAddr, p)
        if "mtu" in ra:
            self.assertEqual(p[ICMPv6NDOptMTU].len, 1)
            self.assertEqual(p[ICMPv6NDOptMTU].mtu, ra["mtu"])
        else:
            self.assertNotIn(ICMPv6NDOptMTU, p)
        if "advint" in ra:
            self.assertEqual(p[ICMPv6NDOptAdvInterval].len, 1)
            self.assertEqual(p[ICMPv6NDOptAdvInterval].advint, ra["advint"])
        if "halife" in ra:
            o = p[ICMPv6NDOptHAInfo]
            self.assertEqual(o.len, 1)
            self.assertEqual(o.pref, ra["hapref"] & 0xffff)
            self.assertEqual(o.lifetime, ra["halife"])
        for i, (addr, plen, l, a, r, valid, pref) in enumerate(prefixes, 1):
            o = p.getlayer(ICMPv6NDOptPrefixInfo, nb=i)
            self.assertIsNotNone(o)
            self.assertEqual(o.len, 4)
            self.assertEqual(o.prefixlen, plen)
            self.assertEqual((o.L, o.A, o.R, o.res1), (l, a, r, 0))
            self.assertEqual(o.validlifetime, valid)
            self.assertEqual(o.preferredlifetime, pref)
            self.assertEqual(o.res2, 0)
            self.assertEqual(o.prefix, norm6(addr))
        self.assertIsNone(p.getlayer(ICMPv6NDOptPrefixInfo, nb=len(prefixes) + 1))
        for i, (addr, dist, pref, r, valid) in enumerate(maps, 1):
            o = p.getlayer(ICMPv6NDOptMAP, nb=i)
            self.assertIsNotNone(o)
            self.assertEqual(o.len, 3)
            self.assertEqual((o.dist, o.pref, o.R, o.res), (dist, pref, r, 0))
            self.assertEqual(o.validlifetime, valid)
            self.assertEqual(o.addr, norm6(addr))
        self.assertIsNone(p.getlayer(ICMPv6NDOptMAP, nb=len(maps) + 1))

    def test_ra_access_router(self):
        self.check_ra({"hop": 64, "M": 1, "H": 1, "lifetime": 1800, "slla": "02:11:22:33:44:55",
                       "mtu": 1500, "advint": 70, "hapref": -5, "halife": 600},
                      [("2001:db8:5b:1::1", 64, 1, 1, 1, 86400, 14400)],
                      [("2001:db8:7::30", 1, 7, 1, 3600)])

    def test_ra_random(self):
        rng = random.Random(4861)
        for _ in range(40):
            self.check_ra(*random_ra(rng))

    def test_rs(self):
        raw = oracle_build("rs", "slla=02:aa:bb:cc:dd:ee")
        p = ICMPv6ND_RS(raw)
        self.assertEqual((p.type, p.code, p.res), (133, 0, 0))
        self.assertEqual(p.cksum, scapy_checksum(raw))
        self.assertEqual(p[ICMPv6NDOptSrcLLAddr].lladdr, "02:aa:bb:cc:dd:ee")

    def test_ns_na(self):
        raw = oracle_build("ns", "target=2001:db8::7", "slla=02:aa:bb:cc:dd:ee")
        p = ICMPv6ND_NS(raw)
        self.assertEqual(p.tgt, "2001:db8::7")
        self.assertEqual(p.cksum, scapy_checksum(raw))
        self.assertEqual(p[ICMPv6NDOptSrcLLAddr].lladdr, "02:aa:bb:cc:dd:ee")
        raw = oracle_build("na", "target=2001:db8::7", "tlla=02:aa:bb:cc:dd:ee", "R=1", "S=1")
        p = ICMPv6ND_NA(raw)
        self.assertEqual((p.R, p.S, p.O), (1, 1, 0))
        self.assertEqual(p.tgt, "2001:db8::7")
        self.assertEqual(p.cksum, scapy_checksum(raw))
        self.assertEqual(p[ICMPv6NDOptDstLLAddr].lladdr, "02:aa:bb:cc:dd:ee")


class ScapyToOurs(unittest.TestCase):
    """Scapy builds; we parse."""

    def test_ra_all_options(self):
        pkt = (IPv6(src=SRC, dst=DST, hlim=255) /
               ICMPv6ND_RA(chlim=64, M=1, O=0, H=1, prf=3, routerlifetime=1800,
                           reachabletime=30000, retranstimer=1000) /
               ICMPv6NDOptSrcLLAddr(lladdr="02:11:22:33:44:55") /
               ICMPv6NDOptMTU(mtu=1500) /
               ICMPv6NDOptAdvInterval(advint=70) /
               ICMPv6NDOptHAInfo(pref=0xfffb, lifetime=600) /
               ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, validlifetime=86400,
                                     preferredlifetime=14400, prefix="2001:db8:5b:1::1") /
               ICMPv6NDOptPrefixInfo(prefixlen=48, L=0, A=0, R=0, validlifetime=0xffffffff,
                                     preferredlifetime=0, prefix="2001:db8:5c::") /
               ICMPv6NDOptMAP(dist=2, pref=7, R=1, validlifetime=3600, addr="2001:db8:7::30"))
        raw = icmp_bytes(pkt)
        j = oracle_parse(raw)
        self.assertNotIn("error", j)
        self.assertTrue(j["checksum_ok"])
        self.assertEqual(j["checksum"], IPv6(bytes(pkt))[ICMPv6ND_RA].cksum)
        self.assertEqual((j["type"], j["code"], j["cur_hop_limit"]), (134, 0, 64))
        self.assertEqual((j["M"], j["O"], j["H"], j["prf"], j["P"]), (True, False, True, 3, False))
        self.assertEqual((j["router_lifetime"], j["reachable_time"], j["retrans_timer"]),
                         (1800, 30000, 1000))
        self.assertEqual(j["source_link_layer_address"], "02:11:22:33:44:55")
        self.assertEqual(j["mtu"], 1500)
        self.assertEqual(j["advertisement_interval"], 70)
        self.assertEqual((j["home_agent_preference"], j["home_agent_lifetime"]), (-5, 600))
        self.assertEqual(j["prefixes"], [
            {"prefix_length": 64, "L": True, "A": True, "R": True, "valid_lifetime": 86400,
             "preferred_lifetime": 14400, "prefix": "2001:db8:5b:1::1"},
            {"prefix_length": 48, "L": False, "A": False, "R": False,
             "valid_lifetime": 0xffffffff, "preferred_lifetime": 0, "prefix": "2001:db8:5c::"}])
        self.assertEqual(j["maps"], [{"dist": 2, "pref": 7, "R": True, "valid_lifetime": 3600,
                                      "address": "2001:db8:7::30"}])
        self.assertEqual(j["unknown_options"], 0)

    def test_ra_random(self):
        rng = random.Random(6275)
        for _ in range(40):
            ra, prefixes, maps = random_ra(rng)
            pkt = IPv6(src=SRC, dst=DST, hlim=255) / ICMPv6ND_RA(
                chlim=ra["hop"], M=ra["M"], O=ra["O"], H=ra["H"], prf=ra["prf"], P=ra["P"],
                routerlifetime=ra["lifetime"], reachabletime=ra["reachable"],
                retranstimer=ra["retrans"])
            if "slla" in ra:
                pkt /= ICMPv6NDOptSrcLLAddr(lladdr=ra["slla"])
            if "mtu" in ra:
                pkt /= ICMPv6NDOptMTU(mtu=ra["mtu"])
            if "advint" in ra:
                pkt /= ICMPv6NDOptAdvInterval(advint=ra["advint"])
            if "halife" in ra:
                pkt /= ICMPv6NDOptHAInfo(pref=ra["hapref"] & 0xffff, lifetime=ra["halife"])
            for addr, plen, l, a, r, valid, pref in prefixes:
                pkt /= ICMPv6NDOptPrefixInfo(prefixlen=plen, L=l, A=a, R=r, validlifetime=valid,
                                             preferredlifetime=pref, prefix=addr)
            for addr, dist, pref, r, valid in maps:
                pkt /= ICMPv6NDOptMAP(dist=dist, pref=pref, R=r, validlifetime=valid, addr=addr)
            j = oracle_parse(icmp_bytes(pkt))
            self.assertNotIn("error", j)
            self.assertTrue(j["checksum_ok"])
            self.assertEqual(j["cur_hop_limit"], ra["hop"])
            self.assertEqual((j["M"], j["O"], j["H"], j["P"]),
                             tuple(bool(ra[k]) for k in ("M", "O", "H", "P")))
            self.assertEqual(j["prf"], ra["prf"])
            self.assertEqual(j["router_lifetime"], ra["lifetime"])
            self.assertEqual(j["reachable_time"], ra["reachable"])
            self.assertEqual(j["retrans_timer"], ra["retrans"])
            self.assertEqual(j.get("source_link_layer_address"), ra.get("slla"))
            self.assertEqual(j.get("mtu"), ra.get("mtu"))
            self.assertEqual(j.get("advertisement_interval"), ra.get("advint"))
            self.assertEqual(j.get("home_agent_preference"), ra.get("hapref"))
            self.assertEqual(j.get("home_agent_lifetime"), ra.get("halife"))
            self.assertEqual([(norm6(p["prefix"]), p["prefix_length"], p["L"], p["A"], p["R"],
                               p["valid_lifetime"], p["preferred_lifetime"])
                              for p in j["prefixes"]],
                             [(norm6(a), pl, bool(l), bool(au), bool(r), v, pr)
                              for a, pl, l, au, r, v, pr in prefixes])
            self.assertEqual([(norm6(m["address"]), m["dist"], m["pref"], m["R"],
                               m["valid_lifetime"]) for m in j["maps"]],
                             [(norm6(a), d, p, bool(r), v) for a, d, p, r, v in maps])

    def test_checksum_mismatch(self):
        pkt = IPv6(src=SRC, dst=DST, hlim=255) / ICMPv6ND_RA(routerlifetime=1800)
        raw = bytearray(icmp_bytes(pkt))
        raw[7] ^= 0x01          # router lifetime changed after the checksum
        j = oracle_parse(bytes(raw))
        self.assertFalse(j["checksum_ok"])
        want = scapy_checksum(bytes(raw))
        got = raw[2] << 8 | raw[3]
        self.assertEqual(j["checksum_error"],
                         "icmp6: checksum 0x%04x, expected 0x%04x" % (got, want))
        # The pseudo-header counts: the right bytes to another destination fail.
        j = oracle_parse(icmp_bytes(pkt), dst="ff02::2")
        self.assertFalse(j["checksum_ok"])

    def test_rs_ns_na(self):
        pkt = (IPv6(src=SRC, dst="ff02::2", hlim=255) / ICMPv6ND_RS() /
               ICMPv6NDOptSrcLLAddr(lladdr="02:aa:bb:cc:dd:ee"))
        j = oracle_parse(icmp_bytes(pkt), dst="ff02::2")
        self.assertTrue(j["checksum_ok"])
        self.assertEqual((j["type"], j["source_link_layer_address"]), (133, "02:aa:bb:cc:dd:ee"))
        pkt = (IPv6(src=SRC, dst="ff02::1:ff00:7", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::7") /
               ICMPv6NDOptSrcLLAddr(lladdr="02:aa:bb:cc:dd:ee"))
        j = oracle_parse(icmp_bytes(pkt), dst="ff02::1:ff00:7")
        self.assertTrue(j["checksum_ok"])
        self.assertEqual((j["type"], j["target"]), (135, "2001:db8::7"))
        pkt = (IPv6(src=SRC, dst="ff02::1", hlim=255) /
               ICMPv6ND_NA(R=1, S=0, O=1, tgt="2001:db8::7") /
               ICMPv6NDOptDstLLAddr(lladdr="02:aa:bb:cc:dd:ee"))
        j = oracle_parse(icmp_bytes(pkt))
        self.assertTrue(j["checksum_ok"])
        self.assertEqual((j["R"], j["S"], j["O"], j["target_link_layer_address"]),
                         (True, False, True, "02:aa:bb:cc:dd:ee"))

    def test_malformed(self):
        def err(pkt):
            return oracle_parse(icmp_bytes(IPv6(src=SRC, dst=DST) / pkt)).get("error")
        self.assertEqual(err(ICMPv6ND_RA() / ICMPv6NDOptMTU(len=0)),
                         "nd.ra: option 1 (mtu) has length 0")
        self.assertEqual(err(ICMPv6ND_RA() / ICMPv6NDOptMTU() / ICMPv6NDOptPrefixInfo(len=3)),
                         "nd.ra: option 2 (prefix information) length 3 must be 4")
        self.assertEqual(err(ICMPv6ND_RA() / ICMPv6NDOptMAP(len=5)),
                         "nd.ra: option 1 (map) length 5 (40 bytes) overruns message (24 bytes left)")
        self.assertEqual(err(ICMPv6ND_RA() / ICMPv6NDOptMAP(dist=0)),
                         "nd.ra: option 1 (map) distance 0 is not allowed (RFC 5380 §4)")
        self.assertEqual(err(ICMPv6ND_RA() / ICMPv6NDOptHAInfo(lifetime=0)),
                         "nd.ra: option 1 (home agent information) lifetime 0 is not allowed (RFC 6275 §7.4)")
        self.assertEqual(err(ICMPv6ND_RA(code=1)), "nd.ra: code 1 must be 0")
        self.assertEqual(err(ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(len=0)),
                         "nd.rs: option 1 (source link-layer address) has length 0")


if __name__ == "__main__":
    if not os.access(ORACLE, os.X_OK):
        sys.exit("nd_oracle not built: " + ORACLE)
    unittest.main(verbosity=2)

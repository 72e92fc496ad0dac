#!/usr/bin/python3
"""`mipsecctl decode` / `encode` on Neighbor Discovery (issue 3) against scapy.

scapy builds RS, RA (every option we name: Source Link-Layer Address, MTU,
Advertisement Interval, Home Agent Information, several Prefix Information
options, MAP), NS and NA inside IPv6; `$MIPSECCTL decode` must show every
field scapy dissects, under the RFCs' names; `$MIPSECCTL encode` of that
view must give scapy's bytes back, and so must the view stripped of the
checksum, lengths and reserved fields (the checksum is then ours, over the
pseudo-header). Malformed ND gives {"error": ...} and exit status 1.
"""
import ipaddress
import json
import os
import random
import subprocess
import sys
import unittest

from scapy.layers.inet6 import (IPv6, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6ND_NS, ICMPv6ND_NA,
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU, ICMPv6NDOptSrcLLAddr,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptAdvInterval,
                                ICMPv6NDOptHAInfo, ICMPv6NDOptMAP, ICMPv6NDOptUnknown,
                                in6_chksum)
from scapy.packet import NoPayload

BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
CTL = os.environ.get("MIPSECCTL", os.path.join(BUILD, "mipsecctl"))
LL, ALL_NODES, ALL_ROUTERS = "fe80::211:22ff:fe33:4455", "ff02::1", "ff02::2"
MAC = "00:11:22:33:44:55"


def ctl(cmd, lines):
    r = subprocess.run([CTL, cmd], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, timeout=60)
    out = r.stdout.splitlines()
    assert len(out) == len(lines), f"{cmd}: {len(out)} lines for {len(lines)}: {r.stderr}"
    return r.returncode, out


def decode(pkts):
    rc, out = ctl("decode", [bytes(p).hex() for p in pkts])
    return rc, [json.loads(l) for l in out]


def encode(views):
    rc, out = ctl("encode", [json.dumps(v) for v in views])
    return rc, [json.loads(l) if l.startswith("{") else bytes.fromhex(l) for l in out]


def ip(a):
    return str(ipaddress.IPv6Address(a))


# ---- vectors --------------------------------------------------------------

def ra_full():
    return (IPv6(src=LL, dst=ALL_NODES, hlim=255) /
            ICMPv6ND_RA(chlim=64, M=1, O=1, H=1, prf=3, P=1, routerlifetime=1800,
                        reachabletime=30000, retranstimer=1000) /
            ICMPv6NDOptSrcLLAddr(lladdr=MAC) /
            ICMPv6NDOptMTU(mtu=1480) /
            ICMPv6NDOptAdvInterval(advint=3000) /
            ICMPv6NDOptHAInfo(pref=10, lifetime=1800) /
            ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, validlifetime=86400,
                                  preferredlifetime=14400, prefix="2001:db8:1::1") /
            ICMPv6NDOptPrefixInfo(prefixlen=48, L=0, A=0, R=0, validlifetime=0xffffffff,
                                  preferredlifetime=0, prefix="2001:db8:2::") /
            ICMPv6NDOptMAP(dist=1, pref=15, R=1, validlifetime=600, addr="2001:db8:99::1") /
            ICMPv6NDOptPrefixInfo(prefixlen=128, L=1, A=0, R=1, validlifetime=7,
                                  preferredlifetime=3, prefix="2001:db8:3::3") /
            ICMPv6NDOptMAP(dist=15, pref=0, R=0, validlifetime=0xffffffff,
                           addr="2001:db8:98::2"))


def ra_odd():
    """Reserved bits set everywhere, a negative home agent preference, an
    unknown option (RDNSS, RFC 8106) and a Target LLA, which an RA does not
    use: all kept as they are."""
    return (IPv6(src=LL, dst=ALL_NODES, hlim=255) /
            ICMPv6ND_RA(chlim=255, M=0, O=1, H=0, prf=2, P=0, res=3, routerlifetime=0) /
            ICMPv6NDOptUnknown(type=25, len=3, data=bytes.fromhex("000000000e10") + bytes.fromhex(
                "20010db8000000000000000000000053")) /
            ICMPv6NDOptMTU(res=0xbeef, mtu=1280) /
            ICMPv6NDOptAdvInterval(res=1, advint=0) /
            ICMPv6NDOptHAInfo(res=0x8001, pref=0xfffe, lifetime=1) /
            ICMPv6NDOptPrefixInfo(prefixlen=0, L=1, A=1, R=0, res1=0x1f, res2=0xdeadbeef,
                                  prefix="::") /
            ICMPv6NDOptMAP(dist=3, pref=7, R=1, res=0x55, addr="2001:db8::7") /
            ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:01"))


def random_ras(n):
    rng = random.Random(4861)
    out = []
    for _ in range(n):
        p = (IPv6(src=LL, dst=ALL_NODES, hlim=255) /
             ICMPv6ND_RA(chlim=rng.randrange(256), M=rng.randrange(2), O=rng.randrange(2),
                         H=rng.randrange(2), prf=rng.randrange(4), P=rng.randrange(2),
                         routerlifetime=rng.randrange(65536),
                         reachabletime=rng.randrange(1 << 32),
                         retranstimer=rng.randrange(1 << 32)))
        opts = []
        if rng.randrange(2):
            opts.append(ICMPv6NDOptSrcLLAddr(
                lladdr=":".join("%02x" % rng.randrange(256) for _ in range(6))))
        if rng.randrange(2):
            opts.append(ICMPv6NDOptMTU(mtu=rng.randrange(1 << 32)))
        if rng.randrange(2):
            opts.append(ICMPv6NDOptAdvInterval(advint=rng.randrange(1 << 32)))
        if rng.randrange(2):
            opts.append(ICMPv6NDOptHAInfo(pref=rng.randrange(65536),
                                          lifetime=rng.randrange(1, 65536)))
        for _ in range(rng.randrange(5)):
            opts.append(ICMPv6NDOptPrefixInfo(
                prefixlen=rng.randrange(129), L=rng.randrange(2), A=rng.randrange(2),
                R=rng.randrange(2), validlifetime=rng.randrange(1 << 32),
                preferredlifetime=rng.randrange(1 << 32),
                prefix=str(ipaddress.IPv6Address(rng.randrange(1 << 128)))))
        for _ in range(rng.randrange(3)):
            opts.append(ICMPv6NDOptMAP(dist=rng.randrange(1, 16), pref=rng.randrange(16),
                                       R=rng.randrange(2), validlifetime=rng.randrange(1 << 32),
                                       addr=str(ipaddress.IPv6Address(rng.randrange(1 << 128)))))
        rng.shuffle(opts)
        for o in opts:
            p = p / o
        out.append(p)
    return out


def others():
    return [
        IPv6(src=LL, dst=ALL_ROUTERS, hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=MAC),
        IPv6(src="::", dst=ALL_ROUTERS, hlim=255) / ICMPv6ND_RS(res=0x01020304),
        IPv6(src=LL, dst="ff02::1:ff00:1", hlim=255) /
        ICMPv6ND_NS(tgt="2001:db8::1") / ICMPv6NDOptSrcLLAddr(lladdr=MAC),
        IPv6(src="::", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fe80::1", res=7),
        IPv6(src=LL, dst=ALL_NODES, hlim=255) /
        ICMPv6ND_NA(R=1, S=0, O=1, tgt="2001:db8::1") / ICMPv6NDOptDstLLAddr(lladdr=MAC),
        IPv6(src=LL, dst="fe80::2", hlim=255) /
        ICMPv6ND_NA(R=0, S=1, O=0, res=0x123, tgt="fe80::211:22ff:fe33:4455") /
        ICMPv6NDOptSrcLLAddr(lladdr=MAC),
    ]


# ---- what the view must say, from scapy's dissection ----------------------

def opt_view(o, interpreted):
    """The view of one scapy option layer; `interpreted` are the option
    types the message's parser reads (the others are shown raw)."""
    raw = bytes(o)[:o.len * 8]
    if o.type not in interpreted:
        return {"type": o.type, "length": o.len, "data": raw[2:].hex()}
    if o.type in (1, 2):	# scapy's Dst class derives from its Src one
        return {"type": ["source", "target"][o.type - 1] + "_link_layer_address",
                "length": o.len, "address": o.lladdr}
    if isinstance(o, ICMPv6NDOptPrefixInfo):
        return {"type": "prefix_information", "length": o.len, "prefix_length": o.prefixlen,
                "l": bool(o.L), "a": bool(o.A), "r": bool(o.R), "reserved1": o.res1,
                "valid_lifetime": o.validlifetime, "preferred_lifetime": o.preferredlifetime,
                "reserved2": o.res2, "prefix": ip(o.prefix)}
    if isinstance(o, ICMPv6NDOptMTU):
        return {"type": "mtu", "length": o.len, "reserved": o.res, "mtu": o.mtu}
    if isinstance(o, ICMPv6NDOptAdvInterval):
        return {"type": "advertisement_interval", "length": o.len, "reserved": o.res,
                "advertisement_interval": o.advint}
    if isinstance(o, ICMPv6NDOptHAInfo):
        # nd.h reads the preference as a signed 16-bit value
        pref = o.pref - 65536 if o.pref >= 32768 else o.pref
        return {"type": "home_agent_information", "length": o.len, "reserved": o.res,
                "home_agent_preference": pref, "home_agent_lifetime": o.lifetime}
    if isinstance(o, ICMPv6NDOptMAP):
        return {"type": "map", "length": o.len, "dist": o.dist, "pref": o.pref,
                "r": bool(o.R), "reserved": o.res, "valid_lifetime": o.validlifetime,
                "global_address": ip(o.addr)}
    raise AssertionError(f"no view for {o.summary()}")


def expected(pkt):
    """The full `decode` view of an IPv6 packet, from scapy's dissection."""
    p = IPv6(bytes(pkt))
    m = p.payload
    v = {"type": m.type, "code": m.code, "checksum": m.cksum}
    if isinstance(m, ICMPv6ND_RA):
        v.update({"cur_hop_limit": m.chlim, "m": bool(m.M), "o": bool(m.O), "h": bool(m.H),
                  "prf": m.prf, "p": bool(m.P), "reserved": m.res,
                  "router_lifetime": m.routerlifetime, "reachable_time": m.reachabletime,
                  "retrans_timer": m.retranstimer})
        interpreted = {1, 3, 5, 7, 8, 23}
    elif isinstance(m, ICMPv6ND_RS):
        v["reserved"] = m.res
        interpreted = {1}
    elif isinstance(m, ICMPv6ND_NS):
        v.update({"reserved": m.res, "target_address": ip(m.tgt)})
        interpreted = {1}
    else:
        v.update({"r": bool(m.R), "s": bool(m.S), "o": bool(m.O), "reserved": m.res,
                  "target_address": ip(m.tgt)})
        interpreted = {2}
    opts, o = [], m.payload
    while not isinstance(o, NoPayload):
        opts.append(opt_view(o, interpreted))
        o = o.payload
    v["options"] = opts
    return {"ipv6": {"version": 6, "traffic_class": p.tc, "flow_label": p.fl,
                     "payload_length": p.plen, "next_header": 58, "hop_limit": p.hlim,
                     "source_address": ip(p.src), "destination_address": ip(p.dst),
                     "extension_headers": [], "icmpv6": v}}


def sparse(view):
    """A view without what encode computes or defaults: checksum, code,
    lengths, zero reserved fields."""
    v = json.loads(json.dumps(view))
    ip6 = v["ipv6"]
    for k in ("version", "traffic_class", "flow_label", "payload_length", "next_header",
              "extension_headers"):
        ip6.pop(k)
    m = ip6["icmpv6"]
    for k in ("checksum", "code"):
        m.pop(k)
    for o in [m] + m["options"]:
        for k in ("reserved", "reserved1", "reserved2"):
            if o.get(k) == 0:
                o.pop(k)
        if isinstance(o.get("type"), str):
            o.pop("length", None)
    return v


class Decode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pkts = [ra_full(), ra_odd()] + others() + random_ras(40)
        cls.raws = [bytes(p) for p in cls.pkts]
        rc, cls.views = decode(cls.raws)
        assert rc == 0, f"decode exit {rc}: {[v for v in cls.views if 'error' in v][:3]}"

    def test_every_field_as_scapy_dissects_it(self):
        for p, v in zip(self.pkts, self.views):
            self.assertEqual(v, expected(p), p.summary())

    def test_full_ra_shape(self):
        m = self.views[0]["ipv6"]["icmpv6"]
        self.assertEqual([o["type"] for o in m["options"]],
                         ["source_link_layer_address", "mtu", "advertisement_interval",
                          "home_agent_information", "prefix_information", "prefix_information",
                          "map", "prefix_information", "map"])
        self.assertEqual(m["options"][4]["prefix"], "2001:db8:1::1")
        self.assertEqual(m["options"][8]["global_address"], "2001:db8:98::2")
        self.assertEqual(self.views[1]["ipv6"]["icmpv6"]["options"][3]["home_agent_preference"], -2)

    def test_checksums_are_scapys(self):
        for raw, v in zip(self.raws, self.views):
            p = IPv6(raw)
            icmp = raw[40:]
            want = in6_chksum(58, p, icmp[:2] + b"\0\0" + icmp[4:])
            self.assertEqual(v["ipv6"]["icmpv6"]["checksum"], want)

    def test_encode_gives_scapys_bytes(self):
        rc, out = encode(self.views)
        self.assertEqual(rc, 0, out)
        for raw, b in zip(self.raws, out):
            self.assertEqual(b, raw)

    def test_sparse_views_encode_with_our_checksum(self):
        rc, out = encode([sparse(v) for v in self.views])
        self.assertEqual(rc, 0, [o for o in out if isinstance(o, dict)][:3])
        for raw, b in zip(self.raws, out):
            self.assertEqual(b.hex(), raw.hex())

    def test_icmpv6_layer_alone(self):
        """Without the IPv6 header (no pseudo-header) the view is the same."""
        r = subprocess.run([CTL, "decode", "--layer", "icmpv6"],
                           input=self.raws[0][40:].hex() + "\n", capture_output=True, text=True)
        if r.returncode == 2:
            self.skipTest("decode has no --layer icmpv6")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["icmpv6"], self.views[0]["ipv6"]["icmpv6"])


def with_icmp(pkt, icmp):
    """The packet's IPv6 header (payload length fixed) over other ICMPv6 bytes."""
    hdr = bytearray(bytes(pkt)[:40])
    hdr[4:6] = len(icmp).to_bytes(2, "big")
    hdr[6] = 58
    return bytes(hdr) + icmp


def fix_csum(raw):
    icmp = bytearray(raw[40:])
    icmp[2:4] = b"\0\0"
    c = in6_chksum(58, IPv6(raw), bytes(icmp))
    icmp[2:4] = c.to_bytes(2, "big")
    return raw[:40] + bytes(icmp)


class Malformed(unittest.TestCase):
    def errors(self, pkts):
        rc, out = decode(pkts)
        self.assertEqual(rc, 1)
        for o in out:
            self.assertEqual(list(o), ["error"], o)
        return [o["error"] for o in out]

    def test_zero_length_option(self):
        p = (IPv6(src=LL, dst=ALL_NODES, hlim=255) / ICMPv6ND_RA() /
             ICMPv6NDOptMTU(mtu=1500) / ICMPv6NDOptSrcLLAddr(len=0, lladdr=MAC))
        self.assertEqual(self.errors([p]), ["nd.ra: option 2 (source link-layer address) has length 0"])

    def test_truncated_prefix_option(self):
        ra = IPv6(src=LL, dst=ALL_NODES, hlim=255) / ICMPv6ND_RA()
        short = fix_csum(with_icmp(ra, bytes(ra / ICMPv6NDOptPrefixInfo(
            len=3, prefix="2001:db8::"))[40:-8]))
        raw = bytes(ra / ICMPv6NDOptPrefixInfo(prefix="2001:db8::"))
        cut = fix_csum(with_icmp(ra, raw[40:-8]))
        self.assertEqual(self.errors([short, cut]), [
            "nd.ra: option 1 (prefix information) length 3 must be 4",
            "nd.ra: option 1 (prefix information) length 4 (32 bytes) overruns message (24 bytes left)"])

    def test_bad_checksum(self):
        raw = bytearray(bytes(ra_full()))
        good = int.from_bytes(raw[42:44], "big")
        raw[42:44] = ((good + 1) & 0xffff).to_bytes(2, "big")
        err = self.errors([bytes(raw)])[0]
        self.assertIn("checksum 0x%04x" % ((good + 1) & 0xffff), err)
        self.assertIn("0x%04x" % good, err)

    def test_rule_violations(self):
        base = IPv6(src=LL, dst=ALL_NODES, hlim=255)
        pkts = [base / ICMPv6ND_RA() / ICMPv6NDOptHAInfo(lifetime=0),
                base / ICMPv6ND_RA() / ICMPv6NDOptMAP(dist=0, addr="2001:db8::1"),
                base / ICMPv6ND_RA() / ICMPv6NDOptMTU() / ICMPv6NDOptMTU(),
                base / ICMPv6ND_RA(code=1),
                base / ICMPv6ND_NS(tgt="ff02::1"),
                with_icmp(base, bytes(base / ICMPv6ND_NA())[40:60])]
        self.assertEqual(self.errors([fix_csum(bytes(p)) for p in pkts]), [
            "nd.ra: option 1 (home agent information) lifetime 0 is not allowed (RFC 6275 §7.4)",
            "nd.ra: option 1 (map) distance 0 is not allowed (RFC 5380 §4)",
            "nd.ra: option 2 (mtu) duplicate",
            "nd.ra: code 1 must be 0",
            "nd.ns: target address is multicast",
            "nd.na: truncated: 20 bytes, need at least 24"])

    def test_every_truncation_is_an_error(self):
        raw = bytes(ra_full())
        cuts = [fix_csum(with_icmp(ra_full(), raw[40:40 + n])) for n in range(8, len(raw) - 40)
                if n % 8]
        for e in self.errors(cuts):
            self.assertRegex(e, r"^nd\.ra: (truncated|option \d+ (truncated|\(.*\) length "
                                r"\d \(\d+ bytes\) overruns message))")

    def test_encode_errors(self):
        good = expected(ra_full())
        def bad(path_value):
            v = json.loads(json.dumps(good))
            m = v["ipv6"]["icmpv6"]
            path_value(m)
            return v
        views = [bad(lambda m: m.update(prf=4)),
                 bad(lambda m: m.update(M=True)),
                 bad(lambda m: m["options"][0].update(address="00:11:22:33:44:5")),
                 bad(lambda m: m["options"][1].update(type="mtu_option")),
                 bad(lambda m: m["options"][6].update(dist=0)),
                 bad(lambda m: m["options"][3].update(home_agent_lifetime=0)),
                 bad(lambda m: m["options"].append({"type": 99, "data": "00"})),
                 good]
        rc, out = encode(views)
        self.assertEqual(rc, 1)
        self.assertEqual(out[:-1], [
            {"error": "encode.icmpv6.ra: field prf must be an integer in 0..3"},
            {"error": "encode.icmpv6.ra: field M is not one this message has"},
            {"error": "encode.icmpv6.ra option 1: field address must be hex bytes separated by ':'"},
            {"error": "encode.icmpv6.ra option 2: field type is not a Neighbor Discovery option name"},
            {"error": "encode.icmpv6.ra option 7: map distance 0 (1..15) or preference 15 (0..15) out of range"},
            {"error": "encode.icmpv6.ra option 4: home agent lifetime 0 is not allowed (RFC 6275 §7.4)"},
            {"error": "encode.icmpv6.ra option 10: field data with the 2-byte header must make a multiple of 8 bytes"}])
        self.assertEqual(out[-1], bytes(ra_full()))

    def test_encode_can_build_malformed(self):
        """"length" and "code" are written as given (how tests make bad input)."""
        v = expected(ra_full())
        v["ipv6"]["icmpv6"]["options"][4]["length"] = 0
        v["ipv6"]["icmpv6"].pop("checksum")
        rc, out = encode([v])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.errors([out[0]]),
                         ["nd.ra: option 5 (prefix information) has length 0"])


if __name__ == "__main__":
    if not os.access(CTL, os.X_OK):
        print("SKIP: no mipsecctl at", CTL)
        sys.exit(77)
    unittest.main(verbosity=1)

#!/usr/bin/python3
"""Our mobile node (mipsecd, role mn) against a home agent played by scapy.

Runs inside a private network namespace (re-executes itself under
`unshare -r -n`): a veth pair mnA <-> haA; mipsecd uses mnA as its access
interface, scapy owns haA (IPv6 off there, so the kernel stays out of it)
and plays the access router and the home agent:

  1. the MN solicits a router when it starts (RS on mnA);
  2. scapy's RA (prefix 2001:db8:1::/64) makes it form an EUI-64 CoA and
     send a BU at once (optimistic DAD) in UDP 4191 to the HA; the BU is
     checked field by field: outer/inner addresses, HAO = HoA, A and H
     flags, lifetime, MH checksum recomputed by scapy over the HoA->HA
     pseudo-header;
  3. the HA answers status 135 with a sequence number of its own: the MN
     must resend with the number following it;
  4. the HA answers status 0 with a type 2 routing header: `mipsecctl show
     bul` shows the entry bound, and a handover line with its timing is
     logged;
  5. host path: `ping` from the node (no source given) goes through the
     policy routing into the TUN and arrives at the HA inside UDP from the
     CoA with the HoA as source; the HA's tunnelled echo replies reach ping;
  6. on SIGTERM the MN deregisters (lifetime 0) and removes its rule, its
     table route and its CoA.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

NS_MARK = "MIPSEC_MN_SCAPY_NS"
if not os.environ.get(NS_MARK):
    if not shutil.which("unshare"):
        print("unshare missing: skipped")
        sys.exit(77)
    env = dict(os.environ, **{NS_MARK: "1"})
    rc = subprocess.call(["unshare", "-r", "-n", sys.executable, os.path.abspath(__file__)]
                         + sys.argv[1:], env=env)
    sys.exit(rc)

from scapy.all import AsyncSniffer, Ether, Raw, conf, sendp  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr,  # noqa: E402
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptAdvInterval,
                                IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, HAO,
                                ICMPv6EchoRequest, ICMPv6EchoReply, in6_chksum)
from scapy.layers.inet6 import MIP6MH_BU, MIP6MH_BA  # noqa: E402

conf.verb = 0
BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
MIPSECD = os.environ.get("MIPSECD", os.path.join(BUILD, "mipsecd"))
MIPSECCTL = os.environ.get("MIPSECCTL", os.path.join(BUILD, "mipsecctl"))

HOA, HA, HOME = "2001:db8:8::4", "2001:db8:8::1", "2001:db8:8::/64"
PREFIX = "2001:db8:1:0:"
ROUTER_LL, ROUTER_MAC = "fe80::1", "02:00:00:00:00:01"
CN = "2001:db8:99::1"
TABLE, MARK = 4191, 0x4d49


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True).stdout


def eui64(prefix, mac):
    b = bytes(int(x, 16) for x in mac.split(":"))
    iid = bytes([b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]])
    words = [iid[i] << 8 | iid[i + 1] for i in range(0, 8, 2)]
    a = prefix + ":".join("%x" % w for w in words)
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a))


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Peer:
    """Everything scapy hears on haA, in order, for the test to pick from."""

    def __init__(self):
        self.pkts = []
        self.lock = threading.Lock()
        self.sniffer = AsyncSniffer(iface="haA", store=False, prn=self._add)
        self.sniffer.start()
        time.sleep(0.3)     # let the sniffer socket open before traffic starts

    def _add(self, p):
        with self.lock:
            self.pkts.append(p)

    def stop(self):
        self.sniffer.stop()

    def take(self, pred, timeout, what):
        """First packet satisfying pred (removed from the list)."""
        def find():
            with self.lock:
                for i, p in enumerate(self.pkts):
                    try:
                        ok = pred(p)
                    except Exception:   # noqa: BLE001 - malformed for this pred
                        ok = False
                    if ok:
                        return self.pkts.pop(i)
            return None
        return wait_for(find, timeout, what)


def inner_of(p):
    """The IPv6 packet inside a UDP 4191 datagram, dissected by scapy."""
    return IPv6(bytes(p[UDP].payload))


def is_bu(p):
    if UDP not in p or p[UDP].dport != 4191:
        return False
    return MIP6MH_BU in inner_of(p)


class MnAgainstScapyHa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mn-scapy-")
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "mnA", "type", "veth", "peer", "name", "haA")
        with open("/proc/sys/net/ipv6/conf/haA/disable_ipv6", "w") as f:
            f.write("1")
        sh("ip", "link", "set", "haA", "address", ROUTER_MAC)
        sh("ip", "link", "set", "haA", "up")
        sh("ip", "link", "set", "mnA", "up")
        cls.mn_mac = json.loads(sh("ip", "-j", "link", "show", "mnA"))[0]["address"]
        cls.coa = eui64(PREFIX, cls.mn_mac)
        cls.sock = os.path.join(cls.tmp, "ctl.sock")
        conf_path = os.path.join(cls.tmp, "mn.conf")
        with open(conf_path, "w") as f:
            f.write(f"""
node = {{ name = "mn-scapy"; }};
control = {{ socket = "{cls.sock}"; }};
interfaces = ( {{ name = "mnA"; }} );
roles = [ "mn" ];
mn = {{
  home_address = "{HOA}"; home_prefix = "{HOME}"; home_agent = "{HA}";
  interfaces = [ "mnA" ]; tun = "mip6mn0"; fwmark = {MARK}; table = {TABLE};
  lifetime = 600; initial_bindack_timeout_ms = 1500; max_bindack_timeout_ms = 32000;
  optimistic_first_bu = true; rs_interval_ms = 300;
}};
""")
        cls.peer = Peer()
        cls.log = open(os.path.join(cls.tmp, "mipsecd.log"), "w+")
        cls.daemon = subprocess.Popen([MIPSECD, "-d", "-c", conf_path], stdout=cls.log,
                                      stderr=subprocess.STDOUT)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon.poll() is None:
            cls.daemon.kill()
            cls.daemon.wait()
        cls.peer.stop()
        if os.environ.get("MIPSEC_KEEP"):
            print("kept", cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def daemon_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def ctl(self, *args):
        out = subprocess.run([MIPSECCTL, "-s", self.sock, "--json", *args],
                             capture_output=True, text=True)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None

    def send_udp(self, inner):
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IPv6(src=HA, dst=self.coa) /
              UDP(sport=4191, dport=4191) / Raw(bytes(inner)), iface="haA")

    def send_ba(self, status, seq, units):
        mh = MIP6MH_BA(status=status, seq=seq, mhtime=units, cksum=0)
        raw = bytearray(bytes(mh))
        ck = in6_chksum(135, IPv6(src=HA, dst=HOA), bytes(raw))
        raw[4:6] = ck.to_bytes(2, "big")
        inner = (IPv6(src=HA, dst=self.coa, nh=43) /
                 IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) / Raw(bytes(raw)))
        self.send_udp(inner)

    def check_bu(self, p, lifetime_units):
        self.assertEqual(p[IPv6].src, self.coa)
        self.assertEqual(p[IPv6].dst, HA)
        self.assertEqual(p[UDP].sport, 4191)
        inner = inner_of(p)
        self.assertEqual(inner.src, self.coa)
        self.assertEqual(inner.dst, HA)
        self.assertIn(IPv6ExtHdrDestOpt, inner)
        hao = inner[IPv6ExtHdrDestOpt].options
        haos = [o for o in hao if isinstance(o, HAO)]
        self.assertEqual(len(haos), 1)
        self.assertEqual(haos[0].hoa, HOA)
        bu = inner[MIP6MH_BU]
        self.assertEqual(bu.mhtype, 5)
        self.assertEqual(bu.nh, 59)
        self.assertTrue(bu.flags.A)
        self.assertTrue(bu.flags.H)
        for f in "LKMRP":   # no link-local compatibility, keys, MAP, NEMO, proxy
            self.assertFalse(getattr(bu.flags, f), f)
        self.assertEqual(bu.reserved, 0)
        self.assertEqual(bu.mhtime, lifetime_units)
        # MH checksum over the pseudo-header with the HoA as source (§6.1.1).
        raw = bytearray(bytes(bu))
        got = int.from_bytes(raw[4:6], "big")
        raw[4:6] = b"\0\0"
        self.assertEqual(got, in6_chksum(135, IPv6(src=HOA, dst=HA), bytes(raw)))
        return bu

    def test_registration_and_host_path(self):
        peer = self.peer
        # 1. RS when the link is up at start.
        peer.take(lambda p: ICMPv6ND_RS in p and p[IPv6].dst == "ff02::2", 15, "RS")
        # Policy routing is in place before any registration.
        self.assertIn(f"not from all fwmark {MARK:#x} lookup {TABLE}", sh("ip", "-6", "rule"))
        self.assertIn("default dev mip6mn0", sh("ip", "-6", "route", "show", "table", str(TABLE)))
        self.assertIn(HOA + "/128", sh("ip", "-6", "addr", "show", "dev", "mip6mn0"))

        # 2. RA -> CoA -> BU without waiting for DAD.
        t0 = time.monotonic()
        sendp(Ether(src=ROUTER_MAC, dst="33:33:00:00:00:01") /
              IPv6(src=ROUTER_LL, dst="ff02::1", hlim=255) /
              ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=ROUTER_MAC) /
              ICMPv6NDOptAdvInterval(advint=60000) /
              ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1,
                                    validlifetime=3600, preferredlifetime=1800), iface="haA")
        p = peer.take(is_bu, 10, "first BU")
        first_bu_s = time.monotonic() - t0
        self.assertLess(first_bu_s, 1.0, "first BU waited for DAD")
        bu = self.check_bu(p, 150)
        self.assertIn(self.coa, sh("ip", "-6", "addr", "show", "dev", "mnA"))

        # 3. 135 with the HA's own number: the MN continues after it.
        ha_seq = (bu.seq + 1000) % 65536
        self.send_ba(135, ha_seq, 0)
        p = peer.take(is_bu, 5, "BU after status 135")
        bu2 = self.check_bu(p, 150)
        self.assertEqual(bu2.seq, (ha_seq + 1) % 65536)

        # 4. Accept: status 0 with RH2 -> bound.
        self.send_ba(0, bu2.seq, 150)
        bul = wait_for(lambda: [e for e in (self.ctl("show", "bul") or [])
                                if e.get("state") == "bound"], 10, "BUL entry bound")
        self.assertEqual(bul[0]["home_address"], HOA)
        self.assertEqual(bul[0]["peer"], HA)
        self.assertEqual(bul[0]["care_of_address"], self.coa)
        self.assertEqual(bul[0]["lifetime_granted_s"], 600)
        wait_for(lambda: "handover done" in self.daemon_log(), 5, "handover log line")

        # 5. Host path through the TUN, both ways.
        ping = subprocess.Popen(["ping", "-6", "-n", "-c", "3", "-i", "0.3", "-W", "3", CN],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(3):
            p = peer.take(lambda q: UDP in q and q[UDP].dport == 4191 and
                          ICMPv6EchoRequest in inner_of(q), 10, "tunnelled echo request")
            self.assertEqual(p[IPv6].src, self.coa)
            self.assertEqual(p[IPv6].dst, HA)
            inner = inner_of(p)
            self.assertEqual(inner.src, HOA)
            self.assertEqual(inner.dst, CN)
            req = inner[ICMPv6EchoRequest]
            self.send_udp(IPv6(src=CN, dst=HOA) /
                          ICMPv6EchoReply(id=req.id, seq=req.seq, data=req.data))
        out, _ = ping.communicate(timeout=15)
        self.assertEqual(ping.returncode, 0, out)

        # 6. Stop: deregistration and clean kernel state.
        self.daemon.send_signal(signal.SIGTERM)
        p = peer.take(lambda q: is_bu(q) and inner_of(q)[MIP6MH_BU].mhtime == 0, 10,
                      "deregistration BU")
        self.check_bu(p, 0)
        self.assertEqual(self.daemon.wait(timeout=10), 0, self.daemon_log())
        self.assertNotIn(f"lookup {TABLE}", sh("ip", "-6", "rule"))
        self.assertEqual(sh("ip", "-6", "route", "show", "table", str(TABLE), check=False).strip(), "")
        self.assertNotIn(self.coa, sh("ip", "-6", "addr", "show", "dev", "mnA"))


if __name__ == "__main__":
    unittest.main()

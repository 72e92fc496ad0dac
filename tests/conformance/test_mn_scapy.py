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
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP  # noqa: E402
from scapy.layers.inet6 import (IPv6, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr,  # noqa: E402
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptAdvInterval,
                                IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, HAO,
                                ICMPv6EchoRequest, ICMPv6EchoReply, in6_chksum,
                                ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptDstLLAddr,
                                ICMPv6HAADRequest, ICMPv6HAADReply, ICMPv6MPAdv, ICMPv6MPSol)
from scapy.layers.inet6 import MIP6MH_BU, MIP6MH_BA, MIP6MH_BRR, MIP6MH_BE  # noqa: E402

conf.verb = 0
BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
MIPSECD = os.environ.get("MIPSECD", os.path.join(BUILD, "mipsecd"))
MIPSECCTL = os.environ.get("MIPSECCTL", os.path.join(BUILD, "mipsecctl"))

HOA, HA, HOME = "2001:db8:8::4", "2001:db8:8::1", "2001:db8:8::/64"
HA2 = "2001:db8:8::2"
HA_ANYCAST = "2001:db8:8:0:fdff:ffff:ffff:fffe"     # RFC 2526 ID 126 in the /64
PREFIX = "2001:db8:1:0:"
ROUTER_LL, ROUTER_MAC = "fe80::1", "02:00:00:00:00:01"
CN = "2001:db8:99::1"
TABLE, MARK = 4191, 0x4d49
V4_COA, V4_ROUTER, HA4 = "192.0.2.10", "192.0.2.1", "198.51.100.1"


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

    def __init__(self, answer_ns=(), iface="haA"):
        self.iface = iface
        self.answer_ns = set(answer_ns)
        self.pkts = []
        self.lock = threading.Lock()
        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=self._add)
        self.sniffer.start()
        time.sleep(0.3)     # let the sniffer socket open before traffic starts

    def _add(self, p):
        if ARP in p and p[ARP].op == 1 and p[ARP].pdst == V4_ROUTER:
            sendp(Ether(src=ROUTER_MAC, dst=p[Ether].src) /
                  ARP(op=2, hwsrc=ROUTER_MAC, psrc=V4_ROUTER, hwdst=p[ARP].hwsrc,
                      pdst=p[ARP].psrc), iface=self.iface)
        if ICMPv6ND_NS in p and p[ICMPv6ND_NS].tgt in self.answer_ns and \
                p[Ether].src != ROUTER_MAC:
            # Neighbour resolution of the HA / router on the home link.
            sendp(Ether(src=ROUTER_MAC, dst=p[Ether].src) /
                  IPv6(src=p[ICMPv6ND_NS].tgt, dst=p[IPv6].src, hlim=255) /
                  ICMPv6ND_NA(R=1, S=1, O=1, tgt=p[ICMPv6ND_NS].tgt) /
                  ICMPv6NDOptDstLLAddr(lladdr=ROUTER_MAC), iface=self.iface)
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


def setup_links():
    """Once per namespace: the veth pair, scapy's side without IPv6."""
    sh("ip", "link", "set", "lo", "up")
    for mn, ha in (("mnA", "haA"), ("mnB", "haB")):
        sh("ip", "link", "add", mn, "type", "veth", "peer", "name", ha)
        with open(f"/proc/sys/net/ipv6/conf/{ha}/disable_ipv6", "w") as f:
            f.write("1")
        sh("ip", "link", "set", ha, "address", ROUTER_MAC)
        sh("ip", "link", "set", ha, "up")
        sh("ip", "link", "set", mn, "up")


def ra(prefix, advint_ms=60000, lifetime=1800, src=ROUTER_LL):
    return (Ether(src=ROUTER_MAC, dst="33:33:00:00:00:01") /
            IPv6(src=src, dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(routerlifetime=lifetime) / ICMPv6NDOptSrcLLAddr(lladdr=ROUTER_MAC) /
            ICMPv6NDOptAdvInterval(advint=advint_ms) /
            ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, L=1, A=1,
                                  validlifetime=3600, preferredlifetime=1800))


class MnCase(unittest.TestCase):
    """One mipsecd (role mn) per test class, scapy on haA."""
    MN_EXTRA = f'home_agent = "{HA}";'
    IFACES = ["mnA"]
    OPTIMISTIC = "true"
    TIMERS = "initial_bindack_timeout_ms = 1500; max_bindack_timeout_ms = 32000;"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mn-scapy-")
        cls.mn_mac = json.loads(sh("ip", "-j", "link", "show", "mnA"))[0]["address"]
        cls.coa = eui64(PREFIX, cls.mn_mac)
        cls.sock = os.path.join(cls.tmp, "ctl.sock")
        cls.conf_path = conf_path = os.path.join(cls.tmp, "mn.conf")
        cls.write_conf(600)
        cls.peer = Peer(answer_ns=(HA, HA2, ROUTER_LL))
        cls.log = open(os.path.join(cls.tmp, "mipsecd.log"), "w+")
        cls.daemon = subprocess.Popen([MIPSECD, "-d", "-c", conf_path], stdout=cls.log,
                                      stderr=subprocess.STDOUT)

    @classmethod
    def write_conf(cls, lifetime):
        with open(cls.conf_path, "w") as f:
            f.write(f"""
node = {{ name = "mn-scapy"; }};
control = {{ socket = "{cls.sock}"; }};
interfaces = ( {", ".join('{ name = "%s"; }' % i for i in cls.IFACES)} );
roles = [ "mn" ];
mn = {{
  home_address = "{HOA}"; home_prefix = "{HOME}"; {cls.MN_EXTRA}
  interfaces = [ {", ".join('"%s"' % i for i in cls.IFACES)} ]; tun = "mip6mn0"; fwmark = {MARK}; table = {TABLE};
  lifetime = {lifetime}; {cls.TIMERS}
  optimistic_first_bu = {cls.OPTIMISTIC}; rs_interval_ms = 300;
}};
""")

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
        # Whatever a killed daemon left behind must not leak into the next class.
        sh("ip", "-6", "rule", "del", "priority", "1000", check=False)
        sh("ip", "-6", "addr", "flush", "dev", "mnA", "scope", "global", check=False)

    def daemon_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def ctl(self, *args):
        out = subprocess.run([MIPSECCTL, "-s", self.sock, "--json", *args],
                             capture_output=True, text=True)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None

    def send_udp(self, inner, src=HA, dst=None):
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IPv6(src=src, dst=dst or self.coa) /
              UDP(sport=4191, dport=4191) / Raw(bytes(inner)), iface="haA")

    def ba_inner(self, status, seq, units, coa, ha=HA):
        mh = MIP6MH_BA(status=status, seq=seq, mhtime=units, cksum=0)
        raw = bytearray(bytes(mh))
        raw[4:6] = in6_chksum(135, IPv6(src=ha, dst=HOA), bytes(raw)).to_bytes(2, "big")
        return (IPv6(src=ha, dst=coa, nh=43) /
                IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) / Raw(bytes(raw)))

    def send_ba(self, status, seq, units, ha=HA, coa=None, rh2=True):
        coa = coa or self.coa
        mh = MIP6MH_BA(status=status, seq=seq, mhtime=units, cksum=0)
        raw = bytearray(bytes(mh))
        ck = in6_chksum(135, IPv6(src=ha, dst=HOA), bytes(raw))
        raw[4:6] = ck.to_bytes(2, "big")
        if rh2:
            inner = (IPv6(src=ha, dst=coa, nh=43) /
                     IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) /
                     Raw(bytes(raw)))
        else:
            inner = IPv6(src=ha, dst=HOA, nh=135) / Raw(bytes(raw))
        self.send_udp(inner, src=ha, dst=coa)

    def bound_entry(self):
        return wait_for(lambda: [e for e in (self.ctl("show", "bul") or [])
                                 if e.get("state") == "bound"], 10, "BUL entry bound")[0]

    def register(self, coa=None, ha=HA):
        """Takes the next BU for coa and accepts it."""
        coa = coa or self.coa
        p = self.peer.take(lambda q: is_bu(q) and q[IPv6].src == coa and q[IPv6].dst == ha,
                           10, "BU from " + coa)
        bu = self.check_bu(p, 150, coa=coa, ha=ha)
        self.send_ba(0, bu.seq, 150, ha=ha, coa=coa)
        return bu

    def check_bu(self, p, lifetime_units, coa=None, ha=HA):
        coa = coa or self.coa
        self.assertEqual(p[IPv6].src, coa)
        self.assertEqual(p[IPv6].dst, ha)
        self.assertEqual(p[UDP].sport, 4191)
        inner = inner_of(p)
        self.assertEqual(inner.src, coa)
        self.assertEqual(inner.dst, ha)
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
        self.assertEqual(got, in6_chksum(135, IPv6(src=HOA, dst=ha), bytes(raw)))
        return bu


class Registration(MnCase):

    def test_registration_and_host_path(self):
        peer = self.peer
        # 1. RS when the link is up at start.
        peer.take(lambda p: ICMPv6ND_RS in p and p[IPv6].dst == "ff02::2", 15, "RS")
        # Policy routing is in place before any registration.
        self.assertIn(f"not from all fwmark {MARK:#x} lookup {TABLE}", sh("ip", "-6", "rule"))
        self.assertIn("default dev mip6mn0", sh("ip", "-6", "route", "show", "table", str(TABLE)))
        self.assertIn(HOA + "/128", sh("ip", "-6", "addr", "show", "dev", "mip6mn0"))

        # 2. RA -> CoA -> BU without waiting for DAD.
        # (Gaps from the capture timestamps, not from when Python looked.)
        t0 = time.time()
        sendp(ra("2001:db8:1::"), iface="haA")
        p = peer.take(is_bu, 10, "first BU")
        first_bu_s = float(p.time) - t0
        self.assertLess(first_bu_s, 0.9, "first BU waited for DAD")
        bu = self.check_bu(p, 150)
        self.assertIn(self.coa, sh("ip", "-6", "addr", "show", "dev", "mnA"))
        # Unanswered: retransmitted after InitialBindackTimeoutFirstReg (1.5 s),
        # as a new BU with the next sequence number (§11.8).
        t1 = float(p.time)
        p = peer.take(is_bu, 5, "retransmitted BU")
        gap = float(p.time) - t1
        self.assertTrue(1.4 < gap < 2.0, gap)
        bu = self.check_bu(p, 150)
        self.assertEqual(self.ctl("show", "bul")[0]["retransmissions"], 1)

        # 3. 135 with the HA's own number: the MN continues after it.
        ha_seq = (bu.seq + 1000) % 65536
        self.send_ba(135, ha_seq, 0)
        p = peer.take(is_bu, 5, "BU after status 135")
        bu2 = self.check_bu(p, 150)
        self.assertEqual(bu2.seq, (ha_seq + 1) % 65536)

        # 4. Accept: status 0 with RH2 -> bound.
        self.send_ba(0, bu2.seq, 150)
        e = self.bound_entry()
        self.assertEqual(e["home_address"], HOA)
        self.assertEqual(e["peer"], HA)
        self.assertEqual(e["care_of_address"], self.coa)
        self.assertEqual(e["lifetime_granted_s"], 600)
        wait_for(lambda: "handover done" in self.daemon_log(), 5, "handover log line")

        # Binding Refresh Request (§11.7.4): a refresh BU follows at once.
        brr = bytearray(bytes(MIP6MH_BRR(cksum=0)))
        brr[4:6] = in6_chksum(135, IPv6(src=HA, dst=HOA), bytes(brr)).to_bytes(2, "big")
        self.send_udp(IPv6(src=HA, dst=self.coa, nh=43) /
                      IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) /
                      Raw(bytes(brr)))
        p = peer.take(is_bu, 5, "BU answering the BRR")
        bu3 = self.check_bu(p, 150)
        self.assertEqual(bu3.seq, (bu2.seq + 1) % 65536)
        self.send_ba(0, bu3.seq, 150)
        wait_for(lambda: self.ctl("show", "bul")[0]["state"] == "bound", 5, "bound after BRR")
        # Binding Error status 1 from the HA (no binding for our HAO,
        # §11.3.6): the MN registers again.
        be = bytearray(bytes(MIP6MH_BE(status=1, ha=HOA, cksum=0)))
        be[4:6] = in6_chksum(135, IPv6(src=HA, dst=self.coa), bytes(be)).to_bytes(2, "big")
        self.send_udp(IPv6(src=HA, dst=self.coa, nh=135) / Raw(bytes(be)))
        p = peer.take(is_bu, 5, "BU answering the Binding Error")
        bu4 = self.check_bu(p, 150)
        self.send_ba(0, bu4.seq, 150)
        wait_for(lambda: self.ctl("show", "bul")[0]["state"] == "bound", 5, "bound after BE")
        self.assertEqual(bu4.seq, (bu3.seq + 1) % 65536)
        # A BA with a stale sequence number is ignored (§11.7.3).
        self.send_ba(0, bu2.seq, 150)
        wait_for(lambda: self.ctl("stats").get("mipsec_bul_ba_ignored_total") == 1, 5,
                 "stale BA ignored")
        st = self.ctl("stats")
        self.assertEqual(st['mipsec_mn_ba_received_total{status="135"}'], 1)
        self.assertEqual(st['mipsec_mn_ba_received_total{status="accepted"}'], 4)
        self.assertEqual(st["mipsec_mn_bu_sent_total"], 5)
        self.assertEqual(st["mipsec_mn_be_received_total"], 1)
        self.assertEqual(st["mipsec_mn_handovers_total"], 1)
        self.assertEqual(self.ctl("show", "bul")[0]["state"], "bound")

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


def mh_ba_natd(seq, units, refresh):
    """BA + NAT Detection option (RFC 5555 §4.2.1, type 31, 4n) built by
    hand: scapy has no class for it. Checksum left for the caller."""
    opt = bytes([31, 6, 0, 0]) + refresh.to_bytes(4, "big")
    body = bytes([0, 0]) + seq.to_bytes(2, "big") + units.to_bytes(2, "big")
    mh = bytearray([59, 0, 6, 0, 0, 0]) + body + opt + bytes([1, 2, 0, 0])
    mh[1] = len(mh) // 8 - 1
    return mh


class Ipv4CareOf(MnCase):
    MN_EXTRA = f'home_agent = "{HA}"; home_agent_ipv4 = "{HA4}";'

    @classmethod
    def setUpClass(cls):
        sh("ip", "-4", "addr", "add", V4_COA + "/24", "dev", "mnA")
        sh("ip", "-4", "route", "add", "default", "via", V4_ROUTER)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        sh("ip", "-4", "addr", "flush", "dev", "mnA", check=False)

    def take_bu4(self, what):
        p = self.peer.take(lambda q: IP in q and UDP in q and q[UDP].dport == 4191 and
                           MIP6MH_BU in IPv6(bytes(q[UDP].payload)), 10, what)
        self.assertEqual(p[IP].src, V4_COA)
        self.assertEqual(p[IP].dst, HA4)
        inner = IPv6(bytes(p[UDP].payload))
        self.assertEqual(inner.src, HOA)           # RFC 5555 §4.2: no HAO, from the HoA
        self.assertEqual(inner.dst, HA)
        self.assertNotIn(IPv6ExtHdrDestOpt, inner)
        bu = inner[MIP6MH_BU]
        self.assertTrue(bu.flags.A and bu.flags.H)
        raw = bytearray(bytes(bu))
        got = int.from_bytes(raw[4:6], "big")
        raw[4:6] = b"\0\0"
        self.assertEqual(got, in6_chksum(135, IPv6(src=HOA, dst=HA), bytes(raw)))
        # Options after the 12-byte fixed part: find the IPv4 CoA option (32).
        opts, i, v4coa = bytes(raw[12:]), 0, None
        while i < len(opts):
            if opts[i] == 0:
                i += 1
                continue
            t, ln = opts[i], opts[i + 1]
            if t == 32:
                self.assertEqual(ln, 6)
                self.assertEqual((12 + i) % 4, 0)  # 4n alignment
                v4coa = socket.inet_ntoa(opts[i + 4:i + 8])
            i += 2 + ln
        self.assertEqual(v4coa, V4_COA)
        return bu

    def send_ba4(self, seq, refresh):
        mh = mh_ba_natd(seq, 150, refresh)
        ck = in6_chksum(135, IPv6(src=HA, dst=HOA), bytes(mh))
        mh[4:6] = ck.to_bytes(2, "big")
        inner = IPv6(src=HA, dst=HOA, nh=135) / Raw(bytes(mh))
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IP(src=HA4, dst=V4_COA) /
              UDP(sport=4191, dport=4191) / Raw(bytes(inner)), iface="haA")

    def test_ipv4_coa_nat_keepalive_then_ipv6(self):
        bu = self.take_bu4("BU over IPv4")
        t_ba = time.monotonic()
        self.send_ba4(bu.seq, 1)                   # NAT detected, refresh every 1 s
        e = self.bound_entry()
        self.assertEqual(e["care_of_address"], V4_COA)
        st = self.ctl("status")
        mn = next(r["state"] for r in st["roles"] if r["name"] == "mn")
        self.assertTrue(mn["nat_detected"])
        # Keepalive: a refresh BU about a second later.
        bu2 = self.take_bu4("NAT keepalive refresh")
        self.assertGreater(time.monotonic() - t_ba, 0.9)
        self.assertEqual(bu2.seq, (bu.seq + 1) % 65536)
        self.send_ba4(bu2.seq, 1)
        # Host traffic rides IPv4 UDP from the IPv4 CoA.
        ping = subprocess.Popen(["ping", "-6", "-n", "-c", "1", "-W", "3", CN],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        p = self.peer.take(lambda q: IP in q and UDP in q and q[UDP].dport == 4191 and
                           ICMPv6EchoRequest in IPv6(bytes(q[UDP].payload)), 10,
                           "echo request over IPv4")
        inner = IPv6(bytes(p[UDP].payload))
        self.assertEqual((p[IP].src, inner.src, inner.dst), (V4_COA, HOA, CN))
        req = inner[ICMPv6EchoRequest]
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IP(src=HA4, dst=V4_COA) /
              UDP(sport=4191, dport=4191) /
              Raw(bytes(IPv6(src=CN, dst=HOA) / ICMPv6EchoReply(id=req.id, seq=req.seq,
                                                                 data=req.data))), iface="haA")
        out, _ = ping.communicate(timeout=10)
        self.assertEqual(ping.returncode, 0, out)
        # An IPv6 router appears: IPv6 is preferred, the MN moves to it.
        sendp(ra("2001:db8:1::"), iface="haA")
        self.register()
        wait_for(lambda: self.bound_entry()["care_of_address"] == self.coa, 10, "bound at v6 CoA")


class WithoutOptimisticDad(MnCase):
    OPTIMISTIC = "false"

    def test_bu_waits_for_dad(self):
        self.peer.take(lambda q: ICMPv6ND_RS in q, 15, "RS at start")
        t0 = time.monotonic()
        sendp(ra("2001:db8:1::"), iface="haA")
        # The kernel's DAD probe for the CoA comes first (from ::), the BU after.
        ns = self.peer.take(lambda q: ICMPv6ND_NS in q and q[ICMPv6ND_NS].tgt == self.coa, 5,
                            "DAD probe")
        self.assertEqual(ns[IPv6].src, "::")
        p = self.peer.take(is_bu, 10, "BU after DAD")
        self.assertGreater(time.monotonic() - t0, 0.5)
        self.check_bu(p, 150)
        self.assertIn("CoA passed DAD", self.daemon_log())


class GiveUpAndRetry(MnCase):
    TIMERS = ("initial_bindack_timeout_ms = 300; max_bindack_timeout_ms = 600; "
              "max_retries = 1;")

    def test_unanswered_registration_is_retried_later(self):
        peer = self.peer
        peer.take(lambda q: ICMPv6ND_RS in q, 15, "RS at start")
        sendp(ra("2001:db8:1::"), iface="haA")
        times = [float(peer.take(is_bu, 5, "BU %d" % i).time) for i in range(3)]
        # 0: first BU; +0.3 s: the one retransmission; given up 0.6 s later,
        # then a fresh registration max_bindack_timeout_ms (0.6 s) after that.
        self.assertTrue(0.25 < times[1] - times[0] < 0.6, times)
        self.assertTrue(1.0 < times[2] - times[1] < 1.8, times)
        self.assertEqual(self.ctl("stats")["mipsec_mn_registration_abandoned_total"], 1)
        self.assertIn("registering again", self.daemon_log())


class TwoLinks(MnCase):
    IFACES = ["mnA", "mnB"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer_b = Peer(answer_ns=(ROUTER_LL,), iface="haB")

    @classmethod
    def tearDownClass(cls):
        cls.peer_b.stop()
        super().tearDownClass()
        sh("ip", "link", "set", "mnA", "up")
        sh("ip", "-6", "addr", "flush", "dev", "mnB", "scope", "global", check=False)

    def test_link_down_moves_to_the_other_link(self):
        mac_b = json.loads(sh("ip", "-j", "link", "show", "mnB"))[0]["address"]
        coa_b = eui64("2001:db8:2:0:", mac_b)
        self.peer.take(lambda q: ICMPv6ND_RS in q, 15, "RS on mnA")
        self.peer_b.take(lambda q: ICMPv6ND_RS in q, 15, "RS on mnB")
        sendp(ra("2001:db8:1::"), iface="haA")
        self.register()
        self.bound_entry()
        # A second link with a router: its CoA is prepared, the binding stays.
        sendp(ra("2001:db8:2::"), iface="haB")
        wait_for(lambda: coa_b in sh("ip", "-6", "addr", "show", "dev", "mnB"), 5, "CoA on mnB")
        with self.assertRaises(AssertionError):
            self.peer_b.take(lambda q: is_bu(q), 1.5, "no BU from the second link")
        self.assertEqual(self.bound_entry()["care_of_address"], self.coa)
        # Link A goes down: the registration moves to B at once.
        sh("ip", "link", "set", "mnA", "down")
        p = self.peer_b.take(lambda q: is_bu(q), 5, "BU from mnB")
        bu = self.check_bu(p, 150, coa=coa_b)
        sendp(Ether(src=ROUTER_MAC, dst=mac_b) / IPv6(src=HA, dst=coa_b) /
              UDP(sport=4191, dport=4191) /
              Raw(bytes(self.ba_inner(0, bu.seq, 150, coa_b))), iface="haB")
        wait_for(lambda: self.bound_entry()["care_of_address"] == coa_b, 10, "bound via mnB")
        self.assertIn("dev mnB", sh("ip", "-6", "route", "show", "default"))
        self.assertNotIn("dev mnA", sh("ip", "-6", "route", "show", "default"))
        line = [ln for ln in self.daemon_log().splitlines() if "handover done" in ln][-1]
        self.assertIn("iface=mnB", line)
        ms = int(line.split(" ms=")[1].split()[0])
        self.assertLess(ms, 2000)


class MovementAndHome(MnCase):
    def status(self):
        st = self.ctl("status") or {}
        return next((r.get("state", {}) for r in st.get("roles", []) if r["name"] == "mn"), {})

    def test_move_lose_router_return_home_leave(self):
        peer = self.peer
        coa1, coa2 = self.coa, eui64("2001:db8:2:0:", self.mn_mac)
        peer.take(lambda q: ICMPv6ND_RS in q, 15, "RS at start")

        # First link.
        sendp(ra("2001:db8:1::"), iface="haA")
        self.register(coa1)
        self.bound_entry()
        # A second router on the link with another prefix while ours is
        # alive: no movement, no BU (no flapping on multi-router links).
        sendp(ra("2001:db8:3::", src="fe80::2"), iface="haA")
        with self.assertRaises(AssertionError):
            peer.take(is_bu, 1.0, "no BU for a second router")
        self.assertEqual(self.bound_entry()["care_of_address"], coa1)

        # New prefix on the link: movement (§11.5.1): new CoA, new BU, old CoA gone.
        t_ra2 = time.monotonic()
        sendp(ra("2001:db8:2::", advint_ms=300), iface="haA")
        self.register(coa2)
        wait_for(lambda: self.bound_entry()["care_of_address"] == coa2, 10, "bound at CoA2")
        addrs = sh("ip", "-6", "addr", "show", "dev", "mnA")
        self.assertIn(coa2, addrs)
        self.assertNotIn(coa1, addrs)
        st = self.status()
        self.assertEqual(st["care_of_address"], coa2)
        self.assertEqual(st["handovers"], 2)
        self.assertGreaterEqual(st["last_handover_ms"], 0)
        self.assertEqual(self.daemon_log().count("handover done"), 2)

        # No RA for 3 advertisement intervals (0.9 s): router lost, CoA
        # removed, the MN solicits a new router.
        wait_for(lambda: coa2 not in sh("ip", "-6", "addr", "show", "dev", "mnA"), 5,
                 "CoA removal after the router is lost")
        self.assertGreater(time.monotonic() - t_ra2, 0.85)
        peer.take(lambda q: ICMPv6ND_RS in q, 5, "RS after the router loss")
        self.assertIn("reason=advertisements_missed", self.daemon_log())

        # Home link (§11.5.5): deregistration from the HoA.
        sendp(ra("2001:db8:8::"), iface="haA")
        p = peer.take(lambda q: is_bu(q) and q[IPv6].src == HOA, 10, "deregistration from home")
        self.assertEqual(p[IPv6].dst, HA)
        inner = inner_of(p)
        self.assertEqual(inner.src, HOA)
        # The HAO, if any, may only repeat the home address.
        if IPv6ExtHdrDestOpt in inner:
            self.assertEqual([o.hoa for o in inner[IPv6ExtHdrDestOpt].options
                              if isinstance(o, HAO)], [HOA])
        bu = inner[MIP6MH_BU]
        self.assertEqual(bu.mhtime, 0)
        self.assertTrue(bu.flags.A and bu.flags.H)
        raw = bytearray(bytes(bu))
        got = int.from_bytes(raw[4:6], "big")
        raw[4:6] = b"\0\0"
        self.assertEqual(got, in6_chksum(135, IPv6(src=HOA, dst=HA), bytes(raw)))
        # The host routing is gone, the HoA sits on the home interface.
        self.assertNotIn(f"lookup {TABLE}", sh("ip", "-6", "rule"))
        self.assertIn(HOA + "/64", sh("ip", "-6", "addr", "show", "dev", "mnA"))
        # BA straight to the HoA; the MN then overrides the HA's proxy NA.
        self.send_ba(0, bu.seq, 0, coa=HOA, rh2=False)
        na = peer.take(lambda q: ICMPv6ND_NA in q and q[ICMPv6ND_NA].tgt == HOA, 5,
                       "NA for the home address")
        self.assertEqual(na[ICMPv6ND_NA].O, 1)
        self.assertEqual(na[IPv6].dst, "ff02::1")
        self.assertEqual(na[ICMPv6NDOptDstLLAddr].lladdr, self.mn_mac)
        wait_for(lambda: all(e["state"] == "idle" for e in self.ctl("show", "bul") or [{}]),
                 5, "BUL entry idle at home")
        self.assertTrue(self.status()["at_home"])

        # Leaving home again: HoA back on the TUN, registration from CoA1.
        sendp(ra("2001:db8:1::"), iface="haA")
        self.register(coa1)
        wait_for(lambda: self.bound_entry()["care_of_address"] == coa1, 10, "bound again")
        self.assertIn(f"lookup {TABLE}", sh("ip", "-6", "rule"))
        self.assertNotIn(HOA + "/64", sh("ip", "-6", "addr", "show", "dev", "mnA"))
        self.assertIn(HOA + "/128", sh("ip", "-6", "addr", "show", "dev", "mip6mn0"))
        self.assertFalse(self.status()["at_home"])

        # Reload with a new lifetime: the next BU (here on a BRR) asks for it.
        self.write_conf(300)
        self.assertIsNotNone(self.ctl("reload"))
        seq = self.bound_entry()["sequence"]
        brr = bytearray(bytes(MIP6MH_BRR(cksum=0)))
        brr[4:6] = in6_chksum(135, IPv6(src=HA, dst=HOA), bytes(brr)).to_bytes(2, "big")
        self.send_udp(IPv6(src=HA, dst=coa1, nh=43) /
                      IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA], nh=135) /
                      Raw(bytes(brr)))
        p = peer.take(is_bu, 5, "BU after the reload")
        bu = self.check_bu(p, 75, coa=coa1)
        self.assertEqual(bu.seq, (seq + 1) % 65536)
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=10), 0)


class HomeAgentDiscovery(MnCase):
    MN_EXTRA = ""   # no home_agent: DHAAD (§11.4.1)

    def test_dhaad_then_next_agent_after_refusal(self):
        peer = self.peer
        peer.take(lambda q: ICMPv6ND_RS in q, 15, "RS at start")
        sendp(ra("2001:db8:1::"), iface="haA")
        # Answer every request until the BU shows up: a reply racing the
        # kernel's installation of the new (optimistic) CoA may be lost,
        # and the MN must then recover by retransmitting (§11.4.1).
        p = None
        for attempt in range(4):
            req = peer.take(lambda q: ICMPv6HAADRequest in q, 10, "DHAAD request")
            self.assertEqual(req[IPv6].src, self.coa)
            self.assertEqual(req[IPv6].dst, HA_ANYCAST)
            # Preference order: HA2 first, then HA; a link-local entry is ignored.
            sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IPv6(src=HA2, dst=self.coa) /
                  ICMPv6HAADReply(id=req[ICMPv6HAADRequest].id,
                                  addresses=[HA2, "fe80::9", HA]), iface="haA")
            try:
                p = peer.take(lambda q: is_bu(q) and q[IPv6].dst == HA2, 4,
                              "BU to the first HA")
                break
            except AssertionError:
                continue
        self.assertIsNotNone(p, "no BU after 4 DHAAD replies")
        bu = self.check_bu(p, 150, ha=HA2)
        self.send_ba(130, bu.seq, 0, ha=HA2)       # insufficient resources
        self.register(ha=HA)
        e = self.bound_entry()
        self.assertEqual(e["peer"], HA)
        self.assertEqual(len(self.ctl("show", "bul")), 1)

        # Home network renumbered (§11.4.3): an MPA with only a new prefix.
        new_hoa = "2001:db8:88::4"
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IPv6(src=HA, dst=self.coa) /
              ICMPv6MPAdv(id=0) /
              ICMPv6NDOptPrefixInfo(prefix="2001:db8:88::", prefixlen=64, L=0, A=1,
                                    validlifetime=7200, preferredlifetime=3600), iface="haA")
        p = peer.take(lambda q: is_bu(q) and any(
            isinstance(o, HAO) and o.hoa == new_hoa
            for o in inner_of(q)[IPv6ExtHdrDestOpt].options), 10, "BU for the new HoA")
        bu = inner_of(p)[MIP6MH_BU]
        raw = bytearray(bytes(bu))
        got = int.from_bytes(raw[4:6], "big")
        raw[4:6] = b"\0\0"
        self.assertEqual(got, in6_chksum(135, IPv6(src=new_hoa, dst=HA), bytes(raw)))
        addrs = sh("ip", "-6", "addr", "show", "dev", "mip6mn0")
        self.assertIn(new_hoa + "/128", addrs)
        self.assertNotIn(HOA + "/128", addrs)
        self.assertEqual([e["home_address"] for e in self.ctl("show", "bul")], [new_hoa])

        # Home prefix about to lapse (valid 61 s, solicit 60 s before): a
        # Mobile Prefix Solicitation to the HA about a second later (§11.4.2).
        t_mpa = time.time()
        sendp(Ether(src=ROUTER_MAC, dst=self.mn_mac) / IPv6(src=HA, dst=self.coa) /
              ICMPv6MPAdv(id=0) /
              ICMPv6NDOptPrefixInfo(prefix="2001:db8:88::", prefixlen=64, L=0, A=1,
                                    validlifetime=61, preferredlifetime=30), iface="haA")
        mps = peer.take(lambda q: ICMPv6MPSol in q, 5, "Mobile Prefix Solicitation")
        self.assertEqual((mps[IPv6].src, mps[IPv6].dst), (self.coa, HA))
        self.assertGreater(float(mps.time) - t_mpa, 0.8)


if __name__ == "__main__":
    setup_links()
    unittest.main()

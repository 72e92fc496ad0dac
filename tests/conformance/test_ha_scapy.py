#!/usr/bin/python3
"""Home agent role against an independent mobile node written with scapy.

The whole test runs in a private user + network namespace (it re-executes
itself under `unshare -r -n`). There mipsecd runs the `ha` role; this
script plays the mobile node from plain UDP sockets, building every packet
with scapy's Mobile IPv6 classes (BU with a Home Address option inside
IPv6 inside UDP 4191, RFC 5555) and checking every answer with scapy:

 - registration: BA status/sequence/lifetime (capped by max_lifetime),
   RH2 address = HoA, source = HA, checksum recomputed by scapy; the binding
   in `mipsecctl show bindings`; the host route and proxy ND entry;
 - tunnel: a packet sent to the HoA from the home side arrives tunnelled at
   the care-of socket; a reverse-tunnelled packet comes out of the TUN to a
   home-side socket; one from the wrong outer source is dropped;
 - Mobile Prefix Solicitation through the tunnel -> MPA listing the home
   prefix; DHAAD request to the Home-Agents anycast address -> reply;
 - IPv4 care-of address (RFC 5555) behind a "NAT" (option != outer source):
   BA with the NAT Detection option;
 - bad input: 132, 135 (with the HA's sequence), 131, 129, 133, 130 (flood
   beyond max_bindings), malformed option (dropped), bad checksum
   (dropped), unknown MH type (BE status 2), HAO without binding (BE
   status 1) - each checked with `mipsecctl stats`;
 - deregistration removes binding, route and proxy entry; a restart
   restores bindings from the SQLite store and reinstalls the route.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

if os.environ.get("HA_TEST_NS") != "1":
    if shutil.which("unshare") is None:
        print("SKIP: unshare not available")
        sys.exit(77)
    env = dict(os.environ, HA_TEST_NS="1")
    p = subprocess.run(["unshare", "-r", "-n", sys.executable, os.path.abspath(__file__)],
                       env=env)
    if p.returncode == 1 and os.environ.get("HA_TEST_DEBUG") is None:
        pass
    sys.exit(p.returncode)

from scapy.all import conf, raw  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (HAO, ICMPv6HAADReply, ICMPv6HAADRequest,  # noqa: E402
                                ICMPv6MPAdv, ICMPv6MPSol, ICMPv6ND_NA, ICMPv6ND_RA,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptHAInfo,
                                ICMPv6NDOptPrefixInfo, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BE,
                                MIP6MH_BU, MIP6MH_Generic, MIP6OptBRAdvice, MIP6OptUnknown)

conf.verb = 0
BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
MIPSECD = os.environ.get("MIPSECD", os.path.join(BUILD, "mipsecd"))
MIPSECCTL = os.environ.get("MIPSECCTL", os.path.join(BUILD, "mipsecctl"))

HA = "2001:db8:8::1"
ANYCAST = "2001:db8:8:0:fdff:ffff:ffff:fffe"
HOA = "2001:db8:8::100"
COA = "2001:db8:c::2"
HOME_HOST = "2001:db8:f::1"
HA4, COA4, NAT_INNER4 = "10.0.8.1", "10.0.9.2", "192.0.2.77"
A, H, L, K = 64, 32, 16, 8          # scapy's 7-bit BU flags field
FAILURES = []
TMP = tempfile.mkdtemp(prefix="test_ha_scapy.")
CTL = os.path.join(TMP, "ctl.sock")
DB = os.path.join(TMP, "ha.db")
LOG = os.path.join(TMP, "mipsecd.log")


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def wait_for(pred, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    check(False, "timed out waiting for " + what)
    return None


def ctl(*args):
    p = subprocess.run([MIPSECCTL, "-s", CTL, "--json"] + list(args), capture_output=True,
                       text=True, timeout=10)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def stats():
    return ctl("stats") or {}


def counter(st, name):
    return st.get(name, 0)


def setup_net():
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "home0", "type", "veth", "peer", "name", "homepeer")
    for ifname in ("home0", "homepeer"):
        # Link-local addresses usable at once (the RA below needs one).
        with open("/proc/sys/net/ipv6/conf/%s/accept_dad" % ifname, "w") as f:
            f.write("0")
    sh("ip", "link", "set", "home0", "up")
    sh("ip", "link", "set", "homepeer", "up")
    sh("ip", "-6", "addr", "add", HA + "/64", "dev", "home0", "nodad")
    sh("ip", "addr", "add", HA4 + "/24", "dev", "home0")
    for a in (COA, HOME_HOST):
        sh("ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
    sh("ip", "addr", "add", COA4 + "/32", "dev", "lo")


PREFIXES = '"2001:db8:8::/64"'
CONF = """
node = { name = "ha1"; };
log = { level = "debug"; };
control = { socket = "%s"; };
interfaces = ( { name = "home0"; } );
roles = [ "ha" ];
ha = {
  home_link = "home0";
  home_prefixes = [ %s ];
  address = "%s";
  address4 = "%s";
  max_bindings = 3;
  max_lifetime = 200;
  database = "%s";
  deny = [ "2001:db8:8::bad" ];
  %s
};
"""


def write_conf(prefixes=PREFIXES, extra=""):
    path = os.path.join(TMP, "ha.conf")
    with open(path, "w") as f:
        f.write(CONF % (CTL, prefixes, HA, HA4, DB, extra))
    return path


def start_daemon():
    conf_path = write_conf()
    log = open(LOG, "a")
    p = subprocess.Popen([MIPSECD, "-c", conf_path], stdout=log, stderr=subprocess.STDOUT)
    ok = wait_for(lambda: p.poll() is None and (ctl("status") or {}).get("roles") is not None
                  and os.path.exists(CTL), "mipsecd control socket")
    if not ok:
        print(open(LOG).read())
        sys.exit(1)
    return p


def stop_daemon(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -9
    check(rc == 0, "mipsecd exits 0 on SIGTERM (rc=%s)" % rc)


class MN:
    """A mobile node's UDP socket at the care-of address (ephemeral port:
    the HA must answer to the source port it saw, as behind a NAT)."""

    def __init__(self, coa=COA, family=socket.AF_INET6):
        self.s = socket.socket(family, socket.SOCK_DGRAM)
        self.s.bind((coa, 0))
        self.s.settimeout(5)
        self.family = family
        self.ha = (HA, 4191) if family == socket.AF_INET6 else (HA4, 4191)

    def send(self, pkt):
        self.s.sendto(raw(pkt), self.ha)

    def recv(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            data, _ = self.s.recvfrom(4096)
        except socket.timeout:
            return None
        return IPv6(data)

    def recv_mh(self, timeout=5):
        """Next inner packet carrying a Mobility Header (skips data)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = self.recv(max(0.05, end - time.monotonic()))
            if p is None:
                return None
            if p.haslayer(MIP6MH_BA) or p.haslayer(MIP6MH_BE):
                return p
        return None


def bu(hoa, seq, lifetime, flags=A | H, coa=COA, options=None):
    return (IPv6(src=coa, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)]) /
            MIP6MH_BU(seq=seq, flags=flags, mhtime=lifetime, options=options or []))


def mh_cksum_ok(p, layer):
    q = p.copy()
    del q[layer].cksum
    return IPv6(raw(q))[layer].cksum == p[layer].cksum


def check_ba(p, what, status, seq, lifetime=None, hoa=HOA, dst=COA, rh2=True):
    if p is None or not p.haslayer(MIP6MH_BA):
        check(False, what + ": BA received")
        return None
    ba = p[MIP6MH_BA]
    check(ba.status == status, "%s: BA status %d (got %d)" % (what, status, ba.status))
    check(ba.seq == seq, "%s: BA sequence %d (got %d)" % (what, seq, ba.seq))
    if lifetime is not None:
        check(ba.mhtime == lifetime, "%s: BA lifetime %d (got %d)" % (what, lifetime, ba.mhtime))
    check(p[IPv6].src == HA, "%s: BA from the HA (%s)" % (what, p[IPv6].src))
    check(p[IPv6].dst == dst, "%s: BA to %s (%s)" % (what, dst, p[IPv6].dst))
    if rh2:
        rh = p.getlayer(IPv6ExtHdrRouting)
        check(rh is not None and rh.type == 2 and list(rh.addresses) == [hoa] and rh.segleft == 1,
              "%s: type 2 routing header holds the HoA" % what)
    check(mh_cksum_ok(p, MIP6MH_BA), "%s: MH checksum verified by scapy" % what)
    return ba


def bindings():
    return {b.get("hoa") or b.get("home_address"): b for b in (ctl("show", "bindings") or [])}


def routes():
    return sh("ip", "-6", "route", "show")


def proxies():
    return sh("ip", "-6", "neigh", "show", "proxy")


def na_listener():
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"homepeer")
    s.settimeout(5)
    return s


def expect_na(s, target):
    """The HA's unsolicited NA on the home link for `target` (§10.4.1)."""
    end = time.monotonic() + 5
    mac = json.loads(sh("ip", "-j", "link", "show", "home0"))[0]["address"]
    while time.monotonic() < end:
        try:
            data, frm = s.recvfrom(2048)
        except socket.timeout:
            break
        if not data or data[0] != 136:
            continue
        na = ICMPv6ND_NA(data)
        if na.tgt != target:
            continue
        lla = na.getlayer(ICMPv6NDOptDstLLAddr)
        check(na.O == 1 and na.S == 0 and na.R == 0, "proxy NA for %s: O set, S and R clear" % target)
        check(lla is not None and lla.lladdr == mac,
              "proxy NA carries the home link's MAC %s (%s)" % (mac, lla.lladdr if lla else None))
        return
    check(False, "unsolicited proxy NA for %s on the home link" % target)


def test_register(mn):
    st0 = stats()
    nal = na_listener()
    mn.send(bu(HOA, 10, 1000))
    # 1000 * 4 s asked, max_lifetime 200 s -> 50 units.
    ba = check_ba(mn.recv_mh(), "register", 0, 10, lifetime=50)
    st = stats()
    check(counter(st, "mipsec_ha_bu_received_total") == counter(st0, "mipsec_ha_bu_received_total") + 1,
          "bu_received counted")
    check(counter(st, 'mipsec_ha_ba_sent_total{status="0"}') >= 1, "ba_sent{status=0} counted")
    check(ba is not None and not (int(ba.flags) & 4), "BA K flag clear (BU had no K)")
    b = bindings().get(HOA)
    check(b is not None, "show bindings lists the HoA")
    if b:
        check(any(v == COA for v in b.values()), "binding care-of address is the CoA: %s" % b)
    check(("%s dev mip6ha0" % HOA) in routes(), "host route HoA/128 dev mip6ha0")
    check(HOA in proxies(), "proxy ND entry on the home link")
    expect_na(nal, HOA)
    nal.close()
    # K flag mirrored; refresh with a newer sequence.
    mn.send(bu(HOA, 11, 10, flags=A | H | K))
    ba = check_ba(mn.recv_mh(), "refresh with K", 0, 11, lifetime=10)
    check(ba is not None and (int(ba.flags) & 4), "BA K flag set as in the BU")


def test_tunnel(mn):
    home = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    home.bind((HOME_HOST, 6000))
    home.settimeout(5)
    st0 = stats()
    home.sendto(b"hello-mn", (HOA, 5000))
    p = mn.recv()
    check(p is not None and p[IPv6].dst == HOA and p[IPv6].src == HOME_HOST and
          p.haslayer(UDP) and p[UDP].dport == 5000 and bytes(p[UDP].payload) == b"hello-mn",
          "packet to the HoA arrives tunnelled at the CoA socket")
    check(counter(stats(), "mipsec_ha_tunnel_packets_total") ==
          counter(st0, "mipsec_ha_tunnel_packets_total") + 1, "tunnel_packets counted")
    inner = IPv6(src=HOA, dst=HOME_HOST) / UDP(sport=5001, dport=6000) / b"hello-home"
    mn.send(inner)
    try:
        data, frm = home.recvfrom(2048)
    except socket.timeout:
        data, frm = None, None
    check(data == b"hello-home" and frm[0] == HOA and frm[1] == 5001,
          "reverse-tunnelled packet comes out of the TUN (from %s)" % (frm,))
    # The same packet from another outer source is not bound: dropped.
    other = MN()
    other.send(inner)
    wait_for(lambda: counter(stats(), "mipsec_ha_reverse_tunnel_dropped_total") >
             counter(st0, "mipsec_ha_reverse_tunnel_dropped_total"),
             "reverse_tunnel_dropped counted")
    home.settimeout(0.3)
    try:
        data, _ = home.recvfrom(2048)
    except socket.timeout:
        data = None
    check(data is None, "spoofed reverse-tunnelled packet does not come out")
    home.close()


def test_mps(mn):
    mn.send(IPv6(src=HOA, dst=HA) / ICMPv6MPSol(id=0x4242))
    p = None
    end = time.monotonic() + 5
    while time.monotonic() < end and p is None:
        q = mn.recv(1)
        if q is not None and q.haslayer(ICMPv6MPAdv):
            p = q
    check(p is not None, "MPA received through the tunnel")
    if p:
        check(p[IPv6].src == HA and p[IPv6].dst == HOA, "MPA from the HA to the HoA")
        check(p[ICMPv6MPAdv].id == 0x4242, "MPA echoes the identifier")
        pi = p.getlayer(ICMPv6NDOptPrefixInfo)
        check(pi is not None and pi.prefix == "2001:db8:8::" and pi.prefixlen == 64,
              "MPA lists the home prefix")
        q = p.copy()
        del q[ICMPv6MPAdv].cksum
        check(IPv6(raw(q))[ICMPv6MPAdv].cksum == p[ICMPv6MPAdv].cksum, "MPA checksum")


def test_dhaad():
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((COA, 0))
    s.settimeout(5)
    s.sendto(raw(ICMPv6HAADRequest(id=0x1234, R=0)), (ANYCAST, 0))
    rep = None
    end = time.monotonic() + 5
    while time.monotonic() < end and rep is None:
        try:
            data, frm = s.recvfrom(2048)
        except socket.timeout:
            break
        if data and data[0] == 145:
            rep = ICMPv6HAADReply(data)
    check(rep is not None and rep.id == 0x1234 and list(rep.addresses) == [HA],
          "DHAAD reply to the anycast request lists the HA (%s)" %
          (rep.addresses if rep else None))
    s.close()


def test_dhaad_tunnel(mn):
    """A DHAAD request inside UDP 4191 (as from behind a NAT) is answered
    the same way."""
    mn.send(IPv6(src=COA, dst=ANYCAST) / ICMPv6HAADRequest(id=0x7777, R=0))
    rep = None
    end = time.monotonic() + 5
    while time.monotonic() < end and rep is None:
        q = mn.recv(1)
        if q is not None and q.haslayer(ICMPv6HAADReply):
            rep = q
    check(rep is not None and rep[IPv6].src == HA and rep[IPv6].dst == COA and
          rep[ICMPv6HAADReply].id == 0x7777 and list(rep[ICMPv6HAADReply].addresses) == [HA],
          "DHAAD through the tunnel answered through the tunnel")
    if rep is not None:
        q = rep.copy()
        del q[ICMPv6HAADReply].cksum
        check(IPv6(raw(q))[ICMPv6HAADReply].cksum == rep[ICMPv6HAADReply].cksum,
              "tunnelled DHAAD reply checksum verified by scapy")


def test_ha_list():
    """Another home agent's RA (H flag, HA Information preference 10, its
    global address in a PIO with the R flag) puts it first in replies."""
    other = "2001:db8:8::2"
    ra = (ICMPv6ND_RA(H=1, routerlifetime=1800) / ICMPv6NDOptHAInfo(pref=10, lifetime=600) /
          ICMPv6NDOptPrefixInfo(prefix=other, prefixlen=64, R=1))
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"homepeer")
    idx = socket.if_nametoindex("homepeer")
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.sendto(raw(ra), ("ff02::1", 0, 0, idx))
    s.close()
    lst = wait_for(lambda: [e for e in (ctl("show", "ha_list") or [])
                            if e.get("address") == other], "learnt home agent in ha_list")
    check(bool(lst) and lst[0].get("preference") == 10, "ha_list entry with preference 10")
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((COA, 0))
    s.settimeout(5)
    s.sendto(raw(ICMPv6HAADRequest(id=0x2345, R=0)), (ANYCAST, 0))
    rep = None
    try:
        while rep is None:
            data, _ = s.recvfrom(2048)
            if data and data[0] == 145:
                rep = ICMPv6HAADReply(data)
    except socket.timeout:
        pass
    check(rep is not None and list(rep.addresses) == [other, HA],
          "DHAAD reply ordered by preference (%s)" % (rep.addresses if rep else None))
    s.close()


def test_reload_mpa(mn):
    """A reload that adds a home prefix pushes unsolicited MPAs to every
    bound mobile node."""
    st0 = stats()
    write_conf(PREFIXES + ', "2001:db8:9::/64"', "refresh_advice = true;")
    subprocess.run([MIPSECCTL, "-s", CTL, "reload"], capture_output=True, timeout=10)
    got = {}
    end = time.monotonic() + 5
    while time.monotonic() < end and len(got) < 2:
        q = mn.recv(1)
        if q is not None and q.haslayer(ICMPv6MPAdv):
            got[q[IPv6].dst] = q
    check(set(got) == {HOA, "2001:db8:8::101"},
          "unsolicited MPAs to the bound HoAs of this CoA (%s)" % sorted(got))
    for q in got.values():
        pfx = set()
        pi = q.getlayer(ICMPv6NDOptPrefixInfo)
        while pi is not None:
            pfx.add("%s/%d" % (pi.prefix, pi.prefixlen))
            pi = pi.payload.getlayer(ICMPv6NDOptPrefixInfo) if pi.payload else None
        check(pfx == {"2001:db8:8::/64", "2001:db8:9::/64"},
              "MPA lists both home prefixes (%s)" % sorted(pfx))
    d = (counter(stats(), 'mipsec_ha_mpa_sent_total{kind="unsolicited"}') -
         counter(st0, 'mipsec_ha_mpa_sent_total{kind="unsolicited"}'))
    check(d == 3, "three unsolicited MPAs counted (got %d)" % d)
    # The reload also turned on the Binding Refresh Advice (lifetime / 2).
    mn.send(bu(HOA, 25, 10))
    ba = check_ba(mn.recv_mh(), "refresh after reload", 0, 25, lifetime=10)
    bra = ba.getlayer(MIP6OptBRAdvice) if ba is not None else None
    check(bra is not None and bra.rinter == 5, "BA carries a Binding Refresh Advice of 5 units")


def test_bad_input(mn):
    st0 = stats()
    mn.send(bu("2001:db8:99::5", 1, 10))
    check_ba(mn.recv_mh(), "foreign HoA", 132, 1, hoa="2001:db8:99::5")
    mn.send(bu(HOA, 5, 10))
    check_ba(mn.recv_mh(), "stale sequence", 135, 11)
    mn.send(bu("2001:db8:8::200", 1, 10, flags=A))
    check_ba(mn.recv_mh(), "H flag clear", 131, 1, hoa="2001:db8:8::200")
    mn.send(bu("2001:db8:8::bad", 1, 10))
    check_ba(mn.recv_mh(), "denied HoA", 129, 1, hoa="2001:db8:8::bad")
    mn.send(bu(HA, 1, 10))
    check_ba(mn.recv_mh(), "the HA's own address as HoA", 129, 1, hoa=HA)
    mn.send(bu(ANYCAST, 1, 10))
    check_ba(mn.recv_mh(), "the Home-Agents anycast address as HoA", 129, 1, hoa=ANYCAST)
    mn.send(bu("2001:db8:8::201", 1, 0))
    check_ba(mn.recv_mh(), "deregistration without binding", 133, 1, hoa="2001:db8:8::201")

    # Malformed option: Alternate CoA (type 3) with 4 octets instead of 16.
    mn.send(bu(HOA, 20, 10, options=[MIP6OptUnknown(otype=3, olen=4, odata=b"\0\0\0\0")]))
    # Bad checksum.
    p = bu(HOA, 21, 10)
    p[MIP6MH_BU].cksum = 0x1234
    mn.send(p)
    wait_for(lambda: counter(stats(), "mipsec_ha_mh_malformed_total") >
             counter(st0, "mipsec_ha_mh_malformed_total"), "mh_malformed counted")
    wait_for(lambda: counter(stats(), "mipsec_ha_mh_checksum_errors_total") >
             counter(st0, "mipsec_ha_mh_checksum_errors_total"), "mh_checksum_errors counted")
    # Neither got an answer: the next BA is the one for sequence 22.
    mn.send(bu(HOA, 22, 10))
    check_ba(mn.recv_mh(), "after dropped BUs", 0, 22)

    # Unknown MH type 42 -> Binding Error status 2.
    mn.send(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) /
            MIP6MH_Generic(mhtype=42, msg=b"\0" * 10))
    p = mn.recv_mh()
    be = p[MIP6MH_BE] if p is not None and p.haslayer(MIP6MH_BE) else None
    check(be is not None and be.status == 2 and be.ha == HOA, "unknown MH type -> BE status 2")
    if be is not None:
        check(mh_cksum_ok(p, MIP6MH_BE), "BE checksum verified by scapy")
    # Data with a HAO for an address without binding -> BE status 1.
    mn.send(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:8::77")]) /
            UDP(sport=1, dport=2) / b"x")
    p = mn.recv_mh()
    be = p[MIP6MH_BE] if p is not None and p.haslayer(MIP6MH_BE) else None
    check(be is not None and be.status == 1 and be.ha == "2001:db8:8::77",
          "HAO without binding -> BE status 1")

    # Flood beyond max_bindings = 3 (HOA is bound already).
    for i, h in enumerate(("2001:db8:8::101", "2001:db8:8::102")):
        mn.send(bu(h, 1, 10))
        check_ba(mn.recv_mh(), "binding %d" % (i + 2), 0, 1, hoa=h)
    mn.send(bu("2001:db8:8::103", 1, 10))
    check_ba(mn.recv_mh(), "beyond max_bindings", 130, 1, hoa="2001:db8:8::103")
    check(len(bindings()) == 3, "three bindings")

    st = stats()
    for name, n in (('mipsec_ha_ba_sent_total{status="132"}', 1),
                    ('mipsec_ha_ba_sent_total{status="135"}', 1),
                    ('mipsec_ha_ba_sent_total{status="131"}', 1),
                    ('mipsec_ha_ba_sent_total{status="129"}', 3),
                    ('mipsec_ha_ba_sent_total{status="133"}', 1),
                    ('mipsec_ha_ba_sent_total{status="130"}', 1),
                    ('mipsec_ha_be_sent_total{status="2"}', 1),
                    ('mipsec_ha_be_sent_total{status="1"}', 1),
                    ("mipsec_ha_mh_malformed_total", 1),
                    ("mipsec_ha_mh_checksum_errors_total", 1)):
        d = counter(st, name) - counter(st0, name)
        check(d == n, "counter %s +%d (got +%d)" % (name, n, d))


def test_ipv4_coa():
    mn4 = MN(COA4, socket.AF_INET)
    hoa = "2001:db8:8::104"
    # Make room first: deregister one of the flood's bindings.
    mn = MN()
    mn.send(bu("2001:db8:8::102", 2, 0))
    check_ba(mn.recv_mh(), "deregister to make room", 0, 2, hoa="2001:db8:8::102", lifetime=0)
    v4coa = MIP6OptUnknown(otype=32, olen=6, odata=b"\0\0" + socket.inet_aton(NAT_INNER4))
    mn4.send(IPv6(src=hoa, dst=HA) / MIP6MH_BU(seq=3, flags=A | H, mhtime=20, options=[v4coa]))
    p = mn4.recv_mh()
    ba = check_ba(p, "IPv4 CoA", 0, 3, lifetime=20, hoa=hoa, dst=hoa, rh2=False)
    if ba is not None:
        natd = [o for o in ba.options if getattr(o, "otype", None) == 31]
        check(len(natd) == 1 and struct.unpack("!HI", bytes(natd[0].odata)[:6])[1] == 110,
              "BA carries the NAT Detection option with refresh time 110 s")
    b = bindings().get(hoa)
    check(b is not None and any(v == COA4 for v in b.values()),
          "binding for the IPv4 CoA keeps the outer source %s: %s" % (COA4, b))
    check(counter(stats(), "mipsec_ha_nat_detected_total") == 1, "nat_detected counted")


def test_deregister(mn):
    mn.send(bu(HOA, 30, 0))
    check_ba(mn.recv_mh(), "deregistration", 0, 30, lifetime=0)
    check(HOA not in bindings(), "binding removed")
    check(HOA not in routes(), "route removed")
    check(HOA not in proxies(), "proxy ND entry removed")


def test_expiry(mn):
    """A binding granted 4 s lapses: binding, route and proxy entry go."""
    h = "2001:db8:8::150"
    mn.send(bu(h, 1, 1))
    check_ba(mn.recv_mh(), "short binding", 0, 1, hoa=h, lifetime=1)
    check(h in routes(), "short binding has its route")
    wait_for(lambda: h not in bindings(), "binding expiry", timeout=15)
    check(h not in routes() and h not in proxies(), "expired binding's route and proxy entry removed")
    check(counter(stats(), "mipsec_ha_bindings_expired_total") == 1, "expiry counted")


def test_lflag(mn):
    """L flag: the link-local address with the HoA's interface identifier
    is proxied too; the L flag cannot change while bound (139)."""
    h, ll = "2001:db8:8::160", "fe80::160"
    nal = na_listener()
    mn.send(bu(h, 1, 10, flags=A | H | L))
    check_ba(mn.recv_mh(), "L flag registration", 0, 1, hoa=h)
    check(h in proxies() and ll in proxies(), "proxy entries for the HoA and %s" % ll)
    expect_na(nal, ll)
    nal.close()
    mn.send(bu(h, 2, 10))
    check_ba(mn.recv_mh(), "L flag dropped while bound", 139, 2, hoa=h)
    mn.send(bu(h, 3, 0, flags=A | H | L))
    check_ba(mn.recv_mh(), "L flag deregistration", 0, 3, hoa=h, lifetime=0)
    check(h not in proxies() and ll not in proxies(), "both proxy entries removed")


def main():
    setup_net()
    d = start_daemon()
    mn = MN()
    try:
        test_register(mn)
        test_tunnel(mn)
        test_mps(mn)
        test_dhaad()
        test_dhaad_tunnel(mn)
        test_ha_list()
        test_bad_input(mn)
        test_ipv4_coa()
        test_reload_mpa(mn)
        test_deregister(mn)
        test_expiry(mn)
        test_lflag(mn)
        before = set(bindings())
        stop_daemon(d)
        check("2001:db8:8::101" not in routes(), "routes removed at stop")
        d = start_daemon()
        after = set(bindings())
        check(before == after and len(after) == 2,
              "bindings restored from the store after restart: %s" % sorted(after))
        check("2001:db8:8::101 dev mip6ha0" in routes(), "route reinstalled after restart")
        check(counter(stats(), "mipsec_ha_bindings_restored_total") == 2, "restored counted")
    finally:
        stop_daemon(d)
    if FAILURES:
        print("\n%d failure(s); daemon log:" % len(FAILURES))
        print(open(LOG).read()[-6000:])
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)
    print("all ha checks passed")


main()

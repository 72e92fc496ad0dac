#!/usr/bin/python3
"""The correspondent node role against a mobile node played by scapy.

mipsecd runs the `cn` role in a private network namespace (the test re-runs
itself under `unshare -n`, or `unshare -r -n` when not root). One veth pair: eth0 (the CN, 2001:db8:c::1)
and peer0, where scapy sends and receives raw frames for the HA, the HoA and
the CoA (default route via fe80::2 = peer0). Everything the MN side needs is
computed here with hashlib/hmac from the RFC 6275 text, never by our code:

 1. HoTI (native IPv6 from the HoA, scapy MIP6MH_HoTI) -> HoT natively to the
    HoA with our cookie; CoTI (in UDP 4191 from the CoA) -> CoT in UDP.
 2. Kbm = SHA1(home token | care-of token); BU with HAO, Nonce Indices and
    the BAD computed here -> BA status 0 whose BAD and checksum verify here;
    "show cn_bindings" lists the binding; "show rr_nonces" the nonces.
 3. A route-optimised UDP packet (HAO, in UDP) reaches a socket on the CN
    with source = HoA; a reply from that socket leaves as UDP to the CoA
    with a RH2 naming the HoA.
 4. A second HoTI while the binding (and its route into the TUN) exists is
    still answered natively, not through the binding.
 5. Bad input: wrong BAD (dropped, counter), BU without Nonce Indices
    (dropped), unknown nonce indices (136, 137, 138, no BAD), HAO data from
    an unknown HoA (BE 1), unknown MH type (BE 2), expiry of nonces after
    nonce_lifetime (136), deregistration with the home token only.
"""
import hashlib
import hmac
import ipaddress
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

if os.environ.get("MIPSEC_CN_NS") != "1":
    if not shutil.which("unshare"):
        print("SKIP: unshare not found")
        sys.exit(77)
    ns = ["unshare", "-n"] if os.getuid() == 0 else ["unshare", "-r", "-n"]
    if subprocess.run(ns + ["true"], capture_output=True).returncode != 0:
        print(f"SKIP: cannot create a network namespace ({' '.join(ns)} failed)")
        sys.exit(77)
    env = dict(os.environ, MIPSEC_CN_NS="1")
    r = subprocess.run(ns + [sys.executable, __file__], env=env)
    sys.exit(r.returncode)

from scapy.all import Ether, IPv6, UDP, Raw, conf  # noqa: E402
from scapy.layers.inet6 import (MIP6MH_BA, MIP6MH_BE, MIP6MH_CoT, MIP6MH_CoTI,  # noqa: E402
                                MIP6MH_HoT, MIP6MH_HoTI)

conf.verb = 0
BUILD = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
MIPSECD = os.environ.get("MIPSECD", os.path.join(BUILD, "mipsecd"))
MIPSECCTL = os.environ.get("MIPSECCTL", os.path.join(BUILD, "mipsecctl"))
CN, HOA, COA, HOA2 = "2001:db8:c::1", "2001:db8:a::10", "2001:db8:b::20", "2001:db8:a::99"
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def sh(*cmd):
    subprocess.run(cmd, check=True)


def a16(a):
    return ipaddress.IPv6Address(a).packed


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def mh_csum(src, dst, mh):
    ph = a16(src) + a16(dst) + struct.pack("!IxxxB", len(mh), 135)
    body = mh[:4] + b"\0\0" + mh[6:]
    return (~csum(ph + body)) & 0xffff


def mh_csum_ok(src, dst, mh):
    ph = a16(src) + a16(dst) + struct.pack("!IxxxB", len(mh), 135)
    return csum(ph + mh) == 0xffff


def bad_auth(kbm, coa, cn, mh, auth_off):
    data = a16(coa) + a16(cn) + mh[:4] + b"\0\0" + mh[6:auth_off] + mh[auth_off + 12:]
    return hmac.new(kbm, data, hashlib.sha1).digest()[:12]


def build_bu(seq, lifetime_units, hni, coni, kbm, coa=COA, hoa=HOA, flags=0x8000,
             nonce=True, corrupt=False):
    """BU bytes laid out by hand from RFC 6275 §6.1.7, §6.2.6, §6.2.7."""
    opts = struct.pack("!BBHH", 4, 4, hni, coni) if nonce else b"\x01\x04\0\0\0\0"
    mh = bytearray(bytes([59, 3, 5, 0, 0, 0]) + struct.pack("!HHH", seq, flags, lifetime_units)
                   + opts + bytes([5, 12]) + bytes(12))
    mh[20:32] = bad_auth(kbm, coa, CN, bytes(mh), 20)
    if corrupt:
        mh[31] ^= 1
    struct.pack_into("!H", mh, 4, mh_csum(hoa, CN, bytes(mh)))
    return bytes(mh)


def hao_hdr(nh, hoa):
    # Destination Options: PadN(2) + HAO at 8n+6 (RFC 6275 §6.3).
    return bytes([nh, 2, 1, 2, 0, 0, 201, 16]) + a16(hoa)


class Wire:
    def __init__(self):
        self.s = conf.L2socket(iface="peer0")
        self.mac_cn = link_mac("eth0")

    def send_native(self, pkt):
        self.s.send(Ether(dst=self.mac_cn) / pkt)

    def send_udp(self, inner, src=COA):
        self.s.send(Ether(dst=self.mac_cn) / IPv6(src=src, dst=CN) / UDP(sport=4191, dport=4191)
                    / Raw(bytes(inner)))

    def expect(self, pred, timeout=5.0):
        """First frame the CN sends that pred() accepts (returns a value)."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            p = self.s.recv()
            if p is None or IPv6 not in p or p[IPv6].src != CN:
                continue
            v = pred(p)
            if v is not None:
                return v

    def expect_udp_inner(self, pred, timeout=5.0):
        def f(p):
            if UDP not in p or p[UDP].sport != 4191 or p[UDP].dport != 4191:
                return None
            inner = bytes(p[UDP].payload)
            return pred(p, inner)
        return self.expect(f, timeout)


def ctl(*args):
    r = subprocess.run([MIPSECCTL, "-s", SOCK, "--json", *args], capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"mipsecctl {args}: {r.stderr}")
    return json.loads(r.stdout)


def counters():
    out = ctl("stats")
    items = out if isinstance(out, list) else out.get("counters", out)
    res = {}
    if isinstance(items, dict):
        return items
    for c in items:
        res[c["name"]] = c["value"]
    return res


def counter(name):
    return counters().get("mipsec_cn_" + name + "_total", 0)


def wait_counter(name, want, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if counter(name) >= want:
            return True
        time.sleep(0.05)
    return False


def link_mac(dev):
    # /sys shows the namespace it was mounted in, not ours: ask netlink.
    out = subprocess.run(["ip", "-j", "link", "show", dev], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0].get("address", "")


def setup_net():
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
    for d in ("eth0", "peer0"):
        sh("sysctl", "-qw", f"net.ipv6.conf.{d}.accept_ra=0")
        sh("sysctl", "-qw", f"net.ipv6.conf.{d}.router_solicitations=0")
        sh("ip", "link", "set", d, "up")
    sh("ip", "-6", "addr", "add", CN + "/64", "dev", "eth0", "nodad")
    mac = link_mac("peer0")
    sh("ip", "-6", "neigh", "replace", "fe80::2", "lladdr", mac, "dev", "eth0", "nud", "permanent")
    sh("ip", "-6", "route", "add", "default", "via", "fe80::2", "dev", "eth0")


def start_daemon(tmp):
    conf_path = os.path.join(tmp, "cn.conf")
    with open(conf_path, "w") as f:
        f.write(f"""
node = {{ name = "cn"; }};
log = {{ level = "debug"; }};
control = {{ socket = "{SOCK}"; }};
interfaces = ( {{ name = "eth0"; }} );
roles = [ "cn" ];
cn = {{ interfaces = [ "eth0" ]; tun = "mip6cn0"; max_bindings = 100;
       kcn_lifetime = 240; nonce_interval = 1; nonce_lifetime = 4;
       max_binding_lifetime = 420; brr_before = 6; be_rate = 1000; }};
""")
    log = open(os.path.join(tmp, "mipsecd.log"), "w")
    p = subprocess.Popen([MIPSECD, "-c", conf_path, "-d"], stdout=log, stderr=subprocess.STDOUT)
    end = time.time() + 20
    while time.time() < end:
        if p.poll() is not None:
            break
        try:
            if ctl("status") is not None and link_mac("mip6cn0") is not None:
                return p, log.name
        except (RuntimeError, json.JSONDecodeError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.1)
    print(open(log.name).read())
    raise SystemExit("mipsecd did not come up")


def rr(w, hoa=HOA, coa=COA):
    """HoTI + CoTI; returns (home token, home index, care-of token, care-of index)."""
    hc, cc = os.urandom(8), os.urandom(8)
    w.send_native(IPv6(src=hoa, dst=CN) / MIP6MH_HoTI(cookie=hc))

    def hot(p):
        if p[IPv6].dst != hoa or MIP6MH_HoT not in p:
            return None
        return p
    p = w.expect(hot)
    check(p is not None, f"HoT for {hoa} arrives natively")
    if p is None:
        return None
    h = p[MIP6MH_HoT]
    check(h.cookie == hc, "HoT carries our home init cookie")
    raw_mh = bytes(p[IPv6].payload)
    check(mh_csum_ok(CN, hoa, raw_mh), "HoT checksum verifies over (CN, HoA)")
    check(UDP not in p, "HoT is not in UDP")
    w.send_udp(IPv6(src=coa, dst=CN) / MIP6MH_CoTI(cookie=cc), src=coa)

    def cot(p, inner):
        ip = IPv6(inner)
        if ip.dst != coa or MIP6MH_CoT not in ip:
            return None
        check(mh_csum_ok(CN, coa, bytes(ip.payload)), "CoT checksum verifies over (CN, CoA)")
        return ip[MIP6MH_CoT]
    c = w.expect_udp_inner(cot)
    check(c is not None, "CoT arrives in UDP 4191 to the CoA")
    if c is None:
        return None
    check(c.cookie == cc, "CoT carries our care-of init cookie")
    return h.token, h.index, c.token, c.index


def send_bu(w, mh, coa=COA, hoa=HOA):
    w.send_udp(IPv6(src=coa, dst=CN, nh=60) / Raw(hao_hdr(135, hoa) + mh), src=coa)


def ba_pred(coa=COA, hoa=HOA):
    def f(p, inner):
        if len(inner) < 64 or inner[6] != 43 or inner[40] != 135:
            return None
        if inner[24:40] != a16(coa) or inner[40 + 8:40 + 24] != a16(hoa) or inner[42] != 2:
            return None
        mh = inner[64:]
        if len(mh) < 12 or mh[2] != 6:
            return None
        return mh
    return f


def main():
    setup_net()
    conf.route6.resync()
    tmp = tempfile.mkdtemp(prefix="mipsec-cn-")
    global SOCK
    SOCK = os.path.join(tmp, "ctl.sock")
    proc, logpath = start_daemon(tmp)
    w = Wire()
    try:
        run(w)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        text = open(logpath).read()
        check(proc.returncode == 0, f"mipsecd exits cleanly on SIGTERM (rc {proc.returncode})")
        check("Sanitizer" not in text and "runtime error" not in text,
              "no sanitizer report from mipsecd")
        if FAILURES:
            print("---- mipsecd log ----")
            print(open(logpath).read()[-6000:])
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("all passed")


def run(w):
    # ---- 1-2: RR and BU --------------------------------------------------
    t = rr(w)
    if t is None:
        return
    ht, hi, ct, ci = t
    kbm = hashlib.sha1(ht + ct).digest()
    send_bu(w, build_bu(1, 25, hi, ci, kbm))
    mh = w.expect_udp_inner(ba_pred())
    check(mh is not None, "BA arrives in UDP to the CoA with RH2(HoA)")
    if mh is None:
        return
    ba = MIP6MH_BA(mh)
    check(ba.status == 0, f"BA status 0 (got {ba.status})")
    check(ba.seq == 1, "BA echoes sequence 1")
    check(ba.mhtime == 25, f"BA lifetime 25 units (got {ba.mhtime})")
    check(mh_csum_ok(CN, HOA, mh), "BA checksum verifies over (CN, HoA)")
    check(len(mh) >= 14 and mh[-14] == 5 and mh[-13] == 12, "BA ends with a 12-octet BAD")
    check(bad_auth(kbm, COA, CN, mh, len(mh) - 12) == mh[-12:], "BA authenticator verifies (hmac)")
    rows = ctl("show", "cn_bindings")
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    s = json.dumps(rows)
    check(HOA in s and COA in s, "cn_bindings lists HoA -> CoA")
    check(len(ctl("show", "rr_nonces")) >= 1, "rr_nonces lists live nonces")
    routes = subprocess.run(["ip", "-6", "route", "show", HOA], capture_output=True,
                            text=True).stdout
    check("mip6cn0" in routes, f"host route {HOA}/128 dev mip6cn0 ({routes.strip()})")

    # ---- 3: route-optimised data both ways --------------------------------
    rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind((CN, 5000))
    rx.settimeout(5)
    udp = UDP(sport=6000, dport=5000) / Raw(b"hello-cn")
    # The UDP checksum covers the home address (RFC 6275 §6.3).
    udp_b = bytes(IPv6(src=HOA, dst=CN) / udp)[40:]
    w.send_udp(IPv6(src=COA, dst=CN, nh=60) / Raw(hao_hdr(17, HOA) + udp_b))
    try:
        data, addr = rx.recvfrom(100)
        check(data == b"hello-cn" and addr[0] == HOA and addr[1] == 6000,
              f"RO packet delivered to the CN host from HoA ({addr[0]})")
    except socket.timeout:
        check(False, "RO packet delivered to the CN host")
    # A Destination Options header with another option next to the HAO
    # (experimental type 0x1e, "skip if unknown"): the HAO goes, the other
    # option stays, and the kernel still accepts the packet.
    opts = bytes([17, 3, 0x1e, 4, 1, 2, 3, 4, 1, 2, 0, 0, 0, 0, 201, 16]) + a16(HOA)
    udp2 = bytes(IPv6(src=HOA, dst=CN) / UDP(sport=6000, dport=5000) / Raw(b"two-opts"))[40:]
    w.send_udp(IPv6(src=COA, dst=CN, nh=60) / Raw(opts + udp2))
    try:
        data, addr = rx.recvfrom(100)
        check(data == b"two-opts" and addr[0] == HOA,
              "RO packet with another destination option delivered from HoA")
    except socket.timeout:
        check(False, "RO packet with another destination option delivered")
    rx.sendto(b"reply", (HOA, 6000))

    def ro(p, inner):
        if len(inner) < 72 or inner[6] != 43 or inner[40] != 17:
            return None
        return inner
    inner = w.expect_udp_inner(ro)
    check(inner is not None, "host packet to HoA leaves as UDP 4191 to the CoA")
    if inner:
        check(inner[24:40] == a16(COA), "inner destination is the CoA")
        check(inner[42] == 2 and inner[43] == 1 and inner[48:64] == a16(HOA),
              "RH2 (type 2, segments left 1) names the HoA")
        check(inner[64 + 8:] == b"reply", "payload intact")
        ip = IPv6(inner)
        check(UDP in ip and ip[UDP].dport == 6000, "scapy sees UDP behind the RH2")

    # ---- 4: HoTI while the binding exists still answered natively --------
    t2 = rr(w)
    check(t2 is not None, "RR again with a binding in place")

    # ---- 5: bad input (fresh tokens each time: nonces live 4 s here) ------
    t = rr(w)
    if t:
        kbm = hashlib.sha1(t[0] + t[2]).digest()
        bad0 = counter("bu_bad_authenticator")
        send_bu(w, build_bu(2, 25, t[1], t[3], kbm, corrupt=True))
        check(wait_counter("bu_bad_authenticator", bad0 + 1), "wrong BAD counted")
        check(w.expect_udp_inner(ba_pred(), timeout=1.0) is None, "wrong BAD: no BA")
    t = rr(w)
    if t:
        kbm = hashlib.sha1(t[0] + t[2]).digest()
        n0 = counter("bu_no_nonce_indices")
        send_bu(w, build_bu(3, 25, t[1], t[3], kbm, nonce=False))
        check(wait_counter("bu_no_nonce_indices", n0 + 1), "BU without Nonce Indices dropped")
        check(w.expect_udp_inner(ba_pred(), timeout=1.0) is None, "no Nonce Indices: no BA")

    # Indices the CN does not know (same ring slot, other index): 136,
    # 137, 138, without BAD (Kbm cannot be computed).
    for which, st in (("home", 136), ("coa", 137), ("both", 138)):
        t = rr(w)
        if not t:
            continue
        hi, ci = t[1], t[3]
        if which in ("home", "both"):
            hi ^= 0x8000
        if which in ("coa", "both"):
            ci ^= 0x8000
        send_bu(w, build_bu(4, 25, hi, ci, hashlib.sha1(t[0] + t[2]).digest()))
        mh = w.expect_udp_inner(ba_pred())
        got = MIP6MH_BA(mh).status if mh else None
        check(got == st, f"unknown {which} nonce index -> BA status {st} (got {got})")
        if mh:
            check(len(mh) == 16, f"status {st} BA has no BAD ({len(mh)} octets)")

    # A native HoTI with a wrong checksum is not answered (the kernel's raw
    # IPPROTO_MH socket or our parser drops it).
    raw0, bad0 = counter("native_mh_received"), counter("mh_malformed")
    hoti = bytearray(bytes(IPv6(src=HOA, dst=CN) / MIP6MH_HoTI(cookie=b"\x01" * 8))[40:])
    check(mh_csum_ok(HOA, CN, bytes(hoti)), "scapy's HoTI checksum agrees with ours")
    hoti[5] ^= 0x01
    w.send_native(IPv6(src=HOA, dst=CN, nh=135) / Raw(bytes(hoti)))
    check(w.expect(lambda p: p if MIP6MH_HoT in p else None, timeout=1.0) is None,
          "HoTI with a wrong checksum: no HoT")
    print("     (dropped by the %s)" % ("kernel" if counter("native_mh_received") == raw0
                                         else "parser, mh_malformed %d -> %d"
                                         % (bad0, counter("mh_malformed"))))

    # Data with a HAO for a home address without binding: BE status 1.
    w.send_udp(IPv6(src=COA, dst=CN, nh=60) / Raw(hao_hdr(17, HOA2) + udp_b))

    def be(p, inner):
        ip = IPv6(inner)
        return ip[MIP6MH_BE] if MIP6MH_BE in ip else None
    b = w.expect_udp_inner(be)
    check(b is not None and b.status == 1 and b.ha == HOA2,
          "HAO without binding -> Binding Error status 1 naming the HoA")
    # Unknown MH type 42: BE status 2.
    mh42 = bytearray([59, 1, 42, 0, 0, 0] + [0] * 10)
    struct.pack_into("!H", mh42, 4, mh_csum(COA, CN, bytes(mh42)))
    w.send_udp(IPv6(src=COA, dst=CN, nh=135) / Raw(bytes(mh42)))
    b = w.expect_udp_inner(be)
    check(b is not None and b.status == 2, "unknown MH type -> Binding Error status 2")

    # Nonces expire nonce_lifetime (4 s) after first use: 136/138.
    t2 = rr(w)
    if t2:
        hi, ci = t2[1], t2[3]
        end = time.time() + 15
        st = None
        seq = 10
        while time.time() < end:
            send_bu(w, build_bu(seq, 25, hi, ci, hashlib.sha1(t2[0] + t2[2]).digest()))
            seq += 1
            mh = w.expect_udp_inner(ba_pred(), timeout=2.0)
            st = MIP6MH_BA(mh).status if mh else None
            if st in (136, 137, 138):
                break
            time.sleep(0.5)
        check(st == 138, f"after nonce_lifetime both indices expire -> 138 (got {st})")

    # Deregistration (lifetime 0) with the home token only.
    t3 = rr(w)
    if t3:
        kbm_d = hashlib.sha1(t3[0]).digest()
        send_bu(w, build_bu(200, 0, t3[1], 0, kbm_d))
        mh = w.expect_udp_inner(ba_pred())
        st = MIP6MH_BA(mh).status if mh else None
        check(st == 0, f"deregistration with the home token only accepted (got {st})")
        if mh:
            check(bad_auth(kbm_d, COA, CN, mh, len(mh) - 12) == mh[-12:],
                  "deregistration BA authenticated with SHA1(home token)")
        routes = subprocess.run(["ip", "-6", "route", "show", HOA], capture_output=True,
                                text=True).stdout
        check("mip6cn0" not in routes, "host route removed")
        check(HOA not in json.dumps(ctl("show", "cn_bindings")), "binding removed")

    # ---- 6: BRR for a binding in use near its expiry, then expiry ----------
    t4 = rr(w)
    if not t4:
        return
    send_bu(w, build_bu(300, 2, t4[1], t4[3], hashlib.sha1(t4[0] + t4[2]).digest()))
    mh = w.expect_udp_inner(ba_pred())
    check(mh is not None and MIP6MH_BA(mh).status == 0 and MIP6MH_BA(mh).mhtime == 2,
          "short binding (8 s) accepted")
    rx.sendto(b"use", (HOA, 6000))    # the binding is in use

    def brr(p, inner):
        if len(inner) < 64 or inner[6] != 43 or inner[40] != 135:
            return None
        return inner[64:] if inner[64 + 2] == 0 else None
    m = w.expect_udp_inner(brr, timeout=8.0)
    check(m is not None, "Binding Refresh Request sent (RH2 to the CoA) before expiry")
    if m:
        check(mh_csum_ok(CN, HOA, m), "BRR checksum verifies over (CN, HoA)")
    e0 = counter("bindings_expired")
    check(wait_counter("bindings_expired", e0 + 1, timeout=12.0), "binding expires")
    routes = subprocess.run(["ip", "-6", "route", "show", HOA], capture_output=True,
                            text=True).stdout
    check("mip6cn0" not in routes, "route gone with the expired binding")


if __name__ == "__main__":
    main()

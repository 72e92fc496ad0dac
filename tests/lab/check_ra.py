#!/usr/bin/python3
"""check_ra.py PCAP [expectations]: check the Router Advertisements in a
capture with scapy, an RA parser none of us wrote.

  --count N        only count: succeed when PCAP holds >= N RAs (tolerates a
                   file still being written); prints the count
  --src MAC        RAs considered are the ones sent from this MAC (and their
                   Source Link-layer Address option must equal it)
  --prefix P/L     a Prefix Information option for P/L must be present; its
                   flags and lifetimes are checked with --L --A --R
                   --valid --preferred
  --M 0|1 --O 0|1 --H 0|1 --lifetime S --mtu N --advint MS
  --hainfo PREF,LIFETIME   Home Agent Information option (absent if omitted)
  --map ADDR,DIST,PREF,R,LIFETIME   MAP option (absent if omitted)
  --interval MIN,MAX  milliseconds; gaps between consecutive multicast RAs
                   must be >= MIN*0.8, at most 2% above MAX+slack (none above 2 s), and their median
                   within [MIN, MAX]
Exit 0 when everything holds, 1 with one line per mismatch otherwise.
"""
import argparse
import ipaddress
import sys

from scapy.all import PcapReader
from scapy.layers.inet6 import (ICMPv6ND_RA, ICMPv6NDOptAdvInterval,
				 ICMPv6NDOptHAInfo, ICMPv6NDOptMAP, ICMPv6NDOptMTU,
				 ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6)
from scapy.layers.l2 import Ether


def read_ras(path, src):
	ras = []
	try:
		for pkt in PcapReader(path):
			if Ether in pkt and IPv6 in pkt and ICMPv6ND_RA in pkt:
				if src and pkt[Ether].src.lower() != src:
					continue
				ras.append(pkt)
	except Exception as e:  # noqa: BLE001 - a file still being written
		if not ras:
			print(f"check_ra: {path}: {e}", file=sys.stderr)
	return ras


def opts(pkt, cls):
	return [l for l in pkt[ICMPv6ND_RA].iterpayloads() if isinstance(l, cls)]


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("pcap")
	ap.add_argument("--count", type=int)
	ap.add_argument("--src")
	ap.add_argument("--prefix")
	ap.add_argument("--L", type=int, default=1)
	ap.add_argument("--A", type=int, default=1)
	ap.add_argument("--R", type=int, default=0)
	ap.add_argument("--valid", type=int)
	ap.add_argument("--preferred", type=int)
	ap.add_argument("--M", type=int)
	ap.add_argument("--O", type=int)
	ap.add_argument("--H", type=int)
	ap.add_argument("--lifetime", type=int)
	ap.add_argument("--mtu", type=int)
	ap.add_argument("--advint", type=int)
	ap.add_argument("--hainfo")
	ap.add_argument("--map")
	ap.add_argument("--interval")
	a = ap.parse_args()
	src = a.src.lower() if a.src else None

	ras = read_ras(a.pcap, src)
	if a.count is not None:
		print(len(ras))
		return 0 if len(ras) >= a.count else 1
	errs = []
	if not ras:
		print(f"no RA in {a.pcap}" + (f" from {src}" if src else ""))
		return 1
	for i, p in enumerate(ras):
		ra = p[ICMPv6ND_RA]
		e = []
		if p[IPv6].hlim != 255:
			e.append(f"hop limit {p[IPv6].hlim} != 255")
		if not ipaddress.ip_address(p[IPv6].src).is_link_local:
			e.append(f"source {p[IPv6].src} not link-local")
		for name, want, got in (("M", a.M, ra.M), ("O", a.O, ra.O),
					("H", a.H, ra.H),
					("router lifetime", a.lifetime, ra.routerlifetime)):
			if want is not None and want != got:
				e.append(f"{name} {got} != {want}")
		slla = opts(p, ICMPv6NDOptSrcLLAddr)
		if src and (not slla or slla[0].lladdr.lower() != src):
			e.append(f"SLLA {[o.lladdr for o in slla]} != {src}")
		if slla and slla[0].lladdr.lower() != p[Ether].src.lower():
			e.append(f"SLLA {slla[0].lladdr} != Ethernet source {p[Ether].src}")
		mtu = opts(p, ICMPv6NDOptMTU)
		if a.mtu is not None and [o.mtu for o in mtu] != [a.mtu]:
			e.append(f"MTU options {[o.mtu for o in mtu]} != [{a.mtu}]")
		ai = opts(p, ICMPv6NDOptAdvInterval)
		if a.advint is not None and [o.advint for o in ai] != [a.advint]:
			e.append(f"advertisement interval {[o.advint for o in ai]} "
				 f"!= [{a.advint}]")
		if a.prefix:
			net = ipaddress.ip_interface(a.prefix)
			pis = [o for o in opts(p, ICMPv6NDOptPrefixInfo)
			       if o.prefixlen == net.network.prefixlen and
			       ipaddress.ip_network(f"{o.prefix}/{o.prefixlen}",
						    strict=False) == net.network]
			if len(pis) != 1:
				e.append(f"{len(pis)} prefix options for {net.network}")
			for o in pis:
				for name, want, got in (
						("L", a.L, o.L), ("A", a.A, o.A), ("R", a.R, o.R),
						("valid", a.valid, o.validlifetime),
						("preferred", a.preferred, o.preferredlifetime)):
					if want is not None and want != got:
						e.append(f"prefix {name} {got} != {want}")
				if a.R and ipaddress.ip_address(o.prefix) != net.ip:
					e.append(f"R set but prefix field {o.prefix} is not "
						 f"the router address {net.ip}")
		ha = opts(p, ICMPv6NDOptHAInfo)
		if a.hainfo:
			pref, life = (int(x) for x in a.hainfo.split(","))
			got = [(o.pref, o.lifetime) for o in ha]
			if got != [(pref, life)]:
				e.append(f"HA info {got} != [({pref}, {life})]")
		elif ha:
			e.append("unexpected Home Agent Information option")
		mp = opts(p, ICMPv6NDOptMAP)
		if a.map:
			addr, dist, pref, r, life = a.map.split(",")
			want = [(int(dist), int(pref), int(r), int(life),
				 ipaddress.ip_address(addr))]
			got = [(o.dist, o.pref, o.R, o.validlifetime,
				ipaddress.ip_address(o.addr)) for o in mp]
			if got != want:
				e.append(f"MAP {got} != {want}")
		elif mp:
			e.append("unexpected MAP option")
		for msg in e:
			errs.append(f"RA #{i} at {float(p.time):.3f}: {msg}")

	if a.interval:
		lo, hi = (int(x) for x in a.interval.split(","))
		times = [float(p.time) for p in ras if p[IPv6].dst == "ff02::1"]
		gaps = [(b - t) * 1000 for t, b in zip(times, times[1:])]
		slack = max(100, hi * 0.5)  # a loaded 2-core CI machine
		if len(gaps) < 3:
			errs.append(f"only {len(times)} multicast RAs: cannot judge "
				    "the interval")
		# A timer never fires early, so a short gap is a real fault. A long
		# one can be the machine (fuzzers share the 2 cores with the lab):
		# a few stragglers are tolerated, a stalled advertiser is not, and
		# the median must sit inside the configured range.
		late = [g for g in gaps if g > hi + slack]
		for g in gaps:
			if g < lo * 0.8 or g > 2000:
				errs.append(f"gap {g:.1f} ms outside [{lo}, {hi}] "
					    f"(slack {lo * 0.2:.0f} ms below, 2 s above)")
		if len(late) > max(1, len(gaps) // 50):
			errs.append(f"{len(late)} of {len(gaps)} gaps above {hi} + {slack:.0f} ms: "
				    + ", ".join(f"{g:.0f}" for g in late[:10]))
		if gaps:
			med = sorted(gaps)[len(gaps) // 2]
			if not lo <= med <= hi:
				errs.append(f"median gap {med:.1f} ms outside [{lo}, {hi}]")
	for msg in errs[:30]:
		print(msg)
	if len(errs) > 30:
		print(f"... {len(errs) - 30} more")
	print(f"{a.pcap}: {len(ras)} RAs checked, {len(errs)} problems")
	return 1 if errs else 0


if __name__ == "__main__":
	sys.exit(main())

#!/usr/bin/python3
"""check_mh_checksums.py PCAP: every Mobility Header carried in UDP 4191
(RFC 5555) in PCAP has the right checksum, computed here with scapy's
internet checksum over the RFC 6275 pseudo-header: source = the Home
Address option's address when there is one, destination = the type 2
routing header's address when there is one (RFC 6275 §6.1.1, §6.3, §6.4).
Prints the count checked; exit 1 on any mismatch or if nothing was checked."""
import socket
import struct
import sys

from scapy.all import HAO, IPv6, UDP, IPv6ExtHdrRouting, checksum, rdpcap

bad = checked = 0
for p in rdpcap(sys.argv[1]):
	if UDP not in p or 4191 not in (p[UDP].sport, p[UDP].dport):
		continue
	raw = bytes(p[UDP].payload)
	inner = IPv6(raw)
	# Walk the extension headers by hand to find the MH (next header 135).
	nh, off = raw[6], 40
	while nh in (0, 43, 60) and off + 2 <= len(raw):
		nh, off = raw[off], off + (raw[off + 1] + 1) * 8
	if nh != 135:
		continue
	mh = bytearray(raw[off:off + (raw[off + 1] + 1) * 8])
	got = struct.unpack("!H", mh[4:6])[0]
	mh[4:6] = b"\0\0"
	src = inner[HAO].hoa if HAO in inner else inner.src
	dst = inner.dst
	if IPv6ExtHdrRouting in inner and inner[IPv6ExtHdrRouting].type == 2:
		dst = inner[IPv6ExtHdrRouting].addresses[0]
	ph = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
	      + struct.pack("!I", len(mh)) + b"\0\0\0\x87")
	want = checksum(ph + bytes(mh))
	checked += 1
	if got != want:
		bad += 1
		print(f"MH type {mh[2]} from {inner.src}: checksum {got:#06x}, should be {want:#06x}")
print(f"{checked} Mobility Headers checked, {bad} bad")
sys.exit(1 if bad or not checked else 0)

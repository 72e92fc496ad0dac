#!/usr/bin/python3
"""`decode` / `encode` as tools: every vector round-trips (encode then
decode gives the input JSON back, byte-exact), pcap input in every link
type we claim, --layer, and malformed input giving the error JSON with a
non-zero exit while the other packets are still decoded."""
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import iptool  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


# Full views, as decode prints them: they pin the JSON schema.
LITERAL = [
    {"ipv6": {"version": 6, "traffic_class": 0, "flow_label": 0, "payload_length": 8,
              "next_header": 58, "hop_limit": 64, "source_address": "2001:db8::1",
              "destination_address": "ff02::2", "extension_headers": [],
              "icmpv6": {"type": 144, "code": 0, "checksum": 49914, "identifier": 3,
                         "r": True, "reserved": 0}}},
    {"ipv4": {"version": 4, "ihl": 5, "type_of_service": 0, "total_length": 104,
              "identification": 7, "reserved_flag": False, "df": False, "mf": False,
              "fragment_offset": 0, "time_to_live": 64, "protocol": 17,
              "header_checksum": 36415, "source_address": "192.0.2.10",
              "destination_address": "198.51.100.1", "options": "",
              "udp": {"source_port": 4191, "destination_port": 4191, "length": 84,
                      "checksum": 8791, "udpencap": {
                          "tlv": {"type": 1, "length": 4, "reserved": 0},
                          "ipv6": {"version": 6, "traffic_class": 0, "flow_label": 0,
                                   "payload_length": 32, "next_header": 60, "hop_limit": 64,
                                   "source_address": "2001:db8:1::100",
                                   "destination_address": "2001:db8:20::2",
                                   "extension_headers": [
                                       {"header": "destination_options", "next_header": 58,
                                        "hdr_ext_len": 2,
                                        "options": [{"type": 1, "opt_data_len": 2},
                                                    {"type": 201, "opt_data_len": 16,
                                                     "home_address": "2001:db8:1::100"}]}],
                                   "icmpv6": {"type": 146, "code": 0, "checksum": 4387,
                                              "identifier": 5, "reserved": 0}}}}}},
]

HOA, COA, HA, CN = "2001:db8:1::100", "2001:db8:30::100", "2001:db8:1::1", "2001:db8:20::2"
ECHO = {"type": 128, "identifier": 1, "sequence_number": 2, "data": "00ff"}
HAO = {"header": "destination_options",
       "options": [{"type": 0}, {"type": 0}, {"type": 0}, {"type": 0},
                   {"type": 201, "home_address": HOA}]}
RH2 = {"header": "routing", "home_address": HOA}
SPARSE = [
    {"ipv6": {"source_address": COA, "destination_address": CN, "extension_headers": [HAO],
              "icmpv6": ECHO}},
    {"ipv6": {"source_address": CN, "destination_address": COA, "extension_headers": [RH2],
              "icmpv6": dict(ECHO, type=129)}},
    {"ipv6": {"source_address": COA, "destination_address": CN,
              "extension_headers": [{"header": "hop_by_hop",
                                     "options": [{"type": 1, "opt_data_len": 4}]}, HAO, RH2],
              "icmpv6": {"type": 147, "identifier": 1, "m": True, "o": True,
                         "options": [{"type": 3, "prefix_length": 64, "a": True,
                                      "valid_lifetime": 1, "preferred_lifetime": 1,
                                      "prefix": "2001:db8:1::"},
                                     {"type": 99, "data": "000000000000"}]}}},
    {"ipv6": {"source_address": HA, "destination_address": COA,
              "icmpv6": {"type": 145, "identifier": 1, "home_agent_addresses": [HA]}}},
    {"ipv6": {"source_address": HA, "destination_address": COA,
              "icmpv6": {"type": 3, "code": 0, "invoking_packet": "6000"}}},
    {"ipv6": {"source_address": HA, "destination_address": COA,
              "icmpv6": {"type": 200, "code": 9, "data": "0102030405"}}},
    {"ipv6": {"source_address": COA, "destination_address": CN,
              "extension_headers": [{"header": "routing", "routing_type": 0, "segments_left": 0,
                                     "data": "00000000"}],
              "payload": "", "next_header": 43}},
    {"ipv6": {"source_address": COA, "destination_address": HA,
              "ipv6": {"source_address": HOA, "destination_address": CN, "icmpv6": ECHO}}},
    {"ipv4": {"source_address": "10.0.0.1", "destination_address": "10.0.0.2",
              "udp": {"source_port": 4191, "destination_port": 4191, "checksum": 0,
                      "udpencap": {"tlv": {}, "esp": {"spi": 1, "sequence_number": 2,
                                                      "data": "ab"}}}}},
    {"ipv4": {"source_address": "10.0.0.1", "destination_address": "10.0.0.2",
              "ipv6": {"source_address": HOA, "destination_address": CN, "icmpv6": ECHO}}},
    # bytes after a UDP length and after a tunnelled packet are kept
    {"ipv6": {"source_address": COA, "destination_address": CN,
              "udp": {"source_port": 1, "destination_port": 2, "payload": "0102",
                      "trailing": "abcd"}}},
    {"ipv6": {"source_address": COA, "destination_address": HA,
              "ipv6": {"source_address": HOA, "destination_address": CN, "icmpv6": ECHO,
                       "trailing": "00"}}},
    # a TLV header longer than ours: its extra bytes are kept
    {"ipv4": {"source_address": "10.0.0.1", "destination_address": "10.0.0.2",
              "udp": {"source_port": 4191, "destination_port": 4191,
                      "udpencap": {"tlv": {"length": 8, "data": "01020304"},
                                   "ipv4": {"source_address": "10.9.9.9",
                                            "destination_address": "10.8.8.8",
                                            "payload": "", "protocol": 59}}}}},
    {"ipv4": {"source_address": "10.0.0.1", "destination_address": "10.0.0.2", "mf": True,
              "protocol": 17, "payload": "0011"}},
]


def roundtrip(vectors):
    rc, blobs = iptool.encode(vectors)
    check(rc == 0, f"encode rc {rc}: {blobs}")
    rc, objs = iptool.decode(blobs)
    check(rc == 0, f"decode rc {rc}: {objs}")
    return blobs, objs


def test_roundtrip():
    _, objs = roundtrip(LITERAL)
    for v, o in zip(LITERAL, objs):
        check(o == v, f"literal vector changed:\n {json.dumps(v)}\n {json.dumps(o)}")
    blobs, full = roundtrip(SPARSE)
    # the full views are vectors too: encode(full) gives the same bytes
    # and decode gives the same view
    blobs2, full2 = roundtrip(full)
    for i, (a, b, x, y) in enumerate(zip(blobs, blobs2, full, full2)):
        check(a == b, f"vector {i}: bytes differ after re-encoding")
        check(x == y, f"vector {i}: view differs after re-encoding")
    return blobs


# Mobility Headers inside IPv6 (scapy-built BU with HAO, BA with RH2):
# whatever the MH view looks like, it must round-trip to the same bytes.
MH_PACKETS = [bytes.fromhex("6000000000283c4020010db800300000000000000000010020010db8000100000000000000000001870201020000c91020010db80001000000000000000001003b01050001e100056000000a01020000"),
              bytes.fromhex("6000000000282b4020010db800010000000000000000000120010db8003000000000000000000100870202010000000020010db80001000000000000000001003b010600606100800005000a01020000")]


def test_mh_roundtrip():
    rc, views = iptool.decode(MH_PACKETS)
    check(rc == 0 and all("mh" in v.get("ipv6", {}) for v in views), f"MH decode: {views}")
    rc, blobs = iptool.encode(views)
    check(rc == 0 and blobs == MH_PACKETS, "MH packets re-encode to the same bytes")
    rc, again = iptool.decode(blobs)
    check(again == views, "MH views round-trip")


def test_layers():
    icmp = bytes.fromhex("9000000000038000")
    o = iptool.decode1(icmp, ["--layer", "icmp6"])
    check(o == {"icmpv6": {"type": 144, "code": 0, "checksum": 0, "identifier": 3, "r": True,
                           "reserved": 0}}, f"--layer icmp6: {o}")
    v6 = iptool.encode1(SPARSE[0])
    o = iptool.decode1(bytes([1, 4, 0, 0]) + v6, ["--layer", "udpencap"])
    check(o["udpencap"]["tlv"]["type"] == 1 and "ipv6" in o["udpencap"], f"--layer udpencap: {o}")
    o = iptool.decode1(v6, ["--layer", "ipv6"])
    check("ipv6" in o, "--layer ipv6")
    rc, objs = iptool.decode(v6, ["--layer", "ipv4"])
    check(rc == 1 and objs[0] == {"error": "ipv4: version 6 must be 4"}, f"--layer ipv4 on v6: {objs}")
    # a Binding Update (PadN to 16 bytes) as a bare Mobility Header
    bu = bytes.fromhex("3b01050000000001000000100102" + "0000")
    o = iptool.decode1(bu, ["--layer", "mh"])
    check(list(o) == ["mh"], f"--layer mh: {o}")
    rc, out, err = iptool.run("decode", "", ["--layer", "bogus"])
    check(rc == 2, "unknown layer exits 2")


def pcap_bytes(packets, linktype, big=False, nano=False):
    e = ">" if big else "<"
    out = struct.pack(e + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                      linktype)
    for i, p in enumerate(packets):
        out += struct.pack(e + "IIII", i, 0, len(p), len(p)) + p
    return out


def frame(linktype, p, vlan=False):
    et = b"\x86\xdd" if p[0] >> 4 == 6 else b"\x08\x00"
    if linktype == 1:
        tag = b"\x81\x00\x00\x05" if vlan else b""
        return b"\x02" * 6 + b"\x04" * 6 + tag + et + p + (b"\0" * 8 if p[0] >> 4 == 4 else b"")
    if linktype == 113:
        return struct.pack(">HHH8s", 0, 1, 6, b"\x02" * 8) + et + p
    if linktype == 276:
        return et + b"\0\0" + struct.pack(">IHBB8s", 2, 1, 0, 6, b"\x02" * 8) + p
    return p


def test_pcap(blobs):
    _, want = iptool.decode(blobs)
    v6 = [b for b in blobs if b[0] >> 4 == 6]
    v4 = [b for b in blobs if b[0] >> 4 == 4]
    _, want6 = iptool.decode(v6)
    _, want4 = iptool.decode(v4)
    cases = [("raw", 101, blobs, want, {}), ("ethernet", 1, blobs, want, {}),
             ("vlan", 1, blobs, want, {"vlan": True}), ("sll", 113, blobs, want, {}),
             ("sll2", 276, blobs, want, {}), ("ipv6", 229, v6, want6, {}),
             ("ipv4", 228, v4, want4, {})]
    with tempfile.TemporaryDirectory() as d:
        for name, lt, pkts, exp, kw in cases:
            for big, nano in ((False, False), (True, True)):
                path = os.path.join(d, f"{name}.pcap")
                with open(path, "wb") as f:
                    f.write(pcap_bytes([frame(lt, p, **kw) for p in pkts], lt, big, nano))
                rc, out, err = iptool.run("decode", "", ["--pcap", path])
                got = [json.loads(l) for l in out.splitlines()]
                check(rc == 0 and got == exp, f"pcap {name} big={big}: rc {rc} {err} {got[:1]}")
        # malformed pcaps
        path = os.path.join(d, "bad.pcap")
        data = pcap_bytes(blobs[:2], 101)
        with open(path, "wb") as f:
            f.write(data[:-3])
        rc, out, err = iptool.run("decode", "", ["--pcap", path])
        got = [json.loads(l) for l in out.splitlines()]
        check(rc == 1 and got[0] == want[0] and got[-1] == {
            "error": f"pcap: record 2 length {len(blobs[1])} overruns file"},
            f"truncated pcap: {got}")
        with open(path, "wb") as f:
            f.write(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
        rc, out, err = iptool.run("decode", "", ["--pcap", path])
        check(rc == 1 and json.loads(out) == {"error": "pcap: bad magic (not a classic pcap file)"},
              f"pcapng refused: {out}")
        with open(path, "wb") as f:
            f.write(pcap_bytes([b"\x02" * 12 + b"\x08\x06" + b"\0" * 28], 1))
        rc, out, err = iptool.run("decode", "", ["--pcap", path])
        check(rc == 1 and json.loads(out) == {
            "error": "pcap: ethertype 0x0806 is neither IPv4 nor IPv6"}, f"arp: {out}")


def test_malformed(blobs):
    good = blobs[0]
    bad = bytearray(good)
    # first vector: Pad1 x4 + HAO; shrink the HAO length to 12
    bad[40 + 7] = 12
    rc, out, err = iptool.run("decode", good.hex() + "\n" + bytes(bad).hex() + "\n\n" +
                              " ".join(f"{b:02x}" for b in good) + "\nabc\n0g\n")
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 1, f"malformed input exits {rc}")
    check(len(lines) == 5, f"every packet processed: {lines}")
    if len(lines) == 5:
        check("ipv6" in lines[0] and lines[2] == lines[0], "good packets around the bad one")
        check(lines[1] == {"error": "ipv6.hao: option length 12 must be 16"}, f"{lines[1]}")
        check(lines[3] == {"error": "hex: odd number of hex digits"}, f"{lines[3]}")
        check(lines[4] == {"error": "hex: 'g' is not a hex digit"}, f"{lines[4]}")
    # truncated at every offset: always an error object, never a crash
    rc, objs = iptool.decode([good[:n] for n in range(1, len(good))])
    check(rc == 1 and all("error" in o for o in objs), "every truncation is an error")
    check(objs[0] == {"error": "ipv6: 1 bytes, header needs 40"}, f"1 byte: {objs[0]}")
    # encode errors
    rc, res = iptool.encode([{"ipv6": {"destination_address": CN}}, SPARSE[0],
                             {"ipv6": {"source_address": COA, "destination_address": CN,
                                       "hop_limit": 256}}, {"nothing": 1}])
    check(rc == 1, "encode of a bad object exits 1")
    check(res[0] == {"error": "encode.ipv6: missing field source_address"}, f"{res[0]}")
    check(isinstance(res[1], bytes), "good object still encoded")
    check(res[2] == {"error": "encode.ipv6: field hop_limit must be an integer in 0..255"},
          f"{res[2]}")
    check(res[3] == {"error": "encode: object has none of ipv6, ipv4, udpencap, mh, icmpv6"},
          f"{res[3]}")
    rc, res = iptool.encode({"ipv6": {"source_address": COA, "destination_address": CN,
                                      "extension_headers": [{"header": "destination_options",
                                                             "options": [{"type": 201,
                                                                          "home_address": HOA}]}]}})
    check(res[0] == {"error": "encode.ipv6.dstopt: options end at 20, not a multiple of 8 (add padding)"},
          f"{res[0]}")


def test_mutations(blobs):
    """Random byte flips, truncations and extensions of every vector (the
    tool is built with ASan/UBSan in the test builds): never a crash, one
    object per packet, and each is a view or an error."""
    import random
    rnd = random.Random(5555)
    pkts = []
    for b in blobs + MH_PACKETS:
        for _ in range(150):
            m = bytearray(b)
            for _ in range(rnd.randint(1, 4)):
                op = rnd.random()
                if op < 0.6:
                    m[rnd.randrange(len(m))] = rnd.randrange(256)
                elif op < 0.8:
                    if len(m) > 1:
                        del m[rnd.randrange(1, len(m)):]
                else:
                    m += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
            if m:
                pkts.append(bytes(m))
    rc, out, err = iptool.run("decode", "".join(p.hex() + "\n" for p in pkts))
    check(rc in (0, 1), f"mutations: exit {rc}: {err[-2000:]}")
    lines = out.splitlines()
    check(len(lines) == len(pkts), f"mutations: {len(lines)} lines for {len(pkts)} packets")
    for l in lines:
        o = json.loads(l)
        check(len(o) == 1 and (list(o)[0] in ("ipv6", "ipv4", "error")), f"mutation view {l[:200]}")
    # whatever decodes also re-encodes to the same bytes
    views = [(p, json.loads(l)) for p, l in zip(pkts, lines) if not l.startswith('{"error"')]
    rc, res = iptool.encode([v for _, v in views])
    bad = [p.hex() for (p, _), r in zip(views, res) if r != p[:len(r)] or not isinstance(r, bytes)]
    check(not bad, f"mutations: {len(bad)} decodable packets do not re-encode, e.g. {bad[:2]}")


def main():
    blobs = test_roundtrip()
    test_mh_roundtrip()
    test_layers()
    test_pcap(blobs)
    test_malformed(blobs)
    test_mutations(blobs)
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

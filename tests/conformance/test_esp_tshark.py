#!/usr/bin/python3
"""ESP packets built by src/ipsec (through tests/tools/esp_tool) checked
against implementations nobody here wrote:

1. tshark decrypts them (IPv6/UDP 4500 as RFC 3948 NAT-T, and IPv6/ESP)
   with the esp_sa UAT record our SAD exports, verifies the ICV, and the
   decrypted inner packet must equal the original bytes - for every
   transform the installed Wireshark supports (4.0 has no ChaCha20 and no
   ESN for ESP; those are covered by 2).
2. A reference built here from the OpenSSL command line (AES-ECB/CTR,
   ChaCha20 and AES-CBC ciphers only) plus GHASH, Poly1305 and HMAC
   written in Python: GCM and ChaCha20-Poly1305 packets must match
   byte for byte (the explicit IV is the sequence number, so they are
   deterministic), CBC packets must decrypt and authenticate, with and
   without ESN across the 2^32 boundary. The reference itself is first
   checked on the GCM specification's test case 2 and the RFC 8439
   2.8.2 AEAD vector.
3. esp_tool decap accepts the reference's packets and rejects tampered ones.
"""
import hashlib
import hmac
import os
import struct
import subprocess
import sys
import tempfile

from scapy.all import IPv6, UDP, Raw, wrpcap  # noqa: E402

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "esp_tool")
SRC, DST = "2001:db8::1", "2001:db8::2"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


# ---- reference primitives: OpenSSL CLI ciphers + Python MACs ----

def openssl(cipher, key, data, iv=None, decrypt=False):
    cmd = ["openssl", "enc", "-" + cipher, "-nopad", "-K", key.hex()]
    if iv is not None:
        cmd += ["-iv", iv.hex()]
    if decrypt:
        cmd.append("-d")
    return subprocess.run(cmd, input=data, capture_output=True,
                          check=True).stdout


def gf_mult(x, y):
    r, z, v = 0xE1 << 120, 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def ghash(h, aad, ct):
    def blocks(b):
        b += bytes(-len(b) % 16)
        return [b[i:i + 16] for i in range(0, len(b), 16)]
    y = 0
    lens = struct.pack(">QQ", len(aad) * 8, len(ct) * 8)
    for blk in blocks(aad) + blocks(ct) + [lens]:
        y = gf_mult(y ^ int.from_bytes(blk, "big"), h)
    return y


def ref_gcm(key, nonce, aad, pt):
    bits = len(key) * 8
    h = int.from_bytes(openssl(f"aes-{bits}-ecb", key, bytes(16)), "big")
    ek_j0 = openssl(f"aes-{bits}-ecb", key, nonce + b"\0\0\0\1")
    ct = openssl(f"aes-{bits}-ctr", key, pt, nonce + b"\0\0\0\2") if pt else b""
    tag = (ghash(h, aad, ct) ^ int.from_bytes(ek_j0, "big")).to_bytes(16, "big")
    return ct, tag


def poly1305(otk, msg):
    r = int.from_bytes(otk[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(otk[16:], "little")
    p, a = (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        a = (a + int.from_bytes(msg[i:i + 16] + b"\1", "little")) * r % p
    return ((a + s) % (1 << 128)).to_bytes(16, "little")


def ref_chacha(key, nonce, aad, pt):
    # openssl's -chacha20 IV is the 32-bit little-endian block counter
    # followed by the 96-bit nonce (RFC 8439 2.3).
    otk = openssl("chacha20", key, bytes(64), b"\0\0\0\0" + nonce)[:32]
    ct = openssl("chacha20", key, pt, b"\1\0\0\0" + nonce) if pt else b""

    def pad16(b):
        return bytes(-len(b) % 16)
    mac = aad + pad16(aad) + ct + pad16(ct) + struct.pack("<QQ", len(aad), len(ct))
    return ct, poly1305(otk, mac)


def self_test():
    ct, tag = ref_gcm(bytes(16), bytes(12), b"", bytes(16))
    check(ct.hex() == "0388dace60b6a392f328c2b971b2fe78" and
          tag.hex() == "ab6e47d42cec13bdf53a67b21257bddf",
          "reference GCM: GCM spec test case 2")
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you "
          b"only one tip for the future, sunscreen would be it.")
    ct, tag = ref_chacha(bytes(range(0x80, 0xa0)),
                         bytes.fromhex("070000004041424344454647"),
                         bytes.fromhex("50515253c0c1c2c3c4c5c6c7"), pt)
    check(ct[:16].hex() == "d31a8d34648e60db7b86afbc53ef7ec2" and
          tag.hex() == "1ae10b594f09e26a7e902ecbd0600691",
          "reference ChaCha20-Poly1305: RFC 8439 2.8.2")


# ---- transforms ----

XFORMS = {
    "aes128gcm16": dict(key=bytes(range(1, 17)) + bytes.fromhex("cafebabe"), aead="gcm"),
    "aes256gcm16": dict(key=bytes(range(33, 65)) + bytes.fromhex("0badf00d"), aead="gcm"),
    "chacha20poly1305": dict(key=bytes(range(100, 132)) + bytes.fromhex("01020304"),
                             aead="chacha"),
    "aes128-sha256": dict(key=bytes(range(7, 23)), auth=bytes(range(200, 232))),
    "aes256-sha256": dict(key=bytes(range(9, 41)), auth=bytes(range(150, 182))),
}


def sa_args(name, spi, esn=False):
    x = XFORMS[name]
    a = ["--xform", name, "--spi", "%x" % spi, "--key", x["key"].hex(),
         "--src", SRC, "--dst", DST]
    if "auth" in x:
        a += ["--auth-key", x["auth"].hex()]
    if esn:
        a.append("--esn")
    return a


def encap(name, spi, payload, nh, count=1, seq=1, esn=False, env=None,
          esp_sa_file=None):
    extra = ["--esp-sa-file", esp_sa_file] if esp_sa_file else []
    out = subprocess.run([TOOL, "encap"] + sa_args(name, spi, esn) +
                         ["--payload", payload.hex(), "--nh", str(nh),
                          "--count", str(count), "--seq", str(seq)] + extra,
                         capture_output=True, text=True, check=True,
                         env=env).stdout
    lines = out.splitlines()
    assert lines[0].startswith("record "), out
    pkts = [bytes.fromhex(l.split()[1]) for l in lines[1:] if l.startswith("packet ")]
    assert len(pkts) == count, out
    return lines[0][len("record "):], pkts


def decap(name, spi, pkts, seq=1, esn=False):
    args = [TOOL, "decap"] + sa_args(name, spi, esn) + ["--seq", str(seq)]
    for p in pkts:
        args += ["--packet", p.hex()]
    return subprocess.run(args, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def trailer(payload, nh, block):
    pad = (block - (len(payload) + 2) % block) % block
    return payload + bytes(range(1, pad + 1)) + bytes([pad, nh])


def reference_check(name, spi, payload, nh, seq, esn):
    x = XFORMS[name]
    label = f"{name} esn={esn} seq={seq:#x}"
    _, pkts = encap(name, spi, payload, nh, count=2, seq=seq, esn=esn)
    for i, p in enumerate(pkts):
        s = seq + i
        hdr = struct.pack(">II", spi, s & 0xffffffff)
        check(p[:8] == hdr, f"{label}: SPI and low sequence bits on the wire")
        if "aead" in x:
            key, salt = x["key"][:-4], x["key"][-4:]
            iv = struct.pack(">Q", s)
            aad = hdr if not esn else hdr[:4] + struct.pack(">I", s >> 32) + hdr[4:]
            ref = ref_gcm if x["aead"] == "gcm" else ref_chacha
            ct, tag = ref(key, salt + iv, aad, trailer(payload, nh, 4))
            check(p == hdr + iv + ct + tag,
                  f"{label}: packet {i} equals the reference byte for byte")
        else:
            iv, ct, icv = p[8:24], p[24:-16], p[-16:]
            extra = struct.pack(">I", s >> 32) if esn else b""
            want = hmac.new(x["auth"], p[:-16] + extra, hashlib.sha256).digest()[:16]
            check(icv == want, f"{label}: packet {i} HMAC-SHA-256-128 verifies")
            pt = openssl(f"aes-{len(x['key']) * 8}-cbc", x["key"], ct, iv, decrypt=True)
            check(pt == trailer(payload, nh, 16), f"{label}: packet {i} decrypts (CBC)")
    if "aead" not in x:
        check(pkts[0][8:24] != pkts[1][8:24], f"{label}: CBC IVs differ")
    res = decap(name, spi, pkts, seq=seq, esn=esn)
    check(res == [f"ok {nh} {seq + i} {payload.hex()}" for i in range(2)],
          f"{label}: decap of both packets")
    bad = bytearray(pkts[0])
    bad[len(bad) // 2] ^= 0x01
    res = decap(name, spi, [bytes(bad)], seq=seq, esn=esn)
    check(res and res[0].startswith("error auth"), f"{label}: tampered packet refused")


def tshark_check(name, spi, inner, tmp, nat_t, via_file=False):
    """via_file: the SA reaches tshark through the esp_sa file our SAD
    writes in $HOME/.config/wireshark (HOME pointed at a scratch dir)
    instead of through -o uat:esp_sa:<record>."""
    env = dict(os.environ)
    if via_file:
        env["HOME"] = os.path.join(tmp, "home")
        env.pop("XDG_CONFIG_HOME", None)
        os.makedirs(env["HOME"], exist_ok=True)
    rec, pkts = encap(name, spi, inner, 41, count=3, env=env,
                      esp_sa_file="-" if via_file else None)
    frames = []
    for p in pkts:
        if nat_t:
            frames.append(IPv6(src=SRC, dst=DST) / UDP(sport=4500, dport=4500) / Raw(p))
        else:
            frames.append(IPv6(src=SRC, dst=DST, nh=50) / Raw(p))
    pcap = os.path.join(tmp, f"{name}.pcap")
    wrpcap(pcap, frames)
    r = subprocess.run(["tshark", "-n", "-r", pcap,
                        "-o", "esp.enable_encryption_decode:TRUE",
                        "-o", "esp.enable_authentication_check:TRUE",
                        ] + ([] if via_file else ["-o", "uat:esp_sa:" + rec]) + [
                        "-T", "fields", "-E", "separator=|",
                        "-e", "esp.decrypted_data", "-e", "esp.icv_good",
                        "-e", "esp.protocol"],
                       capture_output=True, text=True, timeout=120, env=env)
    label = (f"tshark {name} {'UDP 4500' if nat_t else 'IPv6/ESP'}"
             f"{' esp_sa file' if via_file else ''}")
    if name == "chacha20poly1305" and (r.returncode != 0 or "ChaCha" in r.stderr
                                       or not r.stdout.strip()):
        print(f"note {label}: this tshark cannot decrypt ChaCha20-Poly1305 ESP "
              "(Wireshark 4.0); covered by the reference check")
        return
    check(r.returncode == 0, f"{label}: tshark ran ({r.stderr.strip()[:200]})")
    rows = [l.split("|") for l in r.stdout.splitlines()]
    check(len(rows) == 3, f"{label}: three frames dissected")
    block = 16 if "auth" in XFORMS[name] else 4
    for i, row in enumerate(rows):
        dec = bytes.fromhex(row[0].replace(":", "")) if row[0] else b""
        check(dec == trailer(inner, 41, block),
              f"{label}: frame {i + 1} decrypted = original inner packet + trailer")
        check(row[1] in ("1", "True"), f"{label}: frame {i + 1} ICV good")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"esp_tool not built at {TOOL}")
        return 1
    self_test()
    inner = bytes(IPv6(src="2001:db8:1::1", dst="2001:db8:2::2") /
                  UDP(sport=1234, dport=5678) / Raw(b"mipsec esp " * 30))
    spi = 0x1000
    for name in XFORMS:
        for payload in (inner, inner[:41], b""):
            reference_check(name, spi, payload, 41, 1, False)
        reference_check(name, spi, inner, 41, 0xffffffff, True)
        reference_check(name, spi, inner[:77], 4, 0x2fffffffe, True)
        spi += 1
    with tempfile.TemporaryDirectory() as tmp:
        for name in XFORMS:
            tshark_check(name, spi, inner, tmp, nat_t=True)
            tshark_check(name, spi + 1, inner, tmp, nat_t=False)
            spi += 2
        tshark_check("aes256gcm16", spi, inner, tmp, nat_t=True, via_file=True)
        tshark_check("aes128-sha256", spi + 1, inner, tmp, nat_t=True, via_file=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""src/ikev2 crypto (through tests/tools/ike_crypto_tool) against an
independent implementation written here with hmac/hashlib and
python3-cryptography:

1. prf (RFC 4231 vectors) and prf+ (RFC 7296 §2.13) for the three PRFs;
2. SKEYSEED and the seven IKE SA keys (§2.14), the rekeyed IKE SA's
   (§2.18, old and new PRF differing) and CHILD SA KEYMAT with and without
   PFS (§2.17);
3. SK payloads sealed by us open with AESGCM / ChaCha20Poly1305 / AES-CBC +
   HMAC (AAD = everything before the IV), and messages sealed here open
   with us; tampering, truncation and bad padding are refused with a
   precise message;
4. Diffie-Hellman against a peer made here: X25519 and P-256 ECDH
   (cryptography) and MODP-2048 by pow(); invalid peer values refused;
5. AUTH: the signed octets and PSK AUTH (§2.15) against hmac; RFC 7427
   signatures made by us verify with cryptography for ECDSA P-256/P-384
   and RSA (PKCS#1 v1.5 and PSS) and every hash; signatures made here
   (AlgorithmIdentifiers written here byte by byte, PSS salt lengths other
   than ours, methods 1 and 9) verify with us; a wrong key, tampered
   octets or a mismatched algorithm are refused with a precise message.
"""
import hashlib
import hmac
import os
import struct
import datetime
import subprocess
import sys
import tempfile

try:
    from cryptography.hazmat.primitives.asymmetric import ec, x25519
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
    from cryptography.hazmat.primitives import serialization, hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography import x509
    from cryptography.x509.oid import NameOID
except ImportError:
    print("python3-cryptography is not installed: skipped")
    sys.exit(77)

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "ike_crypto_tool")
failures = []

PRFS = {5: hashlib.sha256, 6: hashlib.sha384, 7: hashlib.sha512}
INTEGS = {12: (hashlib.sha256, 32, 16), 13: (hashlib.sha384, 48, 24),
          14: (hashlib.sha512, 64, 32)}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tool(*args):
    r = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=60)
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    out["_rc"] = r.returncode
    return out


def hexb(d, k):
    return bytes.fromhex(d[k]) if k in d else None


# ---- reference ----

def prf(p, key, data):
    return hmac.new(key, data, PRFS[p]).digest()


def prf_plus(p, key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(p, key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def encr_len(encr, keylen):
    return keylen // 8 + (4 if encr in (20, 28) else 0)


def ref_keys(p, encr, keylen, integ, skeyseed, ni, nr, spii, spir):
    pl = len(PRFS[p]().digest())
    il = INTEGS[integ][1] if integ else 0
    el = encr_len(encr, keylen)
    ks = prf_plus(p, skeyseed, ni + nr + spii + spir, 3 * pl + 2 * il + 2 * el)
    names = [("sk_d", pl), ("sk_ai", il), ("sk_ar", il), ("sk_ei", el),
             ("sk_er", el), ("sk_pi", pl), ("sk_pr", pl)]
    res, off = {}, 0
    for n, ln in names:
        res[n] = ks[off:off + ln]
        off += ln
    return res


def suite_args(encr, keylen, integ, p=5):
    return ["--encr", encr, "--keylen", keylen, "--integ", integ, "--prf", p]


SUITES = [(20, 128, 0), (20, 256, 0), (28, 256, 0), (12, 128, 12),
          (12, 256, 12), (12, 256, 13), (12, 256, 14)]


# ---- 1. prf / prf+ ----

def test_prf():
    # RFC 4231 test cases 1, 2 and 6 (key longer than the block).
    vec = [
        (bytes([0x0b] * 20), b"Hi There",
         {5: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          6: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
             "faea9ea9076ede7f4af152e8b2fa9cb6",
          7: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
             "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"}),
        (b"Jefe", b"what do ya want for nothing?",
         {5: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          6: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
             "8e2240ca5e69e2c78b3239ecfab21649",
          7: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
             "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"}),
        (bytes([0xaa] * 131), b"Test Using Larger Than Block-Size Key - Hash Key First",
         {5: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
          6: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
             "0c2ef6ab4030fe8296248df163f44952",
          7: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
             "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"}),
    ]
    for i, (k, d, want) in enumerate(vec):
        for p, h in want.items():
            r = tool("prf", "--prf", p, "--key", k.hex(), "--data", d.hex())
            check(r.get("out") == h, f"prf {p}: RFC 4231 case {i + 1}")
    key, seed = os.urandom(48), os.urandom(100)
    for p in PRFS:
        for n in (1, 32, 33, 200, 255 * len(PRFS[p]().digest())):
            r = tool("prfplus", "--prf", p, "--key", key.hex(), "--seed", seed.hex(),
                     "--len", n)
            check(hexb(r, "out") == prf_plus(p, key, seed, n), f"prf+ {p} {n} octets")
        n = 255 * len(PRFS[p]().digest()) + 1
        r = tool("prfplus", "--prf", p, "--key", key.hex(), "--seed", seed.hex(), "--len", n)
        check(r["_rc"] != 0 and "out" not in r, f"prf+ {p}: more than 255 blocks refused")


# ---- 2. key schedule ----

def test_keys():
    spii, spir = os.urandom(8), os.urandom(8)
    for (encr, kl, integ) in SUITES:
        for p in PRFS:
            ni, nr, gir = os.urandom(32), os.urandom(48), os.urandom(256)
            r = tool("derive", *suite_args(encr, kl, integ, p), "--ni", ni.hex(),
                     "--nr", nr.hex(), "--gir", gir.hex(), "--spii", spii.hex(),
                     "--spir", spir.hex())
            ref = ref_keys(p, encr, kl, integ, prf(p, ni + nr, gir), ni, nr, spii, spir)
            check(all(hexb(r, k) == v for k, v in ref.items()),
                  f"derive encr {encr}/{kl} integ {integ} prf {p}: 7 keys")
    # Rekey: SKEYSEED with the old PRF (SHA-512), keys with the new (SHA-256).
    skd, ni, nr, gir = os.urandom(64), os.urandom(32), os.urandom(32), os.urandom(32)
    r = tool("rekey", *suite_args(20, 256, 0, 5), "--old-prf", 7, "--sk-d", skd.hex(),
             "--gir", gir.hex(), "--ni", ni.hex(), "--nr", nr.hex(), "--spii", spii.hex(),
             "--spir", spir.hex())
    seed = prf(7, skd, gir + ni + nr)
    ref = ref_keys(5, 20, 256, 0, seed, ni, nr, spii, spir)
    check(all(hexb(r, k) == v for k, v in ref.items()), "rekey: old PRF for SKEYSEED")
    for pfs in (False, True):
        args = ["child", "--prf", 6, "--sk-d", skd[:48].hex(), "--ni", ni.hex(),
                "--nr", nr.hex(), "--len", 2 * (32 + 4)]
        if pfs:
            args += ["--gir", gir.hex()]
        r = tool(*args)
        want = prf_plus(6, skd[:48], (gir if pfs else b"") + ni + nr, 72)
        check(hexb(r, "out") == want, f"child KEYMAT {'with' if pfs else 'without'} PFS")
    r = tool("derive", *suite_args(20, 192, 0), "--ni", ni.hex(), "--nr", nr.hex(),
             "--gir", gir.hex(), "--spii", spii.hex(), "--spir", spir.hex())
    check(r["_rc"] != 0, "derive: AES-GCM with a 192-bit key refused")
    r = tool("derive", *suite_args(12, 128, 0), "--ni", ni.hex(), "--nr", nr.hex(),
             "--gir", gir.hex(), "--spii", spii.hex(), "--spir", spir.hex())
    check(r["_rc"] != 0, "derive: AES-CBC without integrity refused")


# ---- 3. SK payload ----

def ike_header(spii, spir, first, length, exchange=35, flags=0x08, msgid=1):
    return spii + spir + struct.pack(">BBBBII", first, 0x20, exchange, flags, msgid, length)


def ref_open(encr, kl, integ, ke, ka, msg, body_off):
    aad, body = msg[:body_off], msg[body_off:]
    if encr in (20, 28):
        iv, ct = body[:8], body[8:]
        nonce = ke[-4:] + iv
        aead = AESGCM(ke[:-4]) if encr == 20 else ChaCha20Poly1305(ke[:-4])
        pt = aead.decrypt(nonce, ct, aad)
    else:
        h, _, icvl = INTEGS[integ]
        iv, ct, icv = body[:16], body[16:-icvl], body[-icvl:]
        if hmac.new(ka, msg[:-icvl], h).digest()[:icvl] != icv:
            raise ValueError("ICV")
        d = Cipher(algorithms.AES(ke), modes.CBC(iv)).decryptor()
        pt = d.update(ct) + d.finalize()
    return pt[:len(pt) - 1 - pt[-1]]


def ref_seal(encr, kl, integ, ke, ka, spii, spir, first, plain, pad=None):
    if encr in (20, 28):
        padn = 0 if pad is None else pad
        pt = plain + bytes(padn) + bytes([padn])
        sklen = 8 + len(pt) + 16
        hdr = ike_header(spii, spir, 46, 28 + 4 + sklen) + \
            struct.pack(">BBH", first, 0, 4 + sklen)
        iv = os.urandom(8)
        aead = AESGCM(ke[:-4]) if encr == 20 else ChaCha20Poly1305(ke[:-4])
        return hdr + iv + aead.encrypt(ke[-4:] + iv, pt, hdr)
    h, _, icvl = INTEGS[integ]
    padn = (16 - (len(plain) + 1) % 16) % 16 if pad is None else pad
    pt = plain + os.urandom(padn) + bytes([padn])
    sklen = 16 + len(pt) + icvl
    hdr = ike_header(spii, spir, 46, 28 + 4 + sklen) + struct.pack(">BBH", first, 0, 4 + sklen)
    iv = os.urandom(16)
    e = Cipher(algorithms.AES(ke), modes.CBC(iv)).encryptor()
    m = hdr + iv + e.update(pt) + e.finalize()
    return m + hmac.new(ka, m, h).digest()[:icvl]


def test_sk():
    spii, spir = os.urandom(8), os.urandom(8)
    # IDi (FQDN "mn.example") followed by nothing: a plausible inner chain.
    idi = b"\x00\x00\x00\x12" + b"\x02\x00\x00\x00" + b"mn.example"
    plains = [idi, idi * 5, b""]
    for (encr, kl, integ) in SUITES:
        label = f"SK encr {encr}/{kl} integ {integ}"
        ke = os.urandom(encr_len(encr, kl))
        ka = os.urandom(INTEGS[integ][1]) if integ else b""
        sa = suite_args(encr, kl, integ)
        kargs = ["--ke", ke.hex()] + (["--ka", ka.hex()] if ka else [])
        for plain in plains:
            r = tool("seal", *sa, *kargs, "--spii", spii.hex(), "--spir", spir.hex(),
                     "--first", 35, "--plain", plain.hex())
            msg = hexb(r, "msg")
            ok = msg is not None and struct.unpack(">I", msg[24:28])[0] == len(msg)
            check(ok, f"{label}: sealed message with its final length ({len(plain)} octets)")
            if not ok:
                continue
            try:
                got = ref_open(encr, kl, integ, ke, ka, msg, 32)
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                got = repr(e)
            check(got == plain, f"{label}: reference opens ours ({len(plain)} octets)")
            if encr == 12:
                check((len(msg) - 32 - 16 - INTEGS[integ][2]) % 16 == 0,
                      f"{label}: CBC ciphertext whole blocks")
            r = tool("open", *sa, *kargs, "--msg", msg.hex())
            check(hexb(r, "plain") == plain, f"{label}: we open ours")
        msg2 = tool("seal", *sa, *kargs, "--spii", spii.hex(), "--spir", spir.hex(),
                    "--plain", idi.hex())["msg"]
        check(msg2 != msg.hex() if msg else False, f"{label}: fresh IV per message")
        for plain in plains:
            for pad in ([None, 7] if encr != 12 else [None, 16 + 15 - len(plain) % 16]):
                m = ref_seal(encr, kl, integ, ke, ka, spii, spir, 35, plain, pad)
                r = tool("open", *sa, *kargs, "--msg", m.hex())
                check(hexb(r, "plain") == plain,
                      f"{label}: we open the reference's (pad {pad}, {len(plain)} octets)")
        m = bytearray(ref_seal(encr, kl, integ, ke, ka, spii, spir, 35, idi))
        for pos, what in ((len(m) - 1, "ICV"), (40, "ciphertext"), (5, "header (AAD)")):
            bad = bytearray(m)
            bad[pos] ^= 0x80
            r = tool("open", *sa, *kargs, "--msg", bytes(bad).hex())
            e = r.get("error", "")
            check("ICV" in e or "integrity" in e, f"{label}: tampered {what} refused ({e})")
        # Truncated: header says the shorter length, SK body shorter than IV+ICV.
        short = ref_seal(encr, kl, integ, ke, ka, spii, spir, 35, b"")
        cut = 8 if encr != 12 else 20
        t = bytearray(short[:32 + cut])
        t[24:28] = struct.pack(">I", len(t))
        t[30:32] = struct.pack(">H", 4 + cut)
        r = tool("open", *sa, *kargs, "--msg", bytes(t).hex())
        check("shorter than IV" in r.get("error", ""),
              f"{label}: truncated SK refused ({r.get('error')})")
        # Pad Length beyond the plaintext (authenticated, so only the
        # padding check can catch it).
        if encr == 12:
            h, _, icvl = INTEGS[integ]
            pt = bytes(15) + b"\x40"
            iv = os.urandom(16)
            hdr = ike_header(spii, spir, 46, 32 + 16 + 16 + icvl) + \
                struct.pack(">BBH", 35, 0, 4 + 16 + 16 + icvl)
            e = Cipher(algorithms.AES(ke), modes.CBC(iv)).encryptor()
            mm = hdr + iv + e.update(pt) + e.finalize()
            mm += hmac.new(ka, mm, h).digest()[:icvl]
        else:
            iv = os.urandom(8)
            hdr = ike_header(spii, spir, 46, 32 + 8 + 4 + 16) + \
                struct.pack(">BBH", 35, 0, 4 + 8 + 4 + 16)
            aead = AESGCM(ke[:-4]) if encr == 20 else ChaCha20Poly1305(ke[:-4])
            mm = hdr + iv + aead.encrypt(ke[-4:] + iv, b"abc\x09", hdr)
        r = tool("open", *sa, *kargs, "--msg", mm.hex())
        check("Pad Length" in r.get("error", ""), f"{label}: bad pad length refused "
              f"({r.get('error')})")
    # SKF (RFC 7383 §2.5): the fragment number/total are in the AAD.
    ke = os.urandom(20)
    r = tool("seal", *suite_args(20, 128, 0), "--ke", ke.hex(), "--spii", spii.hex(),
             "--spir", spir.hex(), "--plain", idi.hex(), "--frag", "1/2")
    msg = hexb(r, "msg")
    ok = msg is not None and msg[16] == 53 and msg[32:36] == b"\x00\x01\x00\x02"
    check(ok, "SKF: fragment 1/2 header")
    if ok:
        try:
            got = ref_open(20, 128, 0, ke, b"", msg, 36)
        except Exception as e:  # noqa: BLE001
            got = repr(e)
        check(got == idi, "SKF: reference opens ours with the fragment header as AAD")
        r = tool("open", *suite_args(20, 128, 0), "--ke", ke.hex(), "--msg", msg.hex())
        check(hexb(r, "plain") == idi, "SKF: we open ours")


# ---- 4. Diffie-Hellman ----

MODP2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B2251"
    "4A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C"
    "42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007C"
    "B8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED52907"
    "7096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC"
    "07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAC"
    "AA68FFFFFFFFFFFFFFFF", 16)


def test_dh():
    for _ in range(3):
        k = x25519.X25519PrivateKey.generate()
        pub = k.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
        r = tool("dh", "--group", 31, "--peer", pub.hex())
        theirs = x25519.X25519PublicKey.from_public_bytes(hexb(r, "public"))
        check(hexb(r, "shared") == k.exchange(theirs), "DH 31: X25519 with cryptography")

        k = ec.generate_private_key(ec.SECP256R1())
        pub = k.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)[1:]
        r = tool("dh", "--group", 19, "--peer", pub.hex())
        ours = hexb(r, "public")
        theirs = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + ours)
        check(len(ours) == 64 and hexb(r, "shared") == k.exchange(ec.ECDH(), theirs),
              "DH 19: P-256 x||y public, shared x coordinate as cryptography's")

        x = int.from_bytes(os.urandom(32), "big")
        y = pow(2, x, MODP2048)
        r = tool("dh", "--group", 14, "--peer", y.to_bytes(256, "big").hex())
        ours = int.from_bytes(hexb(r, "public"), "big")
        want = pow(ours, x, MODP2048).to_bytes(256, "big")
        check(hexb(r, "shared") == want, "DH 14: MODP-2048 by pow(), padded to 256 octets")
    # Leading zero octets must stay (the secret is padded to the prime).
    for _ in range(40):
        x = int.from_bytes(os.urandom(32), "big")
        r = tool("dh", "--group", 14, "--peer", pow(2, x, MODP2048).to_bytes(256, "big").hex())
        want = pow(int.from_bytes(hexb(r, "public"), "big"), x, MODP2048).to_bytes(256, "big")
        if want[0] == 0:
            check(hexb(r, "shared") == want, "DH 14: a secret with a leading zero octet")
            break
    bad = [
        (14, (1).to_bytes(256, "big"), "out of range"),
        (14, (0).to_bytes(256, "big"), "out of range"),
        (14, (MODP2048 - 1).to_bytes(256, "big"), "out of range"),
        (14, MODP2048.to_bytes(256, "big"), "out of range"),
        (14, bytes(255) + b"\x05", None),
        (14, b"\x05" * 255, "expected 256"),
        (19, bytes(64), "not a point on the curve"),
        (19, bytes(range(64)), "not a point on the curve"),
        (19, b"\x01" * 63, "expected 64"),
        (31, bytes(32), "small-order"),
        # A point of order 8 (RFC 7748 / libsodium's blacklist).
        (31, bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
         "small-order"),
        (31, bytes(31), "expected 32"),
    ]
    for g, val, why in bad:
        r = tool("dh", "--group", g, "--peer", val.hex())
        if why is None:   # y = 5 is a fine value
            check("shared" in r, f"DH {g}: small valid value accepted")
            continue
        check("shared" not in r and why in r.get("error", ""),
              f"DH {g}: invalid peer value refused: {r.get('error')}")


# ---- 5. AUTH ----

HASHES = {2: hashes.SHA256, 3: hashes.SHA384, 4: hashes.SHA512}


def der_len(n):
    return bytes([n]) if n < 128 else bytes([0x81, n])


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7f]
        p >>= 7
        while p:
            enc.insert(0, 0x80 | (p & 0x7f))
            p >>= 7
        body += bytes(enc)
    return der(0x06, body)


SHA2_OID = {2: "2.16.840.1.101.3.4.2.1", 3: "2.16.840.1.101.3.4.2.2",
            4: "2.16.840.1.101.3.4.2.3"}


def algid(kind, h, salt=None, null_hash_params=True):
    """AlgorithmIdentifier DER written from RFC 7427 Appendix A / RFC 8017."""
    if kind == "ecdsa":
        return der(0x30, oid("1.2.840.10045.4.3." + str(h)))
    if kind == "rsa":
        return der(0x30, oid("1.2.840.113549.1.1." + str(9 + h)) + b"\x05\x00")
    hash_ai = der(0x30, oid(SHA2_OID[h]) + (b"\x05\x00" if null_hash_params else b""))
    params = der(0xa0, hash_ai) + \
        der(0xa1, der(0x30, oid("1.2.840.113549.1.1.8") + hash_ai)) + \
        der(0xa2, der(0x02, bytes([salt])))
    return der(0x30, oid("1.2.840.113549.1.1.10") + der(0x30, params))


def self_signed(key, path_cert, path_key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    with open(path_cert, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(path_key, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert


def test_auth_octets_psk():
    msg, nonce, skp, idb = os.urandom(300), os.urandom(32), os.urandom(48), \
        b"\x02\x00\x00\x00mn.example.org"
    for p in PRFS:
        r = tool("octets", "--prf", p, "--skp", skp.hex(), "--msg", msg.hex(),
                 "--nonce", nonce.hex(), "--id", idb.hex())
        want = msg + nonce + prf(p, skp, idb)
        check(hexb(r, "out") == want, f"AUTH octets prf {p}: msg | nonce | prf(SK_p, IDx')")
        psk = b"correct horse battery staple"
        r = tool("psk", "--prf", p, "--psk", psk.hex(), "--octets", want.hex())
        check(hexb(r, "out") == prf(p, prf(p, psk, b"Key Pad for IKEv2"), want),
              f"PSK AUTH prf {p}: prf(prf(secret, \"Key Pad for IKEv2\"), octets)")


def test_auth_sign(tmp):
    keys = {
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "rsa": rsa.generate_private_key(65537, 2048),
    }
    files = {}
    for n, k in keys.items():
        c, kf = os.path.join(tmp, n + ".crt"), os.path.join(tmp, n + ".key")
        self_signed(k, c, kf)
        files[n] = (c, kf)
    octets = os.urandom(500)
    # ours -> cryptography
    for n, k in keys.items():
        modes_ = [False, True] if n == "rsa" else [False]
        for pss in modes_:
            for h, H in HASHES.items():
                args = ["sign", "--key", files[n][1], "--hash", h, "--octets", octets.hex()]
                if pss:
                    args.append("--pss")
                r = tool(*args)
                label = f"sign {n}{' pss' if pss else ''} hash {h}"
                data = hexb(r, "auth")
                if data is None:
                    check(False, f"{label}: signed ({r.get('error')})")
                    continue
                alen = data[0]
                kind = "pss" if pss else ("rsa" if n == "rsa" else "ecdsa")
                want_ai = algid(kind, h, salt=H.digest_size)
                check(data[1:1 + alen] == want_ai,
                      f"{label}: AlgorithmIdentifier as RFC 7427 / RFC 8017 write it")
                sig = data[1 + alen:]
                try:
                    pub = k.public_key()
                    if n == "rsa":
                        pad = padding.PSS(padding.MGF1(H()), H.digest_size) if pss \
                            else padding.PKCS1v15()
                        pub.verify(sig, octets, pad, H())
                    else:
                        pub.verify(sig, octets, ec.ECDSA(H()))   # DER Ecdsa-Sig-Value
                    ok = True
                except Exception as e:  # noqa: BLE001
                    ok = repr(e)
                check(ok is True, f"{label}: cryptography verifies our signature ({ok})")
                r = tool("verify", "--cert", files[n][0], "--method", 14, "--auth", data.hex(),
                         "--octets", octets.hex())
                check("ok" in r, f"{label}: we verify our own ({r.get('error')})")
    # cryptography -> ours
    for n, k in keys.items():
        for h, H in HASHES.items():
            cases = []
            if n == "rsa":
                cases.append(("pkcs1", algid("rsa", h), k.sign(octets, padding.PKCS1v15(), H())))
                for salt in (H.digest_size, 20, 0):
                    cases.append((f"pss salt {salt}", algid("pss", h, salt, salt != 20),
                                  k.sign(octets, padding.PSS(padding.MGF1(H()), salt), H())))
            else:
                cases.append(("ecdsa", algid("ecdsa", h), k.sign(octets, ec.ECDSA(H()))))
            for what, ai, sig in cases:
                data = bytes([len(ai)]) + ai + sig
                label = f"verify {n} {what} hash {h}"
                r = tool("verify", "--cert", files[n][0], "--method", 14, "--auth", data.hex(),
                         "--octets", octets.hex())
                check("ok" in r, f"{label}: cryptography's signature verifies ({r.get('error')})")
                bad = bytearray(octets)
                bad[100] ^= 1
                r = tool("verify", "--cert", files[n][0], "--method", 14, "--auth", data.hex(),
                         "--octets", bytes(bad).hex())
                check("does not verify" in r.get("error", ""),
                      f"{label}: tampered octets refused ({r.get('error')})")
    # The wrong key, the wrong kind of key.
    p256 = keys["p256"]
    sig = p256.sign(octets, ec.ECDSA(hashes.SHA256()))
    data = bytes([len(algid("ecdsa", 2))]) + algid("ecdsa", 2) + sig
    r = tool("verify", "--cert", files["p384"][0], "--method", 14, "--auth", data.hex(),
             "--octets", octets.hex())
    check("does not verify" in r.get("error", ""), f"wrong ECDSA key refused ({r.get('error')})")
    r = tool("verify", "--cert", files["rsa"][0], "--method", 14, "--auth", data.hex(),
             "--octets", octets.hex())
    check("certificate key is RSA" in r.get("error", ""),
          f"ECDSA signature with an RSA certificate refused ({r.get('error')})")
    ai = der(0x30, oid("1.2.840.10045.4.3.1"))   # ecdsa-with-SHA224
    r = tool("verify", "--cert", files["p256"][0], "--method", 14,
             "--auth", (bytes([len(ai)]) + ai + sig).hex(), "--octets", octets.hex())
    check("1.2.840.10045.4.3.1 (ecdsa-with-SHA224) is not supported" in r.get("error", ""),
          f"unsupported algorithm named by its OID ({r.get('error')})")
    # Method 1: RSA PKCS#1 v1.5 with SHA-1 (RFC 7296 §3.8).
    sig1 = keys["rsa"].sign(octets, padding.PKCS1v15(), hashes.SHA1())
    r = tool("verify", "--cert", files["rsa"][0], "--method", 1, "--auth", sig1.hex(),
             "--octets", octets.hex())
    check("ok" in r, f"method 1 (RSA SHA-1) verifies ({r.get('error')})")
    r = tool("verify", "--cert", files["p256"][0], "--method", 1, "--auth", sig1.hex(),
             "--octets", octets.hex())
    check("method 1" in r.get("error", ""), f"method 1 with an EC key refused ({r.get('error')})")
    # Method 9 (RFC 4754): r | s, 32 octets each.
    rr, ss = decode_dss_signature(sig)
    rs = rr.to_bytes(32, "big") + ss.to_bytes(32, "big")
    r = tool("verify", "--cert", files["p256"][0], "--method", 9, "--auth", rs.hex(),
             "--octets", octets.hex())
    check("ok" in r, f"method 9 (ECDSA P-256 r|s) verifies ({r.get('error')})")
    r = tool("verify", "--cert", files["p384"][0], "--method", 9, "--auth", rs.hex(),
             "--octets", octets.hex())
    check("RFC 4754" in r.get("error", ""), f"method 9 with a P-384 key refused ({r.get('error')})")
    r = tool("verify", "--cert", files["p256"][0], "--method", 2, "--auth", rs.hex(),
             "--octets", octets.hex())
    check("not supported" in r.get("error", ""), f"method 2 is not a signature ({r.get('error')})")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"ike_crypto_tool not built at {TOOL}")
        return 1
    test_prf()
    test_keys()
    test_sk()
    test_dh()
    test_auth_octets_psk()
    with tempfile.TemporaryDirectory() as tmp:
        test_auth_sign(tmp)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""IKEv2 SK payloads sealed by src/ikev2 (tests/tools/ike_crypto_tool)
decrypted and dissected by tshark, with the ikev2_decryption_table record
ike_decryption_table_record() writes (the one the IKE engine exports).

The inner chains are built by scapy (IDi/AUTH/N/SA/TSi/TSr for the
initiator, IDr/AUTH/SA/TSi/TSr for the responder); the keys come from our
key schedule; each message is sealed with the direction's SK_e/SK_a and
sent on UDP 500 and on UDP 4500 behind the non-ESP marker. tshark must
decrypt every message, check its integrity, and show the inner payloads
with the values scapy put in. The same capture with a record holding one
wrong key bit must show none of them (so the test can fail).

Wireshark 4.0 has no ChaCha20-Poly1305 for IKEv2: that transform is
covered by test_ike_crypto_py.py against python3-cryptography."""
import os
import subprocess
import sys
import tempfile

from scapy.all import IPv6, UDP, Raw, wrpcap  # noqa: E402
from scapy.contrib.ikev2 import (  # noqa: E402
    IKEv2, IKEv2_payload_SA, IKEv2_payload_Proposal, IKEv2_payload_Transform,
    IKEv2_payload_Notify, IKEv2_payload_IDi, IKEv2_payload_IDr, IKEv2_payload_AUTH,
    IKEv2_payload_TSi, IKEv2_payload_TSr, IPv6TrafficSelector)

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "ike_crypto_tool")
SRC, DST = "2001:db8::10", "2001:db8::1"
HOA = "2001:db8:30::100"
failures = []

# (encr, key bits, integ, name)
SUITES = [(20, 128, 0, "aes128gcm16"), (20, 256, 0, "aes256gcm16"),
          (12, 128, 12, "aes128-sha256"), (12, 256, 12, "aes256-sha256"),
          (12, 256, 13, "aes256-sha384"), (12, 256, 14, "aes256-sha512")]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tool(*args):
    r = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def chain(*xs):
    out = xs[-1]
    for x in reversed(xs[:-1]):
        out = x / out
    return out


def inner(initiator):
    """The plaintext chain (no IKE header) and what tshark must show."""
    fqdn = b"mn.example.org" if initiator else b"ha.example.org"
    esp = IKEv2_payload_Proposal(proposal=1, proto=3, SPIsize=4, SPI=b"\xc0\x01\x02\x03",
                                 trans_nb=2, trans=chain(
                                     IKEv2_payload_Transform(transform_type=1, transform_id=20,
                                                             length=12, key_length=256),
                                     IKEv2_payload_Transform(transform_type=5,
                                                             transform_id=0)))
    mh = IPv6TrafficSelector(TS_type=8, length=40, IP_protocol_ID=135, start_port=5 << 8,
                             end_port=6 << 8, starting_address_v6=HOA, ending_address_v6=HOA)
    ha = IPv6TrafficSelector(TS_type=8, length=40, IP_protocol_ID=135, start_port=5 << 8,
                             end_port=6 << 8, starting_address_v6=DST, ending_address_v6=DST)
    idp = (IKEv2_payload_IDi if initiator else IKEv2_payload_IDr)(
        next_payload=39, length=8 + len(fqdn), IDtype=2, ID=fqdn)
    auth = IKEv2_payload_AUTH(next_payload=41 if initiator else 33, auth_type=2,
                              load=bytes(range(32)))
    rest = [IKEv2_payload_Notify(next_payload=33, type=16391)] if initiator else []
    pkt = IKEv2(init_SPI=b"\0" * 8, resp_SPI=b"\0" * 8, exch_type=35, next_payload=35) / chain(
        idp, auth, *rest,
        IKEv2_payload_SA(next_payload=44, prop=esp),
        IKEv2_payload_TSi(next_payload=45, number_of_TSs=1, traffic_selector=[mh]),
        IKEv2_payload_TSr(next_payload=0, number_of_TSs=1, traffic_selector=[ha]))
    return bytes(pkt)[28:], fqdn.decode()


def tshark(pcap, record):
    r = subprocess.run(["tshark", "-n", "-r", pcap,
                        "-o", "uat:ikev2_decryption_table:" + record,
                        "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                        "-E", "aggregator=,",
                        "-e", "isakmp.id.data.fqdn", "-e", "isakmp.auth.method",
                        "-e", "isakmp.notify.msgtype", "-e", "isakmp.ts.start_ipv6",
                        "-e", "isakmp.ts.protoid", "-e", "isakmp.tf.id.encr",
                        "-e", "isakmp.enc.pad_length", "-e", "isakmp.enc.icd",
                        "-e", "_ws.expert.message"],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr, [l.split("|") for l in r.stdout.splitlines()]


def run_suite(encr, kl, integ, name, tmp):
    spii, spir = os.urandom(8), os.urandom(8)
    keys = tool("derive", "--encr", encr, "--keylen", kl, "--integ", integ, "--prf", 5,
                "--ni", os.urandom(32).hex(), "--nr", os.urandom(32).hex(),
                "--gir", os.urandom(32).hex(), "--spii", spii.hex(), "--spir", spir.hex())
    record = keys.get("record")
    check(record is not None, f"{name}: keys derived, record written")
    if record is None:
        return
    frames, want = [], []
    for initiator in (True, False):
        plain, fqdn = inner(initiator)
        d = "i" if initiator else "r"
        args = ["seal", "--encr", encr, "--keylen", kl, "--integ", integ,
                "--ke", keys["sk_e" + d], "--spii", spii.hex(), "--spir", spir.hex(),
                "--first", 35 if initiator else 36, "--plain", plain.hex(),
                "--flags", 0x08 if initiator else 0x20, "--msgid", 1]
        if integ:
            args += ["--ka", keys["sk_a" + d]]
        msg = bytes.fromhex(tool(*args)["msg"])
        frames.append(IPv6(src=SRC, dst=DST) / UDP(sport=500, dport=500) / Raw(msg))
        frames.append(IPv6(src=SRC, dst=DST) / UDP(sport=4500, dport=4500) /
                      Raw(b"\0\0\0\0" + msg))
        want += [(initiator, fqdn, len(plain))] * 2
        if initiator:
            bad = bytearray(msg)
            bad[-1] ^= 1
            tampered = IPv6(src=SRC, dst=DST) / UDP(sport=500, dport=500) / Raw(bytes(bad))
    pcap = os.path.join(tmp, name + ".pcap")
    wrpcap(pcap, frames + [tampered])
    rc, err, rows = tshark(pcap, record)
    check(rc == 0 and len(rows) == 5, f"{name}: tshark dissected 5 frames ({err.strip()[:200]})")
    if integ and len(rows) == 5:
        # The control: tshark does check the ICV (so "no expert error"
        # below means ours verified).
        check("Integrity Checksum Data is incorrect" in rows[4][-1],
              f"{name}: tshark flags a message with a flipped ICV bit")
    for (initiator, fqdn, plen), row, n in zip(want, rows[:4], range(1, 5)):
        label = f"{name} frame {n} ({'initiator' if initiator else 'responder'}, " \
                f"UDP {500 if n % 2 else 4500})"
        row += [""] * (9 - len(row))
        check(row[0] == fqdn, f"{label}: ID FQDN {row[0]!r}")
        check(row[1] == "2", f"{label}: AUTH method PSK ({row[1]!r})")
        if initiator:
            check(row[2] == "16391", f"{label}: N(USE_TRANSPORT_MODE) ({row[2]!r})")
        check(row[3] == f"{HOA},{DST}", f"{label}: TSi/TSr addresses ({row[3]!r})")
        check(row[4] == "135,135", f"{label}: TS protocol MH ({row[4]!r})")
        check(row[5] == "20", f"{label}: CHILD SA proposal ENCR_AES_GCM_16 ({row[5]!r})")
        pad = 0 if not integ else (16 - (plen + 1) % 16) % 16
        check(row[6] == str(pad), f"{label}: pad length {pad} as we send ({row[6]!r})")
        check("incorrect" not in row[8].lower() and "malformed" not in row[8].lower(),
              f"{label}: no expert error ({row[8][:120]!r})")
        if integ:
            check(row[7] != "", f"{label}: integrity checksum data shown")
    # One bit off in SK_ei: tshark must not find the inner payloads.
    f = record.split(",")
    ei = bytearray(bytes.fromhex(f[2]))
    ei[0] ^= 1
    f[2] = ei.hex()
    if integ:   # and SK_ai, or the checksum alone would stop it
        ai = bytearray(bytes.fromhex(f[5]))
        ai[0] ^= 1
        f[5] = ai.hex()
    rc, err, rows = tshark(pcap, ",".join(f))
    check(rc == 0 and rows and rows[0][0] == "" and rows[0][1] == "",
          f"{name}: a wrong SK_ei hides the initiator's inner payloads")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"ike_crypto_tool not built at {TOOL}")
        return 1
    if subprocess.run(["which", "tshark"], capture_output=True).returncode:
        print("tshark not installed: skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for s in SUITES:
            run_suite(*s, tmp)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

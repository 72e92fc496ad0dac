#!/usr/bin/python3
"""A whole IKE life between two of our engines (tests/tools/ike_pair_tool:
IKE_SA_INIT, IKE_AUTH with PSK, CHILD SA rekey, IKE SA rekey, DELETE of
the child and of the IKE SA) captured to a pcap, then decrypted by tshark
with the ikev2_decryption_table records the engine exports
(ike_engine_export_keys). tshark must see every exchange in order, the
identities and AUTH method inside IKE_AUTH, the selectors, REKEY_SA and
both DELETEs, with no expert complaint; with one key bit wrong it must
see none of the encrypted content (so the test can fail).

Exits 77 (skipped) when tshark is not installed or the tool is not built."""
import os
import subprocess
import sys
import tempfile

BUILD = os.environ.get("MIPSEC_BUILD",
                       os.path.join(os.path.dirname(__file__), "../../build"))
TOOL = os.path.join(BUILD, "tests", "ike_pair_tool")
failures = []

# Exchange types, in order: INIT, AUTH, CHILD rekey, its DELETE, IKE rekey,
# the old IKE SA's DELETE, the new child's DELETE, the IKE SA's DELETE.
EXCHANGES = [34, 34, 35, 35, 36, 36, 37, 37, 36, 36, 37, 37, 37, 37, 37, 37]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tshark(pcap, records):
    args = ["tshark", "-n", "-r", pcap]
    for r in records:
        args += ["-o", "uat:ikev2_decryption_table:" + r]
    args += ["-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
             "-e", "isakmp.exchangetype", "-e", "isakmp.id.data.fqdn", "-e", "isakmp.auth.method",
             "-e", "isakmp.notify.msgtype", "-e", "isakmp.delete.protoid",
             "-e", "isakmp.ts.start_ipv6", "-e", "isakmp.ts.start_ipv4", "-e", "_ws.expert.message"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr, [l.split("|") for l in r.stdout.splitlines()]


def run(tmp, family, suite):
    name = f"{family} {suite}"
    pcap, table, esp = (os.path.join(tmp, f"{family}-{suite}.{x}") for x in ("pcap", "tbl", "esp"))
    r = subprocess.run([TOOL, pcap, table, esp, family, suite], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, f"{name}: the two engines went through the whole life ({r.stderr.strip()[:200]})")
    if r.returncode:
        return
    out = dict(l.split(" ", 1) for l in r.stdout.splitlines())
    records = open(table).read().split("\n")
    records = [x for x in records if x]
    check(out.get("ike_sas") == "2" and len(records) == 2,
          f"{name}: two IKE SAs exported (the original and its rekey)")
    rc, err, rows = tshark(pcap, records)
    check(rc == 0 and len(rows) == len(EXCHANGES), f"{name}: tshark read {len(rows)} frames ({err.strip()[:200]})")
    if len(rows) != len(EXCHANGES):
        return
    check([int(x[0]) for x in rows] == EXCHANGES, f"{name}: exchanges in order")
    check(rows[2][1] == "a.example,b.example" and rows[2][2] == "2",
          f"{name}: IKE_AUTH request decrypted: IDi a.example, IDr b.example, AUTH PSK ({rows[2][1:3]})")
    check(rows[3][1] == "b.example" and rows[3][2] == "2",
          f"{name}: IKE_AUTH response decrypted: IDr b.example, AUTH PSK")
    ts = rows[2][5] if family == "v6" else rows[2][6]
    want = "2001:db8:a::,2001:db8:b::" if family == "v6" else "10.1.0.0,10.2.0.0"
    check(ts == want, f"{name}: TSi/TSr {ts}")
    check("16393" in rows[4][3].split(","), f"{name}: CHILD rekey carries REKEY_SA")
    check(rows[6][4] == "3" and rows[7][4] == "3", f"{name}: DELETE of the old ESP SA both ways")
    check(rows[14][4] == "1", f"{name}: DELETE of the IKE SA")
    check(all(not x[7] for x in rows), f"{name}: no expert complaint ({[x[7] for x in rows if x[7]][:2]})")
    # One bit off in SK_ei/SK_er of both records: the content disappears.
    bad = []
    for rec in records:
        f = rec.split(",")
        f[2] = ("1" if f[2][0] == "0" else "0") + f[2][1:]
        f[3] = ("1" if f[3][0] == "0" else "0") + f[3][1:]
        bad.append(",".join(f))
    rc, err, rows = tshark(pcap, bad)
    check(len(rows) == len(EXCHANGES) and not any(x[1] for x in rows),
          f"{name}: with a wrong key tshark shows no identity")


def main():
    if subprocess.run(["which", "tshark"], capture_output=True).returncode:
        print("tshark not installed: skipped")
        return 77
    if not os.access(TOOL, os.X_OK):
        print(f"{TOOL} not built: skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        run(tmp, "v6", "aes128gcm16-prfsha256-ecp256")
        run(tmp, "v4", "aes256-sha256-modp2048")
        run(tmp, "v6", "aes256gcm16-prfsha384-curve25519")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

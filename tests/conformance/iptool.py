"""Shared helpers for the IP-layer conformance tests: find the decode/encode
driver (tests/tools/ip_tool, or mipsecctl once it links with every layer)
and run it."""
import json
import os
import subprocess
import sys

SKIP = 77


def tool():
    build = os.environ.get("MIPSEC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
    cands = [os.path.join(build, "tests", "ip_tool")]
    if os.environ.get("MIPSECCTL"):
        cands.append(os.environ["MIPSECCTL"])
    for c in cands:
        if os.access(c, os.X_OK):
            r = subprocess.run([c, "decode", "--help"], capture_output=True, text=True)
            if r.returncode == 0:
                return c
    print("SKIP: neither ip_tool nor a mipsecctl with decode is built")
    sys.exit(SKIP)


TOOL = None


def run(cmd, stdin, args=()):
    global TOOL
    if TOOL is None:
        TOOL = tool()
    r = subprocess.run([TOOL, cmd, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def decode(data, args=()):
    """bytes (or list of bytes) -> (rc, [objects])"""
    items = data if isinstance(data, list) else [data]
    rc, out, err = run("decode", "".join(b.hex() + "\n" for b in items), args)
    objs = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(objs) == len(items), f"decode gave {len(objs)} objects for {len(items)}: {err}"
    return rc, objs


def decode1(data, args=()):
    rc, objs = decode(data, args)
    assert rc == 0 and "error" not in objs[0], f"decode failed: {objs[0]}"
    return objs[0]


def encode(objs):
    """JSON object (or list) -> (rc, [bytes or error object])"""
    items = objs if isinstance(objs, list) else [objs]
    rc, out, err = run("encode", "".join(json.dumps(o) + "\n" for o in items))
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == len(items), f"encode gave {len(lines)} lines for {len(items)}: {err}"
    res = [json.loads(l) if l.startswith("{") else bytes.fromhex(l) for l in lines]
    return rc, res


def encode1(obj):
    rc, res = encode(obj)
    assert rc == 0 and isinstance(res[0], bytes), f"encode failed: {res[0]}"
    return res[0]


def write_pcap(path, packets, linktype=101):
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
            f.write(p)

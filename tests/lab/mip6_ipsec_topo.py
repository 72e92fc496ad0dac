#!/usr/bin/python3
"""mip6_ipsec_topo.py IN.toml OUT.toml KEYS.json: the FIG. 1 Mobile IPv6
lab (fig1-mip6.toml) with RFC 4877 IPsec on, manually keyed:

  ha1  ipsec { require = true; } with the SAs of mn4's home address
       2001:db8:8::4 (AES-GCM-16) and of a second home address
       2001:db8:8::5 (AES-CBC + HMAC-SHA-256-128) that no node uses: its
       keys let a forger hold a valid SA of its own;
  mn4  the mirror of ::4's SAs, TUN MTU 1320 (room for ESP in 1500);
  both export their esp_sa records (@STATE@/<node>.esp_sa) for tshark.

KEYS.json receives the SPIs and keys (hex) as ha1 names them (in = MN->HA)
for the scapy forger (mip6_forge.py)."""
import json
import sys


def key(seed, n):
    return bytes((seed + 7 * i) & 0xff for i in range(n)).hex()


SETS = {
    "2001:db8:8::4": dict(xform="aes128gcm16", mh_in=0x4101, mh_out=0x4102, tun_in=0x4201,
                          tun_out=0x4202, k_mh_in=key(0x11, 20), k_mh_out=key(0x22, 20),
                          k_tun_in=key(0x33, 20), k_tun_out=key(0x44, 20)),
    "2001:db8:8::5": dict(xform="aes128-sha256", mh_in=0x5101, mh_out=0x5102, tun_in=0x5201,
                          tun_out=0x5202, k_mh_in=key(0x55, 48), k_mh_out=key(0x66, 48),
                          k_tun_in=key(0x77, 48), k_tun_out=key(0x88, 48)),
}


def keys(s, mirror):
    a, b = ("out", "in") if mirror else ("in", "out")
    return ("xform = \"%s\"; mh_spi_in = 0x%x; mh_spi_out = 0x%x; tun_spi_in = 0x%x; "
            "tun_spi_out = 0x%x;\n      mh_key_in = \"%s\"; mh_key_out = \"%s\";\n"
            "      tun_key_in = \"%s\"; tun_key_out = \"%s\";" %
            (s["xform"], s["mh_" + a], s["mh_" + b], s["tun_" + a], s["tun_" + b],
             s["k_mh_" + a], s["k_mh_" + b], s["k_tun_" + a], s["k_tun_" + b]))


def main():
    src, out, kout = sys.argv[1:4]
    text = open(src).read()
    ha_anchor = "  preference = 10; lifetime = 1200;\n"
    mn_anchor = "  rs_interval_ms = 100;\n"
    if text.count(ha_anchor) != 1 or text.count(mn_anchor) != 1:
        sys.exit("ha1's ha block or mn4's mn block not found in " + src)
    binds = ",\n".join("    { home_address = \"%s\";\n      %s }" % (h, keys(s, False))
                       for h, s in SETS.items())
    text = text.replace(ha_anchor, ha_anchor +
                        "  ipsec = { require = true; esp_sa_file = \"@STATE@/@NODE@.esp_sa\";\n"
                        "    bindings = (\n%s\n  ); };\n" % binds)
    text = text.replace(mn_anchor, mn_anchor +
                        "  tun_mtu = 1320;\n  ipsec = { esp_sa_file = \"@STATE@/@NODE@.esp_sa\";\n"
                        "      %s };\n" % keys(SETS["2001:db8:8::4"], True))
    text = text.replace('name = "fig1-mip6"', 'name = "fig1-mip6-ipsec"')
    open(out, "w").write(text)
    json.dump(SETS, open(kout, "w"), indent=1)


main()

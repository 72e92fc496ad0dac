#!/usr/bin/python3
"""mip6_ike_topo.py IN.toml OUT.toml PKI_DIR [CHILD_REKEY_S [IKE_REKEY_S [CHILD_REKEY_BYTES]]]:
the FIG. 1 Mobile IPv6 lab (fig1-mip6.toml) with RFC 4877 IPsec keyed by IKEv2:

  ha1  ipsec { require = true; ike { gw-a's certificate, peer "mn" from
       anywhere }; pad: ipv6:2001:db8:8::4 -> 2001:db8:8::4 (mn4) and
       ipv6:2001:db8:8::5 -> 2001:db8:8::5 (a node with a valid certificate
       for another home address) };
  mn4  ipsec { ike { mn4's certificate (SAN IP 2001:db8:8::4), identity
       ipv6:2001:db8:8::4, peer "ha" = the HA found by DHAAD } },
       TUN MTU 1320;
  both export esp_sa records and the ikev2_decryption_table to @STATE@."""
import sys


def main():
    src, out, pki = sys.argv[1:4]
    rekey = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ike_rekey = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    rekey_bytes = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    text = open(src).read()
    ha_anchor = "  preference = 10; lifetime = 1200;\n"
    mn_anchor = "  rs_interval_ms = 100;\n"
    if text.count(ha_anchor) != 1 or text.count(mn_anchor) != 1:
        sys.exit("ha1's ha block or mn4's mn block not found in " + src)
    props = ('ike_proposals = [ "aes128gcm16-prfsha256-ecp256" ]; '
             'esp_proposals = [ "aes128gcm16" ];')
    rk = "child_rekey_time = %d; " % rekey if rekey else ""
    rk += "rekey_time = %d; " % ike_rekey if ike_rekey else ""
    rk += "child_rekey_bytes = %d; " % rekey_bytes if rekey_bytes else ""
    text = text.replace(ha_anchor, ha_anchor + f"""  ipsec = {{ require = true; esp_sa_file = "@STATE@/@NODE@.esp_sa";
    ike = {{ certificate = "{pki}/gw-a.crt"; private_key = "{pki}/gw-a.key";
      ca = [ "{pki}/ca.crt" ]; local_id = "fqdn:gw-a.mipsec.test";
      decryption_table = "@STATE@/@NODE@.ikev2_decryption_table";
      peers = ( {{ name = "mn"; remote = "any"; {props} dpd = 0; }} ); }};
    pad = ( {{ id = "ipv6:2001:db8:8::4"; home_addresses = [ "2001:db8:8::4" ]; }},
            {{ id = "ipv6:2001:db8:8::5"; home_addresses = [ "2001:db8:8::5" ]; }} ); }};
""")
    text = text.replace(mn_anchor, mn_anchor + f"""  tun_mtu = 1320;
  ipsec = {{ esp_sa_file = "@STATE@/@NODE@.esp_sa";
    ike = {{ certificate = "{pki}/mn4.crt"; private_key = "{pki}/mn4.key";
      ca = [ "{pki}/ca.crt" ]; local_id = "ipv6:2001:db8:8::4";
      decryption_table = "@STATE@/@NODE@.ikev2_decryption_table";
      peers = ( {{ name = "ha"; remote = "dhaad"; remote_id = "fqdn:gw-a.mipsec.test";
                  {props} {rk}dpd = 0; }} ); }}; }};
""")
    text = text.replace('name = "fig1-mip6"', 'name = "fig1-mip6-ike"')
    open(out, "w").write(text)


main()

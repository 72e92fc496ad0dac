/* `mipsecctl decode`: hex on stdin or a pcap file -> one JSON object per
 * packet with RFC field names; exits non-zero on malformed input.
 * `mipsecctl encode`: the same JSON, one object per line on stdin -> hex. */
#ifndef MIPSEC_CTL_DECODE_H
#define MIPSEC_CTL_DECODE_H

int decode_command(int argc, char **argv);
int encode_command(int argc, char **argv);

#endif

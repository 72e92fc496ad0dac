#ifndef MIPSEC_CORE_PRIVDROP_H
#define MIPSEC_CORE_PRIVDROP_H

#include <stdint.h>

/* Switches to `user` (and its primary group, no supplementary groups) while
 * keeping exactly the capabilities in `keep` (bit n = CAP number n) in the
 * effective and permitted sets. Returns 0 or a negative errno. */
int priv_drop(const char *user, uint64_t keep);

#endif

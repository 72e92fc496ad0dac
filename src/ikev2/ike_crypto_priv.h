/* Shared between ike_crypto.c, ike_dh.c and ike_auth.c only: the counters
 * each file defines, registered together by ike_crypto_stats_register(). */
#ifndef MIPSEC_IKEV2_IKE_CRYPTO_PRIV_H
#define MIPSEC_IKEV2_IKE_CRYPTO_PRIV_H

#include "core/stats.h"

extern struct counter ike_ctr_dh_invalid;
extern struct counter ike_ctr_auth_bad_alg;
extern struct counter ike_ctr_auth_bad_sig;
void ike_cert_stats_register(void);

#endif

/* Shared between ike_crypto.c, ike_dh.c, ike_auth.c and ike_cert.c only:
 * the counters each file defines, registered together by
 * ike_crypto_stats_register(), and the error formatter. */
#ifndef MIPSEC_IKEV2_IKE_CRYPTO_PRIV_H
#define MIPSEC_IKEV2_IKE_CRYPTO_PRIV_H

#include "core/stats.h"

extern struct counter ike_ctr_dh_invalid;
extern struct counter ike_ctr_auth_bad_alg;
extern struct counter ike_ctr_auth_bad_sig;
void ike_cert_stats_register(void);

/* Formats the one-line reason of a failure into err (ignored when NULL). */
void ike_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

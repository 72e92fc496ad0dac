/* Mobility Header sequence numbers (RFC 6275 §9.5.1): a free-running 16-bit
 * counter compared modulo 2^16. A received number is "less than or equal" to
 * the last one when it lies in the range of the last received number and the
 * 32768 values before it, inclusive; everything else (the 32767 values after
 * it) is "newer". Note the asymmetry: exactly half-way (last + 32768) counts
 * as old, so a replayed BU can never be taken for a new one. */
#ifndef MIPSEC_MIP6_SEQ_H
#define MIPSEC_MIP6_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#define SEQ_WINDOW 32768u	/* values "at or before" the last one, not counting it */

/* Distance from `received` back to `last`, modulo 2^16. */
static inline uint16_t seq_back(uint16_t received, uint16_t last)
{
	return (uint16_t)(last - received);
}

/* True if `received` lies in [last - 32768, last] modulo 2^16. */
static inline bool seq_le(uint16_t received, uint16_t last)
{
	return seq_back(received, last) <= SEQ_WINDOW;
}

/* True if `received` is strictly newer than `last`: the HA accepts a BU only
 * then (otherwise Binding Acknowledgement status 135). */
static inline bool seq_newer(uint16_t received, uint16_t last)
{
	return !seq_le(received, last);
}

/* Next sequence number to send (MN side, RFC 6275 §11.7.1). */
static inline uint16_t seq_next(uint16_t s)
{
	return (uint16_t)(s + 1u);
}

/* Signed distance received - last in [-32768, 32767], negative (or zero)
 * exactly when seq_le() holds. */
static inline int32_t seq_diff(uint16_t received, uint16_t last)
{
	uint16_t d = (uint16_t)(received - last);

	return d < 32768u ? (int32_t)d : (int32_t)d - 65536;
}

#endif

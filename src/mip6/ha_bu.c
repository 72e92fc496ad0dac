/* The home agent's Binding Update decision (RFC 6275 §9.5.1, §10.3.1,
 * §10.3.2; RFC 3963 §6.1 for the R flag). A pure function of the binding
 * cache state, the BU and the limits: no I/O, no allocation, no clock, so
 * that every status is unit-tested and the BU path stays cheap.
 *
 * Order of the checks (the first that fails decides the status):
 *   1. H flag clear                         -> 131 (we only do home registration)
 *   2. home address in the deny list        -> 129
 *   3. home address outside home prefixes   -> 132
 *   4. binding exists, sequence not newer   -> 135, BA carries the binding's seq
 *   5. binding exists, H/L/R flags differ   -> 139
 *   6. lifetime 0 or CoA == HoA: no binding -> 133 (§10.3.2), else delete
 *   7. R flag and mobile routers not served -> 140
 *   8. new binding and max_bindings reached -> 130
 *   9. accept; lifetime = min(BU, max_lifetime, prefix valid lifetime),
 *      rounded down to 4 s units (§10.3.1: never more than the prefix).
 * 128 is not decided here: the caller sends it when applying an accepted
 * decision fails (memory, kernel route). */
#include "mip6/ha.h"

#include "mip6/bcache.h"
#include "mip6/seq.h"
#include "wire/mh.h"

const uint8_t ha_ba_statuses[HA_BA_N_STATUS] = {
	HA_BA_ACCEPTED, HA_BA_UNSPECIFIED, HA_BA_PROHIBITED, HA_BA_NO_RESOURCES,
	HA_BA_NOT_SUPPORTED, HA_BA_NOT_HOME_SUBNET, HA_BA_NOT_HA_FOR_MN,
	HA_BA_SEQ_OUT_OF_WINDOW, HA_BA_REG_TYPE_CHANGE, HA_BA_MR_NOT_PERMITTED,
};

const char *ha_ba_status_name(uint8_t status)
{
	switch (status) {
	case HA_BA_ACCEPTED: return "accepted";
	case HA_BA_UNSPECIFIED: return "reason unspecified";
	case HA_BA_PROHIBITED: return "administratively prohibited";
	case HA_BA_NO_RESOURCES: return "insufficient resources";
	case HA_BA_NOT_SUPPORTED: return "home registration not supported";
	case HA_BA_NOT_HOME_SUBNET: return "not home subnet";
	case HA_BA_NOT_HA_FOR_MN: return "not home agent for this mobile node";
	case HA_BA_SEQ_OUT_OF_WINDOW: return "sequence number out of window";
	case HA_BA_REG_TYPE_CHANGE: return "registration type change disallowed";
	case HA_BA_MR_NOT_PERMITTED: return "mobile router operation not permitted";
	}
	return "unknown";
}

uint8_t ha_bu_bce_flags(uint16_t wire)
{
	uint8_t f = 0;

	if (wire & MH_BU_A)
		f |= BCE_F_A;
	if (wire & MH_BU_H)
		f |= BCE_F_H;
	if (wire & MH_BU_L)
		f |= BCE_F_L;
	if (wire & MH_BU_K)
		f |= BCE_F_K;
	if (wire & MH_BU_R)
		f |= BCE_F_R;
	return f;
}

static uint8_t check(const struct ha_bu_state *st, const struct ha_bu_in *bu,
		     const struct ha_bu_limits *lim, uint8_t flags, bool dereg)
{
	const uint8_t type_bits = BCE_F_H | BCE_F_L | BCE_F_R;

	if (!(bu->flags & MH_BU_H))
		return HA_BA_NOT_SUPPORTED;
	if (lim->denied)
		return HA_BA_PROHIBITED;
	if (!lim->served)
		return HA_BA_NOT_HOME_SUBNET;
	if (st->exists && !seq_newer(bu->seq, st->seq))
		return HA_BA_SEQ_OUT_OF_WINDOW;
	if (st->exists && (st->flags & type_bits) != (flags & type_bits))
		return HA_BA_REG_TYPE_CHANGE;
	if (dereg)
		return st->exists ? HA_BA_ACCEPTED : HA_BA_NOT_HA_FOR_MN;
	if ((bu->flags & MH_BU_R) && !lim->mobile_router)
		return HA_BA_MR_NOT_PERMITTED;
	if (!st->exists && lim->n_bindings >= lim->max_bindings)
		return HA_BA_NO_RESOURCES;
	return HA_BA_ACCEPTED;
}

void ha_bu_decide(const struct ha_bu_state *st, const struct ha_bu_in *bu,
		  const struct ha_bu_limits *lim, struct ha_bu_decision *d)
{
	uint8_t flags = ha_bu_bce_flags(bu->flags);
	bool dereg = bu->lifetime == 0 || bu->coa_is_hoa;

	d->action = HA_ACT_NONE;
	d->status = check(st, bu, lim, flags, dereg);
	d->seq = d->status == HA_BA_SEQ_OUT_OF_WINDOW ? st->seq : bu->seq;
	d->lifetime = 0;
	d->lifetime_s = 0;
	d->bce_flags = flags;
	d->ba_flags = (bu->flags & MH_BU_K) ? MH_BA_K : 0;
	d->send_ba = d->status != HA_BA_ACCEPTED || (bu->flags & MH_BU_A);
	if (d->status != HA_BA_ACCEPTED)
		return;
	if (dereg) {
		d->action = HA_ACT_DELETE;
		return;
	}
	uint64_t s = (uint64_t)bu->lifetime * 4;
	if (s > lim->max_lifetime)
		s = lim->max_lifetime;
	if (s > lim->prefix_lifetime)
		s = lim->prefix_lifetime;
	d->lifetime = (uint16_t)(s / 4);
	if (d->lifetime == 0) {
		/* The prefix has less than 4 s to live: the address is not
		 * usable as a home address any more. */
		d->status = HA_BA_NOT_HOME_SUBNET;
		d->send_ba = true;
		return;
	}
	d->lifetime_s = (uint32_t)d->lifetime * 4;
	if (bu->flags & MH_BU_R)
		d->ba_flags |= MH_BA_R;
	d->action = st->exists ? HA_ACT_UPDATE : HA_ACT_CREATE;
}

/* RFC 7383 reassembly. Each SKF fragment is authenticated and decrypted
 * on its own before it is kept (§2.6.1), so forged fragments cannot
 * fill the table; the sending side is in ike_engine.c
 * (ike_frag_protect). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ikev2/ike_sa.h"

#define FRAG_TOTAL_MAX	(IKE_MSG_MAX)

void ike_frag_reset(struct ike_frag_rx *f)
{
	for (size_t i = 0; i < IKE_FRAG_MAX; i++)
		free(f->part[i]);
	free(f->whole);
	memset(f, 0, sizeof(*f));
}

int ike_frag_input(struct ike_sa *sa, uint32_t mid, bool response, const struct ikev2_sk *skf,
		   const uint8_t *plain, size_t plen, uint8_t **out, size_t *outlen,
		   uint8_t *first)
{
	struct ike_frag_rx *f = &sa->frx;
	uint16_t num = skf->frag_num, total = skf->frag_total;
	size_t sum = 0, off = 0;

	if (num == 0 || total == 0 || num > total || total > IKE_FRAG_MAX ||
	    (num == 1) != (skf->first != IKEV2_PL_NONE)) {
		ike_count(sa->e, IKE_C_frag_bad);
		log_info("ike", "bad fragment %u/%u sa=%u", num, total, sa->id);
		return -1;
	}
	if (!f->active || f->mid != mid || f->response != response) {
		ike_frag_reset(f);
		f->active = true;
		f->mid = mid;
		f->response = response;
		f->total = total;
		f->started_ms = mono_ms();
	}
	if (total != f->total) {
		/* §2.6.2: a sender may re-fragment smaller; start over. */
		if (total < f->total) {
			ike_count(sa->e, IKE_C_frag_bad);
			return -1;
		}
		ike_frag_reset(f);
		f->active = true;
		f->mid = mid;
		f->response = response;
		f->total = total;
	}
	if (f->part[num - 1])
		return 0;	/* duplicate */
	f->part[num - 1] = malloc(plen ? plen : 1);
	if (!f->part[num - 1])
		return -1;
	memcpy(f->part[num - 1], plain, plen);
	f->part_len[num - 1] = plen;
	if (num == 1)
		f->first = skf->first;
	if (++f->have < f->total)
		return 0;
	for (size_t i = 0; i < f->total; i++)
		sum += f->part_len[i];
	if (sum > FRAG_TOTAL_MAX) {
		ike_count(sa->e, IKE_C_frag_bad);
		ike_frag_reset(f);
		return -1;
	}
	free(f->whole);
	f->whole = malloc(sum ? sum : 1);
	if (!f->whole)
		return -1;
	for (size_t i = 0; i < f->total; i++) {
		memcpy(f->whole + off, f->part[i], f->part_len[i]);
		off += f->part_len[i];
		free(f->part[i]);
		f->part[i] = NULL;
	}
	f->active = false;
	f->have = 0;
	ike_count(sa->e, IKE_C_frag_reassembled);
	*out = f->whole;
	*outlen = sum;
	*first = f->first;
	return 1;
}

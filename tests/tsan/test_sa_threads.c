/* ThreadSanitizer check of the SA threading contract (ipsec/sa.h): one
 * thread, the SAs' owner, encapsulates and decapsulates (sequence
 * numbers, replay window, statistics, byte lifetimes, error counts)
 * while another reads them the way the gateway's event loop does
 * (sa_snapshot for `show esp_sa`, sa_expiry_peek for the lifetime poll).
 * Built with -fsanitize=thread apart from the ASan build: any data race
 * stops the program with TSan's exit status. The readings must also make
 * sense: counts never go backwards, and the soft byte limit the owner
 * crossed is seen by the reader. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/esp.h"
#include "ipsec/sa.h"

const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=0";
}

#define PACKETS 20000
#define PAYLOAD 200

static struct sa *out_sa, *in_sa;
static atomic_bool done;

static struct sa *mk(enum sa_dir dir)
{
	static const uint8_t key[20] = "0123456789abcdefSALT";
	struct sa_params p = {
		.spi = 0x1234, .dir = dir, .mode = SA_MODE_TUNNEL,
		.xform = ESP_XFORM_AES_GCM_16, .enc_key = key, .enc_key_len = sizeof(key),
		.soft = { .bytes = PACKETS / 2 * PAYLOAD },
		.hard = { .bytes = (uint64_t)PACKETS * PAYLOAD * 2 },
	};
	enum sa_new_err err;
	struct sa *sa = sa_new(&p, &err);

	if (!sa) {
		fprintf(stderr, "sa_new: %s\n", sa_new_strerror(err));
		exit(1);
	}
	return sa;
}

static void *owner(void *arg)
{
	uint8_t payload[PAYLOAD], pkt[PAYLOAD + 64], copy[sizeof(pkt)];
	struct esp_decap_result r;
	size_t len;

	(void)arg;
	memset(payload, 0x5a, sizeof(payload));
	for (int i = 0; i < PACKETS; i++) {
		if (esp_encap(out_sa, payload, sizeof(payload), 4, pkt, sizeof(pkt), &len) != ESP_OK)
			abort();
		memcpy(copy, pkt, len);
		if (esp_decap(in_sa, pkt, len, &r) != ESP_OK)
			abort();
		if (i % 100 == 0) {
			/* a replay and a forgery: counted in the inbound SA */
			uint8_t again[sizeof(pkt)];
			memcpy(again, copy, len);
			if (esp_decap(in_sa, again, len, &r) != ESP_ERR_REPLAY)
				abort();
			copy[len - 1] ^= 1;
			copy[7] = (uint8_t)(copy[7] + 1);	/* a fresh sequence number */
			(void)esp_decap(in_sa, copy, len, &r);
		}
	}
	atomic_store(&done, true);
	return NULL;
}

int main(void)
{
	struct sa_snapshot a, b, prev_out = { 0 }, prev_in = { 0 };
	enum sa_expiry seen = SA_LIVE;
	unsigned long reads = 0;
	pthread_t t;

	out_sa = mk(SA_DIR_OUT);
	in_sa = mk(SA_DIR_IN);
	if (pthread_create(&t, NULL, owner, NULL) != 0)
		return 1;
	while (!atomic_load(&done)) {
		sa_snapshot(out_sa, &a);
		sa_snapshot(in_sa, &b);
		if (a.stats.packets < prev_out.stats.packets || a.seq < prev_out.seq ||
		    b.stats.packets < prev_in.stats.packets || b.stats.replay < prev_in.stats.replay) {
			fprintf(stderr, "a count went backwards\n");
			return 1;
		}
		prev_out = a;
		prev_in = b;
		enum sa_expiry x = sa_expiry_peek(out_sa, 0);
		if (x > seen)
			seen = x;
		reads++;
	}
	pthread_join(t, NULL);
	sa_snapshot(out_sa, &a);
	sa_snapshot(in_sa, &b);
	printf("reads %lu; out: packets %llu seq %llu expiry %d; in: packets %llu replay %llu auth_fail %llu\n",
	       reads, (unsigned long long)a.stats.packets, (unsigned long long)a.seq, a.expiry,
	       (unsigned long long)b.stats.packets, (unsigned long long)b.stats.replay,
	       (unsigned long long)b.stats.auth_fail);
	if (a.stats.packets != PACKETS || a.seq != PACKETS || b.stats.packets != PACKETS ||
	    b.stats.replay != PACKETS / 100 || b.stats.auth_fail != PACKETS / 100) {
		fprintf(stderr, "wrong final counts\n");
		return 1;
	}
	if (a.expiry != SA_SOFT || sa_expiry_peek(out_sa, 0) != SA_SOFT || seen == SA_HARD) {
		fprintf(stderr, "the soft byte limit was not seen (expiry %d)\n", a.expiry);
		return 1;
	}
	sa_free(out_sa);
	sa_free(in_sa);
	return 0;
}

/* Dynamic Home Agent Address Discovery (RFC 6275 §11.4.1) and Mobile
 * Prefix Solicitation (§11.4.2), both plain ICMPv6 from the care-of
 * address on the access link (docs/mip6-transport.md).
 *
 * The DHAAD Request goes to the Mobile IPv6 Home-Agents anycast address of
 * the home prefix (RFC 2526); the Reply lists home agents by preference.
 * The first is used; a registration that is refused or never answered
 * moves to the next one, and when the list is spent a new request is
 * sent. Requests back off from INITIAL_DHAAD_TIMEOUT, doubling, for
 * DHAAD_RETRIES retransmissions (§12). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/log.h"
#include "mip6/mn_priv.h"
#include "net/icmp6.h"
#include "wire/exthdr.h"

#define MOD "mn"

int mn_ha_anycast(const struct ip_prefix *home, struct in6_addr *out)
{
	uint8_t a[16];

	if (home->len > 120)
		return -1;
	memcpy(a, home->addr.bytes, 16);
	/* Every bit after the prefix set, then the 7-bit anycast ID 126. */
	for (unsigned bit = home->len; bit < 128; bit++)
		a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	a[15] = (uint8_t)((a[15] & 0x80) | 0x7e);
	/* EUI-64 format (/64): the universal/local bit is 0 (RFC 2526 §2),
	 * giving fdff:ffff:ffff:fffe. */
	if (home->len == 64)
		a[8] &= (uint8_t)~0x02;
	memcpy(out, a, 16);
	return 0;
}

int mn_dhaad_reply(const struct icmp6_msg *m, uint16_t id, struct in6_addr *out, size_t max)
{
	size_t n = 0;

	if (m->type != ICMPV6_HAAD_REPLY || m->code != 0 || m->identifier != id)
		return -1;
	for (size_t i = 0; i < m->n_addrs && n < max; i++) {
		const uint8_t *a = m->body + i * 16;
		bool dup = false;

		if (ipv6_bad_hoa(a))
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= memcmp(&out[k], a, 16) == 0;
		if (!dup)
			memcpy(&out[n++], a, 16);
	}
	return (int)n;
}

static struct mn_if *send_if(struct mn *mn)
{
	return mn->cur && mn->cur->have_coa ? mn->cur : NULL;
}

/* Sends from the CoA: left to itself, source selection would prefer the
 * home address on the TUN for destinations in the home prefix (RFC 6724
 * rule 8), and the reply would then be tunnelled to nowhere. */
static int send_from_coa(struct mn_if *mi, const struct in6_addr *dst, const uint8_t *msg,
			 size_t len)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = *dst };
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	struct in6_pktinfo pi = { .ipi6_addr = mi->coa.addr.v6, .ipi6_ifindex = (unsigned)mi->ifindex };

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return sendmsg(mi->fd, &mh, 0) < 0 ? -errno : 0;
}

static void dhaad_send(struct mn *mn)
{
	struct mn_if *mi = send_if(mn);
	struct in6_addr dst;
	uint8_t buf[ICMPV6_HDR_LEN];
	struct icmp6_msg m = { .type = ICMPV6_HAAD_REQUEST, .identifier = mn->dhaad_id };
	struct wire_error err;

	if (!mi || mn_ha_anycast(&mn->home_prefix, &dst) < 0)
		return;
	if (icmp6_build(buf, sizeof(buf), &m, NULL, NULL, &err) < 0)
		return;
	int rc = send_from_coa(mi, &dst, buf, sizeof(buf));
	counter_inc(&mn_c_dhaad_sent);
	if (rc < 0)
		log_warn(MOD, "DHAAD request not sent iface=%s err=\"%s\"", mi->name, strerror(-rc));
	else
		log_info(MOD, "DHAAD request sent iface=%s id=%u try=%u", mi->name, mn->dhaad_id,
			 mn->dhaad_tries);
}

static void dhaad_timer_cb(void *arg)
{
	struct mn *mn = arg;

	if (!mn->dhaad_pending)
		return;
	if (mn->dhaad_tries >= mn->cfg->dhaad_retries) {
		log_warn(MOD, "no DHAAD reply after %u tries; retrying on the next movement",
			 mn->dhaad_tries + 1);
		mn->dhaad_pending = false;
		return;
	}
	mn->dhaad_tries++;
	mn->dhaad_backoff_ms *= 2;
	dhaad_send(mn);
	timer_arm_ms(&mn->dhaad_timer, mn->dhaad_backoff_ms);
}

void mn_dhaad_start(struct mn *mn)
{
	if (mn->dhaad_pending || mn->cfg->has_ha)
		return;
	if (getrandom(&mn->dhaad_id, sizeof(mn->dhaad_id), 0) != sizeof(mn->dhaad_id))
		mn->dhaad_id++;
	mn->dhaad_pending = true;
	mn->dhaad_tries = 0;
	mn->dhaad_backoff_ms = mn->cfg->dhaad_timeout_ms;
	dhaad_send(mn);
	timer_arm_ms(&mn->dhaad_timer, mn->dhaad_backoff_ms);
}

void mn_dhaad_next(struct mn *mn)
{
	char b[64];

	if (mn->cfg->has_ha)
		return;		/* configured: nothing else to try */
	if (mn->ha_idx + 1 < mn->n_has) {
		mn->ha = mn->has[++mn->ha_idx];
		log_notice(MOD, "trying the next home agent ha=%s",
			   inet_ntop(AF_INET6, &mn->ha, b, sizeof(b)) ? b : "?");
		mn_reg_ha_ready(mn);
		return;
	}
	mn->ha_known = false;
	mn->n_has = 0;
	mn_dhaad_start(mn);
}

static void dhaad_reply_rx(struct mn *mn, const struct icmp6_msg *m)
{
	struct in6_addr list[MN_MAX_HAS];
	char b[64];

	if (!mn->dhaad_pending) {
		counter_inc(&mn_c_rx_bad);
		return;
	}
	int n = mn_dhaad_reply(m, mn->dhaad_id, list, MN_MAX_HAS);
	if (n < 0) {
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "DHAAD reply with a foreign identifier %u dropped", m->identifier);
		return;
	}
	counter_inc(&mn_c_dhaad_reply);
	if (n == 0) {
		log_warn(MOD, "DHAAD reply lists no usable home agent");
		return;	/* the retransmission timer asks again */
	}
	mn->dhaad_pending = false;
	timer_cancel(&mn->dhaad_timer);
	memcpy(mn->has, list, (size_t)n * sizeof(list[0]));
	mn->n_has = (size_t)n;
	mn->ha_idx = 0;
	mn->ha = list[0];
	mn->ha_known = true;
	log_notice(MOD, "home agent discovered ha=%s candidates=%d",
		   inet_ntop(AF_INET6, &mn->ha, b, sizeof(b)) ? b : "?", n);
	mn_reg_ha_ready(mn);
}

/* ---- Mobile Prefix Solicitation / Advertisement (§11.4.2-11.4.3) ---- */

void mn_mps_send(struct mn *mn)
{
	struct mn_if *mi = send_if(mn);
	uint8_t buf[ICMPV6_HDR_LEN];
	struct wire_error err;

	if (!mi || !mn->ha_known)
		return;
	if (getrandom(&mn->mps_id, sizeof(mn->mps_id), 0) != sizeof(mn->mps_id))
		mn->mps_id++;
	struct icmp6_msg m = { .type = ICMPV6_MPS, .identifier = mn->mps_id };
	if (icmp6_build(buf, sizeof(buf), &m, NULL, NULL, &err) < 0)
		return;
	if (send_from_coa(mi, &mn->ha, buf, sizeof(buf)) == 0) {
		mn->mps_pending = true;
		counter_inc(&mn_c_mps_sent);
		log_info(MOD, "Mobile Prefix Solicitation sent id=%u", mn->mps_id);
	}
}

static void mpa_rx(struct mn *mn, const struct icmp6_msg *m, const struct in6_addr *src)
{
	size_t off = 0;
	uint8_t type;
	size_t olen;
	struct wire_error err;
	struct ip_prefix renumber = { 0 };
	bool still_home = false;

	if (!mn->ha_known || memcmp(src, &mn->ha, 16) != 0) {
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "Mobile Prefix Advertisement not from our home agent dropped");
		return;
	}
	counter_inc(&mn_c_mpa_rx);
	if (mn->mps_pending && m->identifier == mn->mps_id)
		mn->mps_pending = false;
	for (;;) {
		size_t at = off;
		if (icmp6_opt_next(m->body, m->body_len, &off, &type, &olen, &err) != WIRE_OK)
			break;
		if (type != ND_OPT_PREFIX_INFO)
			continue;
		struct nd_pio p;
		if (icmp6_pio_parse(m->body + at, olen, &p, &err) != WIRE_OK) {
			counter_inc(&mn_c_rx_bad);
			continue;
		}
		struct ip_prefix got = { .addr = { .family = AF_INET6 }, .len = p.prefix_length };
		memcpy(got.addr.bytes, p.prefix, 16);
		if (p.valid_lifetime == 0 || got.len > 120)
			continue;
		if (got.len == mn->home_prefix.len &&
		    ip_prefix_contains(&mn->home_prefix, &got.addr)) {
			/* Solicit again shortly before the home prefix lapses. */
			uint32_t v = p.valid_lifetime;
			still_home = true;
			if (v != ND_INFINITY && v > mn->cfg->mps_before_s)
				timer_arm_ms(&mn->mps_timer,
					     (uint64_t)(v - mn->cfg->mps_before_s) * 1000u);
			log_info(MOD, "home prefix lifetime valid=%u", v);
		} else if (p.a && !renumber.len) {
			renumber = got;
		}
	}
	/* §11.4.3: a new prefix to form a home address from; move to it
	 * when the current home prefix is no longer advertised. */
	if (renumber.len && !still_home)
		mn_reg_renumber(mn, &renumber);
	else if (renumber.len)
		log_info(MOD, "additional home prefix advertised; keeping the current one");
}

void mn_mpa_rx(struct mn *mn, const uint8_t *buf, size_t len, const struct in6_addr *src)
{
	struct icmp6_msg m;
	struct wire_error err;

	if (icmp6_parse(buf, len, NULL, NULL, &m, &err) != WIRE_OK || m.type != ICMPV6_MPA) {
		counter_inc(&mn_c_rx_bad);
		return;
	}
	mpa_rx(mn, &m, src);
}

static void mps_timer_cb(void *arg)
{
	mn_mps_send(arg);
}

void mn_icmp_rx(struct mn_if *mi, const uint8_t *buf, size_t len, const struct in6_addr *src,
		const struct in6_addr *dst)
{
	struct icmp6_msg m;
	struct wire_error err;

	/* The kernel verified the checksum on this raw socket. */
	if (icmp6_parse(buf, len, NULL, NULL, &m, &err) != WIRE_OK) {
		counter_inc(&mn_c_rx_bad);
		log_info(MOD, "malformed ICMPv6 dropped iface=%s err=\"%s\"", mi->name, err.msg);
		return;
	}
	if (m.type == ICMPV6_HAAD_REPLY)
		dhaad_reply_rx(mi->mn, &m);
	else if (m.type == ICMPV6_MPA)
		mpa_rx(mi->mn, &m, src);
}

void mn_dhaad_init(struct mn *mn)
{
	timer_init(&mn->dhaad_timer, mn->loop, dhaad_timer_cb, mn);
	timer_init(&mn->mps_timer, mn->loop, mps_timer_cb, mn);
}

void mn_dhaad_fini(struct mn *mn)
{
	timer_deinit(&mn->dhaad_timer);
	timer_deinit(&mn->mps_timer);
}

/* Movement detection and care-of address configuration (RFC 6275 §11.5).
 *
 * Each access interface has a raw ICMPv6 socket for Router Advertisements
 * (plus DHAAD Replies and Mobile Prefix Advertisements, handled in
 * mn_dhaad.c). An RA whose autonomous /64 prefix differs from the prefix
 * of this link's CoA is movement: the old CoA goes, a new one is formed by
 * SLAAC and added with optimistic DAD (RFC 4429) so the BU can leave at
 * once. A router is declared lost after three missed Advertisement
 * Intervals (§7.3, §11.5.1) or its Router Lifetime; a link going down (from
 * the netlink monitor) loses it at once, a link coming up sends Router
 * Solicitations right away (RFC 6275 §11.5.1 fast RAs).
 *
 * The kernel's own RA processing is switched off on access interfaces
 * (accept_ra = 0, restored at stop): the daemon owns addresses and the
 * default route there, one link at a time (mn->cur). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "mip6/mn_priv.h"
#include "net/icmp6.h"
#include "net/netlink.h"
#include "net/sysctl.h"
#include "wire/icmp6msg.h"

#define MOD "mn"
#define MN_RS_RETRY_MS 100
#define MN_COA_WAIT_OPT_MS 1000		/* optimistic: the announcement is immediate */
#define MN_COA_WAIT_DAD_MS 10000	/* DAD: RetransTimer x DupAddrDetectTransmits + delay */

/* ---- pure helpers ---- */

static bool iid_reserved(const uint8_t *iid)
{
	static const uint8_t zero[8];
	/* RFC 5453: subnet-router anycast (all zero) and the RFC 2526 range
	 * fdff:ffff:ffff:ff80 .. fdff:ffff:ffff:ffff. */
	if (memcmp(iid, zero, 8) == 0)
		return true;
	return iid[0] == 0xfd && iid[1] == 0xff && iid[2] == 0xff && iid[3] == 0xff &&
	       iid[4] == 0xff && iid[5] == 0xff && iid[6] == 0xff && iid[7] >= 0x80;
}

int mn_coa_form(const uint8_t prefix[16], uint8_t plen, enum mn_iid_mode mode,
		const uint8_t *mac, size_t mac_len, const char *ifname,
		const uint8_t secret[16], struct in6_addr *out)
{
	uint8_t a[16];

	if (plen != 64)
		return -1;
	memcpy(a, prefix, 8);
	if (mode == MN_IID_EUI64) {
		if (!mac || mac_len != 6)
			return -1;
		a[8] = mac[0] ^ 0x02;	/* universal/local bit inverted */
		a[9] = mac[1];
		a[10] = mac[2];
		a[11] = 0xff;
		a[12] = 0xfe;
		a[13] = mac[3];
		a[14] = mac[4];
		a[15] = mac[5];
	} else {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		uint8_t ctr = 0;

		do {
			EVP_MD_CTX *c = EVP_MD_CTX_new();
			if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
			    EVP_DigestUpdate(c, prefix, 8) != 1 ||
			    EVP_DigestUpdate(c, ifname ? ifname : "", ifname ? strlen(ifname) : 0) != 1 ||
			    EVP_DigestUpdate(c, &ctr, 1) != 1 ||
			    EVP_DigestUpdate(c, secret, 16) != 1 ||
			    EVP_DigestFinal_ex(c, md, &mdlen) != 1) {
				EVP_MD_CTX_free(c);
				return -1;
			}
			EVP_MD_CTX_free(c);
			memcpy(a + 8, md, 8);
			a[8] &= (uint8_t)~0x02;	/* a local, not a universal, IID */
			ctr++;
		} while (iid_reserved(a + 8) && ctr < 8);
	}
	if (iid_reserved(a + 8))
		return -1;
	memcpy(out, a, 16);
	return 0;
}

uint32_t mn_router_timeout_ms(const struct nd_ra *ra)
{
	uint64_t t;

	if (ra->has_adv_interval && ra->adv_interval_ms)
		t = (uint64_t)ra->adv_interval_ms * 3u;
	else
		t = (uint64_t)ra->router_lifetime * 1000u;
	if (t < 100)
		t = 100;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static bool same_prefix(const uint8_t *a, const uint8_t *b, uint8_t len)
{
	struct ip_prefix p = { .addr = { .family = AF_INET6 }, .len = len };
	struct ip_addr x = { .family = AF_INET6 };

	memcpy(p.addr.bytes, a, 16);
	memcpy(x.bytes, b, 16);
	return ip_prefix_contains(&p, &x);
}

struct mn_ra_decision mn_ra_decide(const struct nd_ra *ra, const struct ip_prefix *home,
				   const struct ip_prefix *cur)
{
	struct mn_ra_decision d = { .verdict = MN_RA_IGNORE };
	const struct nd_prefix *pick = NULL;

	d.router_timeout_ms = mn_router_timeout_ms(ra);
	/* A router lifetime of 0 says "not a default router": no CoA via it. */
	if (ra->router_lifetime == 0)
		return d;
	for (size_t i = 0; i < ra->n_prefixes; i++) {
		const struct nd_prefix *p = &ra->prefixes[i];

		if (p->valid_lifetime == 0)
			continue;
		/* The home prefix, advertised on-link: the node is at home
		 * (§11.5.4), whatever else the RA carries. */
		if (home && home->len && p->prefix_len == home->len &&
		    same_prefix(home->addr.bytes, p->prefix, home->len)) {
			d.verdict = MN_RA_HOME;
			d.prefix.addr.family = AF_INET6;
			memcpy(d.prefix.addr.bytes, p->prefix, 16);
			d.prefix.len = p->prefix_len;
			d.valid_lifetime = p->valid_lifetime;
			return d;
		}
		if (!p->autonomous || p->prefix_len != 64 ||
		    p->preferred_lifetime > p->valid_lifetime)
			continue;
		if (cur && cur->len && same_prefix(p->prefix, cur->addr.bytes, 64)) {
			d.verdict = MN_RA_SAME;
			pick = p;
			break;
		}
		if (!pick)
			pick = p;
	}
	if (!pick)
		return d;
	if (d.verdict != MN_RA_SAME)
		d.verdict = MN_RA_MOVE;
	d.prefix.addr.family = AF_INET6;
	memcpy(d.prefix.addr.bytes, pick->prefix, 16);
	d.prefix.len = 64;
	d.valid_lifetime = pick->valid_lifetime;
	return d;
}

/* ---- kernel state ---- */

const struct in6_addr *mn_current_coa(const struct mn *mn)
{
	return mn->cur && mn->cur->have_coa ? &mn->cur->coa.addr.v6 : NULL;
}

bool mn_coa(const struct mn *mn, struct ip_addr *out)
{
	const struct in6_addr *c = mn_current_coa(mn);

	if (c) {
		*out = (struct ip_addr){ .family = AF_INET6, .v6 = *c };
		return true;
	}
	if (!mn->cur && mn->cur4 && mn->cur4->have_v4) {
		*out = (struct ip_addr){ .family = AF_INET, .v4 = mn->cur4->v4 };
		return true;
	}
	return false;
}

bool mn_v4_attach(struct mn *mn)
{
	char b[INET_ADDRSTRLEN];

	if (!mn->cfg->has_ha4 || mn->cur || mn->at_home)
		return false;
	if (mn->cur4 && mn->cur4->running && mn->cur4->have_v4)
		return true;
	mn->cur4 = NULL;
	for (size_t i = 0; i < mn->n_ifs; i++) {
		struct mn_if *mi = &mn->ifs[i];
		if (!mi->running || !mi->have_v4)
			continue;
		mn->cur4 = mi;
		if (!mn->move_start_ms)
			mn->move_start_ms = mono_ms();
		counter_inc(&mn_c_movements);
		log_notice(MOD, "movement to IPv4 iface=%s coa=%s (RFC 5555)", mi->name,
			   inet_ntop(AF_INET, &mi->v4, b, sizeof(b)) ? b : "?");
		mn_reg_moved(mn);
		return true;
	}
	return false;
}

/* Sets net.ipv6.conf.<if>.<name>; returns the value found ('\0' unknown). */
static char set_sysctl(const char *ifname, const char *name, char value)
{
	char old;
	int rc = sysctl_ipv6_if_set(ifname, name, value, &old);

	if (rc < 0)
		log_warn(MOD, "cannot set %s iface=%s err=\"%s\"", name, ifname, strerror(-rc));
	return old;
}

static struct nl_route default_route(const struct mn_if *mi)
{
	struct nl_route r = { .oif = mi->ifindex };

	r.dst.addr.family = AF_INET6;
	r.gateway.family = AF_INET6;
	r.gateway.v6 = mi->router;
	return r;
}

static void route_del(struct mn_if *mi)
{
	if (!mi->route_added)
		return;
	struct nl_route r = default_route(mi);
	int rc = nl_route_del(mi->mn->nl, &r);
	if (rc < 0 && rc != -ESRCH)
		log_warn(MOD, "default route removal failed iface=%s err=\"%s\"", mi->name,
			 strerror(-rc));
	mi->route_added = false;
}

static void route_add(struct mn_if *mi)
{
	struct nl_route r = default_route(mi);
	int rc = nl_route_add(mi->mn->nl, &r, true);

	if (rc < 0)
		log_warn(MOD, "default route failed iface=%s err=\"%s\"", mi->name, strerror(-rc));
	else
		mi->route_added = true;
}

static void coa_ready(struct mn_if *mi)
{
	mi->coa_ready = true;
	timer_cancel(&mi->coa_timer);
	if (mi->mn->cur == mi)
		mn_reg_moved(mi->mn);
}

static void coa_timer_cb(void *arg)
{
	struct mn_if *mi = arg;
	struct mn *mn = mi->mn;

	if (mn->at_home && !mn->home_ready && mn->home_ifindex == mi->ifindex) {
		log_warn(MOD, "no kernel announcement of the HoA iface=%s: deregistering anyway",
			 mi->name);
		mn->home_ready = true;
		mn_reg_home_ready(mn);
		return;
	}
	if (!mi->have_coa || mi->coa_ready)
		return;
	log_warn(MOD, "no kernel announcement of the CoA iface=%s: registering anyway", mi->name);
	coa_ready(mi);
}

static void coa_del(struct mn_if *mi)
{
	char b[64];

	if (!mi->have_coa)
		return;
	int rc = nl_addr_del(mi->mn->nl, mi->ifindex, &mi->coa);
	if (rc < 0 && rc != -EADDRNOTAVAIL)
		log_warn(MOD, "CoA removal failed iface=%s coa=%s err=\"%s\"", mi->name,
			 ip_prefix_fmt(&mi->coa, b, sizeof(b)), strerror(-rc));
	else
		log_info(MOD, "CoA removed iface=%s coa=%s", mi->name,
			 ip_prefix_fmt(&mi->coa, b, sizeof(b)));
	mi->have_coa = false;
	mi->coa_ready = false;
	timer_cancel(&mi->coa_timer);
}

static int coa_add(struct mn_if *mi, const struct ip_prefix *prefix)
{
	struct mn *mn = mi->mn;
	struct ip_prefix p = { .addr = { .family = AF_INET6 }, .len = 64 };
	char b[64];

	if (mn_coa_form(prefix->addr.bytes, prefix->len, mn->cfg->iid, mi->mac, mi->mac_len,
			mi->name, mn->iid_secret, &p.addr.v6) < 0) {
		log_warn(MOD, "cannot form a CoA iface=%s prefix=%s (need /64%s)", mi->name,
			 ip_prefix_fmt(prefix, b, sizeof(b)),
			 mn->cfg->iid == MN_IID_EUI64 ? " and a 6-byte MAC" : "");
		return -1;
	}
	int rc = nl_addr_add(mn->nl, mi->ifindex, &p,
			     mn->cfg->optimistic_first_bu ? NL_ADDR_OPTIMISTIC : 0);
	if (rc < 0 && rc != -EEXIST) {
		log_warn(MOD, "CoA add failed iface=%s coa=%s err=\"%s\"", mi->name,
			 ip_prefix_fmt(&p, b, sizeof(b)), strerror(-rc));
		return -1;
	}
	mi->coa = p;
	mi->have_coa = true;
	/* An address just added receives nothing until the kernel has put
	 * its local route in (a BA could come back faster than that): the
	 * registration waits for the kernel's announcement. */
	mi->coa_ready = rc == -EEXIST || !mn->mon;
	if (!mi->coa_ready)
		timer_arm_ms(&mi->coa_timer, mn->cfg->optimistic_first_bu ? MN_COA_WAIT_OPT_MS :
								     MN_COA_WAIT_DAD_MS);
	log_info(MOD, "CoA configured iface=%s coa=%s optimistic=%s", mi->name,
		 ip_prefix_fmt(&p, b, sizeof(b)), mn->cfg->optimistic_first_bu ? "yes" : "no");
	return 0;
}

/* ---- router solicitation ---- */

/* Returns false when the link has no usable source address yet (its
 * link-local address is still tentative). */
static bool rs_send(struct mn_if *mi)
{
	uint8_t buf[64];
	size_t len = 0;
	struct nd_rs rs = { 0 };
	struct wire_error err;

	if (nd_rs_build(&rs, buf, sizeof(buf), &len, &err) != WIRE_OK)
		return true;
	int rc = icmp6_send(mi->fd, &icmp6_all_routers, mi->ifindex, buf, len);
	if (rc < 0)
		log_debug(MOD, "RS not sent iface=%s err=\"%s\"", mi->name, strerror(-rc));
	return rc != -EADDRNOTAVAIL;
}

static void rs_timer_cb(void *arg)
{
	struct mn_if *mi = arg;

	if (!mi->rs_left || mi->have_router)
		return;
	if (!rs_send(mi)) {
		timer_arm_ms(&mi->rs_timer, MN_RS_RETRY_MS);	/* DAD of the link-local */
		return;
	}
	if (--mi->rs_left)
		timer_arm_ms(&mi->rs_timer, mi->mn->cfg->rs_interval_ms);
}

static void rs_start(struct mn_if *mi)
{
	mi->rs_left = mi->mn->cfg->rs_count;
	if (mi->rs_left)
		timer_arm_ms(&mi->rs_timer, 0);
}

/* ---- movement ---- */

static void handover_begin(struct mn *mn)
{
	if (!mn->move_start_ms)
		mn->move_start_ms = mono_ms();
}

/* mi's CoA becomes the one registered with the HA. */
static void become_current(struct mn *mn, struct mn_if *mi)
{
	char b[64];

	if (mn->cur && mn->cur != mi)
		route_del(mn->cur);
	mn->cur = mi;
	mn->cur4 = NULL;	/* IPv6 is preferred over an IPv4 CoA */
	route_add(mi);
	handover_begin(mn);
	counter_inc(&mn_c_movements);
	log_notice(MOD, "movement iface=%s coa=%s%s", mi->name,
		   ip_addr_fmt(&mi->coa.addr, b, sizeof(b)),
		   mi->coa_ready ? "" : mn->cfg->optimistic_first_bu ?
					" (registering once the kernel has it)" :
					" (registering after DAD)");
	if (mi->coa_ready)
		mn_reg_moved(mn);
}

static struct mn_if *other_usable(struct mn *mn, const struct mn_if *not)
{
	for (size_t i = 0; i < mn->n_ifs; i++) {
		struct mn_if *o = &mn->ifs[i];
		if (o != not && o->running && o->have_router && (o->have_coa || o->home))
			return o;
	}
	return NULL;
}

/* Leaving a link: its CoA and default route go (§11.5.2 lets the old CoA
 * linger; our links are exclusive, so it would only confuse source
 * selection). The registration moves to another link if one is usable. */
static void router_lost(struct mn_if *mi, bool link_down)
{
	struct mn *mn = mi->mn;

	log_notice(MOD, "router lost iface=%s reason=%s", mi->name,
		   link_down ? "link_down" : "advertisements_missed");
	timer_cancel(&mi->router_timer);
	mi->have_router = false;
	route_del(mi);
	coa_del(mi);
	if (mi->home) {
		mi->home = false;
		if (mn->at_home)
			mn_home_detach(mn);
	}
	if (!link_down)
		rs_start(mi);
	if (mn->cur != mi)
		return;
	mn->cur = NULL;
	handover_begin(mn);
	struct mn_if *o = other_usable(mn, mi);
	if (o && o->home) {
		mn_reg_return_home(mn);
	} else if (o) {
		become_current(mn, o);
	} else if (!mn_v4_attach(mn)) {
		mn_reg_detached(mn);
	}
}

static void router_timer_cb(void *arg)
{
	router_lost(arg, false);
}

static void ra_home(struct mn_if *mi, const struct mn_ra_decision *d)
{
	struct mn *mn = mi->mn;

	mi->home_valid_s = d->valid_lifetime;
	mi->home_rx_ms = mono_ms();
	if (mi->have_coa)
		coa_del(mi);
	if (mi->home && mn->cur == mi) {
		if (!mi->route_added)	/* a new router on the home link */
			route_add(mi);
		return;
	}
	mi->home = true;
	if (mn->cur && mn->cur != mi)
		route_del(mn->cur);
	mn->cur = mi;
	route_add(mi);
	handover_begin(mn);
	counter_inc(&mn_c_movements);
	log_notice(MOD, "home link detected iface=%s", mi->name);
	mn_reg_return_home(mn);
}

static void ra_move(struct mn_if *mi, const struct mn_ra_decision *d)
{
	struct mn *mn = mi->mn;

	if (mi->home) {
		mi->home = false;
		if (mn->at_home)
			mn_home_detach(mn);
	}
	coa_del(mi);
	if (coa_add(mi, &d->prefix) < 0)
		return;
	/* Another link still has a live router: keep registering there and
	 * hold this CoA ready for the switch. */
	if (mn->cur && mn->cur != mi && mn->cur->have_router)
		return;
	if (mn->cur == mi)
		handover_begin(mn);	/* new router on the same link */
	become_current(mn, mi);
}

static void ra_rx(struct mn_if *mi, const uint8_t *buf, size_t len, const struct in6_addr *src)
{
	struct mn *mn = mi->mn;
	struct nd_ra ra;
	struct wire_error err;
	char b[64];

	counter_inc(&mn_c_ra_rx);
	if (!IN6_IS_ADDR_LINKLOCAL(src)) {	/* RFC 4861 §6.1.2 */
		counter_inc(&mn_c_ra_bad);
		log_debug(MOD, "RA from a non-link-local source dropped iface=%s", mi->name);
		return;
	}
	if (nd_ra_parse(buf, len, &ra, &err) != WIRE_OK) {
		counter_inc(&mn_c_ra_bad);
		log_info(MOD, "malformed RA dropped iface=%s err=\"%s\"", mi->name, err.msg);
		return;
	}
	struct ip_prefix cur = { 0 };
	if (mi->have_coa)
		cur = mi->coa;
	struct mn_ra_decision d = mn_ra_decide(&ra, &mn->home_prefix, &cur);
	if (d.verdict == MN_RA_IGNORE) {
		/* Router lifetime 0 from our router: it stops being one. */
		if (ra.router_lifetime == 0 && mi->have_router &&
		    memcmp(src, &mi->router, 16) == 0)
			router_lost(mi, false);
		return;
	}
	bool new_router = !mi->have_router || memcmp(src, &mi->router, 16) != 0;
	/* Another router on a link whose router still advertises our CoA's
	 * prefix is no movement (§11.5.1: only the loss of the current
	 * router, or its prefix, is); it would make the CoA flap between
	 * the routers of a multi-router link. */
	if (new_router && mi->have_router && mi->have_coa && d.verdict == MN_RA_MOVE &&
	    timer_pending(&mi->router_timer)) {
		log_debug(MOD, "RA from a second router ignored iface=%s", mi->name);
		return;
	}
	if (new_router && mi->route_added)
		route_del(mi);
	mi->router = *src;
	mi->have_router = true;
	timer_cancel(&mi->rs_timer);
	mi->rs_left = 0;
	timer_arm_ms(&mi->router_timer, d.router_timeout_ms);
	if (new_router) {
		char pb[64];
		log_info(MOD, "router iface=%s router=%s prefix=%s verdict=%s", mi->name,
			 inet_ntop(AF_INET6, src, b, sizeof(b)) ? b : "?",
			 ip_prefix_fmt(&d.prefix, pb, sizeof(pb)),
			 d.verdict == MN_RA_HOME ? "home" : d.verdict == MN_RA_SAME ? "same" : "move");
	}
	switch (d.verdict) {
	case MN_RA_HOME:
		ra_home(mi, &d);
		break;
	case MN_RA_MOVE:
		ra_move(mi, &d);
		break;
	case MN_RA_SAME:
		if (mn->cur == mi && new_router)
			route_add(mi);
		else if (!mn->cur)
			become_current(mn, mi);
		break;
	case MN_RA_IGNORE:
		break;
	}
}

static void icmp_readable(int fd, void *arg)
{
	struct mn_if *mi = arg;
	uint8_t buf[2048];
	struct icmp6_rx rx;

	for (int n = 0; n < 64; n++) {
		ssize_t len = icmp6_recv(fd, buf, sizeof(buf), &rx);
		if (len == -EAGAIN)
			return;
		if (len < 0) {
			log_warn(MOD, "ICMPv6 receive failed iface=%s err=\"%s\"", mi->name,
				 strerror((int)-len));
			return;
		}
		if (len == 0)
			continue;
		if (buf[0] == ND_TYPE_RA)
			ra_rx(mi, buf, (size_t)len, &rx.src);
		else
			mn_icmp_rx(mi, buf, (size_t)len, &rx.src, &rx.dst);
	}
}

static struct mn_if *if_by_index(struct mn *mn, int ifindex)
{
	for (size_t i = 0; i < mn->n_ifs; i++)
		if (mn->ifs[i].ifindex == ifindex)
			return &mn->ifs[i];
	return NULL;
}

static bool v4_usable(const struct nl_addr_info *a)
{
	uint32_t v = ntohl(a->prefix.addr.v4.s_addr);

	/* Host-scope, loopback and link-local (169.254/16) cannot be CoAs. */
	return a->scope == 0 && (v >> 24) != 127 && (v >> 16) != 0xa9fe;
}

/* Our CoA finished DAD (registration waits for it without optimistic
 * DAD), or failed it (RFC 4862 §5.4.5: the address is unusable). */
static void v6_addr_event(struct mn *mn, struct mn_if *mi, const struct nl_event *ev)
{
	char b[64];

	if (mn->at_home && !mn->home_ready && mi->ifindex == mn->home_ifindex &&
	    ev->kind == NL_EV_ADDR_NEW && memcmp(&ev->addr.prefix.addr.v6, &mn->hoa, 16) == 0) {
		mn->home_ready = true;
		timer_cancel(&mi->coa_timer);
		mn_reg_home_ready(mn);
		return;
	}
	if (!mi->have_coa || ev->kind != NL_EV_ADDR_NEW ||
	    !ip_addr_eq(&ev->addr.prefix.addr, &mi->coa.addr))
		return;
	if (ev->addr.ifa_flags & IFA_F_DADFAILED) {
		counter_inc(&mn_c_dad_failed);
		log_err(MOD, "CoA failed DAD iface=%s coa=%s: another node uses it", mi->name,
			ip_addr_fmt(&mi->coa.addr, b, sizeof(b)));
		coa_del(mi);
		return;
	}
	/* Optimistic: usable from the first announcement; else after DAD. */
	if (mi->coa_ready || (!(ev->addr.ifa_flags & IFA_F_OPTIMISTIC) &&
			      (ev->addr.ifa_flags & IFA_F_TENTATIVE)))
		return;
	log_info(MOD, "%s iface=%s coa=%s",
		 ev->addr.ifa_flags & IFA_F_OPTIMISTIC ? "CoA usable (optimistic)" : "CoA passed DAD",
		 mi->name, ip_addr_fmt(&mi->coa.addr, b, sizeof(b)));
	coa_ready(mi);
}

static void v4_addr_event(struct mn *mn, struct mn_if *mi, const struct nl_event *ev)
{
	if (ev->kind == NL_EV_ADDR_NEW && !mi->have_v4 && v4_usable(&ev->addr)) {
		mi->have_v4 = true;
		mi->v4 = ev->addr.prefix.addr.v4;
		mn_v4_attach(mn);
	} else if (ev->kind == NL_EV_ADDR_DEL && mi->have_v4 &&
		   mi->v4.s_addr == ev->addr.prefix.addr.v4.s_addr) {
		mi->have_v4 = false;
		if (mn->cur4 == mi) {
			mn->cur4 = NULL;
			if (!mn_v4_attach(mn))
				mn_reg_detached(mn);
		}
	}
}

static void v4_dump_cb(const struct nl_addr_info *a, void *arg)
{
	struct mn_if *mi = arg;

	if (!mi->have_v4 && a->ifindex == mi->ifindex && v4_usable(a)) {
		mi->have_v4 = true;
		mi->v4 = a->prefix.addr.v4;
	}
}

static void nl_event(const struct nl_event *ev, void *arg)
{
	struct mn *mn = arg;
	struct mn_if *mi;

	if (ev->kind == NL_EV_LOST) {
		log_warn(MOD, "netlink events lost: soliciting routers again");
		for (size_t i = 0; i < mn->n_ifs; i++)
			if (mn->ifs[i].running)
				rs_start(&mn->ifs[i]);
		return;
	}
	mi = if_by_index(mn, ev->ifindex);
	if (!mi)
		return;
	if (ev->kind != NL_EV_LINK) {
		if (ev->addr.prefix.addr.family == AF_INET)
			v4_addr_event(mn, mi, ev);
		else if (ev->addr.prefix.addr.family == AF_INET6)
			v6_addr_event(mn, mi, ev);
		return;
	}
	bool running = ev->up && ev->running && !ev->removed;
	if (running == mi->running)
		return;
	mi->running = running;
	log_notice(MOD, "link %s iface=%s", running ? "up" : "down", mi->name);
	if (!running) {
		timer_cancel(&mi->rs_timer);
		if (mi->have_router || mi->have_coa)
			router_lost(mi, true);
		if (mn->cur4 == mi) {
			mn->cur4 = NULL;
			if (!mn_v4_attach(mn))
				mn_reg_detached(mn);
		}
		return;
	}
	if (!mn->cur)
		mn_v4_attach(mn);
	/* A new attachment: ask for an RA now instead of waiting (§11.5.1). */
	handover_begin(mn);
	rs_start(mi);
}

int mn_move_open(struct mn *mn)
{
	static const uint8_t types[] = { ND_TYPE_RA, ICMPV6_HAAD_REPLY, ICMPV6_MPA };

	if (getrandom(mn->iid_secret, sizeof(mn->iid_secret), 0) != sizeof(mn->iid_secret))
		memset(mn->iid_secret, 0x5a, sizeof(mn->iid_secret));
	for (size_t i = 0; i < mn->cfg->n_ifaces; i++) {
		struct mn_if *mi = &mn->ifs[i];
		struct nl_link_info li;

		mi->mn = mn;
		mi->fd = -1;
		snprintf(mi->name, sizeof(mi->name), "%s", mn->cfg->ifaces[i]);
		mi->ifindex = nl_link_index(mi->name);
		if (mi->ifindex < 0) {
			log_err(MOD, "access interface missing iface=%s err=\"%s\"", mi->name,
				strerror(-mi->ifindex));
			return -1;
		}
		if (nl_link_get(mn->nl, mi->ifindex, &li) == 0) {
			memcpy(mi->mac, li.lladdr, li.lladdr_len);
			mi->mac_len = li.lladdr_len;
			mi->running = (li.flags & IFF_UP) && (li.flags & IFF_RUNNING);
		}
		mi->fd = icmp6_open(mi->name, types, sizeof(types), 0);
		if (mi->fd < 0) {
			log_err(MOD, "ICMPv6 socket failed iface=%s err=\"%s\"", mi->name,
				strerror(-mi->fd));
			return -1;
		}
		/* RSs, DHAAD and MPS stay on the access link, not in the tunnel. */
		if (setsockopt(mi->fd, SOL_SOCKET, SO_MARK, &mn->cfg->fwmark,
			       sizeof(mn->cfg->fwmark)) < 0)
			log_warn(MOD, "SO_MARK on ICMPv6 socket failed iface=%s err=\"%s\"",
				 mi->name, strerror(errno));
		timer_init(&mi->router_timer, mn->loop, router_timer_cb, mi);
		timer_init(&mi->rs_timer, mn->loop, rs_timer_cb, mi);
		mi->accept_ra_saved = set_sysctl(mi->name, "accept_ra", '0');
		/* With use_optimistic the kernel announces an optimistic address
		 * (RTM_NEWADDR) as soon as it can receive on it. */
		if (mn->cfg->optimistic_first_bu) {
			mi->use_optimistic_saved = set_sysctl(mi->name, "use_optimistic", '1');
			/* Now, while privileged: nl_addr_add would do it per CoA,
			 * which fails once root is dropped. */
			nl_ipv6_optimistic_dad(mi->ifindex, true);
		}
		timer_init(&mi->coa_timer, mn->loop, coa_timer_cb, mi);
		mn->n_ifs++;
	}
	return 0;
}

int mn_move_start(struct mn *mn)
{
	mn->mon = nl_monitor_open(mn->loop, nl_event, mn);
	if (!mn->mon)
		log_warn(MOD, "no netlink monitor: link changes are seen only through RAs");
	for (size_t i = 0; i < mn->n_ifs; i++) {
		struct mn_if *mi = &mn->ifs[i];

		mi->watch = io_watch_add(mn->loop, mi->fd, icmp_readable, mi);
		if (!mi->watch)
			return -1;
		if (mi->running)
			rs_start(mi);
		if (mn->cfg->has_ha4)
			nl_addr_dump(mn->nl, AF_INET, mi->ifindex, v4_dump_cb, mi);
	}
	mn_v4_attach(mn);
	return 0;
}

void mn_move_stop(struct mn *mn)
{
	nl_monitor_close(mn->mon);
	mn->mon = NULL;
	for (size_t i = 0; i < mn->n_ifs; i++) {
		struct mn_if *mi = &mn->ifs[i];

		io_watch_del(mi->watch);
		mi->watch = NULL;
		timer_cancel(&mi->router_timer);
		timer_cancel(&mi->rs_timer);
		route_del(mi);
		coa_del(mi);
		mi->have_router = false;
	}
	mn->cur = NULL;
	mn->cur4 = NULL;
}

void mn_move_close(struct mn *mn)
{
	for (size_t i = 0; i < mn->n_ifs; i++) {
		struct mn_if *mi = &mn->ifs[i];

		timer_deinit(&mi->router_timer);
		timer_deinit(&mi->rs_timer);
		timer_deinit(&mi->coa_timer);
		if (mi->fd >= 0) {
			close(mi->fd);
			if (mi->accept_ra_saved)
				set_sysctl(mi->name, "accept_ra", mi->accept_ra_saved);
			if (mi->use_optimistic_saved)
				set_sysctl(mi->name, "use_optimistic", mi->use_optimistic_saved);
		}
	}
	mn->n_ifs = 0;
}

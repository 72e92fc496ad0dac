#include "ar/ar_if.h"

#include <errno.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "core/stats.h"
#include "net/icmp6.h"

#define MOD "ar"

static COUNTER_DEFINE(c_ra_sent, "mipsec_ar_ra_sent_total", "Router Advertisements sent");
static COUNTER_DEFINE(c_ra_solicited, "mipsec_ar_ra_solicited_total",
		      "Router Advertisements sent in answer to a Router Solicitation");
static COUNTER_DEFINE(c_ra_final, "mipsec_ar_ra_final_total",
		      "Final Router Advertisements (router lifetime 0) sent at stop");
static COUNTER_DEFINE(c_send_err, "mipsec_ar_ra_send_errors_total",
		      "Router Advertisements the kernel refused to send");
static COUNTER_DEFINE(c_rs_rx, "mipsec_ar_rs_received_total", "Router Solicitations received");
static COUNTER_DEFINE(c_rs_invalid, "mipsec_ar_rs_invalid_total",
		      "Router Solicitations dropped as malformed (RFC 4861 §6.1.1)");
static COUNTER_DEFINE(c_rs_limited, "mipsec_ar_rs_ratelimited_total",
		      "Router Solicitations answered by the next multicast RA because the unicast rate limit was reached");
static COUNTER_DEFINE(c_ra_rx, "mipsec_ar_ra_received_total",
		      "Router Advertisements heard from other routers");
static COUNTER_DEFINE(c_ra_invalid, "mipsec_ar_ra_invalid_total",
		      "Router Advertisements from other routers dropped as malformed (RFC 4861 §6.1.2)");
static COUNTER_DEFINE(c_ra_inconsistent, "mipsec_ar_ra_inconsistent_total",
		      "Router Advertisements from other routers inconsistent with ours (RFC 4861 §6.2.7)");

void ar_counters_register(void)
{
	static struct counter *const all[] = {
		&c_ra_sent, &c_ra_solicited, &c_ra_final, &c_send_err, &c_rs_rx, &c_rs_invalid,
		&c_rs_limited, &c_ra_rx, &c_ra_invalid, &c_ra_inconsistent,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

/* Link-layer address for the SLLA option. Only link types whose address
 * fits sa_data are read here (Ethernet and the like); TUN has none. */
static void read_lladdr(struct ar_if *ifp)
{
	struct ifreq ifr;

	ifp->lladdr_len = 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifp->cfg.name);
	if (ioctl(ifp->fd, SIOCGIFHWADDR, &ifr) < 0) {
		log_warn(MOD, "cannot read link-layer address iface=%s err=\"%s\"", ifp->cfg.name,
			 strerror(errno));
		return;
	}
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_ETHER:
	case ARPHRD_IEEE802:
		memcpy(ifp->lladdr, ifr.ifr_hwaddr.sa_data, 6);
		ifp->lladdr_len = 6;
		break;
	default:
		log_info(MOD, "no link-layer address to advertise iface=%s hwtype=%u",
			 ifp->cfg.name, ifr.ifr_hwaddr.sa_family);
	}
}

static bool rebuild(struct ar_if *ifp)
{
	struct nd_ra ra;
	struct wire_error err;
	uint8_t old[AR_MSG_MAX];
	size_t old_len = ifp->msg_len;

	memcpy(old, ifp->msg, old_len);
	ar_ra_fill(&ifp->cfg, ifp->lladdr, ifp->lladdr_len, -1, &ra);
	for (size_t i = 0; ifp->withdraw_left && i < ifp->n_withdrawn; i++) {
		if (ra.n_prefixes >= ND_MAX_PREFIXES)
			break;
		const struct ar_prefix_cfg *w = &ifp->withdrawn[i];
		struct nd_prefix *pi = &ra.prefixes[ra.n_prefixes++];
		pi->prefix_len = w->prefix.len;
		pi->on_link = w->on_link;
		pi->autonomous = w->autonomous;
		pi->router_address = w->router_address;
		pi->valid_lifetime = 0;
		pi->preferred_lifetime = 0;
		memcpy(pi->prefix, w->prefix.addr.bytes, 16);
	}
	if (nd_ra_build(&ra, ifp->msg, sizeof(ifp->msg), &ifp->msg_len, &err) != WIRE_OK) {
		/* Configuration limits keep an RA well under 1280 bytes. */
		log_err(MOD, "cannot build RA iface=%s err=\"%s\"", ifp->cfg.name, err.msg);
		ifp->msg_len = 0;
	}
	return old_len != ifp->msg_len || memcmp(old, ifp->msg, old_len) != 0;
}

static uint64_t random_us(uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo;
	if (span >= UINT32_MAX)
		span = UINT32_MAX - 1;
	return lo + arc4random_uniform((uint32_t)span + 1);
}

/* RFC 4861 §6.2.4: a uniformly random interval in [Min, Max]; the first
 * few are capped at MAX_INITIAL_RTR_ADVERT_INTERVAL. */
static void schedule_periodic(struct ar_if *ifp)
{
	uint64_t us = random_us((uint64_t)ifp->cfg.min_interval_ms * 1000,
				(uint64_t)ifp->cfg.max_interval_ms * 1000);

	if (ifp->initial_left > 0 && us > AR_MAX_INITIAL_RTR_ADVERT_INTERVAL_MS * 1000ull)
		us = AR_MAX_INITIAL_RTR_ADVERT_INTERVAL_MS * 1000ull;
	ifp->next_is_solicited = false;
	timer_arm_us(&ifp->ra_timer, us);
}

static int send_ra(struct ar_if *ifp, const struct in6_addr *dst, const uint8_t *msg, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int rc;

	if (len == 0)
		return -EINVAL;
	rc = icmp6_send(ifp->fd, dst, ifp->ifindex, msg, len);
	if (rc < 0) {
		ifp->send_errors++;
		counter_inc(&c_send_err);
		/* EADDRNOTAVAIL: the link-local address is still tentative. */
		log_debug(MOD, "cannot send RA iface=%s dst=%s err=\"%s\"", ifp->cfg.name,
			  inet_ntop(AF_INET6, dst, a, sizeof(a)), strerror(-rc));
		return rc;
	}
	ifp->ras_sent++;
	ifp->last_sent_us = mono_us();
	counter_inc(&c_ra_sent);
	return 0;
}

static void on_ra_timer(void *arg)
{
	struct ar_if *ifp = arg;

	if (send_ra(ifp, &icmp6_all_nodes, ifp->msg, ifp->msg_len) == 0) {
		ifp->last_mcast_us = ifp->last_sent_us;
		if (ifp->next_is_solicited) {
			ifp->ras_solicited++;
			counter_inc(&c_ra_solicited);
		}
	}
	if (ifp->initial_left > 0)
		ifp->initial_left--;
	if (ifp->withdraw_left > 0 && --ifp->withdraw_left == 0)
		rebuild(ifp);
	schedule_periodic(ifp);
}

/* Brings the next multicast RA forward to `at_us` unless one is due
 * earlier, never closer than MinDelayBetweenRAs to the last one. */
static void pull_multicast(struct ar_if *ifp, uint64_t at_us, bool solicited)
{
	uint64_t now = mono_us();
	uint64_t earliest = ifp->last_mcast_us ?
				    ifp->last_mcast_us + (uint64_t)ifp->cfg.min_delay_between_ras_ms * 1000 :
				    0;

	if (at_us < earliest)
		at_us = earliest;
	uint64_t delay = at_us > now ? at_us - now : 0;
	if (timer_pending(&ifp->ra_timer) && timer_remaining_us(&ifp->ra_timer) <= delay)
		return;
	ifp->next_is_solicited = solicited;
	timer_arm_us(&ifp->ra_timer, delay);
}

static bool take_unicast_token(struct ar_if *ifp)
{
	const uint64_t cap = 1000000;	/* one second's worth: burst = rate */
	uint64_t now = mono_us(), cost = cap / ifp->cfg.solicited_rate;

	ifp->credit_us += now - ifp->refill_us;
	if (ifp->credit_us > cap)
		ifp->credit_us = cap;
	ifp->refill_us = now;
	if (ifp->credit_us < cost)
		return false;
	ifp->credit_us -= cost;
	return true;
}

static void handle_rs(struct ar_if *ifp, const uint8_t *buf, size_t len,
		      const struct icmp6_rx *rx)
{
	struct nd_rs rs;
	struct wire_error err;
	char a[INET6_ADDRSTRLEN];

	ifp->rs_received++;
	counter_inc(&c_rs_rx);
	inet_ntop(AF_INET6, &rx->src, a, sizeof(a));
	if (nd_rs_parse(buf, len, &rs, &err) != WIRE_OK ||
	    nd_rs_check_source(&rs, rx->src.s6_addr, &err) != WIRE_OK) {
		ifp->rs_invalid++;
		counter_inc(&c_rs_invalid);
		log_info(MOD, "invalid RS dropped iface=%s src=%s err=\"%s\"", ifp->cfg.name, a,
			 err.msg);
		return;
	}
	if (!ifp->running)
		return;
	log_debug(MOD, "RS received iface=%s src=%s", ifp->cfg.name, a);
	/* Unicast only to a link-local soliciter: the kernel then sends from
	 * our link-local address, the only source an RA may have (§6.1.2). */
	if (ifp->cfg.solicited_unicast && IN6_IS_ADDR_LINKLOCAL(&rx->src)) {
		if (take_unicast_token(ifp)) {
			if (send_ra(ifp, &rx->src, ifp->msg, ifp->msg_len) == 0) {
				ifp->ras_solicited++;
				counter_inc(&c_ra_solicited);
			}
			return;
		}
		counter_inc(&c_rs_limited);
	}
	uint64_t delay = random_us(0, (uint64_t)ifp->cfg.max_ra_delay_ms * 1000);
	pull_multicast(ifp, mono_us() + delay, true);
}

/* RFC 4861 §6.2.7: log what another router advertises differently. */
static void check_consistency(struct ar_if *ifp, const struct nd_ra *ra, const char *src)
{
	const struct ar_iface_cfg *c = &ifp->cfg;
	const char *what = NULL;

	if (ra->cur_hop_limit && c->hop_limit && ra->cur_hop_limit != c->hop_limit)
		what = "cur_hop_limit";
	else if (ra->managed != c->managed)
		what = "managed";
	else if (ra->other != c->other_config)
		what = "other_config";
	else if (ra->reachable_time && c->reachable_time && ra->reachable_time != c->reachable_time)
		what = "reachable_time";
	else if (ra->retrans_timer && c->retrans_timer && ra->retrans_timer != c->retrans_timer)
		what = "retrans_timer";
	else if (ra->has_mtu && c->mtu && ra->mtu != c->mtu)
		what = "mtu";
	for (size_t i = 0; !what && i < ra->n_prefixes; i++) {
		const struct nd_prefix *p = &ra->prefixes[i];
		for (size_t k = 0; k < c->n_prefixes; k++) {
			const struct ar_prefix_cfg *q = &c->prefixes[k];
			if (q->prefix.len != p->prefix_len ||
			    memcmp(q->prefix.addr.bytes, p->prefix, p->prefix_len / 8) != 0)
				continue;
			if (p->valid_lifetime != q->valid_lifetime ||
			    p->preferred_lifetime != q->preferred_lifetime)
				what = "prefix lifetimes";
		}
	}
	if (!what)
		return;
	counter_inc(&c_ra_inconsistent);
	uint64_t now = mono_us();
	if (ifp->last_inconsistency_log_us && now - ifp->last_inconsistency_log_us < 60000000)
		return;
	ifp->last_inconsistency_log_us = now;
	log_warn(MOD, "another router advertises inconsistent information iface=%s router=%s field=\"%s\"",
		 ifp->cfg.name, src, what);
}

static void handle_ra(struct ar_if *ifp, const uint8_t *buf, size_t len,
		      const struct icmp6_rx *rx)
{
	struct nd_ra ra;
	struct wire_error err;
	char a[INET6_ADDRSTRLEN];

	ifp->ra_received++;
	counter_inc(&c_ra_rx);
	inet_ntop(AF_INET6, &rx->src, a, sizeof(a));
	if (!IN6_IS_ADDR_LINKLOCAL(&rx->src)) {
		counter_inc(&c_ra_invalid);
		log_info(MOD, "RA from a non-link-local source dropped iface=%s src=%s",
			 ifp->cfg.name, a);
		return;
	}
	if (nd_ra_parse(buf, len, &ra, &err) != WIRE_OK) {
		counter_inc(&c_ra_invalid);
		log_info(MOD, "invalid RA dropped iface=%s src=%s err=\"%s\"", ifp->cfg.name, a,
			 err.msg);
		return;
	}
	check_consistency(ifp, &ra, a);
}

static void on_readable(int fd, void *arg)
{
	struct ar_if *ifp = arg;
	uint8_t buf[2048];
	struct icmp6_rx rx;

	/* Bounded so that a flood cannot starve the timers. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = icmp6_recv(fd, buf, sizeof(buf), &rx);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			log_warn(MOD, "receive failed iface=%s err=\"%s\"", ifp->cfg.name,
				 strerror((int)-n));
			return;
		}
		if (n == 0)
			continue;
		if (buf[0] == ND_TYPE_RS)
			handle_rs(ifp, buf, (size_t)n, &rx);
		else if (buf[0] == ND_TYPE_RA)
			handle_ra(ifp, buf, (size_t)n, &rx);
	}
}

struct ar_if *ar_if_open(struct loop *l, const struct ar_iface_cfg *cfg)
{
	static const uint8_t types[] = { ND_TYPE_RS, ND_TYPE_RA };
	struct ar_if *ifp = calloc(1, sizeof(*ifp));

	if (!ifp)
		return NULL;
	ifp->loop = l;
	ifp->cfg = *cfg;
	ifp->fd = -1;
	ifp->ifindex = (int)if_nametoindex(cfg->name);
	if (ifp->ifindex <= 0) {
		log_err(MOD, "interface not found iface=%s", cfg->name);
		goto fail;
	}
	ifp->fd = icmp6_open(cfg->name, types, 2, ICMP6_JOIN_ALL_ROUTERS);
	if (ifp->fd < 0) {
		log_err(MOD, "cannot open ICMPv6 socket iface=%s err=\"%s\"", cfg->name,
			strerror(-ifp->fd));
		goto fail;
	}
	if (timer_init(&ifp->ra_timer, l, on_ra_timer, ifp) < 0)
		goto fail;
	read_lladdr(ifp);
	rebuild(ifp);
	return ifp;
fail:
	if (ifp->fd >= 0)
		close(ifp->fd);
	free(ifp);
	return NULL;
}

int ar_if_start(struct ar_if *ifp)
{
	if (ifp->running)
		return 0;
	ifp->watch = io_watch_add(ifp->loop, ifp->fd, on_readable, ifp);
	if (!ifp->watch) {
		log_err(MOD, "cannot watch ICMPv6 socket iface=%s", ifp->cfg.name);
		return -1;
	}
	ifp->running = true;
	ifp->initial_left = AR_MAX_INITIAL_RTR_ADVERTISEMENTS;
	ifp->credit_us = 1000000;
	ifp->refill_us = mono_us();
	ifp->next_is_solicited = false;
	timer_arm_us(&ifp->ra_timer, 0);
	log_info(MOD, "advertising iface=%s interval_ms=%u..%u prefixes=%zu maps=%zu",
		 ifp->cfg.name, ifp->cfg.min_interval_ms, ifp->cfg.max_interval_ms,
		 ifp->cfg.n_prefixes, ifp->cfg.n_maps);
	return 0;
}

static bool has_prefix(const struct ar_iface_cfg *c, const struct ip_prefix *p)
{
	for (size_t i = 0; i < c->n_prefixes; i++)
		if (c->prefixes[i].prefix.len == p->len &&
		    ip_prefix_contains(&c->prefixes[i].prefix, &p->addr))
			return true;
	return false;
}

/* Prefixes the new configuration drops are advertised with zero valid and
 * preferred lifetimes in the next initial RAs (RFC 4862 §5.5.3 deprecates
 * them at once; hosts keep the address up to 2 h, as that section says). */
static void note_withdrawn(struct ar_if *ifp, const struct ar_iface_cfg *next)
{
	struct ar_prefix_cfg w[ND_MAX_PREFIXES];
	size_t n = 0;

	for (size_t i = 0; i < ifp->cfg.n_prefixes && n < ND_MAX_PREFIXES; i++)
		if (!has_prefix(next, &ifp->cfg.prefixes[i].prefix))
			w[n++] = ifp->cfg.prefixes[i];
	/* Still-pending withdrawals that the new list does not bring back. */
	for (size_t i = 0; ifp->withdraw_left && i < ifp->n_withdrawn && n < ND_MAX_PREFIXES; i++)
		if (!has_prefix(next, &ifp->withdrawn[i].prefix) &&
		    !has_prefix(&ifp->cfg, &ifp->withdrawn[i].prefix))
			w[n++] = ifp->withdrawn[i];
	memcpy(ifp->withdrawn, w, n * sizeof(w[0]));
	ifp->n_withdrawn = n;
	ifp->withdraw_left = n ? AR_MAX_INITIAL_RTR_ADVERTISEMENTS : 0;
}

void ar_if_update(struct ar_if *ifp, const struct ar_iface_cfg *cfg)
{
	bool timing = cfg->min_interval_ms != ifp->cfg.min_interval_ms ||
		      cfg->max_interval_ms != ifp->cfg.max_interval_ms;

	note_withdrawn(ifp, cfg);
	ifp->cfg = *cfg;
	read_lladdr(ifp);
	bool changed = rebuild(ifp);
	if (!ifp->running)
		return;
	if (changed) {
		/* RFC 4861 §6.2.4: new information goes out like a new
		 * interface's, with the initial fast advertisements. */
		ifp->initial_left = AR_MAX_INITIAL_RTR_ADVERTISEMENTS;
		pull_multicast(ifp, mono_us(), false);
	} else if (timing) {
		schedule_periodic(ifp);
	}
	log_info(MOD, "configuration applied iface=%s changed=%s", ifp->cfg.name,
		 changed ? "yes" : "no");
}

void ar_if_stop(struct ar_if *ifp)
{
	struct nd_ra ra;
	struct wire_error err;
	uint8_t msg[AR_MSG_MAX];
	size_t len;

	if (!ifp->running)
		return;
	timer_cancel(&ifp->ra_timer);
	io_watch_del(ifp->watch);
	ifp->watch = NULL;
	ifp->running = false;
	/* RFC 4861 §6.2.5: tell hosts to stop using us as default router. */
	ar_ra_fill(&ifp->cfg, ifp->lladdr, ifp->lladdr_len, 0, &ra);
	if (nd_ra_build(&ra, msg, sizeof(msg), &len, &err) == WIRE_OK &&
	    send_ra(ifp, &icmp6_all_nodes, msg, len) == 0)
		counter_inc(&c_ra_final);
	log_info(MOD, "stopped advertising iface=%s ras_sent=%llu", ifp->cfg.name,
		 (unsigned long long)ifp->ras_sent);
}

void ar_if_close(struct ar_if *ifp)
{
	if (!ifp)
		return;
	if (ifp->watch)
		io_watch_del(ifp->watch);
	timer_deinit(&ifp->ra_timer);
	if (ifp->fd >= 0)
		close(ifp->fd);
	free(ifp);
}

static json_t *prefixes_json(const struct ar_iface_cfg *c)
{
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct ar_prefix_cfg *p = &c->prefixes[i];
		json_array_append_new(a, json_pack("{s:s, s:b, s:b, s:b, s:I, s:I}",
			"prefix", ip_prefix_fmt(&p->prefix, buf, sizeof(buf)),
			"on_link", p->on_link, "autonomous", p->autonomous,
			"router_address", p->router_address,
			"valid_lifetime", (json_int_t)p->valid_lifetime,
			"preferred_lifetime", (json_int_t)p->preferred_lifetime));
	}
	return a;
}

static json_t *maps_json(const struct ar_iface_cfg *c)
{
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < c->n_maps; i++) {
		const struct ar_map_cfg *m = &c->maps[i];
		json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:b, s:I}",
			"address", inet_ntop(AF_INET6, &m->addr, buf, sizeof(buf)),
			"distance", m->distance, "preference", m->preference, "rcoa", m->rcoa,
			"valid_lifetime", (json_int_t)m->valid_lifetime));
	}
	return a;
}

json_t *ar_if_dump(const struct ar_if *ifp)
{
	const struct ar_iface_cfg *c = &ifp->cfg;
	uint64_t now = mono_us();
	json_t *o = json_pack("{s:s, s:i, s:b, s:i, s:i, s:i, s:b, s:b, s:b, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
		"interface", c->name, "ifindex", ifp->ifindex, "advertising", ifp->running,
		"min_interval_ms", (int)c->min_interval_ms, "max_interval_ms", (int)c->max_interval_ms,
		"router_lifetime", (int)c->router_lifetime, "managed", c->managed,
		"other_config", c->other_config, "home_agent", c->home_agent,
		"prefixes", prefixes_json(c), "map", maps_json(c),
		"ras_sent", (json_int_t)ifp->ras_sent, "ras_solicited", (json_int_t)ifp->ras_solicited,
		"rs_received", (json_int_t)ifp->rs_received, "rs_invalid", (json_int_t)ifp->rs_invalid,
		"ras_heard", (json_int_t)ifp->ra_received, "send_errors", (json_int_t)ifp->send_errors);

	if (!o)
		return NULL;
	json_object_set_new(o, "last_sent_ms_ago", ifp->last_sent_us ?
				   json_integer((json_int_t)((now - ifp->last_sent_us) / 1000)) :
				   json_null());
	json_object_set_new(o, "next_ra_in_ms", timer_pending(&ifp->ra_timer) ?
				   json_integer((json_int_t)(timer_remaining_us(&ifp->ra_timer) / 1000)) :
				   json_null());
	return o;
}

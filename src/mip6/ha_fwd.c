/* Interception and the tunnel (RFC 6275 §10.4): per binding a host route
 * `HoA/128 dev <tun>` steers the home link's packets for the home address
 * into the daemon, and a proxy neighbour entry on the home link answers
 * Neighbor Solicitations for it (§10.4.1). Packets read from the TUN are
 * sent to the care-of address in UDP (§10.4.2, RFC 5555 encapsulation). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stats.h"
#include "mip6/ha_priv.h"
#include "net/icmp6.h"
#include "net/netlink.h"
#include "net/sysctl.h"
#include "wire/ipv6.h"
#include "wire/nd.h"

#define MOD "ha"

static COUNTER_DEFINE(c_tun_pkts, "mipsec_ha_tunnel_packets_total",
		      "Packets for home addresses tunnelled to care-of addresses");
static COUNTER_DEFINE(c_tun_nobind, "mipsec_ha_tunnel_no_binding_total",
		      "Packets from the TUN for an address without a binding (dropped)");
static COUNTER_DEFINE(c_tun_bad, "mipsec_ha_tunnel_malformed_total",
		      "Packets from the TUN that are not IPv6 (dropped)");
static COUNTER_DEFINE(c_route_err, "mipsec_ha_route_errors_total",
		      "Host routes for home addresses the kernel refused");
static COUNTER_DEFINE(c_proxy_err, "mipsec_ha_proxy_nd_errors_total",
		      "Proxy neighbour entries the kernel refused");
static COUNTER_DEFINE(c_na_sent, "mipsec_ha_proxy_na_sent_total",
		      "Unsolicited Neighbor Advertisements sent for new home addresses (RFC 6275 §10.4.1)");
static COUNTER_DEFINE(c_na_err, "mipsec_ha_proxy_na_errors_total",
		      "Unsolicited Neighbor Advertisements the kernel refused");
static COUNTER_DEFINE(c_tun_nosa, "mipsec_ha_tunnel_no_sa_total",
		      "Packets for a home address that requires IPsec but has no SA (dropped)");

void ha_fwd_counters_register(void)
{
	static struct counter *const all[] = { &c_tun_pkts, &c_tun_nobind, &c_tun_bad,
					       &c_route_err, &c_proxy_err, &c_na_sent, &c_na_err,
					       &c_tun_nosa };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		counter_register(all[i]);
}

int ha_fwd_init(struct ha *ha)
{
	int rc;

	ha->na_fd = -1;
	if (!ha->cfg->proxy_nd)
		return 0;
	rc = nl_link_lladdr(ha->nl, ha->home_ifindex, ha->lladdr, sizeof(ha->lladdr));
	ha->lladdr_len = rc > 0 && rc <= ND_LLADDR_MAX ? (size_t)rc : 0;
	/* Send-only: no ICMPv6 type passes the filter. */
	ha->na_fd = icmp6_open(ha->cfg->home_link, NULL, 0, 0);
	if (ha->na_fd < 0)
		log_warn(MOD, "cannot open NA socket iface=%s err=\"%s\"", ha->cfg->home_link,
			 strerror(-ha->na_fd));
	rc = sysctl_ipv6_if_set(ha->cfg->home_link, "proxy_ndp", '1', &ha->proxy_ndp_saved);
	if (rc < 0)
		log_warn(MOD, "cannot enable proxy_ndp iface=%s err=\"%s\"", ha->cfg->home_link,
			 strerror(-rc));
	return rc;
}

void ha_fwd_close(struct ha *ha)
{
	if (ha->na_fd >= 0)
		close(ha->na_fd);
	ha->na_fd = -1;
	/* The home link as we found it: no proxy NDP for a stopped HA. */
	if (ha->proxy_ndp_saved && ha->proxy_ndp_saved != '1')
		sysctl_ipv6_if_set(ha->cfg->home_link, "proxy_ndp", ha->proxy_ndp_saved, NULL);
	ha->proxy_ndp_saved = '\0';
}

/* fe80::<interface identifier of the home address>. */
static struct ip_addr link_local_of(const struct in6_addr *hoa)
{
	struct ip_addr a = { .family = AF_INET6 };

	a.bytes[0] = 0xfe;
	a.bytes[1] = 0x80;
	memcpy(a.bytes + 8, hoa->s6_addr + 8, 8);
	return a;
}

/* RFC 6275 §10.4.1: a Neighbor Advertisement to all-nodes on behalf of
 * the mobile node, Override set, Solicited clear, our link-layer address,
 * so that home-link neighbours forget the node's own address at once. */
static void announce(struct ha *ha, const struct ip_addr *a)
{
	struct nd_na na = { .override = true };
	uint8_t msg[64];
	size_t len;
	struct wire_error err;

	if (ha->na_fd < 0)
		return;
	memcpy(na.target, a->bytes, 16);
	if (ha->lladdr_len) {
		na.has_tlla = true;
		na.tlla.len = (uint8_t)ha->lladdr_len;
		memcpy(na.tlla.addr, ha->lladdr, ha->lladdr_len);
	}
	if (nd_na_build(&na, msg, sizeof(msg), &len, &err) != WIRE_OK)
		return;
	if (icmp6_send(ha->na_fd, &icmp6_all_nodes, ha->home_ifindex, msg, len) < 0)
		counter_inc(&c_na_err);
	else
		counter_inc(&c_na_sent);
}

static int proxy_add(struct ha *ha, const struct ip_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	int rc = nl_neigh_proxy_add(ha->nl, ha->home_ifindex, a);

	if (rc < 0 && rc != -EEXIST) {
		counter_inc(&c_proxy_err);
		log_warn(MOD, "cannot add proxy ND entry addr=%s dev=%s err=\"%s\"",
			 ip_addr_fmt(a, buf, sizeof(buf)), ha->cfg->home_link, strerror(-rc));
		return rc;
	}
	return 0;
}

static void proxy_del(struct ha *ha, const struct ip_addr *a)
{
	int rc = nl_neigh_proxy_del(ha->nl, ha->home_ifindex, a);

	if (rc < 0 && rc != -ENOENT)
		counter_inc(&c_proxy_err);
}

static struct nl_route host_route(const struct ha *ha, const struct in6_addr *hoa)
{
	struct nl_route r = { .oif = ha->tun_ifindex };

	r.dst.addr.family = AF_INET6;
	r.dst.addr.v6 = *hoa;
	r.dst.len = 128;
	return r;
}

int ha_fwd_add(struct ha *ha, const struct in6_addr *hoa, bool lflag, bool announce_it)
{
	struct nl_route r = host_route(ha, hoa);
	struct ip_addr a = { .family = AF_INET6, .v6 = *hoa };
	struct ip_addr ll = link_local_of(hoa);
	char buf[INET6_ADDRSTRLEN];
	int rc;

	rc = nl_route_add(ha->nl, &r, true);
	if (rc < 0) {
		counter_inc(&c_route_err);
		log_warn(MOD, "cannot add route hoa=%s dev=%s err=\"%s\"",
			 ip_addr_fmt(&a, buf, sizeof(buf)), ha->cfg->tun, strerror(-rc));
		return rc;
	}
	if (ha->cfg->proxy_nd && ha->home_ifindex > 0) {
		if ((rc = proxy_add(ha, &a)) < 0) {
			nl_route_del(ha->nl, &r);
			return rc;
		}
		if (lflag && (rc = proxy_add(ha, &ll)) < 0) {
			proxy_del(ha, &a);
			nl_route_del(ha->nl, &r);
			return rc;
		}
		if (announce_it) {
			announce(ha, &a);
			if (lflag)
				announce(ha, &ll);
		}
	}
	ha->routes_installed++;
	return 0;
}

void ha_fwd_del(struct ha *ha, const struct in6_addr *hoa, bool lflag)
{
	struct nl_route r = host_route(ha, hoa);
	struct ip_addr a = { .family = AF_INET6, .v6 = *hoa };
	int rc;

	/* ENOENT/ESRCH: already gone (the TUN went down, someone flushed). */
	rc = nl_route_del(ha->nl, &r);
	if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
		counter_inc(&c_route_err);
	if (ha->cfg->proxy_nd && ha->home_ifindex > 0) {
		proxy_del(ha, &a);
		if (lflag) {
			struct ip_addr ll = link_local_of(hoa);
			proxy_del(ha, &ll);
		}
	}
	if (ha->routes_installed)
		ha->routes_installed--;
}

/* The outer source is the address the MN registered with, so that NATs
 * and the MN's own checks see one peer. */
static struct ip_addr outer_src(const struct ha *ha, const struct bce *e)
{
	struct ip_addr src = { 0 };

	if (e->coa.family == AF_INET6) {
		src.family = AF_INET6;
		src.v6 = ha->cfg->address;
	} else if (ha->cfg->has_address4) {
		src.family = AF_INET;
		src.v4 = ha->cfg->address4;
	}
	return src;
}

static int send_plain(struct ha *ha, const struct bce *e, const uint8_t *pkt, size_t len)
{
	struct ip_addr src = outer_src(ha, e);

	return mip6_ep_send(ha->ep, &e->coa, e->coa_port ? e->coa_port : ha->cfg->port, &src,
			    pkt, len);
}

/* RFC 4877 tunnel SA: IPv6(src=HA, dst=CoA) / ESP / the packet at
 * buf + off, built in place (the ESP tunnel is the mobile tunnel, 001
 * Fig. 22). With an IPv4 care-of address the IPv6 header names the home
 * address, as the BA's does (RFC 5555 §4.3). */
static int send_esp(struct ha *ha, const struct bce *e, struct mip6_sec_set *set, uint8_t *buf,
		    size_t cap, size_t off, size_t len)
{
	const uint8_t *dst = e->coa.family == AF_INET6 ? e->coa.bytes : e->hoa.s6_addr;
	size_t o, n;

	if (mip6_sec_protect_tun(set, buf, cap, off, len, ha->cfg->address.s6_addr, dst, &o, &n) < 0)
		return -1;
	return send_plain(ha, e, buf + o, n);
}

/* NULL: plain tunnel; else the set to use. *drop: IPsec is required and
 * no SA exists. */
static struct mip6_sec_set *tun_set(struct ha *ha, const struct bce *e, bool *drop)
{
	struct mip6_sec_set *set = ha->sec ? mip6_sec_find(ha->sec, &e->hoa) : NULL;

	*drop = !set && ha_sec_required(ha, &e->hoa);
	if (*drop)
		counter_inc(&c_tun_nosa);
	return set;
}

int ha_fwd_send(struct ha *ha, const struct bce *e, const uint8_t *pkt, size_t len)
{
	static uint8_t scratch[MIP6_EP_BUFSZ];
	bool drop;
	struct mip6_sec_set *set = tun_set(ha, e, &drop);

	if (drop)
		return -EACCES;
	if (!set)
		return send_plain(ha, e, pkt, len);
	if (len > sizeof(scratch) - MIP6_EP_HEADROOM)
		return -EMSGSIZE;
	memcpy(scratch + MIP6_EP_HEADROOM, pkt, len);
	return send_esp(ha, e, set, scratch, sizeof(scratch), MIP6_EP_HEADROOM, len) < 0 ? -EIO : 0;
}

void ha_tun_in(void *arg, struct mip6_tunpkt *p)
{
	struct ha *ha = arg;
	struct in6_addr dst;
	const struct bce *e;

	if (p->len < IPV6_HDR_LEN || (p->pkt[0] >> 4) != 6) {
		counter_inc(&c_tun_bad);
		return;
	}
	memcpy(&dst, p->pkt + 24, 16);
	e = bcache_lookup(ha->bc, &dst);
	if (!e) {
		counter_inc(&c_tun_nobind);
		return;
	}
	bool drop;
	struct mip6_sec_set *set = tun_set(ha, e, &drop);
	int rc;
	if (drop)
		return;
	if (set)	/* in place in the endpoint's TUN buffer (headroom in front) */
		rc = send_esp(ha, e, set, p->pkt - p->headroom, MIP6_EP_BUFSZ, p->headroom, p->len);
	else
		rc = send_plain(ha, e, p->pkt, p->len);
	if (rc == 0)
		counter_inc(&c_tun_pkts);
}

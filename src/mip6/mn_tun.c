/* The host side of the mobile node: the "virtual interface" through which
 * the Mobile IPv6 stack feeds the host OS (001). The home address lives on
 * the TUN device as a /128 and the host's traffic is steered into it by
 * policy routing, as wg-quick does:
 *
 *   ip -6 rule add not fwmark M table T priority P
 *   ip -6 route add ::/0 dev mip6mn0 table T
 *
 * The daemon's own sockets (UDP 4191 and the access ICMPv6 sockets) carry
 * SO_MARK M and keep using the main table, where the access link's default
 * route lives. Packets from the TUN (src = HoA) are reverse-tunnelled to
 * the HA; packets the HA tunnels to the HoA are written into the TUN.
 *
 * At home (§11.5.5) the policy routing and the TUN address are removed
 * and the HoA is configured on the home interface itself (no DAD: the HA
 * still defends it until our deregistration is acknowledged, after which
 * an unsolicited NA with Override takes the address over). */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "mip6/endpoint.h"
#include "mip6/mn_priv.h"
#include "net/icmp6.h"
#include "net/netlink.h"
#include "wire/ipv6.h"

#define MOD "mn"
#define MIP6_PORT 4191

static struct nl_rule policy_rule(const struct mn *mn)
{
	return (struct nl_rule){
		.family = AF_INET6,
		.priority = mn->cfg->rule_priority,
		.table = mn->cfg->table,
		.fwmark = mn->cfg->fwmark,
		.fwmask = 0xffffffffu,
		.invert = true,
	};
}

static struct nl_route tun_route(const struct mn *mn)
{
	struct nl_route r = { .oif = mip6_ep_tun_ifindex(mn->ep), .table = mn->cfg->table };

	r.dst.addr.family = AF_INET6;
	return r;
}

static struct ip_prefix hoa128(const struct mn *mn)
{
	struct ip_prefix p = { .addr = { .family = AF_INET6, .v6 = mn->hoa }, .len = 128 };
	return p;
}

int mn_tun_install(struct mn *mn)
{
	int ifindex = mip6_ep_tun_ifindex(mn->ep), rc;

	if (mn->routing_installed)
		return 0;
	rc = nl_link_set_up(mn->nl, ifindex, true);
	if (rc < 0) {
		log_err(MOD, "TUN up failed err=\"%s\"", strerror(-rc));
		return -1;
	}
	if (!mn->hoa_on_tun) {
		struct ip_prefix p = hoa128(mn);
		rc = nl_addr_add(mn->nl, ifindex, &p, NL_ADDR_NODAD);
		if (rc < 0 && rc != -EEXIST) {
			log_err(MOD, "HoA on TUN failed err=\"%s\"", strerror(-rc));
			return -1;
		}
		mn->hoa_on_tun = true;
	}
	struct nl_route r = tun_route(mn);
	rc = nl_route_add(mn->nl, &r, true);
	if (rc < 0) {
		log_err(MOD, "default route in table %u failed err=\"%s\"", mn->cfg->table,
			strerror(-rc));
		return -1;
	}
	struct nl_rule rule = policy_rule(mn);
	rc = nl_rule_add(mn->nl, &rule);
	if (rc < 0 && rc != -EEXIST) {
		nl_route_del(mn->nl, &r);
		log_err(MOD, "policy rule failed err=\"%s\"", strerror(-rc));
		return -1;
	}
	mn->routing_installed = true;
	log_info(MOD, "host routing installed tun=%s table=%u fwmark=0x%x priority=%u",
		 mip6_ep_tun_name(mn->ep), mn->cfg->table, mn->cfg->fwmark,
		 mn->cfg->rule_priority);
	return 0;
}

void mn_tun_remove(struct mn *mn)
{
	if (mn->routing_installed) {
		struct nl_rule rule = policy_rule(mn);
		struct nl_route r = tun_route(mn);
		int rc = nl_rule_del(mn->nl, &rule);
		if (rc < 0)
			log_warn(MOD, "policy rule removal failed err=\"%s\"", strerror(-rc));
		rc = nl_route_del(mn->nl, &r);
		if (rc < 0 && rc != -ESRCH)
			log_warn(MOD, "table %u route removal failed err=\"%s\"", mn->cfg->table,
				 strerror(-rc));
		mn->routing_installed = false;
	}
	if (mn->hoa_on_tun) {
		struct ip_prefix p = hoa128(mn);
		nl_addr_del(mn->nl, mip6_ep_tun_ifindex(mn->ep), &p);
		mn->hoa_on_tun = false;
	}
}

/* The packet buf[off..off+len) to the HA from `src` (the CoA): as it is
 * (RFC 5555), or IPv6(src=CoA, dst=HA) / ESP tunnel / packet when IPsec is
 * on (RFC 4877; with an IPv4 CoA the IPv6 header carries the HoA). */
static int send_tunnel(struct mn *mn, const struct ip_addr *src, uint8_t *buf, size_t cap,
		       size_t off, size_t len)
{
	struct ip_addr dst = { .family = AF_INET6, .v6 = mn->home->peer };
	struct mip6_sec_set *set = mn->sec ? mip6_sec_find(mn->sec, &mn->hoa) : NULL;

	if (src->family == AF_INET)
		dst = (struct ip_addr){ .family = AF_INET, .v4 = mn->cfg->ha4 };
	if (set) {
		const uint8_t *s6 = src->family == AF_INET6 ? src->bytes : mn->hoa.s6_addr;
		size_t o, n;
		if (mip6_sec_protect_tun(set, buf, cap, off, len, s6, mn->home->peer.s6_addr, &o, &n) < 0)
			return -EIO;
		off = o;
		len = n;
	} else if (mn->sec) {
		return -EACCES;		/* IPsec on, but not for this HoA (renumbered) */
	}
	return mip6_ep_send(mn->ep, &dst, MIP6_PORT, src, buf + off, len);
}

void mn_tun_from_host(void *arg, struct mip6_tunpkt *p)
{
	struct mn *mn = arg;
	struct ip_addr src;
	bool have = mn_coa(mn, &src);

	if (p->len < IPV6_HDR_LEN || (p->pkt[0] >> 4) != 6) {
		counter_inc(&mn_c_tun_drop);	/* IPv4 has no home address here */
		return;
	}
	if (memcmp(p->pkt + 8, &mn->hoa, 16) != 0 || !have || mn->at_home ||
	    !mn_reg_bound(mn)) {
		/* Not from the HoA, or no binding to carry it: the HA would
		 * drop it (§10.4.5 checks the reverse tunnel's source). */
		counter_inc(&mn_c_tun_drop);
		return;
	}
	if (mn_ro_from_host(mn, p))
		return;
	/* In place: the TUN buffer has room for IPv6 + ESP in front. */
	if (send_tunnel(mn, &src, p->pkt - p->headroom, MIP6_EP_BUFSZ, p->headroom, p->len) < 0) {
		counter_inc(&mn_c_tun_drop);
		return;
	}
	counter_inc(&mn_c_tun_out);
}

int mn_tun_send(struct mn *mn, const struct ip_addr *coa, const uint8_t *pkt, size_t len)
{
	static uint8_t scratch[MIP6_EP_BUFSZ];

	if (len > sizeof(scratch) - MIP6_EP_HEADROOM)
		return -EMSGSIZE;
	memcpy(scratch + MIP6_EP_HEADROOM, pkt, len);
	return send_tunnel(mn, coa, scratch, sizeof(scratch), MIP6_EP_HEADROOM, len);
}

void mn_tun_to_host(struct mn *mn, const uint8_t *pkt, size_t len)
{
	if (mip6_ep_tun_write(mn->ep, pkt, len) < 0) {
		counter_inc(&mn_c_tun_drop);
		return;
	}
	counter_inc(&mn_c_tun_in);
}

static struct ip_prefix hoa_home(const struct mn *mn)
{
	struct ip_prefix p = { .addr = { .family = AF_INET6, .v6 = mn->hoa },
			       .len = mn->home_prefix.len };
	return p;
}

void mn_home_attach(struct mn *mn, struct mn_if *mi)
{
	if (!mi || mn->home_ifindex == mi->ifindex)
		return;
	mn_tun_remove(mn);
	struct ip_prefix p = hoa_home(mn);
	int rc = nl_addr_add(mn->nl, mi->ifindex, &p, NL_ADDR_NODAD);
	if (rc < 0 && rc != -EEXIST) {
		log_err(MOD, "HoA on the home link failed iface=%s err=\"%s\"", mi->name,
			strerror(-rc));
		return;
	}
	mn->home_ifindex = mi->ifindex;
	/* The BA will come to this address: wait until the kernel has it. */
	mn->home_ready = rc == -EEXIST || !mn->mon;
	if (!mn->home_ready)
		timer_arm_ms(&mi->coa_timer, 1000);
	log_notice(MOD, "at home iface=%s: home address moved from the TUN to the link",
		   mi->name);
}

void mn_home_announce(struct mn *mn)
{
	struct mn_if *mi = mn->cur;
	uint8_t buf[64];
	size_t len = 0;
	struct wire_error err;
	struct nd_na na = { .override = true };

	if (!mi || mi->ifindex != mn->home_ifindex)
		return;
	memcpy(na.target, &mn->hoa, 16);
	if (mi->mac_len && mi->mac_len <= ND_LLADDR_MAX) {
		na.has_tlla = true;
		na.tlla.len = (uint8_t)mi->mac_len;
		memcpy(na.tlla.addr, mi->mac, mi->mac_len);
	}
	if (nd_na_build(&na, buf, sizeof(buf), &len, &err) != WIRE_OK)
		return;
	int rc = icmp6_send(mi->fd, &icmp6_all_nodes, mi->ifindex, buf, len);
	if (rc < 0)
		log_warn(MOD, "NA for the home address not sent err=\"%s\"", strerror(-rc));
	else
		log_info(MOD, "unsolicited NA (override) sent for the home address iface=%s",
			 mi->name);
}

/* §11.5.5: on the home link the HA still defends the HoA, so the kernel's
 * own Neighbor Solicitation for the HA (sourced from the HoA) is answered
 * to the HoA -- which the HA routes into its tunnel. Our own NS from the
 * link-local address gets the answer on the link and completes the
 * neighbour entry the deregistration BU is waiting on. */
void mn_home_solicit_ha(struct mn *mn)
{
	struct mn_if *mi = mn->cur;
	struct nd_ns ns = { 0 };
	struct in6_addr dst = { .s6_addr = { 0xff, 0x02, [11] = 0x01, [12] = 0xff } };
	uint8_t buf[64];
	size_t len = 0;
	struct wire_error err;

	if (!mi || !mn->ha_known)
		return;
	memcpy(ns.target, &mn->ha, 16);
	memcpy(&dst.s6_addr[13], &mn->ha.s6_addr[13], 3);	/* solicited-node */
	if (mi->mac_len && mi->mac_len <= ND_LLADDR_MAX) {
		ns.has_slla = true;
		ns.slla.len = (uint8_t)mi->mac_len;
		memcpy(ns.slla.addr, mi->mac, mi->mac_len);
	}
	if (nd_ns_build(&ns, buf, sizeof(buf), &len, &err) != WIRE_OK)
		return;
	int rc = icmp6_send(mi->fd, &dst, mi->ifindex, buf, len);
	if (rc < 0)
		log_debug(MOD, "NS for the HA not sent err=\"%s\"", strerror(-rc));
}

void mn_home_detach(struct mn *mn)
{
	if (mn->home_ifindex) {
		struct ip_prefix p = hoa_home(mn);
		nl_addr_del(mn->nl, mn->home_ifindex, &p);
		mn->home_ifindex = 0;
	}
	mn->at_home = false;
	if (mn->started)
		mn_tun_install(mn);
}

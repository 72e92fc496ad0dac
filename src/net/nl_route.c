/* Routes and policy routing rules. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "net/netlink.h"
#include "net/nl_priv.h"

static bool prefix_ok(const struct ip_prefix *p, int family)
{
	return p->addr.family == family && p->len <= nl_family_max_plen(family);
}

/* An optional address: family 0 means absent, otherwise it must match. */
static bool opt_addr_ok(const struct ip_addr *a, int family)
{
	return a->family == 0 || a->family == family;
}

static void put_table(struct nlmsghdr *nlh, uint8_t *hdr_table, uint16_t attr, uint32_t table)
{
	if (table == 0)
		table = RT_TABLE_MAIN;
	/* The 8-bit header field only holds the classic tables; the attribute
	 * holds any, and the kernel prefers it. */
	*hdr_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, attr, table);
}

static int route_msg(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_route *r,
		     struct nlmsghdr **out)
{
	int family = r->dst.addr.family;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (nl_family_max_plen(family) < 0 || !prefix_ok(&r->dst, family) ||
	    !opt_addr_ok(&r->gateway, family) || !opt_addr_ok(&r->prefsrc, family) ||
	    r->oif < 0)
		return -EINVAL;
	nlh = nl_msg_new(nl, type, flags, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = r->dst.len;
	put_table(nlh, &rtm->rtm_table, RTA_TABLE, r->table);
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_type = RTN_UNICAST;
		/* A directly connected IPv4 route is link scope, as `ip`
		 * makes it; IPv6 has no route scopes. */
		rtm->rtm_scope = family == AF_INET && !r->gateway.family && r->oif ?
				 RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;	/* match any scope */
	}
	if (r->dst.len)
		nl_put_addr(nlh, RTA_DST, &r->dst.addr);
	if (r->gateway.family)
		nl_put_addr(nlh, RTA_GATEWAY, &r->gateway);
	if (r->prefsrc.family)
		nl_put_addr(nlh, RTA_PREFSRC, &r->prefsrc);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	*out = nlh;
	return 0;
}

int nl_route_add(struct nl *nl, const struct nl_route *r, bool replace)
{
	uint16_t flags = NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
	struct nlmsghdr *nlh;
	int rc = route_msg(nl, RTM_NEWROUTE, flags, r, &nlh);

	return rc < 0 ? rc : nl_transact(nl, nlh, NULL, NULL);
}

int nl_route_del(struct nl *nl, const struct nl_route *r)
{
	struct nlmsghdr *nlh;
	int rc = route_msg(nl, RTM_DELROUTE, 0, r, &nlh);

	return rc < 0 ? rc : nl_transact(nl, nlh, NULL, NULL);
}

struct route_dump {
	int family;
	uint32_t table;
	nl_route_cb cb;
	void *arg;
};

static void opt_attr_addr(const struct nlattr *a, int family, struct ip_addr *out)
{
	if (!nl_attr_addr(a, family, out))
		memset(out, 0, sizeof(*out));
}

static int route_parse(const struct nlmsghdr *nlh, struct nl_route_info *ri)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_route *r = &ri->r;
	int rc;

	if ((rc = nl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX)) < 0)
		return rc;
	memset(ri, 0, sizeof(*ri));
	if (rtm->rtm_dst_len > nl_family_max_plen(rtm->rtm_family))
		goto bad;
	r->dst.addr.family = rtm->rtm_family;
	r->dst.len = rtm->rtm_dst_len;
	if (tb[RTA_DST] && !nl_attr_addr(tb[RTA_DST], rtm->rtm_family, &r->dst.addr))
		goto bad;
	opt_attr_addr(tb[RTA_GATEWAY], rtm->rtm_family, &r->gateway);
	opt_attr_addr(tb[RTA_PREFSRC], rtm->rtm_family, &r->prefsrc);
	if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) == 0)
		r->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY] && mnl_attr_validate(tb[RTA_PRIORITY], MNL_TYPE_U32) == 0)
		r->metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	r->table = rtm->rtm_table;
	if (tb[RTA_TABLE] && mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) == 0)
		r->table = mnl_attr_get_u32(tb[RTA_TABLE]);
	ri->protocol = rtm->rtm_protocol;
	ri->scope = rtm->rtm_scope;
	ri->type = rtm->rtm_type;
	return 0;
bad:
	counter_inc(&nl_ctr_bad_msg);
	return -EBADMSG;
}

static int route_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_dump *d = arg;
	struct nl_route_info ri;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	/* An AF_UNSPEC dump includes multicast routing families too. */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if (route_parse(nlh, &ri) < 0)
		return 0;
	if (d->table && ri.r.table != d->table)
		return 0;
	d->cb(&ri, d->arg);
	return 0;
}

int nl_route_dump(struct nl *nl, int family, uint32_t table, nl_route_cb cb, void *arg)
{
	struct route_dump d = { family, table, cb, arg };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = nl_msg_new(nl, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = (uint8_t)family;
	return nl_transact(nl, nlh, route_dump_cb, &d);
}

static int rule_msg(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_rule *r,
		    struct nlmsghdr **out)
{
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;

	if (nl_family_max_plen(r->family) < 0 ||
	    (r->src.addr.family && !prefix_ok(&r->src, r->family)) ||
	    (r->dst.addr.family && !prefix_ok(&r->dst, r->family)))
		return -EINVAL;
	nlh = nl_msg_new(nl, type, flags, sizeof(*frh), (void **)&frh);
	frh->family = (uint8_t)r->family;
	frh->action = FR_ACT_TO_TBL;
	if (r->invert)
		frh->flags |= FIB_RULE_INVERT;
	put_table(nlh, &frh->table, FRA_TABLE, r->table);
	/* Priority 0 lets the kernel pick one on add and matches any on
	 * delete. */
	if (r->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask);
	}
	if (r->src.addr.family) {
		frh->src_len = r->src.len;
		nl_put_addr(nlh, FRA_SRC, &r->src.addr);
	}
	if (r->dst.addr.family) {
		frh->dst_len = r->dst.len;
		nl_put_addr(nlh, FRA_DST, &r->dst.addr);
	}
	*out = nlh;
	return 0;
}

int nl_rule_add(struct nl *nl, const struct nl_rule *r)
{
	struct nlmsghdr *nlh;
	int rc = rule_msg(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r, &nlh);

	return rc < 0 ? rc : nl_transact(nl, nlh, NULL, NULL);
}

int nl_rule_del(struct nl *nl, const struct nl_rule *r)
{
	struct nlmsghdr *nlh;
	int rc = rule_msg(nl, RTM_DELRULE, 0, r, &nlh);

	return rc < 0 ? rc : nl_transact(nl, nlh, NULL, NULL);
}

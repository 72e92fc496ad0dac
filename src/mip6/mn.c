/* The `mn` role: wiring of movement detection (mn_move.c), registration
 * (mn_reg.c), home agent discovery (mn_dhaad.c) and the host side
 * (mn_tun.c) around one mobility endpoint (UDP 4191 + TUN), the "bul"
 * table and the role's status dump. */
#include <arpa/inet.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/table.h"
#include "daemon/daemon.h"
#include "daemon/role.h"
#include "mip6/endpoint.h"
#include "mip6/mn_priv.h"
#include "net/netlink.h"
#include "wire/exthdr.h"
#include "wire/icmp6msg.h"

#define MOD "mn"

COUNTER_DEFINE(mn_c_bu_sent, "mipsec_mn_bu_sent_total", "Binding Updates sent to the home agent");
struct counter mn_c_ba_ok = { .name = "mipsec_mn_ba_received_total", .label = "status=\"accepted\"",
			      .help = "Binding Acknowledgements received, by status" };
struct counter mn_c_ba_135 = { .name = "mipsec_mn_ba_received_total", .label = "status=\"135\"",
			       .help = "Binding Acknowledgements received, by status" };
struct counter mn_c_ba_other = { .name = "mipsec_mn_ba_received_total",
				 .label = "status=\"rejected\"",
				 .help = "Binding Acknowledgements received, by status" };
COUNTER_DEFINE(mn_c_movements, "mipsec_mn_movements_total",
	       "Movements: a new care-of address or the home link detected");
COUNTER_DEFINE(mn_c_dad_failed, "mipsec_mn_coa_dad_failed_total",
	       "Care-of addresses that failed duplicate address detection");
COUNTER_DEFINE(mn_c_ra_rx, "mipsec_mn_ra_received_total", "Router Advertisements received");
COUNTER_DEFINE(mn_c_ra_bad, "mipsec_mn_ra_dropped_total",
	       "Router Advertisements dropped: malformed or not from a link-local source");
COUNTER_DEFINE(mn_c_mh_bad, "mipsec_mn_mh_dropped_total",
	       "Mobility Headers dropped: malformed, bad checksum or unexpected type");
COUNTER_DEFINE(mn_c_brr, "mipsec_mn_brr_received_total", "Binding Refresh Requests received");
COUNTER_DEFINE(mn_c_be, "mipsec_mn_be_received_total", "Binding Errors received");
COUNTER_DEFINE(mn_c_tun_out, "mipsec_mn_tunnel_out_total",
	       "Host packets reverse-tunnelled to the home agent");
COUNTER_DEFINE(mn_c_tun_in, "mipsec_mn_tunnel_in_total",
	       "Packets from the home agent written to the host");
COUNTER_DEFINE(mn_c_tun_drop, "mipsec_mn_tunnel_dropped_total",
	       "Tunnel packets dropped: no binding, wrong source or address, write error");
COUNTER_DEFINE(mn_c_dhaad_sent, "mipsec_mn_dhaad_requests_total", "DHAAD Requests sent");
COUNTER_DEFINE(mn_c_dhaad_reply, "mipsec_mn_dhaad_replies_total", "DHAAD Replies accepted");
COUNTER_DEFINE(mn_c_rx_bad, "mipsec_mn_rx_dropped_total",
	       "Packets dropped: unexpected peer, identifier or destination");
COUNTER_DEFINE(mn_c_give_up, "mipsec_mn_registration_abandoned_total",
	       "Home registrations abandoned (refused or unanswered)");
COUNTER_DEFINE(mn_c_returned_home, "mipsec_mn_returned_home_total",
	       "Deregistrations from the home link acknowledged");
COUNTER_DEFINE(mn_c_handovers, "mipsec_mn_handovers_total",
	       "Handovers completed (link change to accepted Binding Acknowledgement)");
COUNTER_DEFINE(mn_c_handover_ms, "mipsec_mn_handover_milliseconds_total",
	       "Sum of handover durations; divide by mipsec_mn_handovers_total for the mean");
COUNTER_DEFINE(mn_c_mps_sent, "mipsec_mn_mps_sent_total", "Mobile Prefix Solicitations sent");
COUNTER_DEFINE(mn_c_mpa_rx, "mipsec_mn_mpa_received_total",
	       "Mobile Prefix Advertisements accepted");
COUNTER_DEFINE(mn_c_ba_unprot, "mipsec_mn_ba_unprotected_total",
	       "Binding Acknowledgements from the home agent dropped: IPsec is on and the BA was not in our transport SA (001 BA routine 70)");
COUNTER_DEFINE(mn_c_tun_unprot, "mipsec_mn_tunnel_unprotected_total",
	       "Packets from the home agent's tunnel dropped: IPsec is on and they were not in our tunnel SA");
COUNTER_DEFINE(mn_c_esp_drop, "mipsec_mn_esp_dropped_total",
	       "ESP packets dropped: no SA, replayed, failed ICV or outside the SA's selectors (details in mipsec_esp_*)");

static struct counter *const counters[] = {
	&mn_c_bu_sent, &mn_c_dad_failed, &mn_c_ba_ok, &mn_c_ba_135, &mn_c_ba_other, &mn_c_movements, &mn_c_ra_rx,
	&mn_c_ra_bad, &mn_c_mh_bad, &mn_c_brr, &mn_c_be, &mn_c_tun_out, &mn_c_tun_in,
	&mn_c_tun_drop, &mn_c_dhaad_sent, &mn_c_dhaad_reply, &mn_c_rx_bad, &mn_c_give_up,
	&mn_c_returned_home, &mn_c_handovers, &mn_c_handover_ms, &mn_c_mps_sent, &mn_c_mpa_rx,
	&mn_c_ba_unprot, &mn_c_tun_unprot, &mn_c_esp_drop,
};

static struct mip6_sec_ratelog rl_esp, rl_tun;

/* ESP from the home agent (RFC 4877): the transport SA gives back the BA
 * without its ESP header, the tunnel SA the inner packet. */
static bool esp_in(struct mn *mn, struct mip6_rx *rx, struct ipv6_chain *c)
{
	struct mip6_sec_rx sec;
	struct wire_error err;

	if (!mn->sec || mip6_sec_unprotect(mn->sec, rx->pkt, rx->len, c, &sec) < 0) {
		counter_inc(&mn_c_esp_drop);
		mip6_sec_log_drop(&rl_esp, MOD, "ESP packet (no SA, replayed, bad ICV or outside the selectors)",
				  NULL, &rx->peer);
		return false;
	}
	mn->rx_sec = sec.kind;
	rx->pkt = sec.pkt;
	rx->len = sec.len;
	if (ipv6_walk(rx->pkt, rx->len, c, &err) != WIRE_OK) {
		counter_inc(&mn_c_rx_bad);
		return false;
	}
	return true;
}

/* UDP 4191 input: Mobility Headers to registration, tunnelled packets for
 * the home address to the host. Only the HA may tunnel to us (§11.3.1). */
static void ep_rx(void *arg, struct mip6_rx *rx)
{
	struct mn *mn = arg;
	struct ipv6_chain c;
	struct wire_error err;

	if (rx->inner != PROTO_IPV6 ||
	    ipv6_walk(rx->pkt, rx->len, &c, &err) != WIRE_OK) {
		counter_inc(&mn_c_rx_bad);
		log_debug(MOD, "undecodable datagram dropped");
		return;
	}
	mn->rx_sec = MIP6_SEC_NONE;
	if (c.proto == PROTO_ESP && !c.fragment && !esp_in(mn, rx, &c))
		return;
	if (c.proto == PROTO_MH && !c.fragment) {
		mn_reg_rx_mh(mn, rx->pkt, rx->len);
		return;
	}
	if (c.proto == PROTO_ICMPV6 && !c.fragment && c.len > 0 && rx->pkt[c.off] == ICMPV6_MPA &&
	    !ipv6_upper_csum(rx->pkt, &c)) {
		/* With IPsec the HA's MPA comes in the tunnel SA: a plain one
		 * could renumber our home address (RFC 6275 §11.4.3). */
		if (mn->sec && mn->rx_sec != MIP6_SEC_TUN) {
			counter_inc(&mn_c_tun_unprot);
			mip6_sec_log_drop(&rl_tun, MOD, "Mobile Prefix Advertisement without IPsec",
					  c.ip.dst, &rx->peer);
			return;
		}
		/* A Mobile Prefix Advertisement the HA tunnelled to the HoA. */
		struct in6_addr src;
		memcpy(&src, c.ip.src, 16);
		mn_mpa_rx(mn, rx->pkt + c.off, c.len, &src);
		return;
	}
	bool from_ha = mn->ha_known &&
		((rx->peer.family == AF_INET6 && memcmp(&rx->peer.v6, &mn->ha, 16) == 0) ||
		 (rx->peer.family == AF_INET && mn->cfg->has_ha4 &&
		  rx->peer.v4.s_addr == mn->cfg->ha4.s_addr));
	if (c.rh2 && !from_ha && rx->peer.family == AF_INET6 &&
	    memcmp(&rx->peer.v6, c.ip.src, 16) == 0) {
		mn_ro_rx_data(mn, rx, &c);	/* route-optimised, from a CN */
		return;
	}
	if (!from_ha || c.rh2 || memcmp(c.ip.dst, &mn->hoa, 16) != 0) {
		counter_inc(&mn_c_rx_bad);
		return;
	}
	if (mn->sec && mn->rx_sec != MIP6_SEC_TUN) {
		counter_inc(&mn_c_tun_unprot);
		mip6_sec_log_drop(&rl_tun, MOD, "tunnelled packet without IPsec", c.ip.dst, &rx->peer);
		return;
	}
	mn_tun_to_host(mn, rx->pkt, rx->len);
}

static void ike_mh_up(void *arg, const struct in6_addr *hoa)
{
	struct mn *mn = arg;

	if (!memcmp(hoa, &mn->hoa, 16))
		mn_reg_sa_ready(mn);
}

static void ike_mh_down(void *arg, const struct in6_addr *hoa)
{
	struct mn *mn = arg;

	if (!memcmp(hoa, &mn->hoa, 16))
		mn_reg_sa_lost(mn);
}

/* The SA set of the `ipsec` block: keyed by IKEv2 (ipsec.ike, the CHILD
 * SAs arrive through mip6_ike) or manually. */
static int sec_open(struct mn *mn)
{
	struct ip_addr local = { 0 }, peer = { 0 };
	struct mip6_sec_sas sas;
	char err[160];

	if (!mn->cfg->has_ipsec)
		return 0;
	mn->sec = mip6_sec_new(MIP6_SEC_MN, "mip6_sa");
	if (!mn->sec)
		return -1;
	if (mn->cfg->ike) {
		struct mip6_ike_hooks h = { .mh_up = ike_mh_up, .mh_down = ike_mh_down, .arg = mn };
		mn->ike = mip6_ike_new(mn->loop, MIP6_SEC_MN, mn->cfg->ike, mn->sec, mn->cfg->fwmark,
				       mn->cfg->esp_sa_file, &h, err, sizeof(err));
		if (!mn->ike) {
			log_err(MOD, "cannot start IKEv2 err=\"%s\"", err);
			return -1;
		}
		log_info(MOD, "IPsec (RFC 4877) on, keyed by IKEv2: BU/BA in transport SAs, tunnel in tunnel SAs");
		return 0;
	}
	if (mn->cfg->has_ha)
		peer = (struct ip_addr){ .family = AF_INET6, .v6 = mn->cfg->ha };
	mip6_sec_keycfg_sas(&mn->cfg->ipsec, &local, &peer, &sas);
	if (mip6_sec_install(mn->sec, &mn->hoa, &sas, err, sizeof(err)) < 0) {
		log_err(MOD, "cannot install the IPsec SAs err=\"%s\"", err);
		return -1;
	}
	if (mn->cfg->esp_sa_file[0] && mip6_sec_export(mn->sec, mn->cfg->esp_sa_file) < 0)
		log_warn(MOD, "cannot write esp_sa records path=%s", mn->cfg->esp_sa_file);
	log_info(MOD, "IPsec (RFC 4877) on: BU/BA in transport SAs, tunnel in tunnel SAs");
	return 0;
}

static void *mn_init(struct daemon *d, void *cfgp)
{
	struct mn_config *cfg = cfgp;
	struct mn *mn = calloc(1, sizeof(*mn));

	if (!mn)
		return NULL;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		counter_register(counters[i]);
	mn_ro_init();
	mn->d = d;
	mn->loop = d->loop;
	mn->nl = d->nl;
	mn->cfg = cfg;
	mn->last_handover_ms = -1;
	mn->hoa = cfg->hoa;
	mn->home_prefix = cfg->home_prefix;
	struct bul_cfg bc;
	bul_cfg_default(&bc);
	bc.initial_first_reg_ms = cfg->initial_bindack_timeout_ms;
	bc.max_backoff_ms = cfg->max_bindack_timeout_ms;
	bc.max_retries = cfg->max_retries;
	mn->bul = bul_create(&bc);
	if (!mn->bul)
		goto fail;
	struct mip6_ep_config ec = {
		.bind6 = { .family = AF_INET6 },
		.bind4 = { .family = cfg->has_ha4 ? AF_INET : 0 },
		.fwmark = cfg->fwmark,
		.tun_name = cfg->tun,
		.tun_mtu = cfg->tun_mtu,
	};
	static const struct mip6_ep_ops ops = { .rx = ep_rx, .tun = mn_tun_from_host };
	mn->ep = mip6_ep_open(d->loop, &ec, &ops, mn);
	if (!mn->ep) {
		log_err(MOD, "mobility endpoint (UDP 4191, TUN %s) failed", cfg->tun);
		goto fail;
	}
	if (sec_open(mn) < 0)
		goto fail;
	if (mn_move_open(mn) < 0)
		goto fail;
	mn_reg_init(mn);
	mn_dhaad_init(mn);
	bul_table_register(mn->bul, "bul");
	return mn;
fail:
	mn_move_close(mn);
	mip6_ike_free(mn->ike, false);
	mip6_sec_free(mn->sec);
	if (mn->ep)
		mip6_ep_close(mn->ep);
	bul_destroy(mn->bul);
	free(mn);
	return NULL;
}

static int mn_start(void *inst)
{
	struct mn *mn = inst;

	mn->started = true;
	if (mn_tun_install(mn) < 0)
		return -1;
	if (mn_move_start(mn) < 0)
		return -1;
	char b[64], h[64];
	struct ip_addr hoa = { .family = AF_INET6, .v6 = mn->hoa };
	struct ip_addr ha = { .family = AF_INET6, .v6 = mn->cfg->ha };
	log_notice(MOD, "started hoa=%s ha=%s interfaces=%zu", ip_addr_fmt(&hoa, b, sizeof(b)),
		   mn->cfg->has_ha ? ip_addr_fmt(&ha, h, sizeof(h)) : "dhaad", mn->n_ifs);
	return 0;
}

static void mn_stop(void *inst)
{
	struct mn *mn = inst;

	mn_reg_fini(mn);
	mn->started = false;	/* home_detach must not reinstall the routing */
	if (mn->at_home)
		mn_home_detach(mn);
	mn_move_stop(mn);
	mn_tun_remove(mn);
}

/* Timers and identity can change in place; addresses, interfaces and the
 * plumbing need a restart. */
static int mn_reload(void *inst, void *cfgp)
{
	struct mn *mn = inst;
	struct mn_config *n = cfgp, *o = mn->cfg;

	if (memcmp(&n->hoa, &o->hoa, 16) || n->n_ifaces != o->n_ifaces ||
	    memcmp(n->ifaces, o->ifaces, sizeof(n->ifaces)) || strcmp(n->tun, o->tun) ||
	    n->fwmark != o->fwmark || n->table != o->table ||
	    n->rule_priority != o->rule_priority || n->has_ha != o->has_ha ||
	    memcmp(&n->ha, &o->ha, 16) || memcmp(&n->home_prefix, &o->home_prefix,
						sizeof(n->home_prefix)) ||
	    n->has_ipsec != o->has_ipsec || memcmp(&n->ipsec, &o->ipsec, sizeof(n->ipsec))) {
		log_err(MOD, "reload: addresses, interfaces, TUN and routing need a restart");
		return -1;
	}
	if (mn->home)
		mn->home->lifetime_req_s = n->lifetime_s;
	/* The IKE engine keeps the configuration it started with. */
	mip6_ike_config_free(n->ike);
	n->ike = o->ike;
	o->ike = NULL;
	mn->cfg = n;
	mn_config_free(o);
	log_info(MOD, "reloaded");
	return 0;
}

static json_t *mn_dump(void *inst)
{
	struct mn *mn = inst;
	char hoa[64], ha[64], coa[64];
	struct ip_addr ca;
	bool c = mn_coa(mn, &ca);
	json_t *ifs = json_array();

	inet_ntop(AF_INET6, &mn->hoa, hoa, sizeof(hoa));
	inet_ntop(AF_INET6, &mn->ha, ha, sizeof(ha));
	if (c)
		ip_addr_fmt(&ca, coa, sizeof(coa));
	for (size_t i = 0; i < mn->n_ifs; i++) {
		const struct mn_if *mi = &mn->ifs[i];
		char r[64], a[64], v4[INET_ADDRSTRLEN];
		inet_ntop(AF_INET6, &mi->router, r, sizeof(r));
		inet_ntop(AF_INET, &mi->v4, v4, sizeof(v4));
		json_array_append_new(ifs, json_pack(
			"{s:s, s:b, s:s?, s:s?, s:s?, s:b}", "name", mi->name, "running", mi->running,
			"router", mi->have_router ? r : NULL,
			"care_of_address", mi->have_coa ? ip_prefix_fmt(&mi->coa, a, sizeof(a)) : NULL,
			"ipv4", mi->have_v4 ? v4 : NULL, "home_link", mi->home));
	}
	json_t *o = json_pack("{s:b, s:s, s:s?, s:s?, s:s?, s:s, s:b, s:b, s:I, s:I, s:o}",
			 "started", mn->started, "home_address", hoa,
			 "home_agent", mn->ha_known ? ha : NULL, "care_of_address", c ? coa : NULL,
			 "interface", mn->cur ? mn->cur->name : mn->cur4 ? mn->cur4->name : NULL,
			 "state", mn->home ? bul_state_name(mn->home->fsm.state) : "idle",
			 "at_home", mn->at_home, "host_routing", mn->routing_installed,
			 "handovers", (json_int_t)mn->handovers,
			 "last_handover_ms", (json_int_t)mn->last_handover_ms, "interfaces", ifs);
	if (o)
		json_object_set_new(o, "nat_detected", json_boolean(mn->nat));
	if (o)
		json_object_set_new(o, "ipsec", json_boolean(mn->sec != NULL));
	return o;
}

static void mn_destroy(void *inst)
{
	struct mn *mn = inst;

	if (!mn)
		return;
	mn_dhaad_fini(mn);
	timer_deinit(&mn->bul_timer);
	timer_deinit(&mn->ka_timer);
	timer_deinit(&mn->retry_timer);
	mn_move_close(mn);
	mip6_ep_close(mn->ep);
	mip6_ike_free(mn->ike, true);
	mip6_sec_free(mn->sec);
	bul_destroy(mn->bul);
	mn_config_free(mn->cfg);
	free(mn);
}

const struct role_ops mn_role_ops = {
	.name = "mn",
	.description = "mobile node: movement detection, CoA, HA discovery, home registration, "
		       "host TUN with the home address",
	.caps = ROLE_CAP(CAP_NET_ADMIN) | ROLE_CAP(CAP_NET_RAW),
	.parse = mn_config_parse,
	.free_config = mn_config_free,
	.init = mn_init,
	.start = mn_start,
	.stop = mn_stop,
	.reload = mn_reload,
	.dump = mn_dump,
	.destroy = mn_destroy,
};

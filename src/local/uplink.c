/*
 * Uplinks that set themselves up. Each pass reads what the kernel holds
 * (uplink_kernel.c), works out what bonding over the configured uplinks
 * needs (the plan), and then either makes the kernel match it, touching
 * only mpsocks' own entries, or, unprivileged, says what is missing.
 *
 * Own entries are recognised without a state file, so that a crash and a
 * restart (or a second instance) adopt them instead of adding twice:
 * routes and rules carry protocol UPLINK_RTPROT and a table in
 * [uplink_table_base, +CONFIG_MAX_UPLINKS); MPTCP endpoints carry an id in
 * [UPLINK_EP_ID_MIN, UPLINK_EP_ID_MAX]. The table of an uplink is the
 * base plus its position in the config: per interface, so two uplinks
 * whose gateways share an address still get one table each.
 */

#include "local/uplink.h"
#include "local/config_uplink.h"

#include <errno.h>
#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/log.h"
#include "uplink_kernel.h"
#include "proto/util.h"

#define PLAN_MAX	128
#define SETTLE_MS	100	/* batch a burst of kernel events */
#define RECHECK_S	10	/* endpoints have no change events */
#define LIMIT_MAX	8	/* the in-kernel path manager's cap */
/* the flags we set; Debian's uapi GENMASK() is not usable from C */
#define EP_FLAGS	(MPTCP_PM_ADDR_FLAG_SIGNAL | \
			    MPTCP_PM_ADDR_FLAG_SUBFLOW | \
			    MPTCP_PM_ADDR_FLAG_BACKUP | \
			    MPTCP_PM_ADDR_FLAG_FULLMESH)

struct plan {
	struct netlink_route	routes[PLAN_MAX];
	size_t			n_routes;
	struct netlink_rule	rules[PLAN_MAX];
	size_t			n_rules;
	struct netlink_endpoint	eps[PLAN_MAX];
	size_t			eps_uplink[PLAN_MAX];	/* index in cfg */
	size_t			n_eps;
};

struct uplinks {
	const struct config	*cfg;
	const struct config_uplinks *ups;
	struct uplink_kernel	 k;
	struct uplink_kstate	 ks;
	struct plan		 plan;
	bool			 manage;	/* else only report */
	unsigned		 changes;	/* asked this pass */
	struct mnl_socket	*mon;
	struct event		*mon_ev, *timer;
	/* limits as found, and as we set them: restored on exit if still
	 * ours */
	bool			 raised;
	struct netlink_limits	 orig_limits, our_limits;
	int			 last_gaps;	/* -1: nothing said yet */
	char			 last_report[4096];
};

/* --- reading the snapshot ------------------------------------------------- */

uint32_t
uplinks_table_of(const struct config *cfg, size_t i)
{
	return cfg->uplink_table_base + (uint32_t)i;
}

static bool
our_table(const struct config *cfg, uint32_t t)
{
	return t >= cfg->uplink_table_base &&
	    t < cfg->uplink_table_base + CONFIG_MAX_UPLINKS;
}

static void
prefix_of(const struct netlink_ifaddr *a, struct netlink_ip *net)
{
	size_t	n = netlink_ip_len(a->ip.family);

	*net = a->ip;
	for (size_t b = 0; b < n; b++) {
		unsigned keep = a->prefixlen > b * 8 ?
		    MIN(8u, a->prefixlen - (unsigned)b * 8) : 0;

		net->a[b] &= (uint8_t)(0xff00u >> keep);
	}
}

/* --- the plan ------------------------------------------------------------- */

static void
plan_uplink(const struct config *cfg,
    const struct config_uplinks *ups, const struct uplink_kstate *ks, size_t i,
    struct plan *p)
{
	const struct config_uplink	*u = &ups->v[i];
	const struct netlink_link	*l =
	    uplink_kstate_find_link(ks, u->ifname);
	bool				 fam_has[2] = { false, false };
	struct netlink_ip		 gw = { 0 };
	bool				 learned;

	if (!uplink_kstate_link_usable(l))
		return;
	for (size_t j = 0; j < ks->n_addrs; j++) {
		const struct netlink_ifaddr *a = &ks->addrs[j];

		if (!uplink_kstate_addr_usable(a, l->ifindex) ||
		    p->n_eps >= PLAN_MAX ||
		    p->n_routes >= PLAN_MAX - 2)
			continue;
		fam_has[a->ip.family == AF_INET6] = true;
		p->rules[p->n_rules++] = (struct netlink_rule){
			.family = a->ip.family,
			.table = uplinks_table_of(cfg, i),
			.priority = UPLINK_RULE_PRIO,
			.protocol = UPLINK_RTPROT, .src = a->ip,
			.src_len = (uint8_t)(netlink_ip_len(a->ip.family) * 8),
		};
		p->eps_uplink[p->n_eps] = i;
		p->eps[p->n_eps++] = (struct netlink_endpoint){
			.ip = a->ip, .ifindex = l->ifindex,
			.flags = MPTCP_PM_ADDR_FLAG_SUBFLOW |
			    (u->role == UPLINK_ROLE_BACKUP ?
			    MPTCP_PM_ADDR_FLAG_BACKUP : 0),
		};
		/* the neighbours on the link, as in the main table */
		if (a->prefixlen < netlink_ip_len(a->ip.family) * 8) {
			struct netlink_route *r = &p->routes[p->n_routes++];

			*r = (struct netlink_route){
				.family = a->ip.family,
				.table = uplinks_table_of(cfg, i),
				.protocol = UPLINK_RTPROT,
				.dst_len = a->prefixlen, .oif = l->ifindex,
				.type = RTN_UNICAST,
			};
			prefix_of(a, &r->dst);
		}
	}
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		if (!fam_has[f] || p->n_routes >= PLAN_MAX ||
		    !uplink_kstate_gateway_of(ks, u, l->ifindex, family, &gw,
		    &learned))
			continue;
		p->routes[p->n_routes++] = (struct netlink_route){
			.family = family, .table = uplinks_table_of(cfg, i),
			.protocol = UPLINK_RTPROT, .oif = l->ifindex,
			.gw = gw, .type = RTN_UNICAST,
		};
	}
}

static void
plan_make(const struct config *cfg, const struct config_uplinks *ups,
    const struct uplink_kstate *ks, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < ups->n; i++)
		plan_uplink(cfg, ups, ks, i, p);
}

static bool
route_eq(const struct netlink_route *a, const struct netlink_route *b)
{
	return a->family == b->family && a->table == b->table &&
	    a->dst_len == b->dst_len && a->oif == b->oif &&
	    netlink_ip_eq(&a->gw, &b->gw) &&
	    (a->dst_len == 0 || netlink_ip_eq(&a->dst, &b->dst));
}

static bool
rule_eq(const struct netlink_rule *a, const struct netlink_rule *b)
{
	return a->family == b->family && a->table == b->table &&
	    a->src_len == b->src_len && a->priority == b->priority &&
	    netlink_ip_eq(&a->src, &b->src);
}

static bool
ep_same(const struct netlink_endpoint *a, const struct netlink_endpoint *b)
{
	return netlink_ip_eq(&a->ip, &b->ip) && a->ifindex == b->ifindex &&
	    (a->flags & EP_FLAGS) == (b->flags & EP_FLAGS) && a->port == 0 &&
	    b->port == 0;
}

/* --- applying it ---------------------------------------------------------- */

static const char *
fam_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

static void
route_change(struct uplinks *u, bool add, const struct netlink_route *r)
{
	char	gw[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int	rc = uplink_kernel_route(&u->k, add, r);

	u->changes++;

	netlink_ip_str(&r->gw, gw, sizeof(gw));
	netlink_ip_str(&r->dst, dst, sizeof(dst));
	if (rc == 0 || (add && rc == -EEXIST) || (!add && rc == -ESRCH))
		log_info("event=uplink_route_%s table=%u family=%s dst=%s/%u "
		    "gw=%s oif=%d", add ? "add" : "del", r->table,
		    fam_name(r->family), r->dst_len ? dst : "default",
		    r->dst_len, gw, r->oif);
	else
		log_warnx("event=uplink_route_%s_fail table=%u dst=%s/%u "
		    "gw=%s error=\"%s\"", add ? "add" : "del", r->table,
		    r->dst_len ? dst : "default", r->dst_len, gw,
		    strerror(-rc));
}

static void
rule_change(struct uplinks *u, bool add, const struct netlink_rule *r)
{
	char	src[INET6_ADDRSTRLEN];
	int	rc = uplink_kernel_rule(&u->k, add, r);

	u->changes++;

	netlink_ip_str(&r->src, src, sizeof(src));
	if (rc == 0 || (add && rc == -EEXIST) || (!add && rc == -ENOENT))
		log_info("event=uplink_rule_%s from=%s table=%u pref=%u",
		    add ? "add" : "del", src, r->table, r->priority);
	else
		log_warnx("event=uplink_rule_%s_fail from=%s table=%u "
		    "error=\"%s\"", add ? "add" : "del", src, r->table,
		    strerror(-rc));
}

static void
ep_change(struct uplinks *u, bool add, const struct netlink_endpoint *e,
    const char *uplink)
{
	char	ip[INET6_ADDRSTRLEN];
	int	rc = uplink_kernel_endpoint(&u->k, add, e);

	u->changes++;

	netlink_ip_str(&e->ip, ip, sizeof(ip));
	if (rc == 0)
		log_info("event=uplink_endpoint_%s uplink=%s addr=%s id=%u "
		    "ifindex=%d flags=%s", add ? "add" : "del", uplink, ip,
		    e->id, e->ifindex,
		    (e->flags & MPTCP_PM_ADDR_FLAG_BACKUP) ? "subflow,backup" :
		    "subflow");
	else
		log_warnx("event=uplink_endpoint_%s_fail uplink=%s addr=%s "
		    "id=%u error=\"%s\"", add ? "add" : "del", uplink, ip,
		    e->id, strerror(-rc));
}

static const struct config_uplink *
uplink_on(const struct uplinks *u, int ifindex)
{
	for (size_t i = 0; i < u->ks.n_links; i++)
		if (u->ks.links[i].ifindex == ifindex)
			return config_uplinks_by_ifname(u->ups,
			    u->ks.links[i].name);
	return NULL;
}

/*
 * The uplink an endpoint of ours served, for its removal's log line: by
 * its interface, else by where its address now is. "unknown" when
 * neither is a configured uplink (one taken out of the config, an
 * interface gone; the line still has the address and ifindex).
 */
static const char *
ep_uplink_name(const struct uplinks *u, const struct netlink_endpoint *e)
{
	const struct config_uplink	*cu = uplink_on(u, e->ifindex);

	for (size_t j = 0; j < u->ks.n_addrs && cu == NULL; j++)
		if (netlink_ip_eq(&u->ks.addrs[j].ip, &e->ip))
			cu = uplink_on(u, u->ks.addrs[j].ifindex);
	return cu != NULL ? cu->name : "unknown";
}

static uint8_t
free_ep_id(const struct uplink_kstate *ks, const uint8_t *taken)
{
	for (unsigned id = UPLINK_EP_ID_MIN; id <= UPLINK_EP_ID_MAX; id++) {
		bool used = taken[id];

		for (size_t i = 0; i < ks->n_eps && !used; i++)
			used = ks->eps[i].id == id;
		if (!used)
			return (uint8_t)id;
	}
	return 0;
}

static void
apply_routes(struct uplinks *u, const struct plan *p)
{
	const struct uplink_kstate	*ks = &u->ks;

	/* rules first on the way out, routes first on the way in: a rule
	 * never points at a table without its default route for long */
	for (size_t i = 0; i < ks->n_rules; i++) {
		bool want = false;

		if (ks->rules[i].protocol != UPLINK_RTPROT ||
		    !our_table(u->cfg, ks->rules[i].table))
			continue;
		for (size_t j = 0; j < p->n_rules && !want; j++)
			want = rule_eq(&ks->rules[i], &p->rules[j]);
		if (!want)
			rule_change(u, false, &ks->rules[i]);
	}
	for (size_t i = 0; i < ks->n_routes; i++) {
		bool want = false;

		if (ks->routes[i].protocol != UPLINK_RTPROT ||
		    !our_table(u->cfg, ks->routes[i].table))
			continue;
		for (size_t j = 0; j < p->n_routes && !want; j++)
			want = route_eq(&ks->routes[i], &p->routes[j]);
		if (!want)
			route_change(u, false, &ks->routes[i]);
	}
	for (size_t j = 0; j < p->n_routes; j++) {
		bool have = false;

		for (size_t i = 0; i < ks->n_routes && !have; i++)
			have = ks->routes[i].protocol == UPLINK_RTPROT &&
			    route_eq(&ks->routes[i], &p->routes[j]);
		if (!have)
			route_change(u, true, &p->routes[j]);
	}
	for (size_t j = 0; j < p->n_rules; j++) {
		bool have = false;

		for (size_t i = 0; i < ks->n_rules && !have; i++)
			have = ks->rules[i].protocol == UPLINK_RTPROT &&
			    rule_eq(&ks->rules[i], &p->rules[j]);
		if (!have)
			rule_change(u, true, &p->rules[j]);
	}
}

static void
apply_endpoints(struct uplinks *u, const struct plan *p)
{
	const struct uplink_kstate	*ks = &u->ks;
	uint8_t				 taken[256] = { 0 };

	if (!ks->have_mptcp)
		return;
	for (size_t i = 0; i < ks->n_eps; i++) {
		bool want = false;

		if (!uplink_kstate_ep_ours(&ks->eps[i]))
			continue;
		for (size_t j = 0; j < p->n_eps && !want; j++)
			want = ep_same(&ks->eps[i], &p->eps[j]);
		if (!want)
			ep_change(u, false, &ks->eps[i],
			    ep_uplink_name(u, &ks->eps[i]));
		else
			taken[ks->eps[i].id] = 1;
	}
	for (size_t j = 0; j < p->n_eps; j++) {
		struct netlink_endpoint	 e = p->eps[j];
		const char		*name =
		    u->ups->v[p->eps_uplink[j]].name;
		bool			 have = false;

		for (size_t i = 0; i < ks->n_eps && !have; i++) {
			const struct netlink_endpoint *k = &ks->eps[i];

			/* someone else's endpoint for the address: theirs */
			have = netlink_ip_eq(&k->ip, &e.ip) &&
			    (!uplink_kstate_ep_ours(k) || ep_same(k, &e));
		}
		if (have)
			continue;
		if ((e.id = free_ep_id(ks, taken)) == 0) {
			log_warnx("event=uplink_endpoint_add_fail uplink=%s "
			    "error=\"no free id in %d..%d\"", name,
			    UPLINK_EP_ID_MIN, UPLINK_EP_ID_MAX);
			continue;
		}
		taken[e.id] = 1;
		ep_change(u, true, &e, name);
	}
}

/* Raised to what the plan needs (at most the kernel's cap), never
 * lowered. */
static void
apply_limits(struct uplinks *u, const struct plan *p)
{
	struct netlink_limits	cur = u->ks.limits, want = cur;
	uint32_t		need = (uint32_t)MIN(p->n_eps, LIMIT_MAX);
	int			rc;

	if (!u->ks.have_mptcp)
		return;
	want.subflows = MAX(cur.subflows, need);
	want.add_addr_accepted = MAX(cur.add_addr_accepted, need);
	if (want.subflows == cur.subflows &&
	    want.add_addr_accepted == cur.add_addr_accepted)
		return;
	u->changes++;
	if ((rc = uplink_kernel_set_limits(&u->k, &want)) != 0) {
		log_warnx("event=uplink_limits_fail error=\"%s\"",
		    strerror(-rc));
		return;
	}
	if (!u->raised)
		u->orig_limits = cur;
	u->raised = true;
	u->our_limits = want;
	log_info("event=uplink_limits subflows=%u add_addr_accepted=%u "
	    "was=%u,%u", want.subflows, want.add_addr_accepted, cur.subflows,
	    cur.add_addr_accepted);
}

/* --- what bonding lacks: logged, and printed by --uplinks ----------------- */

#define GAP(...) do {							\
	snprintf(line, sizeof(line), __VA_ARGS__);			\
	wbuf_str(&w, line);						\
	wbuf_str(&w, "\n");						\
	gaps++;								\
} while (0)

int
uplinks_gaps(const struct config_uplinks *ups, const struct uplink_kstate *ks,
    char *out, size_t outlen)
{
	struct wbuf	w = { out, 0, outlen - 1, false };
	char		line[512], ip[INET6_ADDRSTRLEN];
	int		gaps = 0;
	size_t		n_addrs = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ups->n; i++) {
		const struct config_uplink	*u = &ups->v[i];
		const struct netlink_link	*l =
		    uplink_kstate_find_link(ks, u->ifname);
		size_t				 n = 0;

		if (l == NULL) {
			GAP("uplink %s: no interface %s — bonding will not "
			    "use it", u->name, u->ifname);
			continue;
		}
		if (!uplink_kstate_link_usable(l)) {
			GAP("uplink %s: %s is down — bonding will not use it",
			    u->name, u->ifname);
			continue;
		}
		for (size_t j = 0; j < ks->n_addrs; j++) {
			const struct netlink_ifaddr	*a = &ks->addrs[j];
			const struct netlink_endpoint	*e;
			uint32_t			 t;
			struct netlink_ip		 gw;
			bool				 learned;

			if (!uplink_kstate_addr_usable(a, l->ifindex))
				continue;
			n++;
			netlink_ip_str(&a->ip, ip, sizeof(ip));
			e = ks->have_mptcp ?
			    uplink_kstate_ep_for(ks, &a->ip) : NULL;
			if (e == NULL || !(e->flags &
			    MPTCP_PM_ADDR_FLAG_SUBFLOW))
				GAP("uplink %s: no MPTCP endpoint for %s — "
				    "bonding will not use it", u->name, ip);
			else if (u->role == UPLINK_ROLE_BACKUP &&
			    !(e->flags & MPTCP_PM_ADDR_FLAG_BACKUP))
				GAP("uplink %s: the MPTCP endpoint for %s "
				    "lacks the backup flag — it will carry "
				    "traffic all the time", u->name, ip);
			if (!uplink_kstate_rule_for(ks, &a->ip, &t))
				GAP("uplink %s: no source rule for %s — its "
				    "subflows may leave through another "
				    "uplink", u->name, ip);
			else if (!uplink_kstate_table_has_default(ks,
			    a->ip.family, t))
				GAP("uplink %s: table %u (the rule for %s) "
				    "has no default route", u->name, t, ip);
			if (!uplink_kstate_gateway_of(ks, u, l->ifindex,
			    a->ip.family, &gw, &learned))
				GAP("uplink %s: no %s gateway (no default "
				    "route on %s, no gateway =)", u->name,
				    fam_name(a->ip.family), u->ifname);
		}
		if (n == 0)
			GAP("uplink %s: %s has no usable address — bonding "
			    "will not use it", u->name, u->ifname);
		n_addrs += n;
	}
	if (ks->have_mptcp && ks->limits.subflows < MIN(n_addrs, LIMIT_MAX))
		GAP("MPTCP limits allow %u subflows; the uplinks' %zu "
		    "addresses need %zu", ks->limits.subflows, n_addrs,
		    MIN(n_addrs, LIMIT_MAX));
	if (!ks->have_mptcp)
		GAP("no MPTCP path manager (mptcp_pm) in this kernel — "
		    "no bonding");
	out[w.len] = '\0';
	return gaps;
}

#undef GAP

static void
report(struct uplinks *u)
{
	char	text[sizeof(u->last_report)], *line, *save = NULL;
	int	gaps = uplinks_gaps(u->ups, &u->ks, text, sizeof(text));

	/* no gaps is an empty text, as is "nothing said yet": compare the
	 * count too, or a start with nothing missing never says ready */
	if (gaps == u->last_gaps && strcmp(text, u->last_report) == 0)
		return;		/* said already */
	u->last_gaps = gaps;
	memcpy(u->last_report, text, sizeof(text));
	if (gaps == 0)
		log_info("event=uplinks_ready uplinks=%zu", u->ups->n);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
}

/* --- the loop ------------------------------------------------------------- */

static void
reconcile(struct uplinks *u)
{
	if (!uplink_kernel_load(&u->k, &u->ks))
		return;
	if (!u->manage) {
		report(u);
		return;
	}
	u->changes = 0;
	plan_make(u->cfg, u->ups, &u->ks, &u->plan);
	apply_routes(u, &u->plan);
	apply_endpoints(u, &u->plan);
	apply_limits(u, &u->plan);
	/* what set-up cannot fix (an interface missing or down, no
	 * gateway, a failed change) still deserves a line */
	if (u->changes == 0 || uplink_kernel_load(&u->k, &u->ks))
		report(u);
}

static void
arm(struct uplinks *u, unsigned ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(u->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplinks	*u = arg;

	(void)fd;
	(void)what;
	reconcile(u);
	arm(u, RECHECK_S * 1000);
}

/* Any change to links, addresses or routes: look again shortly, once for
 * the whole burst. Our own changes come back here too and find nothing
 * to do. */
static void
mon_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplinks	*u = arg;
	uint8_t		 buf[8192];

	(void)what;
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;		/* a lost event (ENOBUFS) also ends here */
	arm(u, SETTLE_MS);
}

/* CAP_NET_ADMIN in the effective set, from /proc/self/status. */
static bool
have_net_admin(void)
{
	FILE			*f = fopen("/proc/self/status", "re");
	char			 line[256];
	unsigned long long	 caps = 0;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps >> 12) & 1;	/* CAP_NET_ADMIN */
}

struct uplinks *
uplinks_start(struct event_base *base, const struct config *cfg,
    const struct config_uplinks *ups)
{
	struct uplinks	*u;

	if (ups->n == 0)
		return NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		log_warn("event=uplinks_off why=memory");
		return NULL;
	}
	u->cfg = cfg;
	u->ups = ups;
	u->manage = cfg->manage_uplinks && have_net_admin();
	u->last_gaps = -1;
	if (!uplink_kernel_open(&u->k)) {
		log_warn("event=uplinks_off why=netlink");
		free(u);
		return NULL;
	}
	log_info("event=uplinks_start uplinks=%zu mode=%s table_base=%u",
	    ups->n, u->manage ? "manage" : "report",
	    cfg->uplink_table_base);
	if (!u->manage)
		log_warnx("event=uplinks_report_only why=%s",
		    cfg->manage_uplinks ? "no_cap_net_admin" :
		    "manage_uplinks_no");
	reconcile(u);
	if ((u->timer = evtimer_new(base, timer_cb, u)) == NULL ||
	    (u->mon = uplink_kernel_monitor_open()) == NULL ||
	    (u->mon_ev = event_new(base, mnl_socket_get_fd(u->mon),
	    EV_READ | EV_PERSIST, mon_cb, u)) == NULL ||
	    event_add(u->mon_ev, NULL) == -1)
		log_warn("event=uplinks_follow_off");
	if (u->timer != NULL)
		arm(u, RECHECK_S * 1000);
	return u;
}

void
uplinks_stop(struct uplinks *u)
{
	if (u == NULL)
		return;
	if (u->mon_ev != NULL)
		event_free(u->mon_ev);
	if (u->timer != NULL)
		event_free(u->timer);
	if (u->mon != NULL)
		mnl_socket_close(u->mon);
	if (u->manage && uplink_kernel_load(&u->k, &u->ks)) {
		struct plan *none = &u->plan;

		memset(none, 0, sizeof(*none));
		apply_routes(u, none);
		apply_endpoints(u, none);
		/* put the limits back, unless someone changed them since */
		if (u->raised && u->ks.have_mptcp &&
		    u->ks.limits.subflows == u->our_limits.subflows &&
		    u->ks.limits.add_addr_accepted ==
		    u->our_limits.add_addr_accepted &&
		    uplink_kernel_set_limits(&u->k, &u->orig_limits) == 0)
			log_info("event=uplink_limits subflows=%u "
			    "add_addr_accepted=%u restored=yes",
			    u->orig_limits.subflows,
			    u->orig_limits.add_addr_accepted);
		log_info("event=uplinks_stop removed=own");
	}
	uplink_kernel_close(&u->k);
	free(u);
}

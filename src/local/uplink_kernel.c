/*
 * Netlink sockets for uplink set-up: requests built and replies parsed by
 * netlink.c, sent one at a time on blocking sockets with a receive
 * timeout, so a kernel that never answers costs two seconds, not the
 * daemon.
 */

#include "uplink_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "local/config_uplink.h"

typedef void msg_cb(const struct netlink_msg *, void *arg);

static struct mnl_socket *
sock_open(int bus, unsigned groups)
{
	struct mnl_socket	*s = mnl_socket_open2(bus, SOCK_CLOEXEC);
	struct timeval		 tv = { 2, 0 };

	if (s == NULL)
		return NULL;
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) == -1 ||
	    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1) {
		int saved = errno;

		mnl_socket_close(s);
		errno = saved;
		return NULL;
	}
	return s;
}

/*
 * Sends req and reads replies with its sequence number until the dump's
 * end or the acknowledgement, handing each message to cb. Returns 0 or
 * -errno (the kernel's, or our own for a timeout or a malformed reply).
 */
static int
talk(struct uplink_kernel *k, struct mnl_socket *s, enum netlink_proto proto,
    const void *req, size_t len, msg_cb *cb, void *arg)
{
	static uint8_t		buf[32768]
				    __attribute__((aligned(4)));
	const struct nlmsghdr	*nlh = req;
	uint32_t		seq = nlh->nlmsg_seq;
	struct netlink_msg	m;
	ssize_t			n;
	size_t			off;
	int			r;

	(void)k;
	if (len == 0)
		return -EMSGSIZE;
	if (mnl_socket_sendto(s, req, len) == -1)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n == -1)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		off = 0;
		while ((r = netlink_next(buf, (size_t)n, &off, proto,
		    k->mptcp_id, &m)) == 1) {
			if (m.seq != seq)
				continue;	/* a late answer to a timeout */
			if (m.kind == NL_DONE)
				return 0;
			if (m.kind == NL_ERROR)
				return m.error;
			if (cb != NULL)
				cb(&m, arg);
		}
		if (r == -1)
			return -EBADMSG;
	}
}

static void
family_cb(const struct netlink_msg *m, void *arg)
{
	if (m->kind == NL_FAMILY)
		*(uint16_t *)arg = m->u.family_id;
}

bool
uplink_kernel_open(struct uplink_kernel *k)
{
	uint8_t		req[NETLINK_REQ_MAX] __attribute__((aligned(4)));
	uint16_t	id = 0;

	memset(k, 0, sizeof(*k));
	k->seq = (uint32_t)time(NULL);
	if ((k->rt = sock_open(NETLINK_ROUTE, 0)) == NULL)
		return false;
	if ((k->gen = sock_open(NETLINK_GENERIC, 0)) == NULL)
		return true;	/* no MPTCP endpoints; routes still work */
	if (talk(k, k->gen, NETLINK_PROTO_GENL, req,
	    netlink_family_req(req, ++k->seq, MPTCP_PM_NAME), family_cb,
	    &id) != 0)
		id = 0;
	k->mptcp_id = id;
	return true;
}

void
uplink_kernel_close(struct uplink_kernel *k)
{
	if (k->rt != NULL)
		mnl_socket_close(k->rt);
	if (k->gen != NULL)
		mnl_socket_close(k->gen);
	k->rt = k->gen = NULL;
}

static void
load_cb(const struct netlink_msg *m, void *arg)
{
	struct uplink_kstate	*ks = arg;

	switch (m->kind) {
	case NL_LINK:
		if (ks->n_links < UPLINK_KS_MAX_LINKS)
			ks->links[ks->n_links++] = m->u.link;
		break;
	case NL_ADDR:
		if (ks->n_addrs < UPLINK_KS_MAX_ADDRS)
			ks->addrs[ks->n_addrs++] = m->u.addr;
		break;
	case NL_ROUTE:
		if ((m->u.route.dst_len == 0 ||
		    m->u.route.protocol == UPLINK_RTPROT) &&
		    m->u.route.type == RTN_UNICAST &&
		    ks->n_routes < UPLINK_KS_MAX_ROUTES)
			ks->routes[ks->n_routes++] = m->u.route;
		break;
	case NL_RULE:
		if (ks->n_rules < UPLINK_KS_MAX_RULES)
			ks->rules[ks->n_rules++] = m->u.rule;
		break;
	case NL_ENDPOINT:
		if (ks->n_eps < UPLINK_KS_MAX_EPS)
			ks->eps[ks->n_eps++] = m->u.ep;
		break;
	case NL_LIMITS:
		ks->limits = m->u.limits;
		break;
	default:
		break;
	}
}

bool
uplink_kernel_load(struct uplink_kernel *k, struct uplink_kstate *ks)
{
	static const uint16_t	dumps[] = {
		RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE,
	};
	uint8_t			req[NETLINK_REQ_MAX]
				    __attribute__((aligned(4)));
	int			r;

	memset(ks, 0, sizeof(*ks));
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		r = talk(k, k->rt, NETLINK_PROTO_ROUTE, req,
		    netlink_dump_req(req, ++k->seq, dumps[i], AF_UNSPEC),
		    load_cb, ks);
		if (r != 0) {
			log_warnx("event=uplink_netlink_fail dump=%u "
			    "error=\"%s\"", dumps[i], strerror(-r));
			return false;
		}
	}
	if (k->mptcp_id == 0)
		return true;
	r = talk(k, k->gen, NETLINK_PROTO_GENL, req, netlink_endpoint_req(req,
	    ++k->seq, k->mptcp_id, MPTCP_PM_CMD_GET_ADDR, NULL), load_cb, ks);
	if (r == 0)
		r = talk(k, k->gen, NETLINK_PROTO_GENL, req,
		    netlink_limits_req(req, ++k->seq, k->mptcp_id,
		    MPTCP_PM_CMD_GET_LIMITS, NULL), load_cb, ks);
	if (r != 0) {
		log_warnx("event=uplink_netlink_fail dump=mptcp error=\"%s\"",
		    strerror(-r));
		return false;
	}
	ks->have_mptcp = true;
	return true;
}

bool
uplink_kernel_snapshot(struct uplink_kstate *ks)
{
	struct uplink_kernel	k;
	bool			ok;

	ok = uplink_kernel_open(&k) && uplink_kernel_load(&k, ks);
	uplink_kernel_close(&k);	/* open cleared k: safe after a failure */
	return ok;
}

int
uplink_kernel_route(struct uplink_kernel *k, bool add,
    const struct netlink_route *r)
{
	uint8_t	req[NETLINK_REQ_MAX] __attribute__((aligned(4)));

	return talk(k, k->rt, NETLINK_PROTO_ROUTE, req,
	    netlink_route_req(req, ++k->seq, add, r), NULL, NULL);
}

int
uplink_kernel_rule(struct uplink_kernel *k, bool add,
    const struct netlink_rule *r)
{
	uint8_t	req[NETLINK_REQ_MAX] __attribute__((aligned(4)));

	return talk(k, k->rt, NETLINK_PROTO_ROUTE, req,
	    netlink_rule_req(req, ++k->seq, add, r), NULL, NULL);
}

int
uplink_kernel_endpoint(struct uplink_kernel *k, bool add,
    const struct netlink_endpoint *e)
{
	uint8_t	req[NETLINK_REQ_MAX] __attribute__((aligned(4)));

	if (k->mptcp_id == 0)
		return -EOPNOTSUPP;
	return talk(k, k->gen, NETLINK_PROTO_GENL, req,
	    netlink_endpoint_req(req, ++k->seq, k->mptcp_id,
	    add ? MPTCP_PM_CMD_ADD_ADDR : MPTCP_PM_CMD_DEL_ADDR, e), NULL,
	    NULL);
}

int
uplink_kernel_set_limits(struct uplink_kernel *k,
    const struct netlink_limits *lim)
{
	uint8_t	req[NETLINK_REQ_MAX] __attribute__((aligned(4)));

	if (k->mptcp_id == 0)
		return -EOPNOTSUPP;
	return talk(k, k->gen, NETLINK_PROTO_GENL, req,
	    netlink_limits_req(req, ++k->seq, k->mptcp_id,
	    MPTCP_PM_CMD_SET_LIMITS, lim), NULL, NULL);
}

struct mnl_socket *
uplink_kernel_monitor_open(void)
{
	struct mnl_socket	*s;

	s = sock_open(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
	    RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE);
	if (s != NULL && fcntl(mnl_socket_get_fd(s), F_SETFL,
	    O_NONBLOCK) == -1) {
		mnl_socket_close(s);
		return NULL;
	}
	return s;
}

/* --- reading a snapshot --------------------------------------------------- */

const struct netlink_link *
uplink_kstate_find_link(const struct uplink_kstate *ks, const char *name)
{
	for (size_t i = 0; i < ks->n_links; i++)
		if (strcmp(ks->links[i].name, name) == 0)
			return &ks->links[i];
	return NULL;
}

bool
uplink_kstate_link_usable(const struct netlink_link *l)
{
	return l != NULL && (l->flags & IFF_UP) && (l->flags & IFF_RUNNING);
}

/* Global-scope addresses that are not waiting for (or failed) DAD, and
 * not deprecated: no new connection should start from those. */
bool
uplink_kstate_addr_usable(const struct netlink_ifaddr *a, int ifindex)
{
	return a->ifindex == ifindex && a->scope == RT_SCOPE_UNIVERSE &&
	    !(a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED |
	    IFA_F_DEPRECATED));
}

/* The configured gateway, else the best default route of the main
 * table on the interface, as DHCP or router advertisements set it. */
bool
uplink_kstate_gateway_of(const struct uplink_kstate *ks,
    const struct config_uplink *u, int ifindex, int family,
    struct netlink_ip *gw, bool *learned)
{
	const struct netlink_route	*best = NULL;

	*learned = false;
	if (family == AF_INET && u->has_gw4) {
		gw->family = AF_INET;
		memcpy(gw->a, &u->gw4, 4);
		return true;
	}
	if (family == AF_INET6 && u->has_gw6) {
		gw->family = AF_INET6;
		memcpy(gw->a, &u->gw6, 16);
		return true;
	}
	for (size_t i = 0; i < ks->n_routes; i++) {
		const struct netlink_route *r = &ks->routes[i];

		if (r->family != family || r->table != RT_TABLE_MAIN ||
		    r->dst_len != 0 || r->oif != ifindex ||
		    r->gw.family != family || r->protocol == UPLINK_RTPROT)
			continue;
		if (best == NULL || r->priority < best->priority)
			best = r;
	}
	if (best == NULL)
		return false;
	*gw = best->gw;
	*learned = true;
	return true;
}

bool
uplink_kstate_rule_for(const struct uplink_kstate *ks,
    const struct netlink_ip *ip, uint32_t *table)
{
	for (size_t i = 0; i < ks->n_rules; i++)
		if (netlink_ip_eq(&ks->rules[i].src, ip) &&
		    ks->rules[i].src_len == netlink_ip_len(ip->family) * 8) {
			*table = ks->rules[i].table;
			return true;
		}
	return false;
}

bool
uplink_kstate_table_has_default(const struct uplink_kstate *ks, int family,
    uint32_t table)
{
	for (size_t i = 0; i < ks->n_routes; i++)
		if (ks->routes[i].family == family &&
		    ks->routes[i].table == table && ks->routes[i].dst_len == 0)
			return true;
	return false;
}

const struct netlink_endpoint *
uplink_kstate_ep_for(const struct uplink_kstate *ks,
    const struct netlink_ip *ip)
{
	for (size_t i = 0; i < ks->n_eps; i++)
		if (netlink_ip_eq(&ks->eps[i].ip, ip))
			return &ks->eps[i];
	return NULL;
}

bool
uplink_kstate_ep_ours(const struct netlink_endpoint *e)
{
	return e->id >= UPLINK_EP_ID_MIN && e->id <= UPLINK_EP_ID_MAX;
}

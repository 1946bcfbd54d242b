/*
 * Netlink messages for uplink set-up: rtnetlink (rtnetlink(7)) for links,
 * addresses, routes and rules, and the MPTCP path manager's generic
 * netlink family (include/uapi/linux/mptcp.h, "mptcp_pm", version 1).
 * Pure: builders write into a caller's buffer, parsers read one message
 * of a datagram. Replies are hostile input as far as this file is
 * concerned: every header and attribute length is checked before use.
 */

#include "local/netlink.h"
#include "proto/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/fib_rules.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define TB_MAX	32	/* above every attribute type we read */

size_t
netlink_ip_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

bool
netlink_ip_eq(const struct netlink_ip *a, const struct netlink_ip *b)
{
	return a->family == b->family &&
	    memcmp(a->a, b->a, netlink_ip_len(a->family)) == 0;
}

const char *
netlink_ip_str(const struct netlink_ip *ip, char *buf, size_t len)
{
	if (ip->family == 0 || inet_ntop(ip->family, ip->a, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "-");
	return buf;
}

/* --- parsing -------------------------------------------------------------- */

static int
tb_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr	**tb = data;
	uint16_t		  type = mnl_attr_get_type(attr);

	if (type < TB_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Attribute a, if present, must hold exactly n bytes. */
static bool
len_is(const struct nlattr *a, size_t n)
{
	return a == NULL || mnl_attr_get_payload_len(a) == n;
}

static bool
get_u32(const struct nlattr *a, uint32_t *v)
{
	if (a == NULL)
		return true;
	if (!len_is(a, 4))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

/* An address attribute of the family's size; absent leaves family 0. */
static bool
get_ip(const struct nlattr *a, int family, struct netlink_ip *ip)
{
	size_t	n = netlink_ip_len(family);

	if (a == NULL)
		return true;
	if (n == 0 || mnl_attr_get_payload_len(a) != n)
		return false;
	ip->family = family;
	memcpy(ip->a, mnl_attr_get_payload(a), n);
	return true;
}

/* Collects the attributes after a fixed header of hdrlen bytes. */
static bool
parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
    const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * TB_MAX);
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen))
		return false;
	return mnl_attr_parse(nlh, (unsigned)hdrlen, tb_cb, tb) >= 0;
}

static bool
parse_link(const struct nlmsghdr *nlh, struct netlink_msg *out)
{
	const struct nlattr	*tb[TB_MAX];
	const struct ifinfomsg	*ifi = mnl_nlmsg_get_payload(nlh);
	struct netlink_link	*l = &out->u.link;
	size_t			 n;

	if (!parse_attrs(nlh, sizeof(*ifi), tb))
		return false;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	if (tb[IFLA_IFNAME] != NULL) {
		n = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);
		if (n == 0 || n > IFNAMSIZ)
			return false;
		/* NUL-terminated by the kernel; we do not rely on it */
		n = MIN(n, IFNAMSIZ - 1);
		memcpy(l->name, mnl_attr_get_payload(tb[IFLA_IFNAME]), n);
		l->name[n] = '\0';
	}
	out->kind = NL_LINK;
	return l->ifindex > 0;
}

static bool
parse_addr(const struct nlmsghdr *nlh, struct netlink_msg *out)
{
	const struct nlattr	*tb[TB_MAX];
	const struct ifaddrmsg	*ifa = mnl_nlmsg_get_payload(nlh);
	struct netlink_ifaddr	*a = &out->u.addr;
	uint32_t		 flags;

	if (!parse_attrs(nlh, sizeof(*ifa), tb))
		return false;
	memset(a, 0, sizeof(*a));
	a->ifindex = (int)ifa->ifa_index;
	a->prefixlen = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->flags = ifa->ifa_flags;
	flags = a->flags;
	if (!get_u32(tb[IFA_FLAGS], &flags))
		return false;
	a->flags = flags;
	/* IFA_LOCAL is our own address on point-to-point links */
	if (!get_ip(tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS],
	    ifa->ifa_family, &a->ip))
		return false;
	if (a->prefixlen > netlink_ip_len(ifa->ifa_family) * 8)
		return false;
	out->kind = NL_ADDR;
	return a->ip.family != 0 && a->ifindex > 0;
}

static bool
parse_route(const struct nlmsghdr *nlh, struct netlink_msg *out)
{
	const struct nlattr	*tb[TB_MAX];
	const struct rtmsg	*rtm = mnl_nlmsg_get_payload(nlh);
	struct netlink_route	*r = &out->u.route;
	uint32_t		 oif = 0;

	if (!parse_attrs(nlh, sizeof(*rtm), tb))
		return false;
	memset(r, 0, sizeof(*r));
	r->family = rtm->rtm_family;
	r->table = rtm->rtm_table;
	r->protocol = rtm->rtm_protocol;
	r->dst_len = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	if (!get_u32(tb[RTA_TABLE], &r->table) ||
	    !get_u32(tb[RTA_PRIORITY], &r->priority) ||
	    !get_u32(tb[RTA_OIF], &oif) || oif > INT_MAX)
		return false;
	r->oif = (int)oif;
	/* routes of other families (MPLS, multicast) are not ours to read */
	if (netlink_ip_len(r->family) == 0)
		return out->kind = NL_OTHER, true;
	if (!get_ip(tb[RTA_DST], r->family, &r->dst) ||
	    !get_ip(tb[RTA_GATEWAY], r->family, &r->gw) ||
	    r->dst_len > netlink_ip_len(r->family) * 8)
		return false;
	out->kind = NL_ROUTE;
	return true;
}

static bool
parse_rule(const struct nlmsghdr *nlh, struct netlink_msg *out)
{
	const struct nlattr		*tb[TB_MAX];
	const struct fib_rule_hdr	*frh = mnl_nlmsg_get_payload(nlh);
	struct netlink_rule		*r = &out->u.rule;

	if (!parse_attrs(nlh, sizeof(*frh), tb))
		return false;
	memset(r, 0, sizeof(*r));
	r->family = frh->family;
	r->table = frh->table;
	r->src_len = frh->src_len;
	r->action = frh->action;
	if (!get_u32(tb[FRA_TABLE], &r->table) ||
	    !get_u32(tb[FRA_PRIORITY], &r->priority) ||
	    !len_is(tb[FRA_PROTOCOL], 1))
		return false;
	if (tb[FRA_PROTOCOL] != NULL)
		r->protocol = mnl_attr_get_u8(tb[FRA_PROTOCOL]);
	if (netlink_ip_len(r->family) == 0)
		return out->kind = NL_OTHER, true;
	if (!get_ip(tb[FRA_SRC], r->family, &r->src) ||
	    r->src_len > netlink_ip_len(r->family) * 8)
		return false;
	out->kind = NL_RULE;
	return true;
}

static bool
parse_endpoint(const struct nlattr *nest, struct netlink_endpoint *ep)
{
	const struct nlattr	*tb[TB_MAX] = { 0 };
	uint16_t		 fam;
	uint32_t		 ifi = 0;

	if (mnl_attr_parse_nested(nest, tb_cb, tb) < 0 ||
	    tb[MPTCP_PM_ADDR_ATTR_FAMILY] == NULL ||
	    !len_is(tb[MPTCP_PM_ADDR_ATTR_FAMILY], 2) ||
	    !len_is(tb[MPTCP_PM_ADDR_ATTR_ID], 1) ||
	    !len_is(tb[MPTCP_PM_ADDR_ATTR_PORT], 2))
		return false;
	memset(ep, 0, sizeof(*ep));
	fam = mnl_attr_get_u16(tb[MPTCP_PM_ADDR_ATTR_FAMILY]);
	if (tb[MPTCP_PM_ADDR_ATTR_ID] != NULL)
		ep->id = mnl_attr_get_u8(tb[MPTCP_PM_ADDR_ATTR_ID]);
	if (tb[MPTCP_PM_ADDR_ATTR_PORT] != NULL)
		ep->port = mnl_attr_get_u16(tb[MPTCP_PM_ADDR_ATTR_PORT]);
	if (!get_u32(tb[MPTCP_PM_ADDR_ATTR_FLAGS], &ep->flags) ||
	    !get_u32(tb[MPTCP_PM_ADDR_ATTR_IF_IDX], &ifi) || ifi > INT_MAX)
		return false;
	ep->ifindex = (int)ifi;
	if (fam == AF_INET)
		return get_ip(tb[MPTCP_PM_ADDR_ATTR_ADDR4], AF_INET, &ep->ip) &&
		    ep->ip.family != 0;
	if (fam == AF_INET6)
		return get_ip(tb[MPTCP_PM_ADDR_ATTR_ADDR6], AF_INET6,
		    &ep->ip) && ep->ip.family != 0;
	return false;
}

static bool
parse_genl(const struct nlmsghdr *nlh, uint16_t mptcp_id,
    struct netlink_msg *out)
{
	const struct nlattr	*tb[TB_MAX];
	const struct genlmsghdr	*g = mnl_nlmsg_get_payload(nlh);

	if (!parse_attrs(nlh, sizeof(*g), tb))
		return false;
	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		if (g->cmd != CTRL_CMD_NEWFAMILY)
			return true;
		if (tb[CTRL_ATTR_FAMILY_ID] == NULL ||
		    !len_is(tb[CTRL_ATTR_FAMILY_ID], 2))
			return false;
		out->u.family_id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
		out->kind = NL_FAMILY;
		return out->u.family_id != 0;
	}
	if (mptcp_id == 0 || nlh->nlmsg_type != mptcp_id)
		return true;
	if (g->cmd == MPTCP_PM_CMD_GET_ADDR ||
	    g->cmd == MPTCP_PM_CMD_ADD_ADDR) {
		if (tb[MPTCP_PM_ATTR_ADDR] == NULL)
			return false;
		out->kind = NL_ENDPOINT;
		return parse_endpoint(tb[MPTCP_PM_ATTR_ADDR], &out->u.ep);
	}
	if (g->cmd == MPTCP_PM_CMD_GET_LIMITS) {
		out->kind = NL_LIMITS;
		out->u.limits = (struct netlink_limits){ 0, 0 };
		return get_u32(tb[MPTCP_PM_ATTR_SUBFLOWS],
		    &out->u.limits.subflows) &&
		    get_u32(tb[MPTCP_PM_ATTR_RCV_ADD_ADDRS],
		    &out->u.limits.add_addr_accepted);
	}
	return true;
}

int
netlink_next(const uint8_t *buf, size_t len, size_t *off,
    enum netlink_proto proto, uint16_t mptcp_id, struct netlink_msg *out)
{
	const struct nlmsghdr	*nlh;
	size_t			 left;
	bool			 ok = true;

	if (*off >= len)
		return 0;
	left = len - *off;
	if (left > INT_MAX)
		return -1;
	/* byte buffers from recv() need not be aligned for nlmsghdr */
	if (((uintptr_t)(buf + *off) & 3) != 0)
		return -1;
	nlh = (const struct nlmsghdr *)(const void *)(buf + *off);
	/* not mnl_nlmsg_ok(): it casts nlmsg_len to int, so a length of
	 * 0xfffffffd passes and MNL_ALIGN() of it wraps to 0 (found by
	 * fuzz_netlink: the offset stood still) */
	if (left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    nlh->nlmsg_len > left)
		return -1;
	/* libmnl walks attributes up to the message's aligned end: a
	 * length of 37 at the end of 39 bytes let an attribute be read
	 * past the buffer (found by fuzz_netlink). The kernel pads every
	 * message, so an unpadded last one is not from it. */
	if (MNL_ALIGN(nlh->nlmsg_len) > left)
		return -1;
	memset(out, 0, sizeof(*out));
	out->kind = NL_OTHER;
	out->seq = nlh->nlmsg_seq;
	*off += MIN((size_t)MNL_ALIGN(nlh->nlmsg_len), left);
	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
		out->kind = NL_DONE;
		return 1;
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
			return -1;
		out->kind = NL_ERROR;
		out->error = e->error > 0 || e->error < -4095 ? -EPROTO :
		    e->error;
		return 1;
	}
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return 1;
	}
	if (proto == NETLINK_PROTO_GENL)
		ok = parse_genl(nlh, mptcp_id, out);
	else {
		out->deleted = nlh->nlmsg_type == RTM_DELLINK ||
		    nlh->nlmsg_type == RTM_DELADDR ||
		    nlh->nlmsg_type == RTM_DELROUTE ||
		    nlh->nlmsg_type == RTM_DELRULE;
		switch (nlh->nlmsg_type) {
		case RTM_NEWLINK: case RTM_DELLINK:
			ok = parse_link(nlh, out);
			break;
		case RTM_NEWADDR: case RTM_DELADDR:
			ok = parse_addr(nlh, out);
			break;
		case RTM_NEWROUTE: case RTM_DELROUTE:
			ok = parse_route(nlh, out);
			break;
		case RTM_NEWRULE: case RTM_DELRULE:
			ok = parse_rule(nlh, out);
			break;
		}
	}
	if (!ok) {
		out->kind = NL_OTHER;
		return -1;
	}
	return 1;
}

/* --- building ------------------------------------------------------------- */

static struct nlmsghdr *
req_start(void *buf, uint32_t seq, uint16_t type, uint16_t flags)
{
	struct nlmsghdr	*nlh;

	memset(buf, 0, NETLINK_REQ_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

size_t
netlink_dump_req(void *buf, uint32_t seq, uint16_t type, int family)
{
	struct nlmsghdr	*nlh = req_start(buf, seq, type, NLM_F_DUMP);
	/* rtgenmsg for links, addresses and routes; a rule dump reads
	 * the family from the same first byte of its fib_rule_hdr */
	struct rtmsg	*rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	return nlh->nlmsg_len;
}

static bool
put_ip(struct nlmsghdr *nlh, uint16_t type, const struct netlink_ip *ip)
{
	size_t	n = netlink_ip_len(ip->family);

	return n != 0 && mnl_attr_put_check(nlh, NETLINK_REQ_MAX, type, n,
	    ip->a);
}

size_t
netlink_route_req(void *buf, uint32_t seq, bool add,
    const struct netlink_route *r)
{
	struct nlmsghdr	*nlh = req_start(buf, seq,
	    add ? RTM_NEWROUTE : RTM_DELROUTE,
	    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	struct rtmsg	*rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	if (netlink_ip_len(r->family) == 0)
		return 0;
	rtm->rtm_family = (uint8_t)r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = r->gw.family != 0 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	/* the gateway need not be reachable through this (new) table */
	if (add && r->gw.family != 0)
		rtm->rtm_flags = RTNH_F_ONLINK;
	if (!mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX, RTA_TABLE, r->table))
		return 0;
	if (r->dst.family != 0 && !put_ip(nlh, RTA_DST, &r->dst))
		return 0;
	if (r->gw.family != 0 && !put_ip(nlh, RTA_GATEWAY, &r->gw))
		return 0;
	if (r->oif > 0 && !mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    RTA_OIF, (uint32_t)r->oif))
		return 0;
	if (r->priority != 0 && !mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    RTA_PRIORITY, r->priority))
		return 0;
	return nlh->nlmsg_len;
}

size_t
netlink_rule_req(void *buf, uint32_t seq, bool add,
    const struct netlink_rule *r)
{
	struct nlmsghdr		*nlh = req_start(buf, seq,
	    add ? RTM_NEWRULE : RTM_DELRULE,
	    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	struct fib_rule_hdr	*frh = mnl_nlmsg_put_extra_header(nlh,
	    sizeof(*frh));

	if (netlink_ip_len(r->family) == 0)
		return 0;
	frh->family = (uint8_t)r->family;
	frh->src_len = r->src_len;
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	if (!mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX, FRA_TABLE,
	    r->table) ||
	    !mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX, FRA_PRIORITY,
	    r->priority) ||
	    !mnl_attr_put_u8_check(nlh, NETLINK_REQ_MAX, FRA_PROTOCOL,
	    r->protocol))
		return 0;
	if (r->src.family != 0 && !put_ip(nlh, FRA_SRC, &r->src))
		return 0;
	return nlh->nlmsg_len;
}

static struct nlmsghdr *
genl_start(void *buf, uint32_t seq, uint16_t family, uint8_t cmd,
    uint8_t version, uint16_t flags)
{
	struct nlmsghdr		*nlh = req_start(buf, seq, family, flags);
	struct genlmsghdr	*g = mnl_nlmsg_put_extra_header(nlh,
	    sizeof(*g));

	g->cmd = cmd;
	g->version = version;
	return nlh;
}

size_t
netlink_family_req(void *buf, uint32_t seq, const char *name)
{
	struct nlmsghdr	*nlh = genl_start(buf, seq, GENL_ID_CTRL,
	    CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);

	if (!mnl_attr_put_strz_check(nlh, NETLINK_REQ_MAX,
	    CTRL_ATTR_FAMILY_NAME, name))
		return 0;
	return nlh->nlmsg_len;
}

size_t
netlink_endpoint_req(void *buf, uint32_t seq, uint16_t mptcp_id,
    uint8_t cmd, const struct netlink_endpoint *ep)
{
	struct nlmsghdr	*nlh;
	struct nlattr	*nest;

	if (cmd == MPTCP_PM_CMD_GET_ADDR) {
		nlh = genl_start(buf, seq, mptcp_id, cmd, MPTCP_PM_VER,
		    NLM_F_DUMP);
		return nlh->nlmsg_len;
	}
	nlh = genl_start(buf, seq, mptcp_id, cmd, MPTCP_PM_VER, NLM_F_ACK);
	if (netlink_ip_len(ep->ip.family) == 0 ||
	    (nest = mnl_attr_nest_start_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ATTR_ADDR)) == NULL)
		return 0;
	if (!mnl_attr_put_u16_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ADDR_ATTR_FAMILY, (uint16_t)ep->ip.family) ||
	    !mnl_attr_put_u8_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ADDR_ATTR_ID, ep->id) ||
	    !put_ip(nlh, ep->ip.family == AF_INET ? MPTCP_PM_ADDR_ATTR_ADDR4 :
	    MPTCP_PM_ADDR_ATTR_ADDR6, &ep->ip))
		return 0;
	if (cmd == MPTCP_PM_CMD_ADD_ADDR &&
	    (!mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ADDR_ATTR_FLAGS, ep->flags) ||
	    (ep->ifindex > 0 && !mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t)ep->ifindex))))
		return 0;
	mnl_attr_nest_end(nlh, nest);
	return nlh->nlmsg_len;
}

size_t
netlink_limits_req(void *buf, uint32_t seq, uint16_t mptcp_id, uint8_t cmd,
    const struct netlink_limits *lim)
{
	struct nlmsghdr	*nlh = genl_start(buf, seq, mptcp_id, cmd,
	    MPTCP_PM_VER, NLM_F_ACK);

	if (cmd == MPTCP_PM_CMD_SET_LIMITS &&
	    (!mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ATTR_SUBFLOWS, lim->subflows) ||
	    !mnl_attr_put_u32_check(nlh, NETLINK_REQ_MAX,
	    MPTCP_PM_ATTR_RCV_ADD_ADDRS, lim->add_addr_accepted)))
		return 0;
	return nlh->nlmsg_len;
}

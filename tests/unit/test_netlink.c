/*
 * netlink.c: requests built by the builders parse back to the same
 * fields (a route, rule and endpoint request has the shape of the
 * kernel's dump reply), and hostile replies are refused: truncated,
 * lengths past the datagram, attributes of the wrong size, unknown
 * families, oversized names and prefixes, unaligned buffers.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "local/netlink.h"

#define MPTCP_ID	0x1c

static uint8_t	buf[4096] __attribute__((aligned(4)));

static struct netlink_ip
ip(int family, const char *s)
{
	struct netlink_ip	a = { .family = family };

	assert_int_equal(inet_pton(family, s, a.a), 1);
	return a;
}

/* One message parsed from buf[0..len): returns netlink_next()'s result. */
static int
parse1(size_t len, enum netlink_proto proto, struct netlink_msg *m)
{
	size_t	off = 0;
	int	r = netlink_next(buf, len, &off, proto, MPTCP_ID, m);

	if (r == 1)
		assert_int_equal(off, len);
	return r;
}

static void
test_route_roundtrip(void **state)
{
	struct netlink_route	r = {
		.family = AF_INET6, .table = 7100, .protocol = 213,
		.oif = 3, .priority = 7,
	};
	struct netlink_msg	m;
	size_t			n;

	(void)state;
	r.gw = ip(AF_INET6, "fe80::1");
	n = netlink_route_req(buf, 9, true, &r);
	assert_true(n > 0 && n <= NETLINK_REQ_MAX);
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_ROUTE);
	assert_int_equal(m.seq, 9);
	assert_false(m.deleted);
	assert_int_equal(m.u.route.table, 7100);
	assert_int_equal(m.u.route.protocol, 213);
	assert_int_equal(m.u.route.oif, 3);
	assert_int_equal(m.u.route.priority, 7);
	assert_int_equal(m.u.route.dst_len, 0);
	assert_true(netlink_ip_eq(&m.u.route.gw, &r.gw));
	/* a subnet route, deleted */
	r = (struct netlink_route){ .family = AF_INET, .table = 7101,
	    .protocol = 213, .oif = 2, .dst_len = 24 };
	r.dst = ip(AF_INET, "10.1.2.0");
	n = netlink_route_req(buf, 10, false, &r);
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), 1);
	assert_true(m.deleted);
	assert_int_equal(m.u.route.dst_len, 24);
	assert_true(netlink_ip_eq(&m.u.route.dst, &r.dst));
	assert_int_equal(m.u.route.gw.family, 0);
	/* no family: nothing to build */
	r.family = 0;
	assert_int_equal(netlink_route_req(buf, 1, true, &r), 0);
}

static void
test_rule_roundtrip(void **state)
{
	struct netlink_rule	r = {
		.family = AF_INET, .table = 7100, .priority = 4200,
		.protocol = 213, .src_len = 32,
	};
	struct netlink_msg	m;
	size_t			n;

	(void)state;
	r.src = ip(AF_INET, "10.0.2.2");
	n = netlink_rule_req(buf, 3, true, &r);
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_RULE);
	assert_int_equal(m.u.rule.table, 7100);
	assert_int_equal(m.u.rule.priority, 4200);
	assert_int_equal(m.u.rule.protocol, 213);
	assert_int_equal(m.u.rule.src_len, 32);
	assert_true(netlink_ip_eq(&m.u.rule.src, &r.src));
}

static void
test_endpoint_roundtrip(void **state)
{
	struct netlink_endpoint	e = {
		.id = 201, .ifindex = 4,
		.flags = MPTCP_PM_ADDR_FLAG_SUBFLOW | MPTCP_PM_ADDR_FLAG_BACKUP,
	};
	struct netlink_msg	m;
	size_t			n, n2, off = 0;

	(void)state;
	e.ip = ip(AF_INET6, "fd00::2");
	n = netlink_endpoint_req(buf, 5, MPTCP_ID, MPTCP_PM_CMD_ADD_ADDR, &e);
	e.ip = ip(AF_INET, "10.9.8.7");
	n2 = netlink_endpoint_req(buf + n, 6, MPTCP_ID,
	    MPTCP_PM_CMD_ADD_ADDR, &e);
	/* two in one datagram: each consumed exactly */
	assert_int_equal(netlink_next(buf, n + n2, &off, NETLINK_PROTO_GENL,
	    MPTCP_ID, &m), 1);
	assert_int_equal(off, n);
	assert_int_equal(m.kind, NL_ENDPOINT);
	assert_int_equal(m.u.ep.id, 201);
	assert_int_equal(m.u.ep.ifindex, 4);
	assert_int_equal(m.u.ep.flags, MPTCP_PM_ADDR_FLAG_SUBFLOW |
	    MPTCP_PM_ADDR_FLAG_BACKUP);
	assert_true(netlink_ip_eq(&m.u.ep.ip, &(struct netlink_ip){
	    AF_INET6, { 0xfd, [15] = 2 } }));
	assert_int_equal(netlink_next(buf, n + n2, &off, NETLINK_PROTO_GENL,
	    MPTCP_ID, &m), 1);
	assert_int_equal(off, n + n2);
	assert_int_equal(m.seq, 6);
	assert_true(netlink_ip_eq(&m.u.ep.ip, &e.ip));
	assert_int_equal(netlink_next(buf, n + n2, &off, NETLINK_PROTO_GENL,
	    MPTCP_ID, &m), 0);
	/* another genl family with the same bytes: not ours to read */
	off = 0;
	assert_int_equal(netlink_next(buf, n, &off, NETLINK_PROTO_GENL,
	    MPTCP_ID + 1, &m), 1);
	assert_int_equal(m.kind, NL_OTHER);
}

/* A GET_LIMITS reply, and NLMSG_ERROR / DONE, built by hand. */
static void
test_limits_error_done(void **state)
{
	struct nlmsghdr		*nlh;
	struct genlmsghdr	*g;
	struct nlmsgerr		*e;
	struct netlink_msg	 m;

	(void)state;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = MPTCP_ID;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = MPTCP_PM_CMD_GET_LIMITS;
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, 8);
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, 3);
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_GENL, &m), 1);
	assert_int_equal(m.kind, NL_LIMITS);
	assert_int_equal(m.u.limits.subflows, 8);
	assert_int_equal(m.u.limits.add_addr_accepted, 3);

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -EEXIST;
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_ERROR);
	assert_int_equal(m.error, -EEXIST);
	e->error = 5;		/* positive: not an errno */
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.error, -EPROTO);
	/* truncated error payload */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), -1);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_DONE);
}

/* Builds RTM_NEWADDR for 10.0.0.2/prefix with an address attribute of
 * alen bytes; returns its length. */
static size_t
addr_msg(uint8_t family, uint8_t prefix, size_t alen)
{
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	uint8_t			 a[16] = { 10, 0, 0, 2 };

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_index = 2;
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a);
	return nlh->nlmsg_len;
}

static void
test_hostile(void **state)
{
	struct netlink_msg	m;
	struct netlink_route	r = { .family = AF_INET, .table = 7100,
				    .oif = 2 };
	size_t			n, off;
	char			name[40];
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifi;

	(void)state;
	n = addr_msg(AF_INET, 24, 4);
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_ADDR);
	assert_int_equal(m.u.addr.prefixlen, 24);
	assert_int_equal(m.u.addr.ifindex, 2);
	/* every truncation of a good message: refused or the end, and the
	 * length field keeps claiming the full size */
	for (size_t cut = 0; cut < n; cut++) {
		off = 0;
		assert_true(netlink_next(buf, cut, &off, NETLINK_PROTO_ROUTE,
		    MPTCP_ID, &m) <= 0);
		assert_true(off <= cut);
	}
	assert_int_equal(parse1(addr_msg(AF_INET, 33, 4),
	    NETLINK_PROTO_ROUTE, &m), -1);		/* prefix > 32 */
	assert_int_equal(parse1(addr_msg(AF_INET, 24, 3),
	    NETLINK_PROTO_ROUTE, &m), -1);		/* short address */
	assert_int_equal(parse1(addr_msg(AF_INET, 24, 16),
	    NETLINK_PROTO_ROUTE, &m), -1);		/* v6 size, v4 family */
	assert_int_equal(parse1(addr_msg(99, 24, 4),
	    NETLINK_PROTO_ROUTE, &m), -1);		/* unknown family */
	/* nlmsg_len past the datagram, below a header, near 4 GiB */
	n = addr_msg(AF_INET, 24, 4);
	nlh = (struct nlmsghdr *)(void *)buf;
	nlh->nlmsg_len = (uint32_t)n + 4;
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), -1);
	nlh->nlmsg_len = 8;
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), -1);
	nlh->nlmsg_len = 0xfffffffd;
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), -1);
	/* an unpadded length at the end of the bytes: libmnl would walk
	 * the address attribute up to the aligned end, past the buffer
	 * (fuzz_netlink, under ASan) */
	nlh->nlmsg_len = (uint32_t)n - 3;
	assert_int_equal(parse1(n - 3, NETLINK_PROTO_ROUTE, &m), -1);
	/* unaligned buffer */
	off = 0;
	assert_int_equal(netlink_next(buf + 1, n, &off, NETLINK_PROTO_ROUTE,
	    MPTCP_ID, &m), -1);
	/* a route whose gateway attribute has the wrong size */
	r.gw = ip(AF_INET, "10.0.0.1");
	n = netlink_route_req(buf, 1, true, &r);
	nlh = (struct nlmsghdr *)(void *)buf;
	{
		struct nlattr *a;

		mnl_attr_for_each(a, nlh, sizeof(struct rtmsg))
			if (mnl_attr_get_type(a) == RTA_GATEWAY)
				a->nla_len = 7;
	}
	assert_int_equal(parse1(n, NETLINK_PROTO_ROUTE, &m), -1);
	/* an interface name longer than IFNAMSIZ */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 5;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), -1);
	/* the same link with a good name (no NUL inside the attribute) */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 5;
	mnl_attr_put(nlh, IFLA_IFNAME, 4, "wwan");
	assert_int_equal(parse1(nlh->nlmsg_len, NETLINK_PROTO_ROUTE, &m), 1);
	assert_int_equal(m.kind, NL_LINK);
	assert_true(m.deleted);
	assert_string_equal(m.u.link.name, "wwan");	/* NUL added */
}

static void
test_ip_str(void **state)
{
	char			 s[64];
	struct netlink_ip	 none = { 0 }, a = ip(AF_INET, "10.1.2.3");

	(void)state;
	assert_string_equal(netlink_ip_str(&none, s, sizeof(s)), "-");
	assert_string_equal(netlink_ip_str(&a, s, sizeof(s)), "10.1.2.3");
	assert_int_equal(netlink_ip_len(AF_INET6), 16);
	assert_int_equal(netlink_ip_len(7), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_roundtrip),
		cmocka_unit_test(test_rule_roundtrip),
		cmocka_unit_test(test_endpoint_roundtrip),
		cmocka_unit_test(test_limits_error_done),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_ip_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

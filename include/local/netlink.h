#ifndef MPSOCKS_NETLINK_H
#define MPSOCKS_NETLINK_H

/*
 * rtnetlink (links, addresses, routes, rules) and the MPTCP path manager's
 * generic netlink family ("mptcp_pm"): request builders and reply parsers
 * over buffers, with libmnl. Pure: no sockets, no globals. uplink.c does
 * the talking.
 */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETLINK_REQ_MAX		512	/* every request we build fits */

/* An IPv4 or IPv6 address; family AF_INET or AF_INET6, 0 if none. */
struct netlink_ip {
	int	family;
	uint8_t	a[16];
};

struct netlink_link {
	int		ifindex;
	char		name[IFNAMSIZ];
	unsigned	flags;			/* IFF_* */
};

struct netlink_ifaddr {
	int			ifindex;
	struct netlink_ip	ip;
	uint8_t			prefixlen, scope;
	uint32_t		flags;		/* IFA_F_* */
};

struct netlink_route {
	uint32_t		table, priority;
	uint8_t			protocol, dst_len, type;
	int			oif;
	struct netlink_ip	dst, gw;	/* family 0 when absent */
	int			family;
};

struct netlink_rule {
	int			family;
	uint32_t		table, priority;
	uint8_t			protocol, src_len, action;
	struct netlink_ip	src;
};

struct netlink_endpoint {
	uint8_t			id;
	struct netlink_ip	ip;
	uint32_t		flags;		/* MPTCP_PM_ADDR_FLAG_* */
	int			ifindex;	/* 0: none */
	uint16_t		port;
};

struct netlink_limits {
	uint32_t	subflows, add_addr_accepted;
};

enum netlink_kind {
	NL_OTHER, NL_DONE, NL_ERROR, NL_LINK, NL_ADDR, NL_ROUTE, NL_RULE,
	NL_ENDPOINT, NL_LIMITS, NL_FAMILY,
};

struct netlink_msg {
	enum netlink_kind	kind;
	uint32_t		seq;
	bool			deleted;	/* RTM_DEL*, or link gone */
	int			error;		/* NL_ERROR: -errno, 0 = ACK */
	union {
		struct netlink_link	link;
		struct netlink_ifaddr	addr;
		struct netlink_route	route;
		struct netlink_rule	rule;
		struct netlink_endpoint	ep;
		struct netlink_limits	limits;
		uint16_t		family_id;
	}			u;
};

/* Which socket the bytes came from: their message types overlap. */
enum netlink_proto { NETLINK_PROTO_ROUTE, NETLINK_PROTO_GENL };

/*
 * Parses the message at buf + *off of a datagram of len bytes and moves
 * *off past it. mptcp_id is the family id of "mptcp_pm" (0: unknown).
 * Returns 1 with *out filled (NL_OTHER for what we do not read), 0 at the
 * end of the datagram, -1 if the message is malformed (stop reading the
 * datagram: its lengths cannot be trusted).
 */
int	netlink_next(const uint8_t *buf, size_t len, size_t *off,
	    enum netlink_proto, uint16_t mptcp_id, struct netlink_msg *out);

/*
 * Builders: each writes one request into buf (at least NETLINK_REQ_MAX
 * bytes) and returns its length, or 0 if it does not fit.
 */
size_t	netlink_dump_req(void *buf, uint32_t seq, uint16_t type, int family);
size_t	netlink_route_req(void *buf, uint32_t seq, bool add,
	    const struct netlink_route *);
size_t	netlink_rule_req(void *buf, uint32_t seq, bool add,
	    const struct netlink_rule *);
size_t	netlink_family_req(void *buf, uint32_t seq, const char *name);
/* cmd: MPTCP_PM_CMD_ADD_ADDR, _DEL_ADDR, or _GET_ADDR (a dump). */
size_t	netlink_endpoint_req(void *buf, uint32_t seq, uint16_t mptcp_id,
	    uint8_t cmd, const struct netlink_endpoint *);
/* cmd: MPTCP_PM_CMD_GET_LIMITS (lim unused) or _SET_LIMITS. */
size_t	netlink_limits_req(void *buf, uint32_t seq, uint16_t mptcp_id,
	    uint8_t cmd, const struct netlink_limits *);

/* "10.0.0.1" or "fd00::1" into buf; "-" for no address. */
const char	*netlink_ip_str(const struct netlink_ip *, char *buf,
		    size_t len);
bool		 netlink_ip_eq(const struct netlink_ip *,
		    const struct netlink_ip *);
size_t		 netlink_ip_len(int family);	/* 4, 16 or 0 */

#endif

#ifndef MPSOCKS_UPLINK_KERNEL_H
#define MPSOCKS_UPLINK_KERNEL_H

/*
 * The kernel side of uplink.c: netlink sockets (rtnetlink and the
 * "mptcp_pm" generic netlink family), a snapshot of what the kernel holds
 * (links, addresses, default and mpsocks routes, rules, MPTCP endpoints
 * and limits), and one request at a time with its acknowledgement.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "local/netlink.h"

/*
 * How mpsocks recognises its own entries, also after a crash (no state
 * file). Here rather than in uplink.h: reading the kernel already needs
 * them (only default routes and mpsocks' own are kept).
 */
#define UPLINK_RTPROT		213	/* routes and rules: "proto 213" */
#define UPLINK_RULE_PRIO	4200	/* its source rules, before main */
#define UPLINK_EP_ID_MIN	200	/* its MPTCP endpoint ids, 200..254 */
#define UPLINK_EP_ID_MAX	254

#define UPLINK_KS_MAX_LINKS	256
#define UPLINK_KS_MAX_ADDRS	512
#define UPLINK_KS_MAX_ROUTES	1024
#define UPLINK_KS_MAX_RULES	256
#define UPLINK_KS_MAX_EPS	64

struct uplink_kstate {
	struct netlink_link	links[UPLINK_KS_MAX_LINKS];
	size_t			n_links;
	struct netlink_ifaddr	addrs[UPLINK_KS_MAX_ADDRS];
	size_t			n_addrs;
	/* only default routes and mpsocks' own: all a plan needs */
	struct netlink_route	routes[UPLINK_KS_MAX_ROUTES];
	size_t			n_routes;
	struct netlink_rule	rules[UPLINK_KS_MAX_RULES];
	size_t			n_rules;
	struct netlink_endpoint	eps[UPLINK_KS_MAX_EPS];
	size_t			n_eps;
	struct netlink_limits	limits;
	bool			have_mptcp;	/* eps and limits valid */
};

struct uplink_kernel {
	struct mnl_socket	*rt, *gen;
	uint16_t		 mptcp_id;	/* 0: no MPTCP path manager */
	uint32_t		 seq;
};

/* Opens the sockets; false (errno set) if rtnetlink cannot be had. */
bool	uplink_kernel_open(struct uplink_kernel *);
void	uplink_kernel_close(struct uplink_kernel *);
/* Reads everything into ks; false (logged) on failure. */
bool	uplink_kernel_load(struct uplink_kernel *, struct uplink_kstate *);
/* Once, for a one-shot command: open, load into ks, close. */
bool	uplink_kernel_snapshot(struct uplink_kstate *);
/* One change; returns 0 or -errno. */
int	uplink_kernel_route(struct uplink_kernel *, bool add,
	    const struct netlink_route *);
int	uplink_kernel_rule(struct uplink_kernel *, bool add,
	    const struct netlink_rule *);
int	uplink_kernel_endpoint(struct uplink_kernel *, bool add,
	    const struct netlink_endpoint *);
int	uplink_kernel_set_limits(struct uplink_kernel *,
	    const struct netlink_limits *);

/* Reading a snapshot. */
struct config_uplink;
const struct netlink_link *uplink_kstate_find_link(
	    const struct uplink_kstate *, const char *name);
/* Up, with carrier: IFF_UP and IFF_RUNNING. NULL: false. */
bool	uplink_kstate_link_usable(const struct netlink_link *);
/* Global scope, not tentative, failed DAD or deprecated, on ifindex. */
bool	uplink_kstate_addr_usable(const struct netlink_ifaddr *, int ifindex);
/* The configured gateway, else the best default route of the main table
 * on ifindex; false if neither. *learned tells which. */
bool	uplink_kstate_gateway_of(const struct uplink_kstate *,
	    const struct config_uplink *, int ifindex, int family,
	    struct netlink_ip *gw, bool *learned);
/* A rule "from IP/32 (or /128)": its table. */
bool	uplink_kstate_rule_for(const struct uplink_kstate *,
	    const struct netlink_ip *, uint32_t *table);
bool	uplink_kstate_table_has_default(const struct uplink_kstate *,
	    int family, uint32_t table);
const struct netlink_endpoint *uplink_kstate_ep_for(
	    const struct uplink_kstate *, const struct netlink_ip *);
/* An id in UPLINK_EP_ID_MIN..UPLINK_EP_ID_MAX: mpsocks made it. */
bool	uplink_kstate_ep_ours(const struct netlink_endpoint *);

/* A rtnetlink socket bound to the link, address and route groups, for
 * an event loop; NULL on failure. */
struct mnl_socket *uplink_kernel_monitor_open(void);

#endif

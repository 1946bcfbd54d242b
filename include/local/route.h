#ifndef MPSOCKS_ROUTE_H
#define MPSOCKS_ROUTE_H

/*
 * mpsocks-local's per-connection decision (policy.h): bond opens a tunnel
 * (tunnel_client.h), direct connects from this host, reject refuses. The
 * front ends call route_open() where they opened tunnels, with the same
 * callback: a direct connection comes back as the bufferevent.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "local/policy.h"
#include "proto/target.h"
#include "local/tunnel_client.h"

struct event_base;
struct route;
struct route_open;

/* Takes p (may be NULL: built-in defaults only). NULL on failure. */
struct route		*route_new(struct event_base *, const struct config *,
			    struct tunnel_client *, struct policy *p);
void			 route_free(struct route *);
/* Swaps in a new policy (SIGHUP); connections already open are kept,
 * those still deciding use the new one. Takes p. */
void			 route_set_policy(struct route *, struct policy *p);
/*
 * Decides for t and opens: cb runs once, later (never inside this call),
 * with a SOCKS5 status; reject is REPLY_NOT_ALLOWED. id is the
 * session's, for the log. NULL if nothing could be started.
 */
struct route_open	*route_open(struct route *, uint32_t id,
			    const struct target *, tunnel_open_cb *,
			    void *arg);
/* Abandons an open in progress; its callback will not run. */
void			 route_open_cancel(struct route_open *);

/* Adds this host's own networks (getifaddrs) to p's direct defaults. */
void			 route_add_own_nets(struct policy *p);
/*
 * --explain HOST[:PORT]: the decision for HOST (port 443 if none), with
 * a blocking lookup when a rule needs the address. Returns 0, or 2 if
 * HOST is not a host.
 */
int			 route_explain(const struct policy *, const char *hp,
			    FILE *out);

#endif

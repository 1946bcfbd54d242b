#ifndef MPSOCKS_OUTBOUND_H
#define MPSOCKS_OUTBOUND_H

/*
 * Where one app connection goes next: the policy's decision (policy.h)
 * carried out. Bond opens a tunnel to the concentrator (tunnel_client.h),
 * direct connects from this host, reject refuses. Either way the drivers
 * get one answer through the same callback: the connected bufferevent,
 * or a reply code.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "local/policy.h"
#include "proto/reply.h"
#include "proto/target.h"

struct bufferevent;
struct event_base;
struct tunnel_client;
struct outbound;
struct outbound_req;

/*
 * Called once with the outcome. On REPLY_OK, bev is the connected leg
 * (a tunnel or a direct connection) and the callee owns it; otherwise
 * bev is NULL and why says what went wrong.
 */
typedef void outbound_cb(void *arg, enum reply_code,
	    struct bufferevent *bev, const char *why);

/* Takes p (may be NULL: built-in defaults only). NULL on failure. */
struct outbound		*outbound_new(struct event_base *,
			    const struct config *, struct tunnel_client *,
			    struct policy *p);
void			 outbound_free(struct outbound *);
/* Swaps in a new policy (SIGHUP); connections already open are kept,
 * those still deciding use the new one. Takes p. */
void			 outbound_set_policy(struct outbound *,
			    struct policy *p);
/*
 * Direct connections' second attempts (common/dial.h) count against the
 * descriptors of a connection set that budgets fds_each per connection
 * and counts them in *conns: room is daemon_fd_room(). Until this is
 * called, or after a call with conns NULL, nothing limits them.
 */
void			 outbound_set_fd_budget(struct outbound *,
			    size_t room, unsigned fds_each,
			    const size_t *conns);

/*
 * Optimistic replies: called (with the same arg) when the policy has
 * decided to bond and the tunnel is opening. The driver answers its app
 * now and hands the app's first bytes to outbound_send() (none is fine);
 * the request leaves with them, and cb still runs with the outcome.
 */
typedef void outbound_pending_cb(void *arg);

/*
 * Decides for t and opens: cb runs once, later (never inside this call),
 * with the outcome; reject is REPLY_NOT_ALLOWED. pending (NULL: strict
 * replies) runs before, as above, if the connection bonds. id is the
 * connection's, for the log. NULL if nothing could be started.
 */
struct outbound_req	*outbound_connect(struct outbound *, uint32_t id,
			    const struct target *, outbound_pending_cb *pending,
			    outbound_cb *, void *arg);
/* After pending: the request, and early (up to TUNNEL_EARLY_MAX bytes)
 * right behind it, in one write. False if that could not be done. */
bool			 outbound_send(struct outbound_req *,
			    const void *early, size_t len);
/* Abandons an open in progress; its callback will not run. */
void			 outbound_cancel(struct outbound_req *);

/* Adds this host's own networks (getifaddrs) to p's direct defaults. */
void			 outbound_add_own_nets(struct policy *p);

#endif

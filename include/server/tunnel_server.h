#ifndef MPSOCKS_TUNNEL_SERVER_H
#define MPSOCKS_TUNNEL_SERVER_H

/*
 * The concentrator's end of the tunnel: accept (MPTCP, or TCP that fell
 * back), authenticate, check replay and the destination ACL, resolve,
 * connect, answer, relay.
 */

#include <stddef.h>

#include "common/config.h"
#include "common/keyfile.h"

struct event_base;
struct tunnel_server;

/* Takes the keys; NULL (logged) if a listener or the resolver fails. */
struct tunnel_server	*tunnel_server_new(struct event_base *,
			    const struct config *, struct keyset *);
/* Swaps in a new key set (SIGHUP); open connections keep running. */
void			 tunnel_server_reload_keys(struct tunnel_server *,
			    struct keyset *);
/* Re-reads this host's own addresses, refused as destinations, now
 * rather than at the next periodic check (SIGHUP). Returns how many are
 * known. */
size_t			 tunnel_server_refresh_self(struct tunnel_server *);
/* Pooled tunnels homes opened ahead of need, waiting for a request. */
size_t			 tunnel_server_idle(const struct tunnel_server *);
/* Closes every listener and connection. */
void			 tunnel_server_free(struct tunnel_server *);

#endif

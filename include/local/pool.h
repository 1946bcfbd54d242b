#ifndef MPSOCKS_POOL_H
#define MPSOCKS_POOL_H

/*
 * The warm pool: v2 tunnels opened ahead of need, authenticated, TLS up
 * and their subflows joined, each waiting for the one request it will
 * carry. tunnel_open() takes one (a hit) or opens a tunnel cold (a
 * miss); the pool refills behind it. Its size follows the busiest second
 * of the last minute, between pool_min and pool_max; each tunnel is
 * renewed after about pool_refresh seconds, well before the
 * concentrator's pool_idle_timeout; when tunnels cannot be opened it
 * backs off, from half a second to a minute. docs/protocol.md, "Pooled
 * tunnels".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct config;
struct config_uplinks;
struct event_base;
struct sockaddr_storage;
struct tunnel_client;
struct pool;

#define POOL_STATUS_TUNNELS	16	/* ready tunnels described one by one */

struct pool_tunnel_status {
	char		uplink[32];	/* its initial subflow's [uplink]
					 * name; "": the default route's */
	unsigned	subflows;	/* open at the last reading */
	uint64_t	idle_ms;	/* since it became ready */
};

struct pool_status {
	unsigned	ready, opening;	/* tunnels now */
	unsigned	target;		/* the size it keeps */
	unsigned	subflows;	/* of the ready tunnels, together */
	uint64_t	hits, misses;	/* takes since start */
	uint64_t	opened, failed;	/* tunnels opened, failed to open */
	uint64_t	retry_in_ms;	/* backing off: until the next try */
	/* the oldest ready tunnels, up to POOL_STATUS_TUNNELS of them;
	 * subflows are read each second, as the total is */
	size_t		n_tunnels;
	struct pool_tunnel_status tunnels[POOL_STATUS_TUNNELS];
};

/* ups (may be NULL) are the uplinks initial subflows rotate over. */
struct pool		*pool_new(struct event_base *, struct tunnel_client *,
			    const struct config *,
			    const struct config_uplinks *ups);
void			 pool_free(struct pool *);
/* A ready tunnel (the caller owns it; no callbacks set), its source
 * address and whether it is MPTCP; NULL if none is ready. */
struct bufferevent	*pool_take(struct pool *, struct sockaddr_storage *src,
			    bool *mptcp);
/* A tunnel taken at taken_ms (util_now_ms()) turned out dead before its
 * answer: the concentrator restarted, or closed it unseen. Those ready
 * by then most likely went the same way: they are dropped, and the pool
 * refills. */
void			 pool_dead(struct pool *, uint64_t taken_ms);
/* Counts one tunnel asked for: hit or miss (drives the size). */
void			 pool_count_take(struct pool *, bool hit);
void			 pool_get_status(const struct pool *,
			    struct pool_status *);

#endif

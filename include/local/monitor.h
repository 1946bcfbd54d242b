#ifndef MPSOCKS_MONITOR_H
#define MPSOCKS_MONITOR_H

/*
 * mpsocks-local's view of its tunnels: every open connection's subflows
 * (getsockopt MPTCP_FULL_INFO), read every second and once more at close
 * so that per-uplink byte totals include closed connections; each
 * subflow attributed to the uplink whose interface holds its local
 * address. Also the concentrator's health as tunnel opens see it. Feeds
 * the metrics (common/stats.h) and /api/status. main creates one and
 * passes it to the modules that report to it.
 */

#include <stdbool.h>
#include <stdint.h>

struct config;
struct config_uplinks;
struct event_base;
struct monitor;			/* opaque */
struct monitor_conn;
struct pool;

#define MONITOR_TICK_MS	1000

/* Starts the once-a-second sampling of cfg's concentrator (cfg->server);
 * ups (may be NULL) name the interfaces. cfg and ups must outlive the
 * monitor. NULL if the timer cannot be made. */
struct monitor		*monitor_new(struct event_base *,
			    const struct config *,
			    const struct config_uplinks *ups);
/* Forgets every connection still tracked and frees. NULL is ignored. */
void			 monitor_free(struct monitor *);
/* A tunnel starts relaying; fd is its socket, open until
 * monitor_conn_end. NULL (nothing tracked) if m is NULL or without
 * memory. A socket already tracked gets the same record, held once
 * more: each add is paired with one monitor_conn_end. */
struct monitor_conn	*monitor_conn_add(struct monitor *m, uint32_t id,
			    const char *target, int fd);
/* Reads the subflows now (for instance at a FIN, while they are up). */
void			 monitor_conn_sample(struct monitor_conn *);
/* Forgets the connection, after a last reading if fd is still open.
 * NULL is ignored. */
void			 monitor_conn_end(struct monitor_conn *, bool fd_open);
/* A tunnel open ended: reached says the concentrator answered. m may be
 * NULL. */
void			 monitor_tunnel_result(struct monitor *m, bool reached,
			    uint64_t ms);
/* /api/status as JSON, with the warm pool's figures (pool NULL: the
 * pool is off); malloc'd, NULL on failure. */
char			*monitor_status_json(const struct monitor *,
			    const char *version, const struct pool *pool);

#endif

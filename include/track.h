#ifndef MPSOCKS_TRACK_H
#define MPSOCKS_TRACK_H

/*
 * mpsocks-local's view of its tunnels: every open connection's subflows
 * (getsockopt MPTCP_FULL_INFO), read every second and once more at close
 * so that per-uplink byte totals include closed connections; each
 * subflow attributed to the uplink whose interface holds its local
 * address. Feeds the metrics (stats.h) and /api/status. Part of the
 * process's one stats object, so it is reached without a pointer.
 */

#include <stdbool.h>
#include <stdint.h>

struct config;
struct event_base;
struct track_conn;

#define TRACK_TICK_MS	1000

/* Starts the once-a-second sampling of cfg's concentrator (cfg->server)
 * over cfg's [uplink] sections (which name the interfaces); cfg must
 * outlive the sampling. False if the timer cannot be made. */
bool			 track_start(struct event_base *,
			    const struct config *);
void			 track_stop(void);
/* A tunnel starts relaying; fd is its socket, open until track_conn_end.
 * NULL (nothing tracked) before track_start or without memory. A socket
 * already tracked gets the same record, held once more: each add is
 * paired with one track_conn_end. */
struct track_conn	*track_conn_add(uint32_t id, const char *target,
			    int fd);
/* Reads the subflows now (for instance at a FIN, while they are up). */
void			 track_conn_sample(struct track_conn *);
/* Forgets the connection, after a last reading if fd is still open.
 * NULL is ignored. */
void			 track_conn_end(struct track_conn *, bool fd_open);
/* A tunnel open ended: reached says the concentrator answered. */
void			 track_tunnel_result(bool reached, uint64_t ms);
/* /api/status as JSON; malloc'd, NULL on failure. */
char			*track_status_json(const char *version);
/*
 * The uplink name shown for an interface. Until uplinks are configured
 * ([uplink NAME] sections, issue 6), an uplink is named by its interface.
 */
const char		*uplink_label_for_ifname(const char *ifname);

#endif

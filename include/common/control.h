#ifndef MPSOCKS_CONTROL_H
#define MPSOCKS_CONTROL_H

/*
 * The control port (libevent evhttp): GET /metrics (Prometheus text),
 * GET /api/status (JSON), GET / (the dashboard). Its own listener: it
 * never serves the proxy, and the proxy never serves it. Access rules:
 * docs/metrics.md.
 */

#include "common/config.h"

struct event_base;
struct control;

/* Renders /api/status; malloc'd JSON or NULL. */
typedef char *control_status_fn(void *arg);

/* NULL (logged) if cfg->control_listen cannot be bound. */
struct control	*control_new(struct event_base *, const struct config *,
		    control_status_fn *, void *arg);
/*
 * As the daemons start it: *out is NULL when the port is off, or when
 * the default port (CONFIG_CONTROL_DEFAULT) is taken, which is logged
 * and not fatal (a second mpsocks-local). False if a port that was
 * configured cannot be had.
 */
bool		 control_start(struct event_base *, const struct config *,
		    control_status_fn *, void *arg, struct control **out);
void		 control_free(struct control *);

#endif

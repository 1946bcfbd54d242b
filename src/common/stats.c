/*
 * The process's metrics (names and meaning: docs/metrics.md). Label
 * values come from a fixed set (reply codes) or from interface names the
 * operator chose; never from peers, so series stay few.
 */

#include "common/stats.h"
#include "proto/metrics.h"
#include "proto/util.h"

#include <stddef.h>

struct stats_state {
	struct metrics	*m;
	uint64_t	 start_ms;
	int		 open, total, failed, fallback, auth, dns, connect;
	int		 up_tx, up_rx, conc_tx, conc_rx, relay_bytes;
	int		 sf_open, sf_failed;
	int		 uptime;
	int		 idle;				/* server */
	int		 pool, pool_target, pool_sf, pool_takes;	/* local */
};

/* every family undefined: its hooks do nothing */
#define STATS_NONE { .open = -1, .total = -1, .failed = -1,		\
	.fallback = -1, .auth = -1, .dns = -1, .connect = -1, .up_tx = -1, \
	.up_rx = -1, .conc_tx = -1, .conc_rx = -1, .relay_bytes = -1,	\
	.sf_open = -1, .sf_failed = -1, .uptime = -1, .idle = -1,	\
	.pool = -1, .pool_target = -1, .pool_sf = -1, .pool_takes = -1 }

static struct stats_state	st = STATS_NONE;

/* seconds: a LAN hop to a slow satellite DNS answer */
static const double	lat_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10,
};

void
stats_init(enum config_role role)
{
	struct metrics	*m;

	if (st.m != NULL || (m = metrics_new()) == NULL)
		return;
	st = (struct stats_state)STATS_NONE;	/* a family of the other role
						 * stays undefined */
	st.m = m;
	st.start_ms = util_now_ms();
	st.uptime = metrics_define(m, "mpsocks_uptime_seconds",
	    METRIC_GAUGE, "Seconds since the daemon started.", NULL, NULL, 0);
	st.open = metrics_define(m, "mpsocks_connections_open", METRIC_GAUGE,
	    "Proxied connections open now.", NULL, NULL, 0);
	st.total = metrics_define(m, "mpsocks_connections_total",
	    METRIC_COUNTER, "Connections accepted.", NULL, NULL, 0);
	st.failed = metrics_define(m, "mpsocks_connections_failed_total",
	    METRIC_COUNTER, "Connections that failed before relaying, by "
	    "reason.", "reason", NULL, 0);
	st.fallback = metrics_define(m, "mpsocks_mptcp_fallbacks_total",
	    METRIC_COUNTER, "Tunnel connections that fell back to plain TCP.",
	    NULL, NULL, 0);
	st.relay_bytes = metrics_define(m, "mpsocks_relayed_bytes_total",
	    METRIC_COUNTER, "App bytes relayed by closed connections, by "
	    "direction.", "direction", NULL, 0);
	st.connect = metrics_define(m, "mpsocks_connect_seconds",
	    METRIC_HISTOGRAM, role == CONFIG_LOCAL ?
	    "Time from opening a tunnel to the concentrator's answer." :
	    "Time to connect to the destination.", NULL, lat_buckets,
	    NELEM(lat_buckets));
	if (role == CONFIG_SERVER) {
		st.auth = metrics_define(m, "mpsocks_auth_failures_total",
		    METRIC_COUNTER, "Tunnel requests that failed "
		    "authentication or replay checks.", NULL, NULL, 0);
		st.dns = metrics_define(m, "mpsocks_dns_seconds",
		    METRIC_HISTOGRAM, "Time to resolve a destination name.",
		    NULL, lat_buckets, NELEM(lat_buckets));
		st.idle = metrics_define(m, "mpsocks_idle_tunnels",
		    METRIC_GAUGE, "Tunnels homes opened ahead of need (their "
		    "pools), waiting for a request; part of "
		    "mpsocks_connections_open.", NULL, NULL, 0);
		return;
	}
	st.up_tx = metrics_define(m, "mpsocks_uplink_sent_bytes_total",
	    METRIC_COUNTER, "Tunnel bytes sent (and acknowledged) over each "
	    "uplink's subflows, tunnel header included.", "uplink", NULL, 0);
	st.up_rx = metrics_define(m, "mpsocks_uplink_received_bytes_total",
	    METRIC_COUNTER, "Tunnel bytes received over each uplink's "
	    "subflows, tunnel header included.", "uplink", NULL, 0);
	st.conc_tx = metrics_define(m,
	    "mpsocks_concentrator_sent_bytes_total", METRIC_COUNTER,
	    "Tunnel bytes sent to each concentrator, all subflows.",
	    "concentrator", NULL, 0);
	st.conc_rx = metrics_define(m,
	    "mpsocks_concentrator_received_bytes_total", METRIC_COUNTER,
	    "Tunnel bytes received from each concentrator, all subflows.",
	    "concentrator", NULL, 0);
	st.sf_open = metrics_define(m, "mpsocks_subflows_open", METRIC_GAUGE,
	    "MPTCP subflows open now, per uplink.", "uplink", NULL, 0);
	st.sf_failed = metrics_define(m, "mpsocks_subflows_failed_total",
	    METRIC_COUNTER, "Subflows that closed while their connection "
	    "stayed open, per uplink.", "uplink", NULL, 0);
	st.pool = metrics_define(m, "mpsocks_pool_tunnels", METRIC_GAUGE,
	    "Warm pool: tunnels ready for a request, and tunnels opening.",
	    "state", NULL, 0);
	st.pool_target = metrics_define(m, "mpsocks_pool_target",
	    METRIC_GAUGE, "Warm pool: the size it keeps now (follows the "
	    "connection rate between pool_min and pool_max).", NULL, NULL, 0);
	st.pool_sf = metrics_define(m, "mpsocks_pool_subflows", METRIC_GAUGE,
	    "Warm pool: MPTCP subflows of the ready tunnels, all together.",
	    NULL, NULL, 0);
	st.pool_takes = metrics_define(m, "mpsocks_pool_takes_total",
	    METRIC_COUNTER, "Tunnels asked of the warm pool: hit (a ready "
	    "one taken) or miss (a cold open).", "result", NULL, 0);
}

void
stats_free(void)
{
	metrics_free(st.m);
	st = (struct stats_state)STATS_NONE;
}

struct metrics *
stats_metrics(void)
{
	if (st.m != NULL)
		metrics_set(st.m, st.uptime, NULL, (double)stats_uptime_s());
	return st.m;
}

uint64_t
stats_uptime_s(void)
{
	return st.m ? (util_now_ms() - st.start_ms) / 1000 : 0;
}

void
stats_conn_opened(void)
{
	metrics_add(st.m, st.total, NULL, 1);
	metrics_add(st.m, st.open, NULL, 1);
}

void
stats_conn_closed(void)
{
	metrics_add(st.m, st.open, NULL, -1);
}

void
stats_conn_failed(enum reply_code rep)
{
	metrics_add(st.m, st.failed, reply_label(rep), 1);
}

void
stats_handshake_failed(void)
{
	metrics_add(st.m, st.failed, "handshake", 1);
}

void
stats_mptcp_fallback(void)
{
	metrics_add(st.m, st.fallback, NULL, 1);
}

void
stats_auth_failed(void)
{
	metrics_add(st.m, st.auth, NULL, 1);
}

void
stats_dns_latency(uint64_t ms)
{
	metrics_observe(st.m, st.dns, NULL, (double)ms / 1000);
}

void
stats_connect_latency(uint64_t ms)
{
	metrics_observe(st.m, st.connect, NULL, (double)ms / 1000);
}

void
stats_uplink_bytes(const char *uplink, uint64_t up, uint64_t down)
{
	metrics_add(st.m, st.up_tx, uplink, (double)up);
	metrics_add(st.m, st.up_rx, uplink, (double)down);
}

void
stats_concentrator_bytes(const char *conc, uint64_t up, uint64_t down)
{
	metrics_add(st.m, st.conc_tx, conc, (double)up);
	metrics_add(st.m, st.conc_rx, conc, (double)down);
}

void
stats_relay_bytes(uint64_t up, uint64_t down)
{
	metrics_add(st.m, st.relay_bytes, "up", (double)up);
	metrics_add(st.m, st.relay_bytes, "down", (double)down);
}

void
stats_subflow_failed(const char *uplink)
{
	metrics_add(st.m, st.sf_failed, uplink, 1);
}

void
stats_subflows_open_reset(void)
{
	metrics_reset(st.m, st.sf_open);
}

void
stats_subflows_open(const char *uplink, unsigned n)
{
	metrics_add(st.m, st.sf_open, uplink, n);
}

void
stats_idle_tunnels(int delta)
{
	metrics_add(st.m, st.idle, NULL, delta);
}

void
stats_pool(unsigned ready, unsigned opening, unsigned target,
    unsigned subflows)
{
	metrics_set(st.m, st.pool, "ready", ready);
	metrics_set(st.m, st.pool, "opening", opening);
	metrics_set(st.m, st.pool_target, NULL, target);
	metrics_set(st.m, st.pool_sf, NULL, subflows);
}

void
stats_pool_take(bool hit)
{
	metrics_add(st.m, st.pool_takes, hit ? "hit" : "miss", 1);
}

#ifndef MPSOCKS_STATUS_H
#define MPSOCKS_STATUS_H

/*
 * /api/status: plain snapshot structs rendered as JSON (jansson), and the
 * same JSON read back into the terminal table of `mpsocks-local
 * --status`. Pure: no I/O, no globals. Schema: docs/metrics.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATUS_NAME_MAX		64
#define STATUS_ADDR_MAX		64	/* "[v6]:port" */
#define STATUS_TARGET_MAX	272	/* TARGET_STRLEN */
#define STATUS_MAX_ADDRS	4
#define STATUS_MAX_SUBFLOWS	8
#define STATUS_MAX_TEXT		(4 * 1024 * 1024)	/* JSON we read */
#define STATUS_HISTORY		300	/* seconds of rate history */
#define STATUS_POOL_TUNNELS	16	/* ready tunnels listed one by one */

struct status_subflow {
	unsigned	id;
	char		local[STATUS_ADDR_MAX], remote[STATUS_ADDR_MAX];
	char		uplink[STATUS_NAME_MAX];
	char		state[16];
	uint64_t	bytes_sent, bytes_received;
	uint32_t	rtt_us;
};

struct status_conn {
	uint32_t		id;
	char			target[STATUS_TARGET_MAX];	/* untrusted */
	size_t			target_len;	/* may hold NUL bytes */
	bool			mptcp;
	uint64_t		age_ms, up, down;
	size_t			n_subflows;
	struct status_subflow	subflows[STATUS_MAX_SUBFLOWS];
};

struct status_uplink {
	char		name[STATUS_NAME_MAX], ifname[STATUS_NAME_MAX];
	char		state[16];		/* "up", "down" */
	char		addrs[STATUS_MAX_ADDRS][STATUS_ADDR_MAX];
	size_t		n_addrs;
	uint64_t	bytes_up, bytes_down;
	double		rate_up, rate_down;	/* bytes/s, last interval */
	unsigned	subflows;		/* open now */
	/* down + up bytes/s, one a second, oldest first */
	uint64_t	history[STATUS_HISTORY];
	size_t		n_history;
};

struct status_concentrator {
	char		name[300], addr[STATUS_ADDR_MAX];
	char		health[16];		/* "ok", "failing", "unknown" */
	double		rtt_ms;			/* smoothed; -1 unknown */
	uint64_t	bytes_up, bytes_down;
};

/* A ready tunnel of the warm pool, waiting for its request. */
struct status_pool_tunnel {
	/* the [uplink] of its initial subflow, "" if the route chose */
	char		uplink[STATUS_NAME_MAX];
	unsigned	subflows;	/* at the last reading */
	uint64_t	idle_ms;
};

/* mpsocks-local's warm pool (local/pool.h: struct pool_status). */
struct status_pool {
	bool		enabled;
	unsigned	ready, opening, target, subflows;
	uint64_t	hits, misses, opened, failed, retry_in_ms;
	size_t		n_tunnels;	/* the first of the ready ones */
	struct status_pool_tunnel tunnels[STATUS_POOL_TUNNELS];
};

struct status_snapshot {
	const char			*version, *role;
	uint64_t			 uptime_s;
	size_t				 n_uplinks, n_concentrators, n_conns;
	const struct status_uplink	*uplinks;
	const struct status_concentrator *concentrators;
	const struct status_conn	*conns;
	const struct status_pool	*pool;	/* NULL: no "pool" member */
	bool				 has_idle;	/* server: */
	uint64_t			 idle_tunnels;	/* pooled, waiting */
};

/* The snapshot as compact JSON; malloc'd (free()), NULL on failure. */
char	*status_json_render(const struct status_snapshot *);
/*
 * Reads /api/status JSON (len bytes, need not be NUL-terminated) and
 * renders the terminal table. malloc'd; NULL if the text is not a status
 * object (over STATUS_MAX_TEXT, bad JSON, wrong types). Every string from
 * the input is cleaned of control characters and cut to fit its column.
 */
char	*status_table_render(const char *json, size_t len);

#endif

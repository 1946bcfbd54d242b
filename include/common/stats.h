#ifndef MPSOCKS_STATS_H
#define MPSOCKS_STATS_H

/*
 * The daemon's one stats object: the metrics registry that /metrics
 * renders, and one-line hooks the connection modules call as things
 * happen. Before stats_init() (tools, unit tests) every hook does
 * nothing. Metric reference: docs/metrics.md.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/reply.h"

struct metrics;

void		 stats_init(enum config_role);
void		 stats_free(void);
struct metrics	*stats_metrics(void);
uint64_t	 stats_uptime_s(void);

void	stats_conn_opened(void);		/* accepted */
void	stats_conn_closed(void);
/* A connection refused or failed before relaying, and why. */
void	stats_conn_failed(enum reply_code rep);
/* An app's handshake that never got as far as a request. */
void	stats_handshake_failed(void);
void	stats_mptcp_fallback(void);
void	stats_auth_failed(void);		/* server */
void	stats_dns_latency(uint64_t ms);		/* server */
/* local: tunnel open to the concentrator's answer; server: connect to
 * the destination. */
void	stats_connect_latency(uint64_t ms);
/* Subflow bytes, attributed to an uplink (local). */
void	stats_uplink_bytes(const char *uplink, uint64_t up, uint64_t down);
void	stats_concentrator_bytes(const char *conc, uint64_t up,
	    uint64_t down);
/* Relayed app bytes at close (both daemons). */
void	stats_relay_bytes(uint64_t up, uint64_t down);
void	stats_subflow_failed(const char *uplink);
/* Refills the per-uplink open-subflow gauge. */
void	stats_subflows_open_reset(void);
void	stats_subflows_open(const char *uplink, unsigned n);
/* server: a pooled tunnel started (+1) or stopped (-1) waiting */
void	stats_idle_tunnels(int delta);
/* local: the warm pool now, and one take from it */
void	stats_pool(unsigned ready, unsigned opening, unsigned target,
	    unsigned subflows);
void	stats_pool_take(bool hit);

#endif

#ifndef MPSOCKS_TUNNEL_CLIENT_INT_H
#define MPSOCKS_TUNNEL_CLIENT_INT_H

/*
 * The home end of the tunnel, shared by its two files: tunnel_client.c
 * (the client, dialing, the request, the answer) and tunnel_race.c (a
 * second attempt from another uplink when the first is unanswered, and
 * the watch on a pooled tunnel while its answer is due).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/log.h"
#include "local/tunnel_client.h"
#include "proto/reply.h"
#include "proto/target.h"
#include "proto/tunnel_proto.h"
#include "proto/util.h"

struct event;
struct ssl_ctx_st;

struct tunnel_client {
	struct event_base	*base;
	const struct config	*cfg;
	const struct config_uplinks *ups;
	struct monitor		*mon;
	struct tunnel_key	 key;
	struct ssl_ctx_st	*tls;		/* NULL: encryption = none */
	struct sockaddr_storage	 server;
	socklen_t		 server_len;
	char			 server_str[UTIL_ADDRSTRLEN];
	bool			 warned_no_mptcp;
	struct log_rl		 rl;
	struct pool		*pool;		/* NULL: no warm pool */
};

/*
 * One connection to the concentrator. An open starts with one; when it
 * has had no answer after TUNNEL_RACE_MS and [uplink] sections name other
 * uplinks, another starts from the next uplink's address (its source
 * rule sends it out there): a line that died without the kernel noticing
 * (the modem's link still up) costs a new connection a second, not a
 * timeout. The first attempt to bring an authenticated answer wins.
 */
struct attempt {
	struct tunnel_open	*o;
	struct bufferevent	*bev;
	bool			 mptcp;		/* asked the kernel for it */
	bool			 tfo;		/* sent its header in the SYN */
	bool			 checked;	/* fallback to TCP checked */
	bool			 raced;		/* started by race_next() */
	bool			 pooled;	/* taken from the warm pool */
	bool			 requested;	/* its request is written */
	struct sockaddr_storage	 src;		/* its local address */
	uint8_t			 req_mac[TUNNEL_MAC_LEN];
};

#define TUNNEL_MAX_ATTEMPTS	4

struct tunnel_open {
	struct tunnel_client	*tc;
	struct attempt		 att[TUNNEL_MAX_ATTEMPTS];
	size_t			 n_att;
	struct event		*timer, *race;
	tunnel_open_cb		*cb;
	void			*arg;
	uint64_t		 start_ms;
	struct target		 target;
	/* TUNNEL_OPEN_HOLD: the request waits for tunnel_open_send(),
	 * which brings the app's first bytes to go in the same write */
	bool			 held;
	uint8_t			*early;
	size_t			 early_len;
	bool			 cold_retried;	/* after a dead pooled one */
};


/* tunnel_client.c */
/* One more connection attempt for o, from src if given. */
bool	open_attempt(struct tunnel_open *, bool tfo,
	    const struct sockaddr_storage *src);
void	attempt_drop(struct attempt *, bool abortive);
/* Reports the result and frees o. */
void	open_done(struct tunnel_open *, struct attempt *win,
	    enum reply_code status, const char *why);

/* tunnel_race.c */
/* Arms o's race timer: a watch on a pooled tunnel (hit), or racing when
 * there are other uplinks to race on. False on allocation failure. */
bool	tunnel_race_start(struct tunnel_open *, bool hit);
/* Starts an attempt from an uplink no attempt uses yet. */
bool	race_next(struct tunnel_open *);
/* A pooled attempt that ended before its answer: once, a cold one. */
bool	pooled_retry(struct tunnel_open *, struct attempt *, const char *why);

#endif

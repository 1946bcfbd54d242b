#ifndef MPSOCKS_CONN_H
#define MPSOCKS_CONN_H

/*
 * mpsocks-local's proxy port and the one owner of each app connection on
 * it. A struct conn lives from accept to conn_close(), which writes the
 * connection's one summary line. The protocol drivers learn the target
 * and hand the connection on: socks_session.c (SOCKS5, SOCKS4) and
 * http_session.c (HTTP). The first byte picks the driver: 0x05 or 0x04
 * SOCKS, anything else HTTP.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/config.h"
#include "proto/reply.h"
#include "proto/target.h"
#include "proto/util.h"

struct bufferevent;
struct conns;			/* opaque: the port and its connections */
struct event;
struct event_base;
struct http_session;
struct monitor;
struct monitor_conn;
struct outbound;
struct outbound_req;
struct relay;

/* An EOF from the app this soon after its request is in, before the
 * reply, is a half-close (printf | nc -N): the reply and the relay still
 * happen. Later it is an app giving up (a browser's cancel is a FIN
 * too). Both drivers use it. */
#define CONN_HALFCLOSE_MS	500
/* Optimistic replies: how long the app's first bytes are waited for,
 * after our success reply, to go with the tunnel's request. Apps that
 * speak first (HTTP, TLS) send within a fraction of a millisecond on
 * the LAN; for one whose server speaks first, this is all it costs. */
#define CONN_EARLY_WAIT_MS	10

/* Plain data the drivers read and fill; conn.c owns the lifecycle. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct conns		*set;
	struct event_base	*base;
	const struct config	*cfg;
	struct outbound		*out;
	struct monitor		*mon;		/* may be NULL */
	uint32_t		 id;
	const char		*proto;		/* "socks5", "socks4", "http" */
	unsigned		 state;		/* the driver's own */
	/* the app's connection while a driver holds it; NULL once a relay
	 * or the HTTP session owns it */
	struct bufferevent	*bev;
	struct event		*timer;		/* the driver's deadlines */
	struct event		*early_ev;	/* optimistic: first bytes */
	bool			 optimistic;	/* answered before the tunnel */
	struct outbound_req	*open;		/* a connect in progress */
	struct http_session	*http;
	struct relay		*relay;
	struct monitor_conn	*tk;		/* while relaying */
	uint64_t		 start_ms, up, down;
	uint64_t		 request_ms;	/* when the request was in */
	unsigned		 subflows;	/* most seen open at once */
	unsigned		 requests;	/* HTTP */
	int			 mptcp;		/* of the tunnel: 1, 0, -1 */
	const char		*tls_suite;	/* of the tunnel; NULL: none */
	enum reply_code		 rep;
	bool			 refused;	/* a refusal is being flushed */
	char			 peer[UTIL_ADDRSTRLEN];
	char			 local[UTIL_ADDRSTRLEN];	/* our address */
	char			 target[TARGET_STRLEN];
	char			 user[64];
	struct log_rl		*rl_auth;	/* the port's, for drivers */
};

/* Opens cfg's proxy listeners; NULL (logged) if one cannot be opened.
 * out and mon must outlive the result; mon may be NULL. */
struct conns	*conns_start(struct event_base *, const struct config *,
		    struct outbound *, struct monitor *mon);
/* Closes every listener and connection. NULL is ignored. */
void		 conns_stop(struct conns *);

/*
 * Relays app and tunnel until both sides are done; takes both (the
 * caller NULLs its pointers) and closes c when the relay ends. False if
 * it could not start: c is closed then too. Either way c may be gone
 * when this returns: the caller's last act.
 */
bool		 conn_relay(struct conn *, struct bufferevent *app,
		    struct bufferevent *tunnel);
/* Ends the connection: cancels what is pending, frees what c holds,
 * writes the summary line with reason, frees c. */
void		 conn_close(struct conn *, const char *reason);

#endif

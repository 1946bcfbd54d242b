#ifndef MPSOCKS_TUNNEL_SERVER_INT_H
#define MPSOCKS_TUNNEL_SERVER_INT_H

/*
 * The concentrator's session, shared by its two files: tunnel_server.c
 * (accept, the pre-auth budget, the header or preamble, TLS, the relay,
 * the end) and tunnel_target.c (resolving, the ACL, connecting to the
 * destination, the reply). ts_ is the session's prefix in both.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/dial.h"
#include "common/dns.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/relay.h"
#include "proto/cidr.h"
#include "proto/reply.h"
#include "proto/tunnel_proto.h"
#include "proto/util.h"

struct bufferevent;
struct event;
struct ssl_ctx_st;

/* Before authentication, read at most this much: a header and a little
 * early data (a TLS ClientHello sent with the request). */
#define TS_PREAUTH_MAX		(TUNNEL_MAX_HDR + 16 * 1024)
#define TS_LINGER_S		5	/* after a failure reply */
/* A cold tunnel's request leaves right behind the client's Finished but
 * in its own segment, possibly on another subflow: TLS up with no
 * request yet does not make a pooled tunnel until this has passed. */
#define TS_IDLE_GRACE_MS	1000
#define TS_PREAUTH_LOG_PER_S	5
/* An answer to a request that came with early bytes waits this long
 * for the destination's first bytes (relay_hold_first()). Longer would
 * stall a client whose bytes beyond its early ones (a large upload)
 * wait for the answer. */
#define TS_REPLY_HOLD_MS	20

enum ts_state {
	TS_HEADER, TS_DRAIN, TS_TLS, TS_REQUEST, TS_RESOLVE, TS_CONNECT,
	TS_REPLY_CLOSE, TS_RELAY,
};


struct tsess {
	TAILQ_ENTRY(tsess)	 entry;
	TAILQ_ENTRY(tsess)	 idle_entry;	/* while idle */
	bool			 idle;	/* v2: TLS up, no request yet */
	bool			 idle_wait;	/* TLS up, no request yet: idle
						 * after TS_IDLE_GRACE_MS */
	struct tunnel_server	*srv;
	uint32_t		 id;
	enum ts_state		 state;
	struct bufferevent	*cli, *dst;	/* NULL once the relay has them */
	struct event		*timer;
	struct event		*keyed_ev;	/* waiting for the MPTCP key */
	void			(*when_keyed)(struct tsess *);
	unsigned		 keyed_wait_ms;
	struct dns_req		*dnsq;
	struct dial		*dial;		/* connecting to addrs */
	struct relay		*relay;
	struct tunnel_key	 key;		/* a copy: keys may reload */
	struct tunnel_request	 req;
	uint8_t			 preamble[TUNNEL_PREAMBLE_LEN];	/* v2 */
	struct dns_result	 addrs;
	enum reply_code		 status;
	bool			 mptcp;
	bool			 version_mismatch;	/* for the reply */
	unsigned		 subflows;	/* most seen open at once */
	uint64_t		 up, down;	/* relayed, at its end */
	uint64_t		 start_ms, step_ms;	/* step: dns, connect */
	char			 peer[UTIL_ADDRSTRLEN];
	struct sockaddr_storage	 peer_sa;	/* for the pre-auth budget */
	bool			 preauth_held;	/* counted in srv->preauth */
	const char		*tls_suite;	/* OpenSSL's static name */
	char			 target[TARGET_STRLEN];
};

struct tunnel_server {
	struct event_base	*base;
	const struct config	*cfg;
	struct keyset		 keys;
	struct ssl_ctx_st	*tls;
	struct replay		*replay;
	struct preauth		*preauth;
	struct dns		*dns;
	struct dial_fds		 dial_fds;	/* for second attempts */
	struct listeners	*listeners;
	TAILQ_HEAD(, tsess)	 sessions;
	size_t			 n_sessions;
	/* v2 tunnels a home opened ahead of need (its pool), oldest
	 * first: TLS up, waiting for their request */
	TAILQ_HEAD(, tsess)	 idle;
	size_t			 n_idle;
	size_t			 max_sessions;	/* max_connections, or fewer
						 * if descriptors are short */
	uint32_t		 next_id;
	/* every pre-auth line, auth failures and drops at accept alike: at
	 * most 2 * (TS_PREAUTH_LOG_PER_S + 1) lines in any second */
	struct log_rl		 rl_preauth;
	struct log_rl		 rl_idle;	/* pool_max_per_key reached */
	/* this host's own addresses, refused as destinations (no loops):
	 * getifaddrs() at start, every TS_SELF_REFRESH_S and on SIGHUP */
	struct cidr_list	 self;
	struct event		*self_ev;
};

/* tunnel_server.c */
void	ts_set_state(struct tsess *, enum ts_state);
void	ts_arm(struct tsess *, unsigned seconds);
/* Frees s; the caller's last act. */
void	ts_close(struct tsess *, const char *reason, bool abortive);
/* Runs fn once the client's MPTCP key has arrived (or closes s). */
void	ts_when_keyed(struct tsess *, void (*fn)(struct tsess *));
void	ts_cli_event_cb(struct bufferevent *, short, void *);
extern const struct relay_ops ts_relay_ops;

/* tunnel_target.c */
/* Resolves s->req.target, checks the ACL, connects, answers, relays. */
void	ts_start_target(struct tsess *);
/* The session's timer fired while resolving. */
void	ts_target_timeout(struct tsess *);
/* Answers status, then closes (may free s). */
void	ts_fail(struct tsess *, enum reply_code status,
	    bool version_mismatch, const char *why);

#endif

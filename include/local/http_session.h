#ifndef MPSOCKS_HTTP_SESSION_H
#define MPSOCKS_HTTP_SESSION_H

/*
 * One app connection speaking HTTP/1.x to the proxy: CONNECT tunnels,
 * plain forwarding of absolute-form requests with keep-alive (also to
 * different hosts on one connection), and the PAC file.
 */

#include <stdint.h>

#include "common/config.h"

struct bufferevent;
struct event_base;
struct http_session;
struct monitor;
struct route;

struct http_session_ops {
	/* A CONNECT (or a 101 upgrade) made the connection a tunnel: the
	 * callee relays app and tunnel and owns both. The session is freed
	 * right after. target is for logs. */
	void	(*tunnel)(void *arg, struct bufferevent *app,
		    struct bufferevent *tunnel, const char *target);
	/* The session ended and is freed; the app connection is closed. */
	void	(*closed)(void *arg, const char *reason, uint64_t up,
		    uint64_t down, unsigned requests);
};

/* Takes app (whose input holds the first bytes of a request). id and
 * local ("host:port" the app reached us at) are for logs and the PAC. */
struct http_session	*http_session_start(struct event_base *,
			    const struct config *, struct route *,
			    struct monitor *, struct bufferevent *app,
			    uint32_t id, const char *local, const struct http_session_ops *,
			    void *arg);
/* Ends the session at once; closed is called. */
void			 http_session_stop(struct http_session *,
			    const char *reason);

#endif

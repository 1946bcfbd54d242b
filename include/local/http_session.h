#ifndef MPSOCKS_HTTP_SESSION_H
#define MPSOCKS_HTTP_SESSION_H

/*
 * The HTTP driver of a struct conn (conn.h): HTTP/1.x to the proxy.
 * CONNECT tunnels, plain forwarding of absolute-form requests with
 * keep-alive (also to different hosts on one connection), and the PAC
 * file.
 */

struct bufferevent;
struct conn;
struct http_session;

/* Takes app (whose input holds the first bytes of a request); c owns
 * the session (c->http) until it ends, and the session ends c: with
 * conn_relay() for a tunnel, else conn_close(). NULL without memory. */
struct http_session	*http_session_start(struct conn *c,
			    struct bufferevent *app);
/* Ends the session and its conn at once. */
void			 http_session_stop(struct http_session *,
			    const char *reason);

#endif

#ifndef MPSOCKS_HTTP_SESSION_INT_H
#define MPSOCKS_HTTP_SESSION_INT_H

/*
 * The HTTP driver, shared by its two files: http_session.c (the request
 * head, the tunnel it opens, CONNECT, the session's end) and
 * http_exchange.c (one request and its response relayed: bodies framed
 * both ways, the response head rewritten, the origin's end).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "local/conn.h"
#include "proto/http_frame.h"
#include "proto/target.h"
#include "proto/util.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer;
struct monitor;
struct monitor_conn;
struct outbound;
struct outbound_req;

#define HS_HIGH_WM	(256 * 1024)	/* stop reading a side above this */
#define HS_LOW_WM	(64 * 1024)
#define HS_RESP_HEAD_MAX (64 * 1024)
#define HS_PAC_MAX	2048

enum hs_state { HS_HEAD, HS_OPEN, HS_EXCHANGE, HS_CLOSING };


struct http_session {
	struct event_base		*base;
	const struct config		*cfg;
	struct outbound			*rt;
	struct monitor			*mon;
	struct conn			*c;		/* the owner */
	uint32_t			 id;
	char				 local[UTIL_ADDRSTRLEN];
	enum hs_state			 state;
	struct bufferevent		*app, *up;
	struct target			 up_target;	/* where up goes */
	struct outbound_req		*open;
	struct monitor_conn		*tk;		/* up's subflows */
	struct event			*timer;
	/* the exchange under way */
	struct http_body		 reqb, respb;
	struct http_head_seek		 seek, rseek;	/* heads so far */
	char				*head;		/* rewritten request */
	size_t				 head_len;
	bool				 is_connect, is_head, keep_alive;
	bool				 upgrade_asked;
	bool				 req_done, resp_head_done, resp_done;
	bool				 resp_self_delimited, origin_keep;
	bool				 answered;	/* bytes sent to app */
	/* optimistic CONNECT: 200 sent before the tunnel's answer; the
	 * app's first bytes are awaited (early_ev) to go with the request */
	bool				 optimistic, early_wait;
	struct event			*early_ev;
	bool				 app_eof;
	int				 status;
	struct target			 target;
	char				 target_str[TARGET_STRLEN];
	uint64_t			 up_bytes, down_bytes;
	unsigned			 requests;
};

/* http_session.c */
void	hs_arm(struct http_session *hs, unsigned seconds);
void	hs_close_after_flush(struct http_session *hs);
void	hs_drop_up(struct http_session *hs);
void	hs_fail(struct http_session *hs, int status, const char *why);
void	hs_free(struct http_session *hs, const char *reason, bool abortive);
void	hs_hand_over(struct http_session *hs, struct bufferevent *app,
	    struct bufferevent *tun);
void	hs_next(struct http_session *hs);
void	hs_set_state(struct http_session *hs, enum hs_state new);

/* http_exchange.c */
void	hs_app_write_cb(struct bufferevent *bev, void *arg);
bool	hs_head_ready(struct http_head_seek *s, struct evbuffer *in, size_t max);
void	hs_pump_request(struct http_session *hs);
void	hs_start_exchange(struct http_session *hs);

#endif

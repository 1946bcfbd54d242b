/*
 * The HTTP driver of a struct conn (conn.h). CONNECT becomes a tunnel
 * (handed back to conn_relay()). Absolute-form requests are forwarded
 * one exchange at a time: the head is rewritten to origin form, the body
 * relayed as framed by http-parser, the response head rewritten and its
 * body relayed up to the end the framing gives, so that the connection
 * can carry the next request, to the same origin over the same tunnel or
 * to another one over a new tunnel.
 *
 * Forwarding keeps its own copy loop rather than relay.c's: relay.c moves
 * bytes until EOF, while each forwarded exchange must stop at the end of
 * its message as the framing gives it, so that the app's connection can
 * take its next request (maybe for another origin, over another tunnel)
 * and the response head can be rewritten on its way.
 *
 * Framing is proto/http_frame.c's, strict, for both bodies; the response
 * head is read by http_response_rewrite(), never by http-parser, so that
 * a body the origin announces where none may be (HEAD, 1xx, 204, 304)
 * is never taken for one: bytes after such a head end the origin
 * connection and never reach the app.
 */

#include "local/http_session.h"
#include "local/conn.h"
#include "proto/http_frame.h"
#include "proto/http_proxy.h"
#include "proto/http_rewrite.h"
#include "proto/http_response.h"
#include "common/linger.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "proto/pac.h"
#include "common/relay.h"
#include "local/outbound.h"
#include "local/tunnel_client.h"
#include "proto/tunnel_proto.h"
#include "local/monitor.h"
#include "proto/util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HS_HIGH_WM	(256 * 1024)	/* stop reading a side above this */
#define HS_LOW_WM	(64 * 1024)
#define HS_RESP_HEAD_MAX (64 * 1024)
#define HS_PAC_MAX	2048

enum hs_state { HS_HEAD, HS_OPEN, HS_EXCHANGE, HS_CLOSING };

static const char *const state_names[] = {
	[HS_HEAD] = "head", [HS_OPEN] = "open", [HS_EXCHANGE] = "exchange",
	[HS_CLOSING] = "closing",
};

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

static void	hs_next(struct http_session *);
static void	hs_app_read_cb(struct bufferevent *, void *);

static void
hs_set_state(struct http_session *hs, enum hs_state new)
{
	log_debug("s=%08x event=state from=http_%s to=http_%s", hs->id,
	    state_names[hs->state], state_names[new]);
	hs->state = new;
}

static void
hs_arm(struct http_session *hs, unsigned seconds)
{
	evtimer_add(hs->timer, (&(struct timeval){ .tv_sec = seconds }));
}

static void
hs_drop_up(struct http_session *hs)
{
	monitor_conn_end(hs->tk, hs->up != NULL);	/* its last reading */
	hs->tk = NULL;
	if (hs->up != NULL)
		bufferevent_free(hs->up);
	hs->up = NULL;
}

/* Frees hs. Unless the app connection was handed over as a tunnel, it
 * is closed and so is the conn, with reason. */
static void
hs_free(struct http_session *hs, const char *reason, bool abortive)
{
	struct conn	*c = NULL;

	if (hs->open != NULL)
		outbound_cancel(hs->open);
	if (abortive && hs->up != NULL)
		mptcp_set_abortive(bufferevent_getfd(hs->up));
	hs_drop_up(hs);
	if (hs->app != NULL) {
		if (abortive)
			mptcp_set_abortive(bufferevent_getfd(hs->app));
		bufferevent_free(hs->app);
		c = hs->c;
		c->http = NULL;
		c->up += hs->up_bytes;
		c->down += hs->down_bytes;
		c->requests = hs->requests;
	}
	event_free(hs->timer);
	if (hs->early_ev != NULL)
		event_free(hs->early_ev);
	free(hs->head);
	free(hs);
	if (c != NULL)
		conn_close(c, reason);
}

/*
 * The app's connection becomes a plain tunnel (a CONNECT, or a 101
 * upgrade): the conn relays app and tun from here, and hs is freed. The
 * relay starts first so that it takes over tun's monitor record, which
 * hs_free() then lets go of: counting tun afresh would count its bytes
 * twice.
 */
static void
hs_hand_over(struct http_session *hs, struct bufferevent *app,
    struct bufferevent *tun)
{
	struct conn	*c = hs->c;

	hs->app = NULL;
	bufferevent_setcb(app, NULL, NULL, NULL, NULL);
	bufferevent_setcb(tun, NULL, NULL, NULL, NULL);
	c->http = NULL;
	c->requests = hs->requests;
	c->up += hs->up_bytes;
	c->down += hs->down_bytes;
	snprintf(c->target, sizeof(c->target), "%s", hs->target_str);
	(void)conn_relay(c, app, tun);	/* may close c: hs is apart */
	hs_free(hs, "tunnel", false);
}

void
http_session_stop(struct http_session *hs, const char *reason)
{
	hs_free(hs, reason, true);
}

static void
hs_closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	hs_free(arg, "done", (what & BEV_EVENT_ERROR) != 0);
}

static void
hs_close_after_flush(struct http_session *hs)
{
	if (hs->open != NULL) {		/* its answer has no use now */
		outbound_cancel(hs->open);
		hs->open = NULL;
	}
	hs_set_state(hs, HS_CLOSING);
	hs_drop_up(hs);
	linger_start(hs->app, hs_closing_event_cb, hs);
	hs_arm(hs, 5);
}

/* Answers the app with a whole response; keep says whether the
 * connection then takes the next request. */
static void
hs_respond(struct http_session *hs, int status, const char *extra,
    const char *ctype, const char *body, bool keep)
{
	char	buf[HS_PAC_MAX + 512], def[128];
	int	n;

	if (body == NULL) {
		snprintf(def, sizeof(def), "%d %s\n", status,
		    http_status_reason(status));
		body = def;
		ctype = "text/plain";
	}
	hs->status = status;
	hs->requests++;
	n = http_build_response(status, extra, ctype, body, strlen(body),
	    keep, buf, sizeof(buf));
	if (n < 0 || bufferevent_write(hs->app, buf, (size_t)n) == -1) {
		hs_free(hs, "out of memory", true);
		return;
	}
	log_info("s=%08x event=http status=%d target=%s", hs->id, status,
	    hs->target_str[0] ? hs->target_str : "-");
	if (!keep) {
		hs_close_after_flush(hs);
		return;
	}
	hs_next(hs);
}

static void
hs_fail(struct http_session *hs, int status, const char *why)
{
	log_info("s=%08x event=http_fail status=%d target=%s why=\"%s\"",
	    hs->id, status, hs->target_str[0] ? hs->target_str : "-", why);
	if (hs->answered) {		/* mid-response: all we can do */
		hs_free(hs, why, true);
		return;
	}
	hs_respond(hs, status, NULL, NULL, NULL, false);
}

/* The exchange is over when both messages are. */
static void
hs_check_done(struct http_session *hs)
{
	if (!hs->req_done || !hs->resp_done)
		return;
	hs->requests++;
	log_info("s=%08x event=http status=%d target=%s", hs->id,
	    hs->status, hs->target_str);
	if (!hs->origin_keep)
		hs_drop_up(hs);
	if (!hs->keep_alive || !hs->resp_self_delimited || hs->app_eof) {
		hs_close_after_flush(hs);
		return;
	}
	hs_next(hs);
}

/*
 * Moves what the framing b says is its body from in to out, without
 * linearising in. Returns the framing's verdict; *n: bytes moved.
 */
static enum parse_result
hs_body_move(struct http_body *b, struct evbuffer *in, struct evbuffer *out,
    size_t *n)
{
	struct evbuffer_iovec	 v[16];
	struct evbuffer_ptr	 pos;
	enum parse_result	 r = b->done ? PARSE_OK : PARSE_NEED_MORE;
	size_t			 used;
	int			 nv;

	*n = 0;
	while (r == PARSE_NEED_MORE && *n < evbuffer_get_length(in)) {
		evbuffer_ptr_set(in, &pos, *n, EVBUFFER_PTR_SET);
		nv = evbuffer_peek(in, -1, &pos, v, (int)NELEM(v));
		for (int i = 0; i < MIN(nv, (int)NELEM(v)) &&
		    r == PARSE_NEED_MORE; i++) {
			r = http_body_feed(b, v[i].iov_base, v[i].iov_len,
			    &used);
			*n += used;
		}
	}
	if (*n > 0 && evbuffer_remove_buffer(in, out, *n) != (int)*n)
		return PARSE_ERROR;
	return r;
}

/* Moves request body bytes the framing says are ours to the origin. */
static void
hs_pump_request(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->app);
	size_t		 n;
	enum parse_result r;

	if (hs->req_done || evbuffer_get_length(in) == 0)
		return;
	r = hs_body_move(&hs->reqb, in, bufferevent_get_output(hs->up), &n);
	if (r == PARSE_ERROR) {
		hs_fail(hs, 400, hs->reqb.why != NULL ? hs->reqb.why :
		    "out of memory");
		return;
	}
	hs->req_done = r == PARSE_OK;
	if (hs->req_done)
		bufferevent_disable(hs->app, EV_READ);	/* next one waits */
	else if (evbuffer_get_length(bufferevent_get_output(hs->up)) >=
	    HS_HIGH_WM)
		bufferevent_disable(hs->app, EV_READ);
	hs_check_done(hs);
}

/*
 * Feeds the bytes of in not yet seen to the head seeker: true when a
 * head parser should look (a head may be complete, or is malformed, or
 * max bytes are in). Each byte is looked at once however the head
 * trickles in; nothing is linearised or allocated before that.
 */
static bool
hs_head_ready(struct http_head_seek *s, struct evbuffer *in, size_t max)
{
	struct evbuffer_iovec	v[16];
	struct evbuffer_ptr	pos;
	size_t			len = MIN(evbuffer_get_length(in), max);
	int			nv;

	while (s->off < len) {
		evbuffer_ptr_set(in, &pos, s->off, EVBUFFER_PTR_SET);
		nv = evbuffer_peek(in, (ssize_t)(len - s->off), &pos, v,
		    (int)NELEM(v));
		for (int i = 0; i < MIN(nv, (int)NELEM(v)); i++)
			if (http_head_seek(s, v[i].iov_base,
			    MIN(v[i].iov_len, len - s->off)))
				return true;
	}
	return len >= max;
}

/* The origin's response head: rewritten, then the body is relayed. */
static bool
hs_response_head(struct http_session *hs, struct evbuffer *in)
{
	size_t				 len = MIN(evbuffer_get_length(in),
					    HS_RESP_HEAD_MAX), outn;
	char				*out;
	struct http_response_info	 info;
	enum parse_result		 r;
	const uint8_t			*buf;

	if (!hs_head_ready(&hs->rseek, in, HS_RESP_HEAD_MAX))
		return false;
	buf = evbuffer_pullup(in, (ssize_t)len);
	if ((out = malloc(len + 256)) == NULL) {
		hs_fail(hs, 502, "out of memory");
		return false;
	}
	r = http_response_rewrite(buf, len, HS_RESP_HEAD_MAX,
	    (hs->is_head ? HTTP_RESP_HEAD : 0) |
	    (hs->keep_alive ? HTTP_RESP_KEEP : 0) |
	    (hs->upgrade_asked ? HTTP_RESP_UPGRADE : 0), out, len + 256,
	    &outn, &info);
	if (r == PARSE_NEED_MORE) {
		free(out);
		return false;
	}
	if (r != PARSE_OK) {
		free(out);
		hs_fail(hs, 502, "bad response head from the origin");
		return false;
	}
	hs->status = info.status;
	hs->answered = true;
	if (bufferevent_write(hs->app, out, outn) == -1) {
		free(out);
		hs_free(hs, "out of memory", true);
		return false;
	}
	free(out);
	hs->down_bytes += info.used;
	if (info.upgrade) {		/* a WebSocket: now a plain tunnel */
		struct bufferevent *up = hs->up;

		evbuffer_drain(in, info.used);
		hs->up = NULL;		/* the relay's, record and all */
		hs->requests++;
		hs_hand_over(hs, hs->app, up);
		return false;
	}
	evbuffer_drain(in, info.used);
	memset(&hs->rseek, 0, sizeof(hs->rseek));	/* offsets moved */
	if (info.informational)		/* 100 Continue: the real one follows */
		return true;
	hs->resp_head_done = true;
	hs->resp_self_delimited = info.self_delimited;
	hs->origin_keep = info.origin_keep_alive;
	http_body_init(&hs->respb, info.body, info.length);
	hs->resp_done = hs->respb.done;
	return true;
}

static void
hs_pump_response(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->up);
	size_t		 n;

	while (!hs->resp_head_done && evbuffer_get_length(in) > 0)
		if (!hs_response_head(hs, in))
			return;		/* needs more, or hs is gone */
	if (!hs->resp_done && evbuffer_get_length(in) > 0) {
		enum parse_result r = hs_body_move(&hs->respb, in,
		    bufferevent_get_output(hs->app), &n);

		hs->down_bytes += n;
		if (r == PARSE_ERROR) {	/* the head is out: only a close */
			log_info("s=%08x event=http_fail target=%s why=\"%s\"",
			    hs->id, hs->target_str, hs->respb.why != NULL ?
			    hs->respb.why : "out of memory");
			hs_free(hs, "bad response body", true);
			return;
		}
		hs->resp_done = r == PARSE_OK;
	}
	if (hs->resp_done && evbuffer_get_length(in) > 0)
		hs->origin_keep = false;	/* bytes beyond the response */
	if (evbuffer_get_length(bufferevent_get_output(hs->app)) >=
	    HS_HIGH_WM)
		bufferevent_disable(hs->up, EV_READ);
	hs_check_done(hs);
}

static void
hs_up_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	hs_arm(hs, hs->cfg->idle_timeout);
	if (hs->state != HS_EXCHANGE) {	/* an idle origin said something */
		hs_drop_up(hs);
		return;
	}
	hs_pump_response(hs);
}

static void
hs_up_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state == HS_EXCHANGE && !hs->req_done && !hs->app_eof)
		bufferevent_enable(hs->app, EV_READ);
}

static void
hs_app_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state == HS_EXCHANGE && hs->up != NULL && !hs->resp_done)
		bufferevent_enable(hs->up, EV_READ);
}

static void
hs_up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state != HS_EXCHANGE) {	/* an idle origin went away */
		hs_drop_up(hs);
		return;
	}
	if ((what & BEV_EVENT_EOF) && hs->resp_head_done && !hs->resp_done) {
		/* a body that ends with the connection */
		hs->origin_keep = false;
		hs_drop_up(hs);
		if (hs->respb.kind == HTTP_BODY_CLOSE) {
			hs->resp_done = true;
			hs->req_done = true;	/* nowhere to send */
			hs_check_done(hs);
			return;
		}
		if (hs->answered) {	/* cut short: the app must see it */
			hs_free(hs, "origin closed mid-body", true);
			return;
		}
	}
	hs_fail(hs, 502, what & BEV_EVENT_EOF ? "origin closed early" :
	    "origin connection error");
}

static void
hs_app_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	/* Once the request is under way an EOF is a half-close. While the
	 * tunnel opens it is one too if it came with the request (a script's
	 * printf | nc -N); later it means the app gave up (browsers cancel
	 * often). A CONNECT's relay, reading the app again, sees the EOF and
	 * forwards it; a forwarded request is answered, then closed. */
	if ((what & BEV_EVENT_EOF) && hs->req_done &&
	    (hs->state == HS_EXCHANGE || (hs->state == HS_OPEN &&
	    !(what & BEV_EVENT_ERROR) &&
	    util_now_ms() - hs->c->request_ms <= CONN_HALFCLOSE_MS))) {
		if (hs->state == HS_OPEN)
			log_debug("s=%08x event=client_eof_before_reply",
			    hs->id);
		hs->app_eof = true;	/* answer, then close */
		return;
	}
	hs_free(hs, what & BEV_EVENT_EOF ? "client closed" : "client error",
	    (what & BEV_EVENT_ERROR) != 0);
}

static void
hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_session	*hs = arg;

	(void)fd;
	(void)what;
	if (hs->state == HS_CLOSING) {
		hs_free(hs, "done", false);
		return;
	}
	if (hs->state == HS_HEAD && hs->requests > 0 &&
	    evbuffer_get_length(bufferevent_get_input(hs->app)) == 0) {
		hs_free(hs, "keep-alive idle", false);
		return;
	}
	hs_fail(hs, 504, "timeout");
}

/* Sends the rewritten head, then relays both ways. */
static void
hs_start_exchange(struct http_session *hs)
{
	hs_set_state(hs, HS_EXCHANGE);
	bufferevent_setcb(hs->up, hs_up_read_cb, hs_up_write_cb,
	    hs_up_event_cb, hs);
	bufferevent_setwatermark(hs->up, EV_WRITE, HS_LOW_WM, 0);
	/* (gone already if it left with the tunnel's request) */
	if (hs->head != NULL) {
		if (bufferevent_write(hs->up, hs->head, hs->head_len) == -1) {
			hs_fail(hs, 502, "out of memory");
			return;
		}
		hs->up_bytes += hs->head_len;
		free(hs->head);
		hs->head = NULL;
	}
	bufferevent_enable(hs->up, EV_READ | EV_WRITE);
	/* a request without a body is whole: what the app pipelines after it
	 * waits, up to a cap, until this exchange is over */
	bufferevent_setwatermark(hs->app, EV_READ, 0,
	    hs->req_done ? HS_HIGH_WM : 0);
	bufferevent_enable(hs->app, EV_READ | EV_WRITE);
	hs_arm(hs, hs->cfg->idle_timeout);
	/* the origin's first bytes may have come with the tunnel's answer
	 * (the concentrator sends them together): no read event will say
	 * so */
	if (evbuffer_get_length(bufferevent_get_input(hs->up)) > 0)
		bufferevent_trigger(hs->up, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	hs_pump_request(hs);		/* body bytes already here */
}

static void
hs_tunnel_cb(void *arg, enum reply_code status, struct bufferevent *tun,
    const char *why)
{
	struct http_session	*hs = arg;
	char			 buf[64];
	int			 n;

	hs->open = NULL;
	if (status != REPLY_OK) {
		hs->c->rep = status;
		if (hs->optimistic) {
			/* the app has its 200: a reset is all that is left
			 * to tell it (strict_replies keeps the status) */
			log_info("s=%08x event=tunnel_fail target=%s rep=%u "
			    "why=\"%s\"", hs->id, hs->target_str, status, why);
			hs_free(hs, "tunnel failed after an optimistic reply",
			    true);
			return;
		}
		hs_fail(hs, reply_http_status(status), why);
		return;
	}
	if (hs->is_connect) {
		struct bufferevent *app = hs->app;

		n = http_connect_established(buf, sizeof(buf));
		if (!hs->optimistic && (n < 0 ||
		    bufferevent_write(app, buf, (size_t)n) == -1)) {
			bufferevent_free(tun);
			hs_free(hs, "out of memory", true);
			return;
		}
		hs->status = 200;
		hs->requests++;
		log_info("s=%08x event=http method=CONNECT status=200 "
		    "target=%s", hs->id, hs->target_str);
		hs_hand_over(hs, app, tun);
		return;
	}
	hs->up = tun;
	hs->tk = monitor_conn_add(hs->mon, hs->id, hs->target_str,
	    bufferevent_getfd(tun));
	hs->up_target = hs->target;
	hs_start_exchange(hs);
}

static bool
same_target(const struct target *a, const struct target *b)
{
	return a->atyp == b->atyp && a->port == b->port &&
	    (a->atyp == TARGET_DOMAIN ? strcasecmp(a->name, b->name) == 0 :
	    memcmp(a->addr, b->addr, a->atyp == TARGET_IPV4 ? 4 : 16) == 0);
}

/* Optimistic CONNECT: the app's first bytes (or none, after the wait)
 * leave with the tunnel's request. */
static void
hs_early_send(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->app);
	size_t		 n = MIN(evbuffer_get_length(in), TUNNEL_EARLY_MAX);

	evtimer_del(hs->early_ev);
	hs->early_wait = false;
	if (!outbound_send(hs->open, n > 0 ? evbuffer_pullup(in,
	    (ssize_t)n) : NULL, n)) {
		hs_free(hs, "cannot send the request", true);
		return;
	}
	evbuffer_drain(in, n);
	hs->up_bytes += n;
	log_debug("s=%08x event=early bytes=%zu", hs->id, n);
}

static void
hs_early_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hs_early_send(arg);
}

/*
 * The policy bonds. A forwarded request's head leaves with the tunnel's
 * request (what the app then hears is still the origin's answer, or our
 * 502). A CONNECT, unless strict_replies, is answered 200 now and its
 * first bytes go with the request (docs/protocol.md, "Optimistic
 * replies").
 */
static void
hs_pending_cb(void *arg)
{
	struct http_session	*hs = arg;
	char			 buf[64];
	int			 n;

	if (!hs->is_connect) {
		bool	with_head = hs->head != NULL &&
			    hs->head_len <= TUNNEL_EARLY_MAX;

		if (!outbound_send(hs->open, with_head ? hs->head : NULL,
		    with_head ? hs->head_len : 0)) {
			hs_fail(hs, 502, "cannot send the request");
			return;
		}
		if (with_head) {
			hs->up_bytes += hs->head_len;
			free(hs->head);
			hs->head = NULL;
		}
		return;
	}
	if (hs->early_ev == NULL && (hs->early_ev = evtimer_new(hs->base,
	    hs_early_timer_cb, hs)) == NULL) {
		hs_free(hs, "out of memory", true);
		return;
	}
	n = http_connect_established(buf, sizeof(buf));
	if (n < 0 || bufferevent_write(hs->app, buf, (size_t)n) == -1) {
		hs_free(hs, "out of memory", true);
		return;
	}
	hs->optimistic = hs->answered = true;
	if (evbuffer_get_length(bufferevent_get_input(hs->app)) > 0) {
		hs_early_send(hs);
		return;
	}
	hs->early_wait = true;
	evtimer_add(hs->early_ev, (&(struct timeval){ 0,
	    CONN_EARLY_WAIT_MS * 1000 }));
}

/* A request head is in: check it, then open or reuse a tunnel. */
static void
hs_request(struct http_session *hs, struct http_request *req)
{
	const struct config	*cfg = hs->cfg;

	hs->target = req->target;
	if (req->is_pac)
		snprintf(hs->target_str, sizeof(hs->target_str),
		    "/proxy.pac");
	else
		target_str(&req->target, hs->target_str,
		    sizeof(hs->target_str));
	/* the conn's summary names the last target */
	snprintf(hs->c->target, sizeof(hs->c->target), "%s", hs->target_str);
	hs->keep_alive = req->keep_alive;
	hs->is_connect = req->is_connect;
	hs->is_head = req->method == HTTP_HEAD;
	hs->upgrade_asked = req->websocket_upgrade;
	if (cfg->n_users > 0 && (!req->has_basic_auth ||
	    !config_user_ok(cfg, req->user, strlen(req->user), req->pass,
	    strlen(req->pass)))) {
		log_warnx_rl(hs->c->rl_auth, "s=%08x event=auth_fail "
		    "proto=http user=\"%.64s\"", hs->id,
		    req->has_basic_auth ? req->user : "");
		hs_respond(hs, 407, "Proxy-Authenticate: Basic "
		    "realm=\"mpsocks\"\r\n", NULL, NULL, false);
		return;
	}
	if (req->is_pac) {
		char pac[HS_PAC_MAX];

		evbuffer_drain(bufferevent_get_input(hs->app), req->used);
		if (pac_build(hs->local, pac, sizeof(pac)) < 0) {
			hs_respond(hs, 500, NULL, NULL, NULL, false);
			return;
		}
		hs_respond(hs, 200, NULL, "application/x-ns-proxy-autoconfig",
		    pac, req->keep_alive);
		return;
	}
	if (!req->is_connect) {
		hs->head = malloc(req->used + 1024);
		if (hs->head == NULL) {
			hs_respond(hs, 500, NULL, NULL, NULL, false);
			return;
		}
		int n = http_rewrite_request(req, NULL, hs->head,
		    req->used + 1024);
		if (n < 0) {
			hs_respond(hs, 400, NULL, NULL, NULL, false);
			return;
		}
		hs->head_len = (size_t)n;
	}
	/* req's header fields point into the buffer: drain only now */
	evbuffer_drain(bufferevent_get_input(hs->app), req->used);
	/* Keep reading, up to a cap, to notice an app that gives up while
	 * the tunnel opens; the bytes wait in the buffer. */
	bufferevent_setwatermark(hs->app, EV_READ, 0, HS_HIGH_WM);
	if (!req->is_connect && hs->up != NULL &&
	    same_target(&hs->up_target, &req->target)) {
		hs_start_exchange(hs);		/* keep-alive to the origin */
		return;
	}
	hs_drop_up(hs);
	hs->c->request_ms = util_now_ms();	/* for a half-close */
	hs_set_state(hs, HS_OPEN);
	hs_arm(hs, cfg->connect_timeout + cfg->handshake_timeout + 1);
	hs->open = outbound_connect(hs->rt, hs->id, &req->target,
	    req->is_connect && cfg->strict_replies ? NULL : hs_pending_cb,
	    hs_tunnel_cb, hs);
	if (hs->open == NULL)
		hs_fail(hs, 502, "cannot open a tunnel");
}

static void
hs_app_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 max = hs->cfg->http_head_max;
	size_t			 len = MIN(evbuffer_get_length(in), max);
	struct http_request	*req;
	enum parse_result	 r;
	const uint8_t		*buf;

	if (hs->early_wait) {
		hs_early_send(hs);
		return;
	}
	if (hs->state == HS_EXCHANGE) {
		hs_arm(hs, hs->cfg->idle_timeout);
		hs_pump_request(hs);
		return;
	}
	if (hs->state != HS_HEAD || len == 0 ||
	    !hs_head_ready(&hs->seek, in, max))
		return;			/* no head end yet: nothing to parse */
	if ((req = malloc(sizeof(*req))) == NULL) {
		hs_free(hs, "out of memory", true);
		return;
	}
	buf = evbuffer_pullup(in, (ssize_t)len);
	r = http_parse_request(buf, len, max, req);
	if (r == PARSE_NEED_MORE) {
		free(req);
		return;
	}
	if (r != PARSE_OK) {
		log_info("s=%08x event=http_bad_request status=%d why=\"%s\"",
		    hs->id, req->status, req->why);
		hs_respond(hs, req->status, NULL, NULL, NULL, false);
		free(req);
		return;
	}
	/* http_parse_request() refused ambiguous framing already */
	http_body_init(&hs->reqb, req->chunked ? HTTP_BODY_CHUNKED :
	    req->has_content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE,
	    req->content_length);
	hs->req_done = hs->reqb.done;
	memset(&hs->rseek, 0, sizeof(hs->rseek));
	hs_request(hs, req);	/* may free hs; req stays ours */
	util_wipe(req, sizeof(*req));
	free(req);
}

/* Ready for the next request on this connection. */
static void
hs_next(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->app);

	hs->req_done = hs->resp_done = hs->resp_head_done = false;
	hs->answered = false;
	memset(&hs->seek, 0, sizeof(hs->seek));
	bufferevent_setwatermark(hs->app, EV_READ, 0, 0);
	hs->status = 0;
	hs->target_str[0] = '\0';
	hs_set_state(hs, HS_HEAD);
	if (hs->up != NULL)		/* notice an idle origin closing */
		bufferevent_enable(hs->up, EV_READ);
	bufferevent_enable(hs->app, EV_READ | EV_WRITE);
	/* the next head, once begun, must come as fast as a first one:
	 * an idle connection is closed by the same timer (hs_timeout_cb) */
	hs_arm(hs, hs->cfg->handshake_timeout);
	/* a pipelined request is already here: no read event will come */
	if (evbuffer_get_length(in) > 0)
		bufferevent_trigger(hs->app, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

struct http_session *
http_session_start(struct conn *c, struct bufferevent *app)
{
	struct http_session	*hs;
	const struct config	*cfg = c->cfg;

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	if ((hs->timer = evtimer_new(c->base, hs_timeout_cb, hs)) == NULL) {
		free(hs);
		return NULL;
	}
	hs->c = c;
	hs->base = c->base;
	hs->cfg = cfg;
	hs->rt = c->out;
	hs->mon = c->mon;
	hs->id = c->id;
	snprintf(hs->local, sizeof(hs->local), "%s", c->local);
	hs->app = app;
	bufferevent_setcb(app, hs_app_read_cb, hs_app_write_cb,
	    hs_app_event_cb, hs);
	bufferevent_setwatermark(app, EV_WRITE, HS_LOW_WM, 0);
	bufferevent_enable(app, EV_READ | EV_WRITE);
	hs_arm(hs, cfg->handshake_timeout);
	/* the first bytes are already here */
	bufferevent_trigger(app, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
	return hs;
}

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

#include "local/http_session_int.h"

static const char *const state_names[] = {
	[HS_HEAD] = "head", [HS_OPEN] = "open", [HS_EXCHANGE] = "exchange",
	[HS_CLOSING] = "closing",
};

static void	hs_app_read_cb(struct bufferevent *, void *);

void
hs_set_state(struct http_session *hs, enum hs_state new)
{
	log_debug("s=%08x event=state from=http_%s to=http_%s", hs->id,
	    state_names[hs->state], state_names[new]);
	hs->state = new;
}

void
hs_arm(struct http_session *hs, unsigned seconds)
{
	evtimer_add(hs->timer, (&(struct timeval){ .tv_sec = seconds }));
}

void
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
void
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
void
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

void
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

void
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
void
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

/*
 * SOCKS5 and SOCKS4 on a struct conn: parse each step with the pure
 * codecs (proto/socks5.h, proto/socks4.h), ask the outbound module for
 * the target, answer in the app's protocol, then hand both legs to
 * conn_relay(). A refusal is flushed, then the connection closed.
 */

#include "local/conn.h"
#include "local/outbound.h"
#include "local/socks_session.h"
#include "common/linger.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/stats.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "proto/tunnel_proto.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <string.h>

#define SOCKS_LINGER_S	5		/* to flush an error reply */
#define SOCKS_EARLY_MAX	(64 * 1024)	/* app bytes held before the reply */

enum socks_state {
	S_GREETING, S_AUTH, S_REQUEST, S_SOCKS4, S_CONNECT, S_REPLY_CLOSE,
	S_RELAY, S_EARLY,
};

static const char *const state_names[] = {
	[S_GREETING] = "greeting", [S_AUTH] = "auth",
	[S_REQUEST] = "request", [S_SOCKS4] = "socks4",
	[S_CONNECT] = "connect", [S_REPLY_CLOSE] = "reply_close",
	[S_RELAY] = "relay", [S_EARLY] = "early",
};

static void	socks_read_cb(struct bufferevent *, void *);

static void
socks_set_state(struct conn *c, enum socks_state new)
{
	log_debug("s=%08x event=state from=%s to=%s", c->id,
	    state_names[c->state], state_names[new]);
	c->state = new;
}

static void
socks_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if ((c->state == S_CONNECT || c->state == S_EARLY) &&
	    (what & BEV_EVENT_EOF) &&
	    !(what & BEV_EVENT_ERROR) &&
	    util_now_ms() - c->request_ms <= CONN_HALFCLOSE_MS) {
		/* The request is in and the app shut its write side with
		 * it: the reply and the relay still happen, and the relay,
		 * reading this socket again, sees the EOF and forwards it.
		 * XXX on the wire a FIN cannot tell a half-close from a
		 * close; the time since the request does, for the apps that
		 * do either (scripts at once, browsers after a timeout). */
		log_debug("s=%08x event=client_eof_before_reply", c->id);
		return;
	}
	conn_close(c, c->state == S_REPLY_CLOSE ? "refused" :
	    what & BEV_EVENT_EOF ? "client closed" : "client error");
}

/* Sends the last bytes of a failed handshake, then closes. */
static void
socks_fail(struct conn *c, const uint8_t *msg, size_t len, const char *why)
{
	log_debug("s=%08x event=refuse why=\"%s\"", c->id, why);
	if (bufferevent_write(c->bev, msg, len) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	socks_set_state(c, S_REPLY_CLOSE);
	c->refused = true;
	evtimer_add(c->timer, (&(struct timeval){ .tv_sec = SOCKS_LINGER_S }));
	linger_start(c->bev, socks_event_cb, c);
}

/* The app's answer to its request, in its protocol. Returns the length
 * written to out. */
static size_t
socks_build_reply(const struct conn *c, enum reply_code rep,
    uint8_t out[SOCKS5_REPLY_MAX])
{
	if (strcmp(c->proto, "socks4") == 0) {
		socks4_build_reply(rep == REPLY_OK ? SOCKS4_REP_GRANTED :
		    SOCKS4_REP_REJECTED, out);
		return SOCKS4_REPLY_LEN;
	}
	return socks5_build_reply(rep, NULL, out);
}

static void
request_fail(struct conn *c, enum reply_code rep, const char *why)
{
	uint8_t	buf[SOCKS5_REPLY_MAX];
	size_t	n = socks_build_reply(c, rep, buf);

	c->rep = rep;
	stats_conn_failed(rep);
	socks_fail(c, buf, n, why);
}

static void
connected_cb(void *arg, enum reply_code status, struct bufferevent *leg,
    const char *why)
{
	struct conn		*c = arg;
	struct bufferevent	*app = c->bev;
	uint8_t			 buf[SOCKS5_REPLY_MAX];
	size_t			 n;

	c->open = NULL;
	if (status != REPLY_OK) {
		log_info("s=%08x event=tunnel_fail target=%s rep=%u why=\"%s\"",
		    c->id, c->target, status, why);
		if (c->optimistic) {
			/* the app heard success: a reset is all that is
			 * left to tell it (strict_replies keeps the code) */
			c->rep = status;
			stats_conn_failed(status);
			mptcp_set_abortive(bufferevent_getfd(app));
			conn_close(c, "tunnel failed after an optimistic reply");
			return;
		}
		request_fail(c, status, why);
		return;
	}
	if (c->optimistic) {
		socks_set_state(c, S_RELAY);
		c->bev = NULL;
		conn_relay(c, app, leg);	/* may free c */
		return;
	}
	n = socks_build_reply(c, REPLY_OK, buf);
	if (bufferevent_write(app, buf, n) == -1) {
		bufferevent_free(leg);
		conn_close(c, "out of memory");
		return;
	}
	socks_set_state(c, S_RELAY);
	c->bev = NULL;			/* the relay's now */
	conn_relay(c, app, leg);	/* may free c */
}

/* Optimistic: the app's first bytes (or none, after the wait) go with
 * the tunnel's request; the rest waits for the relay. */
static void
early_send(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 n = MIN(evbuffer_get_length(in), TUNNEL_EARLY_MAX);

	evtimer_del(c->early_ev);
	socks_set_state(c, S_CONNECT);
	bufferevent_setcb(c->bev, socks_read_cb, NULL, socks_event_cb, c);
	if (!outbound_send(c->open, n > 0 ? evbuffer_pullup(in,
	    (ssize_t)n) : NULL, n)) {
		mptcp_set_abortive(bufferevent_getfd(c->bev));
		conn_close(c, "cannot send the request");
		return;
	}
	evbuffer_drain(in, n);
	c->up += n;		/* the relay counts only what follows */
	log_debug("s=%08x event=early bytes=%zu", c->id, n);
}

static void
early_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	early_send(arg);
}

static void
early_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	early_send(arg);
}

/* The policy bonds: answer success now, and let the app's first bytes
 * leave with the request (docs/protocol.md, "Optimistic replies"). */
static void
pending_cb(void *arg)
{
	struct conn	*c = arg;
	uint8_t		 buf[SOCKS5_REPLY_MAX];
	size_t		 n = socks_build_reply(c, REPLY_OK, buf);

	if (c->early_ev == NULL &&
	    (c->early_ev = evtimer_new(c->base, early_timer_cb, c)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	if (bufferevent_write(c->bev, buf, n) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	c->optimistic = true;
	socks_set_state(c, S_EARLY);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		early_send(c);		/* sent with its request */
		return;
	}
	bufferevent_setcb(c->bev, early_read_cb, NULL, socks_event_cb, c);
	evtimer_add(c->early_ev, (&(struct timeval){ 0,
	    CONN_EARLY_WAIT_MS * 1000 }));
}

/* The request is parsed: connect, then answer the app (or, optimistic,
 * answer as soon as the connection is known to bond). */
static void
socks_connect(struct conn *c, const struct target *t)
{
	target_str(t, c->target, sizeof(c->target));
	log_debug("s=%08x event=request target=%s", c->id, c->target);
	/* Bytes the app sends before our reply stay queued for the relay,
	 * up to a cap; reading goes on so that an app giving up is seen
	 * and its tunnel abandoned, not kept until the concentrator answers */
	bufferevent_setwatermark(c->bev, EV_READ, 0, SOCKS_EARLY_MAX);
	evtimer_del(c->timer);		/* the connect has its own */
	c->request_ms = util_now_ms();
	socks_set_state(c, S_CONNECT);
	c->open = outbound_connect(c->out, c->id, t,
	    c->cfg->strict_replies ? NULL : pending_cb, connected_cb, c);
	if (c->open == NULL)
		request_fail(c, REPLY_GENERAL, "cannot open a tunnel");
}

static void
step_request(struct conn *c, struct evbuffer *in)
{
	size_t			len = MIN(evbuffer_get_length(in),
				    SOCKS5_MAX_REQUEST);
	struct socks5_request	req;
	enum parse_result	r;

	r = socks5_parse_request(evbuffer_pullup(in, (ssize_t)len), len,
	    &req);
	if (r == PARSE_NEED_MORE && len < SOCKS5_MAX_REQUEST)
		return;
	if (r != PARSE_OK) {
		request_fail(c, r == PARSE_ERROR ? req.rep : REPLY_GENERAL,
		    "bad request");
		return;
	}
	evbuffer_drain(in, req.used);
	socks_connect(c, &req.target);
}

static void
step_auth(struct conn *c, struct evbuffer *in)
{
	size_t			len = MIN(evbuffer_get_length(in),
				    SOCKS5_MAX_USERPASS);
	struct socks5_userpass	up;
	enum parse_result	r;
	static const uint8_t	ok[2] = { SOCKS5_AUTH_VERSION, 0 };
	static const uint8_t	bad[2] = { SOCKS5_AUTH_VERSION, 1 };

	r = socks5_parse_userpass(evbuffer_pullup(in, (ssize_t)len), len,
	    &up);
	if (r == PARSE_NEED_MORE && len < SOCKS5_MAX_USERPASS)
		return;
	if (r != PARSE_OK) {
		socks_fail(c, bad, sizeof(bad), "bad auth message");
		return;
	}
	evbuffer_drain(in, up.used);
	util_printable((const uint8_t *)up.user, up.user_len, c->user,
	    sizeof(c->user));
	if (!config_user_ok(c->cfg, up.user, up.user_len, up.pass,
	    up.pass_len)) {
		log_warnx_rl(c->rl_auth, "s=%08x event=auth_fail "
		    "user=\"%s\" peer=%s", c->id, c->user, c->peer);
		util_wipe(&up, sizeof(up));
		socks_fail(c, bad, sizeof(bad), "wrong credentials");
		return;
	}
	util_wipe(&up, sizeof(up));
	if (bufferevent_write(c->bev, ok, sizeof(ok)) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	socks_set_state(c, S_REQUEST);
	step_request(c, in);
}

static void
step_greeting(struct conn *c, struct evbuffer *in)
{
	size_t			 len = MIN(evbuffer_get_length(in),
				    SOCKS5_MAX_GREETING);
	struct socks5_greeting	 g;
	enum parse_result	 r;
	uint8_t			 reply[2] = { SOCKS5_VERSION, 0 };

	r = socks5_parse_greeting(evbuffer_pullup(in, (ssize_t)len), len, &g);
	if (r == PARSE_NEED_MORE && len < SOCKS5_MAX_GREETING)
		return;
	if (r != PARSE_OK) {
		/* not SOCKS5: say nothing a SOCKS4 or HTTP client would
		 * misread, just close */
		conn_close(c, "not socks5");
		return;
	}
	evbuffer_drain(in, g.used);
	reply[1] = socks5_choose_method(&g, c->cfg->n_users > 0);
	if (reply[1] == SOCKS5_METHOD_REFUSED) {
		socks_fail(c, reply, sizeof(reply), "no acceptable method");
		return;
	}
	if (bufferevent_write(c->bev, reply, sizeof(reply)) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	if (reply[1] == SOCKS5_METHOD_USERPASS) {
		socks_set_state(c, S_AUTH);
		step_auth(c, in);
	} else {
		socks_set_state(c, S_REQUEST);
		step_request(c, in);
	}
}

static void
step_socks4(struct conn *c, struct evbuffer *in)
{
	size_t			len = MIN(evbuffer_get_length(in),
				    SOCKS4_MAX_REQUEST);
	struct socks4_request	req;
	enum parse_result	r;

	r = socks4_parse_request(evbuffer_pullup(in, (ssize_t)len), len,
	    &req);
	if (r == PARSE_NEED_MORE && len < SOCKS4_MAX_REQUEST)
		return;
	if (r != PARSE_OK) {
		request_fail(c, REPLY_GENERAL, "bad socks4 request");
		return;
	}
	evbuffer_drain(in, req.used);
	if (c->cfg->n_users > 0) {
		/* SOCKS4 carries no password: it cannot pass the check */
		log_warnx_rl(c->rl_auth, "s=%08x event=auth_fail "
		    "why=socks4_has_no_password peer=%s", c->id, c->peer);
		request_fail(c, REPLY_NOT_ALLOWED, "socks4 without auth");
		return;
	}
	socks_connect(c, &req.target);
}

static void
socks_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	switch (c->state) {
	case S_GREETING:
		step_greeting(c, in);
		break;
	case S_SOCKS4:
		step_socks4(c, in);
		break;
	case S_AUTH:
		step_auth(c, in);
		break;
	case S_REQUEST:
		step_request(c, in);
		break;
	default:
		break;
	}
}

void
socks_session_start(struct conn *c, uint8_t first)
{
	bool	v4 = first == SOCKS4_VERSION;

	c->proto = v4 ? "socks4" : "socks5";
	c->state = v4 ? S_SOCKS4 : S_GREETING;
	bufferevent_setcb(c->bev, socks_read_cb, NULL, socks_event_cb, c);
	socks_read_cb(c->bev, c);
}

/*
 * mpsocks-local's proxy port: one session per app connection, one
 * function per protocol step. The first byte picks the protocol: 0x05
 * SOCKS5, 0x04 SOCKS4/4a, anything else HTTP (http_session.c). BIND and
 * UDP ASSOCIATE are answered with "command not supported" (0x07).
 */

#include "local/frontend.h"
#include "local/http_session.h"
#include "common/linger.h"
#include "common/listener.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/relay.h"
#include "local/route.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "common/stats.h"
#include "local/monitor.h"
#include "local/tunnel_client.h"
#include "proto/tunnel_proto.h"
#include "proto/cidr.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#define FE_LINGER_S	5	/* to flush an error reply */
#define FE_EARLY_MAX	(64 * 1024)	/* app bytes held before the reply */

enum fe_state {
	S_GREETING, S_AUTH, S_REQUEST, S_SOCKS4, S_TUNNEL, S_REPLY_CLOSE,
	S_RELAY, S_HTTP,
};

static const char *const state_names[] = {
	[S_GREETING] = "greeting", [S_AUTH] = "auth",
	[S_REQUEST] = "request", [S_SOCKS4] = "socks4",
	[S_TUNNEL] = "tunnel", [S_REPLY_CLOSE] = "reply_close",
	[S_RELAY] = "relay", [S_HTTP] = "http",
};

enum fe_proto { P_SOCKS5, P_SOCKS4 };

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct frontend		*fe;
	uint32_t		 id;
	enum fe_state		 state;
	enum fe_proto		 proto;
	struct bufferevent	*bev;		/* NULL once the relay has it */
	struct event		*timer;
	struct route_open	*open;
	struct relay		*relay;
	struct http_session	*http;
	struct monitor_conn	*tk;		/* while relaying */
	uint64_t		 start_ms;
	unsigned		 subflows;	/* most seen open at once */
	uint8_t			 rep;
	char			 peer[UTIL_ADDRSTRLEN];
	char			 target[TARGET_STRLEN];
	char			 user[64];
};

struct frontend {
	struct event_base	*base;
	const struct config	*cfg;
	struct route		*rt;
	struct monitor		*mon;
	struct listeners	*listeners;
	TAILQ_HEAD(, session)	 sessions;
	size_t			 n_sessions;
	uint32_t		 next_id;
	struct log_rl		 rl_accept, rl_auth;
};

static void
session_set_state(struct session *s, enum fe_state new)
{
	log_debug("s=%08x event=state from=%s to=%s", s->id,
	    state_names[s->state], state_names[new]);
	s->state = new;
}

static void
session_free(struct session *s)
{
	TAILQ_REMOVE(&s->fe->sessions, s, entry);
	s->fe->n_sessions--;
	stats_conn_closed();
	monitor_conn_end(s->tk, false);
	if (s->open != NULL)
		route_open_cancel(s->open);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	event_free(s->timer);
	free(s);
}

/* Ends a session that never reached the relay. Frees s. */
static void
session_close(struct session *s, const char *reason)
{
	log_info("s=%08x event=close reason=\"%s\" peer=%s target=%s rep=%u "
	    "ms=%" PRIu64, s->id, reason, s->peer,
	    s->target[0] ? s->target : "-", s->rep,
	    util_now_ms() - s->start_ms);
	session_free(s);
}

/* Subflows close before the connection does: sample while they are up. */
static void
session_sample_subflows(void *arg, int fd_app, int fd_tunnel)
{
	struct session			*s = arg;
	struct mptcp_subflow_stats	 sf;

	(void)fd_app;
	if (mptcp_subflow_stats(fd_tunnel, &sf))
		s->subflows = MAX(s->subflows, sf.n);
	monitor_conn_sample(s->tk);
}

static void
session_relay_closed(void *arg, const char *reason, int fd_app,
    int fd_tunnel, const struct relay_stats *st)
{
	struct session	*s = arg;
	int		 mp = mptcp_is_active(fd_tunnel);

	session_sample_subflows(s, fd_app, fd_tunnel);
	log_info("s=%08x event=close reason=\"%s\" peer=%s target=%s rep=0 "
	    "mptcp=%s subflows=%u up=%" PRIu64 " down=%" PRIu64
	    " ms=%" PRIu64, s->id, reason, s->peer, s->target,
	    mp == 1 ? "yes" : "no", s->subflows, st->a_to_b, st->b_to_a,
	    util_now_ms() - s->start_ms);
	stats_relay_bytes(st->a_to_b, st->b_to_a);
	monitor_conn_end(s->tk, true);	/* its last reading */
	s->tk = NULL;
	s->relay = NULL;
	session_free(s);
}

static const struct relay_ops session_relay_ops = {
	.half_closed = session_sample_subflows,
	.closed = session_relay_closed,
};

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	session_close(s, s->state == S_REPLY_CLOSE ? "refused" :
	    what & BEV_EVENT_EOF ? "client closed" : "client error");
}

/* Sends the last bytes of a failed handshake, then closes. */
static void
session_fail(struct session *s, const uint8_t *msg, size_t len,
    const char *why)
{
	log_debug("s=%08x event=refuse why=\"%s\"", s->id, why);
	if (bufferevent_write(s->bev, msg, len) == -1) {
		session_close(s, "out of memory");
		return;
	}
	session_set_state(s, S_REPLY_CLOSE);
	evtimer_add(s->timer, (&(struct timeval){ .tv_sec = FE_LINGER_S }));
	linger_start(s->bev, event_cb, s);
}

/* The app's answer to its request, in its protocol; rep is a SOCKS5
 * reply code. Returns the length written to out. */
static size_t
session_build_reply(const struct session *s, enum reply_code rep,
    uint8_t out[SOCKS5_REPLY_MAX])
{
	if (s->proto == P_SOCKS4) {
		socks4_build_reply(rep == REPLY_OK ? SOCKS4_REP_GRANTED :
		    SOCKS4_REP_REJECTED, out);
		return SOCKS4_REPLY_LEN;
	}
	return socks5_build_reply(rep, NULL, out);
}

static void
request_fail(struct session *s, enum reply_code rep, const char *why)
{
	uint8_t	buf[SOCKS5_REPLY_MAX];
	size_t	n = session_build_reply(s, rep, buf);

	s->rep = rep;
	stats_conn_failed(rep);
	session_fail(s, buf, n, why);
}

static void
tunnel_done_cb(void *arg, enum reply_code status, struct bufferevent *tbev,
    const char *why)
{
	struct session	*s = arg;
	uint8_t		 buf[SOCKS5_REPLY_MAX];
	size_t		 n;

	s->open = NULL;
	if (status != REPLY_OK) {
		log_info("s=%08x event=tunnel_fail target=%s rep=%u why=\"%s\"",
		    s->id, s->target, status, why);
		request_fail(s, status, why);
		return;
	}
	n = session_build_reply(s, REPLY_OK, buf);
	if (bufferevent_write(s->bev, buf, n) == -1) {
		bufferevent_free(tbev);
		session_close(s, "out of memory");
		return;
	}
	evtimer_del(s->timer);
	session_set_state(s, S_RELAY);
	s->tk = monitor_conn_add(s->fe->mon, s->id, s->target,
	    bufferevent_getfd(tbev));
	s->relay = relay_start(s->fe->base, s->bev, tbev,
	    s->fe->cfg->idle_timeout, &session_relay_ops, s);
	s->bev = NULL;			/* the relay owns it */
	if (s->relay == NULL)
		session_close(s, "out of memory");
}

/* The request is parsed: open the tunnel, then answer the app. */
static void
session_open_tunnel(struct session *s, const struct target *t)
{
	target_str(t, s->target, sizeof(s->target));
	log_debug("s=%08x event=request target=%s", s->id, s->target);
	/* Bytes the app sends before our reply stay queued for the relay,
	 * up to a cap; reading goes on so that an app giving up is seen
	 * and its tunnel abandoned, not kept until the concentrator answers */
	bufferevent_setwatermark(s->bev, EV_READ, 0, FE_EARLY_MAX);
	evtimer_del(s->timer);		/* the tunnel open has its own */
	session_set_state(s, S_TUNNEL);
	s->open = route_open(s->fe->rt, s->id, t, tunnel_done_cb, s);
	if (s->open == NULL)
		request_fail(s, REPLY_GENERAL, "cannot open a tunnel");
}

static void
step_request(struct session *s, struct evbuffer *in)
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
		request_fail(s, r == PARSE_ERROR ? req.rep :
		    REPLY_GENERAL, "bad request");
		return;
	}
	evbuffer_drain(in, req.used);
	session_open_tunnel(s, &req.target);
}

static void
step_auth(struct session *s, struct evbuffer *in)
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
		session_fail(s, bad, sizeof(bad), "bad auth message");
		return;
	}
	evbuffer_drain(in, up.used);
	util_printable((const uint8_t *)up.user, up.user_len, s->user,
	    sizeof(s->user));
	if (!config_user_ok(s->fe->cfg, up.user, up.user_len, up.pass,
	    up.pass_len)) {
		log_warnx_rl(&s->fe->rl_auth, "s=%08x event=auth_fail "
		    "user=\"%s\" peer=%s", s->id, s->user, s->peer);
		util_wipe(&up, sizeof(up));
		session_fail(s, bad, sizeof(bad), "wrong credentials");
		return;
	}
	util_wipe(&up, sizeof(up));
	if (bufferevent_write(s->bev, ok, sizeof(ok)) == -1) {
		session_close(s, "out of memory");
		return;
	}
	session_set_state(s, S_REQUEST);
	step_request(s, in);
}

static void
step_greeting(struct session *s, struct evbuffer *in)
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
		session_close(s, "not socks5");
		return;
	}
	evbuffer_drain(in, g.used);
	reply[1] = socks5_choose_method(&g, s->fe->cfg->n_users > 0);
	if (reply[1] == SOCKS5_METHOD_REFUSED) {
		session_fail(s, reply, sizeof(reply), "no acceptable method");
		return;
	}
	if (bufferevent_write(s->bev, reply, sizeof(reply)) == -1) {
		session_close(s, "out of memory");
		return;
	}
	if (reply[1] == SOCKS5_METHOD_USERPASS) {
		session_set_state(s, S_AUTH);
		step_auth(s, in);
	} else {
		session_set_state(s, S_REQUEST);
		step_request(s, in);
	}
}

static void
step_socks4(struct session *s, struct evbuffer *in)
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
		request_fail(s, REPLY_GENERAL, "bad socks4 request");
		return;
	}
	evbuffer_drain(in, req.used);
	if (s->fe->cfg->n_users > 0) {
		/* SOCKS4 carries no password: it cannot pass the check */
		log_warnx_rl(&s->fe->rl_auth, "s=%08x event=auth_fail "
		    "why=socks4_has_no_password peer=%s", s->id, s->peer);
		request_fail(s, REPLY_NOT_ALLOWED, "socks4 without auth");
		return;
	}
	session_open_tunnel(s, &req.target);
}

static void
http_tunnel_cb(void *arg, struct bufferevent *app, struct bufferevent *tun,
    const char *target)
{
	struct session	*s = arg;

	s->http = NULL;
	snprintf(s->target, sizeof(s->target), "%s", target);
	session_set_state(s, S_RELAY);
	s->tk = monitor_conn_add(s->fe->mon, s->id, s->target,
	    bufferevent_getfd(tun));
	s->relay = relay_start(s->fe->base, app, tun,
	    s->fe->cfg->idle_timeout, &session_relay_ops, s);
	if (s->relay == NULL)
		session_close(s, "out of memory");
}

static void
http_closed_cb(void *arg, const char *reason, uint64_t up, uint64_t down,
    unsigned requests)
{
	struct session	*s = arg;

	s->http = NULL;
	log_info("s=%08x event=close reason=\"%s\" peer=%s proto=http "
	    "requests=%u up=%" PRIu64 " down=%" PRIu64 " ms=%" PRIu64, s->id,
	    reason, s->peer, requests, up, down, util_now_ms() - s->start_ms);
	session_free(s);
}

static const struct http_session_ops http_ops = {
	.tunnel = http_tunnel_cb,
	.closed = http_closed_cb,
};

/* Anything but SOCKS is taken for HTTP; http_session owns it from here. */
static void
session_start_http(struct session *s)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			local[UTIL_ADDRSTRLEN] = "127.0.0.1:1080";

	if (getsockname(bufferevent_getfd(s->bev), (struct sockaddr *)&ss,
	    &sl) == 0)
		util_sockaddr_str((struct sockaddr *)&ss, local,
		    sizeof(local));
	evtimer_del(s->timer);
	session_set_state(s, S_HTTP);
	s->http = http_session_start(s->fe->base, s->fe->cfg, s->fe->rt,
	    s->fe->mon,
	    s->bev, s->id, local, &http_ops, s);
	if (s->http == NULL) {
		session_close(s, "out of memory");
		return;
	}
	s->bev = NULL;			/* the HTTP session owns it */
}

/* The first byte tells the protocol. */
static void
step_first(struct session *s, struct evbuffer *in)
{
	uint8_t	first;

	evbuffer_copyout(in, &first, 1);
	switch (first) {
	case SOCKS5_VERSION:
		step_greeting(s, in);
		break;
	case SOCKS4_VERSION:
		s->proto = P_SOCKS4;
		session_set_state(s, S_SOCKS4);
		step_socks4(s, in);
		break;
	default:
		session_start_http(s);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	switch (s->state) {
	case S_GREETING:
		step_first(s, in);
		break;
	case S_SOCKS4:
		step_socks4(s, in);
		break;
	case S_AUTH:
		step_auth(s, in);
		break;
	case S_REQUEST:
		step_request(s, in);
		break;
	default:
		break;
	}
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	if (s->state != S_REPLY_CLOSE)
		stats_handshake_failed();
	session_close(s, s->state == S_REPLY_CLOSE ? "refused" :
	    "handshake timeout");
}

static bool
client_allowed(const struct config *cfg, const struct sockaddr *sa)
{
	struct cidr	lo4, lo6;

	if (cfg->allow_clients.n == 0)
		return true;	/* config_validate() made this loopback-only
				 * or password-protected */
	cidr_parse("127.0.0.0/8", &lo4);
	cidr_parse("::1/128", &lo6);
	return cidr_contains(&lo4, sa) || cidr_contains(&lo6, sa) ||
	    cidr_list_contains(&cfg->allow_clients, sa);
}

static void
accept_cb(void *arg, int fd, struct sockaddr *sa, int salen)
{
	struct frontend	*fe = arg;
	struct session	*s;
	char		 peer[UTIL_ADDRSTRLEN];

	(void)salen;
	if (!client_allowed(fe->cfg, sa)) {
		log_warnx_rl(&fe->rl_accept, "event=accept_refused peer=%s "
		    "why=not_in_allow_client", util_sockaddr_str(sa, peer,
		    sizeof(peer)));
		close(fd);
		return;
	}
	if (fe->n_sessions >= fe->cfg->max_connections ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx_rl(&fe->rl_accept, "event=accept_drop why=%s",
		    fe->n_sessions >= fe->cfg->max_connections ?
		    "max_connections" : "no_memory");
		close(fd);
		return;
	}
	s->fe = fe;
	s->id = ++fe->next_id;
	s->start_ms = util_now_ms();
	util_sockaddr_str(sa, s->peer, sizeof(s->peer));
	s->bev = bufferevent_socket_new(fe->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	s->timer = evtimer_new(fe->base, timeout_cb, s);
	TAILQ_INSERT_TAIL(&fe->sessions, s, entry);
	fe->n_sessions++;
	stats_conn_opened();
	if (s->bev == NULL || s->timer == NULL) {
		if (s->bev == NULL)
			close(fd);
		session_close(s, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
	bufferevent_enable(s->bev, EV_READ);
	evtimer_add(s->timer,
	    (&(struct timeval){ .tv_sec = fe->cfg->handshake_timeout }));
}

struct frontend *
frontend_new(struct event_base *base, const struct config *cfg,
    struct route *rt, struct monitor *mon)
{
	struct frontend	*fe;

	if ((fe = calloc(1, sizeof(*fe))) == NULL)
		return NULL;
	TAILQ_INIT(&fe->sessions);
	fe->base = base;
	fe->cfg = cfg;
	fe->rt = rt;
	fe->mon = mon;
	fe->listeners = listeners_open(base,
	    (const char (*)[CONFIG_ADDR_MAX])cfg->listen, cfg->n_listen, false,
	    "proxy (SOCKS5, SOCKS4, HTTP)", accept_cb, fe);
	if (fe->listeners == NULL)
		goto fail;
	return fe;
fail:
	frontend_free(fe);
	return NULL;
}

void
frontend_free(struct frontend *fe)
{
	struct session	*s;

	if (fe == NULL)
		return;
	listeners_free(fe->listeners);
	while ((s = TAILQ_FIRST(&fe->sessions)) != NULL) {
		if (s->relay != NULL)
			relay_stop(s->relay, "shutdown");	/* frees s */
		else if (s->http != NULL)
			http_session_stop(s->http, "shutdown");	/* frees s */
		else
			session_close(s, "shutdown");
	}
	free(fe);
}

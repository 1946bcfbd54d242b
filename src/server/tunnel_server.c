/*
 * The concentrator's end of the tunnel (docs/protocol.md).
 *
 * Nothing is sent and nothing is relayed before the request header's (or
 * in v2 the preamble's) MAC, timestamp and nonce check out. A connection
 * that fails them is read and discarded until the handshake deadline,
 * then closed: a prober sees the same silence as from a client that
 * never sent a byte. In v2, TLS starts only then, and the request and
 * the reply travel inside it.
 */

#include "server/tunnel_server.h"
#include "tunnel_server_int.h"
#include "common/dns.h"
#include "common/daemon.h"
#include "common/linger.h"
#include "common/listener.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/relay.h"
#include "common/stats.h"
#include "common/tls.h"
#include "server/preauth.h"
#include "server/replay.h"
#include "proto/tunnel_proto.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>


static const char *const state_names[] = {
	[TS_HEADER] = "header", [TS_DRAIN] = "drain", [TS_TLS] = "tls",
	[TS_REQUEST] = "request",
	[TS_RESOLVE] = "resolve", [TS_CONNECT] = "connect",
	[TS_REPLY_CLOSE] = "reply_close", [TS_RELAY] = "relay",
};

void
ts_set_state(struct tsess *s, enum ts_state new)
{
	log_debug("c=%08x event=state from=%s to=%s", s->id,
	    state_names[s->state], state_names[new]);
	s->state = new;
}

void
ts_arm(struct tsess *s, unsigned seconds)
{
	evtimer_add(s->timer, (&(struct timeval){ .tv_sec = seconds }));
}

/*
 * The pre-auth deadline, drawn once at accept from [handshake_timeout/2,
 * handshake_timeout]: a prober that sends nothing, garbage, a bad MAC, a
 * replay or a ClientHello is reset at such a moment, whatever it sent,
 * so neither the close nor its timing tells what the server made of it.
 */
static void
ts_arm_preauth(struct tsess *s, uint32_t rnd)
{
	uint64_t	full = (uint64_t)s->srv->cfg->handshake_timeout * 1000;
	uint64_t	ms = full / 2 + rnd % (full - full / 2 + 1);

	evtimer_add(s->timer, (&(struct timeval){
	    .tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)(ms % 1000 * 1000) }));
}

/* The session leaves the pre-auth budget: authenticated, or gone. */
static void
ts_preauth_release(struct tsess *s)
{
	if (!s->preauth_held)
		return;
	s->preauth_held = false;
	if (!preauth_release(s->srv->preauth, (struct sockaddr *)&s->peer_sa))
		log_warnx("c=%08x event=bug what=preauth_release", s->id);
}

/*
 * A v2 tunnel whose TLS is up and whose request has not come: a home's
 * pooled tunnel. It waits up to pool_idle_timeout, apart from the live
 * ones; one key holds at most pool_max_per_key of them, and a new one
 * past that closes that key's oldest (the home refreshes its pool), so
 * a key holder cannot park descriptors here without bound.
 */
static void
ts_idle_start(struct tsess *s)
{
	if (s->srv->cfg->pool_max_per_key == 0) {	/* pooling off here */
		ts_close(s, "pooled tunnels off (pool_max_per_key = 0)", false);
		return;
	}
	struct tunnel_server	*srv = s->srv;
	struct tsess		*o, *oldest = NULL;
	size_t			 mine = 0;

	TAILQ_FOREACH(o, &srv->idle, idle_entry)
		if (strcmp(o->key.name, s->key.name) == 0) {
			if (oldest == NULL)
				oldest = o;
			mine++;
		}
	s->idle = true;
	TAILQ_INSERT_TAIL(&srv->idle, s, idle_entry);
	srv->n_idle++;
	stats_idle_tunnels(1);
	evtimer_del(s->timer);
	ts_arm(s, srv->cfg->pool_idle_timeout);
	if (mine >= srv->cfg->pool_max_per_key && oldest != NULL) {
		log_warnx_rl(&srv->rl_idle, "c=%08x event=idle_cap client=%s "
		    "idle=%zu max=%u: closing its oldest idle tunnel",
		    s->id, s->key.name, mine + 1, srv->cfg->pool_max_per_key);
		ts_close(oldest, "idle tunnels over pool_max_per_key", false);
	}
}

static void
ts_idle_end(struct tsess *s)
{
	if (!s->idle)
		return;
	s->idle = false;
	TAILQ_REMOVE(&s->srv->idle, s, idle_entry);
	s->srv->n_idle--;
	stats_idle_tunnels(-1);
}

static void
ts_free(struct tsess *s)
{
	struct tunnel_server	*srv = s->srv;

	ts_idle_end(s);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->n_sessions--;
	ts_preauth_release(s);
	stats_conn_closed();
	if (s->dnsq != NULL)
		dns_cancel(s->dnsq);
	if (s->dial != NULL)
		dial_cancel(s->dial);
	if (s->dst != NULL)
		bufferevent_free(s->dst);
	if (s->cli != NULL)
		bufferevent_free(s->cli);
	event_free(s->timer);
	if (s->keyed_ev != NULL)
		event_free(s->keyed_ev);
	util_wipe(&s->key, sizeof(s->key));
	free(s);
}

/* Ends a session, relayed or not: its one summary line (at debug level
 * only before authentication: a prober must not fill the log), then
 * frees s. */
void
ts_close(struct tsess *s, const char *reason, bool abortive)
{
	if (s->idle || s->idle_wait)	/* pooled, never taken: routine */
		log_debug("c=%08x event=close reason=\"%s\" client=%s "
		    "idle=yes ms=%" PRIu64, s->id, reason, s->key.name,
		    util_now_ms() - s->start_ms);
	else if (s->key.name[0] == '\0')	/* never authenticated */
		log_debug("c=%08x event=close reason=\"%s\" peer=%s "
		    "ms=%" PRIu64, s->id, reason, s->peer,
		    util_now_ms() - s->start_ms);
	else
		log_info("c=%08x event=close reason=\"%s\" client=%s "
		    "target=%s status=%u mptcp=%s subflows=%u tls=%s up=%" PRIu64
		    " down=%" PRIu64 " ms=%" PRIu64, s->id, reason,
		    s->key.name[0] ? s->key.name : "-",
		    s->target[0] ? s->target : "-", s->status,
		    s->mptcp ? "yes" : "no", s->subflows,
		    s->tls_suite != NULL ? s->tls_suite : "-", s->up, s->down,
		    util_now_ms() - s->start_ms);
	if (abortive && s->cli != NULL)
		mptcp_set_abortive(bufferevent_getfd(s->cli));
	ts_free(s);
}

/* Subflows close before the connection does: sample while they are up. */
static void
ts_sample_subflows(void *arg, int fd_cli, int fd_dst)
{
	struct tsess			*s = arg;
	struct mptcp_subflow_stats	 sf;

	(void)fd_dst;
	if (s->mptcp && mptcp_subflow_stats(fd_cli, &sf))
		s->subflows = MAX(s->subflows, sf.n);
}

static void
ts_relay_closed(void *arg, const char *reason, int fd_cli, int fd_dst,
    const struct relay_stats *st)
{
	struct tsess	*s = arg;

	ts_sample_subflows(s, fd_cli, fd_dst);
	s->status = REPLY_OK;
	s->up = st->a_to_b;
	s->down = st->b_to_a;
	stats_relay_bytes(st->b_to_a, st->a_to_b);
	s->relay = NULL;	/* the relay has freed both bufferevents */
	ts_close(s, reason, false);
}

const struct relay_ops ts_relay_ops = {
	.half_closed = ts_sample_subflows,
	.closed = ts_relay_closed,
};

void
ts_cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tsess	*s = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) &&
	    (s->state == TS_RESOLVE || s->state == TS_CONNECT)) {
		/* A half-close: the relay reads the EOF again and forwards
		 * it. Until then, stop reading. */
		bufferevent_disable(s->cli, EV_READ);
		return;
	}
	ts_close(s, s->state == TS_REPLY_CLOSE ? "refused" :
	    what & BEV_EVENT_EOF ? "client closed" : "client error",
	    (what & BEV_EVENT_ERROR) != 0);	/* frees s */
}

static void
ts_keyed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tsess	*s = arg;

	(void)fd;
	(void)what;
	ts_when_keyed(s, s->when_keyed);
}

/*
 * Runs fn once the client's MPTCP key has arrived. A Fast Open connection
 * is accepted with its SYN, so the header (and an instant answer) can be
 * ready half a round trip before the client's third ACK; what the
 * concentrator sends before it never reaches the client (see
 * mptcp_peer_keyed). The kernel gives no event for the key, so poll: 1 ms,
 * then doubling to 16 ms; the session's own deadline still applies.
 */
void
ts_when_keyed(struct tsess *s, void (*fn)(struct tsess *))
{
	unsigned	step;

	if (s->cli == NULL || mptcp_peer_keyed(bufferevent_getfd(s->cli))) {
		if (s->keyed_wait_ms > 0)
			log_debug("c=%08x event=keyed waited_ms=%u", s->id,
			    s->keyed_wait_ms);
		fn(s);
		return;
	}
	if (s->keyed_ev == NULL && (s->keyed_ev = evtimer_new(s->srv->base,
	    ts_keyed_cb, s)) == NULL) {
		fn(s);		/* no memory for a timer: try anyway */
		return;
	}
	if (s->keyed_wait_ms > s->srv->cfg->handshake_timeout * 1000u) {
		ts_close(s, "client never completed the MPTCP handshake",
		    true);
		return;
	}
	s->when_keyed = fn;
	step = s->keyed_wait_ms == 0 ? 1 : MIN(s->keyed_wait_ms, 16);
	s->keyed_wait_ms += step;
	evtimer_add(s->keyed_ev, (&(struct timeval){ 0, step * 1000 }));
}

/* The request failed authentication: no reply, read and discard until the
 * handshake deadline. */
static void
ts_reject(struct tsess *s, const char *reason)
{
	stats_auth_failed();
	log_warnx_rl(&s->srv->rl_preauth, "c=%08x event=auth_fail reason=%s "
	    "peer=%s mptcp=%s", s->id, reason, s->peer,
	    s->mptcp ? "yes" : "no");
	ts_set_state(s, TS_DRAIN);
	linger_drain(s->cli, ts_cli_event_cb, s);
}

/* v2, the request in: the app's early bytes wait, up to a cap. */
static void
ts_early_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) >= TS_PREAUTH_MAX)
		bufferevent_disable(bev, EV_READ);
}

/* v2: the request, the first bytes inside TLS. */
static void
ts_inner_cb(struct bufferevent *bev, void *arg)
{
	struct tsess		*s = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len = MIN(evbuffer_get_length(in),
				    TUNNEL_INNER_MAX);
	struct tunnel_request	 inner;
	enum parse_result	 r;

	r = tunnel_parse_inner_request(evbuffer_pullup(in, (ssize_t)len),
	    len, &inner);
	if (r == PARSE_NEED_MORE && len < TUNNEL_INNER_MAX)
		return;
	s->idle_wait = false;	/* cold, or pooled and taken at once */
	if (r != PARSE_OK) {
		ts_idle_end(s);
		ts_fail(s, REPLY_GENERAL, false, "bad request inside TLS");
		return;
	}
	if (s->idle) {		/* a pooled tunnel, taken */
		ts_idle_end(s);
		evtimer_del(s->timer);
		ts_arm(s, s->srv->cfg->connect_timeout);
		log_debug("c=%08x event=idle_taken client=%s idle_ms=%" PRIu64,
		    s->id, s->key.name, util_now_ms() - s->step_ms);
	}
	evbuffer_drain(in, inner.used);
	s->req.target = inner.target;
	s->req.cmd = inner.cmd;
	/* Reading goes on, so that a client giving up (a reset) ends the
	 * lookup and connect; its early bytes wait for the relay, up to a
	 * cap. Not by a high watermark: libevent 2.1's TLS bufferevent spins
	 * at one while OpenSSL holds more. Past the cap reading stops, and
	 * the relay finds the rest in OpenSSL. */
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_setcb(bev, ts_early_cb, NULL, ts_cli_event_cb, s);
	ts_early_cb(bev, s);
	target_str(&s->req.target, s->target, sizeof(s->target));
	log_debug("c=%08x event=request client=%s target=%s early=%zu",
	    s->id, s->key.name, s->target, evbuffer_get_length(in));
	if (inner.body_status != REPLY_OK) {
		ts_fail(s, inner.body_status, false, "bad request body");
		return;
	}
	ts_start_target(s);
}

static void
ts_tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tsess	*s = arg;
	unsigned long	 e = bufferevent_get_openssl_error(bev);

	if (what & BEV_EVENT_CONNECTED) {
		s->tls_suite = tls_cipher_name(bufferevent_openssl_get_ssl(bev));
		log_debug("c=%08x event=tls cipher=%s", s->id, s->tls_suite);
		ts_set_state(s, TS_REQUEST);
		if (s->req.body_status != REPLY_OK) {
			ts_fail(s, s->req.body_status, false,
			    "preamble asks for what we do not serve");
			return;
		}
		/* No request behind the client's Finished: a pooled tunnel,
		 * or a cold one whose request is still on its way (its own
		 * segment, maybe on another subflow). Counting a cold one as
		 * idle would let it push a pooled one out at
		 * pool_max_per_key, or close it where pooling is off: it
		 * becomes idle only if nothing comes within the grace. */
		if (evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
			s->step_ms = util_now_ms();
			s->idle_wait = true;
			evtimer_del(s->timer);
			evtimer_add(s->timer, (&(struct timeval){
			    .tv_sec = TS_IDLE_GRACE_MS / 1000,
			    .tv_usec = TS_IDLE_GRACE_MS % 1000 * 1000 }));
		}
		return;
	}
	if (s->state == TS_REQUEST) {	/* TLS was up: a client closing */
		bool	pooled = s->idle || s->idle_wait;

		ts_close(s, pooled ? "idle tunnel closed by the client" :
		    "client closed before its request", !pooled);
		return;
	}
	log_info("c=%08x event=tls_fail client=%s why=\"%s\"", s->id,
	    s->key.name, e != 0 && ERR_reason_error_string(e) != NULL ?
	    ERR_reason_error_string(e) : what & BEV_EVENT_EOF ? "closed" :
	    "error");
	ts_close(s, "tls handshake failed", true);	/* frees s */
}

/*
 * v2, the preamble verified: TLS on the same socket, with what the
 * client sent after the preamble (its ClientHello) as TLS's first bytes.
 */
static void
ts_start_tls(struct tsess *s)
{
	struct evbuffer	*in = bufferevent_get_input(s->cli);
	size_t		 n = evbuffer_get_length(in);
	uint8_t		 psk[TUNNEL_PSK_LEN];
	uint8_t		*rx = NULL;
	SSL		*ssl = NULL;
	int		 fd = bufferevent_getfd(s->cli);

	if (!tunnel_tls_psk(&s->key, s->preamble, psk) ||
	    (n > 0 && (rx = malloc(n)) == NULL)) {
		util_wipe(psk, sizeof(psk));
		ts_close(s, "out of memory", true);
		return;
	}
	if (n > 0)
		evbuffer_remove(in, rx, n);
	mptcp_set_nodelay(fd);		/* a flight of small records */
	ssl = tls_server_new(s->srv->tls, fd, psk, s->key.id, rx, n);
	util_wipe(psk, sizeof(psk));
	free(rx);
	if (ssl == NULL) {
		ts_close(s, "out of memory", true);
		return;
	}
	/* the socket moves from the plain bufferevent to a TLS one */
	bufferevent_setcb(s->cli, NULL, NULL, NULL, NULL);
	bufferevent_disable(s->cli, EV_READ | EV_WRITE);
	bufferevent_setfd(s->cli, -1);
	bufferevent_free(s->cli);
	s->cli = bufferevent_openssl_socket_new(s->srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->cli == NULL) {
		SSL_free(ssl);
		close(fd);
		ts_close(s, "out of memory", true);
		return;
	}
	ts_set_state(s, TS_TLS);
	bufferevent_setcb(s->cli, ts_inner_cb, NULL, ts_tls_event_cb, s);
	bufferevent_setwatermark(s->cli, EV_READ, 0, TS_PREAUTH_MAX);
	bufferevent_enable(s->cli, EV_READ | EV_WRITE);
}

static void
ts_header_cb(struct bufferevent *bev, void *arg)
{
	struct tsess		*s = arg;
	struct tunnel_server	*srv = s->srv;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len = MIN(evbuffer_get_length(in),
				    TUNNEL_MAX_HDR);
	const struct tunnel_key	*k;
	const uint8_t		*buf = evbuffer_pullup(in, (ssize_t)len);
	enum parse_result	 r;
	enum replay_result	 rr;

	r = tunnel_parse_request(buf, len, &s->req);
	if (r == PARSE_NEED_MORE && len < TUNNEL_MAX_HDR)
		return;
	if (r != PARSE_OK) {
		ts_reject(s, "bad_header");
		return;
	}
	if ((k = keyset_find(&srv->keys, s->req.key_id)) == NULL) {
		ts_reject(s, "unknown_key");
		return;
	}
	if (!tunnel_verify_request(buf, &s->req, k)) {
		ts_reject(s, "bad_mac");
		return;
	}
	rr = replay_check(srv->replay, (size_t)(k - srv->keys.keys),
	    s->req.nonce, s->req.timestamp_ms, util_wall_ms(), util_now_ms());
	if (rr != REPLAY_OK) {
		ts_reject(s, replay_result_str(rr));
		return;
	}
	/* authentic from here on */
	s->key = *k;
	ts_preauth_release(s);
	if (!s->mptcp) {
		stats_mptcp_fallback();
		log_info("c=%08x event=tcp_fallback client=%s peer=%s: the "
		    "client did not negotiate MPTCP; this connection uses one "
		    "path", s->id, k->name, s->peer);
	}
	if (s->req.version == TUNNEL_VERSION_TLS)
		memcpy(s->preamble, buf, TUNNEL_PREAMBLE_LEN);
	evbuffer_drain(in, s->req.used);
	/* Early data waits in the buffer, up to a cap. Reading goes on so
	 * that a client giving up (a reset) ends the lookup and connect. */
	bufferevent_setcb(bev, NULL, NULL, ts_cli_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, TS_PREAUTH_MAX);
	if (s->req.version == TUNNEL_VERSION_TLS) {
		/* nothing before the client's MPTCP key: the ServerHello
		 * would be lost as an early answer is (ts_when_keyed) */
		ts_when_keyed(s, ts_start_tls);
		return;
	}
	if (s->req.version != TUNNEL_VERSION) {
		ts_fail(s, REPLY_GENERAL, true, "unsupported version");
		return;
	}
	if (srv->cfg->require_tls || s->key.require_tls) {
		ts_fail(s, REPLY_NOT_ALLOWED, false, "require_tls: this key "
		    "must use encryption = tls");
		return;
	}
	target_str(&s->req.target, s->target, sizeof(s->target));
	log_debug("c=%08x event=auth_ok client=%s target=%s early=%zu", s->id,
	    k->name, s->target, evbuffer_get_length(in));
	if (s->req.body_status != REPLY_OK) {
		ts_fail(s, s->req.body_status, false, "bad request body");
		return;
	}
	ts_start_target(s);
}

static void
ts_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tsess	*s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case TS_RESOLVE:	/* connecting, the dial keeps the time */
		ts_target_timeout(s);
		return;
	case TS_HEADER:		/* silence, or a header never finished */
		ts_close(s, "handshake timeout", true);
		return;
	case TS_DRAIN:		/* the same end, whatever was sent */
		ts_close(s, "auth failed", true);
		return;
	case TS_REPLY_CLOSE:
		ts_close(s, "refused", true);
		return;
	case TS_REQUEST:
		if (s->idle_wait) {	/* no request: a pooled tunnel */
			s->idle_wait = false;
			ts_idle_start(s);	/* may free s */
			return;
		}
		if (s->idle) {	/* a pooled tunnel nobody took: a FIN */
			ts_close(s, "idle", false);
			return;
		}
		ts_close(s, "handshake timeout", true);
		return;
	default:
		ts_close(s, "handshake timeout", true);
		return;
	}
}

static void
ts_accept_cb(void *arg, int fd, struct sockaddr *sa, int salen)
{
	struct tunnel_server	*srv = arg;
	struct tsess		*s;
	enum preauth_verdict	 v;
	uint32_t		 rnd = 0;
	char			 peer[UTIL_ADDRSTRLEN];

	(void)util_random(&rnd, sizeof(rnd));
	if ((v = preauth_admit(srv->preauth, sa, rnd)) != PREAUTH_ADMIT) {
		log_warnx_rl(&srv->rl_preauth, "event=accept_drop why=%s "
		    "peer=%s", preauth_verdict_str(v), util_sockaddr_str(sa,
		    peer, sizeof(peer)));
		mptcp_set_abortive(fd);	/* as every pre-auth end: a reset */
		close(fd);
		return;
	}
	if (srv->n_sessions >= srv->max_sessions ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx_rl(&srv->rl_preauth, "event=accept_drop why=%s",
		    srv->n_sessions < srv->max_sessions ? "no_memory" :
		    srv->max_sessions < srv->cfg->max_connections ?
		    "fd_budget" : "max_connections");
		(void)preauth_release(srv->preauth, sa);
		mptcp_set_abortive(fd);
		close(fd);
		return;
	}
	memcpy(&s->peer_sa, sa, MIN((size_t)salen, sizeof(s->peer_sa)));
	s->preauth_held = true;
	s->srv = srv;
	s->id = ++srv->next_id;
	s->start_ms = util_now_ms();
	util_sockaddr_str(sa, s->peer, sizeof(s->peer));
	s->mptcp = mptcp_is_active(fd) == 1;
	s->cli = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	s->timer = evtimer_new(srv->base, ts_timeout_cb, s);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->n_sessions++;
	stats_conn_opened();
	if (s->cli == NULL || s->timer == NULL) {
		if (s->cli == NULL)
			close(fd);
		ts_close(s, "out of memory", false);
		return;
	}
	log_debug("c=%08x event=accept peer=%s", s->id, s->peer);
	bufferevent_setcb(s->cli, ts_header_cb, NULL, ts_cli_event_cb, s);
	bufferevent_setwatermark(s->cli, EV_READ, 0, TS_PREAUTH_MAX);
	bufferevent_enable(s->cli, EV_READ);
	ts_arm_preauth(s, rnd);
}

#define TS_SELF_REFRESH_S	10	/* addresses come and go (DHCP, VPNs) */

static void
self_add(struct cidr_list *l, const struct sockaddr *sa, bool *full)
{
	struct cidr	c = { .family = sa->sa_family };

	if (sa->sa_family == AF_INET) {
		memcpy(c.addr, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		c.prefix = 32;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(c.addr, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		c.prefix = 128;
	} else
		return;
	if (l->n == CIDR_LIST_MAX) {
		*full = true;
		return;
	}
	l->v[l->n++] = c;
}

/* This host's addresses, and the tunnel's own listen addresses (one
 * may be bound without being on an interface): never a destination. */
static void
ts_self_refresh(struct tunnel_server *srv)
{
	struct cidr_list	 l = { .n = 0 };
	struct ifaddrs		*ifa;
	bool			 full = false;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs: keeping the %zu own addresses known",
		    srv->self.n);
		return;
	}
	for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL)
			self_add(&l, i->ifa_addr, &full);
	freeifaddrs(ifa);
	for (size_t i = 0; i < srv->cfg->n_listen; i++) {
		struct sockaddr_storage	ss;
		socklen_t		sl;

		if (util_parse_sockaddr(srv->cfg->listen[i], &ss, &sl))
			self_add(&l, (struct sockaddr *)&ss, &full);
	}
	if (full && srv->self.n < CIDR_LIST_MAX)
		log_warnx("more than %d own addresses: the rest are not "
		    "refused as destinations; add them to [server] deny",
		    CIDR_LIST_MAX);
	if (l.n != srv->self.n)
		log_info("event=own_addresses n=%zu", l.n);
	srv->self = l;
}

static void
ts_self_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ts_self_refresh(arg);
}

struct tunnel_server *
tunnel_server_new(struct event_base *base, const struct config *cfg,
    struct keyset *keys)
{
	struct tunnel_server	*srv;
	struct preauth_limits	 pl;
	uint64_t		 seed = 0;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->idle);
	srv->rl_preauth.per_sec = TS_PREAUTH_LOG_PER_S;
	srv->rl_idle.per_sec = 1;
	srv->base = base;
	srv->cfg = cfg;
	/* a tunnel and its destination */
	srv->max_sessions = daemon_conn_budget(cfg->max_connections, 2,
	    "tunnels");
	srv->dial_fds = (struct dial_fds){ .room = daemon_fd_room(),
	    .fds_each = 2, .conns = &srv->n_sessions };
	srv->keys = *keys;
	memset(keys, 0, sizeof(*keys));
	if ((srv->tls = tls_ctx_new(true, (enum tls_cipher)cfg->tls_cipher)) ==
	    NULL) {
		log_warnx("cannot set up TLS 1.3 for the tunnel");
		goto fail;
	}
	srv->replay = replay_new(cfg->replay_cache,
	    (uint64_t)cfg->replay_window * 1000, srv->keys.n, util_wall_ms(),
	    util_now_ms());
	srv->dns = dns_new(base, cfg->dns_cache_size, cfg->dns_cache_ttl);
	preauth_limits_default(&pl);
	pl.total = pl.sources = cfg->preauth_max;
	pl.early_start = cfg->preauth_early_drop;
	pl.per_v4 = pl.per_v6 = cfg->preauth_per_source;
	(void)util_random(&seed, sizeof(seed));
	srv->preauth = preauth_new(&pl, seed);
	if (srv->replay == NULL || srv->dns == NULL || srv->preauth == NULL) {
		log_warnx("out of memory setting up the server");
		goto fail;
	}
	srv->listeners = listeners_open(base,
	    (const char (*)[CONFIG_ADDR_MAX])cfg->listen, cfg->n_listen, true,
	    "tunnel", ts_accept_cb, srv);
	if (srv->listeners == NULL)
		goto fail;
	srv->self_ev = event_new(base, -1, EV_PERSIST, ts_self_cb, srv);
	if (srv->self_ev == NULL)
		goto fail;
	ts_self_refresh(srv);
	evtimer_add(srv->self_ev,
	    (&(struct timeval){ TS_SELF_REFRESH_S, 0 }));
	return srv;
fail:
	tunnel_server_free(srv);
	return NULL;
}

size_t
tunnel_server_refresh_self(struct tunnel_server *srv)
{
	ts_self_refresh(srv);
	return srv->self.n;
}

size_t
tunnel_server_idle(const struct tunnel_server *srv)
{
	return srv->n_idle;
}

void
tunnel_server_reload_keys(struct tunnel_server *srv, struct keyset *keys)
{
	keyset_free(&srv->keys);
	srv->keys = *keys;
	memset(keys, 0, sizeof(*keys));
	/* indexes may name other keys now: the shares restart */
	(void)replay_set_keys(srv->replay, srv->keys.n);
}

void
tunnel_server_free(struct tunnel_server *srv)
{
	struct tsess	*s;

	if (srv == NULL)
		return;
	listeners_free(srv->listeners);
	if (srv->self_ev != NULL)
		event_free(srv->self_ev);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		if (s->relay != NULL)
			relay_stop(s->relay, "shutdown");	/* frees s */
		else
			ts_close(s, "shutdown", true);
	}
	dns_free(srv->dns);
	replay_free(srv->replay);
	preauth_free(srv->preauth);
	keyset_free(&srv->keys);
	tls_ctx_free(srv->tls);
	free(srv);
}

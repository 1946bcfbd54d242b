/*
 * mpsocks-local's proxy port: one struct conn per app connection, from
 * accept to conn_close(). conn.c keeps what every protocol shares (the
 * listeners, the handshake deadline, the relay and its accounting, the
 * one summary line); the drivers speak the protocols.
 */

#include "local/conn.h"
#include "local/http_session.h"
#include "local/monitor.h"
#include "local/outbound.h"
#include "local/socks_session.h"
#include "common/daemon.h"
#include "common/listener.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/relay.h"
#include "common/stats.h"
#include "common/tls.h"
#include "proto/cidr.h"
#include "proto/socks4.h"
#include "proto/socks5.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

struct conns {
	struct event_base	*base;
	const struct config	*cfg;
	struct outbound		*out;
	struct monitor		*mon;
	struct listeners	*listeners;
	TAILQ_HEAD(, conn)	 all;
	size_t			 n;
	size_t			 max;	/* max_connections, or fewer
					 * if descriptors are short */
	uint32_t		 next_id;
	struct log_rl		 rl_accept, rl_auth;
};

void
conn_close(struct conn *c, const char *reason)
{
	log_info("s=%08x event=close reason=\"%s\" peer=%s proto=%s "
	    "target=%s rep=%u mptcp=%s subflows=%u tls=%s requests=%u up=%"
	    PRIu64 " down=%" PRIu64 " ms=%" PRIu64, c->id, reason, c->peer,
	    c->proto, c->target[0] ? c->target : "-", (unsigned)c->rep,
	    c->mptcp == 1 ? "yes" : c->mptcp == 0 ? "no" : "-", c->subflows,
	    c->tls_suite != NULL ? c->tls_suite : "-", c->requests, c->up,
	    c->down, util_now_ms() - c->start_ms);
	TAILQ_REMOVE(&c->set->all, c, entry);
	c->set->n--;
	stats_conn_closed();
	monitor_conn_end(c->tk, false);
	if (c->open != NULL)
		outbound_cancel(c->open);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->early_ev != NULL)
		event_free(c->early_ev);
	free(c);
}

/* Subflows close before the connection does: sample while they are up. */
static void
conn_sample_subflows(void *arg, int fd_app, int fd_tunnel)
{
	struct conn			*c = arg;
	struct mptcp_subflow_stats	 sf;

	(void)fd_app;
	if (mptcp_subflow_stats(fd_tunnel, &sf))
		c->subflows = MAX(c->subflows, sf.n);
	monitor_conn_sample(c->tk);
}

static void
conn_relay_closed(void *arg, const char *reason, int fd_app, int fd_tunnel,
    const struct relay_stats *st)
{
	struct conn	*c = arg;

	conn_sample_subflows(c, fd_app, fd_tunnel);
	c->mptcp = mptcp_is_active(fd_tunnel);
	c->up += st->a_to_b;
	c->down += st->b_to_a;
	stats_relay_bytes(st->a_to_b, st->b_to_a);
	monitor_conn_end(c->tk, true);	/* its last reading */
	c->tk = NULL;
	c->relay = NULL;
	conn_close(c, reason);
}

static const struct relay_ops conn_relay_ops = {
	.half_closed = conn_sample_subflows,
	.closed = conn_relay_closed,
};

bool
conn_relay(struct conn *c, struct bufferevent *app,
    struct bufferevent *tunnel)
{
	SSL	*ssl;

	if (c->timer != NULL)
		evtimer_del(c->timer);
	c->rep = REPLY_OK;
	if ((ssl = bufferevent_openssl_get_ssl(tunnel)) != NULL)
		c->tls_suite = tls_cipher_name(ssl);
	c->tk = monitor_conn_add(c->mon, c->id, c->target,
	    bufferevent_getfd(tunnel));
	c->relay = relay_start(c->base, app, tunnel, c->cfg->idle_timeout,
	    &conn_relay_ops, c);
	if (c->relay == NULL) {
		conn_close(c, "out of memory");
		return false;
	}
	return true;
}

/* Anything but SOCKS is taken for HTTP; http_session owns the app's
 * connection from here. */
static void
conn_start_http(struct conn *c)
{
	struct bufferevent	*app = c->bev;

	c->proto = "http";
	c->bev = NULL;
	c->http = http_session_start(c, app);
	if (c->http == NULL) {
		bufferevent_free(app);
		conn_close(c, "out of memory");
	}
}

/* The first byte tells the protocol; the driver takes over. */
static void
first_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	uint8_t		 first;

	if (evbuffer_copyout(bufferevent_get_input(bev), &first, 1) != 1)
		return;
	if (first == SOCKS5_VERSION || first == SOCKS4_VERSION) {
		socks_session_start(c, first);
		return;
	}
	evtimer_del(c->timer);		/* the HTTP session has its own */
	conn_start_http(c);
}

static void
first_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	conn_close(arg, what & BEV_EVENT_EOF ? "client closed" :
	    "client error");
}

static void
handshake_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (!c->refused)
		stats_handshake_failed();
	conn_close(c, c->refused ? "refused" : "handshake timeout");
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
	struct conns		*set = arg;
	struct conn		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 peer[UTIL_ADDRSTRLEN];

	(void)salen;
	if (!client_allowed(set->cfg, sa)) {
		log_warnx_rl(&set->rl_accept, "event=accept_refused peer=%s "
		    "why=not_in_allow_client", util_sockaddr_str(sa, peer,
		    sizeof(peer)));
		close(fd);
		return;
	}
	if (set->n >= set->max || (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx_rl(&set->rl_accept, "event=accept_drop why=%s",
		    set->n < set->max ? "no_memory" :
		    set->max < set->cfg->max_connections ? "fd_budget" :
		    "max_connections");
		close(fd);
		return;
	}
	c->set = set;
	c->base = set->base;
	c->cfg = set->cfg;
	c->out = set->out;
	c->mon = set->mon;
	c->rl_auth = &set->rl_auth;
	c->id = ++set->next_id;
	c->proto = "-";
	c->mptcp = -1;
	c->start_ms = util_now_ms();
	util_sockaddr_str(sa, c->peer, sizeof(c->peer));
	snprintf(c->local, sizeof(c->local), "127.0.0.1:1080");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		util_sockaddr_str((struct sockaddr *)&ss, c->local,
		    sizeof(c->local));
	c->bev = bufferevent_socket_new(set->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	c->timer = evtimer_new(set->base, handshake_timeout_cb, c);
	TAILQ_INSERT_TAIL(&set->all, c, entry);
	set->n++;
	stats_conn_opened();
	if (c->bev == NULL || c->timer == NULL) {
		if (c->bev == NULL)
			close(fd);
		conn_close(c, "out of memory");
		return;
	}
	bufferevent_setcb(c->bev, first_read_cb, NULL, first_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_add(c->timer,
	    (&(struct timeval){ .tv_sec = set->cfg->handshake_timeout }));
}

struct conns *
conns_start(struct event_base *base, const struct config *cfg,
    struct outbound *out, struct monitor *mon)
{
	struct conns	*set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	TAILQ_INIT(&set->all);
	set->base = base;
	set->cfg = cfg;
	set->out = out;
	set->mon = mon;
	/* an app connection and its tunnel or direct leg */
	set->max = daemon_conn_budget(cfg->max_connections, 2,
	    "app connections");
	outbound_set_fd_budget(out, daemon_fd_room(), 2, &set->n);
	set->listeners = listeners_open(base,
	    (const char (*)[CONFIG_ADDR_MAX])cfg->listen, cfg->n_listen, false,
	    "proxy (SOCKS5, SOCKS4, HTTP)", accept_cb, set);
	if (set->listeners == NULL) {
		conns_stop(set);
		return NULL;
	}
	return set;
}

void
conns_stop(struct conns *set)
{
	struct conn	*c;

	if (set == NULL)
		return;
	listeners_free(set->listeners);
	while ((c = TAILQ_FIRST(&set->all)) != NULL) {
		if (c->relay != NULL)
			relay_stop(c->relay, "shutdown");	/* frees c */
		else if (c->http != NULL)
			http_session_stop(c->http, "shutdown");	/* frees c */
		else
			conn_close(c, "shutdown");
	}
	outbound_set_fd_budget(set->out, SIZE_MAX, 2, NULL);	/* no count */
	free(set);
}

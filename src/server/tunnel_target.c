/*
 * The concentrator's session, from an authentic request to the relay:
 * resolve the target (common/dns.c: A and AAAA, families alternating),
 * keep the addresses the ACL allows (server/acl.c), in that order,
 * connect to them Happy Eyeballs style (common/dial.c: the next starts
 * while the one before is pending, the first connected wins, all within
 * connect_timeout), then answer in the request's version and hand both
 * legs to the relay. Failures are answered with a status.
 * tunnel_server.c holds the rest of the session.
 */

#include "tunnel_server_int.h"
#include "common/linger.h"
#include "common/stats.h"
#include "server/acl.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>

static void	ts_send_failure(struct tsess *);
static void	ts_connected(struct tsess *);

/* The reply in the request's version: inside TLS for v2, which
 * authenticates it; bound to the request's MAC for v1. */
static int
ts_encode_reply(const struct tsess *s, enum reply_code status,
    bool version_mismatch, uint8_t *out, size_t outlen)
{
	if (s->req.version == TUNNEL_VERSION_TLS)
		return tunnel_encode_inner_reply(status, version_mismatch, out,
		    outlen);
	return tunnel_encode_reply(&s->key, status, version_mismatch,
	    s->req.mac, out, outlen);
}

/* Sends a failure reply, then closes. */
void
ts_fail(struct tsess *s, enum reply_code status, bool version_mismatch,
    const char *why)
{
	s->status = status;
	stats_conn_failed(status);
	log_info("c=%08x event=refuse status=%u (%s) target=%s why=\"%s\"",
	    s->id, status, reply_str(status),
	    s->target[0] ? s->target : "-", why);
	s->version_mismatch = version_mismatch;
	ts_when_keyed(s, ts_send_failure);
}

static void
ts_send_failure(struct tsess *s)
{
	uint8_t	reply[TUNNEL_MAX_REPLY];
	int	n;

	n = ts_encode_reply(s, s->status, s->version_mismatch, reply,
	    sizeof(reply));
	if (n < 0 || bufferevent_write(s->cli, reply, (size_t)n) == -1) {
		ts_close(s, "reply failed", true);
		return;
	}
	ts_set_state(s, TS_REPLY_CLOSE);
	evtimer_del(s->timer);
	ts_arm(s, TS_LINGER_S);
	linger_start(s->cli, ts_cli_event_cb, s);
}

/* The dial's end: the destination connected, or none of its addresses. */
static void
ts_dial_done(void *arg, struct bufferevent *bev, size_t idx, int err,
    const char *why)
{
	struct tsess	*s = arg;

	(void)idx;
	s->dial = NULL;
	if (bev == NULL) {
		ts_fail(s, reply_from_errno(err), false,
		    why != NULL ? why : strerror(err));
		return;
	}
	s->dst = bev;
	stats_connect_latency(util_now_ms() - s->step_ms);
	/* the destination's first bytes wait with the reply */
	bufferevent_disable(s->dst, EV_READ);
	ts_when_keyed(s, ts_connected);
}

static const struct dial_ops ts_dial_ops = {
	.done = ts_dial_done,
};

/* The destination is connected and the client keyed: answer, relay. */
static void
ts_connected(struct tsess *s)
{
	uint8_t		 reply[TUNNEL_MAX_REPLY];
	int		 n;
	bool		 early;

	n = ts_encode_reply(s, REPLY_OK, false, reply, sizeof(reply));
	if (n < 0 || bufferevent_write(s->cli, reply, (size_t)n) == -1) {
		ts_close(s, "reply failed", true);
		return;
	}
	/* Early bytes came with the request: the client did not wait for
	 * this answer (optimistic replies), so it can wait a little for
	 * the destination's first bytes and leave with them. */
	early = evbuffer_get_length(bufferevent_get_input(s->cli)) > 0;
	log_debug("c=%08x event=connected target=%s early=%s", s->id,
	    s->target, early ? "yes" : "no");
	ts_set_state(s, TS_RELAY);
	s->relay = relay_start(s->srv->base, s->cli, s->dst,
	    s->srv->cfg->idle_timeout, &ts_relay_ops, s);
	s->cli = s->dst = NULL;		/* the relay owns them */
	if (s->relay == NULL) {
		ts_close(s, "out of memory", true);
		return;
	}
	if (early)
		relay_hold_first(s->relay, TS_REPLY_HOLD_MS);
}

/* Connects to s->addrs, racing them (common/dial.h) for at most
 * connect_timeout. */
static void
ts_connect(struct tsess *s)
{
	char			 tag[16];
	const char		*why;
	int			 err;
	struct dial_params	 dp = {
		.base = s->srv->base, .addrs = s->addrs.addrs,
		.n = s->addrs.n,
		.timeout_ms = (uint64_t)s->srv->cfg->connect_timeout * 1000,
		.fds = &s->srv->dial_fds, .tag = tag, .ops = &ts_dial_ops,
		.arg = s,
	};

	snprintf(tag, sizeof(tag), "c=%08x", s->id);
	s->step_ms = util_now_ms();
	ts_set_state(s, TS_CONNECT);
	evtimer_del(s->timer);		/* the dial keeps connect_timeout */
	if ((s->dial = dial_start(&dp, &err, &why)) == NULL)
		ts_fail(s, reply_from_errno(err), false,
		    why != NULL ? why : strerror(err));
}

/* Keeps the addresses the ACL allows, in order; then connects. */
static void
ts_resolved(struct tsess *s, const struct dns_result *res)
{
	const char	*why = NULL;
	size_t		 kept = 0;
	uint16_t	 port = htons(s->req.target.port);
	struct acl_lists acl = { &s->srv->cfg->allow, &s->srv->cfg->deny,
			    &s->srv->self };

	if (res->err != 0) {
		ts_fail(s, REPLY_HOST_UNREACH, false,
		    dns_strerror(res->err));
		return;
	}
	s->addrs = *res;
	for (size_t i = 0; i < res->n; i++) {
		struct sockaddr *sa = (struct sockaddr *)&s->addrs.addrs[i];
		const char *w = acl_check_lists(&acl, sa);

		if (w != NULL) {
			why = w;
			continue;
		}
		if (sa->sa_family == AF_INET)
			((struct sockaddr_in *)sa)->sin_port = port;
		else
			((struct sockaddr_in6 *)sa)->sin6_port = port;
		s->addrs.addrs[kept++] = s->addrs.addrs[i];
	}
	s->addrs.n = kept;
	if (kept == 0) {
		ts_fail(s, REPLY_NOT_ALLOWED, false, why);
		return;
	}
	ts_connect(s);
}

static void
ts_dns_cb(void *arg, const struct dns_result *res)
{
	struct tsess	*s = arg;

	s->dnsq = NULL;
	stats_dns_latency(util_now_ms() - s->step_ms);
	ts_resolved(s, res);
}

void
ts_start_target(struct tsess *s)
{
	const struct target	*t = &s->req.target;
	struct dns_result	 res = { 0 };

	if (t->atyp == TARGET_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&res.addrs[0];

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, t->addr, 4);
		res.n = 1;
	} else if (t->atyp == TARGET_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&res.addrs[0];

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, t->addr, 16);
		res.n = 1;
	} else {
		ts_set_state(s, TS_RESOLVE);
		evtimer_del(s->timer);
		ts_arm(s, s->srv->cfg->connect_timeout);
		s->step_ms = util_now_ms();
		if (dns_resolve(s->srv->dns, t->name, &res, ts_dns_cb, s,
		    &s->dnsq) == 0)
			return;		/* ts_dns_cb later */
		stats_dns_latency(0);	/* cached */
	}
	ts_resolved(s, &res);
}

void
ts_target_timeout(struct tsess *s)
{
	dns_cancel(s->dnsq);
	s->dnsq = NULL;
	ts_fail(s, REPLY_TIMED_OUT, false, "dns timeout");
}

/*
 * The home end of the tunnel. In protocol v2 (encryption = tls, the
 * default) the preamble and the TLS ClientHello leave in one write, the
 * request follows the handshake inside TLS, and the tunnel is handed on
 * as a libevent TLS bufferevent. In v1 (encryption = none) one
 * authenticated header carries the request in clear. Either rides in the
 * SYN with TCP Fast Open (once the concentrator has given this host a
 * cookie), else it leaves with the first data segment; the app's reply
 * waits for the concentrator's authenticated answer, so every SOCKS5
 * error code is the real one.
 */

#include "local/tunnel_client.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/stats.h"
#include "common/tls.h"
#include "local/monitor.h"
#include "local/config_uplink.h"
#include "local/pool.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local/tunnel_client_int.h"


static void
warn_no_mptcp(struct tunnel_client *tc)
{
	if (tc->warned_no_mptcp)
		return;
	tc->warned_no_mptcp = true;
	log_warnx("the kernel refused an MPTCP socket (net.mptcp.enabled=0, "
	    "or no MPTCP in this kernel): falling back to TCP; connections "
	    "will use one uplink");
}

/* Warns at start, rather than at the first connection, if this kernel
 * will not give us MPTCP. */
static void
probe_mptcp(struct tunnel_client *tc)
{
	bool	got;
	int	fd;

	if (!tc->cfg->mptcp) {
		log_warnx("MPTCP disabled by configuration: connections use "
		    "one uplink");
		return;
	}
	if ((fd = mptcp_socket(tc->server.ss_family, true, &got)) == -1)
		return;
	close(fd);
	if (!got)
		warn_no_mptcp(tc);
}

struct tunnel_client *
tunnel_client_new(struct event_base *base, const struct config *cfg,
    const struct config_uplinks *ups, const struct tunnel_key *key,
    struct monitor *mon)
{
	struct tunnel_client	*tc;
	struct addrinfo		 hints = { .ai_socktype = SOCK_STREAM },
				*ai = NULL;
	char			 host[256], port[8];
	uint16_t		 p;
	int			 rc;

	if (!util_split_hostport(cfg->server, host, sizeof(host), &p))
		return NULL;
	snprintf(port, sizeof(port), "%u", p);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		log_warnx("concentrator %s: %s", cfg->server,
		    gai_strerror(rc));
		return NULL;
	}
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		freeaddrinfo(ai);
		return NULL;
	}
	tc->base = base;
	tc->cfg = cfg;
	tc->ups = ups;
	tc->mon = mon;
	tc->key = *key;
	memcpy(&tc->server, ai->ai_addr, ai->ai_addrlen);
	tc->server_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	util_sockaddr_str((struct sockaddr *)&tc->server, tc->server_str,
	    sizeof(tc->server_str));
	if (cfg->encryption == CONFIG_ENC_TLS &&
	    (tc->tls = tls_ctx_new(false, (enum tls_cipher)cfg->tls_cipher)) ==
	    NULL) {
		log_warnx("cannot set up TLS 1.3 for the tunnel");
		tunnel_client_free(tc);
		return NULL;
	}
	log_info("concentrator %s at %s encryption=%s", cfg->server,
	    tc->server_str, tc->tls != NULL ? "tls" : "none");
	if (tc->tls == NULL)
		log_warnx("encryption = none: the tunnel carries destinations "
		    "and bytes in clear; every network on the way reads them "
		    "and can change them (docs/security.md)");
	probe_mptcp(tc);
	/* a pooled tunnel waits for a request it does not know yet: only
	 * v2, whose request travels inside TLS, can be opened ahead */
	if (tc->tls != NULL && cfg->pool_max > 0 &&
	    (tc->pool = pool_new(base, tc, cfg, ups)) == NULL) {
		tunnel_client_free(tc);
		return NULL;
	}
	if (tc->tls == NULL && cfg->pool_max > 0)
		log_info("encryption = none: no warm pool (a v1 tunnel "
		    "carries its destination in its first bytes)");
	return tc;
}

void
tunnel_client_free(struct tunnel_client *tc)
{
	if (tc == NULL)
		return;
	pool_free(tc->pool);
	util_wipe(&tc->key, sizeof(tc->key));
	tls_ctx_free(tc->tls);
	free(tc);
}

void
attempt_drop(struct attempt *a, bool abortive)
{
	if (a->bev == NULL)
		return;
	if (abortive)
		mptcp_set_abortive(bufferevent_getfd(a->bev));
	bufferevent_free(a->bev);
	a->bev = NULL;
}

static size_t
attempts_alive(const struct tunnel_open *o)
{
	size_t	n = 0;

	for (size_t i = 0; i < o->n_att; i++)
		n += o->att[i].bev != NULL;
	return n;
}

static void
open_free(struct tunnel_open *o)
{
	for (size_t i = 0; i < o->n_att; i++)
		attempt_drop(&o->att[i], true);
	if (o->timer != NULL)
		event_free(o->timer);
	if (o->race != NULL)
		event_free(o->race);
	free(o->early);
	free(o);
}

/* Reports the result (win: the attempt whose tunnel the caller gets, or
 * NULL) and frees o; the other attempts are reset. */
void
open_done(struct tunnel_open *o, struct attempt *win, enum reply_code status,
    const char *why)
{
	struct bufferevent	*bev = NULL;

	if (status == REPLY_OK && win != NULL) {
		bev = win->bev;
		win->bev = NULL;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	}
	o->cb(o->arg, status, bev, why);
	open_free(o);
}

/* Once per open, when the kernel knows: did MPTCP survive the handshake? */
static void
check_fallback(struct attempt *a)
{
	struct tunnel_client	*tc = a->o->tc;

	if (a->checked || a->bev == NULL)
		return;
	a->checked = true;
	if (a->mptcp && mptcp_is_active(bufferevent_getfd(a->bev)) == 0) {
		stats_mptcp_fallback();
		log_warnx_rl(&tc->rl, "event=no_mptcp server=%s: "
		    "connection fell back to TCP (a middlebox or the "
		    "concentrator's kernel); it uses one path",
		    tc->server_str);
	}
}

static void
open_read_cb(struct bufferevent *bev, void *arg)
{
	struct attempt		*a = arg;
	struct tunnel_open	*o = a->o;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len = MIN(evbuffer_get_length(in),
				    TUNNEL_MAX_REPLY);
	struct tunnel_reply	 rep;
	enum parse_result	 r;

	if (len == 0)
		return;
	if (o->tc->tls != NULL)		/* inside TLS, which authenticates */
		r = tunnel_parse_inner_reply(evbuffer_pullup(in, (ssize_t)len),
		    len, &rep);
	else
		r = tunnel_parse_reply(evbuffer_pullup(in, (ssize_t)len), len,
		    &o->tc->key, a->req_mac, &rep);
	if (r == PARSE_NEED_MORE && len < TUNNEL_MAX_REPLY)
		return;
	monitor_tunnel_result(o->tc->mon, r == PARSE_OK,
	    util_now_ms() - o->start_ms);
	check_fallback(a);	/* a Fast Open socket reports no CONNECTED */
	if (r != PARSE_OK) {
		open_done(o, NULL, REPLY_GENERAL, "concentrator sent a "
		    "reply that does not authenticate (wrong key or not "
		    "mpsocks)");
		return;
	}
	evbuffer_drain(in, rep.used);
	if (rep.n_server_versions > 0)
		log_warnx("concentrator speaks protocol version %u, not %u: "
		    "upgrade one side", rep.server_versions[0],
		    o->tc->tls != NULL ? TUNNEL_VERSION_TLS : TUNNEL_VERSION);
	if (a->raced)
		log_info("event=race_won attempt=%zu server=%s ms=%llu",
		    (size_t)(a - o->att) + 1, o->tc->server_str,
		    (unsigned long long)(util_now_ms() - o->start_ms));
	/* an answer is the concentrator's word, whichever attempt brings it */
	open_done(o, a, rep.status, rep.status == REPLY_OK ? NULL :
	    reply_str(rep.status));
}

static void
open_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct attempt		*a = arg;
	struct tunnel_open	*o = a->o;
	char			 why[160];
	int			 err = EVUTIL_SOCKET_ERROR();
	unsigned long		 tls_err = o->tc->tls != NULL ?
				    bufferevent_get_openssl_error(bev) : 0;

	if (what & BEV_EVENT_CONNECTED) {
		check_fallback(a);
		return;
	}
	/* A reset before any answer to a SYN that carried data: MPTCP Fast
	 * Open loses a few this way while the server took the data
	 * (docs/kernel-notes.md, "Fast Open on MPTCP"). Once more without
	 * Fast Open, with a fresh header (the first one's nonce may be in
	 * the server's replay cache). */
	if (a->tfo && (what & BEV_EVENT_ERROR) && err == ECONNRESET) {
		struct sockaddr_storage src = a->src;

		log_debug("event=tfo_retry server=%s", o->tc->server_str);
		attempt_drop(a, false);
		if (open_attempt(o, false, src.ss_family != AF_UNSPEC ?
		    &src : NULL))
			return;
	}
	if (pooled_retry(o, a, (what & BEV_EVENT_EOF) ? "closed" : "error"))
		return;
	attempt_drop(a, true);
	/* another attempt still running, or another uplink to try */
	if (attempts_alive(o) > 0 || race_next(o))
		return;
	monitor_tunnel_result(o->tc->mon, false, 0);
	/* the concentrator resets what it does not accept, silently */
	if ((what & BEV_EVENT_EOF) || ((what & BEV_EVENT_ERROR) &&
	    err == ECONNRESET && tls_err == 0))
		snprintf(why, sizeof(why), "concentrator closed without a "
		    "reply: key not accepted, clock off by more than the "
		    "replay window, or not an mpsocks-server");
	else if (tls_err != 0)
		snprintf(why, sizeof(why), "concentrator %s: TLS: %s",
		    o->tc->server_str, ERR_reason_error_string(tls_err) ?
		    ERR_reason_error_string(tls_err) : "handshake failed");
	else
		snprintf(why, sizeof(why), "concentrator %s: %s",
		    o->tc->server_str, evutil_socket_error_to_string(err));
	open_done(o, NULL, REPLY_GENERAL, why);
}

static void
open_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel_open	*o = arg;

	(void)fd;
	(void)what;
	monitor_tunnel_result(o->tc->mon, false, 0);
	open_done(o, NULL, REPLY_TIMED_OUT, "no reply from the "
	    "concentrator in time");
}

/*
 * A new v2 connection to the concentrator, from src if given: a fresh
 * preamble (timestamp, nonce) and the TLS ClientHello on their way in
 * one write (with tfo, in the SYN), as a TLS bufferevent still
 * handshaking. The caller sets its callbacks and enables it. NULL if it
 * could not be started.
 */
struct bufferevent *
tunnel_client_dial(struct tunnel_client *tc,
    const struct sockaddr_storage *src, bool tfo, bool *mptcp, bool *used_tfo)
{
	uint8_t			 hdr[TUNNEL_MAX_HDR], nonce[TUNNEL_NONCE_LEN];
	uint8_t			 psk[TUNNEL_PSK_LEN];
	struct bufferevent	*bev;
	bool			 got_mptcp;
	int			 fd, n;
	SSL			*ssl;

	if (tc->tls == NULL || !util_random(nonce, sizeof(nonce)))
		return NULL;
	n = tunnel_encode_preamble(&tc->key, TUNNEL_CMD_CONNECT,
	    util_wall_ms(), nonce, hdr);
	if (n < 0 || !tunnel_tls_psk(&tc->key, hdr, psk))
		return NULL;
	fd = mptcp_socket(tc->server.ss_family, tc->cfg->mptcp, &got_mptcp);
	if (fd == -1)
		goto fail_psk;
	*mptcp = got_mptcp;
	if (tc->cfg->mptcp && !got_mptcp)
		warn_no_mptcp(tc);
	if (src != NULL && bind(fd, (const struct sockaddr *)src,
	    src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)) == -1)
		goto fail_fd;
	*used_tfo = tfo && mptcp_fastopen_connect(fd);
	mptcp_set_nodelay(fd);
	/* The preamble goes out in the ClientHello's write (one flight;
	 * with Fast Open, in the SYN): our BIO sends it ahead of the first
	 * record, once the socket takes data. */
	if (connect(fd, (struct sockaddr *)&tc->server, tc->server_len) == -1 &&
	    errno != EINPROGRESS)
		goto fail_fd;
	ssl = tls_client_new(tc->tls, fd, psk, tc->key.id, hdr, (size_t)n);
	util_wipe(psk, sizeof(psk));
	if (ssl == NULL)
		goto fail_fd;
	/* closes fd and frees ssl when it is freed */
	bev = bufferevent_openssl_socket_new(tc->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		close(fd);
	}
	return bev;
fail_fd:
	close(fd);
fail_psk:
	util_wipe(psk, sizeof(psk));
	return NULL;
}

/*
 * The request of a's open, and the app's first bytes right behind it, in
 * one write: two writes would let the kernel's scheduler send the second,
 * small one on another subflow while the first is unacknowledged, and
 * cost the slower uplink's round trip. In v2 the pair waits in the
 * output buffer for the handshake and leaves right behind the client's
 * Finished; in v1 it is the authenticated header.
 */
static bool
attempt_send(struct attempt *a)
{
	struct tunnel_open	*o = a->o;
	uint8_t			 req[TUNNEL_MAX_HDR + TUNNEL_EARLY_MAX];
	uint8_t			 nonce[TUNNEL_NONCE_LEN];
	int			 n;

	if (o->tc->tls != NULL)
		n = tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &o->target,
		    req, TUNNEL_INNER_MAX);
	else if (!util_random(nonce, sizeof(nonce)))
		return false;
	else
		n = tunnel_encode_request(&o->tc->key, TUNNEL_CMD_CONNECT,
		    &o->target, util_wall_ms(), nonce, req, TUNNEL_MAX_HDR,
		    a->req_mac);
	if (n < 0)
		return false;
	if (o->early_len > 0)
		memcpy(req + n, o->early, o->early_len);
	a->requested = true;
	return bufferevent_write(a->bev, req, (size_t)n + o->early_len) == 0;
}

/*
 * One connection attempt for o, from src if given: a new socket, with
 * its request on its way unless the open is held. v1 with tfo writes its
 * header before the handshake so that it leaves in the SYN; what the
 * kernel does not take then (no cookie yet: EINPROGRESS, nothing queued)
 * the bufferevent writes once the connection is up.
 */
bool
open_attempt(struct tunnel_open *o, bool tfo,
    const struct sockaddr_storage *src)
{
	struct tunnel_client	*tc = o->tc;
	struct attempt		*a;
	uint8_t			 hdr[TUNNEL_MAX_HDR], nonce[TUNNEL_NONCE_LEN];
	bool			 got_mptcp;
	ssize_t			 sent = 0;
	socklen_t		 sl = sizeof(struct sockaddr_storage);
	int			 fd, n = 0;

	/* slots are not reused: each remembers the address it tried */
	if (o->n_att >= TUNNEL_MAX_ATTEMPTS)
		return false;
	a = &o->att[o->n_att];
	memset(a, 0, sizeof(*a));
	a->o = o;
	if (tc->tls != NULL) {
		a->bev = tunnel_client_dial(tc, src, tfo, &a->mptcp, &a->tfo);
		if (a->bev == NULL)
			return false;
		o->n_att++;
		bufferevent_setcb(a->bev, open_read_cb, NULL, open_event_cb,
		    a);
		if (!o->held && !attempt_send(a)) {
			attempt_drop(a, false);
			return false;
		}
		fd = bufferevent_getfd(a->bev);
		goto started;
	}
	/* v1: the header leaves in the SYN only if it is known now */
	tfo = tfo && !o->held;
	if (tfo) {
		if (!util_random(nonce, sizeof(nonce)))
			return false;
		n = tunnel_encode_request(&tc->key, TUNNEL_CMD_CONNECT,
		    &o->target, util_wall_ms(), nonce, hdr, sizeof(hdr),
		    a->req_mac);
		if (n < 0)
			return false;
	}
	fd = mptcp_socket(tc->server.ss_family, tc->cfg->mptcp, &got_mptcp);
	if (fd == -1)
		return false;
	a->mptcp = got_mptcp;
	if (tc->cfg->mptcp && !got_mptcp)
		warn_no_mptcp(tc);
	if (src != NULL && bind(fd, (const struct sockaddr *)src,
	    src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)) == -1)
		goto fail_fd;
	a->tfo = tfo && mptcp_fastopen_connect(fd);
	if (a->tfo) {
		/* deferred: returns at once, the SYN leaves with the write */
		if (connect(fd, (struct sockaddr *)&tc->server,
		    tc->server_len) == -1 && errno != EINPROGRESS)
			goto fail_fd;
		sent = write(fd, hdr, (size_t)n);
		if (sent == -1 && errno != EINPROGRESS && errno != EAGAIN)
			goto fail_fd;
		if (sent == -1)
			sent = 0;
	}
	a->bev = bufferevent_socket_new(tc->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (a->bev == NULL)
		goto fail_fd;
	o->n_att++;
	bufferevent_setcb(a->bev, open_read_cb, NULL, open_event_cb, a);
	if (tfo) {
		a->requested = true;
		if ((sent < n && bufferevent_write(a->bev, hdr + sent,
		    (size_t)(n - sent)) == -1) || (o->early_len > 0 &&
		    bufferevent_write(a->bev, o->early, o->early_len) == -1)) {
			attempt_drop(a, false);
			return false;
		}
	} else if ((!o->held && !attempt_send(a)) ||
	    bufferevent_socket_connect(a->bev, (struct sockaddr *)&tc->server,
	    (int)tc->server_len) == -1) {
		attempt_drop(a, false);
		return false;
	}
started:
	/* which uplink this one leaves from, so a race picks another */
	if (getsockname(fd, (struct sockaddr *)&a->src, &sl) == -1)
		a->src.ss_family = AF_UNSPEC;
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	return true;
fail_fd:
	close(fd);
	return false;
}

/* A tunnel from the warm pool as o's first attempt; false on a miss. */
static bool
pooled_attempt(struct tunnel_open *o)
{
	struct attempt	*a = &o->att[0];

	if (o->tc->pool == NULL)
		return false;
	memset(a, 0, sizeof(*a));
	a->o = o;
	if ((a->bev = pool_take(o->tc->pool, &a->src, &a->mptcp)) == NULL)
		return false;
	a->pooled = true;
	a->checked = true;	/* the pool saw its handshake */
	o->n_att = 1;
	bufferevent_setcb(a->bev, open_read_cb, NULL, open_event_cb, a);
	if (!o->held && !attempt_send(a)) {
		attempt_drop(a, true);
		o->n_att = 0;
		return false;
	}
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	return true;
}

struct tunnel_open *
tunnel_open(struct tunnel_client *tc, const struct target *t, unsigned flags,
    tunnel_open_cb *cb, void *arg)
{
	struct tunnel_open	*o;
	struct timeval		 tv = { .tv_sec = tc->cfg->connect_timeout +
				    tc->cfg->handshake_timeout };
	bool			 hit;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->tc = tc;
	o->start_ms = util_now_ms();
	o->cb = cb;
	o->arg = arg;
	o->target = *t;
	o->held = (flags & TUNNEL_OPEN_HOLD) != 0;
	o->timer = evtimer_new(tc->base, open_timeout_cb, o);
	if (o->timer == NULL)
		goto fail;
	hit = pooled_attempt(o);
	if (tc->pool != NULL)
		pool_count_take(tc->pool, hit);
	if (!hit && !open_attempt(o, tc->cfg->tfo, NULL))
		goto fail;
	evtimer_add(o->timer, &tv);
	if (!tunnel_race_start(o, hit))
		goto fail;
	return o;
fail:
	open_free(o);
	return NULL;
}

bool
tunnel_open_send(struct tunnel_open *o, const void *early, size_t len)
{
	if (!o->held || len > TUNNEL_EARLY_MAX)
		return false;
	if (len > 0) {
		if ((o->early = malloc(len)) == NULL)
			return false;
		memcpy(o->early, early, len);
		o->early_len = len;
	}
	o->held = false;
	for (size_t i = 0; i < o->n_att; i++)
		if (o->att[i].bev != NULL && !o->att[i].requested &&
		    !attempt_send(&o->att[i]))
			return false;
	return true;
}

void
tunnel_open_cancel(struct tunnel_open *o)
{
	open_free(o);		/* every attempt reset */
}

struct pool *
tunnel_client_pool(struct tunnel_client *tc)
{
	return tc->pool;
}

const struct config_uplinks *
tunnel_client_uplinks(const struct tunnel_client *tc)
{
	return tc->ups;
}

int
tunnel_client_family(const struct tunnel_client *tc)
{
	return tc->server.ss_family;
}

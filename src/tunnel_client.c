/*
 * The home end of the tunnel. The request header rides in the SYN (TCP
 * Fast Open, once the concentrator has given this host a cookie), else
 * it leaves with the first data segment; the app's reply waits for the
 * concentrator's authenticated answer, so every SOCKS5 error code is the
 * real one. With Fast Open the answer comes one round trip after the
 * SYN, not two.
 */

#include "tunnel_client.h"
#include "log.h"
#include "mptcp.h"
#include "stats.h"
#include "track.h"
#include "util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tunnel_client {
	struct event_base	*base;
	const struct config	*cfg;
	struct tunnel_key	 key;
	struct sockaddr_storage	 server;
	socklen_t		 server_len;
	char			 server_str[UTIL_ADDRSTRLEN];
	bool			 warned_no_mptcp;
	struct log_rl		 rl;
};

struct tunnel_open {
	struct tunnel_client	*tc;
	struct bufferevent	*bev;
	struct event		*timer;
	tunnel_open_cb		*cb;
	void			*arg;
	bool			 mptcp;		/* asked the kernel for it */
	bool			 tfo;		/* this attempt used Fast Open */
	bool			 checked;	/* fallback to TCP checked */
	uint64_t		 start_ms;
	struct target		 target;
	uint8_t			 req_mac[TUNNEL_MAC_LEN];
};

static bool	open_attempt(struct tunnel_open *, bool tfo);

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
    const struct tunnel_key *key)
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
	tc->key = *key;
	memcpy(&tc->server, ai->ai_addr, ai->ai_addrlen);
	tc->server_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	util_sockaddr_str((struct sockaddr *)&tc->server, tc->server_str,
	    sizeof(tc->server_str));
	log_info("concentrator %s at %s", cfg->server, tc->server_str);
	probe_mptcp(tc);
	return tc;
}

void
tunnel_client_free(struct tunnel_client *tc)
{
	if (tc == NULL)
		return;
	util_wipe(&tc->key, sizeof(tc->key));
	free(tc);
}

static void
open_free(struct tunnel_open *o)
{
	if (o->bev != NULL)
		bufferevent_free(o->bev);
	if (o->timer != NULL)
		event_free(o->timer);
	free(o);
}

/* Reports the result and frees o. */
static void
open_done(struct tunnel_open *o, uint8_t status, const char *why)
{
	struct bufferevent	*bev = NULL;

	if (status == TUNNEL_ST_OK) {
		bev = o->bev;
		o->bev = NULL;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	} else if (o->bev != NULL)
		mptcp_set_abortive(bufferevent_getfd(o->bev));
	o->cb(o->arg, status, bev, why);
	open_free(o);
}

/* Once per open, when the kernel knows: did MPTCP survive the handshake? */
static void
check_fallback(struct tunnel_open *o)
{
	if (o->checked || o->bev == NULL)
		return;
	o->checked = true;
	if (o->mptcp && mptcp_is_active(bufferevent_getfd(o->bev)) == 0) {
		stats_mptcp_fallback();
		log_warnx_rl(&o->tc->rl, "event=no_mptcp server=%s: "
		    "connection fell back to TCP (a middlebox or the "
		    "concentrator's kernel); it uses one path",
		    o->tc->server_str);
	}
}

static void
open_read_cb(struct bufferevent *bev, void *arg)
{
	struct tunnel_open	*o = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len = MIN(evbuffer_get_length(in),
				    TUNNEL_MAX_REPLY);
	struct tunnel_reply	 rep;
	enum parse_result	 r;

	r = tunnel_parse_reply(evbuffer_pullup(in, (ssize_t)len), len,
	    &o->tc->key, o->req_mac, &rep);
	if (r == PARSE_NEED_MORE && len < TUNNEL_MAX_REPLY)
		return;
	track_tunnel_result(r == PARSE_OK, util_now_ms() - o->start_ms);
	check_fallback(o);	/* a Fast Open socket reports no CONNECTED */
	if (r != PARSE_OK) {
		open_done(o, TUNNEL_ST_GENERAL, "concentrator sent a reply "
		    "that does not authenticate (wrong key or not mpsocks)");
		return;
	}
	evbuffer_drain(in, rep.used);
	if (rep.n_server_versions > 0)
		log_warnx("concentrator speaks protocol version %u, not %u: "
		    "upgrade one side", rep.server_versions[0],
		    TUNNEL_VERSION);
	open_done(o, rep.status, rep.status == TUNNEL_ST_OK ? NULL :
	    tunnel_status_str(rep.status));
}

static void
open_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel_open	*o = arg;
	char			 why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		check_fallback(o);
		return;
	}
	/* A reset before any answer to a SYN that carried data: the kernel
	 * notes say MPTCP Fast Open loses a few this way while the server
	 * took the data. Once more without Fast Open, with a fresh header
	 * (the first one's nonce may be in the server's replay cache). */
	if (o->tfo && (what & BEV_EVENT_ERROR) &&
	    EVUTIL_SOCKET_ERROR() == ECONNRESET) {
		log_debug("event=tfo_retry server=%s", o->tc->server_str);
		bufferevent_free(o->bev);
		o->bev = NULL;
		if (open_attempt(o, false))
			return;
	}
	track_tunnel_result(false, 0);
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "concentrator closed without a "
		    "reply: key not accepted, clock off by more than the "
		    "replay window, or not an mpsocks-server");
	else
		snprintf(why, sizeof(why), "concentrator %s: %s",
		    o->tc->server_str,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	open_done(o, TUNNEL_ST_GENERAL, why);
}

static void
open_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	track_tunnel_result(false, 0);
	open_done(arg, TUNNEL_ST_TTL_EXPIRED, "no reply from the "
	    "concentrator in time");
}

/*
 * One connection attempt for o: a fresh header (timestamp, nonce), a new
 * socket, the header on its way. With tfo, the header is written before
 * the handshake so that it leaves in the SYN; what the kernel does not
 * take then (no cookie yet: EINPROGRESS, nothing queued) the bufferevent
 * writes once the connection is up.
 */
static bool
open_attempt(struct tunnel_open *o, bool tfo)
{
	struct tunnel_client	*tc = o->tc;
	uint8_t			 hdr[TUNNEL_MAX_HDR], nonce[TUNNEL_NONCE_LEN];
	bool			 got_mptcp;
	ssize_t			 sent = 0;
	int			 fd, n;

	if (!util_random(nonce, sizeof(nonce)))
		return false;
	n = tunnel_encode_request(&tc->key, TUNNEL_CMD_CONNECT, &o->target,
	    util_wall_ms(), nonce, hdr, sizeof(hdr), o->req_mac);
	if (n < 0)
		return false;
	fd = mptcp_socket(tc->server.ss_family, tc->cfg->mptcp, &got_mptcp);
	if (fd == -1)
		return false;
	o->mptcp = got_mptcp;
	o->checked = false;
	if (tc->cfg->mptcp && !got_mptcp)
		warn_no_mptcp(tc);
	o->tfo = tfo && mptcp_fastopen_connect(fd);
	if (o->tfo) {
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
	o->bev = bufferevent_socket_new(tc->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (o->bev == NULL)
		goto fail_fd;
	bufferevent_setcb(o->bev, open_read_cb, NULL, open_event_cb, o);
	if (sent < n && bufferevent_write(o->bev, hdr + sent,
	    (size_t)(n - sent)) == -1)
		return false;
	if (!o->tfo && bufferevent_socket_connect(o->bev,
	    (struct sockaddr *)&tc->server, (int)tc->server_len) == -1)
		return false;
	bufferevent_enable(o->bev, EV_READ | EV_WRITE);
	return true;
fail_fd:
	close(fd);
	return false;
}

struct tunnel_open *
tunnel_open(struct tunnel_client *tc, const struct target *t,
    tunnel_open_cb *cb, void *arg)
{
	struct tunnel_open	*o;
	struct timeval		 tv = { .tv_sec = tc->cfg->connect_timeout +
				    tc->cfg->handshake_timeout };

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->tc = tc;
	o->start_ms = util_now_ms();
	o->cb = cb;
	o->arg = arg;
	o->target = *t;
	o->timer = evtimer_new(tc->base, open_timeout_cb, o);
	if (o->timer == NULL || !open_attempt(o, tc->cfg->tfo))
		goto fail;
	evtimer_add(o->timer, &tv);
	return o;
fail:
	open_free(o);
	return NULL;
}

void
tunnel_open_cancel(struct tunnel_open *o)
{
	if (o->bev != NULL)
		mptcp_set_abortive(bufferevent_getfd(o->bev));
	open_free(o);
}

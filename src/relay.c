/*
 * The relay: two symmetric halves, each pointing at its peer, so every
 * line serves both directions. A half's EOF is forwarded as a FIN once its
 * peer's output has drained; the relay ends when both directions are shut,
 * on an error, or on the idle timer. Errors and timeouts reset both sides
 * (MP_FASTCLOSE on MPTCP) so that neither peer waits for a minute.
 */

#include "relay.h"
#include "log.h"
#include "mptcp.h"
#include "util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RELAY_MAX_READ	(128 * 1024)	/* per callback; default is 16K */

struct half {
	struct bufferevent	*bev;
	struct half		*peer;
	struct relay		*r;
	uint64_t		 bytes;		/* read from this side */
	bool			 eof;		/* this side sent FIN */
	bool			 shut;		/* we sent FIN to this side */
	bool			 shut_pending;	/* FIN once output drains */
};

struct relay {
	struct half		 a, b;
	struct event		*idle_ev;
	uint64_t		 start_ms, last_ms, idle_ms;
	const struct relay_ops	*ops;
	void			*arg;
};

static void	relay_close(struct relay *, const char *, bool abortive);

/* Returns false if the relay was closed (and h freed). */
static bool
relay_forward(struct half *h)
{
	struct evbuffer	*in = bufferevent_get_input(h->bev);
	size_t		 n = evbuffer_get_length(in);

	if (n == 0)
		return true;
	h->bytes += n;
	h->r->last_ms = util_now_ms();
	if (bufferevent_write_buffer(h->peer->bev, in) == -1) {
		relay_close(h->r, "out of memory", true);	/* frees h */
		return false;
	}
	if (evbuffer_get_length(bufferevent_get_output(h->peer->bev)) >=
	    RELAY_HIGH_WM)
		bufferevent_disable(h->bev, EV_READ);	/* peer not draining */
	return true;
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	relay_forward(arg);
}

static bool
relay_done(const struct relay *r)
{
	return r->a.eof && r->b.eof && r->a.shut && r->b.shut;
}

/* Sends FIN to h now if its output is empty, else once it drains. */
static void
relay_shut(struct half *h)
{
	if (h->shut)
		return;
	if (evbuffer_get_length(bufferevent_get_output(h->bev)) > 0) {
		h->shut_pending = true;
		/* let the write callback fire only when empty */
		bufferevent_setwatermark(h->bev, EV_WRITE, 0, 0);
		return;
	}
	/* FIN only once the output has drained, or its tail is lost */
	if (shutdown(bufferevent_getfd(h->bev), SHUT_WR) == -1 &&
	    errno != ENOTCONN) {
		relay_close(h->r, "shutdown failed", true);
		return;
	}
	h->shut = true;
	h->shut_pending = false;
	if (relay_done(h->r))
		relay_close(h->r, "done", false);
}

/* Fires when h's output drops to the low watermark. */
static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct half	*h = arg;

	(void)bev;
	if (h->shut_pending) {
		relay_shut(h);		/* may free h */
		return;
	}
	if (!h->peer->eof)
		bufferevent_enable(h->peer->bev, EV_READ);
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct half	*h = arg;
	char		 reason[96];

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		if (!relay_forward(h))	/* anything read with the FIN */
			return;
		h->eof = true;
		bufferevent_disable(h->bev, EV_READ);
		if (h->r->ops->half_closed != NULL)
			h->r->ops->half_closed(h->r->arg,
			    bufferevent_getfd(h->r->a.bev),
			    bufferevent_getfd(h->r->b.bev));
		relay_shut(h->peer);	/* may free h */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();

		snprintf(reason, sizeof(reason), "%s %s error: %s",
		    h == &h->r->a ? "client" : "remote",
		    what & BEV_EVENT_READING ? "read" : "write",
		    evutil_socket_error_to_string(err));
		relay_close(h->r, reason, true);
	}
}

static void
relay_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	uint64_t	 now = util_now_ms(), idle = now - r->last_ms;

	(void)fd;
	(void)what;
	if (idle >= r->idle_ms) {
		relay_close(r, "idle timeout", true);
		return;
	}
	uint64_t	left = r->idle_ms - idle;
	struct timeval	tv = { .tv_sec = (time_t)(left / 1000),
			    .tv_usec = (suseconds_t)(left % 1000 * 1000) };

	evtimer_add(r->idle_ev, &tv);
}

static void
relay_close(struct relay *r, const char *reason, bool abortive)
{
	struct relay_stats	st = {
		.a_to_b = r->a.bytes, .b_to_a = r->b.bytes,
		.ms = util_now_ms() - r->start_ms,
	};
	int			fa = bufferevent_getfd(r->a.bev);
	int			fb = bufferevent_getfd(r->b.bev);

	if (abortive) {
		mptcp_set_abortive(fa);
		mptcp_set_abortive(fb);
	}
	r->ops->closed(r->arg, reason, fa, fb, &st);
	event_free(r->idle_ev);
	bufferevent_free(r->a.bev);
	bufferevent_free(r->b.bev);
	free(r);
}

void
relay_stop(struct relay *r, const char *reason)
{
	relay_close(r, reason, true);
}

static void
half_init(struct relay *r, struct half *h, struct half *peer,
    struct bufferevent *bev)
{
	h->bev = bev;
	h->peer = peer;
	h->r = r;
	bufferevent_setcb(bev, relay_read_cb, relay_write_cb, relay_event_cb,
	    h);
	bufferevent_setwatermark(bev, EV_WRITE, RELAY_LOW_WM, 0);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_set_max_single_read(bev, RELAY_MAX_READ);
	bufferevent_set_max_single_write(bev, RELAY_MAX_READ);
	bufferevent_set_timeouts(bev, NULL, NULL);
}

struct relay *
relay_start(struct event_base *base, struct bufferevent *a,
    struct bufferevent *b, unsigned idle_timeout_s,
    const struct relay_ops *ops, void *arg)
{
	struct relay	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->idle_ev = evtimer_new(base, relay_idle_cb, r)) == NULL) {
		free(r);
		bufferevent_free(a);
		bufferevent_free(b);
		return NULL;
	}
	r->ops = ops;
	r->arg = arg;
	r->start_ms = r->last_ms = util_now_ms();
	r->idle_ms = (uint64_t)idle_timeout_s * 1000;
	half_init(r, &r->a, &r->b, a);
	half_init(r, &r->b, &r->a, b);
	evtimer_add(r->idle_ev, (&(struct timeval){ .tv_sec = idle_timeout_s }));
	bufferevent_enable(a, EV_READ | EV_WRITE);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	/* bytes that arrived with the handshake would not trigger a read */
	if (evbuffer_get_length(bufferevent_get_input(a)) > 0)
		bufferevent_trigger(a, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	if (evbuffer_get_length(bufferevent_get_input(b)) > 0)
		bufferevent_trigger(b, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	return r;
}

/*
 * The relay: two symmetric halves, each pointing at its peer, so every
 * line serves both directions.
 *
 * It works on the raw descriptors rather than bufferevents: a read goes
 * into one scratch buffer shared by all relays and is written to the peer
 * at once, so the steady state costs one read() and one write() per chunk
 * and no per-connection buffer. Only what the peer does not take right
 * away is copied into that half's pending buffer; then the source stops
 * being read until the pending bytes are gone (back-pressure), so memory
 * per connection stays below RELAY_SCRATCH per direction.
 *
 * A side's EOF is forwarded as a FIN once its peer has no pending bytes;
 * the relay ends when both directions are shut, on an error, or on the
 * idle timer. Errors and timeouts reset both sides (MP_FASTCLOSE on MPTCP)
 * so that neither peer waits for a minute.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One read's worth; also the most a half ever holds pending. */
#define RELAY_SCRATCH	(256 * 1024)

struct half {
	int		 fd;
	struct event	*rev, *wev;
	struct half	*peer;
	struct relay	*r;
	uint8_t		*pend;		/* read from peer, not yet written */
	size_t		 pend_off, pend_len;
	uint64_t	 bytes;		/* read from this side */
	bool		 eof;		/* this side sent FIN */
	bool		 shut;		/* we sent FIN to this side */
	bool		 reading;	/* rev is armed */
};

struct relay {
	struct half		 a, b;
	struct event		*idle_ev;
	uint64_t		 start_ms, last_ms, idle_ms;
	const struct relay_ops	*ops;
	void			*arg;
};

/* The event loop is single-threaded: one scratch buffer serves all. */
static uint8_t	relay_scratch[RELAY_SCRATCH];

static void	relay_close(struct relay *, const char *, bool abortive);

static void
half_reading(struct half *h, bool on)
{
	if (on == h->reading)
		return;
	h->reading = on;
	if (on)
		event_add(h->rev, NULL);
	else
		event_del(h->rev);
}

static bool
relay_done(const struct relay *r)
{
	return r->a.eof && r->b.eof && r->a.shut && r->b.shut;
}

/* Sends FIN to h once nothing is pending for it. false if r was closed. */
static bool
half_shut(struct half *h)
{
	if (h->shut || h->pend_len > 0 || !h->peer->eof)
		return true;
	/* FIN only once the pending bytes are out, or their tail is lost */
	if (shutdown(h->fd, SHUT_WR) == -1 && errno != ENOTCONN) {
		relay_close(h->r, "shutdown failed", true);
		return false;
	}
	h->shut = true;
	if (relay_done(h->r)) {
		relay_close(h->r, "done", false);
		return false;
	}
	return true;
}

static void
half_error(struct half *h, const char *what, int err)
{
	char	reason[128];

	snprintf(reason, sizeof(reason), "%s %s error: %s",
	    h == &h->r->a ? "client" : "remote", what, strerror(err));
	relay_close(h->r, reason, true);
}

/*
 * Writes buf to h: what h does not take is kept pending, and the source
 * (h->peer) stops being read until it drains. false if r was closed.
 */
static bool
half_send(struct half *h, const uint8_t *buf, size_t len)
{
	ssize_t	n = 0;

	if (h->pend_len == 0) {
		do
			n = write(h->fd, buf, len);
		while (n == -1 && errno == EINTR);
		if (n == -1 && errno != EAGAIN) {
			half_error(h, "write", errno);
			return false;
		}
		if (n == -1)
			n = 0;
		if ((size_t)n == len)
			return true;
	}
	uint8_t *p = realloc(h->pend, h->pend_len + len - (size_t)n);
	if (p == NULL) {
		relay_close(h->r, "out of memory", true);
		return false;
	}
	if (h->pend_off > 0)		/* keep the pending bytes at the start */
		memmove(p, p + h->pend_off, h->pend_len);
	memcpy(p + h->pend_len, buf + n, len - (size_t)n);
	h->pend = p;
	h->pend_off = 0;
	h->pend_len += len - (size_t)n;
	half_reading(h->peer, false);		/* peer not draining */
	event_add(h->wev, NULL);
	return true;
}

static void
relay_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half	*h = arg;
	ssize_t		 n;

	(void)what;
	do
		n = read(fd, relay_scratch, sizeof(relay_scratch));
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		h->bytes += (uint64_t)n;
		h->r->last_ms = util_now_ms();
		half_send(h->peer, relay_scratch, (size_t)n);	/* may free */
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN)
			half_error(h, "read", errno);
		return;
	}
	h->eof = true;
	half_reading(h, false);
	if (h->r->ops->half_closed != NULL)
		h->r->ops->half_closed(h->r->arg, h->r->a.fd, h->r->b.fd);
	half_shut(h->peer);					/* may free */
}

static void
relay_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half	*h = arg;
	ssize_t		 n;

	(void)what;
	do
		n = write(fd, h->pend + h->pend_off, h->pend_len);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN)
			half_error(h, "write", errno);
		return;
	}
	h->pend_off += (size_t)n;
	h->pend_len -= (size_t)n;
	if (h->pend_len > 0)
		return;
	free(h->pend);
	h->pend = NULL;
	h->pend_off = 0;
	event_del(h->wev);
	if (!h->peer->eof)
		half_reading(h->peer, true);
	half_shut(h);						/* may free */
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
half_free(struct half *h, bool abortive)
{
	if (h->rev != NULL)
		event_free(h->rev);
	if (h->wev != NULL)
		event_free(h->wev);
	free(h->pend);
	if (h->fd != -1) {
		if (abortive)
			mptcp_set_abortive(h->fd);
		close(h->fd);
	}
}

static void
relay_close(struct relay *r, const char *reason, bool abortive)
{
	struct relay_stats	st = {
		.a_to_b = r->a.bytes, .b_to_a = r->b.bytes,
		.ms = util_now_ms() - r->start_ms,
	};

	if (abortive) {		/* before the callback reads socket state */
		mptcp_set_abortive(r->a.fd);
		mptcp_set_abortive(r->b.fd);
	}
	r->ops->closed(r->arg, reason, r->a.fd, r->b.fd, &st);
	if (r->idle_ev != NULL)
		event_free(r->idle_ev);
	half_free(&r->a, abortive);
	half_free(&r->b, abortive);
	free(r);
}

void
relay_stop(struct relay *r, const char *reason)
{
	relay_close(r, reason, true);
}

/*
 * Takes the descriptor out of a bufferevent, and the bytes still queued
 * in it: its output (a reply not yet written) becomes this half's pending
 * bytes. Its input belongs to the peer, which takes it in relay_start().
 */
static bool
half_adopt(struct relay *r, struct half *h, struct half *peer,
    struct event_base *base, struct bufferevent *bev)
{
	struct evbuffer	*out = bufferevent_get_output(bev);
	size_t		 n = evbuffer_get_length(out);

	h->r = r;
	h->peer = peer;
	h->fd = bufferevent_getfd(bev);
	/* no deferred callback of the handshake may run after this */
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_setfd(bev, -1);	/* the relay closes it now */
	h->rev = event_new(base, h->fd, EV_READ | EV_PERSIST, relay_read_cb,
	    h);
	h->wev = event_new(base, h->fd, EV_WRITE | EV_PERSIST, relay_write_cb,
	    h);
	if (h->rev == NULL || h->wev == NULL)
		return false;
	if (n > 0) {
		if ((h->pend = malloc(n)) == NULL)
			return false;
		evbuffer_remove(out, h->pend, n);
		h->pend_len = n;
	}
	return true;
}

/* Moves what the handshake read from bev on to its peer half. */
static bool
half_take_input(struct half *h, struct bufferevent *bev)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 n = evbuffer_get_length(in);

	if (n == 0)
		return true;
	uint8_t *p = realloc(h->peer->pend, h->peer->pend_len + n);
	if (p == NULL)
		return false;
	evbuffer_remove(in, p + h->peer->pend_len, n);
	h->peer->pend = p;
	h->peer->pend_len += n;
	h->bytes += n;
	return true;
}

struct relay *
relay_start(struct event_base *base, struct bufferevent *a,
    struct bufferevent *b, unsigned idle_timeout_s,
    const struct relay_ops *ops, void *arg)
{
	struct relay	*r;
	bool		 ok;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		bufferevent_free(a);
		bufferevent_free(b);
		return NULL;
	}
	r->a.fd = r->b.fd = -1;
	ok = half_adopt(r, &r->a, &r->b, base, a) &&
	    half_adopt(r, &r->b, &r->a, base, b) &&
	    half_take_input(&r->a, a) && half_take_input(&r->b, b) &&
	    (r->idle_ev = evtimer_new(base, relay_idle_cb, r)) != NULL;
	bufferevent_free(a);
	bufferevent_free(b);
	if (!ok) {
		half_free(&r->a, true);
		half_free(&r->b, true);
		if (r->idle_ev != NULL)
			event_free(r->idle_ev);
		free(r);
		return NULL;
	}
	r->ops = ops;
	r->arg = arg;
	r->start_ms = r->last_ms = util_now_ms();
	r->idle_ms = (uint64_t)idle_timeout_s * 1000;
	evtimer_add(r->idle_ev, (&(struct timeval){ .tv_sec = idle_timeout_s }));
	/* a side is read only while nothing waits to be written to its peer */
	for (struct half *h = &r->a; h != NULL; h = h == &r->a ? &r->b : NULL) {
		if (h->pend_len > 0)
			event_add(h->wev, NULL);
		else
			half_reading(h->peer, true);
	}
	return r;
}

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
 * The copy method is chosen per direction, by the kind of socket the
 * bytes come from (docs/kernel-notes.md, "Copy cost"). Out of a plain
 * TCP socket, splice() through a pipe moves page references and never
 * copies into user space, and splicing into MPTCP or TCP is cheaper than
 * write(). Out of an MPTCP socket it is the other way round: this kernel
 * has no mptcp_splice_read, so splice() falls back to a generic copy that
 * costs more than read(). So the test is the socket's protocol
 * (SO_PROTOCOL), not TCP_IS_MPTCP: an MPTCP connect() that fell back to
 * TCP is still an MPTCP socket to splice() (protocol 262), while a plain
 * TCP client accepted by an MPTCP listener is a TCP socket (6, checked on
 * 6.18) and splices like one. In practice:
 * the concentrator splices downloads (destination -> tunnel), the home
 * side splices uploads (app -> tunnel), and both read/write the rest.
 *
 * Pipes cost two descriptors and kernel memory, so no relay owns one: a
 * direction takes an empty pipe from a small pool per chunk and gives it
 * back as soon as the chunk is out. A pipe is held across events only
 * while the peer is not draining it, and then it is that direction's
 * bounded pending data, in place of the pending buffer. Idle relays hold
 * none; the pool closes what it has not lent for a second, and all of it
 * when the last relay ends. A direction is spliced only once it has moved
 * RELAY_SPLICE_AFTER bytes, so short exchanges never touch a pipe. No pipe
 * (EMFILE) or a socket splice() refuses means read/write, never an error.
 *
 * A side's EOF is forwarded as a FIN once its peer has no pending bytes
 * (buffer or pipe); the relay ends when both directions are shut, on an
 * error, or on the idle timer. Errors and timeouts reset both sides
 * (MP_FASTCLOSE on MPTCP) so that neither peer waits for a minute; bytes
 * stuck in a pipe are then dropped with it.
 *
 * A TLS leg (the tunnel in protocol v2) arrives as a libevent TLS
 * bufferevent; the relay takes its SSL and socket and reads and writes
 * through OpenSSL, on the same events. Its EOF is the peer's
 * close_notify, and its FIN is ours after a close_notify, so half-close
 * works as on plain TCP; a stream that ends without close_notify is cut
 * short and counts as an error. No splice() on such a relay: the bytes
 * must pass through OpenSSL (docs/relay.md, "TLS legs").
 */

#include "common/relay.h"
#include "common/pipe_pool.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/tls.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One read's worth; also the most a half ever holds pending. */
#define RELAY_SCRATCH		(256 * 1024)
/* OpenSSL's read buffer on a TLS leg, with read-ahead */
#define RELAY_TLS_READ_BUF	(64 * 1024)
/* Below this many bytes a direction is copied: not worth a pipe */
#define RELAY_SPLICE_AFTER	(64 * 1024)

static bool	relay_splice_on;	/* relay_set_splice() */

struct half {
	int		 fd;
	SSL		*ssl;		/* a TLS leg: its bytes pass OpenSSL */
	struct event	*rev, *wev;
	struct half	*peer;
	struct relay	*r;
	uint8_t		*pend;		/* read from peer, not yet written */
	size_t		 pend_off, pend_len;
	struct pipe_pool_pipe pipe;		/* spliced from peer, not yet out */
	size_t		 pipe_len;	/* bytes in pipe */
	uint64_t	 bytes;		/* read from this side */
	bool		 splice_from;	/* plain TCP: splice what it sends */
	bool		 eof;		/* this side sent FIN */
	bool		 shut;		/* we sent FIN to this side */
	bool		 reading;	/* rev is armed */
	/* TLS: OpenSSL wants the other direction of the socket first */
	bool		 read_wants_write, write_wants_read;
	bool		 shut_pending;	/* close_notify not out yet */
	bool		 tls_pending;	/* records gathered, not yet written */
};

struct relay {
	struct half		 a, b;
	struct event_base	*base;
	struct event		*idle_ev;
	struct event		*hold_ev;	/* relay_hold_first() */
	uint64_t		 start_ms, last_ms, idle_ms;
	const struct relay_ops	*ops;
	void			*arg;
};

/* The event loop is single-threaded: one scratch buffer serves all. */
static uint8_t	relay_scratch[RELAY_SCRATCH];


static void	relay_close(struct relay *, const char *, bool abortive);
static void	half_error(struct half *, const char *, int);
static void	relay_write_cb(evutil_socket_t, short, void *);

/* Plain TCP, as opposed to MPTCP (fallen back or not), see the top. */
static bool
fd_is_tcp(int fd)
{
	int		proto = 0;
	socklen_t	len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	    proto == IPPROTO_TCP;
}

/* An OpenSSL failure as an errno for the log: a stream that ended
 * without close_notify is ECONNRESET, a bad record EPROTO. */
static int
tls_errno(struct half *h, int n)
{
	int	e = SSL_get_error(h->ssl, n);

	ERR_clear_error();
	if (e == SSL_ERROR_SYSCALL && errno != 0)
		return errno;
	return e == SSL_ERROR_SSL ? EPROTO : ECONNRESET;
}

/*
 * Reads up to len bytes from h: read(), or records out of OpenSSL until
 * the socket has no more. Returns the count, 0 at EOF (a close_notify on
 * TLS), or -1 with errno (EAGAIN: nothing now).
 */
static ssize_t
half_recv(struct half *h, uint8_t *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;

	if (h->ssl == NULL) {
		do
			n = read(h->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	while (got < len) {
		int r = SSL_read(h->ssl, buf + got, (int)MIN(len - got,
		    (size_t)INT_MAX));

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		switch (SSL_get_error(h->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_WANT_WRITE:	/* a key update to answer */
			h->read_wants_write = true;
			event_add(h->wev, NULL);
			break;
		case SSL_ERROR_ZERO_RETURN:
			if (got > 0)		/* the EOF again next time */
				return (ssize_t)got;
			return 0;
		default:
			if (got > 0)
				return (ssize_t)got;
			errno = tls_errno(h, r);
			return -1;
		}
		break;
	}
	if (got == 0) {
		errno = EAGAIN;
		return -1;
	}
	/* a full buffer may leave decrypted bytes no event will announce */
	if (got == len && tls_has_pending(h->ssl))
		event_active(h->rev, EV_READ, 0);
	return (ssize_t)got;
}

/* Writes up to len bytes to h: the count, or -1 with errno (EAGAIN:
 * later, and for TLS with the same bytes again). */
static ssize_t
half_xmit(struct half *h, const uint8_t *buf, size_t len)
{
	ssize_t	n;
	size_t	done = 0;

	if (h->ssl == NULL) {
		do
			n = write(h->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	/*
	 * SSL_MODE_ENABLE_PARTIAL_WRITE: each SSL_write_ex() returns after
	 * one record. All of buf goes in, record by record, until our BIO
	 * is full; it then leaves in one write(). (Flushing after each
	 * record cost a write(), an event and the copy of the rest into the
	 * pending buffer per 16 KiB: that was most of TLS's CPU.)
	 */
	while (done < len) {
		size_t	n1 = 0;

		if (SSL_write_ex(h->ssl, buf + done, len - done, &n1) == 1) {
			done += n1;
			continue;
		}
		if (done > 0 && SSL_get_error(h->ssl, 0) == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			break;		/* our BIO is full: flush what is in */
		}
		if (done > 0)
			break;		/* the error again, on the next call */
		goto failed;
	}
	/* the records wait in our BIO: one write for all of them */
	switch (tls_flush(h->ssl)) {
	case -1:
		return -1;
	case 1:
		h->tls_pending = true;	/* the rest when writable */
		break;
	}
	return (ssize_t)done;
failed:
	switch (SSL_get_error(h->ssl, 0)) {
	case SSL_ERROR_WANT_WRITE:
		h->tls_pending = true;	/* our BIO is full: flush first */
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		h->write_wants_read = true;
		event_add(h->rev, NULL);
		errno = EAGAIN;
		return -1;
	default:
		errno = tls_errno(h, 0);
		return -1;
	}
}

static void
half_reading(struct half *h, bool on)
{
	if (on == h->reading)
		return;
	h->reading = on;
	if (on) {
		event_add(h->rev, NULL);
		if (h->ssl != NULL && tls_has_pending(h->ssl))
			event_active(h->rev, EV_READ, 0);
	} else if (!h->write_wants_read)
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
	if (h->shut || h->pend_len > 0 || h->pipe_len > 0 || h->tls_pending ||
	    !h->peer->eof)
		return true;
	/*
	 * TLS: close_notify ends our direction; the other one keeps going.
	 * OpenSSL marks it sent before it is written: one that met a full
	 * socket (shut_pending) waits in OpenSSL, and only SSL_shutdown()
	 * again writes it. Called once it is out, SSL_shutdown() would wait
	 * for the peer's and read (discarding data): never then.
	 */
	if (h->ssl != NULL && (h->shut_pending ||
	    !(SSL_get_shutdown(h->ssl) & SSL_SENT_SHUTDOWN))) {
		int r = SSL_shutdown(h->ssl);
		int e = r < 0 ? SSL_get_error(h->ssl, r) : SSL_ERROR_NONE;

		if (e == SSL_ERROR_WANT_WRITE) {
			h->shut_pending = true;
			event_add(h->wev, NULL);
			return true;
		}
		/* WANT_READ: it went out, and now OpenSSL awaits the peer's */
		if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) {
			half_error(h, "close_notify", tls_errno(h, r));
			return false;
		}
		ERR_clear_error();
	}
	if (h->ssl != NULL && h->shut_pending) {
		h->shut_pending = false;
		event_del(h->wev);
	}
	/* the close_notify (and anything before it) leaves our BIO first */
	if (h->ssl != NULL) {
		int f = tls_flush(h->ssl);

		if (f == -1) {
			half_error(h, "write", errno);
			return false;
		}
		if (f == 1) {
			h->tls_pending = true;
			event_add(h->wev, NULL);
			return true;
		}
	}
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
		n = half_xmit(h, buf, len);
		if (n == -1 && errno != EAGAIN) {
			half_error(h, "write", errno);
			return false;
		}
		if (n == -1)
			n = 0;
		if ((size_t)n == len) {
			if (h->tls_pending) {	/* in our BIO: wait for it */
				half_reading(h->peer, false);
				event_add(h->wev, NULL);
			}
			return true;
		}
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

/*
 * What h holds pending went out: read its peer again, and forward the
 * peer's EOF if that was all. false if r was closed.
 */
static bool
half_drained(struct half *h)
{
	event_del(h->wev);
	if (!h->peer->eof)
		half_reading(h->peer, true);
	return half_shut(h);					/* may free */
}

/*
 * Splices what the pipe holds into h; what h does not take stays in the
 * pipe, and the source stops being read until it drains. The emptied
 * pipe goes back to the pool at once. false if r was closed.
 */
static bool
half_splice_out(struct half *h)
{
	ssize_t	n;

	do
		n = splice(h->pipe.rd, NULL, h->fd, NULL, h->pipe_len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno != EAGAIN) {
		half_error(h, "write", errno);
		return false;
	}
	if (n > 0)
		h->pipe_len -= (size_t)n;
	if (h->pipe_len > 0) {
		half_reading(h->peer, false);		/* peer not draining */
		event_add(h->wev, NULL);
		return true;
	}
	pipe_pool_put(&h->pipe, h->r->base);
	return true;
}

/*
 * Moves one chunk from h to its peer through a pipe. Only called while the
 * peer has nothing pending, so a pipe from the pool is empty and EAGAIN
 * means that h has nothing to read. false: splice is not possible, use
 * read() (also to see EOF). true: done, and r may have been closed.
 */
static bool
half_splice_in(struct half *h)
{
	struct half	*d = h->peer;
	ssize_t		 n;

	if (!pipe_pool_get(&d->pipe))
		return false;
	do
		n = splice(h->fd, NULL, d->pipe.wr, NULL, d->pipe.cap,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		int	err = errno;

		pipe_pool_put(&d->pipe, h->r->base);
		if (n == 0)
			return false;		/* EOF: read() says it again */
		if (err == EAGAIN)
			return true;
		if (err == EINVAL || err == ENOSYS) {
			h->splice_from = false;	/* never for this socket */
			return false;
		}
		half_error(h, "read", err);
		return true;
	}
	h->bytes += (uint64_t)n;
	h->r->last_ms = util_now_ms();
	d->pipe_len = (size_t)n;
	half_splice_out(d);					/* may free */
	return true;
}

static void
relay_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half	*h = arg;
	ssize_t		 n;

	(void)what;
	if (h->splice_from && h->bytes >= RELAY_SPLICE_AFTER &&
	    half_splice_in(h))
		return;						/* may free */
	if (h->write_wants_read) {	/* OpenSSL's write waited for this */
		h->write_wants_read = false;
		if (!h->reading)
			event_del(h->rev);
		relay_write_cb(fd, EV_WRITE, h);
		return;					/* may free */
	}
	n = half_recv(h, relay_scratch, sizeof(relay_scratch));
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
	if (h->read_wants_write) {	/* OpenSSL's read waited for this */
		h->read_wants_write = false;
		if (h->pend_len == 0 && !h->shut_pending)
			event_del(h->wev);
		relay_read_cb(fd, EV_READ, h);
		return;					/* may free */
	}
	if (h->shut_pending) {
		half_shut(h);				/* may free */
		return;
	}
	if (h->tls_pending) {		/* gathered records first */
		int f = tls_flush(h->ssl);

		if (f == -1) {
			half_error(h, "write", errno);
			return;
		}
		if (f == 1)
			return;			/* still full: wait */
		h->tls_pending = false;
		if (h->pend_len == 0 && h->pipe_len == 0) {
			half_drained(h);		/* may free */
			return;
		}
	}
	if (h->pipe_len > 0) {	/* never both: the source waits for either */
		if (half_splice_out(h) && h->pipe_len == 0)
			half_drained(h);			/* may free */
		return;
	}
	n = half_xmit(h, h->pend + h->pend_off, h->pend_len);
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
	half_drained(h);					/* may free */
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
	if (h->pipe.rd != -1 && h->pipe_len > 0)
		pipe_pool_close(&h->pipe);	/* bytes stuck in it are dropped */
	else if (h->pipe.rd != -1)
		pipe_pool_put(&h->pipe, h->r->base);
	if (h->ssl != NULL)
		SSL_free(h->ssl);	/* our reference: no close_notify now */
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
	if (r->hold_ev != NULL)
		event_free(r->hold_ev);
	half_free(&r->a, abortive);
	half_free(&r->b, abortive);
	free(r);
	pipe_pool_release();
}

static void
relay_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	(void)fd;
	(void)what;
	if (r->a.pend_len > 0)		/* b said nothing in time */
		event_add(r->a.wev, NULL);
}

void
relay_hold_first(struct relay *r, unsigned ms)
{
	if (r->a.pend_len == 0 || r->hold_ev != NULL ||
	    (r->hold_ev = evtimer_new(r->base, relay_hold_cb, r)) == NULL)
		return;
	/* b is read meanwhile: its first bytes join a's pending ones
	 * (half_send() appends and writes them together) */
	event_del(r->a.wev);
	half_reading(&r->b, true);
	evtimer_add(r->hold_ev, (&(struct timeval){ ms / 1000,
	    (suseconds_t)(ms % 1000) * 1000 }));
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

	SSL		*ssl = bufferevent_openssl_get_ssl(bev);

	h->r = r;
	h->peer = peer;
	/* no deferred callback of the handshake may run after this */
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (ssl != NULL) {
		/* a TLS leg: the SSL is held once more and its socket hidden
		 * from libevent, which then frees neither */
		if (!SSL_up_ref(ssl) || (h->fd = tls_detach_fd(ssl)) == -1) {
			h->fd = -1;
			return false;
		}
		h->ssl = ssl;
		/* From here only the relay reads it: OpenSSL may read
		 * ahead, a socket read per 64 KiB instead of two per
		 * record; half_recv() empties what it buffers. */
		SSL_set_default_read_buffer_len(ssl, RELAY_TLS_READ_BUF);
		SSL_set_read_ahead(ssl, 1);
		tls_coalesce(ssl, true);
	} else {
		h->fd = bufferevent_getfd(bev);
		bufferevent_setfd(bev, -1);	/* the relay closes it now */
	}
	h->splice_from = relay_splice_on && h->ssl == NULL && fd_is_tcp(h->fd);
	/* a blocking splice() or write() would stall every relay */
	evutil_make_socket_nonblocking(h->fd);
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
	r->a.pipe.rd = r->a.pipe.wr = r->b.pipe.rd = r->b.pipe.wr = -1;
	r->base = base;
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
	/* a pipe cannot carry bytes into or out of OpenSSL */
	if (r->a.ssl != NULL || r->b.ssl != NULL)
		r->a.splice_from = r->b.splice_from = false;
	pipe_pool_hold();
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

void
relay_set_splice(bool on)
{
	relay_splice_on = on;
}

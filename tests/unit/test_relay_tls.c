/*
 * relay.c with a TLS leg (protocol v2's tunnel), over loopback TCP:
 * app <-> [a: plain TCP, relay, b: libevent TLS bufferevent] <-> far,
 * where far is a TLS server SSL of tls.c the test drives itself. Bulk
 * both ways, half-close through close_notify, a stream cut without
 * close_notify, an abort with bytes in flight, bytes already queued in
 * the TLS bufferevent at relay_start, a close_notify that meets a full
 * socket, and no splice() on a TLS relay even when splicing is on.
 * Every case counts descriptors. tls.c alone: test_tls.c.
 */

#include "relay_testutil.h"
#include "tls_testutil.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/tls.h"
#include "proto/util.h"

/* The far TLS end, driven by the test through SSL_read/SSL_write. */
struct tend {
	int		 fd;
	SSL		*ssl;
	const uint8_t	*src;
	size_t		 len, sent;
	bool		 shut_after;	/* close_notify + FIN after src */
	bool		 shut;
	bool		 reading;
	uint8_t		*got;
	size_t		 cap, rcvd;
	bool		 eof;		/* close_notify received */
	int		 err;		/* SSL_get_error of a failed read */
	bool		 overflow;
};


struct bev_state {
	bool	connected, error;
};

static void
bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bev_state	*st = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		st->connected = true;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		st->error = true;
}

/*
 * Bytes that arrive at the TLS bufferevent before relay_start stay in
 * its input: nobody reads them but the relay. Reading stops at the high
 * watermark, as a session does when it has what it waited for: libevent
 * 2.1.12 re-runs this callback without end while OpenSSL still holds
 * decrypted bytes and reading stays enabled (EVLOOP_NONBLOCK never
 * returns).
 */
static void
bev_read_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_disable(bev, EV_READ);
}

/*
 * The relay's TLS leg as the tunnel client makes it: a bufferevent in
 * BUFFEREVENT_SSL_CONNECTING over tls_client_new() with the prefix; the
 * far end a server SSL that checked the prefix. Runs until the
 * bufferevent reports BEV_EVENT_CONNECTED and the server is done.
 */
static struct bufferevent *
tls_leg_new(struct event_base *base, SSL_CTX *cctx, SSL_CTX *sctx,
    struct tend *far, int *bev_fd, bool unix_pair)
{
	struct keys		 k;
	struct bev_state	 st = { false, false };
	struct bufferevent	*bev;
	SSL			*c;
	int			 cfd, sfd, sdone = 0, err = 0;
	uint64_t		 end_ms = util_now_ms() + DEADLINE_MS;

	keys_new(&k);
	if (unix_pair) {
		int	sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
		cfd = sv[0];
		sfd = sv[1];
	} else
		tcp_pair(&cfd, &sfd);
	c = tls_client_new(cctx, cfd, k.psk, k.id, k.prefix, PREFIX_LEN);
	assert_non_null(c);
	bev = bufferevent_openssl_socket_new(base, cfd, c,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	assert_non_null(bev);
	bufferevent_setcb(bev, bev_read_cb, NULL, bev_event_cb, &st);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	memset(far, 0, sizeof(*far));
	far->fd = sfd;
	far->ssl = server_after_prefix(sctx, sfd, &k, base);
	assert_non_null(far->ssl);
	while (!st.connected || sdone != 1) {
		assert_false(st.error);
		assert_true(util_now_ms() < end_ms);
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (sdone == 0)
			sdone = hs_step(far->ssl, &err);
		assert_int_not_equal(sdone, -1);
		sleep_short();
	}
	/* the relay's callbacks replace these; until then, no reading */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	*bev_fd = cfd;
	return bev;
}

static void
tend_init(struct tend *e, const uint8_t *src, size_t len, size_t cap)
{
	e->src = src;
	e->len = len;
	e->sent = 0;
	e->reading = true;
	e->cap = cap;
	e->got = malloc(cap > 0 ? cap : 1);
	assert_non_null(e->got);
}

static void
tend_free(struct tend *e)
{
	if (e->ssl != NULL)
		SSL_free(e->ssl);
	if (e->fd != -1)
		close(e->fd);
	free(e->got);
	e->ssl = NULL;
	e->fd = -1;
}

static bool
tend_step(struct tend *e)
{
	bool	moved = false;
	size_t	n;
	int	r;

	while (e->sent < e->len) {
		if (SSL_write_ex(e->ssl, e->src + e->sent, e->len - e->sent,
		    &n) != 1)
			break;
		e->sent += n;
		moved = true;
	}
	ERR_clear_error();
	if (e->sent == e->len && e->shut_after && !e->shut) {
		r = SSL_shutdown(e->ssl);
		assert_true(r >= 0);
		assert_int_equal(shutdown(e->fd, SHUT_WR), 0);
		e->shut = true;
		moved = true;
	}
	while (e->reading && !e->eof && e->err == 0) {
		uint8_t	buf[65536];

		if (SSL_read_ex(e->ssl, buf, sizeof(buf), &n) != 1) {
			r = SSL_get_error(e->ssl, 0);
			ERR_clear_error();
			if (r == SSL_ERROR_ZERO_RETURN) {
				e->eof = true;
				moved = true;
			} else if (r != SSL_ERROR_WANT_READ &&
			    r != SSL_ERROR_WANT_WRITE)
				e->err = r;
			break;
		}
		if (e->rcvd + n > e->cap) {
			e->overflow = true;
			n = e->cap - e->rcvd;
		}
		memcpy(e->got + e->rcvd, buf, n);
		e->rcvd += n;
		moved = true;
	}
	return moved;
}

/* The bed: app <-> [a relay b(TLS)] <-> far. */
struct tbed {
	struct event_base	*base;
	SSL_CTX			*cctx, *sctx;
	struct bufferevent	*ba, *bb;	/* until relay_start */
	struct relay		*relay;
	struct closed		 c;
	int			 app, ra, rb;	/* rb: the TLS leg's socket */
	struct tend		 far;
	int			 fds0;
};

static void
tbed_up(struct tbed *b, bool unix_pair)
{
	memset(b, 0, sizeof(*b));
	b->fds0 = count_fds(false);
	b->base = event_base_new();
	assert_non_null(b->base);
	b->cctx = tls_ctx_new(false, TLS_CIPHER_AUTO);
	b->sctx = tls_ctx_new(true, TLS_CIPHER_AUTO);
	assert_non_null(b->cctx);
	assert_non_null(b->sctx);
	tcp_pair(&b->app, &b->ra);
	b->ba = bufferevent_socket_new(b->base, b->ra, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(b->ba);
	b->bb = tls_leg_new(b->base, b->cctx, b->sctx, &b->far, &b->rb,
	    unix_pair);
	assert_non_null(bufferevent_openssl_get_ssl(b->bb));
}

static void
tbed_start(struct tbed *b)
{
	b->relay = relay_start(b->base, b->ba, b->bb, 300, &relay_test_ops,
	    &b->c);
	b->ba = b->bb = NULL;
	assert_non_null(b->relay);
}

/* Ends the relay if still open; its two sockets must then be closed,
 * and after the test's own, every descriptor the case opened. */
static void
tbed_down(struct tbed *b)
{
	if (b->c.calls == 0)
		relay_stop(b->relay, "test over");
	assert_int_equal(b->c.calls, 1);
	CHECK("relay's plain socket closed", fcntl(b->ra, F_GETFD) == -1);
	CHECK("relay's TLS socket closed", fcntl(b->rb, F_GETFD) == -1);
	close(b->app);
	tend_free(&b->far);
	tls_ctx_free(b->cctx);
	tls_ctx_free(b->sctx);
	event_base_free(b->base);
	CHECK_EQ("fds", count_fds(false), b->fds0);
}

struct probe {
	struct tbed	*b;
	struct end	*app;
	bool		 (*done)(struct probe *);
	int		 pipes0;
	bool		 saw_pipe;
};

/* Runs the loop and both ends until p->done or the deadline; notes
 * whether any pipe appeared on the way. */
static bool
tpump(struct probe *p)
{
	uint64_t	end_ms = util_now_ms() + DEADLINE_MS;

	while (!p->done(p)) {
		bool	moved;

		if (util_now_ms() > end_ms)
			return false;
		event_base_loop(p->b->base, EVLOOP_NONBLOCK);
		moved = end_step(p->app);
		moved = tend_step(&p->b->far) || moved;
		if (count_fds(true) > p->pipes0)
			p->saw_pipe = true;
		if (!moved)
			sleep_short();
	}
	return true;
}

static void
check_tend(const char *row, struct tend *to, const uint8_t *want,
    size_t len)
{
	CHECK(row, !to->overflow);
	CHECK_EQ(row, to->rcvd, len);
	CHECK(row, memcmp(to->got, want, len) == 0);
}

static bool
all_done(struct probe *p)
{
	return p->app->eof && p->b->far.eof && p->b->c.calls > 0;
}

/*
 * Bulk both ways at once through the TLS leg, then close_notify + FIN
 * both ways: "done", exact bytes and counts. Splicing is on (main), yet
 * no pipe may appear: a pipe would bypass OpenSSL, and the far end's
 * SSL_read would fail on the first plaintext byte.
 */
static void
test_tls_bulk_both_ways(void **state)
{
	enum { LEN = 6 << 20 };
	struct tbed	 b;
	struct end	 app;
	struct probe	 p = { &b, &app, all_done, 0, false };
	uint8_t		*up = pattern(LEN, 21), *down = pattern(LEN, 22);

	(void)state;
	tbed_up(&b, false);
	p.pipes0 = count_fds(true);
	tbed_start(&b);
	end_init(&app, b.app, up, LEN, LEN);
	tend_init(&b.far, down, LEN, LEN);
	app.shut_after = b.far.shut_after = true;
	assert_true(tpump(&p));
	check_tend("app to far", &b.far, up, LEN);
	check_transfer("far to app", &app, down, LEN);
	CHECK_STR("reason", b.c.reason, "done");
	CHECK_EQ("a_to_b", b.c.st.a_to_b, LEN);
	CHECK_EQ("b_to_a", b.c.st.b_to_a, LEN);
	CHECK_EQ("half_closed calls", b.c.half_calls, 2);
	CHECK("no pipe on a TLS relay", !p.saw_pipe);
	tbed_down(&b);
	free(app.got);
	free(up);
	free(down);
}

static bool
far_eof(struct probe *p)
{
	return p->b->far.eof || p->b->far.err != 0;
}

static bool
app_got_all(struct probe *p)
{
	return p->app->rcvd == p->app->cap;
}

/*
 * The app sends and shuts its write side: the far end gets every byte,
 * then a close_notify (SSL_ERROR_ZERO_RETURN, not a cut), and can still
 * answer after it, byte-exact. Then the far end closes too: "done".
 */
static void
test_tls_half_close(void **state)
{
	enum { UP = 1 << 20, DOWN = 700000 };
	struct tbed	 b;
	struct end	 app;
	struct probe	 p = { &b, &app, far_eof, 0, false };
	uint8_t		*up = pattern(UP, 23), *down = pattern(DOWN, 24);

	(void)state;
	tbed_up(&b, false);
	tbed_start(&b);
	end_init(&app, b.app, up, UP, DOWN);
	tend_init(&b.far, NULL, 0, UP);
	app.shut_after = true;
	assert_true(tpump(&p));
	CHECK_EQ("far read error", b.far.err, 0);
	CHECK("far saw close_notify", b.far.eof);
	CHECK("relay sent close_notify",
	    SSL_get_shutdown(b.far.ssl) & SSL_RECEIVED_SHUTDOWN);
	check_tend("app to far before close_notify", &b.far, up, UP);
	CHECK_EQ("still open", b.c.calls, 0);
	CHECK_EQ("half_closed calls", b.c.half_calls, 1);
	b.far.src = down;		/* the answer, after the close_notify */
	b.far.len = DOWN;
	p.done = app_got_all;
	assert_true(tpump(&p));
	check_transfer("far to app after close_notify", &app, down, DOWN);
	CHECK_EQ("still open after the answer", b.c.calls, 0);
	CHECK("app not at EOF yet", !app.eof);
	b.far.shut_after = true;
	p.done = all_done;
	assert_true(tpump(&p));
	CHECK_STR("reason", b.c.reason, "done");
	CHECK_EQ("a_to_b", b.c.st.a_to_b, UP);
	CHECK_EQ("b_to_a", b.c.st.b_to_a, DOWN);
	tbed_down(&b);
	free(app.got);
	free(up);
	free(down);
}

static bool
relay_closed(struct probe *p)
{
	return p->b->c.calls > 0;
}

/* After the relay closed: what the app reads is EOF or a reset,
 * never more bytes than the far end sent. */
static bool
app_sees_end(struct end *app, uint64_t deadline_ms)
{
	uint8_t	buf[65536];

	while (util_now_ms() < deadline_ms) {
		ssize_t	n = read(app->fd, buf, sizeof(buf));

		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return true;
		if (n > 0)
			app->rcvd += (size_t)n;
		else
			sleep_short();
	}
	return false;
}

/*
 * The far end sends part of its bytes, then a bare FIN: no close_notify,
 * as an attacker or a middlebox cutting the stream would. The relay must
 * not pass that on as a clean EOF: it ends with an error and resets the
 * app, which sees no more than the far end sent.
 */
static void
test_tls_truncated(void **state)
{
	enum { LEN = 2 << 20, CUT = 300000 };
	struct tbed	 b;
	struct end	 app;
	struct probe	 p = { &b, &app, app_got_all, 0, false };
	uint8_t		*up = pattern(LEN, 25), *down = pattern(CUT, 26);

	(void)state;
	tbed_up(&b, false);
	tbed_start(&b);
	end_init(&app, b.app, up, LEN, CUT);
	tend_init(&b.far, down, CUT, LEN);
	assert_true(tpump(&p));		/* mid-stream: the app still sends */
	assert_int_equal(shutdown(b.far.fd, SHUT_WR), 0);
	b.far.reading = false;
	p.done = relay_closed;
	assert_true(tpump(&p));
	CHECK("not a clean end", strcmp(b.c.reason, "done") != 0);
	CHECK("the TLS side's read failed",
	    strncmp(b.c.reason, "remote read error", 17) == 0);
	CHECK("app sees EOF or reset",
	    app_sees_end(&app, util_now_ms() + DEADLINE_MS));
	CHECK_EQ("no bytes beyond the cut", app.rcvd, CUT);
	tbed_down(&b);
	free(app.got);
	free(up);
	free(down);
}

/* relay_stop with bytes held both ways (neither end reads): closed
 * once, both sockets closed, nothing leaks (ASan). */
static void
test_tls_abort_in_flight(void **state)
{
	enum { LEN = 32 << 20 };
	struct tbed	 b;
	struct end	 app;
	uint8_t		*up = pattern(LEN, 27), *down = pattern(LEN, 28);
	uint64_t	 until;

	(void)state;
	tbed_up(&b, false);
	tbed_start(&b);
	end_init(&app, b.app, up, LEN, 1);
	tend_init(&b.far, down, LEN, 1);
	app.reading = b.far.reading = false;
	until = util_now_ms() + 300;
	while (util_now_ms() < until) {		/* fill every buffer */
		event_base_loop(b.base, EVLOOP_NONBLOCK);
		end_step(&app);
		tend_step(&b.far);
		sleep_short();
	}
	CHECK("app is blocked", app.sent < LEN);
	CHECK("far is blocked", b.far.sent < LEN);
	relay_stop(b.relay, "aborted");
	CHECK_EQ("closed calls", b.c.calls, 1);
	CHECK_STR("reason", b.c.reason, "aborted");
	tbed_down(&b);
	free(app.got);
	free(up);
	free(down);
}

static bool
both_got_all(struct probe *p)
{
	return p->app->rcvd == p->app->cap && p->b->far.rcvd == p->b->far.cap;
}

/*
 * Bytes queued in the TLS bufferevent when the relay takes it: a request
 * in its output (as tunnel_client.c leaves one behind the handshake) and
 * records the far end sent first, in its input. The input's read
 * watermark is small, so OpenSSL still holds decrypted bytes that no
 * socket event will announce, and the kernel holds the rest.
 */
static void
test_tls_queued_at_start(void **state)
{
	enum { OUT = 5000, IN = 200000, WM = 4096 };
	struct tbed	 b;
	struct end	 app;
	struct probe	 p = { &b, &app, both_got_all, 0, false };
	uint8_t		*out = pattern(OUT, 29), *in = pattern(IN, 30);
	uint64_t	 end_ms = util_now_ms() + DEADLINE_MS;

	(void)state;
	tbed_up(&b, false);
	tend_init(&b.far, in, IN, OUT);
	bufferevent_setwatermark(b.bb, EV_READ, 0, WM);
	bufferevent_enable(b.bb, EV_READ);
	/* what the kernel does not take now the far end sends later */
	while (evbuffer_get_length(bufferevent_get_input(b.bb)) == 0) {
		tend_step(&b.far);
		event_base_loop(b.base, EVLOOP_NONBLOCK);
		assert_true(util_now_ms() < end_ms);
		sleep_short();
	}
	/* a 16 KiB record decrypted, a part of it taken into the input */
	CHECK("OpenSSL holds decrypted bytes",
	    SSL_pending(bufferevent_openssl_get_ssl(b.bb)) > 0);
	assert_int_equal(bufferevent_write(b.bb, out, OUT), 0);
	CHECK_EQ("output queued", evbuffer_get_length(
	    bufferevent_get_output(b.bb)), OUT);
	tbed_start(&b);
	end_init(&app, b.app, NULL, 0, IN);
	assert_true(tpump(&p));
	check_tend("queued output to far", &b.far, out, OUT);
	check_transfer("queued input to app", &app, in, IN);
	app.shut_after = b.far.shut_after = true;
	p.done = all_done;
	assert_true(tpump(&p));
	CHECK_STR("reason", b.c.reason, "done");
	tbed_down(&b);
	free(app.got);
	free(out);
	free(in);
}

/*
 * The app's FIN arrives while the TLS leg's socket is full, nothing
 * pending in the relay: SSL_shutdown() cannot write the close_notify
 * (WANT_WRITE) and OpenSSL keeps it, already marking it sent. Once the
 * socket drains, the close_notify must go out before the FIN; the far
 * end sees a clean end, not a cut. The leg is an AF_UNIX pair, where a
 * small write either fits whole or fails, and SIOCOUTQ says when the
 * next would fail: the test fills it exactly with 1-byte records.
 */
static void
test_tls_close_notify_on_full_socket(void **state)
{
	struct tbed	 b;
	struct end	 app;
	struct probe	 p = { &b, &app, far_eof, 0, false };
	SSL		*c;
	int		 sndbuf = 4096, outq = 0, filled = 0;
	socklen_t	 len = sizeof(sndbuf);

	(void)state;
	tbed_up(&b, true);
	c = bufferevent_openssl_get_ssl(b.bb);
	assert_int_equal(setsockopt(b.rb, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	assert_int_equal(getsockopt(b.rb, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    &len), 0);
	for (;;) {
		assert_int_equal(ioctl(b.rb, SIOCOUTQ, &outq), 0);
		if (outq >= sndbuf)
			break;			/* the next write would fail */
		assert_int_equal(SSL_write(c, "x", 1), 1);
		filled++;
	}
	tbed_start(&b);
	end_init(&app, b.app, NULL, 0, 1);
	app.shut_after = true;
	tend_init(&b.far, NULL, 0, (size_t)filled);
	b.far.reading = false;
	for (int i = 0; i < 50; i++) {	/* the relay meets the full socket */
		event_base_loop(b.base, EVLOOP_NONBLOCK);
		end_step(&app);
		sleep_short();
	}
	CHECK_EQ("app's FIN seen", b.c.half_calls, 1);
	b.far.reading = true;
	assert_true(tpump(&p));
	CHECK_EQ("far read error", b.far.err, 0);
	CHECK("far saw close_notify", b.far.eof);
	CHECK_EQ("records before it", b.far.rcvd, filled);
	b.far.shut_after = true;
	p.done = all_done;
	assert_true(tpump(&p));
	CHECK_STR("reason", b.c.reason, "done");
	tbed_down(&b);
	free(app.got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_bulk_both_ways),
		cmocka_unit_test(test_tls_half_close),
		cmocka_unit_test(test_tls_truncated),
		cmocka_unit_test(test_tls_abort_in_flight),
		cmocka_unit_test(test_tls_queued_at_start),
		cmocka_unit_test(test_tls_close_notify_on_full_socket),
	};

	/* as the daemons do (daemon.c): a reset peer is an error value */
	signal(SIGPIPE, SIG_IGN);
	/* on, as for the plain relay tests: a TLS relay must still copy */
	relay_set_splice(true);
	return cmocka_run_group_tests_name("relay_tls", tests, NULL, NULL);
}

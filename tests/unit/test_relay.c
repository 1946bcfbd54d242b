/*
 * relay.c over real TCP sockets on 127.0.0.1 (both legs plain TCP, so
 * both directions splice once past the threshold): byte-exact bulk both
 * ways, a FIN that arrives while bytes still wait in a pipe, pipes given
 * back when a relay goes idle, read/write when no pipe can be had, an
 * abort with bytes in a pipe, and short exchanges that never take a pipe.
 * Under ASan (make check) this also hunts leaks and use-after-free in the
 * relay's teardown paths.
 */

#include "relay_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/relay.h"
#include "proto/util.h"

#define DEADLINE_MS	20000

/* Runs the loop and both ends until done(arg) or the deadline. */
static bool
pump(struct event_base *base, struct end *x, struct end *y,
    bool (*done)(void *), void *arg)
{
	uint64_t	end_ms = util_now_ms() + DEADLINE_MS;

	while (!done(arg)) {
		bool	moved;

		if (util_now_ms() > end_ms)
			return false;
		event_base_loop(base, EVLOOP_NONBLOCK);
		moved = end_step(x);
		moved = end_step(y) || moved;
		if (!moved)
			nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
	return true;
}

/* The relay between two fresh TCP pairs: app <-> [a relay b] <-> dst. */
struct bed {
	struct event_base	*base;
	struct relay		*relay;
	struct closed		 c;
	int			 app, dst;
};

static void
bed_up(struct bed *b)
{
	struct bufferevent	*ba, *bb;
	int			 ra, rb;

	memset(b, 0, sizeof(*b));
	b->base = event_base_new();
	assert_non_null(b->base);
	tcp_pair(&b->app, &ra);
	tcp_pair(&b->dst, &rb);
	ba = bufferevent_socket_new(b->base, ra, 0);
	bb = bufferevent_socket_new(b->base, rb, 0);
	assert_non_null(ba);
	assert_non_null(bb);
	b->relay = relay_start(b->base, ba, bb, 300, &relay_test_ops, &b->c);
	assert_non_null(b->relay);
}

static void
bed_down(struct bed *b)
{
	if (b->c.calls == 0)
		relay_stop(b->relay, "test over");
	assert_int_equal(b->c.calls, 1);
	close(b->app);
	close(b->dst);
	event_base_free(b->base);
}

struct both_done {
	struct end	*x, *y;
	struct closed	*c;
};

static bool
all_done(void *arg)
{
	struct both_done	*d = arg;

	return d->x->eof && d->y->eof && d->c->calls > 0;
}


/* Bulk both ways at once, then FIN both ways: "done", exact counts. */
static void
test_bulk_both_ways(void **state)
{
	enum { LEN = 8 << 20 };
	struct bed	 b;
	struct end	 app, dst;
	uint8_t		*up = pattern(LEN, 1), *down = pattern(LEN, 2);
	int		 fds0 = count_fds(false);

	(void)state;
	bed_up(&b);
	end_init(&app, b.app, up, LEN, LEN);
	end_init(&dst, b.dst, down, LEN, LEN);
	app.shut_after = dst.shut_after = true;
	assert_true(pump(b.base, &app, &dst, all_done,
	    &(struct both_done){ &app, &dst, &b.c }));
	check_transfer("app to dst", &dst, up, LEN);
	check_transfer("dst to app", &app, down, LEN);
	CHECK_STR("reason", b.c.reason, "done");
	CHECK_EQ("a_to_b", b.c.st.a_to_b, LEN);
	CHECK_EQ("b_to_a", b.c.st.b_to_a, LEN);
	CHECK_EQ("half_closed calls", b.c.half_calls, 2);
	bed_down(&b);
	/* the last relay ended: no pipe or timer may stay behind */
	CHECK_EQ("fds", count_fds(false), fds0);
	free(app.got);
	free(dst.got);
	free(up);
	free(down);
}

static bool
sent_and_half_closed(void *arg)
{
	struct both_done	*d = arg;

	return d->x->shut && d->c->half_calls > 0;
}

/*
 * The app sends 2 MB and its FIN while the destination reads nothing:
 * the FIN waits behind bytes the relay holds (a full pipe, the source
 * paused) and must be forwarded only after them. The other direction
 * stays open until the destination closes it too.
 */
static void
test_fin_after_piped_bytes(void **state)
{
	enum { LEN = 2 << 20 };
	struct bed	 b;
	struct end	 app, dst;
	uint8_t		*up = pattern(LEN, 3), *down = pattern(300000, 4);

	(void)state;
	bed_up(&b);
	end_init(&app, b.app, up, LEN, 300000);
	end_init(&dst, b.dst, down, 300000, LEN);
	app.shut_after = true;
	dst.reading = false;
	assert_true(pump(b.base, &app, &dst, sent_and_half_closed,
	    &(struct both_done){ &app, &dst, &b.c }));
	CHECK_EQ("still open", b.c.calls, 0);
	CHECK_EQ("nothing read yet", dst.rcvd, 0);
	dst.reading = true;
	dst.shut_after = true;	/* answers, then closes: relay done */
	assert_true(pump(b.base, &app, &dst, all_done,
	    &(struct both_done){ &app, &dst, &b.c }));
	check_transfer("app to dst, FIN after", &dst, up, LEN);
	check_transfer("dst to app after the app's FIN", &app, down, 300000);
	CHECK_STR("reason", b.c.reason, "done");
	bed_down(&b);
	free(app.got);
	free(dst.got);
	free(up);
	free(down);
}

static bool
received_pair(void *arg)
{
	struct both_done	*d = arg;

	return d->x->rcvd == d->x->cap && d->y->rcvd == d->y->cap;
}

static bool
pipes_back_to(void *arg)
{
	int	*want = arg;

	return count_fds(true) <= *want;
}

/* After 1 MB each way the relay goes idle: soon it holds no pipe,
 * while it is still open. */
static void
test_idle_holds_no_pipe(void **state)
{
	enum { LEN = 1 << 20 };
	struct bed	 b;
	struct end	 app, dst;
	uint8_t		*up = pattern(LEN, 5), *down = pattern(LEN, 6);
	int		 pipes0;
	(void)state;
	bed_up(&b);
	pipes0 = count_fds(true);	/* the event base has one of its own */
	end_init(&app, b.app, up, LEN, LEN);
	end_init(&dst, b.dst, down, LEN, LEN);
	assert_true(pump(b.base, &app, &dst, received_pair,
	    &(struct both_done){ &app, &dst, &b.c }));
	check_transfer("app to dst", &dst, up, LEN);
	check_transfer("dst to app", &app, down, LEN);
	/* the pool closes what it has not lent for 1 to 2 s: the pump's
	 * deadline is far beyond, so a loaded machine cannot fail this */
	assert_true(pump(b.base, &app, &dst, pipes_back_to, &pipes0));
	CHECK_EQ("relay still open", b.c.calls, 0);
	bed_down(&b);
	CHECK_STR("reason", b.c.reason, "test over");
	free(app.got);
	free(dst.got);
	free(up);
	free(down);
}

/* No descriptor left for a pipe: the relay copies instead, exactly. */
static void
test_no_pipe_falls_back(void **state)
{
	enum { LEN = 2 << 20 };
	struct bed	 b;
	struct end	 app, dst;
	struct rlimit	 old, tight;
	uint8_t		*up = pattern(LEN, 7), *down = pattern(LEN, 8);

	(void)state;
	bed_up(&b);
	end_init(&app, b.app, up, LEN, LEN);
	end_init(&dst, b.dst, down, LEN, LEN);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	tight = old;
	/* the limit is on descriptor numbers: none free below it */
	int lowest = dup(0);
	assert_int_not_equal(lowest, -1);
	close(lowest);
	tight.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	app.shut_after = dst.shut_after = true;
	bool ok = pump(b.base, &app, &dst, all_done,
	    &(struct both_done){ &app, &dst, &b.c });
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(ok);
	check_transfer("app to dst", &dst, up, LEN);
	check_transfer("dst to app", &app, down, LEN);
	CHECK_STR("reason", b.c.reason, "done");
	bed_down(&b);
	free(app.got);
	free(dst.got);
	free(up);
	free(down);
}

/* relay_stop while bytes wait in a pipe: closed once, nothing leaks. */
static void
test_abort_with_piped_bytes(void **state)
{
	enum { LEN = 64 << 20 };
	struct bed	 b;
	struct end	 app, dst;
	uint8_t		*up = pattern(LEN, 9);
	int		 fds0 = count_fds(false), pipes0;
	uint64_t	 until;

	(void)state;
	bed_up(&b);
	pipes0 = count_fds(true);
	end_init(&app, b.app, up, LEN, 1);
	end_init(&dst, b.dst, NULL, 0, LEN);
	dst.reading = false;
	until = util_now_ms() + 300;
	while (util_now_ms() < until) {		/* fill every buffer */
		event_base_loop(b.base, EVLOOP_NONBLOCK);
		end_step(&app);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	CHECK("app is blocked", app.sent < LEN);
	CHECK("a pipe holds bytes", count_fds(true) > pipes0);
	relay_stop(b.relay, "aborted");
	CHECK_EQ("closed calls", b.c.calls, 1);
	CHECK_STR("reason", b.c.reason, "aborted");
	bed_down(&b);
	CHECK_EQ("fds", count_fds(false), fds0);
	free(app.got);
	free(dst.got);
	free(up);
}

struct small_probe {
	struct end	*x, *y;
	int		 pipes0;
	bool		 saw_pipe;
};

static bool
got_small(void *arg)
{
	struct small_probe	*p = arg;

	if (count_fds(true) > p->pipes0)
		p->saw_pipe = true;
	return p->x->rcvd == p->x->cap && p->y->rcvd == p->y->cap;
}

/* Below the splice threshold a relay never takes a pipe. */
static void
test_small_never_pipes(void **state)
{
	enum { LEN = 10000 };
	struct bed	 b;
	struct end	 app, dst;
	struct small_probe probe = { &app, &dst, 0, false };
	uint8_t		*up = pattern(LEN, 10), *down = pattern(LEN, 11);

	(void)state;
	bed_up(&b);
	probe.pipes0 = count_fds(true);
	end_init(&app, b.app, up, LEN, LEN);
	end_init(&dst, b.dst, down, LEN, LEN);
	assert_true(pump(b.base, &app, &dst, got_small, &probe));
	CHECK("never more pipes than at start", !probe.saw_pipe);
	check_transfer("app to dst", &dst, up, LEN);
	check_transfer("dst to app", &app, down, LEN);
	bed_down(&b);
	free(app.got);
	free(dst.got);
	free(up);
	free(down);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_both_ways),
		cmocka_unit_test(test_fin_after_piped_bytes),
		cmocka_unit_test(test_idle_holds_no_pipe),
		cmocka_unit_test(test_abort_with_piped_bytes),
		cmocka_unit_test(test_small_never_pipes),
		/* last: a failed pipe2() stops splicing for a second */
		cmocka_unit_test(test_no_pipe_falls_back),
	};

	relay_set_splice(true);	/* off by default: what is under test */
	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}

/*
 * dial.c: the Happy Eyeballs plan (RFC 8305 section 5) run on a virtual
 * clock, row by row: each address's fate, and the trace of what the
 * plan did; which failure is reported when all fail; then the dialer on
 * loopback: a dead first address (a listener whose accept queue is full
 * drops SYNs), a refused one, cancelling, and the descriptor budget,
 * with the process's descriptors counted before and after.
 */

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/dial.h"
#include "proto/reply.h"

/* --- the plan on a virtual clock ------------------------------------- */

/*
 * An address's fate, after its attempt starts: "ok@D" connects D ms
 * later, "fail@D" fails D ms later (fail@0: connect() itself failed),
 * "-" never answers. The trace: S<i>@t started, F<i>@t failed,
 * A<i>@t given up, W<i>@t won, END@t all failed (1-based i).
 */
/* Appends " X<i>@t" (E: "END@t") to out. */
static void
trace(char *out, size_t len, size_t *o, char what, size_t i, uint64_t t)
{
	if (*o >= len)
		return;
	if (what == 'E')
		*o += (size_t)snprintf(out + *o, len - *o, "%sEND@%llu",
		    *o ? " " : "", (unsigned long long)t);
	else
		*o += (size_t)snprintf(out + *o, len - *o, "%s%c%zu@%llu",
		    *o ? " " : "", what, i, (unsigned long long)t);
}

static void
simulate(const char *const *fate, size_t n, uint64_t timeout,
    size_t max_inflight, char *out, size_t len)
{
	struct dial_plan	p;
	uint64_t		now = 0, at[DIAL_MAX_ADDRS] = { 0 };
	bool			ok[DIAL_MAX_ADDRS] = { false };
	bool			live[DIAL_MAX_ADDRS] = { false };
	size_t			o = 0;

	out[0] = '\0';
	dial_plan_init(&p, n, now, timeout, max_inflight);
	for (int guard = 0; guard < 100; guard++) {
		struct dial_next nx = dial_plan_next(&p, now);
		uint64_t	 t;
		size_t		 first = n;

		switch (nx.step) {
		case DIAL_START:
			trace(out, len, &o, 'S', nx.idx + 1, now);
			assert_int_equal(nx.idx, p.next);
			dial_plan_started(&p, now);
			if (strcmp(fate[nx.idx], "-") == 0)
				continue;
			ok[nx.idx] = fate[nx.idx][0] == 'o';
			at[nx.idx] = now + (uint64_t)atoi(
			    strchr(fate[nx.idx], '@') + 1);
			if (!ok[nx.idx] && at[nx.idx] == now) {
				trace(out, len, &o, 'F', nx.idx + 1, now);
				dial_plan_ended(&p, nx.idx, now);
			} else
				live[nx.idx] = true;
			continue;
		case DIAL_ABANDON:
			trace(out, len, &o, 'A', nx.idx + 1, now);
			assert_true(p.pending[nx.idx]);
			live[nx.idx] = false;
			dial_plan_ended(&p, nx.idx, now);
			continue;
		case DIAL_FAIL:
			trace(out, len, &o, 'E', 0, now);
			return;
		case DIAL_WAIT:
			break;
		}
		/* the earliest answer, or the plan's wake-up */
		t = nx.wake_ms;
		assert_true(t > now);
		for (size_t i = 0; i < n; i++)
			if (live[i] && at[i] <= t) {
				t = at[i];
				first = i;
			}
		now = t;
		if (first == n)
			continue;
		live[first] = false;
		if (ok[first]) {
			trace(out, len, &o, 'W', first + 1, now);
			return;
		}
		trace(out, len, &o, 'F', first + 1, now);
		dial_plan_ended(&p, first, now);
	}
	fail_msg("the plan did not end: %s", out);
}

static void
test_plan(void **state)
{
	static const struct {
		const char	*name;
		const char	*fate[DIAL_MAX_ADDRS];
		uint64_t	 timeout;
		size_t		 max_inflight;
		const char	*want;
	} rows[] = {
		{ "one, connects", { "ok@30" }, 10000, 2, "S1@0 W1@30" },
		{ "one, silent", { "-" }, 10000, 2, "S1@0 END@10000" },
		{ "one, fails", { "fail@40" }, 10000, 2, "S1@0 F1@40 END@40" },
		{ "first fast: the second never starts", { "ok@100", "ok@1" },
		    10000, 2, "S1@0 W1@100" },
		{ "first silent: the second after the delay",
		    { "-", "ok@20" }, 10000, 2, "S1@0 S2@250 W2@270" },
		{ "first slow: it still wins, the second pending",
		    { "ok@400", "-" }, 10000, 2, "S1@0 S2@250 W1@400" },
		{ "first fails at connect(): the next at once",
		    { "fail@0", "ok@5" }, 10000, 2,
		    "S1@0 F1@0 S2@0 W2@5" },
		{ "first fails before the delay: the next at once",
		    { "fail@100", "ok@5" }, 10000, 2,
		    "S1@0 F1@100 S2@100 W2@105" },
		{ "one fails while another is pending: the third at once",
		    { "fail@300", "-", "ok@5" }, 10000, 2,
		    "S1@0 S2@250 F1@300 S3@300 W3@305" },
		{ "two silent: the oldest makes room at its share",
		    { "-", "-", "ok@5" }, 9000, 2,
		    "S1@0 S2@250 A1@3000 S3@3000 W3@3005" },
		{ "one at a time (no spare descriptor): the old shares",
		    { "-", "ok@5" }, 10000, 1,
		    "S1@0 A1@5000 S2@5000 W2@5005" },
		{ "the last fails, the first pending: wait to the end",
		    { "-", "fail@10" }, 10000, 2,
		    "S1@0 S2@250 F2@260 END@10000" },
		{ "a share is at least a second, the deadline holds",
		    { "-", "-", "-" }, 1000, 2, "S1@0 S2@250 END@1000" },
		{ "all fail at once",
		    { "fail@0", "fail@0", "fail@0" }, 10000, 2,
		    "S1@0 F1@0 S2@0 F2@0 S3@0 F3@0 END@0" },
		{ "eight, the last works",
		    { "fail@0", "-", "fail@0", "-", "fail@0", "-", "fail@0",
		    "ok@1" }, 20000, 2,
		    "S1@0 F1@0 S2@0 S3@250 F3@250 S4@250 A2@2857 S5@2857 "
		    "F5@2857 S6@2857 A4@4200 S7@4200 F7@4200 S8@4200 "
		    "W8@4201" },
		{ "none", { NULL }, 10000, 2, "END@0" },
	};
	char	got[512];

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		size_t	n = 0;

		while (n < DIAL_MAX_ADDRS && rows[i].fate[n] != NULL)
			n++;
		simulate(rows[i].fate, n, rows[i].timeout,
		    rows[i].max_inflight, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row \"%s\": got \"%s\", want \"%s\"",
			    rows[i].name, got, rows[i].want);
	}
}

/* The wake-ups: never in the past, never past the deadline. */
static void
test_plan_wake(void **state)
{
	struct dial_plan	p;
	struct dial_next	nx;

	(void)state;
	dial_plan_init(&p, 3, 1000, 2000, 2);
	nx = dial_plan_next(&p, 1000);
	assert_int_equal(nx.step, DIAL_START);
	dial_plan_started(&p, 1000);
	nx = dial_plan_next(&p, 1100);
	assert_int_equal(nx.step, DIAL_WAIT);
	assert_int_equal(nx.wake_ms, 1000 + DIAL_DELAY_MS);
	nx = dial_plan_next(&p, 1250);
	assert_int_equal(nx.step, DIAL_START);
	dial_plan_started(&p, 1250);
	nx = dial_plan_next(&p, 1300);		/* full: the share, capped */
	assert_int_equal(nx.step, DIAL_WAIT);
	assert_int_equal(nx.wake_ms, 1000 + DIAL_MIN_SHARE_MS);
	nx = dial_plan_next(&p, 3000);
	assert_int_equal(nx.step, DIAL_FAIL);
	/* ended twice, or never started: no effect */
	dial_plan_ended(&p, 0, 1400);
	dial_plan_ended(&p, 0, 1500);
	dial_plan_ended(&p, 2, 1500);
	assert_int_equal(p.ready_ms, 1400);
	assert_false(p.pending[0]);
	assert_true(p.pending[1]);
}

/* --- which failure is reported --------------------------------------- */

struct failure {
	int		 err;
	bool		 at_once;
};

/* Also the rank table's edges. */
static void
test_err_rank(void **state)
{
	(void)state;
	assert_int_equal(dial_err_rank(ECONNREFUSED, true), 4);
	assert_int_equal(dial_err_rank(ECONNREFUSED, false), 4);
	assert_int_equal(dial_err_rank(ECONNRESET, false), 3);
	assert_int_equal(dial_err_rank(EHOSTUNREACH, false), 3);
	assert_int_equal(dial_err_rank(EHOSTUNREACH, true), 1);
	assert_int_equal(dial_err_rank(EAFNOSUPPORT, true), 1);
	assert_int_equal(dial_err_rank(ETIMEDOUT, false), 2);
	assert_int_equal(dial_err_rank(0, true), 0);
	assert_int_equal(dial_err_rank(ENFILE, true), 0);
}

static void
test_err_pick(void **state)
{
	static const struct {
		const char	*name;
		struct failure	 seq[4];
		size_t		 n;
		int		 want;
		enum reply_code	 reply;
	} rows[] = {
		{ "refused beats a later timeout",
		    { { ECONNREFUSED, false }, { ETIMEDOUT, false } }, 2,
		    ECONNREFUSED, REPLY_REFUSED },
		{ "refused beats an earlier timeout",
		    { { ETIMEDOUT, false }, { ECONNREFUSED, false } }, 2,
		    ECONNREFUSED, REPLY_REFUSED },
		{ "no route here (IPv6), then a timeout: the timeout",
		    { { ENETUNREACH, true }, { ETIMEDOUT, false } }, 2,
		    ETIMEDOUT, REPLY_TIMED_OUT },
		{ "a timeout, then no route here: still the timeout",
		    { { ETIMEDOUT, false }, { ENETUNREACH, true } }, 2,
		    ETIMEDOUT, REPLY_TIMED_OUT },
		{ "an ICMP unreachable beats a timeout",
		    { { EHOSTUNREACH, false }, { ETIMEDOUT, false } }, 2,
		    EHOSTUNREACH, REPLY_HOST_UNREACH },
		{ "equal: the later",
		    { { EHOSTUNREACH, false }, { ENETUNREACH, false } }, 2,
		    ENETUNREACH, REPLY_NET_UNREACH },
		{ "a bind failure (0) loses to the network",
		    { { 0, true }, { ETIMEDOUT, false } }, 2,
		    ETIMEDOUT, REPLY_TIMED_OUT },
		{ "no descriptors loses to no route",
		    { { ENETUNREACH, true }, { EMFILE, true } }, 2,
		    ENETUNREACH, REPLY_NET_UNREACH },
		{ "only local failures: the last",
		    { { 0, true }, { EMFILE, true } }, 2,
		    EMFILE, REPLY_GENERAL },
		{ "not allowed (EACCES) beats a timeout",
		    { { ETIMEDOUT, false }, { EACCES, true },
		    { ETIMEDOUT, false } }, 3, EACCES, REPLY_NOT_ALLOWED },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		struct dial_failure	f = { .rank = -1 };
		static const char	*const whys[] = { "a", "b", "c", "d" };

		for (size_t k = 0; k < rows[i].n; k++)
			dial_failure_note(&f, rows[i].seq[k].err,
			    rows[i].seq[k].at_once, whys[k]);
		CHECK_EQ(rows[i].name, f.err, rows[i].want);
		CHECK_EQ(rows[i].name, reply_from_errno(f.err), rows[i].reply);
		for (size_t k = rows[i].n; k-- > 0;)
			if (rows[i].seq[k].err == rows[i].want) {
				CHECK_STR(rows[i].name, f.why, whys[k]);
				break;	/* the later of equals */
			}
	}
}

/* --- the dialer on loopback ----------------------------------------- */

struct outcome {
	int			 calls;
	struct bufferevent	*bev;
	size_t			 idx;
	int			 err;
	const char		*why;
	struct event_base	*base;
};

static void
done_cb(void *arg, struct bufferevent *bev, size_t idx, int err,
    const char *why)
{
	struct outcome	*r = arg;

	r->calls++;
	r->bev = bev;
	r->idx = idx;
	r->err = err;
	r->why = why;
	event_base_loopbreak(r->base);
}

static const struct dial_ops test_ops = { .done = done_cb };

/* libevent closes a freed bufferevent's socket in the loop's next turn
 * (its finalizers): give it that turn, then count. */
static int	fds_open(void);

static int
fds_open_after(struct event_base *base)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	return fds_open();
}

static int
fds_open(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;		/* the DIR's own */
}

/* A listener on 127.0.0.1; its address in *sa. */
static int
listener(struct sockaddr_storage *sa, int backlog)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)sa;
	socklen_t		 len = sizeof(*sin);
	int			 l;

	memset(sa, 0, sizeof(*sa));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(l, -1);
	assert_int_equal(bind(l, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(listen(l, backlog), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)sin, &len), 0);
	return l;
}

/*
 * A dead address: a listener whose accept queue is full (backlog 0, one
 * connection never accepted), so the kernel drops further SYNs and a
 * connect stays in SYN-SENT. *filler is the connection that fills it.
 */
static int
blackhole(struct sockaddr_storage *sa, int *filler)
{
	int	l = listener(sa, 0);

	*filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(*filler, -1);
	assert_int_equal(connect(*filler, (struct sockaddr *)sa,
	    sizeof(struct sockaddr_in)), 0);
	return l;
}

/* An address nothing listens on: a port that was just closed. */
static void
closed_port(struct sockaddr_storage *sa)
{
	close(listener(sa, 1));
}

/* Runs a dial of n addresses to its end; the result in *r. */
static void
run_dial(struct event_base *base, const struct sockaddr_storage *addrs,
    size_t n, uint64_t timeout_ms, struct dial_fds *fds, struct outcome *r)
{
	struct dial_params	 dp = {
		.base = base, .addrs = addrs, .n = n, .timeout_ms = timeout_ms,
		.fds = fds, .tag = "t=test", .ops = &test_ops, .arg = r,
	};
	struct dial		*d;
	int			 err;
	const char		*why;

	memset(r, 0, sizeof(*r));
	r->base = base;
	d = dial_start(&dp, &err, &why);
	if (d == NULL) {
		r->calls = -1;		/* failed at once */
		r->err = err;
		return;
	}
	event_base_dispatch(base);
}

static void
test_dial_dead_first(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_storage	 a[2];
	struct outcome		 r;
	size_t			 conns = 10;
	struct dial_fds		 fds = { .room = 21, .fds_each = 2,
				    .conns = &conns };	/* room for one */
	int			 l1, l2, filler, before;
	uint64_t		 t0;

	(void)state;
	assert_non_null(base);
	l1 = blackhole(&a[0], &filler);
	l2 = listener(&a[1], 8);
	before = fds_open();
	t0 = util_now_ms();
	run_dial(base, a, 2, 20000, &fds, &r);
	assert_int_equal(r.calls, 1);
	assert_non_null(r.bev);
	assert_int_equal(r.idx, 1);
	/* the second started while the first was pending: it did not wait
	 * for the first to time out (its share would be 10 s) */
	assert_true(util_now_ms() - t0 < 5000);
	assert_int_equal(fds.used, 0);
	/* the winner is the only descriptor left of the dial */
	assert_int_equal(fds_open_after(base), before + 1);
	bufferevent_free(r.bev);
	assert_int_equal(fds_open_after(base), before);
	close(filler);
	close(l1);
	close(l2);
	event_base_free(base);
}

static void
test_dial_refused(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_storage	 a[2];
	struct outcome		 r;
	int			 l2, before;

	(void)state;
	assert_non_null(base);
	closed_port(&a[0]);
	l2 = listener(&a[1], 8);
	before = fds_open();
	run_dial(base, a, 2, 20000, NULL, &r);
	assert_int_equal(r.calls, 1);
	assert_non_null(r.bev);
	assert_int_equal(r.idx, 1);
	bufferevent_free(r.bev);
	/* both refused: ECONNREFUSED, before any timeout */
	closed_port(&a[1]);
	run_dial(base, a, 2, 20000, NULL, &r);
	assert_true(r.calls == 1 || r.calls == -1);
	assert_null(r.bev);
	assert_int_equal(r.err, ECONNREFUSED);
	assert_int_equal(fds_open_after(base), before);
	close(l2);
	event_base_free(base);
}

/* A dead address and a refused one: refused is reported, at the end. */
static void
test_dial_dead_and_refused(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_storage	 a[2];
	struct outcome		 r;
	int			 l1, filler, before;

	(void)state;
	assert_non_null(base);
	l1 = blackhole(&a[0], &filler);
	closed_port(&a[1]);
	before = fds_open();
	run_dial(base, a, 2, 1500, NULL, &r);
	assert_int_equal(r.calls, 1);
	assert_null(r.bev);
	assert_int_equal(r.err, ECONNREFUSED);
	assert_int_equal(fds_open_after(base), before);
	close(filler);
	close(l1);
	event_base_free(base);
}

/* The daemon's descriptors all budgeted: one attempt at a time, each
 * for its share. */
static void
test_dial_no_spare(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_storage	 a[2];
	struct outcome		 r;
	size_t			 conns = 10;
	struct dial_fds		 fds = { .room = 20, .fds_each = 2,
				    .conns = &conns };	/* no room */
	int			 l1, l2, filler, before;
	uint64_t		 t0;

	(void)state;
	assert_non_null(base);
	l1 = blackhole(&a[0], &filler);
	l2 = listener(&a[1], 8);
	before = fds_open();
	t0 = util_now_ms();
	run_dial(base, a, 2, 2000, &fds, &r);
	assert_int_equal(r.calls, 1);
	assert_non_null(r.bev);
	assert_int_equal(r.idx, 1);
	/* the first had its share (1 s) before the second started */
	assert_true(util_now_ms() - t0 >= 900);
	assert_int_equal(fds.used, 0);
	bufferevent_free(r.bev);
	assert_int_equal(fds_open_after(base), before);
	close(filler);
	close(l1);
	close(l2);
	event_base_free(base);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Cancelled with two attempts pending: nothing left open, no call. */
static void
test_dial_cancel(void **state)
{
	struct event_base	*base = event_base_new();
	struct sockaddr_storage	 a[2];
	struct outcome		 r = { 0 };
	size_t			 conns = 1;
	struct dial_fds		 fds = { .room = 100, .fds_each = 2,
				    .conns = &conns };
	struct dial_params	 dp = {
		.base = base, .addrs = a, .n = 2, .timeout_ms = 20000,
		.fds = &fds, .tag = "t=test", .ops = &test_ops, .arg = &r,
	};
	struct dial		*d;
	struct event		*stop;
	int			 l1, filler, before, err;
	const char		*why;

	(void)state;
	assert_non_null(base);
	l1 = blackhole(&a[0], &filler);
	a[1] = a[0];
	before = fds_open();
	r.base = base;
	d = dial_start(&dp, &err, &why);
	assert_non_null(d);
	stop = evtimer_new(base, stop_cb, base);
	evtimer_add(stop, (&(struct timeval){ 0, 600 * 1000 }));
	event_base_dispatch(base);	/* both started by now */
	assert_int_equal(fds_open_after(base), before + 2);
	assert_int_equal(fds.used, 1);
	dial_cancel(d);
	assert_int_equal(fds_open_after(base), before);
	assert_int_equal(fds.used, 0);
	assert_int_equal(r.calls, 0);
	event_free(stop);
	close(filler);
	close(l1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_wake),
		cmocka_unit_test(test_err_rank),
		cmocka_unit_test(test_err_pick),
		cmocka_unit_test(test_dial_dead_first),
		cmocka_unit_test(test_dial_refused),
		cmocka_unit_test(test_dial_dead_and_refused),
		cmocka_unit_test(test_dial_no_spare),
		cmocka_unit_test(test_dial_cancel),
	};

	return cmocka_run_group_tests_name("dial", tests, NULL, NULL);
}

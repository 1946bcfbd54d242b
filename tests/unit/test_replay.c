/*
 * replay.c: the timestamp window, the nonce cache across generations, and
 * refusal when full. The clock is passed in, so windows are stepped
 * through exactly.
 */

#include "testutil.h"

#include "server/replay.h"
#include "proto/util.h"

#define W	30000ULL		/* window, ms */
#define N0	(10 * W + 500)		/* a "now" early in generation 10 */

static void
nonce_of(uint8_t n[16], uint32_t v)
{
	memset(n, 0, 16);
	n[0] = 0x80;			/* never all zero */
	n[12] = (uint8_t)(v >> 24);
	n[13] = (uint8_t)(v >> 16);
	n[14] = (uint8_t)(v >> 8);
	n[15] = (uint8_t)v;
}

static void
test_new_bounds(void **state)
{
	struct replay	*r;

	(void)state;
	assert_null(replay_new(0, W));
	assert_null(replay_new(16, 0));
	assert_null(replay_new((1u << 26) + 1, W));
	r = replay_new(1, 1);
	assert_non_null(r);
	replay_free(r);
	replay_free(NULL);
}

/* One replay cache, one sequence of checks; each row sees the state the
 * rows above it left. */
struct step {
	const char		*name;
	uint32_t		 nonce;		/* 0: the all-zero nonce */
	int64_t			 ts_off;	/* timestamp - now */
	uint64_t		 now;
	enum replay_result	 want;
};

static const struct step window_steps[] = {
	{ "fresh", 1, 0, N0, REPLAY_OK },
	{ "same nonce", 1, 0, N0, REPLAY_SEEN },
	{ "same nonce, other timestamp", 1, -5000, N0, REPLAY_SEEN },
	{ "same nonce, 1 ms later", 1, 0, N0 + 1, REPLAY_SEEN },
	{ "too old by 1 ms", 2, -(int64_t)W - 1, N0, REPLAY_STALE },
	{ "exactly a window old (stale one not kept)", 2, -(int64_t)W, N0,
	    REPLAY_OK },
	{ "too new by 1 ms", 3, (int64_t)W + 1, N0, REPLAY_STALE },
	{ "exactly a window ahead", 3, (int64_t)W, N0, REPLAY_OK },
	{ "stale wins over seen", 1, -(int64_t)W - 1, N0, REPLAY_STALE },
	{ "another fresh nonce", 4, 0, N0, REPLAY_OK },
	{ "all-zero nonce", 0, 0, N0, REPLAY_SEEN },
	{ "all-zero nonce, stale", 0, (int64_t)W + 1, N0, REPLAY_STALE },
	{ "next window: still seen", 1, 0, N0 + W, REPLAY_SEEN },
	{ "2 windows later: still seen", 1, 0, N0 + 2 * W, REPLAY_SEEN },
	{ "end of the 2nd window after", 2, 0, 13 * W - 1, REPLAY_SEEN },
	{ "3 windows later: forgotten", 1, 0, N0 + 3 * W, REPLAY_OK },
	{ "and remembered again", 1, 0, N0 + 3 * W, REPLAY_SEEN },
	{ "nonce 3 forgotten too", 3, 0, N0 + 3 * W, REPLAY_OK },
	{ "its old timestamp is stale", 4, -3 * (int64_t)W, N0 + 3 * W,
	    REPLAY_STALE },
	{ "its fresh timestamp is ok", 4, 0, N0 + 3 * W, REPLAY_OK },
	{ "long gap: all forgotten", 1, 0, N0 + 1000 * W, REPLAY_OK },
};

static void
run_steps(const struct step *steps, size_t n, size_t capacity)
{
	struct replay	*r = replay_new(capacity, W);

	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		const struct step	*s = &steps[i];
		uint8_t			 nonce[16] = { 0 };

		if (s->nonce != 0)
			nonce_of(nonce, s->nonce);
		CHECK_EQ(s->name, replay_check(r, nonce,
		    (uint64_t)((int64_t)s->now + s->ts_off), s->now), s->want);
	}
	replay_free(r);
}

static void
test_window_and_generations(void **state)
{
	(void)state;
	run_steps(window_steps, NELEM(window_steps), 1024);
}

static const struct step full_steps[] = {
	{ "1 of 4", 1, 0, N0, REPLAY_OK },
	{ "2 of 4", 2, 0, N0, REPLAY_OK },
	{ "3 of 4", 3, 0, N0, REPLAY_OK },
	{ "4 of 4", 4, 0, N0, REPLAY_OK },
	{ "5th: full", 5, 0, N0, REPLAY_FULL },
	{ "still full", 6, 0, N0 + 1, REPLAY_FULL },
	{ "a seen one is still seen", 2, 0, N0, REPLAY_SEEN },
	{ "refused one was not remembered", 5, 0, N0 + W, REPLAY_OK },
	{ "next window: room again", 6, 0, N0 + W, REPLAY_OK },
	{ "old ones still seen", 4, 0, N0 + W, REPLAY_SEEN },
	{ "2 more", 7, 0, N0 + W, REPLAY_OK },
	{ "3 more", 8, 0, N0 + W, REPLAY_OK },
	{ "full again", 9, 0, N0 + W, REPLAY_FULL },
};

static void
test_full(void **state)
{
	(void)state;
	run_steps(full_steps, NELEM(full_steps), 4);
}

/* Nonces that share their first 8 bytes land in one slot and probe on;
 * filling every place in a generation must still terminate. */
static void
test_colliding_nonces(void **state)
{
	struct replay	*r = replay_new(64, W);
	uint8_t		 n[16];

	(void)state;
	assert_non_null(r);
	for (uint32_t v = 1; v <= 64; v++) {
		nonce_of(n, v);
		assert_int_equal(replay_check(r, n, N0, N0), REPLAY_OK);
	}
	for (uint32_t v = 1; v <= 64; v++) {
		nonce_of(n, v);
		assert_int_equal(replay_check(r, n, N0, N0), REPLAY_SEEN);
	}
	nonce_of(n, 65);
	assert_int_equal(replay_check(r, n, N0, N0), REPLAY_FULL);
	replay_free(r);
}

/*
 * Whatever the moment a header was accepted and whatever its timestamp,
 * the same header is never accepted again: at every later millisecond it
 * is either remembered or stale. Small window, exhaustive.
 */
static void
test_no_replay_ever(void **state)
{
	const uint64_t	w = 8;
	uint8_t		n[16];

	(void)state;
	nonce_of(n, 42);
	for (uint64_t t = 100 * w; t < 101 * w; t++) {
		for (uint64_t ts = t - w; ts <= t + w; ts++) {
			struct replay	*r = replay_new(4, w);

			assert_non_null(r);
			assert_int_equal(replay_check(r, n, ts, t), REPLAY_OK);
			for (uint64_t now = t; now <= t + 5 * w; now++) {
				enum replay_result res;

				res = replay_check(r, n, ts, now);
				if (res != REPLAY_SEEN && res != REPLAY_STALE)
					fail_msg("accepted at %llu, ts %llu: "
					    "%s again at %llu",
					    (unsigned long long)t,
					    (unsigned long long)ts,
					    replay_result_str(res),
					    (unsigned long long)now);
			}
			replay_free(r);
		}
	}
}

static void
test_early_clock(void **state)
{
	struct replay	*r = replay_new(16, W);
	uint8_t		 n[16];

	(void)state;
	assert_non_null(r);
	nonce_of(n, 1);
	/* now inside the first window: no generation below 0 */
	assert_int_equal(replay_check(r, n, 0, 100), REPLAY_OK);
	assert_int_equal(replay_check(r, n, 0, 100), REPLAY_SEEN);
	nonce_of(n, 2);
	assert_int_equal(replay_check(r, n, UINT64_MAX, 100), REPLAY_STALE);
	assert_int_equal(replay_check(r, n, UINT64_MAX - W + 1, 100),
	    REPLAY_STALE);
	assert_int_equal(replay_check(r, n, UINT64_MAX - W + 1, 0),
	    REPLAY_STALE);
	replay_free(r);
}

static void
test_result_str(void **state)
{
	(void)state;
	assert_string_equal(replay_result_str(REPLAY_OK), "ok");
	assert_string_equal(replay_result_str(REPLAY_STALE),
	    "stale_timestamp");
	assert_string_equal(replay_result_str(REPLAY_SEEN), "replay");
	assert_string_equal(replay_result_str(REPLAY_FULL),
	    "replay_cache_full");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bounds),
		cmocka_unit_test(test_window_and_generations),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_colliding_nonces),
		cmocka_unit_test(test_no_replay_ever),
		cmocka_unit_test(test_early_clock),
		cmocka_unit_test(test_result_str),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}

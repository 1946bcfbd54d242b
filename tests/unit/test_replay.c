/*
 * replay.c: the timestamp window, the freshness floor (restart, wall clock
 * set back, forgotten generations), the nonce cache across generations of
 * monotonic time, the per-key shares, and refusal when full. Both clocks
 * are passed in, so windows and clock steps are gone through exactly.
 */

#include "testutil.h"

#include "server/replay.h"
#include "proto/util.h"

#define W	30000ULL		/* window, ms */
#define N0	(10 * W + 500)		/* a "now" early in generation 10 */
#define MIN5	300000ULL		/* a 5-minute clock step */
#define T0	1700000000000ULL	/* a wall time at start */
#define M0	5000ULL			/* the monotonic time at start */

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

/* One key, both clocks at 0 at start, wall and monotonic time equal:
 * the cache as it was before the floor and the shares. */
static struct replay *
replay_plain(size_t capacity, uint64_t window)
{
	return replay_new(capacity, window, 1, 0, 0);
}

static void
test_new_bounds(void **state)
{
	struct replay	*r;

	(void)state;
	assert_null(replay_new(0, W, 1, 0, 0));
	assert_null(replay_new(16, 0, 1, 0, 0));
	assert_null(replay_new(REPLAY_MAX_CAPACITY + 1, W, 1, 0, 0));
	assert_null(replay_new(16, W, 0, 0, 0));
	assert_null(replay_new(16, W, REPLAY_MAX_KEYS + 1, 0, 0));
	r = replay_new(1, 1, REPLAY_MAX_KEYS, UINT64_MAX, UINT64_MAX);
	assert_non_null(r);
	assert_int_equal(replay_set_keys(r, 0), -1);
	assert_int_equal(replay_set_keys(r, REPLAY_MAX_KEYS + 1), -1);
	assert_int_equal(replay_set_keys(r, 1), 0);
	replay_free(r);
	replay_free(NULL);
}

/*
 * One replay cache, one sequence of checks; each row sees the state the
 * rows above it left. ts is absolute; P() writes a row of the plain
 * cache, where wall and monotonic time are one "now" and ts an offset.
 */
struct step {
	const char		*name;
	size_t			 key;
	uint32_t		 nonce;		/* 0: the all-zero nonce */
	uint64_t		 ts, wall, mono;
	enum replay_result	 want;
};

#define P(name, nonce, off, now, want)					\
	{ name, 0, nonce, (uint64_t)((int64_t)(now) + (off)), now, now, want }

static void
run_steps(struct replay *r, const struct step *steps, size_t n)
{
	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		const struct step	*s = &steps[i];
		uint8_t			 nonce[16] = { 0 };

		if (s->nonce != 0)
			nonce_of(nonce, s->nonce);
		CHECK_EQ(s->name, replay_check(r, s->key, nonce, s->ts,
		    s->wall, s->mono), s->want);
	}
	replay_free(r);
}

static const struct step window_steps[] = {
	P("fresh", 1, 0, N0, REPLAY_OK),
	P("same nonce", 1, 0, N0, REPLAY_SEEN),
	P("same nonce, other timestamp", 1, -5000, N0, REPLAY_SEEN),
	P("same nonce, 1 ms later", 1, 0, N0 + 1, REPLAY_SEEN),
	P("too old by 1 ms", 2, -(int64_t)W - 1, N0, REPLAY_STALE),
	P("a window old, wall 1 ms behind the highest seen: floor", 2,
	    -(int64_t)W, N0, REPLAY_FLOOR),
	P("exactly a window old (stale, floor not kept)", 2, -(int64_t)W,
	    N0 + 1, REPLAY_OK),
	P("too new by 1 ms", 3, (int64_t)W + 1, N0, REPLAY_STALE),
	P("exactly a window ahead", 3, (int64_t)W, N0, REPLAY_OK),
	P("stale wins over seen", 1, -(int64_t)W - 1, N0, REPLAY_STALE),
	P("another fresh nonce", 4, 0, N0, REPLAY_OK),
	P("all-zero nonce", 0, 0, N0, REPLAY_SEEN),
	P("all-zero nonce, stale", 0, (int64_t)W + 1, N0, REPLAY_STALE),
	P("next window: still seen", 1, 0, N0 + W, REPLAY_SEEN),
	P("2 windows later: still seen", 1, 0, N0 + 2 * W, REPLAY_SEEN),
	P("end of the 2nd window after", 2, 0, 13 * W - 1, REPLAY_SEEN),
	P("3 windows later: forgotten", 1, 0, N0 + 3 * W, REPLAY_OK),
	P("and remembered again", 1, 0, N0 + 3 * W, REPLAY_SEEN),
	P("nonce 3 forgotten too", 3, 0, N0 + 3 * W, REPLAY_OK),
	P("its old timestamp is stale", 4, -3 * (int64_t)W, N0 + 3 * W,
	    REPLAY_STALE),
	P("its fresh timestamp is ok", 4, 0, N0 + 3 * W, REPLAY_OK),
	P("long gap: all forgotten", 1, 0, N0 + 1000 * W, REPLAY_OK),
};

static void
test_window_and_generations(void **state)
{
	(void)state;
	run_steps(replay_plain(1024, W), window_steps, NELEM(window_steps));
}

static const struct step full_steps[] = {
	P("1 of 4", 1, 0, N0, REPLAY_OK),
	P("2 of 4", 2, 0, N0, REPLAY_OK),
	P("3 of 4", 3, 0, N0, REPLAY_OK),
	P("4 of 4", 4, 0, N0, REPLAY_OK),
	P("5th: full", 5, 0, N0, REPLAY_FULL),
	P("still full", 6, 0, N0 + 1, REPLAY_FULL),
	P("a seen one is still seen", 2, 0, N0, REPLAY_SEEN),
	P("refused one was not remembered", 5, 0, N0 + W, REPLAY_OK),
	P("next window: room again", 6, 0, N0 + W, REPLAY_OK),
	P("old ones still seen", 4, 0, N0 + W, REPLAY_SEEN),
	P("2 more", 7, 0, N0 + W, REPLAY_OK),
	P("3 more", 8, 0, N0 + W, REPLAY_OK),
	P("full again", 9, 0, N0 + W, REPLAY_FULL),
};

static void
test_full(void **state)
{
	(void)state;
	run_steps(replay_plain(4, W), full_steps, NELEM(full_steps));
}

/*
 * (a) A restart empties the cache; the start floor refuses what was
 * stamped before it while that is still inside the window.
 */
static const struct step restart_steps[] = {
	{ "stamped 1 ms before start", 0, 1, T0 - 1, T0 + 1000, M0 + 1000,
	    REPLAY_FLOOR },
	{ "stamped a window before start", 0, 2, T0 - W + 1000, T0 + 1000,
	    M0 + 1000, REPLAY_FLOOR },
	{ "stamped at start", 0, 3, T0, T0 + 1000, M0 + 1000, REPLAY_OK },
	{ "stamped after start", 0, 4, T0 + 500, T0 + 1000, M0 + 1000,
	    REPLAY_OK },
	{ "end of the first window: still refused", 0, 1, T0 - 1,
	    T0 + W - 1, M0 + W - 1, REPLAY_FLOOR },
	{ "after it the window refuses it", 0, 1, T0 - 1, T0 + W, M0 + W,
	    REPLAY_STALE },
	{ "a fresh one later", 0, 5, T0 + W, T0 + W, M0 + W, REPLAY_OK },
	{ "clock set back, stamped before start: refused", 0, 6, T0 - 1,
	    T0 - 100, M0 + W + 1, REPLAY_FLOOR },
};

static void
test_restart(void **state)
{
	(void)state;
	run_steps(replay_new(64, W, 1, T0, M0), restart_steps,
	    NELEM(restart_steps));
}

/*
 * (b) Ten windows after start, the wall clock is set back 5 minutes (ten
 * windows, to T0) just after nonce 1 was accepted. Monotonic time runs on.
 * The start floor is T0, so what refuses here is the high-water mark and
 * the forgotten generations.
 */
#define S10		(10 * W)
#define BACK(dt)	(T0 + S10 - MIN5 + (dt))	/* wall after it */
#define MONO(dt)	(M0 + S10 + 1 + (dt))		/* mono after it */

static const struct step stepback_steps[] = {
	{ "before the step", 0, 1, T0 + S10, T0 + S10, M0 + S10,
	    REPLAY_OK },
	{ "an old header, never delivered, now looks fresh", 0, 2,
	    BACK(0), BACK(0), MONO(0), REPLAY_FLOOR },
	{ "same, a window older", 0, 3, BACK(0) - W,
	    BACK(0), MONO(0), REPLAY_FLOOR },
	{ "nonce 1 replayed: far from the wall", 0, 1, T0 + S10, BACK(0),
	    MONO(0), REPLAY_STALE },
	{ "fresh headers too, until the wall catches up", 0, 4, BACK(1000),
	    BACK(1000), MONO(1000), REPLAY_FLOOR },
	{ "nonce 1 replayed as the wall catches up (forgotten)", 0, 1,
	    T0 + S10, BACK(MIN5 - W), MONO(MIN5 - W), REPLAY_FLOOR },
	{ "nonce 1 replayed when the wall is back where it was", 0, 1,
	    T0 + S10, BACK(MIN5), MONO(MIN5), REPLAY_FLOOR },
	{ "a fresh header then", 0, 5, BACK(MIN5 + 1000), BACK(MIN5 + 1000),
	    MONO(MIN5 + 1000), REPLAY_OK },
};

/*
 * The hole the high-water floor alone leaves: set back by 2 windows just
 * after nonce 1 was accepted, the wall reads T0 + 2W when the nonce is
 * forgotten, inside both the window and highest-wall - window. The
 * forgotten generation's floor refuses it.
 */
static const struct step hole_steps[] = {
	{ "accepted", 0, 1, T0 + W, T0 + W, M0 + W, REPLAY_OK },
	{ "2 windows back, then 3 windows on: forgotten, refused", 0, 1,
	    T0 + W, T0 + 2 * W, M0 + 4 * W, REPLAY_FLOOR },
	{ "a fresh header is fine", 0, 2, T0 + 2 * W, T0 + 2 * W, M0 + 4 * W,
	    REPLAY_OK },
};

static void
test_wall_clock_back(void **state)
{
	(void)state;
	run_steps(replay_new(64, W, 1, T0, M0), stepback_steps,
	    NELEM(stepback_steps));
	run_steps(replay_new(64, W, 1, T0, M0), hole_steps,
	    NELEM(hole_steps));
}

/*
 * (d) Generations follow monotonic time: a wall clock that jumps ahead
 * does not open a new generation, and one that stands still does not
 * keep an old one.
 */
static const struct step mono_steps[] = {
	{ "1 of 2", 0, 1, T0, T0, M0, REPLAY_OK },
	{ "2 of 2", 0, 2, T0, T0, M0, REPLAY_OK },
	{ "wall 10 windows on, same generation: full", 0, 3, T0 + 10 * W,
	    T0 + 10 * W, M0 + 1, REPLAY_FULL },
	{ "next monotonic window: room", 0, 3, T0 + 10 * W, T0 + 10 * W,
	    M0 + W, REPLAY_OK },
	{ "wall stopped: nonce 1 seen a window on", 0, 1, T0 + 10 * W,
	    T0 + 10 * W, M0 + W, REPLAY_SEEN },
	{ "nonce 3 seen 2 windows on", 0, 3, T0 + 10 * W, T0 + 10 * W,
	    M0 + 3 * W - 1, REPLAY_SEEN },
	{ "3 monotonic windows: nonce 3 forgotten, floor refuses it", 0, 3,
	    T0 + 10 * W, T0 + 10 * W, M0 + 4 * W, REPLAY_FLOOR },
	{ "1 ms later in the stamp: fine", 0, 4, T0 + 10 * W + 1,
	    T0 + 10 * W, M0 + 4 * W, REPLAY_OK },
	{ "monotonic clock going back is ignored", 0, 4, T0 + 10 * W + 1,
	    T0 + 10 * W, M0, REPLAY_SEEN },
};

static void
test_monotonic_generations(void **state)
{
	(void)state;
	run_steps(replay_new(2, W, 1, T0, M0), mono_steps,
	    NELEM(mono_steps));
}

/*
 * (c) 16 per window, 2 keys: a reserve of 4 each and a pool of 8. Key 0
 * takes its reserve and the pool; key 1 still has its reserve.
 */
static void
test_key_shares(void **state)
{
	struct replay	*r = replay_new(16, W, 2, T0, M0);
	uint8_t		 n[16];
	uint32_t	 v = 1;

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 12; i++) {
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_OK);
	}
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_FULL);
	for (int i = 0; i < 4; i++) {
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 1, n, T0, T0, M0), REPLAY_OK);
	}
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 1, n, T0, T0, M0), REPLAY_FULL);
	/* a key index past the keys has no share */
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 2, n, T0, T0, M0), REPLAY_FULL);
	assert_int_equal(replay_check(r, SIZE_MAX, n, T0, T0, M0),
	    REPLAY_FULL);
	/* next window: key 1 first takes the pool, key 0 keeps a reserve */
	for (int i = 0; i < 12; i++) {
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 1, n, T0 + W, T0 + W, M0 + W),
		    REPLAY_OK);
	}
	for (int i = 0; i < 4; i++) {
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 0, n, T0 + W, T0 + W, M0 + W),
		    REPLAY_OK);
	}
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 0, n, T0 + W, T0 + W, M0 + W),
	    REPLAY_FULL);
	replay_free(r);
}

/* One key alone has the whole capacity, as before the shares. */
static void
test_one_key_whole(void **state)
{
	struct replay	*r = replay_new(1024, W, 1, T0, M0);
	uint8_t		 n[16];

	(void)state;
	assert_non_null(r);
	for (uint32_t v = 1; v <= 1024; v++) {
		nonce_of(n, v);
		assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_OK);
	}
	nonce_of(n, 1025);
	assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_FULL);
	replay_free(r);
}

/*
 * A key reload in the middle of a window: the shares are recomputed,
 * what is remembered counts against the pool, nothing is forgotten, and
 * the generation never holds more than the capacity.
 */
static void
test_set_keys(void **state)
{
	struct replay	*r = replay_new(16, W, 2, T0, M0);
	uint8_t		 n[16];
	uint32_t	 v = 1;
	size_t		 ok = 5;

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 5; i++) {		/* reserve 4 + 1 of pool */
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_OK);
	}
	assert_int_equal(replay_set_keys(r, 4), 0);	/* reserve 2, pool 8 */
	nonce_of(n, 1);
	assert_int_equal(replay_check(r, 3, n, T0, T0, M0), REPLAY_SEEN);
	/* keys 3, 2 take their reserves; the pool then has 3 left */
	for (size_t k = 3; k >= 2; k--) {
		for (int i = 0; i < 2; i++) {
			nonce_of(n, v++);
			assert_int_equal(replay_check(r, k, n, T0, T0, M0),
			    REPLAY_OK);
			ok++;
		}
	}
	for (int i = 0; i < 3; i++) {
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, 2, n, T0, T0, M0), REPLAY_OK);
		ok++;
	}
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 2, n, T0, T0, M0), REPLAY_FULL);
	/* keys 0 and 1 keep their reserves: 12 + 4 = 16, the capacity */
	for (size_t k = 0; k < 2; k++) {
		for (int i = 0; i < 2; i++) {
			nonce_of(n, v++);
			assert_int_equal(replay_check(r, k, n, T0, T0, M0),
			    REPLAY_OK);
			ok++;
		}
		nonce_of(n, v++);
		assert_int_equal(replay_check(r, k, n, T0, T0, M0),
		    REPLAY_FULL);
	}
	assert_int_equal(ok, 16);
	/* a reload back to one key cannot go past the capacity either */
	assert_int_equal(replay_set_keys(r, 1), 0);
	nonce_of(n, v++);
	assert_int_equal(replay_check(r, 0, n, T0, T0, M0), REPLAY_FULL);
	replay_free(r);
}

/* Nonces that share their first 8 bytes land in one slot and probe on;
 * filling every place in a generation must still terminate. */
static void
test_colliding_nonces(void **state)
{
	struct replay	*r = replay_plain(64, W);
	uint8_t		 n[16];

	(void)state;
	assert_non_null(r);
	for (uint32_t v = 1; v <= 64; v++) {
		nonce_of(n, v);
		assert_int_equal(replay_check(r, 0, n, N0, N0, N0), REPLAY_OK);
	}
	for (uint32_t v = 1; v <= 64; v++) {
		nonce_of(n, v);
		assert_int_equal(replay_check(r, 0, n, N0, N0, N0),
		    REPLAY_SEEN);
	}
	nonce_of(n, 65);
	assert_int_equal(replay_check(r, 0, n, N0, N0, N0), REPLAY_FULL);
	replay_free(r);
}

static bool
refused(enum replay_result res)
{
	return res == REPLAY_SEEN || res == REPLAY_STALE ||
	    res == REPLAY_FLOOR;
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
			struct replay	*r = replay_plain(4, w);

			assert_non_null(r);
			assert_int_equal(replay_check(r, 0, n, ts, t, t),
			    REPLAY_OK);
			for (uint64_t now = t; now <= t + 5 * w; now++) {
				enum replay_result res;

				res = replay_check(r, 0, n, ts, now, now);
				if (!refused(res))
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

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The same under a wall clock that jumps back and forth by up to 4
 * windows at random while monotonic time runs on: every header ever
 * accepted is offered again at every step, and none is accepted twice.
 */
static void
test_no_replay_wall_jumps(void **state)
{
	const uint64_t	w = 8, steps = 400;
	struct {
		uint32_t	nonce;
		uint64_t	ts;
	}		seen[400];

	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct replay	*r = replay_new(64, w, 1, 100000, 0);
		uint64_t	 rnd = seed * 0x9e3779b97f4a7c15ULL;
		uint64_t	 wall = 100000;
		size_t		 n_seen = 0;
		uint8_t		 n[16];

		assert_non_null(r);
		for (uint64_t mono = 0; mono < steps; mono++) {
			uint64_t	x = xorshift(&rnd);

			wall++;
			if (x % 16 == 0)	/* a step of -4w..+4w */
				wall = wall + (x >> 8) % (8 * w + 1) - 4 * w;
			for (size_t i = 0; i < n_seen; i++) {
				nonce_of(n, seen[i].nonce);
				if (!refused(replay_check(r, 0, n, seen[i].ts,
				    wall, mono)))
					fail_msg("seed %llu: nonce %u again "
					    "at mono %llu",
					    (unsigned long long)seed,
					    seen[i].nonce,
					    (unsigned long long)mono);
			}
			seen[n_seen].nonce = (uint32_t)mono + 1;
			seen[n_seen].ts = wall - w + (x >> 32) % (2 * w + 1);
			nonce_of(n, seen[n_seen].nonce);
			if (replay_check(r, 0, n, seen[n_seen].ts, wall,
			    mono) == REPLAY_OK)
				n_seen++;
		}
		if (n_seen < steps / 4)
			fail_msg("seed %llu: only %zu accepted",
			    (unsigned long long)seed, n_seen);
		replay_free(r);
	}
}

static void
test_early_clock(void **state)
{
	struct replay	*r = replay_plain(16, W);
	uint8_t		 n[16];

	(void)state;
	assert_non_null(r);
	nonce_of(n, 1);
	/* now inside the first window: no generation below 0 */
	assert_int_equal(replay_check(r, 0, n, 0, 100, 100), REPLAY_OK);
	assert_int_equal(replay_check(r, 0, n, 0, 100, 100), REPLAY_SEEN);
	nonce_of(n, 2);
	assert_int_equal(replay_check(r, 0, n, UINT64_MAX, 100, 100),
	    REPLAY_STALE);
	assert_int_equal(replay_check(r, 0, n, UINT64_MAX - W + 1, 100, 100),
	    REPLAY_STALE);
	assert_int_equal(replay_check(r, 0, n, UINT64_MAX - W + 1, 0, 0),
	    REPLAY_STALE);
	replay_free(r);
	/* monotonic time before the start counts as the start */
	r = replay_new(16, W, 1, T0, M0);
	assert_non_null(r);
	assert_int_equal(replay_check(r, 0, n, T0, T0, 0), REPLAY_OK);
	assert_int_equal(replay_check(r, 0, n, T0, T0, M0 + W - 1),
	    REPLAY_SEEN);
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
	assert_string_equal(replay_result_str(REPLAY_FLOOR), "before_floor");
	assert_string_equal(replay_result_str((enum replay_result)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bounds),
		cmocka_unit_test(test_window_and_generations),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_wall_clock_back),
		cmocka_unit_test(test_monotonic_generations),
		cmocka_unit_test(test_key_shares),
		cmocka_unit_test(test_one_key_whole),
		cmocka_unit_test(test_set_keys),
		cmocka_unit_test(test_colliding_nonces),
		cmocka_unit_test(test_no_replay_ever),
		cmocka_unit_test(test_no_replay_wall_jumps),
		cmocka_unit_test(test_early_clock),
		cmocka_unit_test(test_result_str),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}

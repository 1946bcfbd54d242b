/*
 * preauth.c: the total cap, the caps per IPv4 address and IPv6 /64
 * (IPv4-mapped counted as IPv4), random early drop checked against its
 * formula with deterministic random numbers, release, a full table,
 * hostile addresses, and the table against a model under churn.
 */

#include "testutil.h"

#include <sys/socket.h>
#include <sys/un.h>

#include "server/preauth.h"
#include "proto/util.h"

static struct sockaddr_storage
addr_of(const char *s)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	if (!util_parse_sockaddr(s, &ss, &len))
		fail_msg("bad address \"%s\"", s);
	return ss;
}

static struct preauth *
preauth_with(unsigned total, unsigned start, unsigned rate, unsigned v4,
    unsigned v6, unsigned sources)
{
	struct preauth_limits	l = { total, start, rate, v4, v6, sources };

	return preauth_new(&l, 0x0123456789abcdefULL);
}

static void
test_limits(void **state)
{
	static const struct {
		const char		*name;
		struct preauth_limits	 l;
		bool			 ok;
	} rows[] = {
		{ "defaults", { 1024, 256, 30, 64, 64, 1024 }, true },
		{ "smallest", { 1, 0, 0, 1, 1, 1 }, true },
		{ "early off", { 8, 8, 100, 8, 8, 1 }, true },
		{ "largest", { PREAUTH_MAX, 0, 100, 1, 1, PREAUTH_MAX }, true },
		{ "total 0", { 0, 0, 30, 1, 1, 1 }, false },
		{ "total too big", { PREAUTH_MAX + 1, 0, 30, 1, 1, 1 }, false },
		{ "start past total", { 8, 9, 30, 1, 1, 8 }, false },
		{ "rate 101", { 8, 4, 101, 1, 1, 8 }, false },
		{ "per_v4 0", { 8, 4, 30, 0, 1, 8 }, false },
		{ "per_v6 0", { 8, 4, 30, 1, 0, 8 }, false },
		{ "per_v4 past total", { 8, 4, 30, 9, 1, 8 }, false },
		{ "per_v6 past total", { 8, 4, 30, 1, 9, 8 }, false },
		{ "sources 0", { 8, 4, 30, 1, 1, 0 }, false },
		{ "sources too many", { 8, 4, 30, 1, 1, PREAUTH_MAX + 1 },
		    false },
	};
	struct preauth_limits	d;
	struct preauth		*p;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		p = preauth_new(&rows[i].l, 1);
		CHECK(rows[i].name, (p != NULL) == rows[i].ok);
		preauth_free(p);
	}
	preauth_limits_default(&d);
	assert_int_equal(d.total, 2048);
	assert_int_equal(d.early_start, 1024);
	assert_int_equal(d.early_rate, 30);
	assert_int_equal(d.per_v4, 256);
	assert_int_equal(d.per_v6, 256);
	assert_int_equal(d.sources, 2048);
	p = preauth_new(&d, 0);
	assert_non_null(p);
	preauth_free(p);
	preauth_free(NULL);
}

/*
 * One budget, one sequence; each row sees what the rows above left.
 * Total 10, no early drop, 2 per IPv4 address, 3 per IPv6 /64.
 */
struct step {
	const char	*name;
	char		 op;		/* 'a' admit, 'r' release */
	const char	*addr;
	int		 want;		/* a verdict, or the release's bool */
	unsigned	 count;		/* preauth_count() after */
};

static const struct step source_steps[] = {
	{ "v4 1", 'a', "192.0.2.1:1000", PREAUTH_ADMIT, 1 },
	{ "v4 2, other port", 'a', "192.0.2.1:1001", PREAUTH_ADMIT, 2 },
	{ "v4 3: over its cap", 'a', "192.0.2.1:1002", PREAUTH_DROP_SOURCE,
	    2 },
	{ "next address: own budget", 'a', "192.0.2.2:1000", PREAUTH_ADMIT,
	    3 },
	{ "mapped: the same source", 'a', "[::ffff:192.0.2.1]:1",
	    PREAUTH_DROP_SOURCE, 3 },
	{ "release as mapped", 'r', "[::ffff:192.0.2.1]:1", true, 2 },
	{ "room again", 'a', "192.0.2.1:1003", PREAUTH_ADMIT, 3 },
	{ "v6 1", 'a', "[2001:db8:0:1::1]:1", PREAUTH_ADMIT, 4 },
	{ "v6 2, same /64", 'a', "[2001:db8:0:1::2]:1", PREAUTH_ADMIT, 5 },
	{ "v6 3, same /64, far", 'a', "[2001:db8:0:1:ffff:ffff:ffff:ffff]:1",
	    PREAUTH_ADMIT, 6 },
	{ "v6 4, same /64: over", 'a', "[2001:db8:0:1::3]:1",
	    PREAUTH_DROP_SOURCE, 6 },
	{ "next /64: own budget", 'a', "[2001:db8:0:2::1]:1", PREAUTH_ADMIT,
	    7 },
	{ "/64 next door", 'a', "[2001:db8:0:0:ffff::1]:1", PREAUTH_ADMIT,
	    8 },
	{ "v4 0.0.0.0", 'a', "0.0.0.0:1",
	    PREAUTH_ADMIT, 9 },
	{ "10th", 'a', "198.51.100.1:1", PREAUTH_ADMIT, 10 },
	{ "total reached", 'a', "198.51.100.2:1", PREAUTH_DROP_TOTAL, 10 },
	{ "over the source cap too: total first", 'a', "192.0.2.1:1",
	    PREAUTH_DROP_TOTAL, 10 },
	{ "release any other /64 address", 'r', "[2001:db8:0:1::77]:9", true,
	    9 },
	{ "room for one", 'a', "198.51.100.2:1", PREAUTH_ADMIT, 10 },
	{ "release one never admitted", 'r', "203.0.113.9:1", false, 10 },
	{ "release 198.51.100.1", 'r', "198.51.100.1:1", true, 9 },
	{ "twice", 'r', "198.51.100.1:1", false, 9 },
	{ "release an empty /64", 'r', "[2001:db8:0:3::1]:1", false, 9 },
};

static void
run_steps(struct preauth *p, const struct step *steps, size_t n)
{
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		const struct step	*s = &steps[i];
		struct sockaddr_storage	 ss = addr_of(s->addr);
		const struct sockaddr	*sa = (const struct sockaddr *)&ss;

		if (s->op == 'a')
			CHECK_EQ(s->name, preauth_admit(p, sa, 0), s->want);
		else
			CHECK_EQ(s->name, preauth_release(p, sa), s->want);
		CHECK_EQ(s->name, preauth_count(p), s->count);
	}
	preauth_free(p);
}

static void
test_sources(void **state)
{
	(void)state;
	/* random 0 would always drop early: early drop is off */
	run_steps(preauth_with(10, 10, 30, 2, 3, 10), source_steps,
	    NELEM(source_steps));
}

/* Four sources fit; a fifth new one is refused until one leaves. */
static const struct step table_steps[] = {
	{ "1", 'a', "192.0.2.1:1", PREAUTH_ADMIT, 1 },
	{ "2", 'a', "192.0.2.2:1", PREAUTH_ADMIT, 2 },
	{ "3", 'a', "[2001:db8::1]:1", PREAUTH_ADMIT, 3 },
	{ "4", 'a', "192.0.2.4:1", PREAUTH_ADMIT, 4 },
	{ "5th source: fail closed", 'a', "192.0.2.5:1", PREAUTH_DROP_TABLE,
	    4 },
	{ "a known source still gets in", 'a', "192.0.2.1:2", PREAUTH_ADMIT,
	    5 },
	{ "one of 2 leaves: still held", 'r', "192.0.2.1:2", true, 4 },
	{ "still full", 'a', "192.0.2.5:1", PREAUTH_DROP_TABLE, 4 },
	{ "the last leaves", 'r', "192.0.2.1:1", true, 3 },
	{ "now there is room", 'a', "192.0.2.5:1", PREAUTH_ADMIT, 4 },
	{ "and none again", 'a', "192.0.2.6:1", PREAUTH_DROP_TABLE, 4 },
};

static void
test_table_full(void **state)
{
	(void)state;
	run_steps(preauth_with(100, 100, 0, 10, 10, 4), table_steps,
	    NELEM(table_steps));
}

static void
test_hostile(void **state)
{
	struct preauth		*p = preauth_with(4, 4, 0, 4, 4, 4);
	struct sockaddr_un	*un = malloc(sizeof(*un));
	struct sockaddr_storage	 ss = addr_of("192.0.2.1:1");
	struct sockaddr		 unspec = { .sa_family = AF_UNSPEC };

	(void)state;
	assert_non_null(p);
	assert_non_null(un);
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, "/tmp/x");
	assert_int_equal(preauth_admit(p, (struct sockaddr *)un, 0),
	    PREAUTH_DROP_SOURCE);
	assert_false(preauth_release(p, (struct sockaddr *)un));
	assert_int_equal(preauth_admit(p, &unspec, 0), PREAUTH_DROP_SOURCE);
	assert_int_equal(preauth_admit(p, NULL, 0), PREAUTH_DROP_SOURCE);
	assert_false(preauth_release(p, NULL));
	assert_int_equal(preauth_count(p), 0);
	/* releases of what was never admitted change nothing */
	for (int i = 0; i < 10; i++)
		assert_false(preauth_release(p, (struct sockaddr *)&ss));
	assert_int_equal(preauth_count(p), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(preauth_admit(p, (struct sockaddr *)&ss, 0),
		    PREAUTH_ADMIT);
	assert_int_equal(preauth_admit(p, (struct sockaddr *)&ss, 0),
	    PREAUTH_DROP_TOTAL);
	for (int i = 0; i < 4; i++)
		assert_true(preauth_release(p, (struct sockaddr *)&ss));
	assert_false(preauth_release(p, (struct sockaddr *)&ss));
	assert_int_equal(preauth_count(p), 0);
	free(un);
	preauth_free(p);
}

/* Newton's square root: no libm in the unit tests' link. */
static double
sqrt_of(double x)
{
	double	r = x > 1 ? x : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 64; i++)
		r = (r + x / r) / 2;
	return r;
}

static uint32_t
xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Fills p with `level` connections from distinct sources, never dropped
 * early (random UINT32_MAX is above every threshold below 100 %). */
static void
fill_to(struct preauth *p, unsigned level)
{
	for (unsigned i = preauth_count(p); i < level; i++) {
		struct sockaddr_in	sin = { .sin_family = AF_INET };

		sin.sin_addr.s_addr = htonl(0x0a000000u + i);
		assert_int_equal(preauth_admit(p, (struct sockaddr *)&sin,
		    UINT32_MAX), PREAUTH_ADMIT);
	}
	assert_int_equal(preauth_count(p), level);
}

/* Drops out of n tries at p's current level; admitted ones are released
 * at once, so the level stays. even: evenly spaced random numbers. */
static unsigned
drops_at(struct preauth *p, unsigned n, bool even, uint32_t *rnd)
{
	struct sockaddr_storage	ss = addr_of("[2001:db8:ffff::1]:1");
	unsigned		drops = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t	r = even ? (uint32_t)(((uint64_t)i << 32) / n) :
				    xorshift32(rnd);

		switch (preauth_admit(p, (struct sockaddr *)&ss, r)) {
		case PREAUTH_ADMIT:
			assert_true(preauth_release(p,
			    (struct sockaddr *)&ss));
			break;
		case PREAUTH_DROP_EARLY:
			drops++;
			break;
		default:
			fail_msg("not an early drop");
		}
	}
	return drops;
}

/*
 * MaxStartups 20:30:100. Below 20 nothing is dropped; from 20 to 99 the
 * probability is 30 % + 70 % * (level - 20) / 80. Evenly spaced random
 * numbers give the probability exactly (to one in n); a xorshift
 * sequence within 4 standard deviations.
 */
static void
test_early_drop(void **state)
{
	static const struct {
		unsigned	level;
		double		p;
	} rows[] = {
		{ 0, 0 }, { 19, 0 }, { 20, 0.30 }, { 21, 0.30875 },
		{ 40, 0.475 }, { 60, 0.65 }, { 80, 0.825 }, { 99, 0.99125 },
	};
	const unsigned	n = 20000;
	uint32_t	rnd = 2463534242u;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		struct preauth	*p = preauth_with(100, 20, 30, 100, 100, 100);
		double		 want = rows[i].p * n;
		double		 sd = sqrt_of(n * rows[i].p * (1 - rows[i].p));
		unsigned	 got;
		char		 name[32];

		snprintf(name, sizeof(name), "level %u", rows[i].level);
		assert_non_null(p);
		fill_to(p, rows[i].level);
		got = drops_at(p, n, true, &rnd);
		CHECK(name, got + 1 >= want && got <= want + 1);
		got = drops_at(p, n, false, &rnd);
		CHECK(name, got + 4 * sd + 1 >= want &&
		    got <= want + 4 * sd + 1);
		assert_int_equal(preauth_count(p), rows[i].level);
		preauth_free(p);
	}
}

/* rate 0 from 0, rate 100 from 0, and early drop off (start = total). */
static void
test_early_edges(void **state)
{
	struct preauth	*p;
	uint32_t	 rnd = 1;

	(void)state;
	p = preauth_with(10, 0, 0, 10, 10, 10);
	assert_non_null(p);
	assert_int_equal(drops_at(p, 1000, true, &rnd), 0);
	fill_to(p, 9);		/* 0 % + 100 % * 9 / 10 */
	/* r_i = floor(i * 2^32 / 1000) < 0.9 * 2^32 for i in 0..900 */
	assert_int_equal(drops_at(p, 1000, true, &rnd), 901);
	preauth_free(p);
	p = preauth_with(10, 0, 100, 10, 10, 10);
	assert_non_null(p);
	assert_int_equal(drops_at(p, 1000, false, &rnd), 1000);
	preauth_free(p);
	p = preauth_with(10, 10, 100, 10, 10, 10);
	assert_non_null(p);
	fill_to(p, 9);
	assert_int_equal(drops_at(p, 1000, true, &rnd), 0);
	fill_to(p, 10);
	{
		struct sockaddr_storage	ss = addr_of("192.0.2.1:1");

		assert_int_equal(preauth_admit(p, (struct sockaddr *)&ss,
		    UINT32_MAX), PREAUTH_DROP_TOTAL);
	}
	preauth_free(p);
}

/*
 * The table against a model: 40 sources over a table of 16 (32 slots),
 * so runs collide, wrap and are shifted back on removal. Early drop off.
 */
static void
test_churn(void **state)
{
	enum { NSRC = 40, TOTAL = 64, PER = 3, SOURCES = 16 };
	unsigned	model[NSRC] = { 0 };
	unsigned	total = 0, n_sources = 0;
	uint32_t	rnd = 7;

	(void)state;
	for (uint64_t seed = 0; seed < 8; seed++) {
		struct preauth_limits	l = { TOTAL, TOTAL, 0, PER, PER,
					    SOURCES };
		struct preauth		*p = preauth_new(&l, seed * 977);

		assert_non_null(p);
		for (int op = 0; op < 20000; op++) {
			uint32_t		 x = xorshift32(&rnd);
			unsigned		 k = x % NSRC;
			struct sockaddr_in6	 sin6 = {
				.sin6_family = AF_INET6 };
			enum preauth_verdict	 want, got;

			sin6.sin6_addr.s6_addr[0] = 0x20;
			sin6.sin6_addr.s6_addr[7] = (uint8_t)k;
			sin6.sin6_addr.s6_addr[15] = (uint8_t)x; /* same /64 */
			if (x >> 31) {
				assert_int_equal(preauth_release(p,
				    (struct sockaddr *)&sin6), model[k] > 0);
				if (model[k] > 0) {
					total--;
					if (--model[k] == 0)
						n_sources--;
				}
			} else {
				want = total >= TOTAL ? PREAUTH_DROP_TOTAL :
				    model[k] >= PER ? PREAUTH_DROP_SOURCE :
				    model[k] == 0 && n_sources >= SOURCES ?
				    PREAUTH_DROP_TABLE : PREAUTH_ADMIT;
				got = preauth_admit(p,
				    (struct sockaddr *)&sin6, x);
				if (got != want)
					fail_msg("seed %llu op %d: %s, want %s",
					    (unsigned long long)seed, op,
					    preauth_verdict_str(got),
					    preauth_verdict_str(want));
				if (got == PREAUTH_ADMIT) {
					total++;
					if (model[k]++ == 0)
						n_sources++;
				}
			}
			assert_int_equal(preauth_count(p), total);
		}
		preauth_free(p);
		memset(model, 0, sizeof(model));
		total = n_sources = 0;
	}
}

static void
test_verdict_str(void **state)
{
	(void)state;
	assert_string_equal(preauth_verdict_str(PREAUTH_ADMIT), "admit");
	assert_string_equal(preauth_verdict_str(PREAUTH_DROP_TOTAL),
	    "preauth_total");
	assert_string_equal(preauth_verdict_str(PREAUTH_DROP_EARLY),
	    "preauth_early");
	assert_string_equal(preauth_verdict_str(PREAUTH_DROP_SOURCE),
	    "preauth_source");
	assert_string_equal(preauth_verdict_str(PREAUTH_DROP_TABLE),
	    "preauth_table_full");
	assert_string_equal(preauth_verdict_str((enum preauth_verdict)99),
	    "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_early_drop),
		cmocka_unit_test(test_early_edges),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_verdict_str),
	};

	return cmocka_run_group_tests_name("preauth", tests, NULL, NULL);
}

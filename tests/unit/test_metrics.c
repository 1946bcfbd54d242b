/*
 * metrics.c: the exposition text of counters, gauges and histograms
 * (exact text), hostile label values (quotes, backslashes, newlines, NUL,
 * invalid UTF-8, 255 and 300 bytes) that must never break a line or a
 * label, the series cap, and the UTF-8 cleaner.
 */

#include "testutil.h"

#include "proto/metrics.h"

/* Every line is "# ..." or name{...} value, the whole text valid UTF-8
 * with no control bytes but the line ends. */
static void
check_wellformed(const char *row, const char *text, size_t len)
{
	char	*clean = malloc(len * 3 + 1);
	size_t	 n;

	CHECK(row, clean != NULL);
	/* the cleaner maps '\n' too: compare line by line */
	for (const char *p = text, *nl; p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		CHECK(row, nl != NULL);		/* every line ends */
		n = metrics_utf8_clean(p, (size_t)(nl - p), clean,
		    len * 3 + 1);
		CHECK(row, n == (size_t)(nl - p));
		CHECK(row, memcmp(clean, p, n) == 0);
		if (p[0] != '#') {
			/* quotes balance once escapes are skipped */
			int	q = 0;

			for (const char *c = p; c < nl; c++) {
				if (*c == '\\') {
					c++;
					CHECK(row, *c == '\\' || *c == '"' ||
					    *c == 'n');
				} else if (*c == '"')
					q ^= 1;
			}
			CHECK(row, q == 0);
		}
	}
	free(clean);
}

static void
test_render_exact(void **state)
{
	static const double	b[] = { 0.01, 0.1, 1 };
	struct metrics		*m = metrics_new();
	int			 c, g, h;
	char			*t;
	size_t			 len;

	(void)state;
	c = metrics_define(m, "x_total", METRIC_COUNTER, "Things.", "reason",
	    NULL, 0);
	g = metrics_define(m, "x_open", METRIC_GAUGE, "Open now.", NULL,
	    NULL, 0);
	h = metrics_define(m, "x_seconds", METRIC_HISTOGRAM, "Latency.",
	    NULL, b, 3);
	assert_true(c >= 0 && g >= 0 && h >= 0);
	metrics_add(m, c, "refused", 2);
	metrics_add(m, c, "timeout", 1);
	metrics_add(m, c, "refused", 1);
	metrics_add(m, c, "refused", -5);	/* counters never go down */
	metrics_set(m, g, NULL, 7);
	metrics_observe(m, h, NULL, 0.05);
	metrics_observe(m, h, NULL, 2.5);
	assert_true(metrics_get(m, c, "refused") == 3);
	t = metrics_render(m, &len);
	assert_non_null(t);
	assert_string_equal(t,
	    "# HELP x_total Things.\n# TYPE x_total counter\n"
	    "x_total{reason=\"refused\"} 3\n"
	    "x_total{reason=\"timeout\"} 1\n"
	    "# HELP x_open Open now.\n# TYPE x_open gauge\n"
	    "x_open 7\n"
	    "# HELP x_seconds Latency.\n# TYPE x_seconds histogram\n"
	    "x_seconds_bucket{le=\"0.01\"} 0\n"
	    "x_seconds_bucket{le=\"0.1\"} 1\n"
	    "x_seconds_bucket{le=\"1\"} 1\n"
	    "x_seconds_bucket{le=\"+Inf\"} 2\n"
	    "x_seconds_sum 2.55\n"
	    "x_seconds_count 2\n");
	assert_int_equal(len, strlen(t));
	free(t);
	metrics_free(m);
}

static void
test_define_errors(void **state)
{
	static const double	bad[] = { 1, 1 };
	struct metrics		*m = metrics_new();

	(void)state;
	assert_int_equal(metrics_define(m, "a", METRIC_HISTOGRAM, "h", NULL,
	    bad, 2), -1);
	assert_int_equal(metrics_define(m, "a", METRIC_HISTOGRAM, "h", NULL,
	    NULL, 0), -1);
	assert_int_equal(metrics_define(m, "a", METRIC_GAUGE, "h", NULL,
	    bad, 1), -1);
	for (int i = 0; i < METRICS_MAX_FAMILIES; i++)
		assert_int_equal(metrics_define(m, "f", METRIC_GAUGE, "h",
		    NULL, NULL, 0), i);
	assert_int_equal(metrics_define(m, "f", METRIC_GAUGE, "h", NULL,
	    NULL, 0), -1);
	metrics_add(m, 99, "x", 1);		/* bad handles are ignored */
	metrics_add(m, -1, "x", 1);
	metrics_free(m);
}

static const struct {
	const char	*name, *lv;
	size_t		 len;
	const char	*want;		/* rendered label value, or NULL */
} hostile[] = {
	{ "quote", "a\"b", 3, "a\\\"b" },
	{ "backslash", "a\\b", 3, "a\\\\b" },
	{ "newline", "a\nx_total 99", 12, "a\xef\xbf\xbdx_total 99" },
	{ "nul", "a\0b", 3, "a\xef\xbf\xbd" "b" },
	{ "bad utf8", "a\xff\xc0\x80", 4,
	    "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "surrogate", "\xed\xa0\x80", 3,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "cut utf8", "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "good utf8", "\xc3\xa9t\xc3\xa9", 5, "\xc3\xa9t\xc3\xa9" },
	{ "escape seq", "\x1b[2J", 4, "\xef\xbf\xbd[2J" },
	{ "brace", "}{le=\"x\"", 8, "}{le=\\\"x\\\"" },
};

static void
test_hostile_labels(void **state)
{
	char	want[512], lv[300];

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct metrics	*m = metrics_new();
		int		 c = metrics_define(m, "t_total",
				    METRIC_COUNTER, "T.", "target", NULL, 0);
		size_t		 len;
		char		*t;

		metrics_addn(m, c, hostile[i].lv, hostile[i].len, 1);
		t = metrics_render(m, &len);
		CHECK(hostile[i].name, t != NULL);
		check_wellformed(hostile[i].name, t, len);
		snprintf(want, sizeof(want), "t_total{target=\"%s\"} 1\n",
		    hostile[i].want);
		CHECK(hostile[i].name, strstr(t, want) != NULL);
		free(t);
		metrics_free(m);
	}
	/* 255 bytes kept whole, 300 cut to 255 */
	memset(lv, 'n', sizeof(lv));
	for (size_t n = 255; n <= 300; n += 45) {
		struct metrics	*m = metrics_new();
		int		 c = metrics_define(m, "t_total",
				    METRIC_COUNTER, "T.", "target", NULL, 0);
		char		*t;
		size_t		 len;

		metrics_addn(m, c, lv, n, 1);
		metrics_addn(m, c, lv, 255, 1);	/* the same series */
		t = metrics_render(m, &len);
		assert_non_null(t);
		check_wellformed("long", t, len);
		assert_int_equal(len, strlen("# HELP t_total T.\n"
		    "# TYPE t_total counter\n") + strlen("t_total{target=\"\"}"
		    " 2\n") + 255);
		free(t);
		metrics_free(m);
	}
}

static void
test_series_cap(void **state)
{
	struct metrics	*m = metrics_new();
	int		 c = metrics_define(m, "t_total", METRIC_COUNTER, "T.",
			    "target", NULL, 0);
	char		 lv[16], *t;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(lv, sizeof(lv), "n%d", i);
		metrics_add(m, c, lv, 1);
	}
	t = metrics_render(m, NULL);
	assert_non_null(t);
	/* 63 named series, the rest folded into "other" */
	assert_non_null(strstr(t, "t_total{target=\"other\"} 937\n"));
	assert_null(strstr(t, "n63\""));
	free(t);
	metrics_free(m);
}

static void
test_utf8_clean_bounds(void **state)
{
	char	out[4];

	(void)state;
	/* never cuts a character: "é" (2 bytes) does not fit after "ab" */
	assert_int_equal(metrics_utf8_clean("ab\xc3\xa9", 4, out, 4), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(metrics_utf8_clean("\xff", 1, out, 3), 0);
	assert_int_equal(metrics_utf8_clean("\xff", 1, out, 4), 3);
	assert_int_equal(metrics_utf8_clean("abc", 3, out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_define_errors),
		cmocka_unit_test(test_hostile_labels),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_utf8_clean_bounds),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}

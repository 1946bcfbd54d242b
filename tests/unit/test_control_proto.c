/*
 * control_proto.c: routes of the control port (a proxy-style request is
 * never served, a known path with a wrong method is 405) and the bearer
 * token check.
 */

#include "testutil.h"

#include "proto/control_proto.h"

static const struct {
	const char		*uri;
	bool			 get;
	enum control_route	 want;
} rows[] = {
	{ "/metrics", true, CTL_METRICS },
	{ "/metrics?x=1", true, CTL_METRICS },
	{ "/api/status", true, CTL_STATUS },
	{ "/api/status#f", true, CTL_STATUS },
	{ "/", true, CTL_DASHBOARD },
	{ "/?refresh=1", true, CTL_DASHBOARD },
	{ "/index.html", true, CTL_DASHBOARD },
	{ "/metrics", false, CTL_METHOD },
	{ "/", false, CTL_METHOD },
	{ "/nope", false, CTL_NOT_FOUND },
	{ "/metrics/", true, CTL_NOT_FOUND },
	{ "/METRICS", true, CTL_NOT_FOUND },
	{ "//metrics", true, CTL_NOT_FOUND },
	{ "/api/status/../x", true, CTL_NOT_FOUND },
	{ "http://example.com/", true, CTL_NOT_FOUND },
	{ "http://127.0.0.1:1081/metrics", true, CTL_NOT_FOUND },
	{ "example.com:443", true, CTL_NOT_FOUND },
	{ "*", true, CTL_NOT_FOUND },
	{ "", true, CTL_NOT_FOUND },
};

static void
test_routes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK_EQ(rows[i].uri, control_route(rows[i].get, rows[i].uri,
		    strlen(rows[i].uri)), rows[i].want);
	/* a NUL inside ends the path; length bounds the read */
	assert_int_equal(control_route(true, "/metrics\0/x", 11),
	    CTL_METRICS);
	assert_int_equal(control_route(true, "/metricsXYZ", 8), CTL_METRICS);
	assert_int_equal(control_route(true, NULL, 0), CTL_NOT_FOUND);
	{
		char	big[CONTROL_URI_MAX + 2];

		memset(big, 'a', sizeof(big));
		big[0] = '/';
		assert_int_equal(control_route(true, big, sizeof(big)),
		    CTL_NOT_FOUND);
	}
}

static void
test_auth(void **state)
{
	const char	*tok = "s3cret-token-0123456789";

	(void)state;
	assert_true(control_auth_ok(NULL, ""));
	assert_true(control_auth_ok("anything", ""));
	assert_true(control_auth_ok("Bearer s3cret-token-0123456789", tok));
	assert_true(control_auth_ok("bearer s3cret-token-0123456789", tok));
	assert_false(control_auth_ok(NULL, tok));
	assert_false(control_auth_ok("", tok));
	assert_false(control_auth_ok("Bearer", tok));
	assert_false(control_auth_ok("Bearer ", tok));
	assert_false(control_auth_ok("Bearer s3cret-token-012345678", tok));
	assert_false(control_auth_ok("Bearer s3cret-token-01234567890",
	    tok));
	assert_false(control_auth_ok("Bearer s3cret-token-012345678X",
	    tok));
	assert_false(control_auth_ok("Basic s3cret-token-0123456789", tok));
	assert_false(control_auth_ok("Bearer  s3cret-token-012345678", tok));
	assert_false(control_auth_ok("s3cret-token-0123456789", tok));
}

static void
test_token_valid(void **state)
{
	char	big[CONTROL_TOKEN_MAX + 2];

	(void)state;
	assert_true(control_token_valid("0123456789abcdef"));
	assert_true(control_token_valid("AZaz09-._~+/=AAAA"));
	assert_false(control_token_valid("short"));
	assert_false(control_token_valid("0123456789abcde"));
	assert_false(control_token_valid("0123456789abcdef with space"));
	assert_false(control_token_valid("0123456789abcdef\""));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(control_token_valid(big));
	big[CONTROL_TOKEN_MAX] = '\0';
	assert_true(control_token_valid(big));
}

static void
test_host(void **state)
{
	static const char *const good[] = {
		"127.0.0.1", "127.0.0.1:1081", "127.1.2.3:80", "localhost",
		"LOCALHOST:1081", "[::1]", "[::1]:1081",
	};
	static const char *const bad[] = {
		"", ":1081", "evil.example", "evil.example:1081",
		"127.0.0.1.evil.example", "128.0.0.1", "127.0.0.256",
		"localhost.evil", "[::2]:1081", "[::1", "127.0.0.1:",
		"127.0.0.1:80x", "127.0.0.1:123456", "0x7f.0.0.1",
		"127.0.0.1 ", "[::1]x",
	};

	(void)state;
	assert_false(control_host_ok(NULL));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(good[i], control_host_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bad[i], !control_host_ok(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_token_valid),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests_name("control_proto", tests, NULL,
	    NULL);
}

/* SOCKS4 and SOCKS4a request parsing (src/socks4.c). */

#include "testutil.h"

#include "proto/socks4.h"

struct row {
	const char		*name;
	const char		*hex;
	enum parse_result	 result;
	uint8_t			 atyp;
	const char		*host;	/* name, or dotted IPv4 */
	uint16_t		 port;
	const char		*userid;
};

/* 04 01 PORT IP USERID\0 [NAME\0] */
static const struct row rows[] = {
	{ "socks4 ipv4", "04 01 0050 7f000001 00", PARSE_OK,
	    TARGET_IPV4, "127.0.0.1", 80, "" },
	{ "socks4 userid", "04 01 01bb 0a000002 626f6200", PARSE_OK,
	    TARGET_IPV4, "10.0.0.2", 443, "bob" },
	{ "socks4a name", "04 01 0050 00000001 00 6578616d706c652e636f6d00",
	    PARSE_OK, TARGET_DOMAIN, "example.com", 80, "" },
	{ "socks4a name+userid",
	    "04 01 0050 000000ff 616c00 612e6200", PARSE_OK,
	    TARGET_DOMAIN, "a.b", 80, "al" },
	{ "0.0.0.0 is not 4a", "04 01 0050 00000000 00", PARSE_OK,
	    TARGET_IPV4, "0.0.0.0", 80, "" },
	{ "version 5", "05 01 0050 7f000001 00", PARSE_ERROR, 0, NULL, 0,
	    NULL },
	{ "bind", "04 02 0050 7f000001 00", PARSE_ERROR, 0, NULL, 0, NULL },
	{ "cmd 9", "04 09 0050 7f000001 00", PARSE_ERROR, 0, NULL, 0, NULL },
	{ "port 0", "04 01 0000 7f000001 00", PARSE_ERROR, 0, NULL, 0, NULL },
	{ "4a empty name", "04 01 0050 00000001 00 00", PARSE_ERROR, 0, NULL,
	    0, NULL },
	{ "4a bad name", "04 01 0050 00000001 00 612062 00", PARSE_ERROR, 0,
	    NULL, 0, NULL },
	{ "no userid end", "04 01 0050 7f000001 6162", PARSE_NEED_MORE, 0,
	    NULL, 0, NULL },
	{ "no name end", "04 01 0050 00000001 00 6162", PARSE_NEED_MORE, 0,
	    NULL, 0, NULL },
};

static void
test_rows(void **state)
{
	uint8_t			buf[SOCKS4_MAX_REQUEST + 64];
	struct socks4_request	req;
	char			s[TARGET_STRLEN], want[TARGET_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t n = hex_decode(r->hex, buf, sizeof(buf));
		uint8_t *exact = malloc(n);	/* ASan sees reads past n */

		memcpy(exact, buf, n);
		CHECK_EQ(r->name, socks4_parse_request(exact, n, &req),
		    r->result);
		if (r->result == PARSE_OK) {
			CHECK_EQ(r->name, req.used, n);
			CHECK_EQ(r->name, req.target.atyp, r->atyp);
			CHECK_EQ(r->name, req.target.port, r->port);
			snprintf(want, sizeof(want), "%s:%u", r->host, r->port);
			CHECK_STR(r->name, target_str(&req.target, s,
			    sizeof(s)), want);
			CHECK_STR(r->name, req.userid, r->userid);
			/* every shorter prefix waits for more */
			for (size_t k = 0; k < n; k++)
				CHECK_EQ(r->name, socks4_parse_request(exact,
				    k, &req), PARSE_NEED_MORE);
		}
		free(exact);
	}
}

static void
test_pipelined(void **state)
{
	uint8_t			buf[64];
	struct socks4_request	req;
	size_t			n = hex_decode("04 01 0050 7f000001 00 "
				    "474554", buf, sizeof(buf));

	(void)state;
	assert_int_equal(socks4_parse_request(buf, n, &req), PARSE_OK);
	assert_int_equal(req.used, n - 3);
}

static void
test_oversized(void **state)
{
	static uint8_t		buf[SOCKS4_MAX_REQUEST + 16];
	struct socks4_request	req;

	(void)state;
	/* a user id of 256 bytes without its NUL: an error, not a wait */
	memcpy(buf, "\x04\x01\x00\x50\x7f\x00\x00\x01", 8);
	memset(buf + 8, 'u', 256);
	assert_int_equal(socks4_parse_request(buf, 8 + 256, &req),
	    PARSE_ERROR);
	/* a 255-byte user id is fine */
	buf[8 + 255] = '\0';
	assert_int_equal(socks4_parse_request(buf, 8 + 256, &req), PARSE_OK);
	/* a 4a name of 256 bytes is refused */
	memcpy(buf, "\x04\x01\x00\x50\x00\x00\x00\x01\x00", 9);
	memset(buf + 9, 'a', 256);
	assert_int_equal(socks4_parse_request(buf, 9 + 256, &req),
	    PARSE_ERROR);
}

static void
test_reply(void **state)
{
	uint8_t	out[SOCKS4_REPLY_LEN];
	uint8_t	want[SOCKS4_REPLY_LEN] = { 0, 0x5a };

	(void)state;
	socks4_build_reply(SOCKS4_REP_GRANTED, out);
	assert_memory_equal(out, want, sizeof(want));
	socks4_build_reply(SOCKS4_REP_REJECTED, out);
	assert_int_equal(out[1], 0x5b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_reply),
	};

	return cmocka_run_group_tests_name("socks4", tests, NULL, NULL);
}

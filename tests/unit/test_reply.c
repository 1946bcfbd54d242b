/*
 * Reply codes: the one errno mapping both daemons use, the wire byte's
 * decoding, and each front end's table (SOCKS5, HTTP), row by row.
 */

#include "testutil.h"

#include <errno.h>

#include "proto/reply.h"

static void
test_from_errno(void **state)
{
	static const struct {
		int		err;
		enum reply_code	want;
	} rows[] = {
		{ ECONNREFUSED, REPLY_REFUSED },
		{ ENETUNREACH, REPLY_NET_UNREACH },
		{ EAFNOSUPPORT, REPLY_NET_UNREACH },
		{ EADDRNOTAVAIL, REPLY_NET_UNREACH },
		{ EHOSTUNREACH, REPLY_HOST_UNREACH },
		{ EHOSTDOWN, REPLY_HOST_UNREACH },
		{ ETIMEDOUT, REPLY_TIMED_OUT },
		{ EACCES, REPLY_NOT_ALLOWED },
		{ EPERM, REPLY_NOT_ALLOWED },
		{ ECONNRESET, REPLY_GENERAL },
		{ 0, REPLY_GENERAL },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++)
		assert_int_equal(reply_from_errno(rows[i].err), rows[i].want);
}

static void
test_wire(void **state)
{
	(void)state;
	for (unsigned v = 0; v < REPLY_CODES; v++)
		assert_int_equal(reply_from_wire((uint8_t)v), v);
	assert_int_equal(reply_from_wire(REPLY_CODES), REPLY_GENERAL);
	assert_int_equal(reply_from_wire(0xff), REPLY_GENERAL);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(reply_str(REPLY_OK), "succeeded");
	assert_string_equal(reply_str(REPLY_TIMED_OUT), "TTL expired");
	assert_string_equal(reply_str((enum reply_code)9), "unknown status");
	assert_string_equal(reply_str((enum reply_code)255),
	    "unknown status");
	assert_string_equal(reply_label(REPLY_REFUSED), "refused");
	assert_string_equal(reply_label(REPLY_TIMED_OUT), "ttl_expired");
	assert_string_equal(reply_label((enum reply_code)200), "other");
	for (unsigned v = 0; v < REPLY_CODES; v++)
		assert_string_not_equal(reply_label((enum reply_code)v),
		    "other");
}

/* RFC 1928 section 6, written out independently of enum reply_code. */
static void
test_socks5(void **state)
{
	static const struct {
		enum reply_code	code;
		uint8_t		want;
	} rows[] = {
		{ REPLY_OK, 0x00 }, { REPLY_GENERAL, 0x01 },
		{ REPLY_NOT_ALLOWED, 0x02 }, { REPLY_NET_UNREACH, 0x03 },
		{ REPLY_HOST_UNREACH, 0x04 }, { REPLY_REFUSED, 0x05 },
		{ REPLY_TIMED_OUT, 0x06 }, { REPLY_CMD_UNSUPPORTED, 0x07 },
		{ REPLY_ATYP_UNSUPPORTED, 0x08 },
		{ (enum reply_code)77, 0x01 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++)
		assert_int_equal(reply_socks5(rows[i].code), rows[i].want);
}

static void
test_http(void **state)
{
	static const int	want[] = {
		[REPLY_OK] = 200, [REPLY_GENERAL] = 502,
		[REPLY_NOT_ALLOWED] = 403, [REPLY_NET_UNREACH] = 502,
		[REPLY_HOST_UNREACH] = 502, [REPLY_REFUSED] = 502,
		[REPLY_TIMED_OUT] = 504, [REPLY_CMD_UNSUPPORTED] = 502,
		[REPLY_ATYP_UNSUPPORTED] = 502,
	};

	(void)state;
	for (size_t i = 0; i < NELEM(want); i++)
		assert_int_equal(reply_http_status((enum reply_code)i),
		    want[i]);
	assert_int_equal(reply_http_status((enum reply_code)0xff), 502);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_errno),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_socks5),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

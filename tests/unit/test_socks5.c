/*
 * socks5.c: greeting, RFC 1929 user/password and request parsers, method
 * choice and the reply builder. Every good message is also fed in every
 * prefix (all NEED_MORE) and followed by the next message (consume
 * exactly the first).
 */

#include "testutil.h"

#include "proto/socks5.h"

#define MAXMSG	1024

/* Greeting */

struct greeting_row {
	const char		*name, *hex;
	enum parse_result	 res;
	size_t			 used;
	bool			 none, userpass;
};

static const struct greeting_row greeting_rows[] = {
	{ "no auth", "05 01 00", PARSE_OK, 3, true, false },
	{ "userpass only", "05 01 02", PARSE_OK, 3, false, true },
	{ "gssapi, none, userpass", "05 03 01 00 02", PARSE_OK, 5, true, true },
	{ "duplicates", "05 04 02 02 00 00", PARSE_OK, 6, true, true },
	{ "unknown methods only", "05 02 03 ff", PARSE_OK, 4, false, false },
	{ "no methods", "05 00", PARSE_ERROR, 0, false, false },
	{ "wrong version 4", "04 01 00", PARSE_ERROR, 0, false, false },
	{ "tls clienthello", "16 03 01 00", PARSE_ERROR, 0, false, false },
	{ "empty", "", PARSE_NEED_MORE, 0, false, false },
	{ "version only", "05", PARSE_NEED_MORE, 0, false, false },
	{ "methods missing", "05 02 00", PARSE_NEED_MORE, 0, false, false },
};

static void
test_greeting_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(greeting_rows); i++) {
		const struct greeting_row	*r = &greeting_rows[i];
		struct socks5_greeting		 g;
		uint8_t				 raw[MAXMSG], *buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));

		buf = dup_exact(raw, n);
		memset(&g, 0xa5, sizeof(g));
		CHECK_EQ(r->name, socks5_parse_greeting(buf, n, &g), r->res);
		CHECK_EQ(r->name, g.used, r->used);
		CHECK_EQ(r->name, g.offers_none, r->none);
		CHECK_EQ(r->name, g.offers_userpass, r->userpass);
		free(buf);
	}
}

static void
test_greeting_255_methods(void **state)
{
	uint8_t			buf[2 + 255];
	struct socks5_greeting	g;

	(void)state;
	buf[0] = 0x05;
	buf[1] = 255;
	for (int i = 0; i < 255; i++)
		buf[2 + i] = (uint8_t)(i + 1);	/* 0x02 among them, not 0x00 */
	assert_int_equal(socks5_parse_greeting(buf, sizeof(buf), &g), PARSE_OK);
	assert_int_equal(g.used, SOCKS5_MAX_GREETING);
	assert_false(g.offers_none);
	assert_true(g.offers_userpass);
	assert_int_equal(socks5_parse_greeting(buf, sizeof(buf) - 1, &g),
	    PARSE_NEED_MORE);
}

struct choose_row {
	const char	*name;
	bool		 none, userpass, require;
	uint8_t		 want;
};

static const struct choose_row choose_rows[] = {
	{ "none offered, not required", true, false, false,
	    SOCKS5_METHOD_NONE },
	{ "none offered, userpass required", true, false, true,
	    SOCKS5_METHOD_REFUSED },
	{ "userpass offered, required", false, true, true,
	    SOCKS5_METHOD_USERPASS },
	{ "both offered, required", true, true, true,
	    SOCKS5_METHOD_USERPASS },
	{ "both offered, not required", true, true, false,
	    SOCKS5_METHOD_NONE },
	{ "only userpass offered, not required", false, true, false,
	    SOCKS5_METHOD_REFUSED },
	{ "nothing usable, not required", false, false, false,
	    SOCKS5_METHOD_REFUSED },
	{ "nothing usable, required", false, false, true,
	    SOCKS5_METHOD_REFUSED },
};

static void
test_choose_method(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(choose_rows); i++) {
		const struct choose_row	*r = &choose_rows[i];
		struct socks5_greeting	 g = {
			.used = 3, .offers_none = r->none,
			.offers_userpass = r->userpass,
		};

		CHECK_EQ(r->name, socks5_choose_method(&g, r->require),
		    r->want);
	}
}

/* User/password, RFC 1929 */

struct userpass_row {
	const char		*name, *hex;
	enum parse_result	 res;
	size_t			 used;
	const char		*user, *pass;
};

static const struct userpass_row userpass_rows[] = {
	{ "alice/secret", "01 05 616c696365 06 736563726574",
	    PARSE_OK, 14, "alice", "secret" },
	{ "empty password accepted", "01 01 61 00", PARSE_OK, 4, "a", "" },
	{ "binary password", "01 01 62 03 00ff3a", PARSE_OK, 7, "b",
	    "\x00\xff:" },
	{ "wrong version 5", "05 01 61 01 62", PARSE_ERROR, 0, "", "" },
	{ "wrong version 0", "00 01 61 01 62", PARSE_ERROR, 0, "", "" },
	{ "empty user", "01 00 01 62", PARSE_ERROR, 0, "", "" },
	{ "empty", "", PARSE_NEED_MORE, 0, "", "" },
	{ "user cut", "01 05 616c69", PARSE_NEED_MORE, 0, "", "" },
	{ "password length missing", "01 01 61", PARSE_NEED_MORE, 0, "", "" },
	{ "password cut", "01 01 61 03 6263", PARSE_NEED_MORE, 0, "", "" },
};

static void
test_userpass_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(userpass_rows); i++) {
		const struct userpass_row	*r = &userpass_rows[i];
		struct socks5_userpass		 up;
		uint8_t				 raw[MAXMSG], *buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));
		size_t				 ul = strlen(r->user);
		/* the binary row's password holds a NUL: count it by hand */
		size_t				 pl = r->res == PARSE_OK ?
						    r->used - 3 - ul : 0;

		buf = dup_exact(raw, n);
		memset(&up, 0xa5, sizeof(up));
		CHECK_EQ(r->name, socks5_parse_userpass(buf, n, &up), r->res);
		CHECK_EQ(r->name, up.used, r->used);
		CHECK_EQ(r->name, up.user_len, ul);
		CHECK_EQ(r->name, up.pass_len, pl);
		CHECK_MEM(r->name, up.user, r->user, ul);
		CHECK_MEM(r->name, up.pass, r->pass, pl);
		CHECK_EQ(r->name, up.user[ul], 0);
		CHECK_EQ(r->name, up.pass[pl], 0);
		free(buf);
	}
}

static void
test_userpass_max_lengths(void **state)
{
	uint8_t			buf[SOCKS5_MAX_USERPASS];
	struct socks5_userpass	up;

	(void)state;
	buf[0] = 0x01;
	buf[1] = 255;
	memset(buf + 2, 'u', 255);
	buf[2 + 255] = 255;
	memset(buf + 3 + 255, 'p', 255);
	assert_int_equal(socks5_parse_userpass(buf, sizeof(buf), &up),
	    PARSE_OK);
	assert_int_equal(up.used, SOCKS5_MAX_USERPASS);
	assert_int_equal(up.user_len, 255);
	assert_int_equal(up.pass_len, 255);
	assert_int_equal(strlen(up.user), 255);
	assert_int_equal(strlen(up.pass), 255);
	assert_int_equal(up.user[0], 'u');
	assert_int_equal(up.pass[254], 'p');
	assert_int_equal(socks5_parse_userpass(buf, sizeof(buf) - 1, &up),
	    PARSE_NEED_MORE);
}

/* Request */

struct request_row {
	const char		*name, *hex;
	enum parse_result	 res;
	enum reply_code		 rep;
	size_t			 used;
	uint8_t			 atyp;
	const char		*addr_hex;	/* IPv4/IPv6 address bytes */
	const char		*host;		/* domain */
	uint16_t		 port;
};

static const struct request_row request_rows[] = {
	{ "ipv4", "05 01 00 01 7f000001 0050", PARSE_OK, 0, 10,
	    TARGET_IPV4, "7f000001", "", 80 },
	{ "rsv ff", "05 01 ff 01 08080808 01bb", PARSE_ERROR,
	    REPLY_GENERAL, 0, 0, "", "", 0 },
	{ "rsv 01, cut after it", "05 01 01", PARSE_ERROR,
	    REPLY_GENERAL, 0, 0, "", "", 0 },
	{ "ipv6", "05 01 00 04 20010db8000000000000000000000001 ffff",
	    PARSE_OK, 0, 22, TARGET_IPV6, "20010db8000000000000000000000001",
	    "", 65535 },
	{ "domain", "05 01 00 03 0b 6578616d706c652e636f6d 0050", PARSE_OK, 0,
	    18, TARGET_DOMAIN, "", "example.com", 80 },
	{ "domain charset", "05 01 00 03 07 612d625f432e39 0001", PARSE_OK, 0,
	    14, TARGET_DOMAIN, "", "a-b_C.9", 1 },
	{ "wrong version", "04 01 00 01 7f000001 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, 0, "", "", 0 },
	{ "cmd bind", "05 02 00 01 7f000001 0050", PARSE_ERROR,
	    REPLY_CMD_UNSUPPORTED, 0, 0, "", "", 0 },
	{ "cmd udp", "05 03 00 01 7f000001 0050", PARSE_ERROR,
	    REPLY_CMD_UNSUPPORTED, 0, 0, "", "", 0 },
	{ "cmd 9", "05 09 00 01 7f000001 0050", PARSE_ERROR,
	    REPLY_CMD_UNSUPPORTED, 0, 0, "", "", 0 },
	{ "cmd 0", "05 00", PARSE_ERROR,
	    REPLY_CMD_UNSUPPORTED, 0, 0, "", "", 0 },
	{ "atyp 9", "05 01 00 09 7f000001 0050", PARSE_ERROR,
	    REPLY_ATYP_UNSUPPORTED, 0, 9, "", "", 0 },
	{ "atyp 0", "05 01 00 00", PARSE_ERROR,
	    REPLY_ATYP_UNSUPPORTED, 0, 0, "", "", 0 },
	{ "name len 0", "05 01 00 03 00 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "name with space", "05 01 00 03 03 612062 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "name with NUL", "05 01 00 03 03 610062 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "name with newline", "05 01 00 03 02 610a 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "name with slash", "05 01 00 03 03 612f62 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "name high byte", "05 01 00 03 02 61e9 0050", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "port 0 ipv4", "05 01 00 01 7f000001 0000", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_IPV4, "", "", 0 },
	{ "port 0 domain", "05 01 00 03 01 61 0000", PARSE_ERROR,
	    REPLY_GENERAL, 0, TARGET_DOMAIN, "", "", 0 },
	{ "empty", "", PARSE_NEED_MORE, 0, 0, 0, "", "", 0 },
	{ "ipv4 port cut", "05 01 00 01 7f000001 00", PARSE_NEED_MORE, 0, 0,
	    TARGET_IPV4, "", "", 0 },
};

static void
test_request_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(request_rows); i++) {
		const struct request_row	*r = &request_rows[i];
		struct socks5_request		 req;
		uint8_t				 raw[MAXMSG], addr[16] = { 0 };
		uint8_t				*buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));

		hex_decode(r->addr_hex, addr, sizeof(addr));
		buf = dup_exact(raw, n);
		memset(&req, 0xa5, sizeof(req));
		CHECK_EQ(r->name, socks5_parse_request(buf, n, &req), r->res);
		if (r->res == PARSE_ERROR)
			CHECK_EQ(r->name, req.rep, r->rep);
		if (r->res == PARSE_OK) {
			CHECK_EQ(r->name, req.rep, REPLY_OK);
			CHECK_EQ(r->name, req.cmd, SOCKS5_CMD_CONNECT);
			CHECK_EQ(r->name, req.target.port, r->port);
			CHECK_STR(r->name, req.target.name, r->host);
			CHECK_MEM(r->name, req.target.addr, addr, 16);
		}
		CHECK_EQ(r->name, req.used, r->used);
		CHECK_EQ(r->name, req.target.atyp, r->atyp);
		free(buf);
	}
}

static void
test_request_longest_name(void **state)
{
	uint8_t			buf[SOCKS5_MAX_REQUEST];
	struct socks5_request	req;

	(void)state;
	memcpy(buf, "\x05\x01\x00\x03\xff", 5);
	memset(buf + 5, 'x', 255);
	buf[5 + 255] = 0x1f;
	buf[5 + 256] = 0x90;
	assert_int_equal(socks5_parse_request(buf, sizeof(buf), &req),
	    PARSE_OK);
	assert_int_equal(req.used, SOCKS5_MAX_REQUEST);
	assert_int_equal(strlen(req.target.name), 255);
	assert_int_equal(req.target.port, 8080);
}

/* Every prefix of a good message is NEED_MORE; with the next one behind
 * it, exactly the first is consumed. */

enum which { W_GREETING, W_USERPASS, W_REQUEST };

struct stream_row {
	const char	*name;
	enum which	 which;
	const char	*hex, *next_hex;
};

static const struct stream_row stream_rows[] = {
	{ "greeting none", W_GREETING, "05 01 00",
	    "05 01 00 01 7f000001 0050" },
	{ "greeting both", W_GREETING, "05 02 00 02", "01 01 61 01 62" },
	{ "userpass", W_USERPASS, "01 05 616c696365 06 736563726574",
	    "05 01 00 01 7f000001 0050" },
	{ "userpass empty pw", W_USERPASS, "01 01 61 00",
	    "05 01 00 03 01 61 0050" },
	{ "request ipv4", W_REQUEST, "05 01 00 01 7f000001 0050",
	    "474554202f20485454502f312e310d0a" },
	{ "request ipv6", W_REQUEST,
	    "05 01 00 04 00000000000000000000000000000001 01bb",
	    "1603010200" },
	{ "request domain", W_REQUEST,
	    "05 01 00 03 0b 6578616d706c652e636f6d 0050",
	    "05 01 00 03 0b 6578616d706c652e636f6d 0050" },
};

static enum parse_result
parse_any(enum which w, const uint8_t *buf, size_t n, size_t *used)
{
	struct socks5_greeting	g;
	struct socks5_userpass	up;
	struct socks5_request	req;
	enum parse_result	r;

	switch (w) {
	case W_GREETING:
		r = socks5_parse_greeting(buf, n, &g);
		*used = g.used;
		return r;
	case W_USERPASS:
		r = socks5_parse_userpass(buf, n, &up);
		*used = up.used;
		return r;
	case W_REQUEST:
		r = socks5_parse_request(buf, n, &req);
		*used = req.used;
		return r;
	}
	return PARSE_ERROR;
}

static void
test_every_prefix_needs_more(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(stream_rows); i++) {
		const struct stream_row	*r = &stream_rows[i];
		uint8_t			 raw[MAXMSG], *buf;
		size_t			 n = hex_decode(r->hex, raw,
					    sizeof(raw)), used;

		for (size_t k = 0; k < n; k++) {
			char	label[128];

			snprintf(label, sizeof(label), "%s, %zu of %zu bytes",
			    r->name, k, n);
			buf = dup_exact(raw, k);
			CHECK_EQ(label, parse_any(r->which, buf, k, &used),
			    PARSE_NEED_MORE);
			CHECK_EQ(label, used, 0);
			free(buf);
		}
		buf = dup_exact(raw, n);
		CHECK_EQ(r->name, parse_any(r->which, buf, n, &used), PARSE_OK);
		CHECK_EQ(r->name, used, n);
		free(buf);
	}
}

static void
test_followed_by_next_message(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(stream_rows); i++) {
		const struct stream_row	*r = &stream_rows[i];
		uint8_t			 raw[2 * MAXMSG], *buf;
		size_t			 n, m, used;

		n = hex_decode(r->hex, raw, MAXMSG);
		m = hex_decode(r->next_hex, raw + n, MAXMSG);
		/* the next message whole, and only its first byte */
		buf = dup_exact(raw, n + m);
		CHECK_EQ(r->name, parse_any(r->which, buf, n + m, &used),
		    PARSE_OK);
		CHECK_EQ(r->name, used, n);
		free(buf);
		buf = dup_exact(raw, n + 1);
		CHECK_EQ(r->name, parse_any(r->which, buf, n + 1, &used),
		    PARSE_OK);
		CHECK_EQ(r->name, used, n);
		free(buf);
	}
}

/* Reply builder */

struct reply_row {
	const char	*name;
	enum reply_code	 rep;
	bool		 has_bound;
	struct target	 bound;
	const char	*want_hex;
};

static const struct reply_row reply_rows[] = {
	{ "ok, no bound address", REPLY_OK, false, { 0 },
	    "05 00 00 01 00000000 0000" },
	{ "refused, no bound address", REPLY_REFUSED, false, { 0 },
	    "05 05 00 01 00000000 0000" },
	{ "ttl expired", REPLY_TIMED_OUT, false, { 0 },
	    "05 06 00 01 00000000 0000" },
	{ "ok, bound ipv4", REPLY_OK, true,
	    { .atyp = TARGET_IPV4, .addr = { 10, 0, 0, 1 }, .port = 1080 },
	    "05 00 00 01 0a000001 0438" },
	{ "ok, bound ipv6", REPLY_OK, true,
	    { .atyp = TARGET_IPV6, .addr = { 0x20, 0x01, 0x0d, 0xb8,
	    [15] = 2 }, .port = 443 },
	    "05 00 00 04 20010db8000000000000000000000002 01bb" },
	{ "domain bound falls back to 0.0.0.0:0", REPLY_OK, true,
	    { .atyp = TARGET_DOMAIN, .name = "example.com", .port = 80 },
	    "05 00 00 01 00000000 0000" },
	{ "cmd unsupported", REPLY_CMD_UNSUPPORTED, false, { 0 },
	    "05 07 00 01 00000000 0000" },
};

static void
test_build_reply(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(reply_rows); i++) {
		const struct reply_row	*r = &reply_rows[i];
		uint8_t			 out[SOCKS5_REPLY_MAX + 8], want[64];
		size_t			 wn = hex_decode(r->want_hex, want,
					    sizeof(want)), n;

		memset(out, 0xee, sizeof(out));
		n = socks5_build_reply(r->rep,
		    r->has_bound ? &r->bound : NULL, out);
		CHECK_EQ(r->name, n, wn);
		CHECK(r->name, n <= SOCKS5_REPLY_MAX);
		CHECK_MEM(r->name, out, want, wn);
		CHECK_EQ(r->name, out[SOCKS5_REPLY_MAX], 0xee);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_table),
		cmocka_unit_test(test_greeting_255_methods),
		cmocka_unit_test(test_choose_method),
		cmocka_unit_test(test_userpass_table),
		cmocka_unit_test(test_userpass_max_lengths),
		cmocka_unit_test(test_request_table),
		cmocka_unit_test(test_request_longest_name),
		cmocka_unit_test(test_every_prefix_needs_more),
		cmocka_unit_test(test_followed_by_next_message),
		cmocka_unit_test(test_build_reply),
	};

	return cmocka_run_group_tests_name("socks5", tests, NULL, NULL);
}

/*
 * http_frame.c: where a head ends (fed whole and byte by byte), and where
 * a body ends: each row fed whole, byte by byte, and followed by the next
 * message (consume exactly the body). Bad chunked bodies are the
 * leniencies http-parser allows and a proxy must not.
 */

#include "testutil.h"

#include "proto/http_frame.h"

struct body_row {
	const char		*name;
	enum http_body_kind	 kind;
	uint64_t		 length;
	const char		*in;
	enum parse_result	 res;	/* after all of in */
	size_t			 used;	/* OK: the body's bytes */
};

#define NEXT	"GET http://v.example/ HTTP/1.1\r\n\r\n"

static const struct body_row body_rows[] = {
	{ "none", HTTP_BODY_NONE, 0, "", PARSE_OK, 0 },
	{ "length 0", HTTP_BODY_LENGTH, 0, "", PARSE_OK, 0 },
	{ "length 3", HTTP_BODY_LENGTH, 3, "abc", PARSE_OK, 3 },
	{ "length 3, short", HTTP_BODY_LENGTH, 3, "ab", PARSE_NEED_MORE, 2 },
	{ "close", HTTP_BODY_CLOSE, 0, "abc", PARSE_NEED_MORE, 3 },
	{ "chunked", HTTP_BODY_CHUNKED, 0, "3\r\nabc\r\n0\r\n\r\n", PARSE_OK,
	    13 },
	{ "chunked hex, ext", HTTP_BODY_CHUNKED, 0,
	    "A;name=\"v\"\r\n0123456789\r\n0;x\r\n\r\n", PARSE_OK, 31 },
	{ "chunked trailer", HTTP_BODY_CHUNKED, 0,
	    "1\r\na\r\n0\r\nX-Sum: 1\r\n\r\n", PARSE_OK, 21 },
	{ "chunked, short", HTTP_BODY_CHUNKED, 0, "3\r\nab", PARSE_NEED_MORE,
	    5 },
	/* bug: the length was kept and the first size shifted onto it */
	{ "chunked, length given", HTTP_BODY_CHUNKED, 64, "0\r\n\r\n",
	    PARSE_OK, 5 },
	{ "chunked, length given, data", HTTP_BODY_CHUNKED, 3,
	    "1\r\na\r\n0\r\n\r\n", PARSE_OK, 11 },
	{ "close, length given", HTTP_BODY_CLOSE, 3, "abcd", PARSE_NEED_MORE,
	    4 },
	{ "none, length given", HTTP_BODY_NONE, 3, "abc", PARSE_OK, 0 },
	{ "bare LF after size", HTTP_BODY_CHUNKED, 0, "3\nabc\r\n0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "bare LF in extension", HTTP_BODY_CHUNKED, 0,
	    "3;a\nb\r\nabc\r\n0\r\n\r\n", PARSE_ERROR, 0 },
	{ "CR alone in extension", HTTP_BODY_CHUNKED, 0,
	    "3;a\rb\r\nabc\r\n0\r\n\r\n", PARSE_ERROR, 0 },
	{ "no CRLF after data", HTTP_BODY_CHUNKED, 0, "3\r\nabcXY0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "bare LF after data", HTTP_BODY_CHUNKED, 0, "3\r\nabc\n0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "space before size", HTTP_BODY_CHUNKED, 0, " 3\r\nabc\r\n0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "space after size", HTTP_BODY_CHUNKED, 0, "3 \r\nabc\r\n0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "17 hex digits", HTTP_BODY_CHUNKED, 0, "00000000000000001\r\n",
	    PARSE_ERROR, 0 },
	{ "0x prefix", HTTP_BODY_CHUNKED, 0, "0x3\r\nabc\r\n0\r\n\r\n",
	    PARSE_ERROR, 0 },
	{ "trailer Content-Length", HTTP_BODY_CHUNKED, 0,
	    "0\r\nContent-Length: 5\r\n\r\n", PARSE_ERROR, 0 },
	{ "trailer transfer-encoding", HTTP_BODY_CHUNKED, 0,
	    "0\r\ntransfer-encoding: chunked\r\n\r\n", PARSE_ERROR, 0 },
	{ "trailer obs-fold", HTTP_BODY_CHUNKED, 0,
	    "0\r\nX-A: 1\r\n 2\r\n\r\n", PARSE_ERROR, 0 },
	{ "trailer bare LF", HTTP_BODY_CHUNKED, 0, "0\r\nX-A: 1\n\r\n",
	    PARSE_ERROR, 0 },
	{ "last chunk bare LF", HTTP_BODY_CHUNKED, 0, "0\r\n\n", PARSE_ERROR,
	    0 },
};

static enum parse_result
feed_split(const struct body_row *r, const char *in, size_t len,
    size_t step, size_t *used)
{
	struct http_body	b;
	enum parse_result	res = PARSE_NEED_MORE;
	size_t			off = 0, u;

	http_body_init(&b, r->kind, r->length);
	if (len == 0)
		res = http_body_feed(&b, (const uint8_t *)in, 0, &u);
	while (off < len) {
		size_t n = MIN(step, len - off);

		res = http_body_feed(&b, (const uint8_t *)in + off, n, &u);
		CHECK(r->name, u <= n);
		off += u;
		if (res != PARSE_NEED_MORE)
			break;
	}
	*used = off;
	return res;
}

static void
test_body_rows(void **state)
{
	char	buf[256];
	size_t	used;

	(void)state;
	for (size_t i = 0; i < NELEM(body_rows); i++) {
		const struct body_row	*r = &body_rows[i];
		size_t			 len = strlen(r->in);

		for (size_t step = 1; step <= len + 1; step += MAX(len, 1)) {
			CHECK_EQ(r->name, feed_split(r, r->in, len, step,
			    &used), r->res);
			if (r->res != PARSE_ERROR)
				CHECK_EQ(r->name, used, r->used);
		}
		if (r->res != PARSE_OK)
			continue;
		/* followed by the next message: exactly the body */
		snprintf(buf, sizeof(buf), "%s%s", r->in, NEXT);
		CHECK_EQ(r->name, feed_split(r, buf, strlen(buf), 1, &used),
		    PARSE_OK);
		CHECK_EQ(r->name, used, r->used);
		CHECK_EQ(r->name, feed_split(r, buf, strlen(buf), 4096,
		    &used), PARSE_OK);
		CHECK_EQ(r->name, used, r->used);
	}
}

struct seek_row {
	const char	*name;
	const char	*in;
	bool		 look;
	size_t		 off;	/* where it said look */
};

static const struct seek_row seek_rows[] = {
	{ "whole head", "GET / HTTP/1.1\r\nA: b\r\n\r\nbody", true, 24 },
	{ "no end yet", "GET / HTTP/1.1\r\nA: b\r\n", false, 0 },
	{ "leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", true, 22 },
	{ "bare LF", "GET / HTTP/1.1\nA: b\r\n\r\n", true, 15 },
	{ "bare LF empty line", "HTTP/1.1 200 OK\r\n\n", true, 18 },
	{ "CR CR LF", "GET / HTTP/1.1\r\n\r\r\n", false, 0 },
};

/* A framing error stays: bytes that would read as a good ending after
 * it do not turn the body whole again. */
static void
test_error_sticks(void **state)
{
	struct http_body	b;
	size_t			used;

	(void)state;
	http_body_init(&b, HTTP_BODY_CHUNKED, 0);
	assert_int_equal(http_body_feed(&b, (const uint8_t *)"x", 1, &used),
	    PARSE_ERROR);
	assert_non_null(b.why);
	assert_int_equal(http_body_feed(&b, (const uint8_t *)"0\r\n\r\n", 5,
	    &used), PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_false(b.done);
}

static void
test_head_seek(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(seek_rows); i++) {
		const struct seek_row	*r = &seek_rows[i];
		size_t			 len = strlen(r->in);
		struct http_head_seek	 s = { 0 };
		bool			 look = false;

		/* whole */
		look = http_head_seek(&s, (const uint8_t *)r->in, len);
		CHECK_EQ(r->name, look, r->look);
		if (look)
			CHECK_EQ(r->name, s.off, r->off);
		/* byte by byte: says look at the same byte */
		memset(&s, 0, sizeof(s));
		look = false;
		for (size_t k = 0; k < len && !look; k++)
			look = http_head_seek(&s, (const uint8_t *)r->in + k,
			    1);
		CHECK_EQ(r->name, look, r->look);
		if (look)
			CHECK_EQ(r->name, s.off, r->off);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_rows),
		cmocka_unit_test(test_error_sticks),
		cmocka_unit_test(test_head_seek),
	};

	return cmocka_run_group_tests_name("http_frame", tests, NULL, NULL);
}

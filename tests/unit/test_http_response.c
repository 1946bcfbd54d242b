/* Origin response head rewriting (src/proto/http_response.c) and the PAC file. */

#include "testutil.h"

/* rows leave the framing fields out when they do not check them */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "proto/http_response.h"
#include "proto/pac.h"

struct row {
	const char	*name;
	const char	*in;
	bool		 is_head, client_keep;
	int		 result;
	const char	*out;		/* NULL: don't compare */
	int		 status;
	bool		 self_delimited, origin_keep, upgrade, info;
	bool		 asked;		/* the request asked to upgrade */
	int		 body;		/* OK: enum http_body_kind */
	uint64_t	 length;
};

#define H_OK	"HTTP/1.1 200 OK\r\n"
#define VIA_KA	"Via: 1.1 mpsocks\r\nConnection: keep-alive\r\n\r\n"
/* a hostile head: 502 and close */
#define BAD(n, t)	{ .name = n, .in = t, .client_keep = true,	\
			    .result = PARSE_ERROR }

static const struct row rows[] = {
	{ "length, keep", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Keep-Alive: timeout=5\r\n\r\nabc", false, true, PARSE_OK,
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nVia: 1.1 mpsocks\r\n"
	    "Connection: keep-alive\r\n\r\n", 200, true, true, false, false },
	{ "client closes", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    false, false, PARSE_OK, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Via: 1.1 mpsocks\r\nConnection: close\r\n\r\n", 200, true, true,
	    false, false },
	{ "chunked", "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n", false, true, PARSE_OK, "HTTP/1.1 404 Not Found\r\n"
	    "Transfer-Encoding: chunked\r\nVia: 1.1 mpsocks\r\n"
	    "Connection: keep-alive\r\n\r\n", 404, true, true, false, false },
	{ "until close", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", false, true,
	    PARSE_OK, "HTTP/1.1 200 OK\r\nServer: x\r\nVia: 1.1 mpsocks\r\n"
	    "Connection: close\r\n\r\n", 200, false, false, false, false },
	{ "connection names a field",
	    "HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n"
	    "Content-Length: 0\r\nUpgrade: h2c\r\n\r\n", false, true, PARSE_OK,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 mpsocks\r\n"
	    "Connection: keep-alive\r\n\r\n", 200, true, false, false, false },
	{ "HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
	    true, true, PARSE_OK, NULL, 200, true, true, false, false },
	{ "204", "HTTP/1.1 204 No Content\r\n\r\n", false, true, PARSE_OK,
	    NULL, 204, true, true, false, false },
	{ "100 continue", "HTTP/1.1 100 Continue\r\n\r\n", false, true,
	    PARSE_OK, NULL, 100, true, true, false, true },
	{ "101 upgrade", "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false, true,
	    PARSE_OK, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
	    "\r\nVia: 1.1 mpsocks\r\nConnection: upgrade\r\n\r\n", 101, false,
	    false, true, false, true },
	/* RFC 9112 6.3: no body for HEAD, 1xx, 204, 304, whatever it says;
	 * a 204 or 1xx announcing one lies: its connection is not reused */
	{ "204 with Content-Length", "HTTP/1.1 204 No Content\r\n"
	    "Content-Length: 5\r\n\r\nEVIL!", false, true, PARSE_OK,
	    "HTTP/1.1 204 No Content\r\n" VIA_KA, 204, true, false, false,
	    false },
	{ "204 chunked", "HTTP/1.1 204 No Content\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", false, true, PARSE_OK,
	    "HTTP/1.1 204 No Content\r\n" VIA_KA, 204, true, false, false,
	    false },
	{ "304 with Content-Length", "HTTP/1.1 304 Not Modified\r\n"
	    "Content-Length: 5\r\n\r\nEVIL!", false, true, PARSE_OK,
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n" VIA_KA,
	    304, true, true, false, false },
	{ "reason rebuilt", "HTTP/1.1 200 <script>\r\nContent-Length: 2\r\n"
	    "\r\n", false, true, PARSE_OK, H_OK "Content-Length: 2\r\n" VIA_KA,
	    200, true, true, false, false, false, HTTP_BODY_LENGTH, 2 },
	{ "no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false,
	    true, PARSE_OK, H_OK "Content-Length: 0\r\n" VIA_KA, 200, true,
	    true, false, false },
	{ "other coding, origin closes", "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n", false,
	    true, PARSE_OK, NULL, 200, false, false, false, false, false,
	    HTTP_BODY_CLOSE },
	BAD("101 not asked for", "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
	BAD("bare LF status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
	BAD("bare LF header", H_OK "Content-Length: 0\n\r\n"),
	BAD("bare LF end", H_OK "Content-Length: 0\r\n\n"),
	BAD("CR alone", H_OK "X-A: 1\rX-B: 2\r\n\r\n"),
	BAD("obs-fold", H_OK "X-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n"),
	BAD("control byte", H_OK "X-A: \x01\r\nContent-Length: 0\r\n\r\n"),
	BAD("space before colon", H_OK "Content-Length : 0\r\n\r\n"),
	BAD("two Content-Lengths", H_OK "Content-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n"),
	BAD("conflicting Content-Lengths", H_OK "Content-Length: 3\r\n"
	    "Content-Length: 30\r\n\r\n"),
	BAD("Content-Length list", H_OK "Content-Length: 3, 3\r\n\r\n"),
	BAD("Content-Length sign", H_OK "Content-Length: +3\r\n\r\n"),
	BAD("Content-Length with Transfer-Encoding", H_OK "Content-Length: 3"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n"),
	BAD("other final coding, persistent", H_OK
	    "Transfer-Encoding: chunked, gzip\r\n\r\n"),
	BAD("chunked twice", H_OK "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	BAD("Transfer-Encoding in 1.0", "HTTP/1.0 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	BAD("status 600", "HTTP/1.1 600 X\r\n\r\n"),
	BAD("status 2000", "HTTP/1.1 2000 X\r\n\r\n"),
	BAD("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"),
	{ "no end yet", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", false,
	    true, PARSE_NEED_MORE, NULL, 0, false, false, false, false },
	{ "not http", "SSH-2.0-OpenSSH\r\n\r\n", false, true, PARSE_ERROR,
	    NULL, 0, false, false, false, false },
	/* found by fuzzing: the reason search ran past the first line */
	{ "junk status line", "H\x19\\\r\n1.3 200\r\n\r\n\n", false, true,
	    PARSE_ERROR, NULL, 0, false, false, false, false },
	{ "status 1", "HTTP/1.1 1\r\n\r\n", false, true, PARSE_ERROR, NULL,
	    0, false, false, false, false },
	{ "http/2 status line", "HTTP/2 200\r\n\r\n", false, true,
	    PARSE_ERROR, NULL, 0, false, false, false, false },
};

static void
test_rows(void **state)
{
	char				out[1024];
	size_t				outn;
	struct http_response_info	info;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t len = strlen(r->in);
		uint8_t *exact = malloc(len);	/* ASan sees reads past len */

		memcpy(exact, r->in, len);
		unsigned flags = (r->is_head ? HTTP_RESP_HEAD : 0) |
		    (r->client_keep ? HTTP_RESP_KEEP : 0) |
		    (r->asked ? HTTP_RESP_UPGRADE : 0);

		CHECK_EQ(r->name, http_response_rewrite(exact, len, 65536,
		    flags, out, sizeof(out), &outn, &info), r->result);
		if (r->result == PARSE_OK) {
			CHECK_EQ(r->name, info.status, r->status);
			CHECK_EQ(r->name, info.self_delimited,
			    r->self_delimited);
			CHECK_EQ(r->name, info.origin_keep_alive,
			    r->origin_keep);
			CHECK_EQ(r->name, info.upgrade, r->upgrade);
			CHECK_EQ(r->name, info.informational, r->info);
			CHECK(r->name, info.used <= len);
			if (r->body != 0 || r->length != 0) {
				CHECK_EQ(r->name, info.body, r->body);
				CHECK_EQ(r->name, info.length, r->length);
			}
			if (r->out != NULL) {
				out[outn] = '\0';
				CHECK_STR(r->name, out, r->out);
			}
			/* every prefix of the head waits for more */
			for (size_t k = 0; k + 1 < info.used; k++)
				CHECK_EQ(r->name, http_response_rewrite(exact,
				    k, 65536, flags, out,
				    sizeof(out), &outn, &info),
				    PARSE_NEED_MORE);
		}
		free(exact);
	}
}

static void
test_limits(void **state)
{
	static char			big[70000];
	char				out[64];
	size_t				outn;
	struct http_response_info	info;
	const char			*ok = "HTTP/1.1 200 OK\r\n"
					    "Content-Length: 0\r\n\r\n";

	(void)state;
	/* no end of head within head_max */
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_response_rewrite((uint8_t *)big, sizeof(big),
	    65536, HTTP_RESP_KEEP, out, sizeof(out), &outn, &info),
	    PARSE_ERROR);
	/* a NUL in a field value */
	assert_int_equal(http_response_rewrite((const uint8_t *)
	    "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", 29, 65536,
	    HTTP_RESP_KEEP, out, sizeof(out), &outn, &info), PARSE_ERROR);
	/* out too small */
	assert_int_equal(http_response_rewrite((const uint8_t *)ok,
	    strlen(ok), 65536, HTTP_RESP_KEEP, out, 20, &outn, &info),
	    PARSE_ERROR);
}

static void
test_pac(void **state)
{
	char	out[2048];
	int	n;

	(void)state;
	n = pac_build("192.168.1.20:1080", out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, "return \"SOCKS5 192.168.1.20:1080; "
	    "PROXY 192.168.1.20:1080\";"));
	assert_non_null(strstr(out, "FindProxyForURL"));
	assert_null(strstr(out, "dnsResolve"));	/* no local DNS leak */
	assert_int_equal(pac_build("192.168.1.20:1080", out, 100), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pac),
	};

	return cmocka_run_group_tests_name("http_response", tests, NULL,
	    NULL);
}

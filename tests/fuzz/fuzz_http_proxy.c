/*
 * The HTTP proxy request parser, its rewrite and the response builder on
 * the same input. Beyond "no crash, no read past size" (ASan): OK consumes
 * a head ending in CRLFCRLF within size and the cap, the head alone parses
 * the same and a shorter prefix waits; fields point into the head; a
 * tighter cap never turns an error into OK; the rewrite is one well-framed
 * head without hop-by-hop fields; and no extra header text gets a second
 * head into a response.
 */

#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "proto/reply.h"
#include "proto/http_proxy.h"
#include "proto/http_rewrite.h"

#define SMALL_CAP	256

static bool
name_is(const char *line, size_t n, const char *lit)
{
	size_t	l = strlen(lit);

	return n > l && line[l] == ':' && strncasecmp(line, lit, l) == 0;
}

/* One head: CRLF line ends only, control bytes only there, ends once. */
static void
check_framing(const char *s, size_t n)
{
	FUZZ_CHECK(n >= 4 && memcmp(s + n - 4, "\r\n\r\n", 4) == 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t	ch = (uint8_t)s[i];

		if (ch == '\n')
			FUZZ_CHECK(i > 0 && s[i - 1] == '\r');
		else if (ch == '\r')
			FUZZ_CHECK(i + 1 < n && s[i + 1] == '\n');
		else
			FUZZ_CHECK(ch >= 0x20 || ch == '\t');
		if (i + 4 < n)
			FUZZ_CHECK(memcmp(s + i, "\r\n\r\n", 4) != 0);
	}
}

static void
check_rewrite(const struct http_request *req)
{
	static char	out[2 * HTTP_HEAD_MAX_DEFAULT];
	const char	*line, *end;
	int		 n, hosts = 0;

	n = http_rewrite_request(req, NULL, out, sizeof(out));
	if (req->is_connect || req->is_pac) {
		FUZZ_CHECK(n == -1);
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n <= req->used + HTTP_REWRITE_EXTRA);
	check_framing(out, (size_t)n);
	FUZZ_CHECK(out[0] != ' ' && memchr(out, ' ', (size_t)n) != NULL);
	line = (const char *)memchr(out, '\n', (size_t)n) + 1;
	for (end = out + n - 2; line < end; ) {
		const char	*lf = memchr(line, '\n',
		    (size_t)(end - line));
		size_t		 len = (size_t)(lf - line);

		FUZZ_CHECK(!name_is(line, len, "proxy-authorization") &&
		    !name_is(line, len, "proxy-connection") &&
		    !name_is(line, len, "keep-alive") &&
		    !name_is(line, len, "te") &&
		    !name_is(line, len, "trailer"));
		if (!req->websocket_upgrade)
			FUZZ_CHECK(!name_is(line, len, "upgrade"));
		hosts += name_is(line, len, "host");
		line = lf + 1;
	}
	FUZZ_CHECK(hosts == 1);
	FUZZ_CHECK(http_rewrite_request(req, NULL, out, (size_t)n - 1) == -1);
}

static void
check_ok(const uint8_t *data, size_t size, const struct http_request *req)
{
	static struct http_request	again;
	const char			*head = (const char *)data;

	FUZZ_CHECK(req->used <= size && req->used <= HTTP_HEAD_MAX_DEFAULT);
	check_framing(head + req->used - 4, 4);
	FUZZ_CHECK(req->status == 0 && req->why == NULL);
	FUZZ_CHECK(req->http_major == 1 && req->http_minor <= 1);
	FUZZ_CHECK(req->n_headers <= HTTP_MAX_HEADERS);
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header	*h = &req->headers[i];

		FUZZ_CHECK(h->name_len > 0 && h->name >= head &&
		    h->name + h->name_len <= head + req->used);
		FUZZ_CHECK(h->value >= head &&
		    h->value + h->value_len <= head + req->used);
	}
	FUZZ_CHECK(!(req->chunked && req->has_content_length));
	FUZZ_CHECK(!(req->is_connect && req->is_pac));
	FUZZ_CHECK(strlen(req->path) <= HTTP_PATH_MAX);
	if (!req->is_pac) {
		FUZZ_CHECK(req->target.port != 0);
		if (req->target.atyp == TARGET_DOMAIN)
			FUZZ_CHECK(target_name_valid(
			    (const uint8_t *)req->target.name,
			    strlen(req->target.name)));
		else
			FUZZ_CHECK(req->target.atyp == TARGET_IPV4 ||
			    req->target.atyp == TARGET_IPV6);
	}
	if (!req->is_connect)
		FUZZ_CHECK(req->path[0] == '/' || req->path[0] == '*');
	if (req->has_basic_auth)
		FUZZ_CHECK(req->user[0] != '\0');
	else
		FUZZ_CHECK(req->user[0] == '\0' && req->pass[0] == '\0');
	/* the head alone parses the same; cut short, it waits */
	FUZZ_CHECK(http_parse_request(data, req->used, 0, &again) ==
	    PARSE_OK && again.used == req->used);
	FUZZ_CHECK(http_parse_request(data, req->used - 1, 0, &again) ==
	    PARSE_NEED_MORE);
	FUZZ_CHECK(http_parse_request(data, req->used / 2, 0, &again) ==
	    PARSE_NEED_MORE);
	check_rewrite(req);
}

static void
check_error(const struct http_request *req)
{
	char	out[512];
	int	n;

	FUZZ_CHECK(req->used == 0 && req->why != NULL);
	FUZZ_CHECK(req->status == 400 || req->status == 414 ||
	    req->status == 405 || req->status == 431 || req->status == 501 ||
	    req->status == 505);
	n = http_build_response(req->status, NULL, "text/plain", req->why,
	    strlen(req->why), false, out, sizeof(out));
	FUZZ_CHECK(n > 0);
}

/* Whatever the extra header text, at most one head comes out. */
static void
check_response(const uint8_t *data, size_t size)
{
	char	extra[256], out[1024];
	size_t	n = size < sizeof(extra) - 1 ? size : sizeof(extra) - 1;
	int	r;

	memcpy(extra, data, n);
	extra[n] = '\0';
	r = http_build_response(407, extra, NULL, NULL, 0, false, out,
	    sizeof(out));
	if (r >= 0)
		check_framing(out, (size_t)r);
	r = http_build_response(200, NULL, extra, "x", 1, true, out,
	    sizeof(out));
	if (r >= 0)
		check_framing(out, (size_t)r - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request	req, small;
	enum parse_result		r, rs;
	int				st;

	r = http_parse_request(data, size, 0, &req);
	if (r == PARSE_OK)
		check_ok(data, size, &req);
	else if (r == PARSE_ERROR)
		check_error(&req);
	else
		FUZZ_CHECK(req.used == 0 && size < HTTP_HEAD_MAX_DEFAULT);
	/* a tighter cap: OK only for heads that fit it, never otherwise */
	rs = http_parse_request(data, size, SMALL_CAP, &small);
	if (rs == PARSE_OK)
		FUZZ_CHECK(r == PARSE_OK && small.used == req.used);
	else if (r == PARSE_OK && req.used <= SMALL_CAP)
		FUZZ_CHECK(0);
	if (rs == PARSE_NEED_MORE)
		FUZZ_CHECK(size < SMALL_CAP && r == PARSE_NEED_MORE);
	check_response(data, size);
	st = reply_http_status(reply_from_wire(size > 0 ? data[0] : 0));
	FUZZ_CHECK(st == 200 || st == 403 || st == 502 || st == 504);
	return 0;
}

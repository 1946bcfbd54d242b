/*
 * http_proxy.c and http_rewrite.c: the request head parser (one row per
 * rule), every prefix of each good head (all NEED_MORE), a head followed
 * by its body or the next request (consume exactly the head), every
 * truncation of each bad head (never OK, never a crash), the caps, the
 * origin-form rewrite and the response builders byte for byte.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <http_parser.h>

#include "proto/http_proxy.h"
#include "proto/http_rewrite.h"

/* A literal and its length, NULs inside included. */
#define S(lit)	lit, sizeof(lit) - 1

/* What an OK row expects besides its fields. */
#define CON	0x01		/* is_connect */
#define PAC	0x02		/* is_pac */
#define KA	0x04		/* keep_alive */
#define CHK	0x08		/* chunked */
#define CL	0x10		/* has_content_length */
#define WS	0x20		/* websocket_upgrade */
#define AUTH	0x40		/* has_basic_auth */

struct parse_row {
	const char		*name;
	const char		*text;
	size_t			 len;
	enum parse_result	 res;
	int			 status;	/* ERROR */
	/* OK */
	unsigned		 method, minor, flags;
	uint8_t			 atyp;
	const char		*host;		/* name or address text */
	uint16_t		 port;
	const char		*path;
	uint64_t		 cl;
	const char		*user, *pass;
};

#define OK_ROW(n, t, m, minor, fl, atyp, host, port, path)		\
	{ n, S(t), PARSE_OK, 0, m, minor, fl, atyp, host, port, path,	\
	    0, "", "" }
#define ERR_ROW(n, t, st)						\
	{ n, S(t), PARSE_ERROR, st, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, NULL }

#define GET_A	"GET http://a.example/ HTTP/1.1\r\n"
#define POST_A	"POST http://a.example/ HTTP/1.1\r\n"
#define V4	TARGET_IPV4
#define V6	TARGET_IPV6
#define DN	TARGET_DOMAIN

static const struct parse_row parse_rows[] = {
	/* good requests of each kind */
	OK_ROW("connect ipv4",
	    "CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: 192.0.2.1:443\r\n\r\n",
	    HTTP_CONNECT, 1, CON | KA, V4, "192.0.2.1", 443, ""),
	OK_ROW("connect ipv6",
	    "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n",
	    HTTP_CONNECT, 1, CON | KA, V6, "2001:db8::1", 8443, ""),
	OK_ROW("connect name",
	    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
	    "User-Agent: curl/8.0\r\n\r\n",
	    HTTP_CONNECT, 1, CON | KA, DN, "example.com", 443, ""),
	OK_ROW("connect name charset, port 1",
	    "CONNECT a-b_c.9.Example.:1 HTTP/1.0\r\n\r\n",
	    HTTP_CONNECT, 0, CON, DN, "a-b_c.9.Example.", 1, ""),
	OK_ROW("connect port 65535",
	    "CONNECT example.com:65535 HTTP/1.1\r\n\r\n",
	    HTTP_CONNECT, 1, CON | KA, DN, "example.com", 65535, ""),
	OK_ROW("connect content-length 0",
	    "CONNECT example.com:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	    HTTP_CONNECT, 1, CON | KA | CL, DN, "example.com", 443, ""),
	OK_ROW("get with query",
	    "GET http://example.com/a/b?x=1&y=%20 HTTP/1.1\r\n"
	    "Host: example.com\r\nAccept: */*\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "example.com", 80, "/a/b?x=1&y=%20"),
	OK_ROW("get no path, port",
	    "GET http://example.com:8080 HTTP/1.1\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "example.com", 8080, "/"),
	OK_ROW("get query, no path",
	    "GET http://example.com?q=1 HTTP/1.1\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "example.com", 80, "/?q=1"),
	OK_ROW("options absolute, no path",
	    "OPTIONS http://example.com HTTP/1.1\r\n\r\n",
	    HTTP_OPTIONS, 1, KA, DN, "example.com", 80, "*"),
	OK_ROW("options absolute, path",
	    "OPTIONS http://example.com/x HTTP/1.1\r\n\r\n",
	    HTTP_OPTIONS, 1, KA, DN, "example.com", 80, "/x"),
	OK_ROW("scheme and host in capitals",
	    "HEAD HTTP://Example.COM/ HTTP/1.1\r\n\r\n",
	    HTTP_HEAD, 1, KA, DN, "Example.COM", 80, "/"),
	OK_ROW("get ipv4 uri",
	    "GET http://198.51.100.7:81/x HTTP/1.1\r\n\r\n",
	    HTTP_GET, 1, KA, V4, "198.51.100.7", 81, "/x"),
	OK_ROW("get ipv6 uri",
	    "GET http://[::1]:8080/p?q HTTP/1.1\r\n\r\n",
	    HTTP_GET, 1, KA, V6, "::1", 8080, "/p?q"),
	OK_ROW("get ipv6 uri, default port",
	    "GET http://[2001:db8::2]/ HTTP/1.1\r\n\r\n",
	    HTTP_GET, 1, KA, V6, "2001:db8::2", 80, "/"),
	OK_ROW("host disagrees: the uri wins",
	    "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("no host field", GET_A "\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("empty lines before the request line", "\r\n\r\n" GET_A "\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("value whitespace, obs-text, empty value",
	    GET_A "X-A: \t one two \t\r\nX-B: caf\xc3\xa9\r\nX-C:\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	ERR_ROW("TRACE is refused", "TRACE http://a.example/ HTTP/1.1\r\n\r\n",
	    405),
	OK_ROW("pac file",
	    "GET /proxy.pac HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
	    HTTP_GET, 1, PAC | KA, 0, "", 0, "/proxy.pac"),
	OK_ROW("pac file, http/1.0",
	    "GET /proxy.pac HTTP/1.0\r\n\r\n",
	    HTTP_GET, 0, PAC, 0, "", 0, "/proxy.pac"),
	OK_ROW("unknown transfer coding before chunked",
	    POST_A "Transfer-Encoding: gzip, chunked\r\n\r\n",
	    HTTP_POST, 1, KA | CHK, DN, "a.example", 80, "/"),
	OK_ROW("chunked across two fields",
	    POST_A "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n",
	    HTTP_POST, 1, KA | CHK, DN, "a.example", 80, "/"),
	/* keep-alive */
	OK_ROW("1.1 keeps alive", GET_A "\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("1.0 closes", "GET http://a.example/ HTTP/1.0\r\n\r\n",
	    HTTP_GET, 0, 0, DN, "a.example", 80, "/"),
	OK_ROW("1.0 connection keep-alive",
	    "GET http://a.example/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    HTTP_GET, 0, KA, DN, "a.example", 80, "/"),
	OK_ROW("1.0 proxy-connection keep-alive",
	    "GET http://a.example/ HTTP/1.0\r\n"
	    "Proxy-Connection: keep-alive\r\n\r\n",
	    HTTP_GET, 0, KA, DN, "a.example", 80, "/"),
	OK_ROW("1.1 connection close", GET_A "Connection: close\r\n\r\n",
	    HTTP_GET, 1, 0, DN, "a.example", 80, "/"),
	OK_ROW("1.1 connection list with close",
	    GET_A "Connection: x-foo, close\r\nX-Foo: 1\r\n\r\n",
	    HTTP_GET, 1, 0, DN, "a.example", 80, "/"),
	OK_ROW("1.1 proxy-connection close",
	    GET_A "Proxy-Connection: close\r\n\r\n",
	    HTTP_GET, 1, 0, DN, "a.example", 80, "/"),
	/* websocket */
	OK_ROW("websocket upgrade",
	    "GET http://a.example/chat HTTP/1.1\r\nHost: a.example\r\n"
	    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n",
	    HTTP_GET, 1, KA | WS, DN, "a.example", 80, "/chat"),
	OK_ROW("upgrade without connection: upgrade",
	    GET_A "Upgrade: websocket\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("upgrade to h2c is not websocket",
	    GET_A "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
	    HTTP_GET, 1, KA, DN, "a.example", 80, "/"),
	OK_ROW("websocket on http/1.0 is not",
	    "GET http://a.example/ HTTP/1.0\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n",
	    HTTP_GET, 0, 0, DN, "a.example", 80, "/"),
	/* errors: smuggling defences */
	ERR_ROW("content-length and transfer-encoding",
	    POST_A "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400),
	ERR_ROW("transfer-encoding and content-length",
	    POST_A "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    400),
	ERR_ROW("content-length and transfer-encoding: identity",
	    POST_A "Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\n",
	    400),
	ERR_ROW("differing content-lengths",
	    POST_A "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
	ERR_ROW("content-length list",
	    POST_A "Content-Length: 5, 5\r\n\r\n", 400),
	ERR_ROW("content-length sign", POST_A "Content-Length: +5\r\n\r\n",
	    400),
	ERR_ROW("content-length empty", POST_A "Content-Length:\r\n\r\n", 400),
	ERR_ROW("content-length hex", POST_A "Content-Length: 0x5\r\n\r\n",
	    400),
	ERR_ROW("content-length overflow",
	    POST_A "Content-Length: 99999999999999999999\r\n\r\n", 400),
	ERR_ROW("obs-fold with space",
	    GET_A "X-A: one\r\n two\r\n\r\n", 400),
	ERR_ROW("obs-fold with tab",
	    GET_A "X-A: one\r\n\ttwo\r\n\r\n", 400),
	ERR_ROW("bare LF ends the request line",
	    "GET http://a.example/ HTTP/1.1\nHost: a\r\n\r\n", 400),
	ERR_ROW("bare LF ends a field line", GET_A "Host: a\n\r\n", 400),
	ERR_ROW("bare LF as the empty line", GET_A "Host: a\r\n\n", 400),
	ERR_ROW("bare LF only", GET_A "\n", 400),
	ERR_ROW("bare LF before the request line", "\n" GET_A "\r\n", 400),
	ERR_ROW("CR without LF", GET_A "Host: a\rX: b\r\n\r\n", 400),
	ERR_ROW("transfer-encoding gzip", POST_A
	    "Transfer-Encoding: gzip\r\n\r\n", 400),
	ERR_ROW("chunked then gzip", POST_A
	    "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
	ERR_ROW("chunked then gzip in two fields", POST_A
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	    400),
	ERR_ROW("chunked twice", POST_A
	    "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
	ERR_ROW("chunked with a parameter", POST_A
	    "Transfer-Encoding: chunked;x=1\r\n\r\n", 400),
	ERR_ROW("transfer-encoding empty", POST_A
	    "Transfer-Encoding: \r\n\r\n", 400),
	ERR_ROW("transfer-encoding in http/1.0",
	    "POST http://a.example/ HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400),
	ERR_ROW("NUL in a value", GET_A "X-A: a\0b\r\n\r\n", 400),
	ERR_ROW("SOH in a value", GET_A "X-A: a\x01" "b\r\n\r\n", 400),
	ERR_ROW("ESC in a value", GET_A "X-A: \x1b[31m\r\n\r\n", 400),
	ERR_ROW("DEL in a value", GET_A "X-A: a\x7f\r\n\r\n", 400),
	ERR_ROW("NUL in the request line",
	    "GET http://a.example/\0 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("tab in the request line",
	    "GET\thttp://a.example/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("tls client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc",
	    400),
	ERR_ROW("connection names content-length",
	    POST_A "Content-Length: 1\r\nConnection: Content-Length\r\n\r\n",
	    400),
	ERR_ROW("connection names transfer-encoding",
	    POST_A "Transfer-Encoding: chunked\r\n"
	    "Connection: close, transfer-encoding\r\n\r\n", 400),
	ERR_ROW("connection names host",
	    GET_A "Host: a.example\r\nConnection: host\r\n\r\n", 400),
	ERR_ROW("two host fields",
	    GET_A "Host: a.example\r\nHost: b.example\r\n\r\n", 400),
	/* errors: field syntax */
	ERR_ROW("space before colon", GET_A "Host : a\r\n\r\n", 400),
	ERR_ROW("tab before colon", GET_A "Host\t: a\r\n\r\n", 400),
	ERR_ROW("empty field name", GET_A ": a\r\n\r\n", 400),
	ERR_ROW("no colon", GET_A "Host\r\n\r\n", 400),
	ERR_ROW("space in a name", GET_A "X A: b\r\n\r\n", 400),
	ERR_ROW("high byte in a name", GET_A "X-\xe9: b\r\n\r\n", 400),
	ERR_ROW("whitespace before the request line",
	    " GET http://a.example/ HTTP/1.1\r\n\r\n", 400),
	/* errors: CONNECT */
	ERR_ROW("connect without port",
	    "CONNECT example.com HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect empty port",
	    "CONNECT example.com: HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect port 0", "CONNECT example.com:0 HTTP/1.1\r\n\r\n",
	    400),
	ERR_ROW("connect port 65536",
	    "CONNECT example.com:65536 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect unbracketed ipv6",
	    "CONNECT 2001:db8::1:443 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect bracketed non-ipv6",
	    "CONNECT [example.com]:443 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect ipv6 zone",
	    "CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect with a path",
	    "CONNECT example.com:443/x HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect with userinfo",
	    "CONNECT u@example.com:443 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect absolute uri",
	    "CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect origin form", "CONNECT / HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect numeric name",
	    "CONNECT 127.1:443 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("connect with a body",
	    "CONNECT example.com:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	    400),
	ERR_ROW("connect chunked",
	    "CONNECT example.com:443 HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400),
	/* errors: request target */
	ERR_ROW("origin form", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
	    400),
	ERR_ROW("origin form, pac with query",
	    "GET /proxy.pac?x=1 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("origin form, pac in capitals",
	    "GET /PROXY.PAC HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("origin form, post pac",
	    "POST /proxy.pac HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400),
	ERR_ROW("asterisk form", "OPTIONS * HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("authority form on GET",
	    "GET example.com:80 HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("https uri", "GET https://a.example/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("ftp uri", "GET ftp://a.example/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("userinfo in uri",
	    "GET http://u:p@a.example/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("fragment in uri",
	    "GET http://a.example/x#frag HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("port 0 in uri", "GET http://a.example:0/ HTTP/1.1\r\n\r\n",
	    400),
	ERR_ROW("empty port in uri",
	    "GET http://a.example:/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("port 65536 in uri",
	    "GET http://a.example:65536/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("hex host", "GET http://0x7f.1/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("decimal host", "GET http://2130706433/ HTTP/1.1\r\n\r\n",
	    400),
	ERR_ROW("short dotted host", "GET http://127.1/ HTTP/1.1\r\n\r\n",
	    400),
	ERR_ROW("ipv6 zone in uri",
	    "GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("bad name in uri", "GET http://a!b/ HTTP/1.1\r\n\r\n", 400),
	ERR_ROW("no host in uri", "GET http:/// HTTP/1.1\r\n\r\n", 400),
	/* errors: version and method */
	ERR_ROW("http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
	ERR_ROW("http/2.0", "GET http://a.example/ HTTP/2.0\r\n\r\n", 505),
	ERR_ROW("http/1.2", "GET http://a.example/ HTTP/1.2\r\n\r\n", 505),
	ERR_ROW("http/10.0", "GET http://a.example/ HTTP/10.0\r\n\r\n", 505),
	ERR_ROW("http/1.1 trailing junk",
	    "GET http://a.example/ HTTP/1.1x\r\n\r\n", 505),
	ERR_ROW("http/0.9", "GET /\r\n\r\n", 400),
	ERR_ROW("no version", "GET http://a.example/\r\n\r\n", 400),
	ERR_ROW("lower-case version",
	    "GET http://a.example/ http/1.1\r\n\r\n", 400),
	ERR_ROW("no spaces", "GET\r\n\r\n", 400),
	ERR_ROW("unknown method", "BREW http://a.example/ HTTP/1.1\r\n\r\n",
	    501),
	ERR_ROW("lower-case method", "get http://a.example/ HTTP/1.1\r\n\r\n",
	    501),
	/* errors: size, found before the end of the head */
	ERR_ROW("http/2 preface, request line only", "PRI * HTTP/2.0\r\n",
	    505),
	ERR_ROW("bare LF, head incomplete", "GET http://a.example/\n", 400),
	/* need more */
	{ "empty", S(""), PARSE_NEED_MORE, 0, 0, 0, 0, 0, NULL, 0, NULL, 0,
	    NULL, NULL },
	{ "empty lines only", S("\r\n\r\n\r\n"), PARSE_NEED_MORE, 0, 0, 0, 0,
	    0, NULL, 0, NULL, 0, NULL, NULL },
	{ "request line only", S(GET_A), PARSE_NEED_MORE, 0, 0, 0, 0, 0, NULL,
	    0, NULL, 0, NULL, NULL },
	{ "final CR only", S(GET_A "\r"), PARSE_NEED_MORE, 0, 0, 0, 0, 0,
	    NULL, 0, NULL, 0, NULL, NULL },
};

/* The text form of an OK row's target, to compare with row->host. */
static const char *
target_host(const struct target *t, char *buf, size_t len)
{
	switch (t->atyp) {
	case TARGET_IPV4:
		return inet_ntop(AF_INET, t->addr, buf, (socklen_t)len);
	case TARGET_IPV6:
		return inet_ntop(AF_INET6, t->addr, buf, (socklen_t)len);
	case TARGET_DOMAIN:
		return t->name;
	default:
		return "";
	}
}

static void
check_ok_row(const struct parse_row *r, const struct http_request *req)
{
	char	host[TARGET_STRLEN];

	CHECK_EQ(r->name, req->used, r->len);
	CHECK_EQ(r->name, req->method, r->method);
	CHECK_EQ(r->name, req->http_major, 1);
	CHECK_EQ(r->name, req->http_minor, r->minor);
	CHECK_EQ(r->name, req->is_connect, !!(r->flags & CON));
	CHECK_EQ(r->name, req->is_pac, !!(r->flags & PAC));
	CHECK_EQ(r->name, req->keep_alive, !!(r->flags & KA));
	CHECK_EQ(r->name, req->chunked, !!(r->flags & CHK));
	CHECK_EQ(r->name, req->has_content_length, !!(r->flags & CL));
	CHECK_EQ(r->name, req->websocket_upgrade, !!(r->flags & WS));
	CHECK_EQ(r->name, req->has_basic_auth, !!(r->flags & AUTH));
	CHECK_EQ(r->name, req->target.atyp, r->atyp);
	CHECK_STR(r->name, target_host(&req->target, host, sizeof(host)),
	    r->host);
	CHECK_EQ(r->name, req->target.port, r->port);
	CHECK_STR(r->name, req->path, r->path);
	CHECK_EQ(r->name, req->status, 0);
	CHECK(r->name, req->why == NULL);
}

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(parse_rows); i++) {
		const struct parse_row	*r = &parse_rows[i];
		struct http_request	*req = malloc(sizeof(*req));
		uint8_t			*buf = dup_exact((const uint8_t *)
					    r->text, r->len);

		CHECK(r->name, req != NULL);
		memset(req, 0xa5, sizeof(*req));
		CHECK_EQ(r->name, http_parse_request(buf, r->len, 0, req),
		    r->res);
		if (r->res == PARSE_OK) {
			check_ok_row(r, req);
		} else {
			CHECK_EQ(r->name, req->used, 0);
			if (r->res == PARSE_ERROR) {
				CHECK_EQ(r->name, req->status, r->status);
				CHECK(r->name, req->why != NULL &&
				    req->why[0] != '\0');
			}
		}
		free(buf);
		free(req);
	}
}

/* Field lines as parsed: names, trimmed values, the repeat left out. */
static void
test_fields(void **state)
{
	static const char	text[] = GET_A "Host: a.example\r\n"
				    "X-A: \t one two \t\r\nX-B:\r\n"
				    "Content-Length: 7\r\n"
				    "content-length: 07\r\nX-C: v\r\n\r\n";
	static const char	*const want[][2] = {
		{ "Host", "a.example" }, { "X-A", "one two" }, { "X-B", "" },
		{ "Content-Length", "7" }, { "X-C", "v" },
	};
	struct http_request	*req = malloc(sizeof(*req));

	(void)state;
	assert_non_null(req);
	assert_int_equal(http_parse_request((const uint8_t *)text,
	    sizeof(text) - 1, 0, req), PARSE_OK);
	assert_int_equal(req->n_headers, NELEM(want));
	for (size_t i = 0; i < NELEM(want); i++) {
		const struct http_header	*h = &req->headers[i];

		assert_int_equal(h->name_len, strlen(want[i][0]));
		assert_memory_equal(h->name, want[i][0], h->name_len);
		assert_int_equal(h->value_len, strlen(want[i][1]));
		if (h->value_len > 0)
			assert_memory_equal(h->value, want[i][1],
			    h->value_len);
		/* they point into the buffer */
		assert_true(h->name > text && h->name < text + sizeof(text));
	}
	assert_true(req->has_content_length);
	assert_int_equal(req->content_length, 7);
	free(req);
}

/* Content-Length values: the largest, and identical repeats. */
static void
test_content_length(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 cl;
	} rows[] = {
		{ POST_A "Content-Length: 0\r\n\r\n", 0 },
		{ POST_A "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 5 },
		{ POST_A "Content-Length:  12 \r\n\r\n", 12 },
		{ POST_A "Content-Length: 1099511627776\r\n\r\n",
		    1099511627776ULL },
	};
	struct http_request	*req = malloc(sizeof(*req));

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(rows); i++) {
		CHECK_EQ(rows[i].text, http_parse_request(
		    (const uint8_t *)rows[i].text, strlen(rows[i].text), 0,
		    req), PARSE_OK);
		CHECK(rows[i].text, req->has_content_length);
		CHECK_EQ(rows[i].text, req->content_length, rows[i].cl);
		CHECK(rows[i].text, !req->chunked);
	}
	free(req);
}

/* Proxy-Authorization: Basic */

struct auth_row {
	const char	*name, *field;	/* NULL: no field */
	bool		 ok;
	const char	*user, *pass;
};

static const struct auth_row auth_rows[] = {
	{ "alice:secret", "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n",
	    true, "alice", "secret" },
	{ "scheme in lower case",
	    "proxy-authorization: basic YWxpY2U6c2VjcmV0\r\n",
	    true, "alice", "secret" },
	{ "colon in the password", "Proxy-Authorization: Basic YTpiOmM=\r\n",
	    true, "a", "b:c" },
	{ "empty password", "Proxy-Authorization: Basic YWxpY2U6\r\n",
	    true, "alice", "" },
	{ "utf-8 user", "Proxy-Authorization: Basic w6k6eA==\r\n",
	    true, "\xc3\xa9", "x" },
	{ "absent", NULL, false, "", "" },
	{ "bearer", "Proxy-Authorization: Bearer YWxpY2U6c2VjcmV0\r\n",
	    false, "", "" },
	{ "no credentials", "Proxy-Authorization: Basic\r\n", false, "", "" },
	{ "bad base64", "Proxy-Authorization: Basic YWxp*2U6c2VjcmV0\r\n",
	    false, "", "" },
	{ "bad padding", "Proxy-Authorization: Basic YWxpY2U6c2VjcmV=\r\n",
	    false, "", "" },
	{ "no colon", "Proxy-Authorization: Basic YWxpY2U=\r\n",
	    false, "", "" },
	{ "empty user", "Proxy-Authorization: Basic OnNlY3JldA==\r\n",
	    false, "", "" },
	{ "NUL in the password",
	    "Proxy-Authorization: Basic YTpiAGM=\r\n", false, "", "" },
	{ "newline in the user",
	    "Proxy-Authorization: Basic YQpiOmM=\r\n", false, "", "" },
	{ "twice", "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
	    "Proxy-Authorization: Basic Ym9iOnB3\r\n", false, "", "" },
};

static void
test_basic_auth(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			 text[512];

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(auth_rows); i++) {
		const struct auth_row	*r = &auth_rows[i];
		int			 n;

		n = snprintf(text, sizeof(text), GET_A "%s\r\n",
		    r->field != NULL ? r->field : "");
		CHECK_EQ(r->name, http_parse_request((const uint8_t *)text,
		    (size_t)n, 0, req), PARSE_OK);
		CHECK_EQ(r->name, req->has_basic_auth, r->ok);
		CHECK_STR(r->name, req->user, r->user);
		CHECK_STR(r->name, req->pass, r->pass);
	}
	free(req);
}

static void
test_basic_auth_longest(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			 cred[600], b64[1024], text[2048];
	int			 n;

	(void)state;
	assert_non_null(req);
	for (int extra = 0; extra < 2; extra++) {
		/* 255 + ':' + 255, then one byte more */
		memset(cred, 'u', 255);
		cred[255] = ':';
		memset(cred + 256, 'p', 255 + (size_t)extra);
		assert_true(util_base64_encode((const uint8_t *)cred,
		    511 + (size_t)extra, b64, sizeof(b64)) > 0);
		n = snprintf(text, sizeof(text), GET_A
		    "Proxy-Authorization: Basic %s\r\n\r\n", b64);
		assert_int_equal(http_parse_request((const uint8_t *)text,
		    (size_t)n, 0, req), PARSE_OK);
		assert_int_equal(req->has_basic_auth, extra == 0);
		assert_int_equal(strlen(req->user), extra == 0 ? 255 : 0);
		assert_int_equal(strlen(req->pass), extra == 0 ? 255 : 0);
	}
	free(req);
}

/*
 * Every prefix of a good head is NEED_MORE; with a body or the next
 * request behind it, exactly the head is consumed.
 */

struct stream_row {
	const char	*name, *head, *next;
};

static const struct stream_row stream_rows[] = {
	{ "connect v4", "CONNECT 192.0.2.1:443 HTTP/1.1\r\n"
	    "Host: 192.0.2.1:443\r\n\r\n", "\x16\x03\x01\x02\x00\x01" },
	{ "connect v6", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n",
	    "SSH-2.0-OpenSSH_9.2\r\n" },
	{ "connect name", "CONNECT example.com:443 HTTP/1.0\r\n"
	    "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n", "x" },
	{ "get", "GET http://example.com/a?b=c HTTP/1.1\r\n"
	    "Host: example.com\r\nAccept: */*\r\n\r\n",
	    "GET http://example.com/2 HTTP/1.1\r\n\r\n" },
	{ "post content-length", "POST http://example.com/f HTTP/1.1\r\n"
	    "Host: example.com\r\nContent-Length: 11\r\n\r\n",
	    "hello world" },
	{ "post chunked", "POST http://example.com/f HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n" },
	{ "websocket", "GET http://example.com/ws HTTP/1.1\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", "\x81\x85\x37\xfa" },
	{ "pac", "GET /proxy.pac HTTP/1.1\r\n\r\n", "\r\n\r\n" },
	{ "empty lines first", "\r\n\r\nGET http://a.example/ HTTP/1.0\r\n"
	    "\r\n", "\r\n" },
	{ "duplicate content-length", "POST http://a.example/ HTTP/1.1\r\n"
	    "Content-Length: 2\r\nContent-Length: 2\r\n\r\n", "ab" },
};

static void
test_every_prefix_needs_more(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(stream_rows); i++) {
		const struct stream_row	*r = &stream_rows[i];
		size_t			 n = strlen(r->head);
		uint8_t			*buf;

		for (size_t k = 0; k < n; k++) {
			char	label[128];

			snprintf(label, sizeof(label), "%s, %zu of %zu bytes",
			    r->name, k, n);
			buf = dup_exact((const uint8_t *)r->head, k);
			CHECK_EQ(label, http_parse_request(buf, k, 0, req),
			    PARSE_NEED_MORE);
			CHECK_EQ(label, req->used, 0);
			free(buf);
		}
		buf = dup_exact((const uint8_t *)r->head, n);
		CHECK_EQ(r->name, http_parse_request(buf, n, 0, req),
		    PARSE_OK);
		CHECK_EQ(r->name, req->used, n);
		free(buf);
	}
	free(req);
}

static void
test_followed_by_next(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(stream_rows); i++) {
		const struct stream_row	*r = &stream_rows[i];
		size_t			 n = strlen(r->head);
		size_t			 m = strlen(r->next);
		uint8_t			 raw[1024], *buf;

		memcpy(raw, r->head, n);
		memcpy(raw + n, r->next, m);
		/* all of what follows, and only its first byte */
		buf = dup_exact(raw, n + m);
		CHECK_EQ(r->name, http_parse_request(buf, n + m, 0, req),
		    PARSE_OK);
		CHECK_EQ(r->name, req->used, n);
		free(buf);
		buf = dup_exact(raw, n + 1);
		CHECK_EQ(r->name, http_parse_request(buf, n + 1, 0, req),
		    PARSE_OK);
		CHECK_EQ(r->name, req->used, n);
		free(buf);
	}
	free(req);
}

/* A bad head cut at any byte waits or fails; it never parses. */
static void
test_truncated_bad_heads(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(parse_rows); i++) {
		const struct parse_row	*r = &parse_rows[i];
		const uint8_t		*text = (const uint8_t *)r->text;

		if (r->res != PARSE_ERROR)
			continue;
		for (size_t k = 0; k <= r->len; k++) {
			uint8_t			*buf = dup_exact(text, k);
			enum parse_result	 res;
			char			 label[160];

			snprintf(label, sizeof(label), "%s, %zu of %zu bytes",
			    r->name, k, r->len);
			res = http_parse_request(buf, k, 0, req);
			CHECK(label, res != PARSE_OK);
			if (res == PARSE_ERROR)
				CHECK(label, req->status >= 400 &&
				    req->status <= 505 && req->why != NULL);
			/* and with a tiny cap, every cut is an error */
			res = http_parse_request(buf, k, 8, req);
			CHECK(label, res == PARSE_ERROR || k < 8);
			free(buf);
		}
	}
	free(req);
}

/* Caps: head size, field count, path length */

static size_t
make_fields(char *buf, size_t cap, size_t nfields, const char *end)
{
	size_t	n = (size_t)snprintf(buf, cap, "%s", GET_A);

	for (size_t i = 0; i < nfields; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X-F%zu: v\r\n", i);
	n += (size_t)snprintf(buf + n, cap - n, "%s", end);
	return n;
}

static void
test_max_fields(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			*text = malloc(8192);
	size_t			 n;

	(void)state;
	assert_non_null(req);
	assert_non_null(text);
	n = make_fields(text, 8192, HTTP_MAX_HEADERS, "\r\n");
	assert_int_equal(http_parse_request((uint8_t *)text, n, 0, req),
	    PARSE_OK);
	assert_int_equal(req->n_headers, HTTP_MAX_HEADERS);
	n = make_fields(text, 8192, HTTP_MAX_HEADERS + 1, "\r\n");
	assert_int_equal(http_parse_request((uint8_t *)text, n, 0, req),
	    PARSE_ERROR);
	assert_int_equal(req->status, 431);
	/* known as soon as the line after the last allowed one ends */
	n = make_fields(text, 8192, HTTP_MAX_HEADERS + 1, "");
	assert_int_equal(http_parse_request((uint8_t *)text, n, 0, req),
	    PARSE_ERROR);
	assert_int_equal(req->status, 431);
	free(text);
	free(req);
}

static void
test_head_max(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	size_t			 big = HTTP_HEAD_MAX_DEFAULT + 16;
	char			*text = malloc(big + 64);
	size_t			 n;

	(void)state;
	assert_non_null(req);
	assert_non_null(text);
	/* a head of exactly head_max bytes fits; one byte less does not */
	n = (size_t)snprintf(text, 256, GET_A "X-Pad: %0100d\r\n\r\n", 0);
	assert_int_equal(http_parse_request((uint8_t *)text, n, n, req),
	    PARSE_OK);
	assert_int_equal(req->used, n);
	assert_int_equal(http_parse_request((uint8_t *)text, n, n - 1, req),
	    PARSE_ERROR);
	assert_int_equal(req->status, 431);
	/* no end of head: wait below the cap, 431 at it */
	assert_int_equal(http_parse_request((uint8_t *)text, n - 2, n, req),
	    PARSE_NEED_MORE);
	assert_int_equal(http_parse_request((uint8_t *)text, n - 2, n - 2,
	    req), PARSE_ERROR);
	assert_int_equal(req->status, 431);
	/* the final CR at the cap, its LF beyond */
	assert_int_equal(http_parse_request((uint8_t *)text, n, n - 1, req),
	    PARSE_ERROR);
	/* 0 means the default, and so does anything above it */
	memcpy(text, GET_A "X-Pad: ", strlen(GET_A "X-Pad: "));
	memset(text + strlen(GET_A "X-Pad: "), 'a', big);
	for (size_t cap = 0; cap <= 1; cap++) {
		size_t	hm = cap ? SIZE_MAX : 0;

		assert_int_equal(http_parse_request((uint8_t *)text,
		    HTTP_HEAD_MAX_DEFAULT - 1, hm, req), PARSE_NEED_MORE);
		assert_int_equal(http_parse_request((uint8_t *)text,
		    HTTP_HEAD_MAX_DEFAULT, hm, req), PARSE_ERROR);
		assert_int_equal(req->status, 431);
		assert_int_equal(http_parse_request((uint8_t *)text, big, hm,
		    req), PARSE_ERROR);
		assert_int_equal(req->status, 431);
	}
	free(text);
	free(req);
}

static void
test_path_max(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			*text = malloc(HTTP_PATH_MAX + 256);
	size_t			 n;

	(void)state;
	assert_non_null(req);
	assert_non_null(text);
	for (size_t extra = 0; extra <= 1; extra++) {
		n = (size_t)sprintf(text, "GET http://a.example/");
		memset(text + n, 'p', HTTP_PATH_MAX - 1 + extra);
		n += HTTP_PATH_MAX - 1 + extra;
		n += (size_t)sprintf(text + n, " HTTP/1.1\r\n\r\n");
		assert_int_equal(http_parse_request((uint8_t *)text, n, 0,
		    req), extra ? PARSE_ERROR : PARSE_OK);
		if (extra)
			assert_int_equal(req->status, 414);
		else
			assert_int_equal(strlen(req->path), HTTP_PATH_MAX);
	}
	free(text);
	free(req);
}

/* The rewrite, byte for byte */

struct rewrite_row {
	const char	*name, *head, *via, *want;
};

static const struct rewrite_row rewrite_rows[] = {
	{ "hop-by-hop removed",
	    "GET http://example.com/x?y=1 HTTP/1.1\r\n"
	    "Host: example.com\r\nUser-Agent: t/1\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
	    "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
	    "Keep-Alive: 300\r\nTE: trailers\r\nTrailer: X-T\r\n"
	    "Upgrade: h2c\r\nx-secret: 2\r\nAccept: */*\r\n\r\n",
	    NULL,
	    "GET /x?y=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n"
	    "Accept: */*\r\nVia: 1.1 mpsocks\r\n\r\n" },
	{ "host added, first; http/1.0 closes",
	    "GET http://example.com:8080/ HTTP/1.0\r\nAccept: */*\r\n\r\n",
	    NULL,
	    "GET / HTTP/1.0\r\nHost: example.com:8080\r\nAccept: */*\r\n"
	    "Connection: close\r\nVia: 1.0 mpsocks\r\n\r\n" },
	{ "disagreeing host replaced in place",
	    "GET http://example.com/ HTTP/1.1\r\nUser-Agent: t\r\n"
	    "Host: evil.example\r\nAccept: */*\r\n\r\n",
	    "edge-1",
	    "GET / HTTP/1.1\r\nUser-Agent: t\r\nHost: example.com\r\n"
	    "Accept: */*\r\nVia: 1.1 edge-1\r\n\r\n" },
	{ "agreeing host kept as sent",
	    "GET http://example.com/ HTTP/1.1\r\nHost: EXAMPLE.com:80\r\n\r\n",
	    NULL,
	    "GET / HTTP/1.1\r\nHost: EXAMPLE.com:80\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "websocket keeps upgrade",
	    "GET http://example.com/chat HTTP/1.1\r\nHost: example.com\r\n"
	    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n",
	    NULL,
	    "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nConnection: upgrade\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "chunked post, connection close",
	    "POST http://example.com/f HTTP/1.1\r\nHost: example.com\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n"
	    "Content-Type: text/plain\r\n\r\n",
	    NULL,
	    "POST /f HTTP/1.1\r\nHost: example.com\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\nVia: 1.1 mpsocks\r\n\r\n" },
	{ "repeated content-length sent once",
	    "POST http://example.com/f HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n",
	    NULL,
	    "POST /f HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "ipv6 host",
	    "GET http://[2001:db8::1]:8080/ HTTP/1.1\r\n\r\n", NULL,
	    "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "ipv4 host, default port",
	    "DELETE http://192.0.2.9:80/r HTTP/1.1\r\n\r\n", NULL,
	    "DELETE /r HTTP/1.1\r\nHost: 192.0.2.9\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "options without a path",
	    "OPTIONS http://example.com HTTP/1.1\r\nMax-Forwards: 0\r\n\r\n",
	    NULL,
	    "OPTIONS * HTTP/1.1\r\nHost: example.com\r\nMax-Forwards: 0\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
	{ "existing via kept, ours appended",
	    "GET http://example.com/ HTTP/1.1\r\nVia: 1.1 upstream\r\n\r\n",
	    NULL,
	    "GET / HTTP/1.1\r\nHost: example.com\r\nVia: 1.1 upstream\r\n"
	    "Via: 1.1 mpsocks\r\n\r\n" },
};

static void
test_rewrite(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			 out[2048];

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(rewrite_rows); i++) {
		const struct rewrite_row	*r = &rewrite_rows[i];
		size_t				 wn = strlen(r->want);
		int				 n;

		CHECK_EQ(r->name, http_parse_request((const uint8_t *)r->head,
		    strlen(r->head), 0, req), PARSE_OK);
		memset(out, 0xee, sizeof(out));
		n = http_rewrite_request(req, r->via, out, sizeof(out));
		if (n >= 0 && (size_t)n < sizeof(out))
			out[n] = '\0';
		CHECK_EQ(r->name, n, wn);
		CHECK_STR(r->name, out, r->want);
		/* exactly its size is enough, one byte less is not */
		for (size_t cap = 0; cap < wn; cap++)
			CHECK_EQ(r->name, http_rewrite_request(req, r->via,
			    out, cap), -1);
		CHECK_EQ(r->name, http_rewrite_request(req, r->via, out, wn),
		    wn);
	}
	free(req);
}

static void
test_rewrite_refuses(void **state)
{
	static const char *const	heads[] = {
		"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
		"GET /proxy.pac HTTP/1.1\r\n\r\n",
	};
	static const char *const	bad_via[] = {
		"", "a b", "a\r\nX-Evil: 1", "a:b", "caf\xc3\xa9",
	};
	struct http_request		*req = malloc(sizeof(*req));
	char				 out[512], via[HTTP_VIA_NAME_MAX + 2];

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < NELEM(heads); i++) {
		assert_int_equal(http_parse_request((const uint8_t *)heads[i],
		    strlen(heads[i]), 0, req), PARSE_OK);
		CHECK_EQ(heads[i], http_rewrite_request(req, NULL, out,
		    sizeof(out)), -1);
	}
	assert_int_equal(http_parse_request((const uint8_t *)GET_A "\r\n",
	    strlen(GET_A "\r\n"), 0, req), PARSE_OK);
	for (size_t i = 0; i < NELEM(bad_via); i++)
		CHECK_EQ(bad_via[i], http_rewrite_request(req, bad_via[i],
		    out, sizeof(out)), -1);
	memset(via, 'v', sizeof(via) - 1);
	via[sizeof(via) - 1] = '\0';
	assert_int_equal(http_rewrite_request(req, via, out, sizeof(out)),
	    -1);
	via[HTTP_VIA_NAME_MAX] = '\0';
	assert_true(http_rewrite_request(req, via, out, sizeof(out)) > 0);
	free(req);
}

/* The rewrite grows a head most with a long host and empty fields. */
static void
test_rewrite_bound(void **state)
{
	struct http_request	*req = malloc(sizeof(*req));
	char			*text = malloc(4096), *out = malloc(8192);
	char			 via[HTTP_VIA_NAME_MAX + 1];
	size_t			 n;
	int			 wn;

	(void)state;
	assert_non_null(req);
	assert_non_null(text);
	assert_non_null(out);
	n = (size_t)sprintf(text, "GET http://");
	memset(text + n, 'h', TARGET_MAX_NAME);
	n += TARGET_MAX_NAME;
	n += (size_t)sprintf(text + n, ":65535 HTTP/1.1\r\nHost:h\r\n"
	    "Upgrade:websocket\r\nConnection:upgrade\r\n");
	for (size_t i = 3; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(text + n, "%c:\r\n", (int)('a' + i % 26));
	n += (size_t)sprintf(text + n, "\r\n");
	assert_int_equal(http_parse_request((uint8_t *)text, n, 0, req),
	    PARSE_OK);
	assert_true(req->websocket_upgrade);
	memset(via, 'v', HTTP_VIA_NAME_MAX);
	via[HTTP_VIA_NAME_MAX] = '\0';
	wn = http_rewrite_request(req, via, out, 8192);
	assert_true(wn > 0);
	assert_true((size_t)wn <= req->used + HTTP_REWRITE_EXTRA);
	free(out);
	free(text);
	free(req);
}

/* Responses */

struct response_row {
	const char	*name;
	int		 status;
	const char	*extra, *ctype, *body;
	bool		 keep_alive;
	const char	*want;		/* NULL: refused */
};

static const struct response_row response_rows[] = {
	{ "407 with a challenge", 407,
	    "Proxy-Authenticate: Basic realm=\"mpsocks\"\r\n", "text/plain",
	    "auth required\n", false,
	    "HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 14\r\n"
	    "Connection: close\r\n"
	    "Proxy-Authenticate: Basic realm=\"mpsocks\"\r\n\r\n"
	    "auth required\n" },
	{ "pac, keep-alive", 200, NULL, "application/x-ns-proxy-autoconfig",
	    "function FindProxyForURL(u, h) { return \"DIRECT\"; }\n", true,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/x-ns-proxy-autoconfig\r\n"
	    "Content-Length: 52\r\nConnection: keep-alive\r\n\r\n"
	    "function FindProxyForURL(u, h) { return \"DIRECT\"; }\n" },
	{ "502, no body", 502, NULL, NULL, NULL, false,
	    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n" },
	{ "431, two extra lines", 431, "Retry-After: 1\r\nX-A: b\r\n", NULL,
	    NULL, false,
	    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	    "Content-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n"
	    "X-A: b\r\n\r\n" },
	{ "empty extra", 400, "", NULL, NULL, false,
	    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n" },
	{ "204 has no length", 204, NULL, NULL, NULL, true,
	    "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n" },
	{ "unknown reason", 599, NULL, NULL, NULL, false,
	    "HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n" },
	{ "status 99", 99, NULL, NULL, NULL, false, NULL },
	{ "status 600", 600, NULL, NULL, NULL, false, NULL },
	{ "extra without CRLF", 403, "X-A: b", NULL, NULL, false, NULL },
	{ "extra with bare LF", 403, "X-A: b\n", NULL, NULL, false, NULL },
	{ "extra with an empty line", 403, "X-A: b\r\n\r\n", NULL, NULL,
	    false, NULL },
	{ "extra without colon", 403, "X-A b\r\n", NULL, NULL, false, NULL },
	{ "extra folded", 403, "X-A: b\r\n c\r\n", NULL, NULL, false, NULL },
	{ "content type with CRLF", 200, NULL, "text/plain\r\nX-A: b", "x",
	    false, NULL },
	{ "204 with a body", 204, NULL, NULL, "x", false, NULL },
};

static void
test_build_response(void **state)
{
	char	out[1024];

	(void)state;
	for (size_t i = 0; i < NELEM(response_rows); i++) {
		const struct response_row	*r = &response_rows[i];
		size_t				 bl = r->body ?
						    strlen(r->body) : 0;
		int				 n;

		n = http_build_response(r->status, r->extra, r->ctype,
		    r->body, bl, r->keep_alive, out, sizeof(out));
		if (r->want == NULL) {
			CHECK_EQ(r->name, n, -1);
			continue;
		}
		CHECK_EQ(r->name, n, strlen(r->want));
		out[n] = '\0';
		CHECK_STR(r->name, out, r->want);
		CHECK_EQ(r->name, http_build_response(r->status, r->extra,
		    r->ctype, r->body, bl, r->keep_alive, out, (size_t)n - 1),
		    -1);
		CHECK_EQ(r->name, http_build_response(r->status, r->extra,
		    r->ctype, r->body, bl, r->keep_alive, out, (size_t)n), n);
	}
	/* a body given by length only is refused without a pointer */
	assert_int_equal(http_build_response(200, NULL, NULL, NULL, 3, false,
	    out, sizeof(out)), -1);
}

static void
test_connect_established(void **state)
{
	static const char	want[] = "HTTP/1.1 200 Connection "
				    "established\r\n\r\n";
	char			out[64];

	(void)state;
	assert_int_equal(http_connect_established(out, sizeof(out)),
	    sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	assert_int_equal(http_connect_established(out, sizeof(want) - 2),
	    -1);
}

static void
test_status_reason(void **state)
{
	static const struct {
		int		 status;
		const char	*want;
	} rows[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 403, "Forbidden" },
		{ 407, "Proxy Authentication Required" },
		{ 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
		{ 418, "Unknown" }, { 0, "Unknown" }, { -1, "Unknown" },
		{ 1000, "Unknown" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++)
		CHECK_STR(rows[i].want, http_status_reason(rows[i].status),
		    rows[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_basic_auth_longest),
		cmocka_unit_test(test_every_prefix_needs_more),
		cmocka_unit_test(test_followed_by_next),
		cmocka_unit_test(test_truncated_bad_heads),
		cmocka_unit_test(test_max_fields),
		cmocka_unit_test(test_head_max),
		cmocka_unit_test(test_path_max),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_refuses),
		cmocka_unit_test(test_rewrite_bound),
		cmocka_unit_test(test_build_response),
		cmocka_unit_test(test_connect_established),
		cmocka_unit_test(test_status_reason),
	};

	return cmocka_run_group_tests_name("http_proxy", tests, NULL, NULL);
}

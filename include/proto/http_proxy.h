#ifndef MPSOCKS_HTTP_PROXY_H
#define MPSOCKS_HTTP_PROXY_H

/*
 * HTTP/1.x proxy front end (RFC 9110, RFC 9112): the request head parser,
 * the origin-form rewrite for plain forwarding, and response builders.
 * Pure: no I/O, no globals. Tokenising is Debian's http-parser 2.9; the
 * framing checks that stop request smuggling are done here, on the bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http_response.h"
#include "proto/target.h"
#include "proto/util.h"

/* head_max 0, or anything above this, means this; it stays under the
 * 80 KiB http-parser was built with, so the library never cuts first. */
#define HTTP_HEAD_MAX_DEFAULT	(64 * 1024)
#define HTTP_MAX_HEADERS	128
#define HTTP_PATH_MAX		(8 * 1024)	/* longer answers 414 */
#define HTTP_VIA_NAME_MAX	64
/* A rewritten head is at most used + this: ": " for ":" in every field,
 * Host, Connection and Via added. */
#define HTTP_REWRITE_EXTRA	512

/* A field line as sent, value without surrounding whitespace. Both point
 * into the caller's buffer; neither is NUL-terminated. */
struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
};

struct http_request {
	size_t		 used;		/* OK: head bytes, last CRLF included */
	int		 status;	/* ERROR: 400, 414, 431, 501 or 505 */
	const char	*why;		/* ERROR: static reason, for logs */
	unsigned	 method;	/* http-parser's enum http_method */
	bool		 is_connect;	/* CONNECT host:port */
	bool		 is_pac;	/* origin-form GET /proxy.pac */
	/* CONNECT's authority, or the absolute-form URI's host and port */
	struct target	 target;
	/* absolute-form: path and query ("/" if empty, "*" for OPTIONS) */
	char		 path[HTTP_PATH_MAX + 1];
	unsigned	 http_major, http_minor;	/* 1.0 or 1.1 */
	bool		 keep_alive;	/* Connection, Proxy-Connection */
	bool		 chunked;	/* chunked is the final coding */
	bool		 has_content_length;
	uint64_t	 content_length;
	bool		 websocket_upgrade;	/* GET, Upgrade: websocket */
	/* Proxy-Authorization: Basic, decoded. Empty and false when absent,
	 * another scheme, repeated, or malformed: the caller answers 407. */
	bool		 has_basic_auth;
	char		 user[256], pass[256];
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t		 n_headers;
};

/*
 * Parses one request head from buf. NEED_MORE: no end of head yet and
 * len < head_max. OK: out->used bytes are the head; anything after it
 * (body, pipelined requests) is the caller's. ERROR: answer out->status
 * and close. Accepts CONNECT host:port, absolute-form http:// requests
 * and origin-form GET /proxy.pac; nothing else. buf must outlive out,
 * whose headers point into it. out holds credentials: util_wipe() it.
 */
enum parse_result http_parse_request(const uint8_t *buf, size_t len,
	    size_t head_max, struct http_request *out);

/*
 * The head to send the origin for a parsed absolute-form request:
 * "METHOD /path HTTP/1.x", the field lines minus hop-by-hop ones
 * (Connection and what it names, Proxy-Connection, Proxy-Authorization,
 * Keep-Alive, TE, Trailer, Upgrade), Host equal to the URI's authority
 * (kept as sent when it already is, first when added), "Connection:
 * upgrade" for a WebSocket handshake or "Connection: close" when the
 * client will not keep alive, "Via: 1.x <via_name>" (NULL: "mpsocks"),
 * and the empty line. Content-Length and Transfer-Encoding always stay:
 * the body is relayed as is. Not NUL-terminated, at most used +
 * HTTP_REWRITE_EXTRA bytes. Returns its length, or -1 if out is too
 * small, via_name is not a token of at most HTTP_VIA_NAME_MAX bytes, or
 * the request is a CONNECT or the PAC file.
 */
int	http_rewrite_request(const struct http_request *,
	    const char *via_name, char *out, size_t outlen);

#endif

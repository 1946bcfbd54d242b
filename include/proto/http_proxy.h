#ifndef MPSOCKS_HTTP_PROXY_H
#define MPSOCKS_HTTP_PROXY_H

/*
 * HTTP/1.x proxy front end (RFC 9110, RFC 9112): the request head parser.
 * The origin-form rewrite is in http_rewrite.h, the response builders in
 * http_response.h. Pure: no I/O, no globals. Tokenising is Debian's
 * http-parser 2.9; the framing checks that stop request smuggling are
 * done here, on the bytes.
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
	int		 status;	/* ERROR: 400, 405, 414, 431, 501, 505 */
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
 * Field syntax (RFC 9110 5.6), shared with http_rewrite.c. http_token_len:
 * how many leading bytes of s are tchars. http_header_is: the field's
 * name is lit, a lower-case literal, in any case. http_list_next: the
 * next element of a comma-separated list field from *p up to end,
 * whitespace trimmed, empty elements skipped; false at the end.
 */
size_t	http_token_len(const char *s, size_t n);
bool	http_header_is(const struct http_header *, const char *lit);
bool	http_list_next(const char **p, const char *end, const char **tok,
	    size_t *n);

#endif

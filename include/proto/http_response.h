#ifndef MPSOCKS_HTTP_RESPONSE_H
#define MPSOCKS_HTTP_RESPONSE_H

/*
 * Responses of the HTTP proxy: origin response heads on their way back
 * (hop-by-hop fields out, Via and our own Connection in; the body is
 * relayed as it came), and the answers the proxy makes itself. Pure: no
 * I/O, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http_frame.h"
#include "proto/util.h"

/* http_response_rewrite() flags: what the request was */
#define HTTP_RESP_HEAD		0x01	/* a HEAD: no body */
#define HTTP_RESP_KEEP		0x02	/* the client keeps alive */
#define HTTP_RESP_UPGRADE	0x04	/* it asked to upgrade: 101 allowed */

/* Fields an origin's head may have. The head we send on has ours added
 * (Via, Connection): up to two more than this. */
#define HTTP_RESP_MAX_FIELDS	128

struct http_response_info {
	size_t	used;		/* bytes of the origin's head */
	int	status;
	bool	informational;	/* 1xx other than 101: another head follows */
	bool	upgrade;	/* 101: the connection becomes a tunnel */
	/* the body ends by itself (length, chunked, or none): the client
	 * connection can be kept after it */
	bool	self_delimited;
	bool	origin_keep_alive;	/* the origin connection can be reused */
	enum http_body_kind body;	/* how the body ends */
	uint64_t length;		/* LENGTH: its bytes */
};

/*
 * Parses the head at the start of buf (flags say what the request was)
 * and writes the head for the client into out: the status line as
 * "HTTP/1.1 CODE REASON" with our reason phrase, the fields minus
 * Connection and what it names (never the framing fields), Keep-Alive,
 * Proxy-Connection, TE, Trailer, Upgrade (except with 101), and
 * Content-Length and Transfer-Encoding where RFC 9110 forbids them, then "Via: 1.1 mpsocks" and "Connection: keep-alive" when
 * HTTP_RESP_KEEP and the body is self-delimited, "upgrade" for 101, else
 * "close". NEED_MORE: no end of head yet within head_max. ERROR: not a
 * strict HTTP/1.x head (bare LF, obs-fold, control bytes, repeated or
 * conflicting Content-Length, Content-Length with Transfer-Encoding, a
 * final coding other than chunked on a persistent connection, a 101 not
 * asked for), or out too small; answer 502 and close.
 */
enum parse_result http_response_rewrite(const uint8_t *buf, size_t len,
	    size_t head_max, unsigned flags, char *out, size_t outlen,
	    size_t *outn, struct http_response_info *info);

/*
 * A whole response: "HTTP/1.1 <status> <reason>", Content-Type if given,
 * Content-Length (not for 1xx and 204), "Connection: close" or
 * "keep-alive", extra_headers (CRLF-terminated lines, or NULL), the empty
 * line and body (NULL if body_len is 0). Returns its length, or -1 if out
 * is too small or an argument would break the framing.
 */
int	http_build_response(int status, const char *extra_headers,
	    const char *content_type, const char *body, size_t body_len,
	    bool keep_alive, char *out, size_t outlen);

/* The 200 that opens a CONNECT tunnel: no Content-Length, no
 * Transfer-Encoding (RFC 9110 9.3.6). Returns its length or -1. */
int	http_connect_established(char *out, size_t outlen);

/* "Bad Request" for 400; "Unknown" for codes without a reason phrase. */
const char *http_status_reason(int status);

#endif

#ifndef MPSOCKS_HTTP_RESPONSE_H
#define MPSOCKS_HTTP_RESPONSE_H

/*
 * Origin responses on their way back through the HTTP proxy: the head is
 * rewritten (hop-by-hop fields out, Via and our own Connection in); the
 * body is relayed as it came. Pure: no I/O, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct http_response_info {
	size_t	used;		/* bytes of the origin's head */
	int	status;
	bool	informational;	/* 1xx other than 101: another head follows */
	bool	upgrade;	/* 101: the connection becomes a tunnel */
	/* the body ends by itself (length, chunked, or none): the client
	 * connection can be kept after it */
	bool	self_delimited;
	bool	origin_keep_alive;	/* the origin connection can be reused */
};

/*
 * Parses the head at the start of buf (the request was HEAD if is_head)
 * and writes the head for the client into out: the status line as
 * "HTTP/1.1 CODE REASON", the fields minus Connection and what it names,
 * Keep-Alive, Proxy-Connection, TE, Trailer and (except with 101)
 * Upgrade, then "Via: 1.1 mpsocks" and "Connection: keep-alive" when
 * client_keep_alive and the body is self-delimited, "upgrade" for 101,
 * else "close". NEED_MORE: no end of head yet within head_max. ERROR: not
 * an HTTP/1.x response, or out too small; answer 502.
 */
enum parse_result http_response_rewrite(const uint8_t *buf, size_t len,
	    size_t head_max, bool is_head, bool client_keep_alive, char *out,
	    size_t outlen, size_t *outn, struct http_response_info *info);

#endif

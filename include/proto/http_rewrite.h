#ifndef MPSOCKS_HTTP_REWRITE_H
#define MPSOCKS_HTTP_REWRITE_H

/*
 * The origin-form rewrite for plain forwarding (RFC 9112 3.2, RFC 9110
 * 7.6): from a request http_parse_request() accepted, the head to send
 * the origin. Pure: no I/O, no globals.
 */

#include <stddef.h>

#include "proto/http_proxy.h"

#define HTTP_VIA_NAME_MAX	64
/* A rewritten head is at most used + this: ": " for ":" in every field,
 * Host, Connection and Via added. */
#define HTTP_REWRITE_EXTRA	512

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

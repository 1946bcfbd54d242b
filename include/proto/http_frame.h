#ifndef MPSOCKS_HTTP_FRAME_H
#define MPSOCKS_HTTP_FRAME_H

/*
 * HTTP/1.x message framing (RFC 9112 sections 2.2, 6 and 7.1): where a
 * head ends, and where a body ends. Shared by requests and responses, in
 * both directions of the proxy. Pure: no I/O, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/util.h"

/*
 * Finding the end of a head without rescanning it on every read: feed
 * each byte once, in order, in pieces of any size. http_head_seek() says
 * when a head parser should look at the whole buffer: an empty line
 * after a non-empty one (the head may be complete) or a bare LF (it is
 * malformed). Zero it to start; off counts the bytes fed.
 */
struct http_head_seek {
	size_t	off;
	size_t	line;		/* bytes of the current line so far */
	bool	cr;		/* the last byte fed was CR */
	bool	content;	/* a non-empty line was seen */
};

bool	http_head_seek(struct http_head_seek *, const uint8_t *, size_t);

enum http_body_kind {
	HTTP_BODY_NONE,		/* no body (HEAD, 1xx, 204, 304, no fields) */
	HTTP_BODY_LENGTH,	/* Content-Length */
	HTTP_BODY_CHUNKED,	/* Transfer-Encoding ending in chunked */
	HTTP_BODY_CLOSE,	/* a response body that ends with the connection */
};

#define HTTP_CHUNK_LINE_MAX	4096	/* a chunk-size line or a trailer */
#define HTTP_CHUNK_TRAILERS_MAX	64

struct http_body {
	enum http_body_kind	 kind;
	uint64_t		 left;	/* LENGTH, chunk data: bytes to go */
	int			 st;	/* chunked: where we are */
	size_t			 line;	/* chunked: bytes of this line */
	unsigned		 digits, trailers;
	char			 name[24];	/* trailer field name, lower */
	size_t			 name_len;
	bool			 done;
	const char		*why;	/* ERROR: static reason, for logs */
};

/* length: the Content-Length of a LENGTH body; ignored for the others. */
void	http_body_init(struct http_body *, enum http_body_kind,
	    uint64_t length);

/*
 * Feeds the next len bytes of the stream. *used: how many of them belong
 * to this body; they are to be passed on unchanged. OK: the body is
 * complete (the bytes after *used are the next message's). NEED_MORE:
 * all of buf was used. ERROR: the framing is broken or ambiguous (why);
 * answer 400 or 502 and close. Once ERROR, every later call is ERROR.
 *
 * Chunked bodies are checked strictly rather than re-chunked: the bytes
 * pass through unchanged, so the peer reads them exactly as we did as
 * long as we refuse what two readers could read differently (a bare LF
 * or CR anywhere, anything but CRLF after chunk data, control bytes in
 * an extension, a size over 16 hex digits, trailers naming framing or
 * routing fields). Re-chunking would need a second writer and its own
 * buffering, and would still inherit http-parser's reading of such input.
 */
enum parse_result http_body_feed(struct http_body *, const uint8_t *buf,
	    size_t len, size_t *used);

#endif

/*
 * HTTP/1.x message framing (RFC 9112 2.2, 6.3, 7.1): the end of a head,
 * and the end of a body by Content-Length or the chunked coding, read
 * strictly. Pure: no I/O, no globals.
 *
 * Deviation: RFC 9112 7.1.1 allows BWS around ';' in chunk extensions
 * and 2.2 lets a recipient accept a bare LF; both are refused here, as
 * readers differ on them.
 */

#include "proto/http_frame.h"

#include <string.h>
#include <strings.h>

bool
http_head_seek(struct http_head_seek *s, const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *lf;

	while (p < end) {
		if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			s->line += (size_t)(end - p);
			s->cr = end[-1] == '\r';
			s->off += (size_t)(end - p);
			return false;
		}
		s->line += (size_t)(lf - p);
		s->cr = lf > p ? lf[-1] == '\r' : s->cr;
		s->off += (size_t)(lf + 1 - p);
		p = lf + 1;
		if (!s->cr)
			return true;		/* bare LF: malformed */
		if (s->line == 1 && s->content)
			return true;		/* the empty line */
		s->content |= s->line > 1;
		s->line = 0;
		s->cr = false;
	}
	return false;
}

enum {
	C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF,
	C_TRAILER, C_TNAME, C_TVALUE, C_TLF, C_END_LF,
};

void
http_body_init(struct http_body *b, enum http_body_kind kind,
    uint64_t length)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	/* chunked sizes are shifted into left: a stray length would join
	 * the first one ("0" after 64 read as 0x400) */
	b->left = kind == HTTP_BODY_LENGTH ? length : 0;
	b->st = C_SIZE;
	b->done = kind == HTTP_BODY_NONE ||
	    (kind == HTTP_BODY_LENGTH && length == 0);
}

static enum parse_result
body_err(struct http_body *b, const char *why)
{
	b->why = why;
	return PARSE_ERROR;
}

static int
hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool
is_tchar(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Fields a trailer must not carry: the receiver might merge them into
 * the head (RFC 9110 6.5.1), and these decide framing and routing. */
static bool
trailer_forbidden(const struct http_body *b)
{
	static const char *const names[] = {
		"content-length", "transfer-encoding", "host", "connection",
		"trailer", "te", "upgrade", "keep-alive", "proxy-connection",
	};

	if (b->name_len >= sizeof(b->name))
		return false;	/* longer than all of these */
	for (size_t i = 0; i < NELEM(names); i++)
		if (strlen(names[i]) == b->name_len &&
		    memcmp(names[i], b->name, b->name_len) == 0)
			return true;
	return false;
}

/* One byte of the chunked coding outside chunk data. */
static enum parse_result
chunk_byte(struct http_body *b, uint8_t ch)
{
	int	v;

	if (++b->line > HTTP_CHUNK_LINE_MAX)
		return body_err(b, "chunk line too long");
	switch (b->st) {
	case C_SIZE:
		if ((v = hexval(ch)) >= 0) {
			if (++b->digits > 16)
				return body_err(b, "chunk size too long");
			b->left = b->left << 4 | (uint64_t)v;
			return PARSE_NEED_MORE;
		}
		if (b->digits == 0)
			return body_err(b, "no chunk size");
		if (ch == ';') {
			b->st = C_EXT;
			return PARSE_NEED_MORE;
		}
		if (ch != '\r')
			return body_err(b, "bad byte after chunk size");
		b->st = C_SIZE_LF;
		return PARSE_NEED_MORE;
	case C_EXT:
		if (ch == '\r')
			b->st = C_SIZE_LF;
		else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return body_err(b, "control byte in chunk extension");
		return PARSE_NEED_MORE;
	case C_SIZE_LF:
		if (ch != '\n')
			return body_err(b, "chunk size line without CRLF");
		b->line = 0;
		b->st = b->left > 0 ? C_DATA : C_TRAILER;
		return PARSE_NEED_MORE;
	case C_DATA_CR:
		if (ch != '\r')
			return body_err(b, "chunk data not followed by CRLF");
		b->st = C_DATA_LF;
		return PARSE_NEED_MORE;
	case C_DATA_LF:
		if (ch != '\n')
			return body_err(b, "chunk data not followed by CRLF");
		b->line = 0;
		b->digits = 0;
		b->st = C_SIZE;
		return PARSE_NEED_MORE;
	case C_TRAILER:
		if (ch == '\r') {
			b->st = C_END_LF;
			return PARSE_NEED_MORE;
		}
		if (++b->trailers > HTTP_CHUNK_TRAILERS_MAX)
			return body_err(b, "too many trailer fields");
		b->name_len = 0;
		b->st = C_TNAME;
		/* FALLTHROUGH */
	case C_TNAME:
		if (ch == ':' && b->name_len > 0) {
			if (trailer_forbidden(b))
				return body_err(b, "framing field in trailer");
			b->st = C_TVALUE;
			return PARSE_NEED_MORE;
		}
		if (!is_tchar(ch))	/* also obs-fold, space before ':' */
			return body_err(b, "bad trailer field name");
		if (b->name_len < sizeof(b->name))
			b->name[b->name_len] = (char)(ch | 0x20 * (ch >= 'A'
			    && ch <= 'Z'));
		b->name_len++;
		return PARSE_NEED_MORE;
	case C_TVALUE:
		if (ch == '\r')
			b->st = C_TLF;
		else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return body_err(b, "control byte in trailer");
		return PARSE_NEED_MORE;
	case C_TLF:
		if (ch != '\n')
			return body_err(b, "trailer line without CRLF");
		b->line = 0;
		b->st = C_TRAILER;
		return PARSE_NEED_MORE;
	case C_END_LF:
		if (ch != '\n')
			return body_err(b, "last chunk without CRLF");
		b->done = true;
		return PARSE_OK;
	}
	return body_err(b, "bad state");
}

enum parse_result
http_body_feed(struct http_body *b, const uint8_t *buf, size_t len,
    size_t *used)
{
	size_t			i = 0, n;
	enum parse_result	r;

	*used = 0;
	if (b->why != NULL)	/* broken once, broken for good */
		return PARSE_ERROR;
	if (b->done)
		return PARSE_OK;
	switch (b->kind) {
	case HTTP_BODY_CLOSE:
		*used = len;
		return PARSE_NEED_MORE;
	case HTTP_BODY_LENGTH:
		n = (size_t)MIN((uint64_t)len, b->left);
		b->left -= n;
		*used = n;
		b->done = b->left == 0;
		return b->done ? PARSE_OK : PARSE_NEED_MORE;
	case HTTP_BODY_CHUNKED:
		break;
	default:
		return PARSE_OK;
	}
	while (i < len) {
		if (b->st == C_DATA) {
			n = (size_t)MIN((uint64_t)(len - i), b->left);
			b->left -= n;
			i += n;
			if (b->left == 0)
				b->st = C_DATA_CR;
			continue;
		}
		r = chunk_byte(b, buf[i++]);
		if (r != PARSE_NEED_MORE) {
			*used = i;
			return r;
		}
	}
	*used = i;
	return PARSE_NEED_MORE;
}

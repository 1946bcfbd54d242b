/*
 * HTTP/1.x proxy requests (RFC 9112 syntax, RFC 9110 semantics): the head
 * parser, and the field syntax helpers http_rewrite.c shares. Pure: no
 * I/O, no globals.
 *
 * http-parser 2.9 tokenises the request line and field lines, but it is
 * lenient where a proxy must not be: it takes bare LF, obs-fold, space
 * before the colon and any version, and refuses an identical repeated
 * Content-Length that RFC 9110 8.6 allows. So the head is first scanned
 * here byte by byte (CRLF only, no control bytes, no folding, size and
 * line caps), then fed to http-parser one whole line per call, leaving
 * out repeats of an identical Content-Length.
 *
 * Deviations: a request without Host is accepted, the URI names the host
 * (RFC 9112 3.2 says 400). Refused, though some servers let them pass:
 * userinfo or a fragment in the URI, a numeric host that is not a dotted
 * quad (inet_aton() reads "0x7f.1" as loopback), Transfer-Encoding in
 * HTTP/1.0 (RFC 9112 6.1 says treat the framing as faulty), Connection
 * naming Content-Length, Transfer-Encoding or Host (stripping it would
 * desynchronise the body), repeated Host, and a body on CONNECT.
 */

#include "proto/http_proxy.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

/* base64 of the longest "user:pass" we keep, 255 + 1 + 255 bytes */
#define BASIC_B64_MAX	(4 * ((255 + 1 + 255 + 2) / 3))

/* Where the head's lines are, once scan_head() has checked its bytes. */
struct head_scan {
	size_t	start;		/* the request line, after empty lines */
	size_t	end;		/* just past the empty line */
};

/* http-parser's callbacks collect into this. */
struct feed {
	struct http_request	*out;
	const char		*url;
	size_t			 url_len;
	enum { F_NONE, F_NAME, F_VALUE } last;
	bool			 too_many, complete;
};

static enum parse_result
req_err(struct http_request *out, int status, const char *why)
{
	out->status = status;
	out->why = why;
	out->used = 0;
	return PARSE_ERROR;
}

static bool
is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
is_ctl(uint8_t ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* RFC 9110 5.6.2 tchar */
static bool
is_tchar(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

size_t
http_token_len(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n && is_tchar(s[i]); i++)
		;
	return i;
}

/* Case-insensitive match of n bytes against a lower-case literal. */
static bool
eq_ci(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

bool
http_header_is(const struct http_header *h, const char *lit)
{
	return eq_ci(h->name, h->name_len, lit);
}

bool
http_list_next(const char **p, const char *end, const char **tok, size_t *n)
{
	while (*p < end) {
		const char	*s = *p, *e = memchr(s, ',', (size_t)(end - s));

		if (e == NULL)
			e = end;
		*p = e < end ? e + 1 : end;
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (e > s) {
			*tok = s;
			*n = (size_t)(e - s);
			return true;
		}
	}
	return false;
}

static bool
list_has(const struct http_header *h, const char *lit)
{
	const char	*p = h->value, *end = h->value + h->value_len, *t;
	size_t		 n;

	while (http_list_next(&p, end, &t, &n))
		if (eq_ci(t, n, lit))
			return true;
	return false;
}

/*
 * The request line is complete: refuse other versions now, so an HTTP/2
 * preface gets its 505 before any field line. No version at all is
 * HTTP/0.9, which gets 400.
 */
static enum parse_result
check_request_line(const uint8_t *s, size_t n, struct http_request *out)
{
	const uint8_t	*sp = NULL;

	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ')
			sp = s + i;
	if (sp == NULL)
		return req_err(out, 400, "malformed request line");
	n -= (size_t)(sp + 1 - s);
	if (n < 5 || memcmp(sp + 1, "HTTP/", 5) != 0)
		return req_err(out, 400, "no HTTP version");
	if (n != 8 || (memcmp(sp + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp + 1, "HTTP/1.0", 8) != 0))
		return req_err(out, 505, "HTTP version not 1.0 or 1.1");
	return PARSE_OK;
}

/*
 * Finds the end of the head within head_max bytes, checking every byte on
 * the way: lines end in CRLF, no control bytes but HT in field lines, no
 * line starting with whitespace (obs-fold), at most HTTP_MAX_HEADERS
 * field lines. Empty lines before the request line are skipped (RFC 9112
 * 2.2). Errors are found as soon as their bytes arrive.
 */
static enum parse_result
scan_head(const uint8_t *buf, size_t len, size_t head_max,
    struct http_request *out, struct head_scan *hs)
{
	size_t			lim = MIN(len, head_max), line = 0, fields = 0;
	bool			seen_rl = false;
	enum parse_result	r;

	hs->start = 0;
	for (size_t i = 0; i < lim; i++) {
		uint8_t	ch = buf[i];

		if (ch == '\r') {
			if (i + 1 == lim)
				break;		/* its LF is not here yet */
			if (buf[i + 1] != '\n')
				return req_err(out, 400, "CR without LF");
			if (i == line && !seen_rl) {
				hs->start = i + 2;
			} else if (i == line) {
				hs->end = i + 2;
				return PARSE_OK;
			} else if (!seen_rl) {
				r = check_request_line(buf + line, i - line,
				    out);
				if (r != PARSE_OK)
					return r;
				seen_rl = true;
			} else if (++fields > HTTP_MAX_HEADERS) {
				return req_err(out, 431, "too many fields");
			}
			line = ++i + 1;
			continue;
		}
		if (ch == '\n')
			return req_err(out, 400, "bare LF");
		if (i == line && is_ows((char)ch))
			return req_err(out, 400, seen_rl ? "obs-fold" :
			    "whitespace before request line");
		if (is_ctl(ch) && (ch != '\t' || !seen_rl))
			return req_err(out, 400, "control byte in head");
	}
	if (len >= head_max)
		return req_err(out, 431, "head too large");
	return PARSE_NEED_MORE;
}

static int
on_url_cb(http_parser *p, const char *at, size_t n)
{
	struct feed	*f = p->data;

	if (f->url == NULL)
		f->url = at;
	else if (f->url + f->url_len != at)
		return -1;		/* lines are fed whole: cannot be */
	f->url_len += n;
	return 0;
}

static int
on_header_field_cb(http_parser *p, const char *at, size_t n)
{
	struct feed		*f = p->data;
	struct http_request	*out = f->out;
	struct http_header	*h = out->n_headers > 0 ?
				    &out->headers[out->n_headers - 1] : NULL;

	/* a name goes on only where it stopped; else a new field begins,
	 * even if the last one's empty value got no call */
	if (f->last != F_NAME || h->name + h->name_len != at) {
		if (out->n_headers == HTTP_MAX_HEADERS) {
			f->too_many = true;
			return -1;
		}
		h = &out->headers[out->n_headers++];
		h->name = at;
		h->name_len = 0;
		f->last = F_NAME;
	}
	h->name_len += n;
	h->value = at + n;	/* in the buffer, should no value follow */
	h->value_len = 0;
	return 0;
}

static int
on_header_value_cb(http_parser *p, const char *at, size_t n)
{
	struct feed		*f = p->data;
	struct http_header	*h;

	if (f->out->n_headers == 0)
		return -1;
	h = &f->out->headers[f->out->n_headers - 1];
	if (f->last != F_VALUE) {
		h->value = at;
		h->value_len = 0;
		f->last = F_VALUE;
	}
	if (h->value + h->value_len != at)
		return -1;
	h->value_len += n;
	return 0;
}

static int
on_headers_complete_cb(http_parser *p)
{
	struct feed		*f = p->data;
	struct http_request	*out = f->out;

	out->method = p->method;
	out->http_major = p->http_major;
	out->http_minor = p->http_minor;
	/* counts Proxy-Connection as Connection, as clients mean it */
	out->keep_alive = http_should_keep_alive(p) != 0;
	f->complete = true;
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url_cb,
	.on_header_field = on_header_field_cb,
	.on_header_value = on_header_value_cb,
	.on_headers_complete = on_headers_complete_cb,
};

static bool
parse_u64(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    __builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(s[i] - '0'), v))
			return false;
	}
	return true;
}

/*
 * What http-parser does not check on a field line, before it sees it:
 * whitespace before the colon (RFC 9112 5.1) and Content-Length. A repeat
 * of the same length is left out (*skip); a different one is an error.
 */
static enum parse_result
check_field_line(const char *s, size_t n, struct http_request *out,
    bool *skip)
{
	const char	*colon = memchr(s, ':', n), *v, *e = s + n;
	uint64_t	 cl;

	*skip = false;
	if (colon == NULL)
		return req_err(out, 400, "field line without colon");
	if (colon == s)
		return req_err(out, 400, "empty field name");
	if (is_ows(colon[-1]))
		return req_err(out, 400, "whitespace before colon");
	/* http-parser lets a space or high byte into a name */
	if (http_token_len(s, (size_t)(colon - s)) != (size_t)(colon - s))
		return req_err(out, 400, "field name not a token");
	if (!eq_ci(s, (size_t)(colon - s), "content-length"))
		return PARSE_OK;
	for (v = colon + 1; v < e && is_ows(*v); v++)
		;
	while (e > v && is_ows(e[-1]))
		e--;
	if (!parse_u64(v, (size_t)(e - v), &cl))
		return req_err(out, 400, "bad Content-Length");
	if (!out->has_content_length) {
		out->has_content_length = true;
		out->content_length = cl;
	} else if (cl == out->content_length) {
		*skip = true;
	} else {
		return req_err(out, 400, "conflicting Content-Length");
	}
	return PARSE_OK;
}

static enum parse_result
parser_err(struct http_request *out, const struct feed *f, enum http_errno e)
{
	switch (e) {
	case HPE_INVALID_METHOD:
		return req_err(out, 501, "unknown method");
	case HPE_INVALID_VERSION:
		return req_err(out, 505, "HTTP version not 1.0 or 1.1");
	case HPE_HEADER_OVERFLOW:
		return req_err(out, 431, "head too large");
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		return req_err(out, 400,
		    "Content-Length with Transfer-Encoding");
	case HPE_INVALID_TRANSFER_ENCODING:
		return req_err(out, 400, "chunked is not the final coding");
	case HPE_CB_header_field:
		if (f->too_many)
			return req_err(out, 431, "too many fields");
		break;
	default:
		break;
	}
	return req_err(out, 400, http_errno_description(e));
}

/* Feeds the checked head to http-parser one line per call. */
static enum parse_result
feed_lines(const uint8_t *buf, const struct head_scan *hs, struct feed *f)
{
	const char		*s = (const char *)buf + hs->start;
	const char		*end = (const char *)buf + hs->end;
	http_parser		 p;
	enum parse_result	 r;
	bool			 skip;

	http_parser_init(&p, HTTP_REQUEST);
	p.data = f;
	for (bool first = true; s < end; first = false) {
		/* scan_head() saw a CRLF at the end of every line */
		const char	*lf = memchr(s, '\n', (size_t)(end - s));
		size_t		 n = (size_t)(lf + 1 - s);

		skip = false;
		if (!first && n > 2 &&
		    (r = check_field_line(s, n - 2, f->out, &skip)) !=
		    PARSE_OK)
			return r;
		if (!skip) {
			http_parser_execute(&p, &settings, s, n);
			if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
				return parser_err(f->out, f,
				    HTTP_PARSER_ERRNO(&p));
		}
		s = lf + 1;
	}
	if (!f->complete)
		return req_err(f->out, 400, "head not complete");
	return PARSE_OK;
}

/* RFC 9112 6.1: chunked once, last; codings before it pass through. */
static enum parse_result
check_te(const struct http_header *h, bool *chunked, bool *any,
    struct http_request *out)
{
	const char	*p = h->value, *end = h->value + h->value_len, *t;
	size_t		 n;

	while (http_list_next(&p, end, &t, &n)) {
		if (*chunked)
			return req_err(out, 400, "coding after chunked");
		*chunked = eq_ci(t, n, "chunked");
		*any = true;
	}
	return PARSE_OK;
}

static bool
names_framing(const struct http_header *h)
{
	return list_has(h, "content-length") ||
	    list_has(h, "transfer-encoding") || list_has(h, "host");
}

/* The fields that decide framing and routing, once tokenised. */
static enum parse_result
check_fields(struct http_request *out)
{
	bool			 has_te = false, te_any = false, ws = false;
	bool			 conn_upgrade = false;
	size_t			 hosts = 0;
	enum parse_result	 r;

	for (size_t i = 0; i < out->n_headers; i++) {
		struct http_header	*h = &out->headers[i];

		while (h->value_len > 0 && is_ows(h->value[h->value_len - 1]))
			h->value_len--;
		if (http_header_is(h, "transfer-encoding")) {
			has_te = true;
			r = check_te(h, &out->chunked, &te_any, out);
			if (r != PARSE_OK)
				return r;
		} else if (http_header_is(h, "connection")) {
			if (names_framing(h))
				return req_err(out, 400,
				    "Connection names a framing field");
			conn_upgrade |= list_has(h, "upgrade");
		} else if (http_header_is(h, "host")) {
			hosts++;
		} else if (http_header_is(h, "upgrade")) {
			ws |= list_has(h, "websocket");
		}
	}
	if (has_te && out->has_content_length)
		return req_err(out, 400,
		    "Content-Length with Transfer-Encoding");
	if (has_te && (!te_any || !out->chunked))
		return req_err(out, 400, "chunked is not the final coding");
	if (has_te && out->http_minor == 0)
		return req_err(out, 400, "Transfer-Encoding in HTTP/1.0");
	if (hosts > 1)
		return req_err(out, 400, "repeated Host");
	out->websocket_upgrade = ws && conn_upgrade &&
	    out->method == HTTP_GET && out->http_minor == 1;
	return PARSE_OK;
}

/*
 * A final label of digits, or of 0x and hex, is an address in
 * inet_aton()'s eyes ("127.1", "0x7f.1", "2130706433"), which a resolver
 * may then connect to behind the ACL's back. No real TLD looks like that.
 */
static bool
name_looks_numeric(const char *s, size_t n)
{
	size_t	i;
	bool	hex;

	if (n > 0 && s[n - 1] == '.')
		n--;
	for (i = n; i > 0 && s[i - 1] != '.'; i--)
		;
	s += i;
	n -= i;
	hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	for (i = hex ? 2 : 0; i < n; i++) {
		char	ch = s[i];

		if (!(ch >= '0' && ch <= '9') && !(hex &&
		    ((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))))
			return false;
	}
	return n > 0;
}

/* A host from a URI or authority: bracketed IPv6, IPv4, or a name. */
static bool
host_to_target(const char *h, size_t n, bool bracketed, struct target *t)
{
	char	s[TARGET_MAX_NAME + 1];

	if (n == 0 || n > TARGET_MAX_NAME)
		return false;
	memcpy(s, h, n);
	s[n] = '\0';
	if (bracketed) {
		t->atyp = TARGET_IPV6;
		return inet_pton(AF_INET6, s, t->addr) == 1;
	}
	if (inet_pton(AF_INET, s, t->addr) == 1) {
		t->atyp = TARGET_IPV4;
		return true;
	}
	if (!target_name_valid((const uint8_t *)s, n) ||
	    name_looks_numeric(s, n))
		return false;
	t->atyp = TARGET_DOMAIN;
	memcpy(t->name, s, n + 1);
	return true;
}

static bool
url_host(const char *url, const struct http_parser_url *u, struct target *t)
{
	uint16_t	off = u->field_data[UF_HOST].off;

	return host_to_target(url + off, u->field_data[UF_HOST].len,
	    off > 0 && url[off - 1] == '[', t);
}

static enum parse_result
parse_connect(const char *url, size_t n, struct http_request *out)
{
	struct http_parser_url	u;

	http_parser_url_init(&u);
	/* with is_connect set, only host and port may be present */
	if (http_parser_parse_url(url, n, 1, &u) != 0 || u.port == 0)
		return req_err(out, 400, "CONNECT target not host:port");
	if (!url_host(url, &u, &out->target))
		return req_err(out, 400, "bad CONNECT host");
	out->target.port = u.port;
	if ((out->has_content_length && out->content_length > 0) ||
	    out->chunked)
		return req_err(out, 400, "body on CONNECT");
	out->is_connect = true;
	return PARSE_OK;
}

/* Path and query as sent: everything after the authority. */
static enum parse_result
absolute_path(const char *url, size_t n, const struct http_parser_url *u,
    struct http_request *out)
{
	size_t	 auth_end, rest;
	char	*p = out->path;

	if (u->field_set & (1 << UF_PORT))
		auth_end = u->field_data[UF_PORT].off +
		    (size_t)u->field_data[UF_PORT].len;
	else
		auth_end = u->field_data[UF_HOST].off +
		    (size_t)u->field_data[UF_HOST].len +
		    (out->target.atyp == TARGET_IPV6);	/* the ']' */
	rest = n - auth_end;
	if (rest == 0) {
		/* RFC 9112 3.2.4: OPTIONS http://h is OPTIONS * there */
		strcpy(p, out->method == HTTP_OPTIONS ? "*" : "/");
		return PARSE_OK;
	}
	if (url[auth_end] != '/')	/* "?query" */
		*p++ = '/';
	if (rest + (size_t)(p - out->path) > HTTP_PATH_MAX)
		return req_err(out, 414, "path too long");
	memcpy(p, url + auth_end, rest);
	p[rest] = '\0';
	return PARSE_OK;
}

static enum parse_result
parse_absolute(const char *url, size_t n, struct http_request *out)
{
	struct http_parser_url	 u;
	const char		*scheme;
	size_t			 slen;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, n, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_SCHEMA)) ||
	    !(u.field_set & (1 << UF_HOST)))
		return req_err(out, 400, "bad absolute URI");
	scheme = url + u.field_data[UF_SCHEMA].off;
	slen = u.field_data[UF_SCHEMA].len;
	if (eq_ci(scheme, slen, "https"))
		return req_err(out, 400, "https:// URI: use CONNECT");
	if (!eq_ci(scheme, slen, "http"))
		return req_err(out, 400, "URI scheme not http");
	if (u.field_set & (1 << UF_USERINFO))
		return req_err(out, 400, "userinfo in URI");
	if (u.field_set & (1 << UF_FRAGMENT))
		return req_err(out, 400, "fragment in URI");
	if ((u.field_set & (1 << UF_PORT)) && u.port == 0)
		return req_err(out, 400, "port 0 in URI");
	if (!url_host(url, &u, &out->target))
		return req_err(out, 400, "bad host in URI");
	out->target.port = u.field_set & (1 << UF_PORT) ? u.port : 80;
	return absolute_path(url, n, &u, out);
}

static enum parse_result
parse_target(const char *url, size_t n, struct http_request *out)
{
	if (url == NULL || n == 0)
		return req_err(out, 400, "no request target");
	if (out->method == HTTP_CONNECT)
		return parse_connect(url, n, out);
	if (url[0] == '/' || url[0] == '*') {
		/* this is a proxy: its only own resource is the PAC file */
		if (out->method != HTTP_GET || n != strlen("/proxy.pac") ||
		    memcmp(url, "/proxy.pac", n) != 0)
			return req_err(out, 400, "origin-form request");
		strcpy(out->path, "/proxy.pac");
		out->is_pac = true;
		return PARSE_OK;
	}
	return parse_absolute(url, n, out);
}

/* RFC 7617; anything unusable leaves has_basic_auth false. */
static void
decode_basic(const struct http_header *h, struct http_request *out)
{
	const char	*v = h->value, *end = h->value + h->value_len;
	const uint8_t	*colon;
	char		 b64[BASIC_B64_MAX + 1];
	uint8_t		 raw[BASIC_B64_MAX];
	size_t		 ulen, plen;
	int		 n;

	if (h->value_len < 6 || strncasecmp(v, "basic ", 6) != 0)
		return;
	for (v += 6; v < end && *v == ' '; v++)
		;
	if ((size_t)(end - v) > BASIC_B64_MAX)
		return;
	memcpy(b64, v, (size_t)(end - v));
	b64[end - v] = '\0';
	if ((n = util_base64_decode(b64, raw, sizeof(raw))) <= 0 ||
	    (colon = memchr(raw, ':', (size_t)n)) == NULL)
		goto done;
	ulen = (size_t)(colon - raw);
	plen = (size_t)n - ulen - 1;
	if (ulen == 0 || ulen >= sizeof(out->user) ||
	    plen >= sizeof(out->pass))
		goto done;
	/* RFC 7617 forbids control bytes; a NUL would cut the C string */
	for (int i = 0; i < n; i++)
		if (is_ctl(raw[i]))
			goto done;
	memcpy(out->user, raw, ulen);
	out->user[ulen] = '\0';
	memcpy(out->pass, colon + 1, plen);
	out->pass[plen] = '\0';
	out->has_basic_auth = true;
done:
	util_wipe(b64, sizeof(b64));
	util_wipe(raw, sizeof(raw));
}

/* Two Proxy-Authorization fields are ambiguous: use neither. */
static void
find_basic_auth(struct http_request *out)
{
	const struct http_header	*found = NULL;

	for (size_t i = 0; i < out->n_headers; i++) {
		if (!http_header_is(&out->headers[i], "proxy-authorization"))
			continue;
		if (found != NULL)
			return;
		found = &out->headers[i];
	}
	if (found != NULL)
		decode_basic(found, out);
}

enum parse_result
http_parse_request(const uint8_t *buf, size_t len, size_t head_max,
    struct http_request *out)
{
	struct head_scan	hs;
	struct feed		f = { .out = out };
	enum parse_result	r;

	memset(out, 0, sizeof(*out));
	if (head_max == 0 || head_max > HTTP_HEAD_MAX_DEFAULT)
		head_max = HTTP_HEAD_MAX_DEFAULT;
	if ((r = scan_head(buf, len, head_max, out, &hs)) != PARSE_OK)
		return r;
	if ((r = feed_lines(buf, &hs, &f)) != PARSE_OK)
		return r;
	/* scan_head() checked the text; this is the parser's reading */
	if (out->http_major != 1 || out->http_minor > 1)
		return req_err(out, 505, "HTTP version not 1.0 or 1.1");
	/* TRACE echoes the request back, fields and all (cross-site
	 * tracing); a proxy that forwarded it would also owe Max-Forwards */
	if (out->method == HTTP_TRACE)
		return req_err(out, 405, "TRACE refused");
	if ((r = check_fields(out)) != PARSE_OK ||
	    (r = parse_target(f.url, f.url_len, out)) != PARSE_OK)
		return r;
	find_basic_auth(out);
	out->used = hs.end;
	return PARSE_OK;
}

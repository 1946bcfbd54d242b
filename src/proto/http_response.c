/*
 * Origin response heads (RFC 9112 sections 4 to 6, RFC 9110 section 7.6.1
 * for the hop-by-hop fields). Read here, not by http-parser, which takes
 * bare LF, obs-fold and a body on 204: whatever two readers could take
 * differently is refused, and the head is rebuilt field by field with
 * our own reason phrase, so none of the origin's bytes reach the client
 * unread.
 */

#include "proto/http_response.h"

#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS	HTTP_RESP_MAX_FIELDS

struct field {
	const char	*name, *value;
	size_t		 name_len, value_len;
};

struct resp_ctx {
	struct field	f[MAX_FIELDS];
	size_t		n;
	int		status, minor;
};

static bool
name_is(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

/* Is tok listed in the comma list of field f? */
static bool
value_lists(const struct field *f, const char *tok, size_t tlen)
{
	const char	*v = f->value;
	size_t		 vl = f->value_len, k = 0;

	while (k < vl) {
		size_t s, e;

		while (k < vl && (v[k] == ' ' || v[k] == '\t' || v[k] == ','))
			k++;
		s = k;
		while (k < vl && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
			k++;
		e = k;
		if (e > s && e - s == tlen && strncasecmp(v + s, tok, tlen) == 0)
			return true;
	}
	return false;
}

/* Is name listed in a Connection field's value (a comma list)? */
static bool
listed_in_connection(const struct resp_ctx *x, const char *name, size_t n)
{
	for (size_t i = 0; i < x->n; i++)
		if (name_is(&x->f[i], "connection") &&
		    value_lists(&x->f[i], name, n))
			return true;
	return false;
}

static bool
hop_by_hop(const struct resp_ctx *x, const struct field *f, bool upgrade)
{
	static const char *const names[] = {
		"connection", "keep-alive", "proxy-connection", "te",
		"trailer",
	};

	for (size_t i = 0; i < NELEM(names); i++)
		if (name_is(f, names[i]))
			return true;
	if (name_is(f, "upgrade"))	/* 101 names it in Connection too */
		return !upgrade;
	/* framing stays even if named: the body is relayed as framed */
	if (name_is(f, "content-length") || name_is(f, "transfer-encoding"))
		return false;
	return listed_in_connection(x, f->name, f->name_len);
}

static bool
is_tchar(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool
bad_byte(uint8_t ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/*
 * "HTTP/1.x DDD[ reason]": the reason is checked (no control bytes) and
 * then thrown away: the client gets ours.
 */
static bool
status_line(const char *s, size_t n, struct resp_ctx *x)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
		return false;
	for (size_t i = 12; i < n; i++)
		if (bad_byte((uint8_t)s[i]))
			return false;
	x->minor = s[7] - '0';
	x->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return true;
}

/* "name: value", a token name, no whitespace before the colon, no
 * control bytes but HT in the value, which is stored trimmed. */
static bool
field_line(const char *s, size_t n, struct resp_ctx *x)
{
	const char	*colon = memchr(s, ':', n), *v, *e = s + n;
	struct field	*f;

	if (colon == NULL || colon == s || x->n >= MAX_FIELDS)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!is_tchar(*p))	/* also obs-fold: a leading space */
			return false;
	for (v = colon + 1; v < e; v++)
		if (bad_byte((uint8_t)*v))
			return false;
	for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
		;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	f = &x->f[x->n++];
	f->name = s;
	f->name_len = (size_t)(colon - s);
	f->value = v;
	f->value_len = (size_t)(e - v);
	return true;
}

/* Splits the head (CRLF lines only) into the status line and fields. */
static bool
split_head(const uint8_t *buf, size_t used, struct resp_ctx *x)
{
	const char	*s = (const char *)buf, *end = s + used - 2;
	bool		 first = true;

	while (s < end) {
		const char *cr = memchr(s, '\r', (size_t)(end - s));

		if (cr == NULL || cr[1] != '\n')
			return false;		/* CR alone, or bare LF */
		if (memchr(s, '\n', (size_t)(cr - s)) != NULL ||
		    memchr(s, '\0', (size_t)(cr - s)) != NULL)
			return false;
		if (first ? !status_line(s, (size_t)(cr - s), x) :
		    !field_line(s, (size_t)(cr - s), x))
			return false;
		first = false;
		s = cr + 2;
	}
	return !first;
}

static bool
parse_length(const struct field *f, uint64_t *v)
{
	*v = 0;
	if (f->value_len == 0)
		return false;
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] < '0' || f->value[i] > '9' ||
		    __builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(f->value[i] - '0'),
		    v))
			return false;
	return true;
}

/* The last coding of the Transfer-Encoding fields; chunked only last. */
static bool
te_final_chunked(const struct resp_ctx *x, bool *chunked)
{
	bool	seen = false;

	*chunked = false;
	for (size_t i = 0; i < x->n; i++) {
		const char	*v = x->f[i].value;
		size_t		 vl = x->f[i].value_len, k = 0;

		if (!name_is(&x->f[i], "transfer-encoding"))
			continue;
		while (k < vl) {
			size_t s;

			while (k < vl && (v[k] == ' ' || v[k] == '\t' ||
			    v[k] == ','))
				k++;
			if (k == vl)
				break;
			if (*chunked)
				return false;	/* a coding after chunked */
			s = k;
			while (k < vl && v[k] != ',')
				k++;
			while (k > s && (v[k - 1] == ' ' || v[k - 1] == '\t'))
				k--;
			*chunked = k - s == 7 && strncasecmp(v + s,
			    "chunked", 7) == 0;
			seen = true;
			while (k < vl && v[k] != ',')
				k++;
		}
	}
	return seen;
}

/* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only on "keep-alive". */
static bool
origin_persists(const struct resp_ctx *x)
{
	if (listed_in_connection(x, "close", 5))
		return false;
	return x->minor == 1 || listed_in_connection(x, "keep-alive", 10);
}

/*
 * RFC 9112 6.3: the framing, refusing whatever two readers could take
 * differently: repeated or list Content-Length, Content-Length with
 * Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a final coding other
 * than chunked unless the origin closes after this response anyway.
 * HEAD, 1xx, 204 and 304 have no body whatever the fields say.
 */
static bool
framing(const struct resp_ctx *x, bool is_head,
    struct http_response_info *info)
{
	size_t		ncl = 0, nte = 0;
	uint64_t	cl = 0;
	bool		chunked = false, te_ok;

	for (size_t i = 0; i < x->n; i++) {
		if (name_is(&x->f[i], "content-length")) {
			if (++ncl > 1 || !parse_length(&x->f[i], &cl))
				return false;
		} else if (name_is(&x->f[i], "transfer-encoding"))
			nte++;
	}
	te_ok = nte == 0 || te_final_chunked(x, &chunked);
	if (!te_ok || (ncl > 0 && nte > 0) || (nte > 0 && x->minor == 0))
		return false;
	info->origin_keep_alive = origin_persists(x);
	if (is_head || x->status < 200 || x->status == 204 ||
	    x->status == 304) {
		info->body = HTTP_BODY_NONE;
		/* a 1xx or 204 announcing a body is lying: do not reuse */
		if ((x->status < 200 || x->status == 204) && (ncl || nte))
			info->origin_keep_alive = false;
	} else if (chunked) {
		info->body = HTTP_BODY_CHUNKED;
	} else if (nte > 0) {
		if (info->origin_keep_alive)
			return false;	/* where would it end? */
		info->body = HTTP_BODY_CLOSE;
	} else if (ncl > 0) {
		info->body = HTTP_BODY_LENGTH;
		info->length = cl;
	} else {
		info->body = HTTP_BODY_CLOSE;
	}
	return true;
}

/* Framing fields the client must not see: none on 1xx and 204 (RFC
 * 9110 8.6, 6.1), and no Transfer-Encoding where there is no body. */
static bool
drop_framing(const struct http_response_info *info, const struct field *f)
{
	if (info->body != HTTP_BODY_NONE)
		return false;
	if (name_is(f, "transfer-encoding"))
		return true;
	return name_is(f, "content-length") &&
	    (info->status < 200 || info->status == 204);
}

static bool
has_bare_lf(const uint8_t *buf, size_t n)
{
	for (const uint8_t *lf = memchr(buf, '\n', n); lf != NULL;
	    lf = memchr(lf + 1, '\n', n - (size_t)(lf + 1 - buf)))
		if (lf == buf || lf[-1] != '\r')
			return true;
	return false;
}

enum parse_result
http_response_rewrite(const uint8_t *buf, size_t len, size_t head_max,
    unsigned flags, char *out, size_t outlen, size_t *outn,
    struct http_response_info *info)
{
	static struct resp_ctx	 x0;
	struct resp_ctx		 x = x0;
	const uint8_t		*end;
	char			 line[80];
	size_t			 scan = MIN(len, head_max);
	struct wbuf		 w = { .p = out, .cap = outlen };
	bool			 keep;
	int			 n;

	memset(info, 0, sizeof(*info));
	*outn = 0;
	end = memmem(buf, scan, "\r\n\r\n", 4);
	/* a bare LF, where no end is seen yet, is an error already */
	if (end == NULL && has_bare_lf(buf, scan))
		return PARSE_ERROR;
	if (end == NULL)
		return len >= head_max ? PARSE_ERROR : PARSE_NEED_MORE;
	info->used = (size_t)(end - buf) + 4;
	if (!split_head(buf, info->used, &x) ||
	    !framing(&x, (flags & HTTP_RESP_HEAD) != 0, info))
		return PARSE_ERROR;
	info->status = x.status;
	info->upgrade = x.status == 101;
	if (info->upgrade && !(flags & HTTP_RESP_UPGRADE))
		return PARSE_ERROR;	/* nobody asked to switch */
	info->informational = x.status < 200 && !info->upgrade;
	info->self_delimited = info->body != HTTP_BODY_CLOSE &&
	    !info->upgrade;
	info->origin_keep_alive &= info->self_delimited;
	keep = (flags & HTTP_RESP_KEEP) && info->self_delimited;

	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", x.status,
	    http_status_reason(x.status));
	wbuf_str(&w, line);
	for (size_t i = 0; i < x.n; i++) {
		if (hop_by_hop(&x, &x.f[i], info->upgrade) ||
		    drop_framing(info, &x.f[i]))
			continue;
		wbuf_put(&w, x.f[i].name, x.f[i].name_len);
		wbuf_str(&w, ": ");
		wbuf_put(&w, x.f[i].value, x.f[i].value_len);
		wbuf_str(&w, "\r\n");
	}
	snprintf(line, sizeof(line), "Via: 1.1 mpsocks\r\n"
	    "Connection: %s\r\n\r\n", info->upgrade ? "upgrade" :
	    keep || info->informational ? "keep-alive" : "close");
	wbuf_str(&w, line);
	if ((n = wbuf_done(&w)) < 0)
		return PARSE_ERROR;
	*outn = (size_t)n;
	return PARSE_OK;
}

/* RFC 9110 5.6.3 whitespace and RFC 5234 control bytes. */
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

/* No control bytes but HT: a value cannot end the field line early. */
static bool
field_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_ctl((uint8_t)*s) && *s != '\t')
			return false;
	return true;
}

/* "Name: value\r\n" lines, none empty or folded. */
static bool
field_lines_ok(const char *s)
{
	while (*s != '\0') {
		const char	*p = s, *colon = NULL;

		for (; *p != '\r'; p++) {
			if (*p == '\0' || (is_ctl((uint8_t)*p) && *p != '\t'))
				return false;
			if (*p == ':' && colon == NULL)
				colon = p;
		}
		if (p[1] != '\n' || colon == NULL || colon == s ||
		    is_ows(*s))
			return false;
		s = p + 2;
	}
	return true;
}

int
http_build_response(int status, const char *extra_headers,
    const char *content_type, const char *body, size_t body_len,
    bool keep_alive, char *out, size_t outlen)
{
	struct wbuf	w = { .p = out, .cap = outlen };
	char		line[80];
	/* RFC 9110 8.6: no Content-Length in 1xx and 204 */
	bool		bodyless = status < 200 || status == 204;

	if (status < 100 || status > 599 || (body == NULL && body_len > 0) ||
	    (bodyless && body_len > 0) ||
	    (content_type != NULL && !field_value_ok(content_type)) ||
	    (extra_headers != NULL && !field_lines_ok(extra_headers)))
		return -1;
	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status,
	    http_status_reason(status));
	wbuf_str(&w, line);
	if (content_type != NULL) {
		wbuf_str(&w, "Content-Type: ");
		wbuf_str(&w, content_type);
		wbuf_str(&w, "\r\n");
	}
	if (!bodyless) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n",
		    body_len);
		wbuf_str(&w, line);
	}
	wbuf_str(&w, keep_alive ? "Connection: keep-alive\r\n" :
	    "Connection: close\r\n");
	if (extra_headers != NULL)
		wbuf_str(&w, extra_headers);
	wbuf_str(&w, "\r\n");
	wbuf_put(&w, body, body_len);
	return wbuf_done(&w);
}

int
http_connect_established(char *out, size_t outlen)
{
	struct wbuf	w = { .p = out, .cap = outlen };

	wbuf_str(&w, "HTTP/1.1 200 Connection established\r\n\r\n");
	return wbuf_done(&w);
}

const char *
http_status_reason(int status)
{
	const char	*s;

	if (status < 100 || status > 599)
		return "Unknown";
	s = http_status_str((enum http_status)status);
	return strcmp(s, "<unknown>") == 0 ? "Unknown" : s;
}


/*
 * Origin response heads (RFC 9112 section 6, RFC 9110 section 7.6.1 for
 * the hop-by-hop fields). http-parser tokenises and decides the framing;
 * the head is rebuilt field by field.
 */

#include "proto/http_response.h"

#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS	128

struct field {
	const char	*name, *value;
	size_t		 name_len, value_len;
};

struct resp_ctx {
	struct field	f[MAX_FIELDS];
	size_t		n;
	bool		overflow, is_head;
};

static int
on_field(http_parser *p, const char *at, size_t len)
{
	struct resp_ctx	*x = p->data;

	/* a field name split across calls cannot happen: one buffer */
	if (x->n >= MAX_FIELDS) {
		x->overflow = true;
		return 1;
	}
	x->f[x->n].name = at;
	x->f[x->n].name_len = len;
	x->f[x->n].value = "";
	x->f[x->n].value_len = 0;
	x->n++;
	return 0;
}

static int
on_value(http_parser *p, const char *at, size_t len)
{
	struct resp_ctx	*x = p->data;

	if (x->n == 0)
		return 1;
	x->f[x->n - 1].value = at;
	x->f[x->n - 1].value_len = len;
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct resp_ctx	*x = p->data;

	/* stop here: the caller relays the body; 1 tells the parser that a
	 * HEAD response has none */
	http_parser_pause(p, 1);
	return x->is_head ? 1 : 0;
}

static bool
name_is(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

/* Is name listed in a Connection field's value (a comma list)? */
static bool
listed_in_connection(const struct resp_ctx *x, const struct field *f)
{
	for (size_t i = 0; i < x->n; i++) {
		const char	*v = x->f[i].value;
		size_t		 vl = x->f[i].value_len, k = 0;

		if (!name_is(&x->f[i], "connection"))
			continue;
		while (k < vl) {
			size_t s, e;

			while (k < vl && (v[k] == ' ' || v[k] == '\t' ||
			    v[k] == ','))
				k++;
			s = k;
			while (k < vl && v[k] != ',' && v[k] != ' ' &&
			    v[k] != '\t')
				k++;
			e = k;
			if (e > s && e - s == f->name_len &&
			    strncasecmp(v + s, f->name, e - s) == 0)
				return true;
		}
	}
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
	return listed_in_connection(x, f);
}

enum parse_result
http_response_rewrite(const uint8_t *buf, size_t len, size_t head_max,
    bool is_head, bool client_keep_alive, char *out, size_t outlen,
    size_t *outn, struct http_response_info *info)
{
	static const http_parser_settings settings = {
		.on_header_field = on_field,
		.on_header_value = on_value,
		.on_headers_complete = on_headers_complete,
	};
	static struct resp_ctx	 x0;
	struct resp_ctx		 x = x0;
	http_parser		 p;
	const uint8_t		*end;
	const char		*reason, *eol;
	char			 line[64];
	size_t			 scan = MIN(len, head_max);
	struct wbuf		 w = { .p = out, .cap = outlen };
	bool			 keep;
	int			 n;

	memset(info, 0, sizeof(*info));
	*outn = 0;
	end = memmem(buf, scan, "\r\n\r\n", 4);
	if (end == NULL)
		return len >= head_max ? PARSE_ERROR : PARSE_NEED_MORE;
	info->used = (size_t)(end - buf) + 4;
	/* http-parser forgives odd status lines; a proxy need not */
	if (info->used < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
		return PARSE_ERROR;
	x.is_head = is_head;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &x;
	http_parser_execute(&p, &settings, (const char *)buf, info->used);
	if (HTTP_PARSER_ERRNO(&p) != HPE_PAUSED || x.overflow ||
	    p.http_major != 1 || p.status_code < 100)
		return PARSE_ERROR;
	info->status = p.status_code;
	info->upgrade = p.status_code == 101;
	info->informational = p.status_code >= 100 && p.status_code < 200 &&
	    !info->upgrade;
	info->self_delimited = is_head || info->informational ||
	    p.status_code == 204 || p.status_code == 304 ||
	    (p.flags & (F_CHUNKED | F_CONTENTLENGTH)) != 0;
	info->origin_keep_alive = info->self_delimited &&
	    http_should_keep_alive(&p) && !info->upgrade;
	keep = client_keep_alive && info->self_delimited;

	/* the reason phrase as sent, after "HTTP/1.x NNN ", on line one */
	eol = memchr(buf, '\r', info->used);	/* found: the head ends so */
	reason = memchr(buf, ' ', (size_t)(eol - (const char *)buf));
	reason = reason != NULL ? memchr(reason + 1, ' ',
	    (size_t)(eol - reason - 1)) : NULL;
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", p.status_code);
	wbuf_str(&w, line);
	if (reason != NULL)
		wbuf_put(&w, reason + 1, (size_t)(eol - reason - 1));
	wbuf_str(&w, "\r\n");
	for (size_t i = 0; i < x.n; i++) {
		if (hop_by_hop(&x, &x.f[i], info->upgrade))
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


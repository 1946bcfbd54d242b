/*
 * Origin response heads (RFC 9112 section 6, RFC 9110 section 7.6.1 for
 * the hop-by-hop fields). http-parser tokenises and decides the framing;
 * the head is rebuilt field by field.
 */

#include "http_response.h"

#include <http_parser.h>
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

/* Appends to out; false when it does not fit. */
static bool
put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + n > outlen)
		return false;
	memcpy(out + *o, s, n);
	*o += n;
	return true;
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
	size_t			 o = 0, scan = MIN(len, head_max);
	bool			 keep;

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
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %d ", p.status_code);
	if (!put(out, outlen, &o, line, (size_t)n) ||
	    (reason != NULL && reason < eol &&
	    !put(out, outlen, &o, reason + 1, (size_t)(eol - reason - 1))) ||
	    !put(out, outlen, &o, "\r\n", 2))
		return PARSE_ERROR;
	for (size_t i = 0; i < x.n; i++) {
		if (hop_by_hop(&x, &x.f[i], info->upgrade))
			continue;
		if (!put(out, outlen, &o, x.f[i].name, x.f[i].name_len) ||
		    !put(out, outlen, &o, ": ", 2) ||
		    !put(out, outlen, &o, x.f[i].value, x.f[i].value_len) ||
		    !put(out, outlen, &o, "\r\n", 2))
			return PARSE_ERROR;
	}
	n = snprintf(line, sizeof(line), "Via: 1.1 mpsocks\r\n"
	    "Connection: %s\r\n\r\n", info->upgrade ? "upgrade" :
	    keep || info->informational ? "keep-alive" : "close");
	if (!put(out, outlen, &o, line, (size_t)n))
		return PARSE_ERROR;
	*outn = o;
	return PARSE_OK;
}

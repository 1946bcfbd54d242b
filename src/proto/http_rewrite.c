/*
 * The origin-form rewrite of a parsed absolute-form request (RFC 9112 3.2,
 * RFC 9110 7.6): what mpsocks-local sends the origin when it forwards plain
 * HTTP. Pure: no I/O, no globals. Split from http_proxy.c, which parses
 * the head this rewrites and owns the field syntax helpers.
 *
 * Deviation: the forwarded request line keeps the client's version, not
 * ours (RFC 9110 7.6.3): the body and the response are relayed as they
 * are, and a 1.0 client cannot read a chunked reply.
 */

#include "proto/http_rewrite.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Case-insensitive match of a field value against s. */
static bool
value_is(const struct http_header *h, const char *s)
{
	return h->value_len == strlen(s) &&
	    strncasecmp(h->value, s, h->value_len) == 0;
}

/* The URI's authority as a Host value; port 80 left out. */
static void
authority(const struct target *t, char *buf, size_t len)
{
	char	a[TARGET_STRLEN];

	switch (t->atyp) {
	case TARGET_IPV4:
		inet_ntop(AF_INET, t->addr, a, sizeof(a));
		break;
	case TARGET_IPV6:
		a[0] = '[';
		inet_ntop(AF_INET6, t->addr, a + 1, sizeof(a) - 2);
		strcat(a, "]");
		break;
	default:
		snprintf(a, sizeof(a), "%s", t->name);
	}
	if (t->port == 80)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s:%u", a, t->port);
}

/* Host as sent, if it names what the URI names (RFC 9112 3.2.2). */
static bool
host_agrees(const struct http_header *h, const char *auth, uint16_t port)
{
	char	with_port[TARGET_STRLEN + 8];

	if (value_is(h, auth))
		return true;
	snprintf(with_port, sizeof(with_port), "%s:80", auth);
	return port == 80 && value_is(h, with_port);
}

static bool
is_hop_by_hop(const struct http_request *req, const struct http_header *h)
{
	static const char *const	hop[] = {
		"connection", "proxy-connection", "proxy-authorization",
		"keep-alive", "te", "trailer",
	};

	for (size_t i = 0; i < NELEM(hop); i++)
		if (http_header_is(h, hop[i]))
			return true;
	if (http_header_is(h, "upgrade"))
		return !req->websocket_upgrade;
	/* framing and routing stay even if named: the body is relayed */
	if (http_header_is(h, "content-length") ||
	    http_header_is(h, "transfer-encoding") || http_header_is(h, "host"))
		return false;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header	*c = &req->headers[i];
		const char			*p, *end, *t;
		size_t				 n;

		if (!http_header_is(c, "connection"))
			continue;
		p = c->value;
		end = c->value + c->value_len;
		while (http_list_next(&p, end, &t, &n))
			if (n == h->name_len &&
			    strncasecmp(t, h->name, n) == 0)
				return true;
	}
	return false;
}

/* The Via name: a token, so no room for a CRLF or a space. */
static bool
via_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= HTTP_VIA_NAME_MAX && http_token_len(s, n) == n;
}

static void
w_field(struct wbuf *w, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	wbuf_put(w, name, nlen);
	wbuf_put(w, ": ", 2);
	wbuf_put(w, value, vlen);
	wbuf_put(w, "\r\n", 2);
}

int
http_rewrite_request(const struct http_request *req, const char *via_name,
    char *out, size_t outlen)
{
	struct wbuf	 w = { .p = out, .cap = outlen };
	char		 auth[TARGET_STRLEN], line[64];
	bool		 has_host = false;

	if (via_name == NULL)
		via_name = "mpsocks";
	if (req->is_connect || req->is_pac || !via_name_ok(via_name) ||
	    req->path[0] == '\0')
		return -1;
	authority(&req->target, auth, sizeof(auth));
	wbuf_str(&w, http_method_str(req->method));
	wbuf_str(&w, " ");
	wbuf_str(&w, req->path);
	snprintf(line, sizeof(line), " HTTP/1.%u\r\n", req->http_minor);
	wbuf_str(&w, line);
	for (size_t i = 0; i < req->n_headers; i++)
		has_host |= http_header_is(&req->headers[i], "host");
	if (!has_host)		/* first, as RFC 9112 3.2 asks of clients */
		w_field(&w, "Host", 4, auth, strlen(auth));
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header	*h = &req->headers[i];

		if (http_header_is(h, "host") && !host_agrees(h, auth,
		    req->target.port))
			w_field(&w, h->name, h->name_len, auth, strlen(auth));
		else if (!is_hop_by_hop(req, h))
			w_field(&w, h->name, h->name_len, h->value,
			    h->value_len);
	}
	if (req->websocket_upgrade)
		wbuf_str(&w, "Connection: upgrade\r\n");
	else if (!req->keep_alive)
		wbuf_str(&w, "Connection: close\r\n");
	snprintf(line, sizeof(line), "Via: 1.%u ", req->http_minor);
	wbuf_str(&w, line);
	wbuf_str(&w, via_name);
	wbuf_str(&w, "\r\n\r\n");
	return wbuf_done(&w);
}

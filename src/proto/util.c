/*
 * Helpers shared by every module. Everything here is pure except the clock
 * readers and util_random().
 */

#include "proto/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void
cur_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	c->off = 0;
}

size_t
cur_left(const struct cursor *c)
{
	return c->len - c->off;
}

bool
cur_bytes(struct cursor *c, size_t n, const uint8_t **p)
{
	if (cur_left(c) < n)
		return false;
	*p = c->buf + c->off;
	c->off += n;
	return true;
}

bool
cur_u8(struct cursor *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return false;
	*v = c->buf[c->off++];
	return true;
}

bool
cur_u16be(struct cursor *c, uint16_t *v)
{
	const uint8_t	*p;

	if (!cur_bytes(c, 2, &p))
		return false;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return true;
}

bool
cur_u64be(struct cursor *c, uint64_t *v)
{
	const uint8_t	*p;
	uint64_t	 x = 0;

	if (!cur_bytes(c, 8, &p))
		return false;
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	*v = x;
	return true;
}

void
put_u16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void
wbuf_put(struct wbuf *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

void
wbuf_str(struct wbuf *w, const char *s)
{
	wbuf_put(w, s, strlen(s));
}

int
wbuf_done(const struct wbuf *w)
{
	return w->full || w->len > INT_MAX ? -1 : (int)w->len;
}

bool
util_split_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char	*colon, *h = s;
	size_t		 n;
	char		*end;
	unsigned long	 p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return false;
		h = s + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return false;
		n = (size_t)(colon - s);
		if (memchr(s, ':', n) != NULL)	/* bare IPv6 needs [] */
			return false;
	}
	if (n == 0 || n >= hostlen)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return false;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		return false;
	*port = (uint16_t)p;
	return true;
}

bool
util_parse_sockaddr(const char *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char		 host[256];
	uint16_t	 port;

	memset(ss, 0, sizeof(*ss));
	if (!util_split_hostport(s, host, sizeof(host), &port))
		return false;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

/* The address bytes (4 for IPv4, also when mapped) and the port. */
static bool
reach_parts(const struct sockaddr *sa, const uint8_t **a, size_t *len,
    uint16_t *port)
{
	static const uint8_t	mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		*a = (const uint8_t *)&sin->sin_addr;
		*len = 4;
		*port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		*a = sin6->sin6_addr.s6_addr;
		*len = 16;
		*port = ntohs(sin6->sin6_port);
		if (memcmp(*a, mapped, 12) == 0) {
			*a += 12;
			*len = 4;
		}
		return true;
	}
	return false;
}

enum util_reach
util_sockaddr_reaches(const struct sockaddr *t, const struct sockaddr *own)
{
	static const uint8_t	zero[16];
	const uint8_t		*ta, *oa;
	size_t			 tl, ol;
	uint16_t		 tp, op;

	if (!reach_parts(t, &ta, &tl, &tp) || !reach_parts(own, &oa, &ol, &op) ||
	    tp != op)
		return UTIL_REACH_NO;
	if (tl == ol && memcmp(ta, oa, tl) == 0)
		return UTIL_REACH_YES;
	/* 0.0.0.0 takes IPv4 only; :: (not V6ONLY) takes both */
	if (memcmp(oa, zero, ol) == 0 && (ol == 16 || tl == 4))
		return UTIL_REACH_IF_LOCAL;
	return UTIL_REACH_NO;
}

const char *
util_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
util_base64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t	need = (len + 2) / 3 * 4, o = 0;

	if (need + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64val(char ch)
{
	const char *p = ch ? strchr(b64chars, ch) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

int
util_base64_decode(const char *s, uint8_t *out, size_t outlen)
{
	size_t	len = strlen(s), o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int	v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)	/* data after padding */
				return -1;
			if ((v[k] = b64val(s[i + k])) < 0)
				return -1;
		}
		uint32_t x = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 |
		    v[3]);
		size_t n = 3 - (size_t)pad;
		if (o + n > outlen)
			return -1;
		uint8_t b[3] = { (uint8_t)(x >> 16), (uint8_t)(x >> 8),
		    (uint8_t)x };
		/* non-canonical encodings carry stray bits: reject them */
		if ((pad == 1 && b[2] != 0) || (pad == 2 && (b[1] | b[2]) != 0))
			return -1;
		memcpy(out + o, b, n);
		o += n;
	}
	return (int)o;
}

const char *
util_printable(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t	o = 0;

	if (outlen == 0)
		return out;
	for (size_t i = 0; i < len && i < 64 && o + 1 < outlen; i++)
		out[o++] = in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' &&
		    in[i] != '\\' ? (char)in[i] : '.';
	out[o] = '\0';
	return out;
}

uint64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
util_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
util_random(void *buf, size_t len)
{
	uint8_t	*p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n == -1)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

void
util_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

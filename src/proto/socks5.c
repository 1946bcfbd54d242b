/*
 * SOCKS5 (RFC 1928) and username/password auth (RFC 1929): parsers and
 * reply builders. Pure: no I/O, no globals. GSSAPI, a MUST in RFC 1928
 * section 3, is not offered. The reserved byte of a request is ignored, as
 * most servers do; domain names are restricted to hostname characters.
 */

#include "proto/socks5.h"

#include <string.h>

enum parse_result
socks5_parse_greeting(const uint8_t *buf, size_t len,
    struct socks5_greeting *out)
{
	struct cursor	 c;
	uint8_t		 ver, n;
	const uint8_t	*m;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &ver))
		return PARSE_NEED_MORE;
	if (ver != SOCKS5_VERSION)
		return PARSE_ERROR;
	if (!cur_u8(&c, &n))
		return PARSE_NEED_MORE;
	if (n == 0)
		return PARSE_ERROR;
	if (!cur_bytes(&c, n, &m))
		return PARSE_NEED_MORE;
	for (size_t i = 0; i < n; i++) {
		if (m[i] == SOCKS5_METHOD_NONE)
			out->offers_none = true;
		else if (m[i] == SOCKS5_METHOD_USERPASS)
			out->offers_userpass = true;
	}
	out->used = c.off;
	return PARSE_OK;
}

uint8_t
socks5_choose_method(const struct socks5_greeting *g, bool require_userpass)
{
	if (require_userpass)
		return g->offers_userpass ? SOCKS5_METHOD_USERPASS :
		    SOCKS5_METHOD_REFUSED;
	return g->offers_none ? SOCKS5_METHOD_NONE : SOCKS5_METHOD_REFUSED;
}

enum parse_result
socks5_parse_userpass(const uint8_t *buf, size_t len,
    struct socks5_userpass *out)
{
	struct cursor	 c;
	uint8_t		 ver, ulen, plen;
	const uint8_t	*u, *p;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &ver))
		return PARSE_NEED_MORE;
	if (ver != SOCKS5_AUTH_VERSION)
		return PARSE_ERROR;
	if (!cur_u8(&c, &ulen))
		return PARSE_NEED_MORE;
	if (ulen == 0)
		return PARSE_ERROR;
	if (!cur_bytes(&c, ulen, &u) || !cur_u8(&c, &plen) ||
	    !cur_bytes(&c, plen, &p))
		return PARSE_NEED_MORE;
	memcpy(out->user, u, ulen);
	memcpy(out->pass, p, plen);
	out->user_len = ulen;
	out->pass_len = plen;
	out->used = c.off;
	return PARSE_OK;
}

static enum parse_result
request_err(struct socks5_request *out, enum reply_code rep)
{
	out->rep = rep;
	return PARSE_ERROR;
}

enum parse_result
socks5_parse_request(const uint8_t *buf, size_t len,
    struct socks5_request *out)
{
	struct cursor	 c;
	uint8_t		 ver, rsv, atyp, nlen;
	const uint8_t	*a;
	uint16_t	 port;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &ver))
		return PARSE_NEED_MORE;
	if (ver != SOCKS5_VERSION)
		return request_err(out, REPLY_GENERAL);
	if (!cur_u8(&c, &out->cmd))
		return PARSE_NEED_MORE;
	if (out->cmd != SOCKS5_CMD_CONNECT)
		return request_err(out, REPLY_CMD_UNSUPPORTED);
	if (!cur_u8(&c, &rsv))
		return PARSE_NEED_MORE;
	if (rsv != 0x00)	/* RFC 1928 section 4 fixes RSV at X'00' */
		return request_err(out, REPLY_GENERAL);
	if (!cur_u8(&c, &atyp))
		return PARSE_NEED_MORE;
	out->target.atyp = atyp;
	switch (atyp) {
	case TARGET_IPV4:
		if (!cur_bytes(&c, 4, &a))
			return PARSE_NEED_MORE;
		memcpy(out->target.addr, a, 4);
		break;
	case TARGET_IPV6:
		if (!cur_bytes(&c, 16, &a))
			return PARSE_NEED_MORE;
		memcpy(out->target.addr, a, 16);
		break;
	case TARGET_DOMAIN:
		if (!cur_u8(&c, &nlen))
			return PARSE_NEED_MORE;
		if (nlen == 0)
			return request_err(out, REPLY_GENERAL);
		if (!cur_bytes(&c, nlen, &a))
			return PARSE_NEED_MORE;
		if (!target_name_valid(a, nlen))
			return request_err(out, REPLY_GENERAL);
		memcpy(out->target.name, a, nlen);
		out->target.name[nlen] = '\0';
		break;
	default:
		return request_err(out, REPLY_ATYP_UNSUPPORTED);
	}
	if (!cur_u16be(&c, &port))
		return PARSE_NEED_MORE;
	if (port == 0)		/* nothing listens there; RFC 1928 is silent */
		return request_err(out, REPLY_GENERAL);
	out->target.port = port;
	out->used = c.off;
	return PARSE_OK;
}

size_t
socks5_build_reply(enum reply_code rep, const struct target *bound,
    uint8_t *out)
{
	static const struct target	none = { .atyp = TARGET_IPV4 };
	int				n;

	if (bound == NULL || bound->atyp == TARGET_DOMAIN)
		bound = &none;
	out[0] = SOCKS5_VERSION;
	out[1] = reply_socks5(rep);
	out[2] = 0;
	n = target_encode(bound, out + 3, SOCKS5_REPLY_MAX - 3);
	return n < 0 ? 3 : 3 + (size_t)n;
}

/*
 * SOCKS4 and SOCKS4a CONNECT. SOCKS4a marks a name with the address
 * 0.0.0.x (x non-zero) and sends the name, NUL-ended, after the user id.
 * BIND is refused like any other command. The user id is kept for logs
 * but authenticates nothing: SOCKS4 has no password.
 */

#include "proto/socks4.h"

#include <string.h>

/* Finds the NUL ending a string of at most max bytes after c's offset. */
static enum parse_result
take_cstring(struct cursor *c, size_t max, const uint8_t **s, size_t *n)
{
	const uint8_t	*p = c->buf + c->off;
	size_t		 left = cur_left(c);
	const uint8_t	*nul = memchr(p, '\0', MIN(left, max + 1));

	if (nul == NULL)
		return left > max ? PARSE_ERROR : PARSE_NEED_MORE;
	*s = p;
	*n = (size_t)(nul - p);
	c->off += *n + 1;
	return PARSE_OK;
}

enum parse_result
socks4_parse_request(const uint8_t *buf, size_t len,
    struct socks4_request *out)
{
	struct cursor		 c;
	uint8_t			 ver;
	uint16_t		 port;
	const uint8_t		*ip, *s;
	size_t			 n;
	enum parse_result	 r;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &ver))
		return PARSE_NEED_MORE;
	if (ver != SOCKS4_VERSION)
		return PARSE_ERROR;
	if (!cur_u8(&c, &out->cmd))
		return PARSE_NEED_MORE;
	if (out->cmd != SOCKS4_CMD_CONNECT)
		return PARSE_ERROR;
	if (!cur_u16be(&c, &port) || !cur_bytes(&c, 4, &ip))
		return PARSE_NEED_MORE;
	if (port == 0)
		return PARSE_ERROR;
	out->target.port = port;
	if ((r = take_cstring(&c, 255, &s, &n)) != PARSE_OK)
		return r;
	memcpy(out->userid, s, n);
	out->userid[n] = '\0';
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0) {
		if ((r = take_cstring(&c, TARGET_MAX_NAME, &s, &n)) !=
		    PARSE_OK)
			return r;
		if (!target_name_valid(s, n))
			return PARSE_ERROR;
		out->target.atyp = TARGET_DOMAIN;
		memcpy(out->target.name, s, n);
		out->target.name[n] = '\0';
	} else {
		out->target.atyp = TARGET_IPV4;
		memcpy(out->target.addr, ip, 4);
	}
	out->used = c.off;
	return PARSE_OK;
}

void
socks4_build_reply(uint8_t rep, uint8_t out[SOCKS4_REPLY_LEN])
{
	/* VN 0, the code, and DSTPORT/DSTIP that clients ignore */
	memset(out, 0, SOCKS4_REPLY_LEN);
	out[1] = rep;
}

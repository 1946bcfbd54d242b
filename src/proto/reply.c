/*
 * Reply codes and their mappings. SOCKS5's numbers (RFC 1928 section 6)
 * are written out in their own table even where they equal ours: the
 * two may part one day (a code SOCKS5 lacks), and then only this table
 * changes.
 */

#include "proto/reply.h"
#include "proto/util.h"

#include <errno.h>

enum reply_code
reply_from_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return REPLY_REFUSED;
	case ENETUNREACH:
	case EAFNOSUPPORT:
	case EADDRNOTAVAIL:
		return REPLY_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return REPLY_HOST_UNREACH;
	case ETIMEDOUT:
		return REPLY_TIMED_OUT;
	case EACCES:
	case EPERM:
		return REPLY_NOT_ALLOWED;
	default:
		return REPLY_GENERAL;
	}
}

enum reply_code
reply_from_wire(uint8_t v)
{
	return v < REPLY_CODES ? (enum reply_code)v : REPLY_GENERAL;
}

const char *
reply_str(enum reply_code c)
{
	static const char *const names[REPLY_CODES] = {
		[REPLY_OK] = "succeeded",
		[REPLY_GENERAL] = "general failure",
		[REPLY_NOT_ALLOWED] = "not allowed",
		[REPLY_NET_UNREACH] = "network unreachable",
		[REPLY_HOST_UNREACH] = "host unreachable",
		[REPLY_REFUSED] = "connection refused",
		[REPLY_TIMED_OUT] = "TTL expired",
		[REPLY_CMD_UNSUPPORTED] = "command not supported",
		[REPLY_ATYP_UNSUPPORTED] = "address type not supported",
	};

	return (unsigned)c < REPLY_CODES ? names[c] : "unknown status";
}

const char *
reply_label(enum reply_code c)
{
	static const char *const labels[REPLY_CODES] = {
		[REPLY_OK] = "ok",
		[REPLY_GENERAL] = "general",
		[REPLY_NOT_ALLOWED] = "not_allowed",
		[REPLY_NET_UNREACH] = "net_unreachable",
		[REPLY_HOST_UNREACH] = "host_unreachable",
		[REPLY_REFUSED] = "refused",
		[REPLY_TIMED_OUT] = "ttl_expired",
		[REPLY_CMD_UNSUPPORTED] = "cmd_unsupported",
		[REPLY_ATYP_UNSUPPORTED] = "atyp_unsupported",
	};

	return (unsigned)c < REPLY_CODES ? labels[c] : "other";
}

uint8_t
reply_socks5(enum reply_code c)
{
	static const uint8_t socks5[REPLY_CODES] = {
		[REPLY_OK] = 0x00,
		[REPLY_GENERAL] = 0x01,
		[REPLY_NOT_ALLOWED] = 0x02,
		[REPLY_NET_UNREACH] = 0x03,
		[REPLY_HOST_UNREACH] = 0x04,
		[REPLY_REFUSED] = 0x05,
		[REPLY_TIMED_OUT] = 0x06,
		[REPLY_CMD_UNSUPPORTED] = 0x07,
		[REPLY_ATYP_UNSUPPORTED] = 0x08,
	};

	return (unsigned)c < REPLY_CODES ? socks5[c] : 0x01;
}

int
reply_http_status(enum reply_code c)
{
	switch (c) {
	case REPLY_OK:
		return 200;
	case REPLY_NOT_ALLOWED:		/* a rule said reject */
		return 403;
	case REPLY_TIMED_OUT:		/* the connect timed out */
		return 504;
	default:		/* unreachable, refused, failure, unsupported */
		return 502;
	}
}

#ifndef MPSOCKS_SOCKS5_H
#define MPSOCKS_SOCKS5_H

/*
 * SOCKS5 (RFC 1928) and username/password auth (RFC 1929): parsers and
 * reply builders. Pure: no I/O, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/reply.h"
#include "proto/target.h"
#include "proto/util.h"

#define SOCKS5_VERSION		0x05
#define SOCKS5_AUTH_VERSION	0x01

#define SOCKS5_METHOD_NONE	0x00
#define SOCKS5_METHOD_USERPASS	0x02
#define SOCKS5_METHOD_REFUSED	0xff

#define SOCKS5_CMD_CONNECT	0x01
#define SOCKS5_CMD_BIND		0x02
#define SOCKS5_CMD_UDP		0x03


/* Longest messages, for capping what a front end waits for. */
#define SOCKS5_MAX_GREETING	(2 + 255)
#define SOCKS5_MAX_USERPASS	(3 + 255 + 255)
#define SOCKS5_MAX_REQUEST	(4 + 1 + 255 + 2)
#define SOCKS5_REPLY_MAX	(4 + 16 + 2)

struct socks5_greeting {
	size_t	used;
	bool	offers_none, offers_userpass;
};

struct socks5_userpass {
	size_t	used;
	char	user[256], pass[256];
	uint8_t	user_len, pass_len;
};

struct socks5_request {
	size_t		used;
	uint8_t		cmd;
	enum reply_code	rep;		/* PARSE_ERROR: the reply to send */
	struct target	target;
};

/* ERROR: not SOCKS5 or no methods; answer with no method and close. */
enum parse_result socks5_parse_greeting(const uint8_t *, size_t,
	    struct socks5_greeting *);
/* The method to answer with: userpass if required, else none. */
uint8_t	socks5_choose_method(const struct socks5_greeting *,
	    bool require_userpass);
/* ERROR: wrong sub-negotiation version or an empty user name. */
enum parse_result socks5_parse_userpass(const uint8_t *, size_t,
	    struct socks5_userpass *);
/* ERROR: out->rep says which reply (general, command, address type). */
enum parse_result socks5_parse_request(const uint8_t *, size_t,
	    struct socks5_request *);

/* Writes a reply with the bound address (or 0.0.0.0:0 if NULL) into out,
 * which holds SOCKS5_REPLY_MAX bytes. Returns its length. */
size_t	socks5_build_reply(enum reply_code, const struct target *bound,
	    uint8_t *out);

#endif

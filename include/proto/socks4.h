#ifndef MPSOCKS_SOCKS4_H
#define MPSOCKS_SOCKS4_H

/*
 * SOCKS4 and SOCKS4a CONNECT (the de facto specs "SOCKS: A protocol for
 * TCP proxy across firewalls" and "SOCKS 4A"). Pure: no I/O, no globals.
 */

#include <stddef.h>
#include <stdint.h>

#include "proto/target.h"
#include "proto/util.h"

#define SOCKS4_VERSION		0x04
#define SOCKS4_CMD_CONNECT	0x01
#define SOCKS4_REP_GRANTED	0x5a	/* 90 */
#define SOCKS4_REP_REJECTED	0x5b	/* 91 */
#define SOCKS4_REPLY_LEN	8
/* header, a 255-byte user id and a 255-byte name, each NUL-ended */
#define SOCKS4_MAX_REQUEST	(8 + 256 + 256)

struct socks4_request {
	size_t		used;
	uint8_t		cmd;
	struct target	target;		/* IPv4, or a name with SOCKS4a */
	char		userid[256];
};

/* ERROR: not SOCKS4, a command other than CONNECT, port 0, an over-long
 * user id or name, or a name that is not a host name. */
enum parse_result socks4_parse_request(const uint8_t *, size_t,
	    struct socks4_request *);
/* Writes the 8-byte reply. */
void	socks4_build_reply(uint8_t rep, uint8_t out[SOCKS4_REPLY_LEN]);

#endif

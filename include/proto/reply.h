#ifndef MPSOCKS_REPLY_H
#define MPSOCKS_REPLY_H

/*
 * Why a connection to a destination was or was not made: one set of
 * codes for both daemons, whichever side failed (the concentrator's
 * connect, a direct connect at home, a rule). Each front end turns a
 * code into its own protocol's answer through a table here, so that no
 * code depends on two protocols' numbers happening to match. The
 * tunnel's status byte carries these codes as they are numbered
 * (docs/protocol.md). Pure.
 */

#include <stdbool.h>
#include <stdint.h>

enum reply_code {
	REPLY_OK = 0,
	REPLY_GENERAL = 1,		/* anything not below */
	REPLY_NOT_ALLOWED = 2,		/* a rule or the ACL refused it */
	REPLY_NET_UNREACH = 3,
	REPLY_HOST_UNREACH = 4,		/* also: the name did not resolve */
	REPLY_REFUSED = 5,
	REPLY_TIMED_OUT = 6,
	REPLY_CMD_UNSUPPORTED = 7,
	REPLY_ATYP_UNSUPPORTED = 8,
};
#define REPLY_CODES	9

/* The code for a failed connect()'s errno (SO_ERROR). */
enum reply_code	reply_from_errno(int err);
/* A status byte off the wire; an unknown value is REPLY_GENERAL. */
enum reply_code	reply_from_wire(uint8_t);
/* "succeeded", "connection refused", ...: for people. */
const char	*reply_str(enum reply_code);
/* "refused", "ttl_expired", ...: the reason label of the metrics. */
const char	*reply_label(enum reply_code);
/* The SOCKS5 reply code (RFC 1928 section 6). */
uint8_t		 reply_socks5(enum reply_code);
/* The HTTP proxy's status: 200, 403 (a rule), 504 (timed out), else 502. */
int		 reply_http_status(enum reply_code);

#endif

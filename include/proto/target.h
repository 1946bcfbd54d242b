#ifndef MPSOCKS_TARGET_H
#define MPSOCKS_TARGET_H

/*
 * A proxied connection's destination, as the front ends parse it and the
 * tunnel carries it. Address types use the SOCKS5 numbering.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TARGET_IPV4	0x01
#define TARGET_DOMAIN	0x03
#define TARGET_IPV6	0x04
#define TARGET_MAX_NAME	255

struct target {
	uint8_t		atyp;
	uint8_t		addr[16];		/* IPV4: 4 bytes, IPV6: 16 */
	char		name[TARGET_MAX_NAME + 1];	/* DOMAIN */
	uint16_t	port;
};

/* Enough for "[v6]:port" and a 255-byte name with its port. */
#define TARGET_STRLEN	(TARGET_MAX_NAME + 8)

/* "1.2.3.4:80", "[::1]:443" or "example.com:80"; the name is printable. */
const char	*target_str(const struct target *, char *, size_t);

/*
 * Domain names from the wire: 1..255 bytes of letters, digits, '-', '_'
 * and '.'. Anything else (NUL, spaces, control bytes) would end up in logs
 * and resolver queries, so it is refused.
 */
bool		 target_name_valid(const uint8_t *, size_t);

/* Wire form, as in SOCKS5: ATYP, address (a length byte first for names),
 * port. Returns bytes written or -1 if out is too small. */
int		 target_encode(const struct target *, uint8_t *, size_t);
size_t		 target_encoded_len(const struct target *);

#endif

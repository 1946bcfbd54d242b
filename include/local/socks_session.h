#ifndef MPSOCKS_SOCKS_SESSION_H
#define MPSOCKS_SOCKS_SESSION_H

/*
 * The SOCKS driver of a struct conn (conn.h): SOCKS5 (RFC 1928, with
 * RFC 1929 username/password) and SOCKS4/4a, one function per protocol
 * step. BIND and UDP ASSOCIATE are answered "command not supported".
 */

#include <stdint.h>

struct conn;

/* c->bev's input starts with first (SOCKS5_VERSION or SOCKS4_VERSION);
 * the driver takes the connection from here. May close c. */
void	socks_session_start(struct conn *c, uint8_t first);

#endif

#ifndef MPSOCKS_PAC_H
#define MPSOCKS_PAC_H

/* The proxy auto-config file served at GET /proxy.pac. Pure. */

#include <stddef.h>

/*
 * A PAC script sending browsers to proxy (the "host:port" they reached
 * us at), SOCKS5 first and then HTTP, and straight to localhost, plain
 * host names, .local names and literal private addresses. Returns its
 * length, or -1 if out is too small.
 */
int	pac_build(const char *proxy, char *out, size_t outlen);

#endif

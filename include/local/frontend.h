#ifndef MPSOCKS_FRONTEND_H
#define MPSOCKS_FRONTEND_H

/*
 * mpsocks-local's proxy port: accepts app connections, speaks SOCKS5
 * (RFC 1928, RFC 1929) to learn the target, opens a tunnel, relays.
 */

#include "common/config.h"

struct event_base;
struct frontend;
struct monitor;
struct route;

/* NULL (logged) if a listener cannot be opened. */
struct frontend	*frontend_new(struct event_base *, const struct config *,
		    struct route *, struct monitor *);
/* Closes every listener and connection. */
void		 frontend_free(struct frontend *);

#endif

#ifndef MPSOCKS_LISTENER_H
#define MPSOCKS_LISTENER_H

/*
 * A daemon's listening sockets. Out of descriptors, they pause for a
 * second instead of spinning on accept errors.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/config.h"

struct event_base;
struct listeners;

/* fd is accepted and non-blocking; the callee owns it. */
typedef void listeners_accept_cb(void *arg, int fd, struct sockaddr *,
	    int socklen);

/*
 * Opens one listener per address ("ADDR:PORT", numeric), MPTCP ones with
 * want_mptcp. what names them in logs ("tunnel", "SOCKS5 proxy"). NULL
 * (logged) if any address cannot be opened.
 */
struct listeners	*listeners_open(struct event_base *,
			    const char (*addrs)[CONFIG_ADDR_MAX], size_t n,
			    bool want_mptcp, const char *what,
			    listeners_accept_cb *, void *arg);
void			 listeners_free(struct listeners *);

#endif

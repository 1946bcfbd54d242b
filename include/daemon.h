#ifndef MPSOCKS_DAEMON_H
#define MPSOCKS_DAEMON_H

/* What both daemons' main() share: config error printing, the fd limit,
 * and signal handling on the event loop. */

#include <stdbool.h>

#include "config.h"

struct event_base;

/* config_err_cb that prints "file:line: msg" to stderr. */
void	daemon_config_err(void *arg, const char *file, unsigned line,
	    const char *msg);
/* Raises the soft descriptor limit to the hard one. */
void	daemon_raise_nofile(void);
/* SIGINT/SIGTERM end the loop; SIGHUP calls hup(arg). SIGPIPE ignored.
 * Returns false if the events could not be added. */
bool	daemon_signals(struct event_base *, void (*hup)(void *), void *arg);
void	daemon_signals_free(void);

#endif

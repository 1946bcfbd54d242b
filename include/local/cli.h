#ifndef MPSOCKS_CLI_H
#define MPSOCKS_CLI_H

/*
 * mpsocks-local's one-shot commands (--uplinks): each prints its report
 * to a FILE and returns the process's exit code.
 */

#include <stdio.h>

struct config;
struct config_uplinks;

/*
 * --uplinks (docs/uplinks.md): each configured uplink as the kernel has
 * it (interface, role, table, gateways, addresses with their endpoint and
 * rule), the MPTCP limits, and then "ready for bonding" or a "missing:"
 * line per gap. Reads the kernel, changes nothing. Returns 0, or 1 if the
 * kernel could not be asked.
 */
int	cli_uplinks(const struct config *, const struct config_uplinks *,
	    FILE *);

#endif

#ifndef MPSOCKS_CLI_H
#define MPSOCKS_CLI_H

/*
 * mpsocks-local's one-shot commands (--explain, --status, --uplinks):
 * each prints its report and returns the process's exit code, without
 * starting the daemon.
 */

#include <stdio.h>

struct config;
struct config_uplinks;
struct policy;

/*
 * --uplinks (docs/uplinks.md): each configured uplink as the kernel has
 * it (interface, role, table, gateways, addresses with their endpoint and
 * rule), the MPTCP limits, and then "ready for bonding" or a "missing:"
 * line per gap. Reads the kernel, changes nothing. Returns 0, or 1 if the
 * kernel could not be asked.
 */
int	cli_uplinks(const struct config *, const struct config_uplinks *,
	    FILE *);

/*
 * --explain HOST[:PORT]: the decision for HOST (port 443 if none), with
 * a blocking lookup when a rule needs the address. Returns 0, or 2 if
 * HOST is not a host.
 */
int	cli_explain(const struct policy *, const char *hostport, FILE *out);

/*
 * --status: GETs /api/status from the running daemon's control port (the
 * address and token from the file conf, may be NULL, and --control,
 * control_arg, may be NULL) and prints it as a table on stdout.
 * Blocking. Returns 0, 1 with a message on stderr, or EX_CONFIG_ERR.
 */
int	cli_status(struct config *, const char *conf, const char *control_arg);

#endif

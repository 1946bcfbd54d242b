#ifndef MPSOCKS_ADD_HOME_H
#define MPSOCKS_ADD_HOME_H

/*
 * mpsocks-server --add-home NAME: a new home in one step. Makes a key,
 * adds "NAME KEY" to the key file (creating the file if it is absent),
 * signals the running concentrator to reload (through pid_file), and
 * prints the pairing token (proto/pairing.h) that `mpsocks-local --pair`
 * takes, with the same as a key file line and a config for doing it by
 * hand. docs/deployment.md, "Pair a home".
 */

#include <stdbool.h>

#include "common/config.h"

/* read when neither -c nor --key-file is given */
#define ADD_HOME_DEFAULT_CONF	"/etc/mpsocks/server.conf"

struct add_home {
	const char	*name;
	/* HOST:PORT or HOST (the port of the first listen address), as
	 * homes reach this concentrator; NULL: the first listen address
	 * that is not a wildcard */
	const char	*public;
	bool		 require_tls;	/* the key's own require_tls flag */
	bool		 dry_run;	/* -t: check everything, write nothing */
};

/*
 * Does it, with cfg as loaded from -c and the command line (key_file,
 * listen, run_as, pid_file, require_tls). Messages go to stderr, the
 * token and the by-hand lines to stdout. Returns the exit status: 0,
 * 1 (refused or failed: said why) or EX_CONFIG_ERR.
 */
int	add_home_run(const struct config *cfg, const struct add_home *);

#endif

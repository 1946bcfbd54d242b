#ifndef MPSOCKS_PAIR_H
#define MPSOCKS_PAIR_H

/*
 * mpsocks-local --pair TOKEN: the home's side of pairing in one step.
 * From the token `mpsocks-server --add-home` printed (proto/pairing.h) it
 * writes this home's key file and sets server and key_file (and
 * encryption = tls when the concentrator requires it) in the config,
 * keeping every other line of an existing config. docs/deployment.md,
 * "Pair a home".
 */

#include <stdbool.h>
#include <stddef.h>

#define PAIR_DEFAULT_CONF	"/etc/mpsocks/local.conf"
/* the key file's name beside the config when neither names one */
#define PAIR_KEY_NAME		"client.key"

struct pair {
	const char	*token;		/* "-": one line from stdin */
	const char	*conf;		/* NULL: PAIR_DEFAULT_CONF */
	const char	*key_file;	/* NULL: the config's, or beside it */
	bool		 force;		/* replace a key file of another key */
	bool		 dry_run;	/* -t: check, write nothing */
};

/*
 * Does it; messages on stdout (what was written) and stderr (errors).
 * A key file that holds another key is refused unless force, before
 * anything is written. The config's path, made absolute, goes to conf
 * for the caller's check. Returns the exit status: 0, 1 or 2 (usage).
 */
int	pair_run(const struct pair *, char *conf, size_t conflen);

#endif

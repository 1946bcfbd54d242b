#ifndef MPSOCKS_DAEMON_H
#define MPSOCKS_DAEMON_H

/* What both daemons' main() share: config error printing, the fd limit,
 * and signal handling on the event loop. */

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/keyfile.h"

#define DAEMON_MAX_ARGS	64

/* What the command line set, applied on top of the config file. */
struct daemon_args {
	const char	*conf;		/* -c FILE, or NULL */
	bool		 test;		/* -t */
	int		 verbosity;	/* +1 per -v, -1 per -q */
	struct {
		const char *key, *val;
	}		 set[DAEMON_MAX_ARGS];
	size_t		 nset;
};

/* Records KEY=VAL from an option; false (and a message) when full. */
bool	daemon_args_add(struct daemon_args *, const char *key,
	    const char *val);
/*
 * Loads the config file and applies the command line over it (a --listen
 * there replaces the file's), with no check across keys and no key file:
 * what --add-home and --pair need. Returns the errors, each printed.
 */
int	daemon_load_config(struct config *, const struct daemon_args *);
/*
 * daemon_load_config(), then validates and loads the key file into ks.
 * Every error is printed as it is found; returns how many there were.
 */
int	daemon_configure(struct config *, const struct daemon_args *,
	    struct keyset *ks);
/* Prints "FILE: N errors" after daemon_configure() found some. */
void	daemon_config_summary(const struct daemon_args *,
	    const char *progname, int errors);
/* keyfile_err_cb printing "path:line: msg"; arg is the path. */
void	daemon_key_err(void *arg, unsigned line, const char *msg);

struct event_base;

/* config_err_cb that prints "file:line: msg" to stderr. */
void	daemon_config_err(void *arg, const char *file, unsigned line,
	    const char *msg);
/*
 * Started as root with run_as set: switches to that user for good
 * (supplementary groups, gid, uid), keeping only the capabilities in
 * keep (a mask of 1 << CAP_x) in the permitted and effective sets and
 * the bounding set, then sets PR_SET_NO_NEW_PRIVS. As root without
 * run_as, warns that root stays. Call once the listeners and netlink
 * sockets are open. Failures are fatal: a daemon must not run with more
 * than it was told.
 */
void	daemon_drop_privileges(const struct config *, uint64_t keep);
/*
 * Writes this process's pid to path (secfile_write: never through an
 * existing file), mode 0644; false with a message on stderr.
 */
bool	daemon_pidfile_write(const char *path);
/* Removes path if it still holds this process's pid; once running as
 * run_as, a root-owned directory may refuse (logged at debug). */
void	daemon_pidfile_remove(const char *path);
/* Raises the soft descriptor limit to the hard one. */
void	daemon_raise_nofile(void);
/*
 * The descriptors a daemon keeps apart from its connections: listeners,
 * the control port and its connections (64), the resolver, logs; a
 * quarter of the limit when that is less.
 */
#define DAEMON_FD_RESERVE	96
/*
 * How many connections of fds_each descriptors fit under the descriptor
 * limit with the reserve kept; at most max, at least 1. Logged once
 * (warn) when it is below max. what names the connections.
 */
size_t	daemon_conn_budget(size_t max, unsigned fds_each, const char *what);
/* The descriptors connections may use: the limit less the reserve
 * (what daemon_conn_budget() divides); SIZE_MAX with no limit. */
size_t	daemon_fd_room(void);
/*
 * The event loop, with the clock read at each timer arming instead of
 * once per loop turn: after a long burst of accepts a cached time is
 * stale by a second or more, and deadlines armed from it fire that much
 * early (a 2 s handshake timeout was seen firing 0.5 s after accept).
 * NULL on failure.
 */
struct event_base	*daemon_event_base(void);
/* SIGINT/SIGTERM end the loop; SIGHUP calls hup(arg). SIGPIPE ignored.
 * Returns false if the events could not be added. */
bool	daemon_signals(struct event_base *, void (*hup)(void *), void *arg);
void	daemon_signals_free(void);

#endif

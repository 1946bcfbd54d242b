#ifndef MPSOCKS_CONFIG_H
#define MPSOCKS_CONFIG_H

/*
 * Configuration for both daemons: defaults, the INI file (libinih), and
 * the command line on top. Every key lives in one table with its type and
 * bounds; unknown keys are errors; every error names file:line, and all of
 * them are reported in one run.
 */

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/log.h"
#include "proto/cidr.h"

#define CONFIG_MAX_LISTEN	8
#define CONFIG_MAX_USERS	64
#define CONFIG_MAX_LINE		1024
#define CONFIG_ACCOUNT_MAX	33	/* run_as: a login name and NUL */
#define CONFIG_ADDR_MAX		300	/* "[v6]:port" or "host:port" */
#define EX_CONFIG_ERR		78	/* sysexits EX_CONFIG */
#define CONFIG_CONTROL_DEFAULT	"127.0.0.1:1081"	/* local's control port */

enum config_role { CONFIG_SERVER = 1, CONFIG_LOCAL = 2 };

/* The tunnel (docs/protocol.md): v2 in TLS 1.3, or v1 in clear. */
enum config_encryption { CONFIG_ENC_TLS, CONFIG_ENC_NONE };
/* Which TLS cipher suite comes first: as tls.h's enum tls_cipher. */
enum config_tls_cipher {
	CONFIG_CIPHER_AUTO, CONFIG_CIPHER_AES, CONFIG_CIPHER_CHACHA,
};

struct config_user {
	char	name[256], pass[256];
};

/* Called for each error; file may be "command line". line 0: no line. */
typedef void config_err_cb(void *arg, const char *file, unsigned line,
	    const char *msg);
/*
 * A section handler takes the keys of sections this table does not know:
 * mpsocks-local's "rule NAME", "geoip" and "uplink NAME" belong to the
 * modules that use them. Returns -1 if it does not know the section
 * either, else how many errors it reported through err.
 */
typedef int config_section_cb(void *arg, const char *file, unsigned line,
	    const char *section, const char *name, const char *value,
	    config_err_cb *err, void *err_arg);
/* Runs once a file is read, for checks across a handler's sections;
 * returns how many errors it reported. */
typedef int config_section_done_cb(void *arg, const char *file,
	    config_err_cb *err, void *err_arg);

#define CONFIG_MAX_SECTION_HANDLERS	4

struct config_section_handler {
	config_section_cb	*cb;
	config_section_done_cb	*done;		/* may be NULL */
	void			*arg;
};

struct config {
	enum config_role	role;
	char			listen[CONFIG_MAX_LISTEN][CONFIG_ADDR_MAX];
	size_t			n_listen;
	char			server[CONFIG_ADDR_MAX];	/* local */
	char			key_file[PATH_MAX];
	struct cidr_list	allow;		/* server: destinations */
	struct cidr_list	deny;		/* server: refused, wins */
	struct cidr_list	allow_clients;	/* local */
	struct config_user	users[CONFIG_MAX_USERS];	/* local */
	size_t			n_users;
	unsigned		handshake_timeout, idle_timeout;
	unsigned		connect_timeout;
	unsigned		replay_window, replay_cache;	/* server */
	unsigned		dns_cache_size, dns_cache_ttl;	/* server */
	unsigned		max_connections;
	/* server: connections not yet authenticated (server/preauth.h) */
	unsigned		preauth_max, preauth_per_source;
	unsigned		preauth_early_drop;
	bool			mptcp;				/* local */
	bool			tfo;		/* local: fast_open */
	bool			splice;		/* relay_set_splice() */
	enum config_encryption	encryption;			/* local */
	bool			require_tls;			/* server */
	enum config_tls_cipher	tls_cipher;
	unsigned		http_head_max;			/* local */
	enum log_level		log_level;
	/* [control]: "" is off; CONFIG_CONTROL_DEFAULT on local */
	char			control_listen[CONFIG_ADDR_MAX];
	char			control_token[129];
	/* added after config_defaults(), tried in order */
	struct config_section_handler sections[CONFIG_MAX_SECTION_HANDLERS];
	size_t			n_sections;
	bool			manage_uplinks;			/* local */
	unsigned		uplink_table_base;		/* local */
	/* started as root: switch to this user once the sockets are open
	 * (daemon_drop_privileges); "" keeps root */
	char			run_as[CONFIG_ACCOUNT_MAX];
	/* local: the warm pool; 0 = pool_max turns it off */
	unsigned		pool_min, pool_max, pool_refresh;
	bool			strict_replies;			/* local */
	/* server: how long a pooled tunnel waits for its request, and how
	 * many one key may hold */
	unsigned		pool_idle_timeout, pool_max_per_key;
	/* server: its pid, for --add-home's SIGHUP; "" writes none */
	char			pid_file[PATH_MAX];
};

void	config_defaults(struct config *, enum config_role);
/* Adds a section handler (after config_defaults); false if full. */
bool	config_add_section_handler(struct config *, config_section_cb *,
	    config_section_done_cb *done, void *arg);
/* Reads an INI file into cfg; returns the number of errors. */
int	config_load_file(struct config *, const char *path, config_err_cb *,
	    void *arg);
/* Parses INI text (for tests and fuzzing); name is used in errors. */
int	config_load_string(struct config *, const char *name,
	    const char *text, config_err_cb *, void *arg);
/*
 * Sets one key as the command line does ("listen", "allow", ...), with
 * the same checks. Returns false (and reports) on error.
 */
bool	config_set(struct config *, const char *key, const char *value,
	    config_err_cb *, void *arg);
/* Do these credentials match a configured user? Constant time per user. */
bool	config_user_ok(const struct config *, const char *user,
	    size_t user_len, const char *pass, size_t pass_len);
/* Cross-field checks once everything is loaded; returns error count. */
int	config_validate(struct config *, config_err_cb *, void *arg);

#endif

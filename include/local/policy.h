#ifndef MPSOCKS_POLICY_H
#define MPSOCKS_POLICY_H

/*
 * Per-destination policy for mpsocks-local: ordered [rule NAME] sections,
 * the first that matches decides bond, direct or reject (docs/policy.md).
 * Pure: no sockets. It reads list files and .mmdb files (libmaxminddb) while
 * it is built, never while it matches.
 *
 * Matching does not grow with the number of entries: domains are one hash
 * lookup per label of the target's name, networks one walk down a binary
 * prefix tree; each hit yields a bitmap of rules, so the rules themselves
 * (at most POLICY_MAX_RULES) are only tested bit by bit.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/config.h"
#include "local/config_uplink.h"
#include "proto/target.h"
#include "proto/cidr.h"
#include "proto/util.h"

#define POLICY_MAX_RULES	63	/* bit 63: the built-in local ranges */
#define POLICY_MAX_NAME		64	/* rule names */
#define POLICY_MAX_LIST_LINE	512	/* lines of domains_from, cidrs_from */
#define POLICY_MAX_FILE_ERRORS	20	/* then a list file is given up */
#define POLICY_MAX_LIST_BYTES	(64 << 20)	/* per list file */
#define POLICY_IFNAMSIZ		16
#define POLICY_WHY_MAX		400
#define POLICY_MAX_HITS		8	/* domain entries kept for "why" */

enum policy_action { POLICY_BOND, POLICY_DIRECT, POLICY_REJECT };

struct policy;				/* opaque: use policy_*() */
struct policy_builder;

/* Where a direct connection leaves from; all optional. */
struct policy_pin {
	char			ifname[POLICY_IFNAMSIZ];  /* "" or a device */
	struct sockaddr_storage	source;		/* ss_family 0: none */
	socklen_t		source_len;
};

struct policy_verdict {
	bool			 need_addr;	/* resolve the name, ask again */
	enum policy_action	 action;
	const char		*rule;		/* a rule's name, "builtin-local"
						 * or "default"; owned by the
						 * policy */
	const struct policy_pin	*pin;		/* direct only; the policy's */
	char			 why[POLICY_WHY_MAX];
	char			 country[3];	/* "" if unknown */
	uint32_t		 asn;		/* 0 if unknown */
};

/* Collects [rule NAME] and [geoip] keys as config.c meets them. */
struct policy_builder	*policy_builder_new(void);
void			 policy_builder_free(struct policy_builder *);
/* A section handler for [rule NAME] and [geoip]: add it with
 * config_add_section_handler(cfg, policy_section_cb, NULL, b). */
int			 policy_section_cb(void *b, const char *file,
			    unsigned line, const char *section,
			    const char *name, const char *value,
			    config_err_cb *err, void *err_arg);
/*
 * Checks every rule (action given, something to match, uplink known),
 * opens the GeoIP databases and returns the policy; NULL if there were
 * errors, all reported, *errors set. ups (may be NULL) are the uplinks
 * that "uplink = NAME" may name. Frees b either way.
 */
struct policy		*policy_builder_finish(struct policy_builder *b,
			    const struct config_uplinks *ups,
			    config_err_cb *err, void *err_arg, int *errors);
void			 policy_free(struct policy *);

/* Adds a network that goes direct by default, after the user's rules
 * (the host's own networks, found by the caller). */
bool			 policy_add_local_net(struct policy *,
			    const struct cidr *);
size_t			 policy_rule_count(const struct policy *);
/* Bytes the lists take (hash table, prefix tree, names). */
size_t			 policy_memory(const struct policy *);

/*
 * Decides for t. addr is the resolved address of a name target, or NULL
 * (unresolved, or an address target, whose own address is used).
 * resolve_failed: the name has no address; rules that need one are
 * skipped. need_addr comes back set when a CIDR or GeoIP rule must decide
 * and no address is known yet: resolve the name and call again.
 */
void			 policy_match(const struct policy *,
			    const struct target *, const struct sockaddr *addr,
			    bool resolve_failed, struct policy_verdict *);

const char		*policy_action_str(enum policy_action);

/*
 * Domain syntax shared with the lists: folds case, drops one trailing
 * dot, and a leading dot sets *suffix. false if not a host name.
 */
bool			 policy_norm_domain(const char *in, char *out,
			    size_t outlen, bool *suffix);

#endif

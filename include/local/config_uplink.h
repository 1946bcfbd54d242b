#ifndef MPSOCKS_CONFIG_UPLINK_H
#define MPSOCKS_CONFIG_UPLINK_H

/*
 * [uplink NAME] sections of mpsocks-local: which interfaces carry the
 * bonded tunnel, their gateways and roles. Pure: parses values into a
 * struct config_uplink. The shared config reader knows nothing of these
 * sections: mpsocks-local adds config_uplinks_section_cb as a section
 * handler (config_add_section_handler).
 */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

#define CONFIG_MAX_UPLINKS	16
#define CONFIG_UPLINK_NAME_MAX	32	/* with the NUL */
#define CONFIG_UPLINK_SECTION	"uplink "

enum config_uplink_role { UPLINK_ROLE_ACTIVE, UPLINK_ROLE_BACKUP };

struct config_uplink {
	char			name[CONFIG_UPLINK_NAME_MAX];
	char			ifname[IFNAMSIZ];	/* "" until set */
	bool			has_gw4, has_gw6;	/* else learned */
	struct in_addr		gw4;
	struct in6_addr		gw6;
	enum config_uplink_role	role;
	unsigned		line;	/* of the first key, for errors */
	unsigned		set;		/* CU_SET_* bits: "set twice" */
};

/* Every [uplink NAME] of one configuration, in the file's order. */
struct config_uplinks {
	struct config_uplink	v[CONFIG_MAX_UPLINKS];
	size_t			n;
};

const char	*config_uplink_role_name(enum config_uplink_role);

/*
 * Is section "uplink NAME"? Then *name points into section at NAME
 * (which may be empty or bad: config_uplink_set() says so).
 */
bool	config_uplink_section(const char *section, const char **name);

/*
 * Applies KEY = VALUE of [uplink NAME] to the list ups[0..*n) (a new
 * entry for a new NAME, while *n < CONFIG_MAX_UPLINKS). Returns NULL, or
 * an error message without the file:line prefix, written into err.
 */
const char	*config_uplink_set(struct config_uplink *ups, size_t *n,
		    const char *name, const char *key, const char *value,
		    unsigned line, char *err, size_t errlen);

/*
 * Cross-checks once loaded: every uplink has an interface, no interface
 * is used twice. Calls report(arg, line, msg) per error; returns how
 * many there were.
 */
int	config_uplink_validate(const struct config_uplink *, size_t n,
	    void (*report)(void *arg, unsigned line, const char *msg),
	    void *arg);

/* Section handler and its check once the file is read; arg is a
 * struct config_uplinks, emptied by the caller before the read. */
config_section_cb	config_uplinks_section_cb;
config_section_done_cb	config_uplinks_done_cb;

/* The uplink named name, or NULL. ups may be NULL (no uplinks). */
const struct config_uplink *config_uplinks_find(
		    const struct config_uplinks *ups, const char *name);
/* The uplink on interface ifname, or NULL. ups may be NULL. */
const struct config_uplink *config_uplinks_by_ifname(
		    const struct config_uplinks *ups, const char *ifname);

#endif

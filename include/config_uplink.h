#ifndef MPSOCKS_CONFIG_UPLINK_H
#define MPSOCKS_CONFIG_UPLINK_H

/*
 * [uplink NAME] sections of mpsocks-local: which interfaces carry the
 * bonded tunnel, their gateways and roles. Pure: parses values into a
 * struct config_uplink; config.c routes the section's keys here.
 */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

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

#endif

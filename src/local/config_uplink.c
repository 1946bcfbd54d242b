/*
 * [uplink NAME] sections: interface, gateway, role. Pure: no sockets, no
 * globals. Names and interfaces are checked for the characters the kernel
 * and our log lines accept, so a name can be printed as is.
 */

#include "local/config_uplink.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { CU_SET_IF = 1, CU_SET_GW = 2, CU_SET_ROLE = 4 };

const char *
config_uplink_role_name(enum config_uplink_role r)
{
	return r == UPLINK_ROLE_BACKUP ? "backup" : "active";
}

bool
config_uplink_section(const char *section, const char **name)
{
	size_t	n = strlen(CONFIG_UPLINK_SECTION);

	if (strncmp(section, CONFIG_UPLINK_SECTION, n) != 0)
		return false;
	*name = section + n + strspn(section + n, " \t");
	return true;
}

/* Letters, digits, '-', '_', '.': safe in key=value log lines. */
static bool
name_ok(const char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n;
}

static const char *
set_gateway(struct config_uplink *u, const char *value, char *err,
    size_t errlen)
{
	char		 buf[128], *tok, *save = NULL;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strlen(value) >= sizeof(buf) || value[0] == '\0') {
		snprintf(err, errlen, "empty or too long");
		return err;
	}
	strcpy(buf, value);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (inet_pton(AF_INET, tok, &a4) == 1) {
			if (u->has_gw4)
				goto twice;
			u->gw4 = a4;
			u->has_gw4 = true;
		} else if (inet_pton(AF_INET6, tok, &a6) == 1) {
			if (u->has_gw6)
				goto twice;
			u->gw6 = a6;
			u->has_gw6 = true;
		} else {
			snprintf(err, errlen, "\"%.64s\" is not an IPv4 or "
			    "IPv6 address", tok);
			return err;
		}
	}
	if (!u->has_gw4 && !u->has_gw6) {
		snprintf(err, errlen, "no address");
		return err;
	}
	return NULL;
twice:
	snprintf(err, errlen, "at most one IPv4 and one IPv6 gateway");
	return err;
}

const char *
config_uplink_set(struct config_uplink *ups, size_t *n, const char *name,
    const char *key, const char *value, unsigned line, char *err,
    size_t errlen)
{
	struct config_uplink	*u = NULL;
	unsigned		 bit;

	if (!name_ok(name, CONFIG_UPLINK_NAME_MAX)) {
		snprintf(err, errlen, "uplink name \"%.64s\": 1..%d of "
		    "A-Z a-z 0-9 - _ .", name, CONFIG_UPLINK_NAME_MAX - 1);
		return err;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp(ups[i].name, name) == 0)
			u = &ups[i];
	if (strcmp(key, "interface") == 0)
		bit = CU_SET_IF;
	else if (strcmp(key, "gateway") == 0)
		bit = CU_SET_GW;
	else if (strcmp(key, "role") == 0)
		bit = CU_SET_ROLE;
	else {
		snprintf(err, errlen, "uplink %s.%.64s: unknown key", name,
		    key);
		return err;
	}
	if (u == NULL) {
		if (*n >= CONFIG_MAX_UPLINKS) {
			snprintf(err, errlen, "more than %d uplinks",
			    CONFIG_MAX_UPLINKS);
			return err;
		}
		u = &ups[(*n)++];
		memset(u, 0, sizeof(*u));
		strcpy(u->name, name);
		u->line = line;
	}
	if (u->set & bit) {
		snprintf(err, errlen, "uplink %s.%s: already set", name, key);
		return err;
	}
	u->set |= bit;
	switch (bit) {
	case CU_SET_IF:
		if (!name_ok(value, IFNAMSIZ)) {
			snprintf(err, errlen, "uplink %s.interface: \"%.64s\" "
			    "is not an interface name (1..%d of A-Z a-z 0-9 "
			    "- _ .)", name, value, IFNAMSIZ - 1);
			return err;
		}
		strcpy(u->ifname, value);
		return NULL;
	case CU_SET_GW:
		if (set_gateway(u, value, err, errlen) == NULL)
			return NULL;
		/* prefix the key to what set_gateway() said */
		{
			char	msg[256];

			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "uplink %s.gateway: %s", name,
			    msg);
		}
		return err;
	default:
		if (strcasecmp(value, "active") == 0)
			u->role = UPLINK_ROLE_ACTIVE;
		else if (strcasecmp(value, "backup") == 0)
			u->role = UPLINK_ROLE_BACKUP;
		else {
			snprintf(err, errlen, "uplink %s.role: \"%.64s\" is "
			    "not active or backup", name, value);
			return err;
		}
		return NULL;
	}
}

int
config_uplink_validate(const struct config_uplink *ups, size_t n,
    void (*report)(void *, unsigned, const char *), void *arg)
{
	char	msg[256];
	int	errors = 0;

	for (size_t i = 0; i < n; i++) {
		if (ups[i].ifname[0] == '\0') {
			snprintf(msg, sizeof(msg), "uplink %s: no interface "
			    "(interface = IFNAME)", ups[i].name);
			report(arg, ups[i].line, msg);
			errors++;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(ups[i].ifname, ups[j].ifname) == 0) {
				snprintf(msg, sizeof(msg), "uplink %s: "
				    "interface %s is already uplink %s",
				    ups[i].name, ups[i].ifname, ups[j].name);
				report(arg, ups[i].line, msg);
				errors++;
			}
	}
	return errors;
}

int
config_uplinks_section_cb(void *arg, const char *file, unsigned line,
    const char *section, const char *name, const char *value,
    config_err_cb *err, void *err_arg)
{
	struct config_uplinks	*ups = arg;
	const char		*uname;
	char			 msg[512];

	if (!config_uplink_section(section, &uname))
		return -1;
	if (config_uplink_set(ups->v, &ups->n, uname, name, value, line, msg,
	    sizeof(msg)) == NULL)
		return 0;
	err(err_arg, file, line, msg);
	return 1;
}

struct done_ctx {
	const char	*file;
	config_err_cb	*err;
	void		*err_arg;
};

static void
done_report(void *arg, unsigned line, const char *msg)
{
	const struct done_ctx	*d = arg;

	d->err(d->err_arg, d->file, line, msg);
}

int
config_uplinks_done_cb(void *arg, const char *file, config_err_cb *err,
    void *err_arg)
{
	const struct config_uplinks	*ups = arg;
	struct done_ctx			 d = { file, err, err_arg };

	return config_uplink_validate(ups->v, ups->n, done_report, &d);
}

const struct config_uplink *
config_uplinks_find(const struct config_uplinks *ups, const char *name)
{
	for (size_t i = 0; ups != NULL && i < ups->n; i++)
		if (strcmp(ups->v[i].name, name) == 0)
			return &ups->v[i];
	return NULL;
}

const struct config_uplink *
config_uplinks_by_ifname(const struct config_uplinks *ups,
    const char *ifname)
{
	for (size_t i = 0; ups != NULL && i < ups->n; i++)
		if (strcmp(ups->v[i].ifname, ifname) == 0)
			return &ups->v[i];
	return NULL;
}

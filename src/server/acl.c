/* The concentrator's destination filter: no SSRF into the VPS. Pure. */

#include "server/acl.h"
#include "proto/cidr.h"
#include "proto/util.h"

#include <netinet/in.h>
#include <string.h>

struct deny_range {
	const char	*cidr, *name;
};

static const struct deny_range deny4[] = {
	{ "0.0.0.0/8", "unspecified" },
	{ "10.0.0.0/8", "private" },
	{ "100.64.0.0/10", "shared-cgnat" },
	{ "127.0.0.0/8", "loopback" },
	{ "169.254.0.0/16", "link-local-or-metadata" },
	{ "172.16.0.0/12", "private" },
	{ "192.0.0.0/24", "ietf-protocol" },
	{ "192.168.0.0/16", "private" },
	{ "198.18.0.0/15", "benchmarking" },
	{ "224.0.0.0/4", "multicast" },
	{ "240.0.0.0/4", "reserved-or-broadcast" },
};

static const struct deny_range deny6[] = {
	{ "::/128", "unspecified" },
	{ "::1/128", "loopback" },
	{ "::/96", "ipv4-compatible" },
	{ "64:ff9b:1::/48", "local-nat64" },
	{ "2001::/32", "teredo" },
	{ "fc00::/7", "unique-local-or-metadata" },
	{ "fe80::/10", "link-local" },
	{ "fec0::/10", "site-local" },
	{ "ff00::/8", "multicast" },
	{ "100::/64", "discard" },
};

static const char *
match(const struct deny_range *r, size_t n, int family, const uint8_t *addr)
{
	struct cidr	c;

	for (size_t i = 0; i < n; i++)
		if (cidr_parse(r[i].cidr, &c) &&
		    cidr_contains_raw(&c, family, addr))
			return r[i].name;
	return NULL;
}

const char *
acl_default_deny(int family, const uint8_t *addr)
{
	static const uint8_t	mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t	nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t	sixto4[2] = { 0x20, 0x02 };
	const char		*why;

	if (family == AF_INET6 && (memcmp(addr, mapped, 12) == 0 ||
	    memcmp(addr, nat64, 12) == 0)) {
		family = AF_INET;
		addr += 12;
	}
	/* 6to4 (2002:V4ADDR::/48) reaches the IPv4 address it embeds */
	if (family == AF_INET6 && memcmp(addr, sixto4, 2) == 0 &&
	    (why = match(deny4, NELEM(deny4), AF_INET, addr + 2)) != NULL)
		return why;
	if (family == AF_INET)
		return match(deny4, NELEM(deny4), family, addr);
	if (family == AF_INET6)
		return match(deny6, NELEM(deny6), family, addr);
	return "unknown-family";
}

const char *
acl_check(const struct cidr_list *allow, const struct sockaddr *sa)
{
	int		 family;
	const uint8_t	*addr;
	const char	*why;

	if (!cidr_sockaddr_raw(sa, &family, &addr))
		return "unknown-family";
	if ((why = acl_default_deny(family, addr)) == NULL)
		return NULL;
	return allow != NULL && cidr_list_contains_raw(allow, family, addr) ?
	    NULL : why;
}

const char *
acl_check_lists(const struct acl_lists *l, const struct sockaddr *sa)
{
	int		 family;
	const uint8_t	*addr;

	if (!cidr_sockaddr_raw(sa, &family, &addr))
		return "unknown-family";
	if (l->deny != NULL && cidr_list_contains(l->deny, sa))
		return "deny";
	if (l->self != NULL && cidr_list_contains(l->self, sa))
		return "self";
	return acl_check(l->allow, sa);
}

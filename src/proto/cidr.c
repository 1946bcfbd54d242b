/*
 * Networks and lists of them: parsing "10.0.0.0/8" and "fd00::/8", and
 * membership. Pure.
 */

#include "proto/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

bool
cidr_parse(const char *s, struct cidr *c)
{
	char		 a[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/');
	size_t		 n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long	 p;
	char		*end;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, a, c->addr) == 1)
		c->family = AF_INET6;
	else
		return false;
	unsigned max = c->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		c->prefix = max;
		return true;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return false;
	p = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || p > max)
		return false;
	c->prefix = (unsigned)p;
	/* host bits must be zero: "10.0.0.1/8" is almost always a typo */
	for (unsigned bit = c->prefix; bit < max; bit++)
		if (c->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool
cidr_contains_raw(const struct cidr *c, int family, const uint8_t *addr)
{
	if (family == AF_INET6 && c->family == AF_INET &&
	    memcmp(addr, v4mapped_prefix, 12) == 0) {
		family = AF_INET;
		addr += 12;
	}
	if (family != c->family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(addr, c->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == (c->addr[full] & mask);
}

bool
cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return cidr_contains_raw(c, AF_INET, (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return cidr_contains_raw(c, AF_INET6,
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return false;
}

bool
cidr_list_add(struct cidr_list *l, const char *s)
{
	if (l->n >= CIDR_LIST_MAX || !cidr_parse(s, &l->v[l->n]))
		return false;
	l->n++;
	return true;
}

bool
cidr_list_contains_raw(const struct cidr_list *l, int family,
    const uint8_t *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (cidr_contains_raw(&l->v[i], family, addr))
			return true;
	return false;
}

bool
cidr_sockaddr_raw(const struct sockaddr *sa, int *family, const uint8_t **addr)
{
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		*addr = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		*addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return false;
	return true;
}

bool
cidr_list_contains(const struct cidr_list *l, const struct sockaddr *sa)
{
	int		 family;
	const uint8_t	*addr;

	return cidr_sockaddr_raw(sa, &family, &addr) &&
	    cidr_list_contains_raw(l, family, addr);
}

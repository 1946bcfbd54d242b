#ifndef MPSOCKS_ACL_H
#define MPSOCKS_ACL_H

/*
 * Address lists: the concentrator's destination filter (no SSRF into the
 * VPS) and mpsocks-local's client allow-list. Pure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util.h"

#define ACL_MAX	256

struct cidr_list {
	struct cidr	v[ACL_MAX];
	size_t		n;
};

/* false if the list is full or the text is not a CIDR. */
bool	cidr_list_add(struct cidr_list *, const char *);
bool	cidr_list_contains(const struct cidr_list *, const struct sockaddr *);
bool	cidr_list_contains_raw(const struct cidr_list *, int family,
	    const uint8_t *addr);

/*
 * The ranges a concentrator never connects to unless allowed: loopback,
 * private, shared (CGNAT), link-local, multicast, unspecified, reserved
 * and cloud metadata. Returns the range's name, or NULL if the address is
 * outside all of them. IPv4-mapped and NAT64 forms count as IPv4.
 */
const char *acl_default_deny(int family, const uint8_t *addr);

/* NULL if allowed; else why not (the default-deny range's name). */
const char *acl_check(const struct cidr_list *allow,
	    const struct sockaddr *);

#endif

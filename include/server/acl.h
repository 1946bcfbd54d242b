#ifndef MPSOCKS_ACL_H
#define MPSOCKS_ACL_H

/*
 * The concentrator's destination filter: no SSRF into the VPS. Pure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "proto/cidr.h"

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

/* The lists a concentrator checks a destination against; any may be
 * NULL (empty). */
struct acl_lists {
	const struct cidr_list	*allow;	/* [server] allow */
	const struct cidr_list	*deny;	/* [server] deny */
	const struct cidr_list	*self;	/* this host's own addresses */
};

/*
 * NULL if allowed; else why not. deny wins over everything ("deny");
 * then this host's own addresses ("self": a tunnel must not come back
 * into the concentrator, whatever allow says); then the default-deny
 * ranges, unless allow holds the address. IPv4-mapped forms count as
 * IPv4 in every list.
 */
const char *acl_check_lists(const struct acl_lists *,
	    const struct sockaddr *);

#endif

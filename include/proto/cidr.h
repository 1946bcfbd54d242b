#ifndef MPSOCKS_CIDR_H
#define MPSOCKS_CIDR_H

/*
 * Networks (CIDR) and bounded lists of them: the concentrator's allowed
 * destinations, mpsocks-local's client networks, the policy's defaults.
 * Pure.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIDR_LIST_MAX	256

/* A network: family AF_INET or AF_INET6, address bytes and prefix length. */
struct cidr {
	int		family;
	uint8_t		addr[16];
	unsigned	prefix;
};

struct cidr_list {
	struct cidr	v[CIDR_LIST_MAX];
	size_t		n;
};

/* "ADDR" or "ADDR/PREFIX", host bits zero; false otherwise. */
bool	cidr_parse(const char *, struct cidr *);
/* IPv4-mapped IPv6 addresses are compared as IPv4. */
bool	cidr_contains(const struct cidr *, const struct sockaddr *);
bool	cidr_contains_raw(const struct cidr *, int family,
	    const uint8_t *addr);
/* An AF_INET or AF_INET6 sockaddr's family and address bytes; false for
 * any other family. */
bool	cidr_sockaddr_raw(const struct sockaddr *, int *family,
	    const uint8_t **addr);

/* false if the list is full or the text is not a CIDR. */
bool	cidr_list_add(struct cidr_list *, const char *);
bool	cidr_list_contains(const struct cidr_list *, const struct sockaddr *);
bool	cidr_list_contains_raw(const struct cidr_list *, int family,
	    const uint8_t *addr);

#endif

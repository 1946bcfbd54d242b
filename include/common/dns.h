#ifndef MPSOCKS_DNS_H
#define MPSOCKS_DNS_H

/*
 * Asynchronous name resolution (libevent evdns: /etc/resolv.conf and
 * /etc/hosts) with a small direct-mapped cache of answers. Both A and
 * AAAA are asked for whatever this host's addresses, and the answers come
 * back with the families alternating, IPv6 first (RFC 8305 section 4):
 * the order in which common/dial.h starts its attempts.
 */

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct dns;
struct dns_req;

#define DNS_MAX_ADDRS	8

struct dns_result {
	int			 err;	/* 0, or an EVUTIL_EAI_* code */
	size_t			 n;
	struct sockaddr_storage	 addrs[DNS_MAX_ADDRS];	/* port 0 */
};

typedef void dns_cb(void *arg, const struct dns_result *);

struct dns	*dns_new(struct event_base *, size_t cache_size,
		    unsigned ttl_s);
void		 dns_free(struct dns *);
/*
 * Returns 1 with *out filled when the answer is known now (cache, hosts
 * file, numeric name): cb is not called. Returns 0 when a query is under
 * way: cb runs later, once, unless dns_cancel() is called first.
 */
int		 dns_resolve(struct dns *, const char *name,
		    struct dns_result *out, dns_cb *, void *arg,
		    struct dns_req **reqp);
/* Reorders res->addrs: IPv6, IPv4, IPv6, ... each family in its own
 * order; the rest of one family once the other runs out. Pure. */
void		 dns_interleave(struct dns_result *);
/* The callback is not called after this. */
void		 dns_cancel(struct dns_req *);
const char	*dns_strerror(int err);

#endif
